//! The HTTP side of `[unix_http_server]` and `[inet_http_server]`: what `supervisorctl`,
//! superlance and other XML-RPC clients talk to.
//!
//! This crate owns the listeners, HTTP/1.1 handling, Basic authentication and the plain
//! routes; it knows nothing about processes. Everything process-related goes through the
//! [`Backend`] trait, which the daemon implements on top of its engine.
//!
//! Data flow:
//! 1. [`bind`] (synchronous, no async runtime needed, so the daemon can call it before it
//!    daemonizes and fail early) creates every listening socket (`listen` module): UNIX
//!    sockets via `<file>.<pid>` + hard link with stale-socket detection, TCP sockets with
//!    `SO_REUSEADDR` and a backlog of 1024. The result is a [`BoundServers`].
//! 2. [`BoundServers::serve`] (inside a Tokio runtime) spawns one accept loop per listener;
//!    each accepted connection runs on its own task (`conn` module), wrapped in an I/O
//!    adapter that enforces the header-read and idle timeouts, and is registered in one
//!    connection table that caps how many are open (the least recently useful idle one
//!    is closed to make room).
//! 3. Each request goes through `service`: authentication first, then routing to
//!    `Backend::rpc` (`/RPC2`), the log followers of `tail` (`/logtail`, `/mainlogtail`),
//!    the status page of `page` or `/ok.html`.
//! 4. [`Servers::shutdown`] stops accepting, drops live connections and unlinks the UNIX
//!    sockets this process created.
//!
//! [`start`] does 1 and 2 in one call.

mod auth;
mod conn;
mod error;
mod listen;
mod page;
mod service;
mod tail;

use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use steward_config::model::{InetHttpServer, UnixHttpServer};

pub use conn::{serve_stream, Servers};
pub use error::ServerError;
pub use listen::{BoundServers, Notice, NoticeLevel};

/// What the HTTP server needs from the daemon. Implemented by the daemon (on top of the
/// engine and the RPC layer); the server never sees processes directly.
pub trait Backend: Send + Sync + 'static {
    /// One XML-RPC request body → the response body (XML) or an HTTP error status (400 for
    /// bad XML, 500 for an internal error). Long-polling calls (e.g. `startProcess` with
    /// `wait=true`) simply take long: the server never times them out.
    fn rpc(&self, body: bytes::Bytes) -> Pin<Box<dyn Future<Output = Result<String, u16>> + Send>>;
    /// File path of a process's log for `/logtail` (`namespec` already %-decoded, as sent:
    /// `group:name` or `name`; `stderr == false` → stdout). `None` → 404.
    fn process_log_path(&self, namespec: &str, stderr: bool) -> Option<PathBuf>;
    /// The daemon's activity log file for `/mainlogtail`. `None` → 404.
    fn main_log_path(&self) -> Option<PathBuf>;
    /// Rows for the plain status page, already sorted (by group, then process).
    fn status_rows(&self) -> Vec<StatusRow>;
    /// Version string for the page footer.
    fn version(&self) -> String;
    /// The JSON API, `/healthz` and `/metrics` (crates/api), when the daemon serves them.
    /// Asked on each request to one of their paths (not at start: a daemon nobody asks
    /// over HTTP never builds the router), so build it once and hand out clones.
    fn api(&self) -> Option<axum::Router> {
        None
    }
}

/// One line of the status page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusRow {
    /// `group:name`, or `name` when the group has the process's name.
    pub namespec: String,
    /// Upper-case state name as in `getProcessInfo` (`RUNNING`, `FATAL`, …).
    pub statename: String,
    /// Same text as `getProcessInfo`'s description.
    pub description: String,
}

/// Tunables; [`ServerOptions::default`] is what the daemon should use.
#[derive(Debug, Clone)]
pub struct ServerOptions {
    /// Once the first byte of a request arrives, its headers must be complete within this
    /// time, else the connection is closed (slowloris protection). Default 30 s.
    pub header_read_timeout: Duration,
    /// A keep-alive connection with no request in progress is closed after this long.
    /// Default 30 min (medusa's zombie timeout). Never applies while a request is being
    /// served (long-polling RPC, a log being followed).
    pub idle_timeout: Duration,
    /// Time allowed to receive a request body once the headers are in (a body that never
    /// ends → 408). Default 30 s: 8 MiB at 280 KiB/s, far more than any XML-RPC call needs.
    pub body_read_timeout: Duration,
    /// Largest accepted request body; larger → 413. Default 8 MiB.
    pub max_body_size: u64,
    /// Open connections allowed across every listener of the daemon. Past it, the
    /// connection that has waited longest without a request in service (idle keep-alive,
    /// or headers still trickling in) is closed to make room; connections serving a
    /// request are never closed. `None` (the default) → `min(1024, RLIMIT_NOFILE / 2)` at
    /// [`BoundServers::serve`], so the daemon keeps descriptors for its children's pipes
    /// and logs and `accept` never meets EMFILE.
    pub max_connections: Option<usize>,
    /// How often `/logtail` and `/mainlogtail` look for growth. Default 0.1 s.
    pub tail_poll_interval: Duration,
    /// How long the live-socket probe of an existing UNIX socket path waits for an answer.
    /// Default 2 s (a silent listener is considered live).
    pub stale_probe_timeout: Duration,
}

impl Default for ServerOptions {
    fn default() -> Self {
        ServerOptions {
            header_read_timeout: Duration::from_secs(30),
            idle_timeout: Duration::from_secs(30 * 60),
            body_read_timeout: Duration::from_secs(30),
            max_body_size: 8 * 1024 * 1024,
            max_connections: None,
            tail_poll_interval: Duration::from_millis(100),
            stale_probe_timeout: Duration::from_secs(2),
        }
    }
}

/// Binds every configured server socket (see [`BoundServers::bind`]). Synchronous; does not
/// need a Tokio runtime, so it can run before daemonizing.
pub fn bind(
    unix: &[UnixHttpServer],
    inet: &[InetHttpServer],
    options: ServerOptions,
) -> Result<BoundServers, ServerError> {
    BoundServers::bind(unix, inet, options)
}

/// Binds (on a blocking thread) and serves with default options. Must run inside a Tokio
/// runtime.
pub async fn start(
    unix: &[UnixHttpServer],
    inet: &[InetHttpServer],
    backend: Arc<dyn Backend>,
) -> Result<Servers, ServerError> {
    start_with(unix, inet, backend, ServerOptions::default()).await
}

/// [`start`] with explicit [`ServerOptions`].
pub async fn start_with(
    unix: &[UnixHttpServer],
    inet: &[InetHttpServer],
    backend: Arc<dyn Backend>,
    options: ServerOptions,
) -> Result<Servers, ServerError> {
    let unix = unix.to_vec();
    let inet = inet.to_vec();
    let bound = tokio::task::spawn_blocking(move || BoundServers::bind(&unix, &inet, options))
        .await
        .map_err(|e| ServerError::Other(format!("binding task failed: {e}")))??;
    bound.serve(backend)
}
