//! Crash and health notifications: `[notify:name]` sections, delivered as signed webhooks
//! and/or mail.
//!
//! Data flow: [`start`] subscribes one router task to the engine's event bus. For each
//! event, the router asks every notifier whether it wants it: the event type is in its
//! `events` and the group matches its `groups`. If so, it builds a [`Notice`] (JSON, with
//! the process's last log lines read from its log files) and pushes it on that notifier's
//! bounded queue ([`deliver::Queue`], 1,000 notices; the oldest is dropped and counted when
//! it is full). Each notifier has its own delivery task ([`deliver::run`]). It takes one
//! notice, or everything that arrives within `batch_window`, and sends it:
//! - to the webhook: one POST signed in the Standard Webhooks scheme ([`sign`]), retried with
//!   backoff 1-2-4-8-16 s under the same `webhook-id`, each attempt bounded by `timeout`;
//! - to sendmail: one mail, through a child the engine spawns and reaps.
//!
//! Nothing here can slow supervision. The router only reads the broadcast bus (a lagging
//! reader loses events, and they are counted), and every network wait happens in a
//! notifier's own task.

pub mod deliver;
pub mod sign;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use serde_json::{json, Value};
use steward_config::{NotifyConfig, NotifyEvent};
use steward_engine::events::Event;
use steward_engine::{EngineHandle, ProcessState, Snapshot};

/// Counters of one notifier, for `/metrics`.
#[derive(Debug, Default)]
pub struct NotifyStats {
    /// Messages delivered (one batch counts once).
    pub sent: AtomicU64,
    /// Messages given up after every retry.
    pub failed: AtomicU64,
    /// Notices dropped: the queue was full, or the router lagged behind the bus.
    pub dropped: AtomicU64,
}

/// A running notifier, as the daemon sees it.
pub struct Notifier {
    pub name: String,
    pub stats: Arc<NotifyStats>,
}

/// The notifiers of one engine; dropping it stops their tasks (notices still queued are
/// lost, as a restarting daemon's would be).
pub struct Notifiers {
    pub list: Vec<Notifier>,
    tasks: Vec<tokio::task::AbortHandle>,
}

