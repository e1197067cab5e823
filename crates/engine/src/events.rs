//! The engine's event bus: every state change, log chunk and tick is published once as an
//! [`Event`] on a broadcast channel, and every consumer (event-listener pools, the web
//! panel, metrics, notifications) subscribes to the same bus.
//!
//! Payload texts follow supervisord 4.3's `events.py` byte for byte, because event
//! listeners such as superlance parse them.

use std::sync::Arc;

use crate::state::ProcessState;

/// What readers of a state change need from the process as it stood at that moment
/// (inline, so the event ring holds no process record or config alive).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StateFacts {
    pub exitstatus: Option<i32>,
    /// The signal that ended the last run.
    pub term_signal: Option<i32>,
    pub spawnerr: Option<String>,
    /// Epoch seconds of the last spawn and the last exit (0 = never).
    pub start: f64,
    pub stop: f64,
}

/// One published event.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    ProcessState {
        to: ProcessState,
        from: ProcessState,
        group: Arc<str>,
        process: Arc<str>,
        pid: i32,
        tries: u32,
        expected: bool,
        /// The process as it stood at this transition. A reader's snapshot may already
        /// show a later state (an autorestarted process is STARTING again, its exit
        /// status cleared), or not yet this one.
        at: StateFacts,
    },
    ProcessLog {
        stderr: bool,
        group: Arc<str>,
        process: Arc<str>,
        pid: i32,
        data: Vec<u8>,
    },
    ProcessCommunication {
        stderr: bool,
        group: Arc<str>,
        process: Arc<str>,
        pid: i32,
        data: Vec<u8>,
    },
    SupervisorRunning,
    SupervisorStopping,
    Tick {
        period: u32,
        when: i64,
    },
    GroupAdded(Arc<str>),
    GroupRemoved(Arc<str>),
    RemoteCommunication {
        kind: String,
        data: String,
    },
    /// Steward: a `[cron:x]` run began (`CRON_STARTED`) or ended (`CRON_FINISHED`). `rid`
    /// is a UUID per run, for pairing the two (Healthchecks.io's run id). Its own root.
    CronRun {
        job: Arc<str>,
        rid: Arc<str>,
        phase: CronPhase,
    },
    /// Steward: a change of health verdict (`PROCESS_HEALTH_UNHEALTHY`…). Not a
    /// subtype of `EVENT`, so supervisord listeners only get it by subscribing by name.
    ProcessHealth {
        group: Arc<str>,
        process: Arc<str>,
        pid: i32,
        from: &'static str,
        to: &'static str,
        message: Option<String>,
    },
    /// Steward: a cron fire this node decided not to run (a cluster claim could not be
    /// made, the job runs on another node…). Published on the bus for metrics and
    /// notifications; not a supervisord type, so no `[eventlistener:x]` receives it.
    CronSkipped {
        job: Arc<str>,
        /// The fire instant, Unix seconds.
        scheduled: Option<i64>,
        node: String,
        reason: String,
    },
    /// Steward: fires of a `[cron:x]` job that did not run anywhere (docs/decisions.md,
    /// "What a missed cron fire is"): `count` fires from `first` on, passed while the
    /// daemon was down or asleep beyond `catchup`, or skipped by the overlap policy.
    /// Not a supervisord type, like [`Event::CronSkipped`].
    CronMissed {
        job: Arc<str>,
        count: u64,
        /// The first missed instant (Unix seconds), when known; a count beyond catch-up
        /// only knows the range, which starts after `after`.
        first: Option<i64>,
        /// Fires after this instant (Unix seconds) were missed (the last one handled).
        after: Option<i64>,
        reason: String,
    },
}

/// Where a cron run is.
#[derive(Debug, Clone, PartialEq)]
pub enum CronPhase {
    Started,
    Finished {
        /// `None` when it never ran (spawn error) or was killed by a signal.
        exit_status: Option<i32>,
        timed_out: bool,
        error: Option<String>,
        /// The end of its output (stdout and stderr as captured for the run history).
        output_tail: Vec<u8>,
        /// The end of its stderr alone; `None` when the job's stderr is redirected into
        /// stdout (`redirect_stderr = true`), so only the combined output exists.
        stderr_tail: Option<Vec<u8>>,
    },
}

