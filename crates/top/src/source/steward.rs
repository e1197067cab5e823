//! A Steward daemon, through its JSON API.
//!
//! The task reads `/api/v1/processes`, `/api/v1/cron` and `/api/v1/commands` once, then
//! listens to `/api/v1/events`. An event does not carry everything a row shows (restarts,
//! exit status, health), so each one only marks the list stale; the list is read again
//! once the events pause for [`DEBOUNCE`], which folds a `stop all` of a thousand
//! processes into a few reads. An idle daemon sends nothing but a heartbeat every 30 s, so
//! an idle `top` does no work beyond the /proc sample of a local daemon's children every
//! [`RESOURCES_EVERY`]. The stream ending is the daemon going away: [`run`] returns and
//! the caller reports the source unreachable.

use std::time::Duration;

use serde_json::{json, Value};
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::{procfs, spawn_actions, xmlrpc_act, xmlrpc_reload, Ctx, Request, SourceError, Update};
use crate::model::{parse_time, CommandInfo, CronJob, Proc};

/// How long events must pause before the list is read again.
const DEBOUNCE: Duration = Duration::from_millis(100);
/// CPU and memory are sampled this often (state is live).
pub(crate) const RESOURCES_EVERY: Duration = Duration::from_secs(5);
/// Log lines shown when a follow starts.
pub(crate) const LOG_BACKLOG: usize = 200;

/// `/` and other reserved bytes of a name in a path segment.
const SEGMENT: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b':')
    .remove(b'-')
    .remove(b'_')
    .remove(b'.');

pub(crate) fn seg(name: &str) -> String {
    percent_encoding::utf8_percent_encode(name, SEGMENT).to_string()
}

enum Stream {
    Event(String),
    Ended(SourceError),
}

/// Runs until the daemon stops answering; returns why.
pub(crate) async fn run(ctx: &Ctx, rx: &mut mpsc::UnboundedReceiver<Request>) -> SourceError {
    let (ev_tx, mut ev_rx) = mpsc::unbounded_channel();
    let endpoint = ctx.endpoint.clone();
    let events = tokio::spawn(async move {
        let tx = ev_tx.clone();
        let end = endpoint
            .sse("/api/v1/events", |_, kind, _| {
                tx.send(Stream::Event(kind.to_string())).is_ok()
            })
            .await;
        let _ = ev_tx
            .send(Stream::Ended(end.err().unwrap_or_else(|| {
                SourceError::Protocol("the event stream ended".into())
            })));
    });
    let _abort_events = AbortOnDrop(events);
    let mut sampler = procfs::Sampler::default();
    let mut pids: Vec<i32> = Vec::new();
    if let Err(e) = refresh_processes(ctx, &mut pids).await {
        return e;
    }
    refresh_cron(ctx).await;
    refresh_commands(ctx).await;
    let local = ctx.endpoint.is_local();
    let mut resources_at = Instant::now();
    if local {
        ctx.send(Update::Resources(sampler.sample(&pids)));
        resources_at += RESOURCES_EVERY;
    }
    let mut stale_processes = false;
    let mut stale_cron = false;
    let mut refresh_at: Option<Instant> = None;
    let mut _follow: Option<AbortOnDrop> = None;
    loop {
        let sleep_until = refresh_at.unwrap_or_else(|| Instant::now() + Duration::from_secs(3600));
        tokio::select! {
            ev = ev_rx.recv() => match ev {
                Some(Stream::Event(kind)) => {
                    match kind.as_str() {
                        k if k.starts_with("cron_") => stale_cron = true,
                        "reload" | "group_added" | "group_removed" => {
                            stale_processes = true;
                            stale_cron = true;
                        }
                        _ => stale_processes = true,
                    }
                    refresh_at = Some(Instant::now() + DEBOUNCE);
                }
                Some(Stream::Ended(e)) => return e,
                None => return SourceError::Protocol("the event stream ended".into()),
            },
            _ = tokio::time::sleep_until(sleep_until), if refresh_at.is_some() => {
                refresh_at = None;
                if std::mem::take(&mut stale_processes) {
                    if let Err(e) = refresh_processes(ctx, &mut pids).await {
                        return e;
                    }
                }
                if std::mem::take(&mut stale_cron) {
                    refresh_cron(ctx).await;
                }
            }
            _ = tokio::time::sleep_until(resources_at), if local => {
                resources_at = Instant::now() + RESOURCES_EVERY;
                ctx.send(Update::Resources(sampler.sample(&pids)));
            }
            req = rx.recv() => match req {
                None => return SourceError::Protocol("closed".into()),
                Some(Request::Follow(name)) => {
                    _follow = name.map(|n| AbortOnDrop(tokio::spawn(follow_log(ctx.clone(), n))));
                }
                Some(req) => handle(ctx, req),
            },
        }
    }
}

