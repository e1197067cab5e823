//! `/metrics` (and `/api/v1/metrics`): Prometheus text exposition of process state,
//! uptime, restarts, memory and CPU, cron job results, and the daemon's build.
//!
//! The text format is simple enough to write directly (names, `# HELP`/`# TYPE`, label
//! values escaped); a metrics crate would add a registry the daemon does not need, since
//! every figure is read from the snapshot at scrape time.

use std::fmt::Write;
use std::sync::Arc;

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::Extension;
use steward_engine::supervisor::Request;

use crate::access::{self, Principal, Role};
use crate::error::ApiResult;
use crate::processes::{cpu_seconds, now_epoch};
use crate::ApiState;

fn escape(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

fn family(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

pub async fn metrics(
    State(st): State<Arc<ApiState>>,
    Extension(who): Extension<Principal>,
) -> ApiResult<impl IntoResponse> {
    // Anonymous readers of a network listener without credentials get no metrics.
    if who.role == Role::Viewer && who.via == access::Via::Local {
        access::require(&who, Role::Logs)?;
    }
    let snap = st.engine.snapshot();
    let now = now_epoch();
    let mut out = String::with_capacity(256 + snap.processes.len() * 400);
    family(
        &mut out,
        "steward_build_info",
        "gauge",
        "The daemon's version.",
    );
    let _ = writeln!(
        out,
        "steward_build_info{{version=\"{}\"}} 1",
        escape(&st.version)
    );
    family(
        &mut out,
        "steward_process_state",
        "gauge",
        "1 for the state each process is in.",
    );
    for p in &snap.processes {
        let _ = writeln!(
            out,
            "steward_process_state{{group=\"{}\",process=\"{}\",state=\"{}\"}} 1",
            escape(&p.group),
            escape(&p.name),
            p.state.name()
        );
    }
    family(
        &mut out,
        "steward_process_healthy",
        "gauge",
        "1 healthy, 0 unhealthy or starting (processes with a health check).",
    );
    for p in &snap.processes {
        if let Some(h) = &p.health {
            let _ = writeln!(
                out,
                "steward_process_healthy{{group=\"{}\",process=\"{}\",status=\"{}\"}} {}",
                escape(&p.group),
                escape(&p.name),
                h.status.name(),
                u8::from(h.status == steward_engine::supervisor::Health::Healthy)
            );
        }
    }
    family(
        &mut out,
        "steward_process_uptime_seconds",
        "gauge",
        "Seconds since the process was started (0 when not running).",
    );
    family(
        &mut out,
        "steward_process_restarts_total",
        "counter",
        "Spawns after the first one.",
    );
    family(
        &mut out,
        "steward_process_resident_memory_bytes",
        "gauge",
        "Resident set size.",
    );
    family(
        &mut out,
        "steward_process_cpu_seconds_total",
        "counter",
        "User and system CPU time.",
    );
    for p in &snap.processes {
        let labels = format!(
            "group=\"{}\",process=\"{}\"",
            escape(&p.group),
            escape(&p.name)
        );
        let up = if p.state.is_running() && p.start > 0.0 {
            (now - p.start).max(0.0)
        } else {
            0.0
        };
        let _ = writeln!(out, "steward_process_uptime_seconds{{{labels}}} {up:.0}");
        let _ = writeln!(
            out,
            "steward_process_restarts_total{{{labels}}} {}",
            p.spawns.saturating_sub(1)
        );
        if let Some((rss, cpu)) = cpu_seconds(p.pid) {
            let _ = writeln!(
                out,
                "steward_process_resident_memory_bytes{{{labels}}} {rss}"
            );
            let _ = writeln!(
                out,
                "steward_process_cpu_seconds_total{{{labels}}} {cpu:.2}"
            );
        }
    }
    let (tx, rx) = tokio::sync::oneshot::channel();
    let jobs = if st.engine.request(Request::CronList { reply: tx }) {
        rx.await.unwrap_or_default()
    } else {
        Vec::new()
    };
    if !jobs.is_empty() {
        family(
            &mut out,
            "steward_cron_last_run_duration_seconds",
            "gauge",
            "Duration of each job's last finished run.",
        );
        family(
            &mut out,
            "steward_cron_last_run_success",
            "gauge",
            "1 when the last finished run succeeded.",
        );
        family(
            &mut out,
            "steward_cron_last_run_timestamp_seconds",
            "gauge",
            "Start time of the last finished run.",
        );
        for j in &jobs {
            if let Some(last) = &j.last {
                let l = format!("job=\"{}\"", escape(&j.name));
                let _ = writeln!(
                    out,
                    "steward_cron_last_run_duration_seconds{{{l}}} {:.3}",
                    last.duration
                );
                let _ = writeln!(
                    out,
                    "steward_cron_last_run_success{{{l}}} {}",
                    u8::from(last.status == "ok")
                );
                let _ = writeln!(
                    out,
                    "steward_cron_last_run_timestamp_seconds{{{l}}} {}",
                    last.started.as_second()
                );
            }
        }
    }
    if !jobs.is_empty() {
        family(
            &mut out,
            "steward_cron_skipped_total",
            "counter",
            "Fires this node skipped since it started (cluster lock unavailable, running elsewhere).",
        );
        for j in &jobs {
            let _ = writeln!(
                out,
                "steward_cron_skipped_total{{job=\"{}\"}} {}",
                escape(&j.name),
                j.skipped
            );
        }
    }
    if !jobs.is_empty() {
        family(
            &mut out,
            "steward_cron_missed_total",
            "counter",
            "Fires that ran nowhere since the daemon started (down or asleep beyond catchup, overlap).",
        );
        for j in &jobs {
            let _ = writeln!(
                out,
                "steward_cron_missed_total{{job=\"{}\"}} {}",
                escape(&j.name),
                j.missed
            );
        }
    }
    let results = st.events.cron_results();
    if !results.is_empty() {
        family(
            &mut out,
            "steward_cron_runs_total",
            "counter",
            "Finished cron runs since the daemon started, by result (ok, failed, timed_out).",
        );
        for ((job, result), n) in results {
            let _ = writeln!(
                out,
                "steward_cron_runs_total{{job=\"{}\",result=\"{result}\"}} {n}",
                escape(&job)
            );
        }
    }
    let notifiers = st
        .notifier_counters
        .get()
        .map(|read| read())
        .unwrap_or_default();
    if !notifiers.is_empty() {
        family(
            &mut out,
            "steward_notify_deliveries_total",
            "counter",
            "Notification messages by result: ok (delivered), failed (given up after every retry).",
        );
        for n in &notifiers {
            let l = escape(&n.name);
            let _ = writeln!(
                out,
                "steward_notify_deliveries_total{{notifier=\"{l}\",result=\"ok\"}} {}",
                n.delivered
            );
            let _ = writeln!(
                out,
                "steward_notify_deliveries_total{{notifier=\"{l}\",result=\"failed\"}} {}",
                n.failed
            );
        }
        family(
            &mut out,
            "steward_notify_retries_total",
            "counter",
            "Delivery attempts made after a failed one.",
        );
        for n in &notifiers {
            let _ = writeln!(
                out,
                "steward_notify_retries_total{{notifier=\"{}\"}} {}",
                escape(&n.name),
                n.retried
            );
        }
        family(
            &mut out,
            "steward_notify_dropped_total",
            "counter",
            "Notices dropped because the notifier's queue was full (or its router fell behind).",
        );
        for n in &notifiers {
            let _ = writeln!(
                out,
                "steward_notify_dropped_total{{notifier=\"{}\"}} {}",
                escape(&n.name),
                n.dropped
            );
        }
    }
    family(
        &mut out,
        "steward_events_dropped_total",
        "counter",
        "Engine events the live stream missed because it fell behind.",
    );
    let _ = writeln!(out, "steward_events_dropped_total {}", st.events.lagged());
    Ok((
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        out,
    ))
}
