//! Downloads: a session's files and the office's county packages, looked up by key in a list
//! the server made. A key from the URL is never joined to a path unless it is in that list.

use std::path::Path;
use std::sync::Arc;

use axum::extract::{Path as UrlPath, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::sessions::Job;
use crate::AppState;

/// `GET /s/<id>/file/<key>`.
pub async fn session_file(
    State(state): State<Arc<AppState>>,
    UrlPath((id, key)): UrlPath<(String, String)>,
) -> Response {
    let Some(session) = state.sessions.get(&id) else {
        return not_found();
    };
    let Job::Done(checked) = session.job() else {
        return not_found();
    };
    match checked.downloads.iter().find(|d| d.key == key) {
        Some(d) => send(&session.outputs().join(&d.key), &d.name),
        None => not_found(),
    }
}

/// `GET /office/package/<key>`: a file of the last build's county packages.
pub async fn package(
    State(state): State<Arc<AppState>>,
    UrlPath(key): UrlPath<String>,
) -> Response {
    let packages = state.office.packages();
    match packages.iter().find(|p| p.key == key) {
        Some(p) => send(&p.path, &p.name),
        None => not_found(),
    }
}

fn send(path: &Path, name: &str) -> Response {
    let Ok(bytes) = std::fs::read(path) else {
        return not_found();
    };
    let content_type = match name.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase()) {
        Some(e) if e == "csv" => "text/csv; charset=utf-8",
        Some(e) if e == "json" => "application/json",
        Some(e) if e == "html" => "text/html; charset=utf-8",
        _ => "application/octet-stream",
    };
    let mut response = (StatusCode::OK, bytes).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    if let Ok(value) = HeaderValue::from_str(&attachment(name)) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    response
}

/// `attachment; filename="…"; filename*=UTF-8''…` (RFC 6266): ASCII fallback and the real name.
fn attachment(name: &str) -> String {
    let ascii: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "._-() ".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    let mut encoded = String::new();
    for b in name.bytes() {
        if b.is_ascii_alphanumeric() || b"._-".contains(&b) {
            encoded.push(char::from(b));
        } else {
            encoded.push_str(&format!("%{b:02X}"));
        }
    }
    format!("attachment; filename=\"{ascii}\"; filename*=UTF-8''{encoded}")
}

fn not_found() -> Response {
    (
        StatusCode::NOT_FOUND,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        "没有这个文件或会话已过期 / no such file, or the session has expired\n",
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    #[test]
    fn chinese_names_survive_in_the_header() {
        let value = super::attachment("学校_修正.csv");
        assert!(value.starts_with("attachment; filename=\"__"), "{value}");
        assert!(
            value.ends_with("filename*=UTF-8''%E5%AD%A6%E6%A0%A1_%E4%BF%AE%E6%AD%A3.csv"),
            "{value}"
        );
    }
}
