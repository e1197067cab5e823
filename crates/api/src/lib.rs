//! The JSON API (`/api/v1/…`), `/healthz` and `/metrics`, served beside `/RPC2` on the
//! daemon's listeners.
//!
//! Data flow: the server (crates/server) hands every request under these paths to
//! [`router`], with a [`access::Connection`] extension saying which listener it came
//! through. A middleware turns that and the headers into an [`access::Principal`] (or a
//! 401); each route checks the role it needs, reads the engine's snapshot for state, and
//! changes state only through the engine's action layer (`steward_engine::actions`), the
//! same functions XML-RPC uses. Live updates come from one place, the engine's event bus,
//! numbered in [`events::EventLog`]. Every state-changing call is written to the audit
//! sink the daemon provides.
//!
//! Routing, extractors, JSON and SSE are axum's; the OpenAPI document is written by hand
//! ([`openapi`]) and checked by schemathesis in the test suite.

#![recursion_limit = "256"]

pub mod access;
pub mod commands;
pub mod cron;
pub mod error;
pub mod events;
mod metrics;
pub mod nodes;
pub mod openapi;
pub mod processes;
pub mod session;

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};
use steward_engine::{EngineHandle, SupervisorState};

use crate::access::{Connection, Principal, Role};
use crate::error::{count_param, ApiError, ApiResult, JsonQuery};

/// Where state-changing requests are recorded (the daemon's audit log).
pub trait AuditSink: Send + Sync {
    /// One record: who, from where, what, on what, and the outcome (`ok` or the error).
    fn record(&self, actor: &str, source: &str, action: &str, target: &str, result: &str);
    /// The newest records first, at most `limit`, as JSON objects.
    fn recent(&self, limit: usize) -> Vec<Value>;
}

/// Everything the routes share.
pub struct ApiState {
    pub engine: EngineHandle,
    /// `[user:x]` accounts and bearer tokens.
    pub credentials: access::Credentials,
    /// Browser sessions (login form) and the login rate limit.
    pub sessions: steward_auth::SessionStore,
    pub login_limiter: steward_auth::LoginLimiter,
    /// Recent `[command:x]` runs.
    pub command_runs: commands::CommandRuns,
    pub events: events::EventLog,
    pub audit: Option<Arc<dyn AuditSink>>,
    /// The daemon's version string, for `/metrics`' build info.
    pub version: String,
    /// This node's name and the remote `[node:x]` nodes ([`ApiState::set_nodes`]).
    pub nodes: std::sync::OnceLock<nodes::Nodes>,
    /// The `[notify:x]` notifiers' counters, for `/metrics` (set by the daemon once its
    /// notifiers run; the API crate does not know the notify crate).
    pub notifier_counters: std::sync::OnceLock<NotifierCountersFn>,
}

/// One notifier's counters since the daemon (re)started.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NotifierCounters {
    pub name: String,
    /// Messages delivered.
    pub delivered: u64,
    /// Messages given up after every retry.
    pub failed: u64,
    /// Retried attempts.
    pub retried: u64,
    /// Notices dropped from the full queue (or missed by a lagging router).
    pub dropped: u64,
}

/// Reads every notifier's counters at scrape time.
pub type NotifierCountersFn = Arc<dyn Fn() -> Vec<NotifierCounters> + Send + Sync>;

impl ApiState {
    /// Builds the state and starts feeding the event log from the engine.
    pub fn new(
        engine: EngineHandle,
        credentials: access::Credentials,
        audit: Option<Arc<dyn AuditSink>>,
    ) -> Arc<ApiState> {
        let events = events::EventLog::new();
        events.follow(&engine);
        Arc::new(ApiState {
            engine,
            credentials,
            sessions: steward_auth::SessionStore::new(steward_auth::SessionPolicy::default()),
            login_limiter: steward_auth::LoginLimiter::default(),
            command_runs: commands::CommandRuns::default(),
            events,
            audit,
            version: env!("CARGO_PKG_VERSION").to_string(),
            nodes: std::sync::OnceLock::new(),
            notifier_counters: std::sync::OnceLock::new(),
        })
    }

    /// Records an event of the API itself (login, logout) in the audit log.
    pub fn audit_raw(
        &self,
        actor: &str,
        conn: &Connection,
        action: &str,
        target: &str,
        result: &str,
    ) {
        if let Some(sink) = &self.audit {
            let source = conn.peer.as_deref().unwrap_or("unix socket");
            sink.record(actor, source, &format!("api: {action}"), target, result);
        }
    }

    /// Records a state-changing call in the audit log.
    pub fn audit(
        &self,
        who: &Principal,
        conn: &Connection,
        action: &str,
        target: &str,
        error: Option<ApiError>,
    ) {
        if let Some(sink) = &self.audit {
            let source = conn.peer.as_deref().unwrap_or("unix socket");
            let result = error.map_or_else(
                || "ok".to_string(),
                |e| format!("{}: {}", e.code, e.message),
            );
            sink.record(
                &who.name,
                source,
                &format!("api: {action}"),
                target,
                &result,
            );
        }
    }
}

