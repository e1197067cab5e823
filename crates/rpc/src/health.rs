//! `steward.getHealth`: the dependency and health picture of every process that has
//! `depends_on` or health options, read from the engine's snapshot (no loop round trip).
//!
//! Each entry is a struct: `name`, `group`, `health` (`unknown`, `starting`, `healthy`,
//! `unhealthy`; empty when the process has dependencies only), `failures`, `message`,
//! `since` (epoch seconds of the last health change, 0 when never), `log_ready`,
//! `health_restarts`, `depends_on` (as written, `db:healthy, cache:started`) and
//! `waiting_for` (the dependency an automatic start waits for, empty when none).
//! supervisor.* answers are untouched, so supervisorctl sees what supervisord would show.

use steward_engine::{ProcInfo, Snapshot};

use crate::value::Value;

/// The `steward.getHealth` answer, in getAllProcessInfo order.
pub fn all(snapshot: &Snapshot) -> Value {
    Value::Array(
        snapshot
            .processes
            .iter()
            .filter(|p| p.health.is_some() || !p.config.depends_on.is_empty())
            .map(|p| entry(p))
            .collect(),
    )
}

fn entry(p: &ProcInfo) -> Value {
    let h = p.health.as_deref();
    let judged = p
        .config
        .health
        .as_deref()
        .is_some_and(|c| c.check.is_some() || c.sd_notify);
    let depends_on = p
        .config
        .depends_on
        .iter()
        .map(|d| format!("{}:{}", d.program, d.condition.name()))
        .collect::<Vec<_>>()
        .join(", ");
    Value::Struct(vec![
        ("name".into(), Value::String(p.name.to_string())),
        ("group".into(), Value::String(p.group.to_string())),
        (
            "health".into(),
            Value::String(match h {
                Some(h) if judged => h.status.name().into(),
                _ => String::new(),
            }),
        ),
        (
            "failures".into(),
            Value::Int(h.map_or(0, |h| h.failures.min(i32::MAX as u32) as i32)),
        ),
        (
            "message".into(),
            Value::String(h.and_then(|h| h.message.clone()).unwrap_or_default()),
        ),
        ("since".into(), Value::Double(h.map_or(0.0, |h| h.since))),
        (
            "log_ready".into(),
            Value::Bool(h.is_some_and(|h| h.log_ready)),
        ),
        (
            "health_restarts".into(),
            Value::Int(h.map_or(0, |h| h.restarts.min(i32::MAX as u32) as i32)),
        ),
        ("depends_on".into(), Value::String(depends_on)),
        (
            "waiting_for".into(),
            Value::String(p.waiting_for.as_deref().unwrap_or("").into()),
        ),
    ])
}