impl CronPhase {
    /// A run that did not end with exit status 0.
    pub fn failed(&self) -> bool {
        match self {
            CronPhase::Started => false,
            CronPhase::Finished {
                exit_status,
                timed_out,
                error,
                ..
            } => *timed_out || error.is_some() || *exit_status != Some(0),
        }
    }
}

/// Every concrete and abstract event type name, child → parent, as supervisord defines them.
pub const EVENT_TYPES: &[(&str, Option<&str>)] = &[
    ("EVENT", None),
    ("PROCESS_STATE", Some("EVENT")),
    ("PROCESS_STATE_STOPPED", Some("PROCESS_STATE")),
    ("PROCESS_STATE_EXITED", Some("PROCESS_STATE")),
    ("PROCESS_STATE_STARTING", Some("PROCESS_STATE")),
    ("PROCESS_STATE_STOPPING", Some("PROCESS_STATE")),
    ("PROCESS_STATE_BACKOFF", Some("PROCESS_STATE")),
    ("PROCESS_STATE_FATAL", Some("PROCESS_STATE")),
    ("PROCESS_STATE_RUNNING", Some("PROCESS_STATE")),
    ("PROCESS_STATE_UNKNOWN", Some("PROCESS_STATE")),
    ("REMOTE_COMMUNICATION", Some("EVENT")),
    ("PROCESS_LOG", Some("EVENT")),
    ("PROCESS_LOG_STDOUT", Some("PROCESS_LOG")),
    ("PROCESS_LOG_STDERR", Some("PROCESS_LOG")),
    ("PROCESS_COMMUNICATION", Some("EVENT")),
    (
        "PROCESS_COMMUNICATION_STDOUT",
        Some("PROCESS_COMMUNICATION"),
    ),
    (
        "PROCESS_COMMUNICATION_STDERR",
        Some("PROCESS_COMMUNICATION"),
    ),
    ("SUPERVISOR_STATE_CHANGE", Some("EVENT")),
    (
        "SUPERVISOR_STATE_CHANGE_RUNNING",
        Some("SUPERVISOR_STATE_CHANGE"),
    ),
    (
        "SUPERVISOR_STATE_CHANGE_STOPPING",
        Some("SUPERVISOR_STATE_CHANGE"),
    ),
    ("TICK", Some("EVENT")),
    ("TICK_5", Some("TICK")),
    ("TICK_60", Some("TICK")),
    ("TICK_3600", Some("TICK")),
    ("PROCESS_GROUP", Some("EVENT")),
    ("PROCESS_GROUP_ADDED", Some("PROCESS_GROUP")),
    ("PROCESS_GROUP_REMOVED", Some("PROCESS_GROUP")),
    // Steward's own: separate roots, so a subscription to EVENT does not include them.
    ("CRON", None),
    ("CRON_STARTED", Some("CRON")),
    ("CRON_FINISHED", Some("CRON")),
    ("PROCESS_HEALTH", None),
    ("PROCESS_HEALTH_STARTING", Some("PROCESS_HEALTH")),
    ("PROCESS_HEALTH_HEALTHY", Some("PROCESS_HEALTH")),
    ("PROCESS_HEALTH_UNHEALTHY", Some("PROCESS_HEALTH")),
    ("PROCESS_HEALTH_UNKNOWN", Some("PROCESS_HEALTH")),
];

/// True when an event named `name` is delivered to a subscription to `subscribed`
/// (the type itself or any of its ancestors).
pub fn is_subtype(name: &str, subscribed: &str) -> bool {
    let mut current = Some(name);
    while let Some(n) = current {
        if n.eq_ignore_ascii_case(subscribed) {
            return true;
        }
        current = EVENT_TYPES
            .iter()
            .find(|(t, _)| *t == n)
            .and_then(|(_, parent)| *parent);
    }
    false
}