/// Authenticates every API request (401 before any route runs) and stamps the principal.
async fn authenticate(State(st): State<Arc<ApiState>>, mut req: Request, next: Next) -> Response {
    let conn = req
        .extensions()
        .get::<Connection>()
        .cloned()
        .unwrap_or(Connection {
            // A request without the server's stamp is treated as the least trusted kind.
            listener: access::Listener::TcpPublic,
            peer: None,
            basic: None,
            base_path: None,
        });
    // A browser on this machine must not be a way in: whatever the credentials (none, on
    // a loopback listener), a state change sent from another origin is refused.
    if processes::is_state_changing(req.method()) {
        if let Err(e) = session::refuse_cross_origin(req.headers()) {
            return e.into_response();
        }
    }
    let by_session = if req.headers().contains_key(header::AUTHORIZATION) {
        None
    } else {
        session::from_cookie(&st, req.headers())
    };
    let result = match by_session {
        Some((_, who, csrf)) => {
            if processes::is_state_changing(req.method()) {
                session::check_unsafe(req.headers(), &csrf, None).map(|()| who)
            } else {
                Ok(who)
            }
        }
        None => access::authenticate(&st.credentials, &conn, req.headers(), req.method()),
    };
    match result {
        Ok(who) => {
            req.extensions_mut().insert(who);
            req.extensions_mut().insert(conn);
            let mut resp = next.run(req).await;
            resp.headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            // A large reply (the list at 1,000 programs, a dashboard page built from it)
            // leaves its scratch allocations resident until the heap is trimmed.
            if axum::body::HttpBody::size_hint(resp.body())
                .exact()
                .is_some_and(|n| n >= steward_engine::memory::LARGE_REPLY as u64)
            {
                steward_engine::memory::trim_soon();
            }
            resp
        }
        Err(e) => e.into_response(),
    }
}

async fn not_found() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "NOT_FOUND",
        "no such route (see /api/v1/openapi.json)",
    )
}

/// `/healthz`: no credentials, reveals only whether the daemon is running.
async fn healthz(State(st): State<Arc<ApiState>>) -> Response {
    if st.engine.snapshot().state == SupervisorState::Running {
        (StatusCode::OK, Json(json!({"status": "ok"}))).into_response()
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({"status": "unavailable"})),
        )
            .into_response()
    }
}

#[derive(Deserialize)]
struct ReloadQuery {
    dry_run: Option<String>,
}

/// `POST /api/v1/reload`: reread, then (unless `dry_run`) update exactly the groups the
/// diff names, as `supervisorctl reread && supervisorctl update` does.
async fn reload(
    State(st): State<Arc<ApiState>>,
    Extension(who): Extension<Principal>,
    Extension(conn): Extension<Connection>,
    JsonQuery(q): JsonQuery<ReloadQuery>,
) -> ApiResult<Json<Value>> {
    access::require(&who, Role::Admin)?;
    let dry_run = match q.dry_run.as_deref() {
        None | Some("false") => false,
        Some("true") => true,
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "dry_run must be true or false, not `{other}`"
            )))
        }
    };
    let diff = match st.engine.reread().await {
        Ok(d) => d,
        Err(e) => {
            let err = ApiError::from_action(&e, "config");
            st.audit(&who, &conn, "reload", "config", Some(err.clone()));
            return Err(err);
        }
    };
    let mut reply = json!({
        "dry_run": dry_run,
        "added": diff.added,
        "changed": diff.changed,
        "removed": diff.removed,
    });
    if !dry_run {
        let applied = st.engine.apply_update(&diff).await;
        let results: Vec<Value> = applied
            .iter()
            .map(|(g, r)| match r {
                Ok(msg) => json!({"group": g, "result": "ok", "message": msg}),
                Err(e) => json!({"group": g, "result": "error", "error": ApiError::from_action(e, g).body()["error"]}),
            })
            .collect();
        reply["results"] = Value::Array(results);
        st.audit(&who, &conn, "reload", "config", None);
        st.events.push("reload", reply.clone());
    }
    Ok(Json(reply))
}

async fn events_route(
    State(st): State<Arc<ApiState>>,
    Extension(who): Extension<Principal>,
    headers: axum::http::HeaderMap,
) -> ApiResult<Response> {
    access::require(&who, Role::Viewer)?;
    let last = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    Ok(st.events.sse(last).into_response())
}

#[derive(Deserialize)]
struct AuditQuery {
    limit: Option<String>,
}

async fn audit_route(
    State(st): State<Arc<ApiState>>,
    Extension(who): Extension<Principal>,
    JsonQuery(q): JsonQuery<AuditQuery>,
) -> ApiResult<Json<Value>> {
    access::require(&who, Role::Admin)?;
    let limit = count_param(q.limit.as_deref(), "limit", 100, 10_000)?;
    let records = st
        .audit
        .as_ref()
        .map(|a| a.recent(limit))
        .unwrap_or_default();
    Ok(Json(json!({"records": records})))
}

