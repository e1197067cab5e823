//! Process routes: the list, one process with its resolved config and resource use, the
//! actions on one process, a group or everything (through the engine's action layer), and
//! the log (last lines, and a live follow as SSE).

use std::convert::Infallible;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Path as UrlPath, State};
use axum::http::Method;
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::IntoResponse;
use axum::{Extension, Json};
use futures_util::stream::{self, Stream};
use serde::Deserialize;
use serde_json::{json, Value};
use steward_config::{AutoRestart, LogFile};
use steward_engine::actions::{self, ManyAction, MemberResult};
use steward_engine::{ProcInfo, ProcessState, Snapshot};

use crate::access::{self, Connection, Principal, Role};
use crate::error::{count_param, ApiError, ApiResult, JsonQuery, OptionalJson};
use crate::ApiState;

fn rfc3339(epoch: f64) -> Value {
    if epoch <= 0.0 {
        return Value::Null;
    }
    jiff::Timestamp::from_second(epoch.trunc() as i64)
        .map(|t| Value::String(t.to_string()))
        .unwrap_or(Value::Null)
}

pub(crate) fn now_epoch() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

/// The summary every list and action reply uses.
pub fn summary(p: &ProcInfo, now: f64) -> Value {
    let running = matches!(
        p.state,
        ProcessState::Running | ProcessState::Starting | ProcessState::Stopping
    );
    let exited = matches!(p.state, ProcessState::Exited | ProcessState::Stopped) && p.start > 0.0;
    json!({
        "name": actions::namespec(&p.group, &p.name),
        "group": &*p.group,
        "process": &*p.name,
        "state": p.state.name(),
        "pid": if p.pid > 0 { Value::from(p.pid) } else { Value::Null },
        "started_at": rfc3339(p.start),
        "uptime_s": if running && p.start > 0.0 { Value::from((now - p.start).max(0.0).floor() as u64) } else { Value::Null },
        "exit_status": if exited { p.exitstatus.map_or(Value::Null, Value::from) } else { Value::Null },
        "description": steward_engine::text::describe(p, now),
        "restarts": p.spawns.saturating_sub(1),
        "health": p.health.as_ref().map(|h| json!({
            "status": h.status.name(),
            "failures": h.failures,
            "message": h.message,
            "since": rfc3339(h.since),
            "restarts": h.restarts,
        })),
    })
}

/// Resident memory and CPU use from /proc (`None` when the process is gone).
fn resources(pid: i32) -> Option<(u64, f64, f64)> {
    if pid <= 0 {
        return None;
    }
    let statm = std::fs::read_to_string(format!("/proc/{pid}/statm")).ok()?;
    let rss_pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name, which is in parentheses and may hold spaces.
    let after = &stat[stat.rfind(')')? + 2..];
    let f: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<u64>().ok());
    // SAFETY: sysconf has no preconditions.
    let (page, hz) = unsafe {
        (
            libc::sysconf(libc::_SC_PAGESIZE),
            libc::sysconf(libc::_SC_CLK_TCK),
        )
    };
    let hz = if hz > 0 { hz as f64 } else { 100.0 };
    let cpu_s = (ticks(11)? + ticks(12)?) as f64 / hz;
    let start_ticks = ticks(19)? as f64 / hz;
    let uptime: f64 = std::fs::read_to_string("/proc/uptime")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()?;
    let elapsed = (uptime - start_ticks).max(0.001);
    Some((
        rss_pages * page.max(1) as u64,
        cpu_s,
        100.0 * cpu_s / elapsed,
    ))
}

pub(crate) fn cpu_seconds(pid: i32) -> Option<(u64, f64)> {
    resources(pid).map(|(rss, cpu, _)| (rss, cpu))
}