impl Event {
    /// The event type name (`PROCESS_STATE_RUNNING`, `TICK_5`…).
    pub fn name(&self) -> String {
        match self {
            Event::ProcessState { to, .. } => format!("PROCESS_STATE_{}", to.name()),
            Event::ProcessLog { stderr, .. } => {
                if *stderr {
                    "PROCESS_LOG_STDERR".into()
                } else {
                    "PROCESS_LOG_STDOUT".into()
                }
            }
            Event::ProcessCommunication { stderr, .. } => {
                if *stderr {
                    "PROCESS_COMMUNICATION_STDERR".into()
                } else {
                    "PROCESS_COMMUNICATION_STDOUT".into()
                }
            }
            Event::SupervisorRunning => "SUPERVISOR_STATE_CHANGE_RUNNING".into(),
            Event::SupervisorStopping => "SUPERVISOR_STATE_CHANGE_STOPPING".into(),
            Event::Tick { period, .. } => format!("TICK_{period}"),
            Event::GroupAdded(_) => "PROCESS_GROUP_ADDED".into(),
            Event::GroupRemoved(_) => "PROCESS_GROUP_REMOVED".into(),
            Event::RemoteCommunication { .. } => "REMOTE_COMMUNICATION".into(),
            Event::ProcessHealth { to, .. } => format!("PROCESS_HEALTH_{}", to.to_uppercase()),
            Event::CronSkipped { .. } => "STEWARD_CRON_SKIPPED".into(),
            Event::CronMissed { .. } => "STEWARD_CRON_MISSED".into(),
            Event::CronRun {
                phase: CronPhase::Started,
                ..
            } => "CRON_STARTED".into(),
            Event::CronRun { .. } => "CRON_FINISHED".into(),
        }
    }

    /// The payload exactly as supervisord serialises it.
    pub fn payload(&self) -> String {
        match self {
            Event::ProcessState {
                to,
                from,
                group,
                process,
                pid,
                tries,
                expected,
                ..
            } => {
                let head = format!(
                    "processname:{process} groupname:{group} from_state:{}",
                    from.name()
                );
                match to {
                    ProcessState::Starting | ProcessState::Backoff => {
                        format!("{head} tries:{tries}")
                    }
                    ProcessState::Running | ProcessState::Stopping | ProcessState::Stopped => {
                        format!("{head} pid:{pid}")
                    }
                    ProcessState::Exited => {
                        format!("{head} expected:{} pid:{pid}", u8::from(*expected))
                    }
                    ProcessState::Fatal | ProcessState::Unknown => head,
                }
            }
            Event::ProcessLog {
                stderr,
                group,
                process,
                pid,
                data,
            } => format!(
                "processname:{process} groupname:{group} pid:{pid} channel:{}\n{}",
                if *stderr { "stderr" } else { "stdout" },
                decode_payload(data)
            ),
            Event::ProcessCommunication {
                group,
                process,
                pid,
                data,
                ..
            } => format!(
                "processname:{process} groupname:{group} pid:{pid}\n{}",
                decode_payload(data)
            ),
            Event::SupervisorRunning | Event::SupervisorStopping => String::new(),
            Event::Tick { when, .. } => format!("when:{when}"),
            Event::GroupAdded(g) | Event::GroupRemoved(g) => format!("groupname:{g}\n"),
            Event::RemoteCommunication { kind, data } => format!("type:{kind}\n{data}"),
            Event::CronRun { job, rid, phase } => match phase {
                CronPhase::Started => format!("jobname:{job} rid:{rid}"),
                CronPhase::Finished {
                    exit_status,
                    timed_out,
                    output_tail,
                    ..
                } => format!(
                    "jobname:{job} rid:{rid} exitstatus:{} timed_out:{}\n{}",
                    exit_status.unwrap_or(-1),
                    u8::from(*timed_out),
                    String::from_utf8_lossy(output_tail)
                ),
            },
            Event::ProcessHealth {
                group,
                process,
                pid,
                from,
                message,
                ..
            } => format!(
                "processname:{process} groupname:{group} from_health:{from} pid:{pid}\n{}",
                message.as_deref().unwrap_or("")
            ),
            Event::CronMissed {
                job,
                count,
                first,
                after,
                reason,
            } => format!(
                "processname:{job} groupname:{job} count:{count} first:{} after:{}\n{reason}",
                first.map(|t| t.to_string()).unwrap_or_default(),
                after.map(|t| t.to_string()).unwrap_or_default()
            ),
            Event::CronSkipped {
                job,
                scheduled,
                node,
                reason,
            } => format!(
                "processname:{job} groupname:{job} scheduled:{} node:{node}\n{reason}",
                scheduled.map(|t| t.to_string()).unwrap_or_default()
            ),
        }
    }
}

