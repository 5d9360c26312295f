//! Who may use the server.
//!
//! - On a loopback address no token is needed, but the `Host` header must name the server
//!   (`127.0.0.1:PORT`, `localhost:PORT`, `[::1]:PORT`): a web page elsewhere cannot reach it
//!   through a DNS name that points at 127.0.0.1.
//! - On any other address every request needs the token: `?token=…` once (a cookie keeps it for
//!   the browser), the cookie, or `Authorization: Bearer …`. Without `--token` one is generated
//!   and printed at start.
//! - A request that changes something (upload, check, build) from another site's page
//!   (`Origin` not this server, or `Sec-Fetch-Site: cross-site`) is refused.
//!
//! ```
//! use riskcensus_serve::Access;
//! let open = Access::new("127.0.0.1:8080".parse().unwrap(), None);
//! assert!(open.token().is_none());
//! let guarded = Access::new("0.0.0.0:8080".parse().unwrap(), None);
//! assert_eq!(guarded.token().map(str::len), Some(32)); // generated
//! ```

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::AppState;

const COOKIE: &str = "riskcensus_token";

/// The access rules of one server.
#[derive(Debug, Clone)]
pub struct Access {
    token: Option<String>,
    /// `Host` values accepted (loopback only; `None`: any, the token guards).
    hosts: Option<Vec<String>>,
}

/// Why a request was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// The HTTP status.
    pub status: StatusCode,
    /// What to tell the user (Chinese, then English).
    pub message: String,
}

/// A request that may go on; `remember` asks the browser to keep the token in a cookie.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Granted {
    remember: bool,
}

impl Access {
    /// The rules for a server bound to `addr`: on a non-loopback address a token is required
    /// (the one given, else a generated one).
    pub fn new(addr: SocketAddr, token: Option<String>) -> Self {
        let token = token.filter(|t| !t.is_empty());
        if addr.ip().is_loopback() {
            let port = addr.port();
            let mut hosts = vec![
                format!("127.0.0.1:{port}"),
                format!("localhost:{port}"),
                format!("[::1]:{port}"),
            ];
            if port == 80 {
                hosts.extend(["127.0.0.1", "localhost", "[::1]"].map(String::from));
            }
            Self {
                token,
                hosts: Some(hosts),
            }
        } else {
            let token = token.unwrap_or_else(|| hex::encode(rand::random::<[u8; 16]>()));
            Self {
                token: Some(token),
                hosts: None,
            }
        }
    }

    /// The token clients must present, if any.
    pub fn token(&self) -> Option<&str> {
        self.token.as_deref()
    }

    /// Decide on a request from its method, query string and headers.
    pub fn check(
        &self,
        method: &Method,
        query: Option<&str>,
        headers: &HeaderMap,
    ) -> Result<Granted, Refusal> {
        let header = |name: header::HeaderName| headers.get(name).and_then(|v| v.to_str().ok());
        let host = header(header::HOST).unwrap_or("");
        if let Some(hosts) = &self.hosts {
            if !hosts.iter().any(|h| h.eq_ignore_ascii_case(host)) {
                return Err(refuse(
                    StatusCode::FORBIDDEN,
                    &format!("本服务只接受本机地址的访问（Host: {host}）/ this server only answers requests addressed to it on this machine (Host: {host}): open the address it printed at start"),
                ));
            }
        }
        if !matches!(*method, Method::GET | Method::HEAD) {
            let cross_site = header(header::HeaderName::from_static("sec-fetch-site"))
                .is_some_and(|s| s.eq_ignore_ascii_case("cross-site"));
            let foreign_origin = header(header::ORIGIN).is_some_and(|origin| {
                let origin_host = origin.split("://").nth(1).unwrap_or(origin);
                !origin_host.eq_ignore_ascii_case(host)
            });
            if cross_site || foreign_origin {
                return Err(refuse(
                    StatusCode::FORBIDDEN,
                    "拒绝来自其他网站的请求 / a request from another web site was refused",
                ));
            }
        }
        let Some(token) = &self.token else {
            return Ok(Granted { remember: false });
        };
        let from_query = query
            .into_iter()
            .flat_map(|q| q.split('&'))
            .find_map(|pair| pair.strip_prefix("token="));
        let from_cookie = headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .find_map(|c| {
                c.trim()
                    .strip_prefix(&format!("{COOKIE}="))
                    .map(str::to_string)
            });
        let from_bearer = header(header::AUTHORIZATION).and_then(|a| a.strip_prefix("Bearer "));
        if from_query.is_some_and(|t| same(t, token)) {
            return Ok(Granted { remember: true });
        }
        if from_cookie.is_some_and(|t| same(&t, token))
            || from_bearer.is_some_and(|t| same(t, token))
        {
            return Ok(Granted { remember: false });
        }
        let given = from_query.is_some() || from_bearer.is_some();
        Err(refuse(
            StatusCode::UNAUTHORIZED,
            if given {
                "令牌不对 / wrong token: open the address riskcensus serve printed at start"
            } else {
                "需要令牌 / this server needs its token: open the address riskcensus serve printed at start (…/?token=…)"
            },
        ))
    }
}