fn log_name(l: &LogFile, resolved: &Option<Arc<Path>>) -> Value {
    match (l, resolved) {
        (_, Some(p)) => Value::String(p.to_string_lossy().into_owned()),
        (LogFile::None, _) => Value::Null,
        (LogFile::Syslog, _) => Value::String("syslog".into()),
        (LogFile::Auto, None) => Value::String("AUTO".into()),
        (LogFile::Path(p), None) => Value::String(p.to_string_lossy().into_owned()),
    }
}

/// One process in full: the summary, resource use and its resolved config, secrets
/// redacted whatever the role (docs/security.md).
fn details(p: &ProcInfo, now: f64) -> Value {
    let mut v = summary(p, now);
    let c = &p.config;
    let (rss, cpu_s, cpu_pct) = match resources(p.pid) {
        Some((rss, cpu_s, pct)) => (
            Value::from(rss),
            Value::from(cpu_s),
            Value::from((pct * 10.0).round() / 10.0),
        ),
        None => (Value::Null, Value::Null, Value::Null),
    };
    let env: serde_json::Map<String, Value> = c
        .environment
        .iter()
        .map(|(k, val)| (k.clone(), Value::String(access::shown_env_value(k, val))))
        .collect();
    let obj = v.as_object_mut().expect("summary is an object");
    obj.insert("rss_bytes".into(), rss);
    obj.insert("cpu_seconds".into(), cpu_s);
    obj.insert("cpu_percent".into(), cpu_pct);
    obj.insert(
        "command".into(),
        Value::String(access::redact_url_credentials(&c.command)),
    );
    obj.insert(
        "directory".into(),
        c.directory.as_ref().map_or(Value::Null, |d| {
            Value::String(d.to_string_lossy().into_owned())
        }),
    );
    obj.insert(
        "user".into(),
        c.user.clone().map_or(Value::Null, Value::String),
    );
    obj.insert(
        "config".into(),
        json!({
            "program_name": c.program_name,
            "priority": c.priority,
            "autostart": c.autostart,
            "autorestart": match c.autorestart { AutoRestart::Never => "false", AutoRestart::Unexpected => "unexpected", AutoRestart::Always => "true" },
            "exitcodes": c.exitcodes,
            "startsecs": c.startsecs,
            "startretries": c.startretries,
            "stopsignal": steward_config::signal_name(c.stopsignal).unwrap_or("?"),
            "stopwaitsecs": c.stopwaitsecs,
            "stopasgroup": c.stopasgroup,
            "killasgroup": c.killasgroup,
            "redirect_stderr": c.redirect_stderr,
            "stdout_logfile": log_name(&c.stdout.file, &p.stdout_logfile),
            "stderr_logfile": log_name(&c.stderr.file, &p.stderr_logfile),
            "environment": env,
            "umask": c.umask.map(|u| format!("{u:03o}")),
            "defined_at": format!("{}:{}", c.defined_at.file.display(), c.defined_at.line),
        }),
    );
    v
}

fn find<'a>(snap: &'a Snapshot, name: &'a str) -> ApiResult<&'a ProcInfo> {
    actions::process(snap, name).map_err(|_| ApiError::not_found("process", name))
}

pub async fn list(
    State(st): State<Arc<ApiState>>,
    Extension(who): Extension<Principal>,
) -> ApiResult<Json<Value>> {
    access::require(&who, Role::Viewer)?;
    let snap = st.engine.snapshot();
    let now = now_epoch();
    let scope = who.group_scope();
    let list: Vec<Value> = snap
        .processes
        .iter()
        .filter(|p| scope.allows(&p.group))
        .map(|p| summary(p, now))
        .collect();
    Ok(Json(json!({"processes": list})))
}

pub async fn get_one(
    State(st): State<Arc<ApiState>>,
    Extension(who): Extension<Principal>,
    UrlPath(name): UrlPath<String>,
) -> ApiResult<Json<Value>> {
    access::require(&who, Role::Viewer)?;
    let snap = st.engine.snapshot();
    let p = find(&snap, &name)?;
    access::require_group(&who, &p.group)?;
    Ok(Json(details(p, now_epoch())))
}

