//! Server-rendered pages: the upload page, a session's page (progress, then results) and its
//! status as JSON, and the embedded assets. Chinese by default; `?lang=en` for English.

use std::collections::BTreeSet;
use std::fmt::Write;
use std::sync::Arc;

use axum::extract::{Path as UrlPath, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use riskcensus_core::Severity;
use serde::Deserialize;

use crate::check::Checked;
use crate::sessions::{Job, Stage};
use crate::AppState;

const CSS: &str = include_str!("assets/app.css");
const JS: &str = include_str!("assets/app.js");

/// Findings listed on the page (all are in the downloads).
pub const LISTED: usize = 5_000;

/// The page language.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lang {
    /// 中文.
    #[default]
    Zh,
    /// English.
    En,
}

impl Lang {
    /// Pick the text of this language.
    pub fn t<'a>(self, zh: &'a str, en: &'a str) -> &'a str {
        match self {
            Lang::Zh => zh,
            Lang::En => en,
        }
    }
    fn code(self) -> &'static str {
        self.t("zh", "en")
    }
    fn other(self) -> Self {
        match self {
            Lang::Zh => Lang::En,
            Lang::En => Lang::Zh,
        }
    }
}

/// `?lang=…`.
#[derive(Debug, Deserialize, Default)]
pub struct LangQuery {
    lang: Option<String>,
}

impl LangQuery {
    /// The language asked for.
    pub fn lang(&self) -> Lang {
        match self.lang.as_deref() {
            Some("en") => Lang::En,
            _ => Lang::Zh,
        }
    }
}

fn esc(s: &str) -> std::borrow::Cow<'_, str> {
    html_escape::encode_text(s)
}

fn attr(s: &str) -> std::borrow::Cow<'_, str> {
    html_escape::encode_double_quoted_attribute(s)
}

/// The frame of every page: title, navigation, language switch.
pub fn layout(lang: Lang, title: &str, here: &str, head: &str, body: &str) -> Html<String> {
    let other = lang.other();
    let switch = lang.t("English", "中文");
    Html(format!(
        r#"<!DOCTYPE html>
<html lang="{lang_code}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} · riskcensus</title><link rel="icon" href="data:,"><link rel="stylesheet" href="/assets/app.css">{head}</head>
<body><header><a class="brand" href="/?lang={lang_code}">riskcensus</a>
<nav><a href="/?lang={lang_code}">{upload}</a> <a href="/office?lang={lang_code}">{office}</a>
<a id="lang-switch" href="{here}{sep}lang={other_code}">{switch}</a></nav></header>
<main>{body}</main><script src="/assets/app.js"></script></body></html>"#,
        lang_code = lang.code(),
        title = esc(title),
        upload = lang.t("上传检查", "Check returns"),
        office = lang.t("本级汇总", "Office view"),
        sep = if here.contains('?') { "&" } else { "?" },
        other_code = other.code(),
    ))
}

/// `GET /`: the upload form.
pub async fn home(State(state): State<Arc<AppState>>, Query(q): Query<LangQuery>) -> Html<String> {
    let lang = q.lang();
    let mut options = format!(
        r#"<option value="auto">{}</option>"#,
        lang.t(
            "按文件名识别（如 HB-PSF-01_学校.csv）",
            "from the file name (e.g. HB-PSF-01_学校.csv)"
        )
    );
    for (code, zh, en) in &state.classes {
        let _ = write!(
            options,
            r#"<option value="{code}">{code} {}</option>"#,
            esc(lang.t(zh, en))
        );
    }
    let limits = state.limits;
    let body = format!(
        r#"<h1>{title}</h1>
<p>{pipeline}: <b>{name}</b></p>
<form id="upload" method="post" action="/upload" enctype="multipart/form-data">
<div id="drop" class="drop"><p>{drop}</p>
<input id="files" type="file" name="files" multiple accept=".csv,.txt,.xlsx,.xlsm,.xls,.xlsb,.ods"></div>
<label>{class_label} <select id="class" name="class">{options}</select></label>
<input type="hidden" name="lang" value="{lang_code}">
<button id="send" type="submit">{send}</button>
<p class="limits">{limits_text}</p>
<progress id="upload-progress" hidden max="100" value="0"></progress>
</form>"#,
        title = lang.t("检查填报文件", "Check census returns"),
        pipeline = lang.t("任务", "Pipeline"),
        name = esc(&state.pipeline.name),
        drop = lang.t("把填报文件（CSV 或 Excel）拖到这里，或点选文件", "Drop returns (CSV or Excel) here, or choose files"),
        class_label = lang.t("类别", "Class"),
        send = lang.t("上传并检查", "Upload and check"),
        lang_code = lang.code(),
        limits_text = esc(&match lang {
            Lang::Zh => format!("一次最多 {} 个文件、共 {}；文件只保存在本机的临时目录，{} 小时后或服务停止时删除。", limits.files, crate::upload::size(limits.upload_bytes), limits.session_ttl.as_secs() / 3600),
            Lang::En => format!("At most {} files and {} per upload; files are kept only in a private temporary folder on this machine and deleted after {} hours or when the server stops.", limits.files, crate::upload::size(limits.upload_bytes), limits.session_ttl.as_secs() / 3600),
        }),
    );
    layout(lang, lang.t("上传检查", "Check returns"), "/", "", &body)
}

