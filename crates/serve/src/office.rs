//! The office view: the pipeline's own returns (what `run` would publish), checked on request,
//! and the database built on request into the pipeline's `output`, with the county packages to
//! download. One office job runs at a time.

use std::fmt::Write;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use axum::extract::{Query, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use riskcensus_pipeline::FileReport;

use crate::pages::{layout, running, Lang, LangQuery};
use crate::sessions::{lock, Stage};
use crate::AppState;

/// A county package file of the last build.
#[derive(Debug, Clone)]
pub struct Package {
    /// Key in the URL (`p1`, `p2` …).
    pub key: String,
    /// File name.
    pub name: String,
    /// Where it is (under the pipeline's output).
    pub path: PathBuf,
}

#[derive(Debug, Clone, Default)]
enum OfficeState {
    #[default]
    Idle,
    Running(&'static str, Arc<Stage>),
    Checked(Arc<Vec<FileReport>>),
    Built(Arc<Vec<FileReport>>, Arc<Vec<Package>>, PathBuf),
    Failed(String),
}

/// The office job.
#[derive(Debug, Default)]
pub struct Office {
    state: Mutex<OfficeState>,
}

impl Office {
    /// The packages of the last build.
    pub fn packages(&self) -> Arc<Vec<Package>> {
        match &*lock(&self.state) {
            OfficeState::Built(_, packages, _) => packages.clone(),
            _ => Arc::default(),
        }
    }

    /// Start `what` unless a job runs; false when one does.
    fn start(&self, what: &'static str) -> Option<Arc<Stage>> {
        let mut state = lock(&self.state);
        if matches!(*state, OfficeState::Running(..)) {
            return None;
        }
        let stage = Arc::new(Stage::default());
        *state = OfficeState::Running(what, stage.clone());
        Some(stage)
    }

    fn set(&self, state: OfficeState) {
        *lock(&self.state) = state;
    }
}

/// `GET /office`.
pub async fn page(State(state): State<Arc<AppState>>, Query(q): Query<LangQuery>) -> Html<String> {
    let lang = q.lang();
    let current = lock(&state.office.state).clone();
    let p = &state.pipeline;
    let mut body = format!(
        r#"<h1>{}</h1><p>{}: <b>{}</b> · {} {} · {}: <code>{}</code></p>"#,
        lang.t("本级汇总", "Office view"),
        lang.t("任务", "Pipeline"),
        html_escape::encode_text(&p.name),
        p.returns.len(),
        lang.t("个填报文件", "returns"),
        lang.t("数据库输出到", "database goes to"),
        html_escape::encode_text(&p.output.display().to_string()),
    );
    let busy = matches!(current, OfficeState::Running(..));
    let disabled = if busy { " disabled" } else { "" };
    let _ = write!(
        body,
        r#"<form class="inline" method="post" action="/office/check?lang={code}"><button id="office-check"{disabled}>{check}</button></form>
<form class="inline" method="post" action="/office/build?lang={code}"><button id="office-build"{disabled}>{build}</button></form>"#,
        code = lang.t("zh", "en"),
        check = lang.t("检查全部填报", "Check all returns"),
        build = lang.t("生成数据库", "Build the database"),
    );
    let head = if busy {
        r#"<meta http-equiv="refresh" content="1">"#
    } else {
        ""
    };
    match current {
        OfficeState::Idle => {
            body.push_str(&returns_list(lang, p));
        }
        OfficeState::Running(what, stage) => {
            let _ = write!(
                body,
                r#"<p id="office-job">{what}</p>{}"#,
                running(lang, &stage)
            );
        }
        OfficeState::Checked(files) => body.push_str(&per_class(lang, &files)),
        OfficeState::Built(files, packages, output) => {
            let _ = write!(
                body,
                r#"<p id="built">{} <code>{}</code></p><h2>{}</h2><ul id="packages">"#,
                lang.t("数据库已生成：", "Database built:"),
                html_escape::encode_text(&output.display().to_string()),
                lang.t("县级数据包", "County packages"),
            );
            for pkg in packages.iter() {
                let _ = write!(
                    body,
                    r#"<li><a href="/office/package/{}" download="{name}">{name}</a></li>"#,
                    pkg.key,
                    name = html_escape::encode_double_quoted_attribute(&pkg.name)
                );
            }
            body.push_str("</ul>");
            body.push_str(&per_class(lang, &files));
        }
        OfficeState::Failed(message) => {
            let _ = write!(
                body,
                r#"<p id="office-failed" class="failed">{}</p>"#,
                html_escape::encode_text(&message)
            );
        }
    }
    layout(
        lang,
        lang.t("本级汇总", "Office view"),
        "/office",
        head,
        &body,
    )
}

fn returns_list(lang: Lang, p: &riskcensus_pipeline::Pipeline) -> String {
    let mut out = format!(
        r#"<table id="returns"><thead><tr><th>{}</th><th>{}</th></tr></thead><tbody>"#,
        lang.t("类别", "class"),
        lang.t("文件", "file")
    );
    for r in &p.returns {
        let _ = write!(
            out,
            "<tr><td>{}</td><td>{}</td></tr>",
            html_escape::encode_text(&r.class),
            html_escape::encode_text(&p.display_path(&r.path))
        );
    }
    out.push_str("</tbody></table>");
    out
}

/// Files, rows, accepted and rejected per class, then per file.
fn per_class(lang: Lang, files: &[FileReport]) -> String {
    let mut classes: std::collections::BTreeMap<&str, [usize; 4]> = Default::default();
    for f in files {
        let c = classes.entry(f.class.as_str()).or_default();
        c[0] += 1;
        c[1] += f.rows_read;
        c[2] += f.accepted;
        c[3] += f.rejected;
    }
    let mut out = format!(
        r#"<h2>{}</h2><table id="per-class"><thead><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr></thead><tbody>"#,
        lang.t("按类别", "By class"),
        lang.t("类别", "class"),
        lang.t("文件数", "files"),
        lang.t("读入", "read"),
        lang.t("通过", "accepted"),
        lang.t("退回", "rejected"),
    );
    for (class, [n, read, accepted, rejected]) in &classes {
        let _ = write!(out, "<tr><td>{class}</td><td>{n}</td><td>{read}</td><td>{accepted}</td><td>{rejected}</td></tr>");
    }
    let total = classes.values().fold([0; 4], |a, c| {
        [a[0] + c[0], a[1] + c[1], a[2] + c[2], a[3] + c[3]]
    });
    let _ = write!(
        out,
        r#"</tbody><tfoot><tr><th>{}</th><th>{}</th><th id="office-read">{}</th><th id="office-accepted">{}</th><th id="office-rejected">{}</th></tr></tfoot></table>"#,
        lang.t("合计", "total"),
        total[0],
        total[1],
        total[2],
        total[3]
    );
    out
}

/// `POST /office/check`: validate the pipeline's returns.
pub async fn check(State(state): State<Arc<AppState>>, Query(q): Query<LangQuery>) -> Response {
    start(state, q.lang(), false)
}

/// `POST /office/build`: run the pipeline into its output.
pub async fn build(State(state): State<Arc<AppState>>, Query(q): Query<LangQuery>) -> Response {
    start(state, q.lang(), true)
}

fn start(state: Arc<AppState>, lang: Lang, build: bool) -> Response {
    let what = if build {
        "生成数据库 building the database"
    } else {
        "检查全部填报 checking the returns"
    };
    if let Some(stage) = state.office.start(what) {
        let shared = state.clone();
        tokio::task::spawn_blocking(move || {
            let p = &shared.pipeline;
            let outcome = if build {
                riskcensus_pipeline::run_with(p, None, stage.as_ref()).map(|report| {
                    let output = report.output.clone().unwrap_or_else(|| p.output.clone());
                    OfficeState::Built(Arc::new(report.files), Arc::new(packages(&output)), output)
                })
            } else {
                riskcensus_pipeline::validate_only_with(p, stage.as_ref())
                    .map(|report| OfficeState::Checked(Arc::new(report.files)))
            };
            shared
                .office
                .set(outcome.unwrap_or_else(|e| OfficeState::Failed(e.to_string())));
        });
    }
    Redirect::to(&format!("/office?lang={}", lang.t("zh", "en"))).into_response()
}

/// The files of the county packages under `output/counties/`, by name.
fn packages(output: &std::path::Path) -> Vec<Package> {
    let Ok(entries) = std::fs::read_dir(output.join("counties")) else {
        return Vec::new();
    };
    let mut files: Vec<(String, PathBuf)> = entries
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
        .map(|e| (e.file_name().to_string_lossy().to_string(), e.path()))
        .collect();
    files.sort();
    files
        .into_iter()
        .enumerate()
        .map(|(i, (name, path))| Package {
            key: format!("p{}", i + 1),
            name,
            path,
        })
        .collect()
}
