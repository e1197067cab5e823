//! `ping_url` of `[cron:x]` jobs, with Healthchecks.io's semantics: `<url>/start?rid=…`
//! when a run starts, then `<url>/<exit status>?rid=…` when it ends, or `<url>/fail?rid=…`
//! when it timed out, was killed by a signal or never started. The end ping's body is the
//! run's stderr tail (at most 10 KB, what Healthchecks stores; the combined output's tail
//! when `redirect_stderr = true` leaves no stderr of its own). `rid` is the run's UUID
//! from its CRON_STARTED / CRON_FINISHED events, so overlapping runs pair up.
//!
//! Data flow: the router turns each cron event of a job that has a `ping_url` into a
//! [`Ping`] on the pinger's queue. One task sends them in order, each attempt bounded by
//! 5 s and retried like webhooks (1, 2, 4, 8, 16 s), so a start ping is never overtaken
//! by its end ping.

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};
use steward_engine::events::{CronPhase, Event};
use steward_engine::EngineHandle;

use crate::deliver::{with_retries, Queue};
use crate::NotifyStats;

/// Healthchecks keeps the first 10 KB of a ping body.
const BODY_LIMIT: usize = 10_000;

/// The ping an event asks for, as queued: `{"url", "body"}`.
pub type Ping = Value;

/// Job name → its `ping_url` (without a trailing `/`).
pub fn ping_urls(config: &steward_config::Config) -> HashMap<String, String> {
    config
        .groups
        .iter()
        .filter_map(|g| match &g.kind {
            steward_config::GroupKind::Cron(c) => c
                .ping_url
                .as_ref()
                .map(|u| (g.name.clone(), u.trim_end_matches('/').to_string())),
            _ => None,
        })
        .collect()
}

/// The ping for a cron event, if its job has a `ping_url`.
pub fn ping_for(urls: &HashMap<String, String>, event: &Event) -> Option<Ping> {
    let Event::CronRun { job, rid, phase } = event else {
        return None;
    };
    let base = urls.get(&**job)?;
    let (what, body) = match phase {
        CronPhase::Started => ("start".to_string(), Vec::new()),
        CronPhase::Finished {
            exit_status,
            timed_out,
            error,
            output_tail,
            stderr_tail,
        } => {
            let what = match (exit_status, timed_out, error) {
                (Some(code), false, None) => code.to_string(),
                _ => "fail".to_string(),
            };
            // Healthchecks.io shows the body as the run's log: the stderr tail, where the
            // reason for a failure is. With redirect_stderr there is no stderr of its
            // own, and the combined output holds it.
            let mut body = stderr_tail.as_ref().unwrap_or(output_tail).clone();
            if let Some(e) = error {
                body.extend_from_slice(format!("\n{e}\n").as_bytes());
            }
            if body.len() > BODY_LIMIT {
                body.drain(..body.len() - BODY_LIMIT);
            }
            (what, body)
        }
    };
    Some(json!({
        "url": format!("{base}/{what}?rid={rid}"),
        "body": String::from_utf8_lossy(&body),
    }))
}

/// Sends queued pings in order until the daemon exits.
pub async fn run(queue: Arc<Queue>, stats: Arc<NotifyStats>, engine: EngineHandle) {
    loop {
        queue.wait_nonempty().await;
        for ping in queue.take_all() {
            let url = ping["url"].as_str().unwrap_or_default().to_string();
            let body = ping["body"]
                .as_str()
                .unwrap_or_default()
                .as_bytes()
                .to_vec();
            let (url, engine) = (url.as_str(), &engine);
            let sent = with_retries(5, &stats.retried, || {
                let body = body.clone();
                async move {
                    let headers = [("content-type", "text/plain; charset=utf-8".to_string())];
                    crate::transport::send(
                        engine,
                        "POST",
                        url,
                        &headers,
                        body,
                        Duration::from_secs(5),
                    )
                    .await
                    .is_ok_and(|code| (200..300).contains(&code))
                }
            })
            .await;
            let counter = if sent { &stats.sent } else { &stats.failed };
            counter.fetch_add(1, Ordering::Relaxed);
        }
    }
}