/// `GET /s/<id>`: progress while checking, then the results.
pub async fn session(
    State(state): State<Arc<AppState>>,
    UrlPath(id): UrlPath<String>,
    Query(q): Query<LangQuery>,
) -> Response {
    let lang = q.lang();
    let Some(session) = state.sessions.get(&id) else {
        return (
            StatusCode::NOT_FOUND,
            layout(
                lang,
                "404",
                "/",
                "",
                &format!(
                    "<p class=\"failed\">{}</p>",
                    lang.t(
                        "没有这个会话，或已过期：请重新上传。",
                        "No such session, or it has expired: upload again."
                    )
                ),
            ),
        )
            .into_response();
    };
    let here = format!("/s/{id}");
    match session.job() {
        Job::Running(stage) => {
            let body = running(lang, &stage);
            layout(
                lang,
                lang.t("正在检查", "Checking"),
                &here,
                r#"<meta http-equiv="refresh" content="1">"#,
                &body,
            )
            .into_response()
        }
        Job::Failed(message) => {
            let body = format!(
                r#"<h1>{}</h1><p id="failure" class="failed">{}</p><p><a href="/?lang={}">{}</a></p>"#,
                lang.t("无法检查", "Could not check"),
                esc(&message),
                lang.code(),
                lang.t("重新上传", "Upload again")
            );
            (
                StatusCode::UNPROCESSABLE_ENTITY,
                layout(
                    lang,
                    lang.t("无法检查", "Could not check"),
                    &here,
                    "",
                    &body,
                ),
            )
                .into_response()
        }
        Job::Done(checked) => {
            let map = state.map.svg(&checked.findings, &checked.arrows);
            let body = results(lang, &id, &checked, &map);
            layout(lang, lang.t("检查结果", "Results"), &here, "", &body).into_response()
        }
    }
}

