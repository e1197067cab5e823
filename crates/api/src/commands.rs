//! `[command:x]` routes: the declared one-shot commands, running one (its exit, duration
//! and output in the reply), and the recent runs with who ran them.
//!
//! Only declared commands run: the routes take a name, never a command line. The config
//! they come from is the daemon's last parse (a `reload` or `reread` brings new ones in).
//! Runs are kept in memory (the last [`KEEP_RUNS`] of each command); every run is also an
//! audit record, which survives restarts.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use axum::extract::{Path as UrlPath, State};
use axum::{Extension, Json};
use serde_json::{json, Value};
use steward_config::CommandConfig;
use steward_engine::actions::CommandOutcome;

use crate::access::{self, Connection, Principal, Role};
use crate::error::{ApiError, ApiResult};
use crate::ApiState;

/// Runs kept per command.
pub const KEEP_RUNS: usize = 50;

/// One finished run and who asked for it.
#[derive(Clone)]
pub struct CommandRun {
    pub id: u64,
    pub actor: String,
    pub outcome: CommandOutcome,
}

/// The recent runs of every command.
#[derive(Default)]
pub struct CommandRuns {
    next_id: Mutex<u64>,
    runs: Mutex<HashMap<String, VecDeque<CommandRun>>>,
}

impl CommandRuns {
    fn record(&self, actor: &str, outcome: CommandOutcome) -> CommandRun {
        let id = {
            let mut n = self.next_id.lock().unwrap();
            *n += 1;
            *n
        };
        let run = CommandRun {
            id,
            actor: actor.to_string(),
            outcome,
        };
        let mut runs = self.runs.lock().unwrap();
        let list = runs.entry(run.outcome.name.clone()).or_default();
        if list.len() == KEEP_RUNS {
            list.pop_front();
        }
        list.push_back(run.clone());
        run
    }
}

async fn declared(st: &ApiState) -> Vec<Arc<CommandConfig>> {
    match st.engine.config_info().await {
        Some((cfg, _)) => cfg.commands.iter().cloned().map(Arc::new).collect(),
        None => Vec::new(),
    }
}

fn command_json(c: &CommandConfig) -> Value {
    json!({
        "name": c.name,
        "description": c.description,
        "command": access::redact_url_credentials(&c.command),
        "directory": c.directory.as_ref().map(|d| d.to_string_lossy().into_owned()),
        "user": c.user,
        "timeout_s": c.timeout,
    })
}

fn run_json(r: &CommandRun, with_output: bool) -> Value {
    let o = &r.outcome;
    let mut v = json!({
        "id": r.id,
        "command": o.name,
        "actor": r.actor,
        "started_at": o.started.to_string(),
        "duration_s": o.duration.as_secs_f64(),
        "exit_code": o.exit_code,
        "signal": o.signal,
        "timed_out": o.timed_out,
        "result": if o.exit_code == Some(0) { "ok" } else { "failed" },
        "output_bytes": o.output_bytes,
    });
    if with_output {
        v["output_head"] = Value::String(String::from_utf8_lossy(&o.output_head).into_owned());
        v["output_tail"] = Value::String(String::from_utf8_lossy(&o.output_tail).into_owned());
    }
    v
}

pub async fn list(
    State(st): State<Arc<ApiState>>,
    Extension(who): Extension<Principal>,
) -> ApiResult<Json<Value>> {
    access::require(&who, Role::Viewer)?;
    let list: Vec<Value> = declared(&st)
        .await
        .iter()
        .map(|c| command_json(c))
        .collect();
    Ok(Json(json!({"commands": list})))
}

async fn find(st: &ApiState, name: &str) -> ApiResult<Arc<CommandConfig>> {
    declared(st)
        .await
        .into_iter()
        .find(|c| c.name == name)
        .ok_or_else(|| ApiError::not_found("command", name))
}

pub async fn run(
    State(st): State<Arc<ApiState>>,
    Extension(who): Extension<Principal>,
    Extension(conn): Extension<Connection>,
    UrlPath(name): UrlPath<String>,
) -> ApiResult<Json<Value>> {
    access::require(&who, Role::Operator)?;
    let cfg = find(&st, &name).await?;
    match st.engine.run_command(cfg).await {
        Ok(outcome) => {
            let result = match (outcome.exit_code, &outcome.signal, outcome.timed_out) {
                (_, _, true) => "timed out".to_string(),
                (Some(c), _, _) => format!("exit {c}"),
                (None, Some(s), _) => format!("killed by {s}"),
                (None, None, _) => "ended".to_string(),
            };
            st.audit_raw(&who.name, &conn, "command run", &name, &result);
            let run = st.command_runs.record(&who.name, outcome);
            Ok(Json(run_json(&run, true)))
        }
        Err(e) => {
            let err = ApiError::from_action(&e, &name);
            st.audit(&who, &conn, "command run", &name, Some(err.clone()));
            Err(err)
        }
    }
}

pub async fn runs(
    State(st): State<Arc<ApiState>>,
    Extension(who): Extension<Principal>,
    UrlPath(name): UrlPath<String>,
) -> ApiResult<Json<Value>> {
    access::require(&who, Role::Viewer)?;
    find(&st, &name).await?;
    // Output often holds secrets: only roles that may read logs see it.
    let with_output = who.role.allows(Role::Logs);
    let runs = st.command_runs.runs.lock().unwrap();
    let list: Vec<Value> = runs
        .get(&name)
        .map(|l| l.iter().rev().map(|r| run_json(r, with_output)).collect())
        .unwrap_or_default();
    Ok(Json(json!({"runs": list})))
}