/// `POST /processes/{name}/{action}`.
pub async fn act(
    State(st): State<Arc<ApiState>>,
    Extension(who): Extension<Principal>,
    Extension(conn): Extension<Connection>,
    UrlPath((name, action)): UrlPath<(String, String)>,
    body: OptionalJson,
) -> ApiResult<Json<Value>> {
    access::require(&who, Role::Operator)?;
    let snap = st.engine.snapshot();
    let info = find(&snap, &name)?.clone();
    access::require_group(&who, &info.group)?;
    let result = match action.as_str() {
        "start" => st.engine.start_process(&info, true).await,
        "stop" => st.engine.stop_process(&info, true).await,
        "restart" => st.engine.restart_process(&info).await,
        "signal" => {
            let sig = signal_of(body.0.as_ref())?;
            st.engine.signal_process(&info, sig).await
        }
        other => return Err(unknown_action(other)),
    };
    st.audit(
        &who,
        &conn,
        &action,
        &name,
        result
            .as_ref()
            .err()
            .map(|e| ApiError::from_action(e, &name)),
    );
    result.map_err(|e| ApiError::from_action(&e, &name))?;
    let fresh = st.engine.snapshot();
    let now = find(&fresh, &name)
        .map(|p| summary(p, now_epoch()))
        .unwrap_or(Value::Null);
    Ok(Json(json!({"result": "ok", "process": now})))
}

fn unknown_action(action: &str) -> ApiError {
    ApiError::new(
        axum::http::StatusCode::NOT_FOUND,
        "NOT_FOUND",
        format!("no action `{action}` (start, stop, restart, signal)"),
    )
}

fn signal_of(body: Option<&Value>) -> ApiResult<i32> {
    let text = match body.and_then(|b| b.get("signal")) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.as_f64().map_or(String::new(), |f| (f as i64).to_string()),
        _ => {
            return Err(ApiError::bad_request(
                "expected a JSON body {\"signal\": \"HUP\"}",
            ))
        }
    };
    steward_config::parse_signal(&text).map_err(|e| {
        ApiError::new(axum::http::StatusCode::BAD_REQUEST, "BAD_SIGNAL", e).with_target(text)
    })
}

fn member_json(r: &MemberResult, now_snap: &Snapshot) -> Value {
    let name = actions::namespec(&r.info.group, &r.info.name);
    let state = now_snap
        .find(&r.info.group, &r.info.name)
        .map(|p| p.state.name())
        .unwrap_or("UNKNOWN");
    match &r.result {
        Ok(()) => json!({"name": name, "result": "ok", "state": state}),
        Err(e) => {
            let err = ApiError::from_action(e, &name);
            json!({"name": name, "result": "error", "state": state, "error": err.body()["error"]})
        }
    }
}

async fn act_on_members(
    st: &ApiState,
    members: Vec<ProcInfo>,
    action: &str,
    body: Option<&Value>,
) -> ApiResult<Vec<MemberResult>> {
    Ok(match action {
        "start" => {
            st.engine
                .act_on_many(members, ManyAction::Start, true)
                .await
        }
        "stop" => st.engine.act_on_many(members, ManyAction::Stop, true).await,
        "restart" => st.engine.restart_many(members).await,
        "signal" => {
            let sig = signal_of(body)?;
            st.engine.signal_many(members, sig).await
        }
        other => return Err(unknown_action(other)),
    })
}

