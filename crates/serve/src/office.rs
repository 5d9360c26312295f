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
    Built(
        Arc<Vec<FileReport>>,
        Arc<Vec<Package>>,
        Arc<Published>,
        PathBuf,
    ),
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
            OfficeState::Built(_, packages, ..) => packages.clone(),
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
        OfficeState::Built(files, packages, published, output) => {
            let _ = write!(
                body,
                r#"<p id="built">{} <code>{}</code></p>"#,
                lang.t("数据库已生成：", "Database built:"),
                html_escape::encode_text(&output.display().to_string()),
            );
            body.push_str(&per_county(lang, &published, &packages));
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
    let mut out = format!(r#"<h2>{}</h2>"#, lang.t("按类别", "By class"));
    out.push_str(&crate::pages::table_start(
        "per-class",
        &[
            lang.t("类别", "class"),
            lang.t("文件数", "files"),
            lang.t("读入", "read"),
            lang.t("通过", "accepted"),
            lang.t("退回", "rejected"),
        ],
    ));
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
                    let published = Arc::new(published(&output));
                    OfficeState::Built(
                        Arc::new(report.files),
                        Arc::new(packages(&output)),
                        published,
                        output,
                    )
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

/// Published rows per county and class: county code → class → rows, from the row groups of
/// `facilities/<CLASS>.parquet` (one county per row group).
type Published = std::collections::BTreeMap<String, std::collections::BTreeMap<String, usize>>;

fn published(output: &std::path::Path) -> Published {
    let mut counts = Published::new();
    let Ok(entries) = std::fs::read_dir(output.join("facilities")) else {
        return counts;
    };
    for entry in entries.filter_map(Result::ok) {
        let path = entry.path();
        let Some(class) = path.file_stem().map(|s| s.to_string_lossy().to_string()) else {
            continue;
        };
        let per_county = riskcensus_publish::package::CountyLayer::open(&path)
            .ok()
            .and_then(|layer| layer.rows_per_county());
        for (county, rows) in per_county.into_iter().flatten() {
            counts
                .entry(county)
                .or_default()
                .insert(class.clone(), rows);
        }
    }
    counts
}

/// One row per county: its published rows per class, in all, and its package files.
fn per_county(lang: Lang, published: &Published, packages: &[Package]) -> String {
    let mut out = format!(r#"<h2>{}</h2>"#, lang.t("按区县", "By county"));
    out.push_str(&crate::pages::table_start(
        "per-county",
        &[
            lang.t("区县", "county"),
            lang.t("入库（按类别）", "published rows by class"),
            lang.t("合计", "total"),
            lang.t("县级数据包", "county package"),
        ],
    ));
    for (county, classes) in published {
        let by_class: Vec<String> = classes.iter().map(|(c, n)| format!("{c} {n}")).collect();
        let total: usize = classes.values().sum();
        let links: Vec<String> = packages
            .iter()
            .filter(|p| p.name.starts_with(county.as_str()))
            .map(|p| {
                format!(
                    r#"<a href="/office/package/{}" download="{name}">{name}</a>"#,
                    p.key,
                    name = html_escape::encode_double_quoted_attribute(&p.name)
                )
            })
            .collect();
        let _ = write!(
            out,
            r#"<tr><td>{county}</td><td class="by-class">{}</td><td>{total}</td><td class="packages">{}</td></tr>"#,
            by_class.join(" · "),
            links.join("<br>")
        );
    }
    out.push_str("</tbody></table>");
    out
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