impl Drop for Notifiers {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

/// One event worth telling someone about, as sent (a JSON object).
pub type Notice = Value;

/// Starts the router and one delivery task per notifier; returns their counters. `node` is
/// the name notices carry (the host name).
pub fn start(configs: &[NotifyConfig], engine: EngineHandle, node: String) -> Notifiers {
    let mut notifiers = Notifiers {
        list: Vec::new(),
        tasks: Vec::new(),
    };
    if configs.is_empty() {
        return notifiers;
    }
    let mut targets = Vec::new();
    for cfg in configs {
        let stats = Arc::new(NotifyStats::default());
        let queue = Arc::new(deliver::Queue::new(1000, stats.clone()));
        let task = tokio::spawn(deliver::run(
            Arc::new(cfg.clone()),
            queue.clone(),
            stats.clone(),
            engine.clone(),
            node.clone(),
        ));
        notifiers.tasks.push(task.abort_handle());
        targets.push((cfg.clone(), queue, stats.clone()));
        notifiers.list.push(Notifier {
            name: cfg.name.clone(),
            stats,
        });
    }
    let mut events = engine.subscribe_events();
    let router = tokio::spawn(async move {
        loop {
            match events.recv().await {
                Ok(event) => {
                    let snapshot = engine.snapshot();
                    for (cfg, queue, _) in &targets {
                        if let Some(notice) = notice_for(cfg, &event, &snapshot, &node) {
                            queue.push(notice);
                        }
                    }
                }
                Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => {
                    for (_, _, stats) in &targets {
                        stats.dropped.fetch_add(n, Ordering::Relaxed);
                    }
                }
                Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
            }
        }
    });
    notifiers.tasks.push(router.abort_handle());
    notifiers
}

/// What `event` means to the notifier `cfg`, or `None` when it does not want it.
pub fn notice_for(
    cfg: &NotifyConfig,
    event: &Event,
    snapshot: &Snapshot,
    node: &str,
) -> Option<Notice> {
    if let Event::CronSkipped {
        job,
        scheduled,
        node: skipped_on,
        reason,
    } = event
    {
        return cron_skip_notice(cfg, job, *scheduled, skipped_on, reason);
    }
    let (kind, group, process, pid) = match event {
        Event::ProcessState {
            to,
            group,
            process,
            pid,
            expected,
            ..
        } => {
            let cron = is_cron(snapshot, group);
            let kind = match to {
                ProcessState::Fatal => NotifyEvent::Fatal,
                ProcessState::Backoff => NotifyEvent::Backoff,
                ProcessState::Exited if !expected && cron => NotifyEvent::CronFailed,
                ProcessState::Exited if !expected => NotifyEvent::UnexpectedExit,
                _ => return None,
            };
            (kind, group, process, *pid)
        }
        Event::ProcessHealth {
            to: "unhealthy",
            group,
            process,
            pid,
            ..
        } => (NotifyEvent::Unhealthy, group, process, *pid),
        _ => return None,
    };
    if !cfg.events.contains(&kind) || !cfg.groups.iter().any(|g| g.matches(group)) {
        return None;
    }
    let info = snapshot.find(group, process);
    let now = wall_now();
    let (from, to, expected, tries) = match event {
        Event::ProcessState {
            from,
            to,
            expected,
            tries,
            ..
        } => (from.name(), to.name(), Some(*expected), Some(*tries)),
        Event::ProcessHealth { from, to, .. } => (*from, *to, None, None),
        _ => unreachable!("filtered above"),
    };
    let message = match event {
        Event::ProcessHealth { message, .. } => message.clone(),
        _ => info.and_then(|i| i.spawnerr.clone()),
    };
    let exitstatus = info.and_then(|i| i.exitstatus);
    let uptime = info
        .filter(|i| i.start > 0.0)
        .map(|i| (if i.stop > i.start { i.stop } else { now }) - i.start);
    let restarts = tries.or_else(|| info.and_then(|i| i.health.as_ref().map(|h| h.restarts)));
    let namespec = steward_config::namespec(group, process);
    let what = match kind {
        NotifyEvent::Fatal => "entered FATAL".to_string(),
        NotifyEvent::Backoff => "is in BACKOFF".to_string(),
        NotifyEvent::UnexpectedExit | NotifyEvent::CronFailed => format!(
            "exited unexpectedly{}",
            exitstatus
                .map(|s| format!(" (exit status {s})"))
                .unwrap_or_default()
        ),
        // Built by cron_skip_notice; `kind` never holds it here.
        NotifyEvent::CronSkipped => "skipped a run".to_string(),
        NotifyEvent::Unhealthy => format!(
            "is unhealthy{}",
            message
                .as_deref()
                .map(|m| format!(" ({m})"))
                .unwrap_or_default()
        ),
    };
    Some(json!({
        "type": event.name(),
        "text": format!("[{node}] {namespec} {what}"),
        "node": node,
        "group": &**group,
        "process": &**process,
        "pid": pid,
        "from_state": from,
        "to_state": to,
        "expected": expected,
        "exitstatus": exitstatus,
        "message": message,
        "uptime": uptime,
        "restarts": restarts,
        "time": now,
        "log_tail": info.map(log_tail).unwrap_or_default(),
    }))
}

/// `CRON_SKIPPED`: a locked cron job's fire that this node did not run, and why.
fn cron_skip_notice(
    cfg: &NotifyConfig,
    job: &str,
    scheduled: Option<i64>,
    node: &str,
    reason: &str,
) -> Option<Notice> {
    if !cfg.events.contains(&NotifyEvent::CronSkipped) || !cfg.groups.iter().any(|g| g.matches(job))
    {
        return None;
    }
    let at = scheduled
        .and_then(|t| jiff::Timestamp::from_second(t).ok())
        .map(|t| t.to_string());
    Some(json!({
        "type": "CRON_SKIPPED",
        "text": format!(
            "[{node}] {job} skipped the run scheduled at {}: {reason}",
            at.as_deref().unwrap_or("?")
        ),
        "node": node,
        "group": job,
        "process": job,
        "scheduled": at,
        "message": reason,
        "time": wall_now(),
    }))
}

/// Whether `group` is a `[cron:x]` job (the snapshot carries the section it came from).
fn is_cron(snapshot: &Snapshot, group: &str) -> bool {
    snapshot
        .group(group)
        .next()
        .is_some_and(|p| p.config.defined_at.section.starts_with("cron:"))
}

/// The last 20 log lines, stderr first (where the reason usually is).
fn log_tail(info: &steward_engine::ProcInfo) -> Vec<String> {
    let mut lines = Vec::new();
    for path in [&info.stderr_logfile, &info.stdout_logfile]
        .into_iter()
        .flatten()
    {
        if let Ok(text) = steward_engine::logs::read_range(path, -8192, 0) {
            let mut tail: Vec<String> = text.lines().rev().take(20).map(str::to_owned).collect();
            tail.reverse();
            lines.extend(tail);
        }
        if lines.len() >= 20 {
            break;
        }
    }
    lines.truncate(20);
    lines
}

fn wall_now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn notifier(events: Vec<NotifyEvent>) -> NotifyConfig {
        NotifyConfig {
            name: "ops".into(),
            webhook: None,
            secret: None,
            email: vec![],
            sendmail: "/usr/sbin/sendmail -t -i".into(),
            events,
            groups: vec![glob::Pattern::new("*").unwrap()],
            batch_window: std::time::Duration::ZERO,
            timeout: std::time::Duration::from_secs(5),
            retries: 0,
        }
    }

    #[test]
    fn a_cron_skip_notifies_only_when_asked_for() {
        let event = Event::CronSkipped {
            job: "invoices".into(),
            scheduled: Some(1_796_308_100),
            node: "web-1".into(),
            reason: "lock-unavailable: lock service redis://r:6379/0 unavailable".into(),
        };
        let snapshot = Snapshot {
            state: steward_engine::SupervisorState::Running,
            processes: vec![],
            groups: Arc::from(Vec::<Arc<str>>::new()),
        };
        let default = notifier(vec![NotifyEvent::Fatal, NotifyEvent::CronFailed]);
        assert!(notice_for(&default, &event, &snapshot, "web-1").is_none());
        let n = notice_for(
            &notifier(vec![NotifyEvent::CronSkipped]),
            &event,
            &snapshot,
            "web-1",
        )
        .unwrap();
        assert_eq!(n["type"], "CRON_SKIPPED");
        assert_eq!(n["node"], "web-1");
        assert_eq!(n["scheduled"], "2026-12-03T14:28:20Z");
        assert_eq!(
            n["text"],
            "[web-1] invoices skipped the run scheduled at 2026-12-03T14:28:20Z: lock-unavailable: lock service redis://r:6379/0 unavailable"
        );
    }
}