/// A task that ends with its owner (the event stream, a log follow).
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

fn handle(ctx: &Ctx, req: Request) {
    let ctx = ctx.clone();
    match req {
        Request::Act { names, action } => {
            if ctx.endpoint.api_may_act() {
                spawn_actions(&ctx, names, action, |ep, name, action| async move {
                    let (path, body) = match &action {
                        super::Action::Signal(s) => ("signal", Some(json!({ "signal": s }))),
                        super::Action::Start => ("start", None),
                        super::Action::Stop => ("stop", None),
                        super::Action::Restart => ("restart", None),
                    };
                    ep.json(
                        "POST",
                        &format!("/api/v1/processes/{}/{path}", seg(&name)),
                        body,
                    )
                    .await
                    .map(drop)
                });
            } else {
                spawn_actions(&ctx, names, action, |ep, name, action| async move {
                    xmlrpc_act(&ep, &name, &action).await
                });
            }
        }
        Request::Follow(_) => {}
        Request::Details(name) => {
            tokio::spawn(async move {
                match ctx
                    .endpoint
                    .json("GET", &format!("/api/v1/processes/{}", seg(&name)), None)
                    .await
                {
                    Ok(v) => ctx.send(Update::Details {
                        name,
                        fields: detail_fields(&v),
                    }),
                    Err(e) => ctx.send(Update::Message(format!("{name}: {e}"))),
                }
            });
        }
        Request::CronRuns(job) => {
            tokio::spawn(async move {
                let path = format!("/api/v1/cron/{}/runs?limit=20", seg(&job));
                match ctx.endpoint.json("GET", &path, None).await {
                    Ok(v) => ctx.send(Update::CronRuns {
                        lines: run_lines(&v),
                        job,
                    }),
                    Err(e) => ctx.send(Update::Message(format!("{job}: {e}"))),
                }
            });
        }
        Request::Cron { job, action } => {
            tokio::spawn(async move {
                let verb = format!("cron {}", action.path());
                let r = if ctx.endpoint.api_may_act() {
                    let path = format!("/api/v1/cron/{}/{}", seg(&job), action.path());
                    ctx.endpoint.json("POST", &path, None).await.map(drop)
                } else if action == super::CronAction::Run {
                    ctx.endpoint
                        .xmlrpc("steward.cronRun", &[job.as_str().into()])
                        .await
                        .map(drop)
                } else {
                    Err(needs_token())
                };
                // A pause or resume sends no event: read the jobs again to show it.
                if r.is_ok() {
                    refresh_cron(&ctx).await;
                }
                let line = super::summarize(&verb, &[(job, r.map_err(|e| e.to_string()))]);
                ctx.send(Update::Message(line));
            });
        }
        Request::RunCommand(name) => {
            tokio::spawn(async move {
                if !ctx.endpoint.api_may_act() {
                    ctx.send(Update::Message(format!("run {name}: {}", needs_token())));
                    return;
                }
                ctx.send(Update::Message(format!("run {name}: running…")));
                let path = format!("/api/v1/commands/{}/run", seg(&name));
                let line = match ctx.endpoint.json("POST", &path, None).await {
                    Ok(v) => {
                        let out = v["output_head"].as_str().unwrap_or("");
                        let first = out.lines().next().unwrap_or("");
                        format!(
                            "run {name}: {} (exit {}) {first}",
                            v["result"].as_str().unwrap_or("?"),
                            v["exit_code"]
                        )
                    }
                    Err(e) => format!("run {name}: {e}"),
                };
                ctx.send(Update::Message(line));
            });
        }
        Request::Reload { apply } => {
            tokio::spawn(async move {
                let result = if ctx.endpoint.api_may_act() {
                    let path = if apply {
                        "/api/v1/reload"
                    } else {
                        "/api/v1/reload?dry_run=true"
                    };
                    ctx.endpoint
                        .json("POST", path, None)
                        .await
                        .map(|v| crate::model::ReloadDiff {
                            added: strings(&v["added"]),
                            changed: strings(&v["changed"]),
                            removed: strings(&v["removed"]),
                        })
                } else {
                    xmlrpc_reload(&ctx.endpoint, apply).await
                };
                ctx.send(Update::Reload {
                    result: result.map_err(|e| e.to_string()),
                    applied: apply,
                });
            });
        }
    }
}

