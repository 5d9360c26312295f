//! The web application end to end on the sample pipeline, through its router (no socket): an
//! upload is checked with the same counts `validate` gives, the corrected file validates clean of
//! what it fixed, and the safety rules refuse what they must with a clear message, writing
//! nothing outside the session's folder.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use http_body_util::BodyExt;
use riskcensus_serve::{app, Access, AppState, Limits, Options};
use tower::ServiceExt;

const GCJ_FILE: &str = "sample_data/returns/DR-GOV-10_应急避难场所_高德坐标.csv";

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn state(limits: Limits, listen: &str, token: Option<&str>) -> Arc<AppState> {
    let mut options = Options::new(repo().join("pipelines/baiyin-2021.toml"));
    options.limits = limits;
    let access = Access::new(listen.parse().expect("addr"), token.map(str::to_string));
    Arc::new(AppState::new(&options, access).expect("state"))
}

fn multipart(files: &[(&str, &[u8])], class: Option<&str>) -> (String, Vec<u8>) {
    let boundary = "riskcensusTestBoundary7MA4YWxk";
    let mut body = Vec::new();
    if let Some(class) = class {
        body.extend(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"class\"\r\n\r\n{class}\r\n"
            )
            .bytes(),
        );
    }
    for (name, bytes) in files {
        body.extend(format!("--{boundary}\r\nContent-Disposition: form-data; name=\"files\"; filename=\"{name}\"\r\nContent-Type: text/csv\r\n\r\n").bytes());
        body.extend_from_slice(bytes);
        body.extend(b"\r\n");
    }
    body.extend(format!("--{boundary}--\r\n").bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

async fn send(
    state: &Arc<AppState>,
    request: Request<Body>,
) -> (StatusCode, Vec<(String, String)>, String) {
    let response = app(state.clone()).oneshot(request).await.expect("response");
    let status = response.status();
    let headers = response
        .headers()
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or("").to_string()))
        .collect();
    let bytes = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    (
        status,
        headers,
        String::from_utf8_lossy(&bytes).into_owned(),
    )
}

fn get(uri: &str) -> Request<Body> {
    Request::get(uri)
        .header(header::HOST, "127.0.0.1:8080")
        .body(Body::empty())
        .expect("request")
}

async fn upload(
    state: &Arc<AppState>,
    files: &[(&str, &[u8])],
    class: Option<&str>,
) -> (StatusCode, Vec<(String, String)>, String) {
    let (content_type, body) = multipart(files, class);
    let request = Request::post("/upload")
        .header(header::HOST, "127.0.0.1:8080")
        .header(header::CONTENT_TYPE, content_type)
        .body(Body::from(body))
        .expect("request");
    send(state, request).await
}

/// The session's path (`/s/<id>`) an upload redirected to.
fn session_of(headers: &[(String, String)]) -> String {
    let location = location(headers);
    location.split('?').next().unwrap_or_default().to_string()
}

fn location(headers: &[(String, String)]) -> String {
    headers
        .iter()
        .find(|(k, _)| k == "location")
        .map(|(_, v)| v.clone())
        .expect("a redirect")
}

async fn wait_done(state: &Arc<AppState>, session: &str) -> serde_json::Value {
    for _ in 0..600 {
        let (_, _, body) = send(state, get(&format!("{session}/status"))).await;
        let status: serde_json::Value = serde_json::from_str(&body).expect("json");
        if status["state"] != "running" {
            return status;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the check did not finish in 60 s");
}

/// Every file under `dir`, relative.
fn files_under(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            if e.path().is_dir() {
                stack.push(e.path());
            } else {
                out.push(
                    e.path()
                        .strip_prefix(dir)
                        .expect("under")
                        .display()
                        .to_string(),
                );
            }
        }
    }
    out.sort();
    out
}

