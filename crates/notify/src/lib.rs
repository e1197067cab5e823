//! Crash and health notifications: `[notify:name]` sections, delivered as signed webhooks
//! and/or mail.
//!
//! Data flow: [`start`] subscribes one router task to the engine's event bus. For each
//! event, the router asks every notifier whether it wants it: the event type is in its
//! `events` and the group matches its `groups`. If so, it builds a [`Notice`] (JSON, with
//! the process's last log lines read from its log files) and pushes it on that notifier's
//! bounded queue ([`deliver::Queue`], `queue_size` notices, 1,000 by default; the oldest
//! is dropped and counted when it is full). [`NotifyStats`] counts deliveries, retries and
//! drops for `/metrics`. Each notifier has its own delivery task ([`deliver::run`]). It takes one
//! notice, or everything that arrives within `batch_window`, and sends it:
//! - to the webhook: one POST signed in the Standard Webhooks scheme ([`sign`]), retried with
//!   backoff 1-2-4-8-16 s under the same `webhook-id`, each attempt bounded by `timeout`;
//! - to sendmail: one mail, through a child the engine spawns and reaps.
//!
//! Nothing here can slow supervision. The router only reads the broadcast bus (a lagging
//! reader loses events, and they are counted), and every network wait happens in a
//! notifier's own task.

pub mod deliver;
pub mod pings;
pub mod sign;
pub mod transport;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use serde_json::{json, Value};
use steward_config::{NotifyConfig, NotifyEvent};
use steward_engine::events::{CronPhase, Event};
use steward_engine::{EngineHandle, ProcessState, Snapshot};