pub(crate) fn running(lang: Lang, stage: &Stage) -> String {
    let (name, done, total) = stage.read();
    let count = if total > 0 {
        format!(" {done} / {total}")
    } else {
        String::new()
    };
    format!(
        r#"<h1>{}</h1><p id="stage">{}{count}</p><progress {}></progress>"#,
        lang.t("正在检查……", "Checking …"),
        esc(&name),
        if total > 0 {
            format!(r#"max="{total}" value="{done}""#)
        } else {
            String::new()
        }
    )
}

/// `GET /s/<id>/status`: `{"state": "running"|"done"|"failed", …}`.
pub async fn status(State(state): State<Arc<AppState>>, UrlPath(id): UrlPath<String>) -> Response {
    let Some(session) = state.sessions.get(&id) else {
        return (
            StatusCode::NOT_FOUND,
            axum::Json(serde_json::json!({"state": "unknown"})),
        )
            .into_response();
    };
    let body = match session.job() {
        Job::Running(stage) => {
            let (name, done, total) = stage.read();
            serde_json::json!({"state": "running", "stage": name, "done": done, "total": total})
        }
        Job::Failed(message) => serde_json::json!({"state": "failed", "message": message}),
        Job::Done(c) => serde_json::json!({
            "state": "done",
            "rows_read": c.files.iter().map(|f| f.rows_read).sum::<usize>(),
            "accepted": c.files.iter().map(|f| f.accepted).sum::<usize>(),
            "rejected": c.files.iter().map(|f| f.rejected).sum::<usize>(),
            "findings": c.findings.len(),
            "seconds": c.seconds,
        }),
    };
    axum::Json(body).into_response()
}

fn results(lang: Lang, id: &str, c: &Checked, map: &str) -> String {
    let read: usize = c.files.iter().map(|f| f.rows_read).sum();
    let accepted: usize = c.files.iter().map(|f| f.accepted).sum();
    let rejected: usize = c.files.iter().map(|f| f.rejected).sum();
    let mut out = format!(
        r#"<h1>{}</h1><p id="summary" class="summary"><span>{} <b id="rows-read">{read}</b></span> = <span>{} <b id="accepted">{accepted}</b></span> + <span>{} <b id="rejected">{rejected}</b></span></p>"#,
        lang.t("检查结果", "Results"),
        lang.t("读入行数", "rows read"),
        lang.t("通过", "accepted"),
        lang.t("退回", "rejected"),
    );
    let _ = write!(
        out,
        r#"<p>{} <b id="changes">{}</b> {}</p>"#,
        lang.t("修正后的文件改了", "The corrected files make"),
        c.changes.len(),
        lang.t("处（见 changes.csv）", "changes (see changes.csv)"),
    );
    let _ = write!(
        out,
        r#"<p id="downloads">{}: "#,
        lang.t("下载", "Downloads")
    );
    for d in c.downloads.iter().filter(|d| d.file.is_none()) {
        out.push_str(&link(lang, id, d));
        out.push_str(" · ");
    }
    out.push_str(lang.t(
        "各文件修正后的文件和退回的行见文件表",
        "each file's corrected copy and rejected rows: see the files table",
    ));
    out.push_str("</p>");
    out.push_str(r#"<div class="overview"><div>"#);
    out.push_str(&rules_table(lang, c));
    out.push_str("</div><div>");
    if !map.is_empty() {
        let _ = write!(
            out,
            r#"<h2>{}</h2><p class="legend"><span class="dot error"></span>{} <span class="dot warning"></span>{} <span class="dot info"></span>{} <span class="arrow"></span>{}</p><div class="map">{map}</div>"#,
            lang.t("地图", "Map"),
            lang.t("错误", "error"),
            lang.t("警告", "warning"),
            lang.t("提示", "info"),
            lang.t("建议修正的坐标", "suggested correction"),
        );
    }
    out.push_str("</div></div>");
    out.push_str(&findings_table(lang, c));
    out.push_str(&files_table(lang, id, c));
    out
}

fn link(lang: Lang, id: &str, d: &crate::check::Download) -> String {
    format!(
        r#"<a href="/s/{id}/file/{key}" download="{name}">{label}</a>"#,
        key = attr(&d.key),
        name = attr(&d.name),
        label = esc(lang.t(&d.label.0, &d.label.1))
    )
}

fn files_table(lang: Lang, id: &str, c: &Checked) -> String {
    let mut out = format!(
        r#"<h2>{} ({})</h2><table id="files"><thead><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr></thead><tbody>"#,
        lang.t("文件", "Files"),
        c.files.len(),
        lang.t("文件", "file"),
        lang.t("类别", "class"),
        lang.t("编码", "encoding"),
        lang.t("读入", "read"),
        lang.t("通过", "accepted"),
        lang.t("退回", "rejected"),
        lang.t("错误/警告", "errors/warnings"),
        lang.t("下载", "downloads"),
    );
    for (i, f) in c.files.iter().enumerate() {
        let links: Vec<String> = c
            .downloads
            .iter()
            .filter(|d| d.file == Some(i))
            .map(|d| link(lang, id, d))
            .collect();
        let _ = write!(
            out,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{} / {}</td><td>{}</td></tr>",
            esc(&f.file),
            esc(&f.class),
            esc(&f.encoding),
            f.rows_read,
            f.accepted,
            f.rejected,
            f.errors,
            f.warnings,
            links.join(" · ")
        );
    }
    out.push_str("</tbody></table>");
    out
}

fn rules_table(lang: Lang, c: &Checked) -> String {
    let mut out = format!(
        r#"<h2>{}</h2><table id="rules"><thead><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr></thead><tbody>"#,
        lang.t("按规则", "By rule"),
        lang.t("级别", "severity"),
        lang.t("规则", "rule"),
        lang.t("说明", "title"),
        lang.t("条数", "count"),
    );
    for (severity, rule, n) in riskcensus_report::rule_counts(&c.findings) {
        let _ = write!(
            out,
            r#"<tr class="{}"><td>{}</td><td>{}</td><td>{}</td><td>{n}</td></tr>"#,
            severity.as_str(),
            severity_text(lang, severity),
            rule.code(),
            esc(lang.t(rule.title_zh(), rule.title_en())),
        );
    }
    out.push_str("</tbody></table>");
    out
}

fn severity_text(lang: Lang, s: Severity) -> &'static str {
    match s {
        Severity::Error => lang.t("错误", "error"),
        Severity::Warning => lang.t("警告", "warning"),
        Severity::Info => lang.t("提示", "info"),
    }
}

fn findings_table(lang: Lang, c: &Checked) -> String {
    let listed = &c.findings[..c.findings.len().min(LISTED)];
    let rules: BTreeSet<&str> = listed.iter().map(|f| f.rule.code()).collect();
    let columns: BTreeSet<&str> = listed.iter().filter_map(|f| f.column.as_deref()).collect();
    let select = |id: &str, label: &str, values: &mut dyn Iterator<Item = (String, String)>| {
        let mut s = format!(
            r#"<label>{label} <select id="{id}"><option value="">{}</option>"#,
            lang.t("全部", "all")
        );
        for (value, text) in values {
            let _ = write!(
                s,
                r#"<option value="{}">{}</option>"#,
                attr(&value),
                esc(&text)
            );
        }
        s.push_str("</select></label> ");
        s
    };
    let severities = [Severity::Error, Severity::Warning, Severity::Info];
    let mut out = format!(
        r#"<h2>{} ({})</h2><div class="filters">{}{}{}<span id="shown-count"></span></div>"#,
        lang.t("问题明细", "Findings"),
        c.findings.len(),
        select(
            "filter-severity",
            lang.t("级别", "severity"),
            &mut severities
                .iter()
                .map(|s| (s.as_str().to_string(), severity_text(lang, *s).to_string()))
        ),
        select(
            "filter-rule",
            lang.t("规则", "rule"),
            &mut rules.iter().map(|r| (r.to_string(), r.to_string()))
        ),
        select(
            "filter-column",
            lang.t("列", "column"),
            &mut columns.iter().map(|c| (c.to_string(), c.to_string()))
        ),
    );
    if c.findings.len() > LISTED {
        let _ = write!(
            out,
            r#"<p class="note">{}</p>"#,
            esc(&match lang {
                Lang::Zh => format!("此处列出前 {LISTED} 条；全部见下载的问题清单。"),
                Lang::En =>
                    format!("The first {LISTED} are listed here; the findings download has all."),
            })
        );
    }
    let _ = write!(
        out,
        r#"<table id="findings"><thead><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr></thead><tbody>"#,
        lang.t("级别", "severity"),
        lang.t("规则", "rule"),
        lang.t("文件", "file"),
        lang.t("行", "row"),
        lang.t("列", "column"),
        lang.t("值", "value"),
        lang.t("说明", "message"),
        lang.t("建议", "suggestion"),
    );
    for f in listed {
        let column = f.column.as_deref().unwrap_or("");
        let _ = write!(
            out,
            r#"<tr class="{sev}" data-severity="{sev}" data-rule="{rule}" data-column="{col_attr}"><td>{sev_text}</td><td title="{title}">{rule}</td><td>{file}</td><td class="row">{row}</td><td>{col}</td><td>{value}</td><td>{message}</td><td>{suggestion}</td></tr>"#,
            sev = f.severity.as_str(),
            sev_text = severity_text(lang, f.severity),
            rule = f.rule.code(),
            title = attr(lang.t(f.rule.title_zh(), f.rule.title_en())),
            col_attr = attr(column),
            file = esc(&f.file),
            row = f.row.map(|r| r.to_string()).unwrap_or_default(),
            col = esc(column),
            value = esc(f.value.as_deref().unwrap_or("")),
            message = esc(lang.t(&f.message_zh, &f.message_en)),
            suggestion = esc(f.suggestion.as_deref().unwrap_or("")),
        );
    }
    out.push_str("</tbody></table>");
    out
}

/// `GET /assets/<name>`: the embedded stylesheet and script.
pub async fn asset(UrlPath(name): UrlPath<String>) -> Response {
    match name.as_str() {
        "app.css" => ([(header::CONTENT_TYPE, "text/css; charset=utf-8")], CSS).into_response(),
        "app.js" => (
            [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
            JS,
        )
            .into_response(),
        _ => StatusCode::NOT_FOUND.into_response(),
    }
}