async fn openapi_route() -> Json<Value> {
    Json(openapi::document())
}

/// The routes under `/api/v1`, `/healthz` and `/metrics`.
pub fn router(state: Arc<ApiState>) -> Router {
    let api = Router::new()
        .route("/processes", get(processes::list))
        .route("/processes/{name}", get(processes::get_one))
        .route("/processes/{name}/log", get(processes::log))
        .route("/processes/{name}/log/follow", get(processes::log_follow))
        .route("/processes/{name}/{action}", post(processes::act))
        .route("/groups/{group}/{action}", post(processes::act_group))
        .route("/all/{action}", post(processes::act_all))
        .route("/reload", post(reload))
        .route("/cron", get(cron::list))
        .route("/cron/{job}", get(cron::get_one))
        .route("/cron/{job}/runs", get(cron::runs))
        .route("/cron/{job}/{action}", post(cron::act))
        .route("/commands", get(commands::list))
        .route("/commands/{name}/run", post(commands::run))
        .route("/commands/{name}/runs", get(commands::runs))
        .route("/events", get(events_route))
        .route("/session", get(session::current).delete(session::logout))
        .route("/audit", get(audit_route))
        .route("/metrics", get(metrics::metrics))
        .route("/nodes", get(nodes::list))
        .route("/nodes/{node}/processes", get(nodes::processes))
        .route("/nodes/{node}/processes/{name}/{action}", post(nodes::act))
        .fallback(not_found)
        .layer(middleware::from_fn_with_state(state.clone(), authenticate));
    Router::new()
        .route("/api/v1/openapi.json", get(openapi_route))
        // Before the authentication layer: logging in is how one gets credentials.
        .route("/api/v1/session", axum::routing::post(session::login))
        .route("/healthz", get(healthz))
        .route(
            "/metrics",
            get(metrics::metrics)
                .layer(middleware::from_fn_with_state(state.clone(), authenticate)),
        )
        .nest("/api/v1", api)
        .fallback(not_found)
        .with_state(state)
}

/// The daemon's audit log (`<state_dir>/audit.jsonl`) as the API's sink. Appends (each an
/// fsync) go to one long-lived writer thread, so a slow disk never holds up a reply and
/// records land in the order the actions happened. The thread is started on the first
/// record, not per record: at a `pids.max` or `RLIMIT_NPROC` limit a new thread cannot be
/// created, and a thread pool that needs one (tokio's `spawn_blocking`) panics. When the
/// writer cannot be started the record is written inline, and starting it is tried again
/// on the next record.
pub struct FileAudit {
    log: Arc<steward_auth::AuditLog>,
    writer: std::sync::Mutex<Option<std::sync::mpsc::Sender<steward_auth::AuditEntry>>>,
}

impl FileAudit {
    pub fn new(log: Arc<steward_auth::AuditLog>) -> FileAudit {
        FileAudit {
            log,
            writer: std::sync::Mutex::new(None),
        }
    }

    fn start_writer(&self) -> Option<std::sync::mpsc::Sender<steward_auth::AuditEntry>> {
        let (tx, rx) = std::sync::mpsc::channel::<steward_auth::AuditEntry>();
        let log = self.log.clone();
        std::thread::Builder::new()
            .name("audit".into())
            .stack_size(64 * 1024)
            .spawn(move || {
                for entry in rx {
                    let _ = log.append(entry);
                }
            })
            .ok()
            .map(|_| tx)
    }
}

impl AuditSink for FileAudit {
    fn record(&self, actor: &str, source: &str, action: &str, target: &str, result: &str) {
        let entry = steward_auth::AuditEntry {
            actor: actor.to_string(),
            source: source.to_string(),
            action: action.to_string(),
            target: target.to_string(),
            result: result.to_string(),
        };
        let mut writer = self.writer.lock().unwrap_or_else(|e| e.into_inner());
        if writer.is_none() {
            *writer = self.start_writer();
        }
        let unsent = match writer.as_ref() {
            Some(tx) => match tx.send(entry) {
                Ok(()) => None,
                Err(std::sync::mpsc::SendError(entry)) => {
                    *writer = None;
                    Some(entry)
                }
            },
            None => Some(entry),
        };
        drop(writer);
        if let Some(entry) = unsent {
            let _ = self.log.append(entry);
        }
    }

    fn recent(&self, limit: usize) -> Vec<Value> {
        self.log
            .recent(limit, None)
            .unwrap_or_default()
            .into_iter()
            .map(|r| {
                json!({
                    "id": r.id,
                    "time": r.time.to_string(),
                    "actor": r.actor,
                    "source": r.source,
                    "action": r.action,
                    "target": r.target,
                    "result": r.result,
                })
            })
            .collect()
    }
}