fn needs_token() -> SourceError {
    SourceError::Unsupported(
        "needs a bearer token (--token-file): the API takes Basic credentials for reads only"
            .into(),
    )
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

async fn refresh_processes(ctx: &Ctx, pids: &mut Vec<i32>) -> Result<(), SourceError> {
    let v = ctx.endpoint.json("GET", "/api/v1/processes", None).await?;
    let now = crate::model::now();
    let list: Vec<Proc> = v["processes"]
        .as_array()
        .map(|a| a.iter().map(|p| proc_from_json(p, now)).collect())
        .unwrap_or_default();
    *pids = list.iter().filter_map(|p| p.pid).collect();
    ctx.send(Update::Processes(list));
    Ok(())
}

async fn refresh_cron(ctx: &Ctx) {
    if let Ok(v) = ctx.endpoint.json("GET", "/api/v1/cron", None).await {
        let jobs = v["jobs"]
            .as_array()
            .map(|a| a.iter().map(cron_from_json).collect())
            .unwrap_or_default();
        ctx.send(Update::Cron(jobs));
    }
}

async fn refresh_commands(ctx: &Ctx) {
    if let Ok(v) = ctx.endpoint.json("GET", "/api/v1/commands", None).await {
        let list = v["commands"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|c| CommandInfo {
                        name: c["name"].as_str().unwrap_or("").into(),
                        description: c["description"].as_str().unwrap_or("").into(),
                    })
                    .collect()
            })
            .unwrap_or_default();
        ctx.send(Update::Commands(list));
    }
}

async fn follow_log(ctx: Ctx, name: String) {
    let path = format!("/api/v1/processes/{}/log?lines={LOG_BACKLOG}", seg(&name));
    let lines = match ctx.endpoint.json("GET", &path, None).await {
        Ok(v) => strings(&v["lines"]),
        Err(e) => vec![format!("(cannot read the log: {e})")],
    };
    ctx.send(Update::LogLines {
        name: name.clone(),
        lines,
        reset: true,
    });
    let path = format!("/api/v1/processes/{}/log/follow", seg(&name));
    let sink = ctx.clone();
    let end = ctx
        .endpoint
        .sse(&path, |_, kind, data| {
            // One `lines` event per poll of the log, a `data:` field (joined by "\n") per line.
            if kind == "lines" {
                sink.send(Update::LogLines {
                    name: name.clone(),
                    lines: data.split('\n').map(str::to_string).collect(),
                    reset: false,
                });
            }
            true
        })
        .await;
    if let Err(e) = end {
        ctx.send(Update::LogLines {
            name,
            lines: vec![format!("(the log stream ended: {e})")],
            reset: false,
        });
    }
}