/// supervisord decodes log data as UTF-8 and, failing that, sends `Undecodable: b'…'`.
fn decode_payload(data: &[u8]) -> String {
    match std::str::from_utf8(data) {
        Ok(s) => s.to_string(),
        Err(_) => {
            // Python's bytes repr: double quotes when the data holds a ' but no ".
            let quote = if data.contains(&b'\'') && !data.contains(&b'"') {
                '"'
            } else {
                '\''
            };
            let mut out = format!("Undecodable: b{quote}");
            for &b in data {
                match b {
                    b'\\' => out.push_str("\\\\"),
                    b'\'' if quote == '\'' => out.push_str("\\'"),
                    b'\n' => out.push_str("\\n"),
                    b'\r' => out.push_str("\\r"),
                    b'\t' => out.push_str("\\t"),
                    0x20..=0x7e => out.push(b as char),
                    _ => out.push_str(&format!("\\x{b:02x}")),
                }
            }
            out.push(quote);
            out
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cron_skips_stay_off_supervisord_listeners() {
        let ev = Event::CronSkipped {
            job: "tick".into(),
            scheduled: Some(1_796_308_100),
            node: "web-1".into(),
            reason: "lock-unavailable: down".into(),
        };
        assert_eq!(ev.name(), "STEWARD_CRON_SKIPPED");
        assert_eq!(
            ev.payload(),
            "processname:tick groupname:tick scheduled:1796308100 node:web-1\nlock-unavailable: down"
        );
        assert!(!is_subtype(&ev.name(), "EVENT"));
    }

    #[test]
    fn payloads_match_reference_formats() {
        let ev = Event::ProcessState {
            to: ProcessState::Exited,
            from: ProcessState::Running,
            group: "g".into(),
            process: "p".into(),
            pid: 12,
            tries: 0,
            expected: false,
            at: StateFacts::default(),
        };
        assert_eq!(ev.name(), "PROCESS_STATE_EXITED");
        assert_eq!(
            ev.payload(),
            "processname:p groupname:g from_state:RUNNING expected:0 pid:12"
        );
        assert_eq!(Event::GroupAdded("g".into()).payload(), "groupname:g\n");
        assert!(is_subtype("PROCESS_STATE_EXITED", "PROCESS_STATE"));
        assert!(is_subtype("TICK_5", "EVENT"));
        assert!(!is_subtype("TICK_5", "PROCESS_STATE"));
        assert!(is_subtype("PROCESS_HEALTH_UNHEALTHY", "PROCESS_HEALTH"));
        assert!(!is_subtype("PROCESS_HEALTH_UNHEALTHY", "EVENT"));
    }

    #[test]
    fn undecodable_data_is_rendered_like_python_bytes_repr() {
        assert_eq!(
            decode_payload(b"a\xff'b\n"),
            "Undecodable: b\"a\\xff'b\\n\""
        );
        assert_eq!(decode_payload(b"\xff'\""), "Undecodable: b'\\xff\\'\"'");
        assert_eq!(decode_payload(b"ok"), "ok");
    }
}