/// `POST /groups/{group}/{action}`.
pub async fn act_group(
    State(st): State<Arc<ApiState>>,
    Extension(who): Extension<Principal>,
    Extension(conn): Extension<Connection>,
    UrlPath((group, action)): UrlPath<(String, String)>,
    body: OptionalJson,
) -> ApiResult<Json<Value>> {
    access::require(&who, Role::Operator)?;
    let snap = st.engine.snapshot();
    let members =
        actions::members(&snap, Some(&group)).map_err(|_| ApiError::not_found("group", &group))?;
    let results = act_on_members(&st, members, &action, body.0.as_ref()).await?;
    st.audit(&who, &conn, &format!("group {action}"), &group, None);
    let fresh = st.engine.snapshot();
    Ok(Json(
        json!({"results": results.iter().map(|r| member_json(r, &fresh)).collect::<Vec<_>>()}),
    ))
}

/// `POST /all/{action}`.
pub async fn act_all(
    State(st): State<Arc<ApiState>>,
    Extension(who): Extension<Principal>,
    Extension(conn): Extension<Connection>,
    UrlPath(action): UrlPath<String>,
    body: OptionalJson,
) -> ApiResult<Json<Value>> {
    access::require(&who, Role::Operator)?;
    let snap = st.engine.snapshot();
    let scope = who.group_scope();
    let members: Vec<ProcInfo> = actions::members(&snap, None)
        .map_err(|e| ApiError::from_action(&e, "all"))?
        .into_iter()
        .filter(|m| scope.allows(&m.group))
        .collect();
    let results = act_on_members(&st, members, &action, body.0.as_ref()).await?;
    st.audit(&who, &conn, &format!("all {action}"), "*", None);
    let fresh = st.engine.snapshot();
    Ok(Json(
        json!({"results": results.iter().map(|r| member_json(r, &fresh)).collect::<Vec<_>>()}),
    ))
}

#[derive(Deserialize)]
pub struct LogQuery {
    stream: Option<String>,
    lines: Option<String>,
}

fn log_path(
    st: &ApiState,
    who: &Principal,
    name: &str,
    stream: Option<&str>,
) -> ApiResult<(Arc<Path>, bool)> {
    let stderr = match stream.unwrap_or("stdout") {
        "stdout" => false,
        "stderr" => true,
        other => {
            return Err(ApiError::bad_request(format!(
                "stream must be stdout or stderr, not `{other}`"
            )))
        }
    };
    let snap = st.engine.snapshot();
    let p = find(&snap, name)?;
    if !who.may_touch_group(&p.group) {
        return Err(ApiError::not_found("process", name));
    }
    let path = if stderr {
        &p.stderr_logfile
    } else {
        &p.stdout_logfile
    };
    match path {
        Some(path) => Ok((path.clone(), stderr)),
        None => Err(ApiError::new(
            axum::http::StatusCode::NOT_FOUND,
            "NO_FILE",
            format!(
                "{name} has no {} log file",
                if stderr { "stderr" } else { "stdout" }
            ),
        )
        .with_target(name)),
    }
}

/// The last `lines` lines of a file (reading at most 4 MiB from its end).
fn last_lines(path: &Path, lines: usize) -> std::io::Result<Vec<String>> {
    use std::io::{Read, Seek, SeekFrom};
    let mut f = std::fs::File::open(path)?;
    let len = f.seek(SeekFrom::End(0))?;
    let window = len.min(4 << 20);
    f.seek(SeekFrom::Start(len - window))?;
    let mut buf = Vec::with_capacity(window as usize);
    f.take(window).read_to_end(&mut buf)?;
    let text = String::from_utf8_lossy(&buf);
    let mut all: Vec<&str> = text.split_inclusive('\n').collect();
    if window < len && !all.is_empty() {
        all.remove(0); // a partial first line
    }
    let start = all.len().saturating_sub(lines);
    Ok(all[start..]
        .iter()
        .map(|l| l.trim_end_matches('\n').to_string())
        .collect())
}

