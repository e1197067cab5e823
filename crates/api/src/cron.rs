//! Cron routes: the jobs with their schedule in words, time zone, next five fire times and
//! last run; run-now (through the job's overlap policy); the paged run history.

use std::sync::Arc;

use axum::extract::{Path as UrlPath, State};
use axum::{Extension, Json};
use serde::Deserialize;
use serde_json::{json, Value};
use steward_engine::history::{RunRecord, Trigger};
use steward_engine::supervisor::Request;
use steward_engine::CronJobInfo;

use crate::access::{self, Connection, Principal, Role};
use crate::error::{count_param, ApiError, ApiResult, JsonQuery};
use crate::ApiState;

async fn jobs(st: &ApiState) -> Vec<CronJobInfo> {
    let (tx, rx) = tokio::sync::oneshot::channel();
    if !st.engine.request(Request::CronList { reply: tx }) {
        return Vec::new();
    }
    rx.await.unwrap_or_default()
}

fn next_runs(job: &CronJobInfo, count: usize) -> Vec<String> {
    if !job.enabled {
        return Vec::new();
    }
    let (Ok(schedule), Ok(tz)) = (
        steward_cron::Schedule::parse(&job.schedule),
        jiff::tz::TimeZone::get(&job.timezone).or_else(|_| {
            if job.timezone.is_empty() || job.timezone == "local" {
                Ok(jiff::tz::TimeZone::system())
            } else {
                Err(())
            }
        }),
    ) else {
        return Vec::new();
    };
    schedule
        .iter_after(jiff::Timestamp::now(), &tz)
        .take(count)
        .map(|z| z.timestamp().to_string())
        .collect()
}

fn job_json(job: &CronJobInfo) -> Value {
    json!({
        "name": job.name,
        "schedule": job.schedule,
        "schedule_words": job.description,
        "timezone": job.timezone,
        "enabled": job.enabled,
        "paused": job.paused,
        "running": job.running,
        "next_runs": next_runs(job, 5),
        "last_run": job.last.as_ref().map(|l| json!({
            "started_at": l.started.to_string(),
            "duration_s": l.duration,
            "result": l.status,
        })),
    })
}

pub async fn list(
    State(st): State<Arc<ApiState>>,
    Extension(who): Extension<Principal>,
) -> ApiResult<Json<Value>> {
    access::require(&who, Role::Viewer)?;
    let list: Vec<Value> = jobs(&st).await.iter().map(job_json).collect();
    Ok(Json(json!({"jobs": list})))
}

async fn find(st: &ApiState, name: &str) -> ApiResult<CronJobInfo> {
    jobs(st)
        .await
        .into_iter()
        .find(|j| j.name == name)
        .ok_or_else(|| ApiError::not_found("cron job", name))
}

pub async fn get_one(
    State(st): State<Arc<ApiState>>,
    Extension(who): Extension<Principal>,
    UrlPath(name): UrlPath<String>,
) -> ApiResult<Json<Value>> {
    access::require(&who, Role::Viewer)?;
    Ok(Json(job_json(&find(&st, &name).await?)))
}

pub async fn act(
    State(st): State<Arc<ApiState>>,
    Extension(who): Extension<Principal>,
    Extension(conn): Extension<Connection>,
    UrlPath((name, action)): UrlPath<(String, String)>,
) -> ApiResult<Json<Value>> {
    access::require(&who, Role::Operator)?;
    find(&st, &name).await?;
    match action.as_str() {
        "run" => {
            let r = st.engine.cron_run_now(&name).await;
            let err = r.as_ref().err().map(|e| ApiError::from_action(e, &name));
            st.audit(&who, &conn, "cron run", &name, err.clone());
            if let Some(e) = err {
                return Err(e);
            }
            Ok(Json(
                json!({"result": "ok", "job": job_json(&find(&st, &name).await?)}),
            ))
        }
        "enable" | "disable" => {
            let r = st.engine.cron_pause(&name, action == "disable").await;
            let err = r.as_ref().err().map(|e| ApiError::from_action(e, &name));
            st.audit(&who, &conn, &format!("cron {action}"), &name, err.clone());
            if let Some(e) = err {
                return Err(e);
            }
            Ok(Json(
                json!({"result": "ok", "job": job_json(&find(&st, &name).await?)}),
            ))
        }
        other => Err(ApiError::new(
            axum::http::StatusCode::NOT_FOUND,
            "NOT_FOUND",
            format!("no action `{other}` (run, enable, disable)"),
        )),
    }
}

#[derive(Deserialize)]
pub struct RunsQuery {
    limit: Option<String>,
    cursor: Option<String>,
}

fn run_json(r: &RunRecord) -> Value {
    json!({
        "id": r.id,
        "scheduled_for": r.scheduled.map(|t| t.to_string()),
        "started_at": r.started.to_string(),
        "ended_at": r.ended.map(|t| t.to_string()),
        "duration_s": r.duration().map(|d| d.as_secs_f64()),
        "exit_status": r.exit_status,
        "trigger": match r.trigger { Trigger::Schedule => "schedule", Trigger::Manual => "manual", Trigger::Catchup => "catchup" },
        "timed_out": r.timed_out,
        "error": r.error,
        "output_head": String::from_utf8_lossy(&r.output_head),
        "output_tail": String::from_utf8_lossy(&r.output_tail),
        "output_bytes": r.output_total,
        // Cluster locks (docs/cluster.md): which node ran the fire, its fence token, and
        // why this node skipped it.
        "node": r.node,
        "fence": r.fence,
        "skipped": r.skipped,
    })
}

/// The history, newest first, `limit` per page; `cursor` is the id of the last run of the
/// previous page (`next_cursor` of its reply).
pub async fn runs(
    State(st): State<Arc<ApiState>>,
    Extension(who): Extension<Principal>,
    UrlPath(name): UrlPath<String>,
    JsonQuery(q): JsonQuery<RunsQuery>,
) -> ApiResult<Json<Value>> {
    access::require(&who, Role::Viewer)?;
    let limit = count_param(q.limit.as_deref(), "limit", 20, 500)?;
    let cursor = match q.cursor.as_deref() {
        None | Some("") => None,
        Some(v) => Some(
            v.parse::<u64>()
                .map_err(|_| ApiError::bad_request("cursor must be a run id"))?,
        ),
    };
    find(&st, &name).await?;
    // The history keeps a bounded number of runs per job; read them all and page here.
    let job = name.clone();
    let records = st
        .engine
        .call(|reply| Request::CronHistory {
            name: job,
            limit: 100_000,
            reply,
        })
        .await
        .map_err(|e| ApiError::from_action(&e, &name))?;
    let page: Vec<&RunRecord> = records
        .iter()
        .filter(|r| cursor.is_none_or(|c| r.id < c))
        .take(limit + 1)
        .collect();
    let more = page.len() > limit;
    let page = &page[..page.len().min(limit)];
    Ok(Json(json!({
        "runs": page.iter().map(|r| run_json(r)).collect::<Vec<_>>(),
        "next_cursor": if more { page.last().map(|r| r.id.to_string()) } else { None },
    })))
}