#[tokio::test(flavor = "multi_thread")]
async fn an_upload_is_checked_as_validate_checks_it_and_its_fix_validates_clean() {
    let state = state(Limits::default(), "127.0.0.1:8080", None);
    let bytes = std::fs::read(repo().join(GCJ_FILE)).expect("sample");
    let name = "DR-GOV-10_应急避难场所_高德坐标.csv";
    let (status, headers, _) = upload(&state, &[(name, &bytes)], None).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let session = session_of(&headers);
    let done = wait_done(&state, &session).await;
    assert_eq!(done["state"], "done", "{done}");

    // The same file through the pipeline directly, as `riskcensus validate` runs it.
    let pipeline = riskcensus_pipeline::Pipeline::load(&repo().join("pipelines/baiyin-2021.toml"))
        .expect("pipeline");
    let direct = riskcensus_pipeline::validate_only(
        &pipeline
            .with_files(&[repo().join(GCJ_FILE)], None)
            .expect("files"),
    )
    .expect("validate");
    let f = &direct.files[0];
    assert_eq!(
        (
            done["rows_read"].as_u64(),
            done["accepted"].as_u64(),
            done["rejected"].as_u64()
        ),
        (
            Some(f.rows_read as u64),
            Some(f.accepted as u64),
            Some(f.rejected as u64)
        )
    );
    assert_eq!(
        done["findings"].as_u64(),
        Some(direct.findings.len() as u64)
    );
    assert!(f.rejected > 0 && f.rows_read == f.accepted + f.rejected);

    let (status, _, page) = send(&state, get(&session)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        page.contains(&format!(r#"<b id="rows-read">{}</b>"#, f.rows_read)),
        "{page}"
    );
    let gcj = direct
        .findings
        .iter()
        .find(|x| x.rule == riskcensus_core::Rule::OtherVillage)
        .expect("a point in another village");
    let row = format!(
        r#"data-rule="geo.other_village" data-column="{}"#,
        gcj.column.as_deref().unwrap_or("")
    );
    assert!(page.contains(&row), "the finding is listed with its column");
    assert!(page.contains(&format!(
        r#"<td class="row">{}</td>"#,
        gcj.row.expect("row")
    )));
    assert!(
        page.contains("<svg id=\"map\"") && page.contains("marker-end"),
        "the map draws the corrections"
    );
    assert!(
        page.contains(name) && !page.contains("1.csv<"),
        "findings name the file as sent"
    );

    let (status, headers, fixed) = send(&state, get(&format!("{session}/file/fixed-1.csv"))).await;
    assert_eq!(status, StatusCode::OK);
    let disposition = headers
        .iter()
        .find(|(k, _)| k == "content-disposition")
        .map(|(_, v)| v.as_str())
        .unwrap_or("");
    assert!(
        disposition.contains("filename*=UTF-8''DR-GOV-10_"),
        "{disposition}"
    );
    let dir = tempfile::tempdir().expect("tmp");
    let fixed_path = dir.path().join(name);
    std::fs::write(&fixed_path, fixed.as_bytes()).expect("write");
    let again = riskcensus_pipeline::validate_only(
        &pipeline.with_files(&[fixed_path], None).expect("files"),
    )
    .expect("validate");
    let shifted = |r: &riskcensus_pipeline::RunReport| {
        r.findings
            .iter()
            .filter(|x| x.rule == riskcensus_core::Rule::Gcj02Shift)
            .count()
    };
    assert_eq!(shifted(&direct), 1);
    assert_eq!(
        shifted(&again),
        0,
        "the corrected file is no longer shifted"
    );
    assert!(again.findings.len() < direct.findings.len());

    let (status, _, _) = send(&state, get(&format!("{session}/file/..%2F..%2Fin%2F1.csv"))).await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "only listed downloads are served"
    );
    let (status, _, english) = send(&state, get(&format!("{session}?lang=en"))).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        english.contains("rows read")
            && english.contains(&gcj.message_en.chars().take(20).collect::<String>())
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_file_name_with_a_path_is_refused_and_nothing_is_written() {
    let state = state(Limits::default(), "127.0.0.1:8080", None);
    let outside = state.uploads_root().parent().expect("tmp").to_path_buf();
    for name in [
        "../../evil.csv",
        "..\\..\\evil.csv",
        "/etc/evil.csv",
        "C:evil.csv",
    ] {
        let (status, _, message) =
            upload(&state, &[(name, b"a,b\n1,2\n")], Some("DR-GOV-10")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{name}");
        assert!(
            message.contains("is refused: send a file with a plain name"),
            "{message}"
        );
    }
    assert!(
        files_under(state.uploads_root()).is_empty(),
        "refused sessions leave nothing"
    );
    assert!(!outside.join("evil.csv").exists() && !repo().join("evil.csv").exists());
    let (status, _, message) = upload(&state, &[("report.exe", b"MZ")], None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(message.contains("only CSV and Excel returns"), "{message}");
    let (status, _, message) = upload(&state, &[("x.csv", b"a\n")], Some("NO-SUCH-01")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        message.contains("there is no class NO-SUCH-01"),
        "{message}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_oversized_upload_or_too_many_files_are_refused() {
    let limits = Limits {
        upload_bytes: 4096,
        files: 2,
        ..Limits::default()
    };
    let state = state(limits, "127.0.0.1:8080", None);
    let big = vec![b'x'; 10_000];
    let (status, _, message) = upload(&state, &[("DR-GOV-10_big.csv", &big)], None).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{message}");
    assert!(
        message.contains("the upload is over the 4 KiB limit"),
        "{message}"
    );
    let small = b"a\n".as_slice();
    let (status, _, message) = upload(
        &state,
        &[
            ("DR-GOV-10_a.csv", small),
            ("DR-GOV-10_b.csv", small),
            ("DR-GOV-10_c.csv", small),
        ],
        None,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(message.contains("at most 2 files"), "{message}");
    assert!(files_under(state.uploads_root()).is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn off_loopback_every_request_needs_the_token() {
    // No --token on a non-loopback address: one is generated.
    let state = state(Limits::default(), "0.0.0.0:8080", None);
    let token = state_token(&state);
    assert_eq!(token.len(), 32);
    let request = |uri: &str, auth: Option<&str>| {
        let mut r = Request::get(uri).header(header::HOST, "192.0.2.10:8080");
        if let Some(a) = auth {
            r = r.header(header::AUTHORIZATION, format!("Bearer {a}"));
        }
        r.body(Body::empty()).expect("request")
    };
    let (status, _, message) = send(&state, request("/", None)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(message.contains("needs its token"), "{message}");
    let (status, _, message) = send(&state, request("/?token=not-it", None)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(message.contains("wrong token"), "{message}");
    let (status, headers, _) = send(&state, request(&format!("/?token={token}"), None)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(headers
        .iter()
        .any(|(k, v)| k == "set-cookie" && v.contains("HttpOnly")));
    let (status, _, _) = send(&state, request("/office", Some(&token))).await;
    assert_eq!(status, StatusCode::OK);
}

fn state_token(state: &Arc<AppState>) -> String {
    state.access().token().expect("a token").to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn other_sites_and_other_host_names_are_refused_on_loopback() {
    let state = state(Limits::default(), "127.0.0.1:8080", None);
    let rebound = Request::get("/")
        .header(header::HOST, "attacker.example:8080")
        .body(Body::empty())
        .expect("r");
    assert_eq!(send(&state, rebound).await.0, StatusCode::FORBIDDEN);
    let cross = Request::post("/office/build")
        .header(header::HOST, "127.0.0.1:8080")
        .header(header::ORIGIN, "https://attacker.example")
        .body(Body::empty())
        .expect("r");
    let (status, _, message) = send(&state, cross).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(message.contains("another web site"), "{message}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_return_without_its_class_code_is_recognised_or_the_page_asks_for_the_class() {
    let state = state(Limits::default(), "127.0.0.1:8080", None);
    let bytes = std::fs::read(repo().join(GCJ_FILE)).expect("sample");
    let (_, headers, _) = upload(&state, &[("避难场所名单2021.csv", &bytes)], None).await;
    let session = session_of(&headers);
    assert_eq!(wait_done(&state, &session).await["state"], "done");
    let (_, _, page) = send(&state, get(&session)).await;
    assert!(
        page.contains("<td>避难场所名单2021.csv</td><td>DR-GOV-10</td>"),
        "recognised by its headers"
    );

    let (_, headers, _) = upload(&state, &[("名单.csv", "甲,乙\n1,2\n".as_bytes())], None).await;
    let session = session_of(&headers);
    let failed = wait_done(&state, &session).await;
    assert_eq!(failed["state"], "failed");
    assert!(
        failed["message"]
            .as_str()
            .unwrap_or("")
            .contains("choose the class on the page"),
        "{failed}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unreadable_return_is_named_as_it_was_sent() {
    let state = state(Limits::default(), "127.0.0.1:8080", None);
    let broken = "单位名称,行政区划代码\n\"未闭合的引号,620402001001\n";
    let (_, headers, _) = upload(
        &state,
        &[("DR-GOV-10_避难场所.csv", broken.as_bytes())],
        None,
    )
    .await;
    let session = session_of(&headers);
    let failed = wait_done(&state, &session).await;
    assert_eq!(failed["state"], "failed", "{failed}");
    let message = failed["message"].as_str().unwrap_or("");
    assert!(message.contains("DR-GOV-10_避难场所.csv"), "{message}");
    assert!(
        !message.contains("1.csv"),
        "the stored name is not shown: {message}"
    );
}
