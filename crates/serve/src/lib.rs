//! `riskcensus serve`: a local web page where census technicians check, fix and publish returns
//! without a terminal.
//!
//! - `/` — upload one or more returns (CSV in any supported encoding, census Excel forms); the
//!   class comes from the file name (`HB-PSF-01_学校.csv`) or the list on the page.
//! - `/s/<session>` — while the files are checked: the stage; then the summary (rows read =
//!   accepted + rejected), the findings with filters, an offline map of the pipeline's polygons
//!   with each finding's point and each coordinate correction as an arrow, and the downloads
//!   (corrected files, `changes.csv`, rejected rows, the HTML and JSON reports).
//! - `/office` — the pipeline's own returns: check them, build the database, download the
//!   county packages.
//!
//! Safe by default ([`access`]): loopback unless told otherwise, a token on any other address,
//! requests from other sites refused; uploads go to a private temporary folder under generated
//! names, one folder per session, removed when the session expires or the server stops.
//!
//! ```no_run
//! let options = riskcensus_serve::Options::new("pipelines/baiyin-2021.toml".into());
//! riskcensus_serve::serve(options).expect("serve");
//! ```

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use axum::Router;
use riskcensus_pipeline::{Pipeline, PipelineError};

pub mod access;
mod check;
mod download;
mod map;
mod office;
mod pages;
pub mod recognise;
mod results;
mod sessions;
mod upload;

pub use access::Access;

/// How `serve` runs.
#[derive(Debug, Clone)]
pub struct Options {
    /// The pipeline file: register, polygons, schemas, rules; its returns for the office view.
    pub pipeline: PathBuf,
    /// Where to listen (default 127.0.0.1:8080; port 0 picks a free one).
    pub listen: SocketAddr,
    /// The token clients must present; on a non-loopback address one is generated if absent.
    pub token: Option<String>,
    /// Limits on uploads and sessions.
    pub limits: Limits,
}

impl Options {
    /// Defaults for `pipeline`: 127.0.0.1:8080, no token, [`Limits::default`].
    pub fn new(pipeline: PathBuf) -> Self {
        Self {
            pipeline,
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            token: None,
            limits: Limits::default(),
        }
    }
}

/// Limits on what one client can make the server hold.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Bytes of one upload request, all files together.
    pub upload_bytes: usize,
    /// Files in one upload.
    pub files: usize,
    /// Sessions kept at once (the oldest expire first).
    pub sessions: usize,
    /// How long a session's files are kept.
    pub session_ttl: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            upload_bytes: 64 << 20,
            files: 40,
            sessions: 200,
            session_ttl: Duration::from_secs(2 * 3600),
        }
    }
}

/// Why the server could not start or stopped.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The pipeline could not be loaded.
    #[error(transparent)]
    Pipeline(#[from] PipelineError),
    /// The address could not be used.
    #[error("cannot listen on {addr}: {message}")]
    Listen {
        /// The address.
        addr: SocketAddr,
        /// Why.
        message: String,
    },
    /// The private folder or the runtime could not be set up.
    #[error("{0}")]
    Setup(String),
}

impl ServeError {
    /// The documented exit code: 2 for configuration and address errors, 3 for unreadable
    /// inputs, 4 otherwise.
    pub fn exit_code(&self) -> u8 {
        match self {
            ServeError::Pipeline(e) => e.exit_code(),
            ServeError::Listen { .. } => 2,
            ServeError::Setup(_) => 4,
        }
    }
}

/// Everything the handlers share.
#[derive(Debug)]
pub struct AppState {
    pipeline: Pipeline,
    access: Access,
    limits: Limits,
    sessions: sessions::Sessions,
    map: map::MapData,
    classes: Vec<(String, String, String)>,
    office: office::Office,
}

impl AppState {
    /// Load the pipeline, its polygons (for the map) and schemas, and make the private folder.
    pub fn new(options: &Options, access: Access) -> Result<Self, ServeError> {
        let pipeline = Pipeline::load(&options.pipeline)?;
        let schemas = riskcensus_core::SchemaSet::load(&pipeline.schemas)
            .map_err(|e| ServeError::Pipeline(e.into()))?;
        let classes = schemas
            .classes
            .values()
            .map(|c| (c.node.code.clone(), c.node.zh.clone(), c.node.en.clone()))
            .collect();
        let map = map::MapData::load(&pipeline)?;
        let sessions = sessions::Sessions::new(options.limits).map_err(|e| {
            ServeError::Setup(format!("cannot make a private temporary folder: {e}"))
        })?;
        Ok(Self {
            pipeline,
            access,
            limits: options.limits,
            sessions,
            map,
            classes,
            office: office::Office::default(),
        })
    }

    /// Who may use the server.
    pub fn access(&self) -> &Access {
        &self.access
    }

    /// The private folder that holds every session's files.
    pub fn uploads_root(&self) -> &std::path::Path {
        self.sessions.root()
    }
}

/// The application: every route behind [`access::guard`].
pub fn app(state: Arc<AppState>) -> Router {
    let upload_limit = DefaultBodyLimit::max(state.limits.upload_bytes);
    Router::new()
        .route("/", get(pages::home))
        .route("/upload", post(upload::upload).layer(upload_limit))
        .route("/s/{id}", get(pages::session))
        .route("/s/{id}/status", get(pages::status))
        .route("/s/{id}/file/{key}", get(download::session_file))
        .route("/office", get(office::page))
        .route("/office/check", post(office::check))
        .route("/office/build", post(office::build))
        .route("/office/package/{key}", get(download::package))
        .route("/assets/{name}", get(pages::asset))
        .layer(DefaultBodyLimit::max(64 << 10))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            access::guard,
        ))
        .with_state(state)
}

/// Serve until Ctrl-C (or SIGTERM); the uploads folder is removed on the way out.
pub fn serve(options: Options) -> Result<(), ServeError> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| ServeError::Setup(format!("cannot start the runtime: {e}")))?;
    runtime.block_on(async move {
        let listen = |e: std::io::Error| ServeError::Listen {
            addr: options.listen,
            message: e.to_string(),
        };
        let listener = tokio::net::TcpListener::bind(options.listen)
            .await
            .map_err(listen)?;
        let addr = listener.local_addr().map_err(listen)?;
        let access = Access::new(addr, options.token.clone());
        let state = Arc::new(tokio::task::block_in_place(|| {
            AppState::new(&options, access)
        })?);
        announce(addr, &state.access);
        let served = axum::serve(listener, app(state.clone()))
            .with_graceful_shutdown(stopped())
            .await;
        eprintln!("riskcensus serve: stopped; uploads removed");
        served.map_err(|e| ServeError::Setup(format!("the server stopped: {e}")))
    })
}

/// The address to open, on stdout (scripts read it), and how to stop, on stderr.
fn announce(addr: SocketAddr, access: &Access) {
    let host = if addr.ip().is_unspecified() {
        "127.0.0.1".to_string()
    } else {
        addr.ip().to_string()
    };
    let host = if host.contains(':') {
        format!("[{host}]")
    } else {
        host
    };
    match access.token() {
        Some(token) => println!("http://{host}:{}/?token={token}", addr.port()),
        None => println!("http://{host}:{}/", addr.port()),
    }
    if !addr.ip().is_loopback() {
        eprintln!(
            "riskcensus serve: listening on {addr}, reachable from other machines: every request needs the token above"
        );
    }
    eprintln!("riskcensus serve: open the address above in a browser; Ctrl-C stops");
}

async fn stopped() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
}
