//! A stock supervisord (4.3), through XML-RPC alone: no plugin on the node.
//!
//! Every [`POLL`] the task calls `supervisor.getAllProcessInfo` and sends the list only when
//! it differs from the last one (the UI then has nothing to redraw). A followed log is
//! polled with `tailProcessStdoutLog` from the offset the last call returned. Actions are
//! supervisorctl's calls (`startProcess` … with `wait`), reload is its `reread` + `update`.
//! supervisord has no cron jobs and no `[command:x]`: those ask for Steward.

use std::time::Duration;

use steward_rpc::Value;
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::steward::{LOG_BACKLOG, RESOURCES_EVERY};
use super::{procfs, spawn_actions, xmlrpc_act, xmlrpc_reload, Ctx, Request, SourceError, Update};
use crate::model::Proc;

/// How often state is read.
const POLL: Duration = Duration::from_secs(1);

/// Runs until the daemon stops answering; returns why.
pub(crate) async fn run(ctx: &Ctx, rx: &mut mpsc::UnboundedReceiver<Request>) -> SourceError {
    let mut last: Option<Vec<Proc>> = None;
    let mut sampler = procfs::Sampler::default();
    let local = ctx.endpoint.is_local();
    let mut resources_at = Instant::now();
    let mut follow: Option<(String, i32)> = None;
    let mut tick = tokio::time::interval(POLL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {
                let all = match ctx.endpoint.xmlrpc("supervisor.getAllProcessInfo", &[]).await {
                    Ok(v) => v,
                    Err(e) => return e,
                };
                let list: Vec<Proc> = all.as_array().unwrap_or(&[]).iter().map(proc_from_info).collect();
                if local && Instant::now() >= resources_at {
                    resources_at = Instant::now() + RESOURCES_EVERY;
                    let pids: Vec<i32> = list.iter().filter_map(|p| p.pid).collect();
                    ctx.send(Update::Resources(sampler.sample(&pids)));
                }
                if last.as_ref() != Some(&list) {
                    ctx.send(Update::Processes(list.clone()));
                    last = Some(list);
                }
                if let Some((name, offset)) = &mut follow {
                    poll_log(ctx, name, offset, false).await;
                }
            }
            req = rx.recv() => match req {
                None => return SourceError::Protocol("closed".into()),
                Some(Request::Follow(name)) => {
                    follow = None;
                    if let Some(name) = name {
                        let mut offset = -1;
                        poll_log(ctx, &name, &mut offset, true).await;
                        follow = Some((name, offset));
                    }
                }
                Some(req) => handle(ctx, req),
            },
        }
    }
}

fn handle(ctx: &Ctx, req: Request) {
    let ctx = ctx.clone();
    let unsupported = |what: &str| {
        Update::Message(format!(
            "{what}: supervisord has no {}; Steward does",
            if what.starts_with("run ") {
                "[command:x]"
            } else {
                "cron jobs"
            }
        ))
    };
    match req {
        Request::Act { names, action } => {
            spawn_actions(&ctx, names, action, |ep, name, action| async move {
                xmlrpc_act(&ep, &name, &action).await
            });
        }
        Request::Follow(_) => {}
        Request::Details(name) => {
            tokio::spawn(async move {
                match ctx
                    .endpoint
                    .xmlrpc("supervisor.getProcessInfo", &[name.as_str().into()])
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
        Request::CronRuns(job) | Request::Cron { job, .. } => ctx.send(unsupported(&job)),
        Request::RunCommand(name) => ctx.send(unsupported(&format!("run {name}"))),
        Request::Reload { apply } => {
            tokio::spawn(async move {
                let result = xmlrpc_reload(&ctx.endpoint, apply).await;
                ctx.send(Update::Reload {
                    result: result.map_err(|e| e.to_string()),
                    applied: apply,
                });
            });
        }
    }
}

/// Reads what the log gained since `offset` (`-1`: the last lines, to start a follow).
async fn poll_log(ctx: &Ctx, name: &str, offset: &mut i32, reset: bool) {
    let (from, length) = if *offset < 0 {
        (0, (LOG_BACKLOG * 120) as i32)
    } else {
        (*offset, 1 << 16)
    };
    let r = ctx
        .endpoint
        .xmlrpc(
            "supervisor.tailProcessStdoutLog",
            &[name.into(), Value::Int(from), Value::Int(length)],
        )
        .await;
    let (text, new_offset) = match r {
        Ok(v) => {
            let a = v.as_array().unwrap_or(&[]);
            (
                a.first().and_then(Value::as_str).unwrap_or("").to_string(),
                a.get(1).and_then(Value::as_int).unwrap_or(*offset),
            )
        }
        Err(e) => (format!("(cannot read the log: {e})\n"), *offset),
    };
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    if *offset < 0 && lines.len() > 1 {
        // The first line of a tail usually starts mid-line.
        lines.remove(0);
    }
    *offset = new_offset.max(0);
    if reset || !lines.is_empty() {
        ctx.send(Update::LogLines {
            name: name.into(),
            lines,
            reset,
        });
    }
}

fn text(v: &Value, key: &str) -> String {
    v.get(key)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

fn int(v: &Value, key: &str) -> Option<i32> {
    v.get(key).and_then(Value::as_int)
}

/// A row from one struct of `getAllProcessInfo`.
pub(crate) fn proc_from_info(p: &Value) -> Proc {
    let group = text(p, "group");
    let name = text(p, "name");
    let spec = if group == name {
        name.clone()
    } else {
        format!("{group}:{name}")
    };
    let state = text(p, "statename");
    let mut row = Proc::new(&spec, &group, &state);
    row.pid = int(p, "pid").filter(|&pid| pid > 0);
    let running = matches!(state.as_str(), "RUNNING" | "STARTING" | "STOPPING");
    row.started_at = int(p, "start").filter(|&s| running && s > 0).map(i64::from);
    if matches!(state.as_str(), "EXITED" | "BACKOFF" | "FATAL") {
        row.exit_status = int(p, "exitstatus");
    }
    row.description = text(p, "description");
    row
}

fn detail_fields(v: &Value) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for key in ["name", "group", "statename", "description", "spawnerr"] {
        out.push((key.to_string(), text(v, key)));
    }
    for key in ["pid", "start", "stop", "exitstatus"] {
        out.push((
            key.to_string(),
            int(v, key).map_or("-".into(), |n| n.to_string()),
        ));
    }
    for key in ["stdout_logfile", "stderr_logfile"] {
        out.push((key.to_string(), text(v, key)));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_from_get_all_process_info() {
        let info = Value::Struct(
            [
                ("group", Value::from("web")),
                ("name", Value::from("web_1")),
                ("statename", Value::from("EXITED")),
                ("pid", Value::Int(0)),
                ("start", Value::Int(100)),
                ("exitstatus", Value::Int(3)),
                ("description", Value::from("Dec 03 04:00 PM")),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect(),
        );
        let row = proc_from_info(&info);
        assert_eq!(row.name, "web:web_1");
        assert_eq!(row.pid, None);
        assert_eq!(row.started_at, None, "an exited process has no uptime");
        assert_eq!(row.exit_status, Some(3));
        assert_eq!(row.restarts, None, "supervisord does not count restarts");
    }
}