/// Counters of one notifier, for `/metrics`.
#[derive(Debug, Default)]
pub struct NotifyStats {
    /// Messages delivered (one batch counts once).
    pub sent: AtomicU64,
    /// Messages given up after every retry.
    pub failed: AtomicU64,
    /// Attempts after a failed one (each retry counts once).
    pub retried: AtomicU64,
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
pub fn start(config: &steward_config::Config, engine: EngineHandle, node: String) -> Notifiers {
    let configs = &config.notifiers;
    let mut notifiers = Notifiers {
        list: Vec::new(),
        tasks: Vec::new(),
    };
    let ping_urls = pings::ping_urls(config);
    if configs.is_empty() && ping_urls.is_empty() {
        return notifiers;
    }
    let ping_stats = Arc::new(NotifyStats::default());
    let ping_queue = Arc::new(deliver::Queue::new(1000, ping_stats.clone()));
    if !ping_urls.is_empty() {
        let task = tokio::spawn(pings::run(
            ping_queue.clone(),
            ping_stats.clone(),
            engine.clone(),
        ));
        notifiers.tasks.push(task.abort_handle());
        notifiers.list.push(Notifier {
            name: "ping_url".into(),
            stats: ping_stats,
        });
    }
    let mut targets = Vec::new();
    for cfg in configs {
        let stats = Arc::new(NotifyStats::default());
        let queue = Arc::new(deliver::Queue::new(cfg.queue_size, stats.clone()));
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
                    if let Some(ping) = pings::ping_for(&ping_urls, &event) {
                        ping_queue.push(ping);
                    }
                    if targets.is_empty() {
                        continue;
                    }
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
    if let Event::CronMissed {
        job,
        count,
        first,
        after,
        reason,
    } = event
    {
        return cron_missed_notice(cfg, job, *count, *first, *after, reason, node);
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
            // A cron job's runs are reported by their CRON_FINISHED event.
            if is_cron(snapshot, group) {
                return None;
            }
            let kind = match to {
                ProcessState::Fatal => NotifyEvent::Fatal,
                ProcessState::Backoff => NotifyEvent::Backoff,
                ProcessState::Exited if !expected => NotifyEvent::UnexpectedExit,
                _ => return None,
            };
            (kind, group, process, *pid)
        }
        Event::CronRun { job, rid, phase } if phase.failed() => {
            return cron_notice(cfg, job, rid, phase, node);
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
    // A state change is reported as the process stood at the change, not from the
    // snapshot: by now that may show a restart (exit status cleared), or not show the
    // change yet.
    let (message, exitstatus, term_signal, start, stop) = match event {
        Event::ProcessState { at, .. } => (
            at.spawnerr.clone(),
            at.exitstatus,
            at.term_signal,
            at.start,
            at.stop,
        ),
        Event::ProcessHealth { message, .. } => (
            message.clone(),
            info.and_then(|i| i.exitstatus),
            info.and_then(|i| i.term_signal),
            info.map_or(0.0, |i| i.start),
            info.map_or(0.0, |i| i.stop),
        ),
        _ => unreachable!("filtered above"),
    };
    let signal = term_signal.map(steward_engine::text::signame);
    let uptime = (start > 0.0).then_some((if stop > start { stop } else { now }) - start);
    let restarts = tries.or_else(|| info.and_then(|i| i.health.as_ref().map(|h| h.restarts)));
    let namespec = steward_config::namespec(group, process);
    let what = match kind {
        NotifyEvent::Fatal => "entered FATAL".to_string(),
        NotifyEvent::Backoff => "is in BACKOFF".to_string(),
        NotifyEvent::UnexpectedExit | NotifyEvent::CronFailed | NotifyEvent::CronTimedOut => {
            match (&signal, exitstatus) {
                (Some(sig), _) => format!("exited unexpectedly (terminated by {sig})"),
                (None, Some(s)) => format!("exited unexpectedly (exit status {s})"),
                (None, None) => "exited unexpectedly".to_string(),
            }
        }
        // Built by cron_skip_notice and cron_missed_notice; `kind` never holds them here.
        NotifyEvent::CronSkipped => "skipped a run".to_string(),
        NotifyEvent::CronMissed => "missed a run".to_string(),
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
        "signal": signal,
        "message": message,
        "uptime": uptime,
        "restarts": restarts,
        "time": now,
        // Read at delivery (see `deliver::fill_log_tails`): the last lines may still be
        // in the pipe when the event is published.
        "log_files": info.map(log_files).unwrap_or_default(),
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
    let at = rfc3339(scheduled);
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

fn rfc3339(unix: Option<i64>) -> Option<String> {
    unix.and_then(|t| jiff::Timestamp::from_second(t).ok())
        .map(|t| t.to_string())
}

/// `CRON_MISSED`: fires of a job that ran nowhere, and why.
fn cron_missed_notice(
    cfg: &NotifyConfig,
    job: &str,
    count: u64,
    first: Option<i64>,
    after: Option<i64>,
    reason: &str,
    node: &str,
) -> Option<Notice> {
    if !cfg.events.contains(&NotifyEvent::CronMissed) || !cfg.groups.iter().any(|g| g.matches(job))
    {
        return None;
    }
    let (first, after) = (rfc3339(first), rfc3339(after));
    let which = match (&first, &after) {
        (Some(at), _) if count == 1 => format!("the run scheduled at {at}"),
        (_, Some(after)) => format!("{count} run(s) after {after}"),
        _ => format!("{count} run(s)"),
    };
    Some(json!({
        "type": "CRON_MISSED",
        "text": format!("[{node}] cron job {job} missed {which}: {reason}"),
        "node": node,
        "group": job,
        "process": job,
        "count": count,
        "scheduled": first,
        "after": after,
        "message": reason,
        "time": wall_now(),
    }))
}

/// A failed cron run, as CRON_TIMED_OUT (when it timed out and the notifier wants that)
/// or CRON_FAILED.
fn cron_notice(
    cfg: &NotifyConfig,
    job: &str,
    rid: &str,
    phase: &CronPhase,
    node: &str,
) -> Option<Notice> {
    let CronPhase::Finished {
        exit_status,
        timed_out,
        error,
        output_tail,
        ..
    } = phase
    else {
        return None;
    };
    let kind = [NotifyEvent::CronTimedOut, NotifyEvent::CronFailed]
        .into_iter()
        .filter(|k| *timed_out || *k == NotifyEvent::CronFailed)
        .find(|k| cfg.events.contains(k))?;
    if !cfg.groups.iter().any(|g| g.matches(job)) {
        return None;
    }
    let what = match (kind, exit_status, error) {
        (NotifyEvent::CronTimedOut, _, _) => "timed out".to_string(),
        (_, _, Some(e)) => format!("failed to start ({e})"),
        (_, Some(code), _) => format!("failed (exit status {code})"),
        (_, None, _) => "was killed".to_string(),
    };
    let text = String::from_utf8_lossy(output_tail);
    let mut log_tail: Vec<&str> = text.lines().rev().take(20).collect();
    log_tail.reverse();
    Some(json!({
        "type": if kind == NotifyEvent::CronTimedOut { "CRON_TIMED_OUT" } else { "CRON_FAILED" },
        "text": format!("[{node}] cron job {job} {what}"),
        "node": node,
        "group": job,
        "process": job,
        "rid": rid,
        "exitstatus": exit_status,
        "timed_out": timed_out,
        "message": error,
        "time": wall_now(),
        "log_tail": log_tail,
    }))
}

/// Whether `group` is a `[cron:x]` job (the snapshot carries the section it came from).
fn is_cron(snapshot: &Snapshot, group: &str) -> bool {
    snapshot
        .group(group)
        .next()
        .is_some_and(|p| p.config.defined_at.section.starts_with("cron:"))
}

/// The log files of a process, stderr first (where the reason usually is).
fn log_files(info: &steward_engine::ProcInfo) -> Vec<String> {
    [&info.stderr_logfile, &info.stdout_logfile]
        .into_iter()
        .flatten()
        .map(|p| p.display().to_string())
        .collect()
}

/// The last 20 lines of `files`, in order: the first file's lines first.
pub(crate) fn log_tail(files: &[&str]) -> Vec<String> {
    let mut lines = Vec::new();
    for path in files {
        if let Ok(text) = steward_engine::logs::read_range(std::path::Path::new(path), -8192, 0) {
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
            queue_size: 1000,
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
