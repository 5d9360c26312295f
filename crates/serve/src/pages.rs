//! The page frame (navigation, language switch), the upload page, a session's page (progress,
//! then [`crate::results`]) and its status as JSON, and the embedded assets. Chinese by default;
//! `?lang=en` for English.

use std::fmt::Write;
use std::sync::Arc;

use axum::extract::{Path as UrlPath, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use serde::Deserialize;

use crate::sessions::{Job, Stage};
use crate::AppState;

const CSS: &str = include_str!("assets/app.css");
const JS: &str = include_str!("assets/app.js");

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
    pub(crate) fn code(self) -> &'static str {
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

pub(crate) fn esc(s: &str) -> std::borrow::Cow<'_, str> {
    html_escape::encode_text(s)
}

pub(crate) fn attr(s: &str) -> std::borrow::Cow<'_, str> {
    html_escape::encode_double_quoted_attribute(s)
}

/// `<table id="…"><thead>` with a header cell per text (escaped), then `<tbody>`.
pub fn table_start(id: &str, headers: &[&str]) -> String {
    let mut out = format!(r#"<table id="{id}"><thead><tr>"#);
    for h in headers {
        let _ = write!(out, "<th>{}</th>", esc(h));
    }
    out.push_str("</tr></thead><tbody>");
    out
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
            let body = crate::results::page(lang, &id, &checked, &map);
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