pub async fn log(
    State(st): State<Arc<ApiState>>,
    Extension(who): Extension<Principal>,
    UrlPath(name): UrlPath<String>,
    JsonQuery(q): JsonQuery<LogQuery>,
) -> ApiResult<Json<Value>> {
    access::require(&who, Role::Logs)?;
    let lines = count_param(q.lines.as_deref(), "lines", 100, 10_000)?;
    let (path, stderr) = log_path(&st, &who, &name, q.stream.as_deref())?;
    let found = match last_lines(&path, lines) {
        Ok(l) => l,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(e) => {
            return Err(ApiError::new(
                axum::http::StatusCode::CONFLICT,
                "FAILED",
                e.to_string(),
            ))
        }
    };
    Ok(Json(json!({
        "name": name,
        "stream": if stderr { "stderr" } else { "stdout" },
        "lines": found,
    })))
}

/// How often a followed log is checked for growth.
const FOLLOW_POLL: Duration = Duration::from_millis(200);

pub async fn log_follow(
    State(st): State<Arc<ApiState>>,
    Extension(who): Extension<Principal>,
    UrlPath(name): UrlPath<String>,
    JsonQuery(q): JsonQuery<LogQuery>,
) -> ApiResult<impl IntoResponse> {
    access::require(&who, Role::Logs)?;
    let (path, _) = log_path(&st, &who, &name, q.stream.as_deref())?;
    Ok(follow_stream(path))
}

/// The most lines one `lines` event carries.
const LINES_PER_EVENT: usize = 1000;

/// New output as SSE events named `lines`: every line the poll found (up to
/// [`LINES_PER_EVENT`]) in one event, a `data:` field per line. One event per line made a
/// child writing 10,000 lines/s cost the browser 10,000 dispatches a second. The file is
/// polled (rotation is followed by reopening when it shrinks or is replaced); a log nobody
/// follows costs nothing.
fn follow_stream(path: Arc<Path>) -> Sse<impl Stream<Item = Result<SseEvent, Infallible>>> {
    use std::os::unix::fs::MetadataExt;
    let start = std::fs::metadata(&*path)
        .map(|m| (m.len(), m.ino()))
        .unwrap_or((0, 0));
    let stream = stream::unfold(
        (
            path,
            start.0,
            start.1,
            String::new(),
            std::collections::VecDeque::<String>::new(),
        ),
        |(path, mut offset, mut ino, mut partial, mut ready)| async move {
            loop {
                if !ready.is_empty() {
                    let batch: Vec<String> =
                        ready.drain(..ready.len().min(LINES_PER_EVENT)).collect();
                    // One `data:` field per line; EventSource joins them with "\n".
                    let ev = SseEvent::default().event("lines").data(batch.join("\n"));
                    return Some((Ok(ev), (path, offset, ino, partial, ready)));
                }
                tokio::time::sleep(FOLLOW_POLL).await;
                let Ok(meta) = std::fs::metadata(&*path) else {
                    continue;
                };
                if meta.ino() != ino || meta.len() < offset {
                    ino = meta.ino();
                    offset = 0;
                }
                if meta.len() == offset {
                    continue;
                }
                let chunk = read_from(&path, offset, meta.len()).unwrap_or_default();
                offset += chunk.len() as u64;
                partial.push_str(&String::from_utf8_lossy(&chunk));
                while let Some(nl) = partial.find('\n') {
                    let line: String = partial.drain(..=nl).collect();
                    ready.push_back(line.trim_end_matches('\n').to_string());
                }
            }
        },
    );
    Sse::new(stream).keep_alive(
        KeepAlive::new()
            .interval(crate::events::HEARTBEAT)
            .text("heartbeat"),
    )
}

fn read_from(path: &Path, offset: u64, end: u64) -> std::io::Result<Vec<u8>> {
    use std::io::{Read, Seek, SeekFrom};
    let mut f = std::fs::File::open(path)?;
    f.seek(SeekFrom::Start(offset))?;
    let mut buf = Vec::new();
    f.take((end - offset).min(1 << 20)).read_to_end(&mut buf)?;
    Ok(buf)
}

/// Used by the router's method guard: GET and HEAD never change state.
pub fn is_state_changing(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}