/// A row from one entry of `GET /api/v1/processes`.
pub(crate) fn proc_from_json(p: &Value, now: i64) -> Proc {
    let mut row = Proc::new(
        p["name"].as_str().unwrap_or(""),
        p["group"].as_str().unwrap_or(""),
        p["state"].as_str().unwrap_or("UNKNOWN"),
    );
    row.pid = p["pid"].as_i64().map(|v| v as i32);
    row.started_at = p["uptime_s"].as_i64().map(|u| now - u);
    row.restarts = p["restarts"].as_u64().map(|v| v as u32);
    row.health = p["health"]["status"].as_str().map(str::to_string);
    // A stop's status is the stop signal's doing; only an exit on its own tells something.
    if matches!(row.state.as_str(), "EXITED" | "BACKOFF" | "FATAL") {
        row.exit_status = p["exit_status"].as_i64().map(|v| v as i32);
    }
    row.description = p["description"].as_str().unwrap_or("").into();
    row
}

fn cron_from_json(j: &Value) -> CronJob {
    CronJob {
        name: j["name"].as_str().unwrap_or("").into(),
        schedule: j["schedule"].as_str().unwrap_or("").into(),
        schedule_words: j["schedule_words"].as_str().unwrap_or("").into(),
        enabled: j["enabled"].as_bool().unwrap_or(true),
        running: j["running"].as_bool().unwrap_or(false),
        next_run: j["next_runs"][0].as_str().and_then(parse_time),
        last_result: j["last_run"]["result"].as_str().map(str::to_string),
    }
}

fn detail_fields(v: &Value) -> Vec<(String, String)> {
    let text = |v: &Value| match v {
        Value::Null => "-".to_string(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    let mut out = Vec::new();
    for key in [
        "name",
        "state",
        "description",
        "pid",
        "started_at",
        "restarts",
        "exit_status",
        "cpu_percent",
        "rss_bytes",
        "command",
        "directory",
        "user",
    ] {
        out.push((key.to_string(), text(&v[key])));
    }
    if let Some(h) = v["health"].as_object() {
        out.push((
            "health".into(),
            format!(
                "{} {}",
                h.get("status").map(text).unwrap_or_default(),
                h.get("message").map(text).unwrap_or_default()
            ),
        ));
    }
    for key in [
        "autostart",
        "autorestart",
        "stdout_logfile",
        "stderr_logfile",
        "defined_at",
    ] {
        out.push((key.to_string(), text(&v["config"][key])));
    }
    out
}

fn run_lines(v: &Value) -> Vec<String> {
    v["runs"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|r| {
                    let result = if r["skipped"].is_string() {
                        format!("skipped ({})", text_of(&r["skipped"]))
                    } else if r["error"].is_string() {
                        format!("error: {}", text_of(&r["error"]))
                    } else if r["timed_out"].as_bool() == Some(true) {
                        "timed out".into()
                    } else {
                        match r["exit_status"].as_i64() {
                            Some(0) => "ok".into(),
                            Some(n) => format!("exit {n}"),
                            None => "running".into(),
                        }
                    };
                    let dur = r["duration_s"]
                        .as_f64()
                        .map(|d| format!("{d:.1}s"))
                        .unwrap_or_else(|| "-".into());
                    let started = r["started_at"]
                        .as_str()
                        .and_then(|t| t.parse::<jiff::Timestamp>().ok())
                        .map(|t| t.strftime("%Y-%m-%d %H:%M:%S").to_string())
                        .unwrap_or_else(|| text_of(&r["started_at"]));
                    format!(
                        "{started}  {:<8} {:>7}  {result}",
                        text_of(&r["trigger"]),
                        dur
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

fn text_of(v: &Value) -> String {
    v.as_str()
        .map(str::to_string)
        .unwrap_or_else(|| v.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_from_the_api() {
        let p = json!({"name":"worker:worker_00","group":"worker","process":"worker_00",
            "state":"RUNNING","pid":42,"uptime_s":73,"exit_status":null,"restarts":2,
            "health":{"status":"healthy"}});
        let row = proc_from_json(&p, 1000);
        assert_eq!(row.name, "worker:worker_00");
        assert_eq!(row.pid, Some(42));
        assert_eq!(row.started_at, Some(927));
        assert_eq!(row.restarts, Some(2));
        assert_eq!(row.health.as_deref(), Some("healthy"));
        assert_eq!(seg("a b/c:d"), "a%20b%2Fc:d");
    }
}