fn refuse(status: StatusCode, message: &str) -> Refusal {
    Refusal {
        status,
        message: message.to_string(),
    }
}

/// Compare without stopping at the first difference.
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// The middleware in front of every route.
pub async fn guard(State(state): State<Arc<AppState>>, req: Request, next: Next) -> Response {
    let decision = state
        .access
        .check(req.method(), req.uri().query(), req.headers());
    match decision {
        Err(refusal) => (
            refusal.status,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            refusal.message + "\n",
        )
            .into_response(),
        Ok(granted) => {
            let token = state.access.token().map(str::to_string);
            let mut response = next.run(req).await;
            let headers = response.headers_mut();
            headers.insert(
                header::HeaderName::from_static("x-content-type-options"),
                HeaderValue::from_static("nosniff"),
            );
            headers.insert(
                header::HeaderName::from_static("x-frame-options"),
                HeaderValue::from_static("DENY"),
            );
            if let (true, Some(token)) = (granted.remember, token) {
                let cookie = format!("{COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict");
                if let Ok(value) = HeaderValue::from_str(&cookie) {
                    headers.append(header::SET_COOKIE, value);
                }
            }
            response
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (k, v) in pairs {
            map.append(*k, HeaderValue::from_str(v).expect("header"));
        }
        map
    }

    #[test]
    fn loopback_needs_its_own_host_name() {
        let access = Access::new("127.0.0.1:8080".parse().expect("addr"), None);
        let ok = headers(&[("host", "localhost:8080")]);
        assert!(access.check(&Method::GET, None, &ok).is_ok());
        let rebound = headers(&[("host", "evil.example:8080")]);
        let refused = access
            .check(&Method::GET, None, &rebound)
            .expect_err("refused");
        assert_eq!(refused.status, StatusCode::FORBIDDEN);
    }

    #[test]
    fn other_sites_cannot_post() {
        let access = Access::new("127.0.0.1:8080".parse().expect("addr"), None);
        let from_elsewhere = headers(&[
            ("host", "127.0.0.1:8080"),
            ("origin", "https://evil.example"),
        ]);
        assert!(access.check(&Method::POST, None, &from_elsewhere).is_err());
        let same_site = headers(&[
            ("host", "127.0.0.1:8080"),
            ("origin", "http://127.0.0.1:8080"),
        ]);
        assert!(access.check(&Method::POST, None, &same_site).is_ok());
    }

    #[test]
    fn a_token_is_taken_from_query_cookie_or_bearer() {
        let access = Access::new("0.0.0.0:8080".parse().expect("addr"), Some("s3cret".into()));
        let none = headers(&[("host", "10.0.0.5:8080")]);
        assert_eq!(
            access
                .check(&Method::GET, None, &none)
                .expect_err("no token")
                .status,
            StatusCode::UNAUTHORIZED
        );
        let granted = access.check(&Method::GET, Some("lang=en&token=s3cret"), &none);
        assert_eq!(granted, Ok(Granted { remember: true }));
        assert!(access
            .check(&Method::GET, Some("token=s3creT"), &none)
            .is_err());
        let cookie = headers(&[("host", "x"), ("cookie", "a=b; riskcensus_token=s3cret")]);
        assert!(access.check(&Method::GET, None, &cookie).is_ok());
        let bearer = headers(&[("host", "x"), ("authorization", "Bearer s3cret")]);
        assert!(access.check(&Method::GET, None, &bearer).is_ok());
        let wrong = headers(&[("host", "x"), ("authorization", "Bearer nope")]);
        let refusal = access.check(&Method::GET, None, &wrong).expect_err("wrong");
        assert!(
            refusal.message.contains("wrong token"),
            "{}",
            refusal.message
        );
    }
}
