//! `POST /upload`: the returns of one session (multipart: `files`, optional `class`, `lang`).
//!
//! A file name is only a label: it must be a bare name (no folder, no `..`, no control
//! characters) and is never used as a path; the file is stored as `in/<n>.<ext>`. What is
//! refused is said in both languages, and the session's folder is removed.

use std::io::Write;
use std::sync::Arc;

use axum::extract::{Multipart, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};

use crate::check::Upload;
use crate::sessions::{Job, Session};
use crate::AppState;

/// Extensions of returns the pipeline reads.
pub const EXTENSIONS: &[&str] = &["csv", "txt", "xlsx", "xlsm", "xls", "xlsb", "ods"];

/// Handle an upload: store the files, start the check, send the browser to the session page.
pub async fn upload(State(state): State<Arc<AppState>>, multipart: Multipart) -> Response {
    let session = match state.sessions.create() {
        Ok(s) => s,
        Err(e) => {
            return refused(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("无法建立会话目录 / cannot make the session's folder: {e}"),
            )
        }
    };
    let received = receive(&state, &session, multipart).await;
    let (uploads, class, lang) = match received {
        Ok(r) => r,
        Err((status, message)) => {
            state.sessions.discard(&session.id);
            return refused(status, message);
        }
    };
    let worker = session.clone();
    let shared = state.clone();
    tokio::task::spawn_blocking(move || {
        let Job::Running(stage) = worker.job() else {
            return;
        };
        let outcome = crate::check::check(
            &shared.pipeline,
            &uploads,
            class.as_deref(),
            &worker.inputs(),
            &worker.outputs(),
            stage.as_ref(),
        );
        worker.set_job(match outcome {
            Ok(checked) => Job::Done(Arc::new(checked)),
            Err(message) => Job::Failed(message),
        });
    });
    Redirect::to(&format!("/s/{}?lang={lang}", session.id)).into_response()
}

type Received = (Vec<Upload>, Option<String>, &'static str);

async fn receive(
    state: &AppState,
    session: &Session,
    mut multipart: Multipart,
) -> Result<Received, (StatusCode, String)> {
    let limits = state.limits;
    let too_large = |e: axum::extract::multipart::MultipartError| {
        let status = e.status();
        if status == StatusCode::PAYLOAD_TOO_LARGE {
            (
                status,
                format!(
                    "上传超过 {0} 的上限，请分批上传 / the upload is over the {0} limit: send fewer or smaller files at a time",
                    size(limits.upload_bytes)
                ),
            )
        } else {
            (
                status,
                format!(
                    "上传不完整 / the upload could not be read: {}",
                    e.body_text()
                ),
            )
        }
    };
    let mut uploads: Vec<Upload> = Vec::new();
    let mut class = None;
    let mut lang = "zh";
    while let Some(mut field) = multipart.next_field().await.map_err(too_large)? {
        match field.name().unwrap_or("") {
            "class" | "lang" => {
                let name = field.name().unwrap_or("").to_string();
                let text = field.text().await.map_err(too_large)?;
                let text = text.trim();
                if text.len() > 32 {
                    return Err((
                        StatusCode::BAD_REQUEST,
                        format!("表单字段 {name} 过长 / form field {name} is too long"),
                    ));
                }
                if name == "lang" {
                    lang = if text == "en" { "en" } else { "zh" };
                } else if !text.is_empty() && text != "auto" {
                    if !state.classes.iter().any(|(code, ..)| code == text) {
                        return Err((
                            StatusCode::BAD_REQUEST,
                            format!("没有类别 {text} / there is no class {text}"),
                        ));
                    }
                    class = Some(text.to_string());
                }
            }
            "files" => {
                let sent = field.file_name().unwrap_or("").to_string();
                if sent.is_empty() {
                    continue; // the form's empty file input
                }
                if uploads.len() >= limits.files {
                    return Err((
                        StatusCode::BAD_REQUEST,
                        format!(
                            "一次最多上传 {0} 个文件 / at most {0} files per upload",
                            limits.files
                        ),
                    ));
                }
                let name = bare_name(&sent).map_err(|m| (StatusCode::BAD_REQUEST, m))?;
                let extension = extension(&name).ok_or_else(|| {
                    (StatusCode::BAD_REQUEST, format!(
                        "{name}: 只接受 CSV 和 Excel 填报文件（{0}）/ only CSV and Excel returns are accepted ({0})",
                        EXTENSIONS.join(", ")
                    ))
                })?;
                let stored = session
                    .inputs()
                    .join(format!("{}.{extension}", uploads.len() + 1));
                let mut file = std::fs::File::create(&stored).map_err(|e| {
                    (
                        StatusCode::INTERNAL_SERVER_ERROR,
                        format!("cannot store {name}: {e}"),
                    )
                })?;
                while let Some(chunk) = field.chunk().await.map_err(too_large)? {
                    file.write_all(&chunk).map_err(|e| {
                        (
                            StatusCode::INTERNAL_SERVER_ERROR,
                            format!("cannot store {name}: {e}"),
                        )
                    })?;
                }
                let name = unique(&uploads, name);
                uploads.push(Upload { stored, name });
            }
            other => {
                return Err((
                    StatusCode::BAD_REQUEST,
                    format!("未知的表单字段 {other} / unknown form field {other}"),
                ));
            }
        }
    }
    if uploads.is_empty() {
        return Err((
            StatusCode::BAD_REQUEST,
            "没有收到文件 / no file was sent".to_string(),
        ));
    }
    Ok((uploads, class, lang))
}

/// The file name as sent, if it is a bare name: no folder, no `..`, no control characters,
/// at most 200 characters.
pub fn bare_name(sent: &str) -> Result<String, String> {
    let name = sent.trim();
    let bad = name.is_empty()
        || name == "."
        || name == ".."
        || name.contains(['/', '\\', ':'])
        || name.chars().any(char::is_control)
        || name.chars().count() > 200;
    if bad {
        let shown: String = sent.chars().filter(|c| !c.is_control()).take(80).collect();
        return Err(format!(
            "文件名“{shown}”不可用（不能含路径或控制字符）/ the file name “{shown}” is refused: send a file with a plain name, no folder or control characters"
        ));
    }
    Ok(name.to_string())
}

/// `64 MiB`, `4 KiB`.
pub fn size(bytes: usize) -> String {
    if bytes >= 1 << 20 {
        format!("{} MiB", bytes >> 20)
    } else {
        format!("{} KiB", bytes >> 10)
    }
}

fn extension(name: &str) -> Option<&'static str> {
    let (_, ext) = name.rsplit_once('.')?;
    let ext = ext.to_ascii_lowercase();
    EXTENSIONS.iter().find(|e| **e == ext).copied()
}

/// `a.csv` sent twice becomes `a.csv` and `a (2).csv`.
fn unique(uploads: &[Upload], name: String) -> String {
    let taken = |n: &str| uploads.iter().any(|u| u.name == n);
    if !taken(&name) {
        return name;
    }
    let (stem, ext) = name.rsplit_once('.').unwrap_or((name.as_str(), ""));
    (2..)
        .map(|i| format!("{stem} ({i}).{ext}"))
        .find(|n| !taken(n))
        .unwrap_or(name)
}

fn refused(status: StatusCode, message: String) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        message + "\n",
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_bare_names_are_taken() {
        assert_eq!(
            bare_name("HB-PSF-01_学校.csv").as_deref(),
            Ok("HB-PSF-01_学校.csv")
        );
        for bad in [
            "../../etc/passwd.csv",
            "..\\x.csv",
            "a/b.csv",
            "..",
            "C:x.csv",
            "a\u{0}.csv",
            "",
        ] {
            assert!(bare_name(bad).is_err(), "{bad:?}");
        }
        assert_eq!(extension("a.XLSX"), Some("xlsx"));
        assert_eq!(extension("a.exe"), None);
    }
}
