//! The live stream: every change the engine publishes, numbered, kept in a ring of the
//! last [`RING`] events, and served as Server-Sent Events at `/api/v1/events`.
//!
//! One task subscribes to the engine's event bus (the only source of live updates) and
//! appends each interesting event to the ring under a new id; API code appends its own
//! (reload results). A client that reconnects with `Last-Event-ID: N` gets every event
//! after N that the ring still holds, then the live ones, so nothing is lost across a
//! reconnect of up to [`RING`] events. Clients wait on a `watch` of the newest id: an idle
//! client costs no wake-up until something happens, apart from one comment line of
//! heartbeat every 30 s.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use futures_util::stream::{self, Stream, StreamExt};
use serde_json::{json, Value};
use steward_engine::events::Event;
use steward_engine::EngineHandle;
use tokio::sync::{broadcast, watch};

/// How many events a reconnecting client can catch up on.
pub const RING: usize = 10_000;
/// The interval of the SSE heartbeat comment.
pub const HEARTBEAT: Duration = Duration::from_secs(30);

/// One numbered event, its data kept as the JSON text the stream sends.
///
/// Text, not a `Value`: a `Value` of a process-state event is a B-tree of nine boxed
/// keys and values (≈ 1 KiB on the heap), its text ≈ 200 bytes, and the ring holds up to
/// [`RING`] of them (bench/analysis.md, "Memory at N=1,000").
#[derive(Debug, Clone)]
pub struct Numbered {
    pub id: u64,
    pub kind: &'static str,
    pub data: Box<str>,
}

struct Ring {
    events: VecDeque<Arc<Numbered>>,
    next_id: u64,
    /// Events the engine's bus dropped before this log read them.
    lagged: u64,
    /// Finished cron runs since the daemon started, by (job, result): `ok`, `failed`,
    /// `timed_out`.
    cron_results: std::collections::BTreeMap<(String, &'static str), u64>,
}

/// The ring and the newest id.
#[derive(Clone)]
pub struct EventLog {
    ring: Arc<Mutex<Ring>>,
    newest: watch::Sender<u64>,
}

impl Default for EventLog {
    fn default() -> Self {
        EventLog::new()
    }
}

impl EventLog {
    pub fn new() -> EventLog {
        EventLog {
            ring: Arc::new(Mutex::new(Ring {
                events: VecDeque::new(),
                next_id: 1,
                lagged: 0,
                cron_results: Default::default(),
            })),
            newest: watch::Sender::new(0),
        }
    }

    /// Appends an event; returns its id.
    pub fn push(&self, kind: &'static str, data: Value) -> u64 {
        let data = data.to_string().into_boxed_str();
        let id = {
            let mut ring = self.ring.lock().unwrap();
            let id = ring.next_id;
            ring.next_id += 1;
            if ring.events.len() == RING {
                ring.events.pop_front();
            }
            ring.events.push_back(Arc::new(Numbered { id, kind, data }));
            id
        };
        self.newest.send_replace(id);
        id
    }

    /// The events after `after` still in the ring, oldest first.
    pub fn since(&self, after: u64) -> Vec<Arc<Numbered>> {
        let ring = self.ring.lock().unwrap();
        let first = ring.events.front().map_or(after + 1, |e| e.id);
        let skip = (after + 1).saturating_sub(first) as usize;
        ring.events.iter().skip(skip).cloned().collect()
    }

    /// Finished cron runs by (job, result) since the daemon started.
    pub fn cron_results(&self) -> Vec<((String, &'static str), u64)> {
        let ring = self.ring.lock().unwrap();
        ring.cron_results
            .iter()
            .map(|(k, v)| (k.clone(), *v))
            .collect()
    }

    /// How many engine events were dropped because this log fell behind the bus.
    pub fn lagged(&self) -> u64 {
        self.ring.lock().unwrap().lagged
    }

    /// Feeds the log from the engine's bus until the engine goes away.
    pub fn follow(&self, engine: &EngineHandle) -> tokio::task::JoinHandle<()> {
        self.follow_bus(engine.subscribe_events())
    }

    fn follow_bus(&self, mut rx: broadcast::Receiver<Arc<Event>>) -> tokio::task::JoinHandle<()> {
        let log = self.clone();
        tokio::spawn(async move {
            loop {
                match rx.recv().await {
                    Ok(event) => {
                        if let Event::CronRun {
                            job,
                            phase:
                                phase @ steward_engine::events::CronPhase::Finished { timed_out, .. },
                            ..
                        } = &*event
                        {
                            let result = if *timed_out {
                                "timed_out"
                            } else if phase.failed() {
                                "failed"
                            } else {
                                "ok"
                            };
                            *log.ring
                                .lock()
                                .unwrap()
                                .cron_results
                                .entry((job.to_string(), result))
                                .or_default() += 1;
                        }
                        if let Some((kind, data)) = describe(&event) {
                            log.push(kind, data);
                        }
                    }
                    Err(broadcast::error::RecvError::Lagged(n)) => {
                        log.ring.lock().unwrap().lagged += n;
                        // A burst (1,000 programs starting) outran the engine's bus: tell
                        // every client that it missed changes, so it re-reads the state
                        // instead of showing stale rows.
                        log.push("resync", serde_json::json!({ "missed": n }));
                    }
                    Err(broadcast::error::RecvError::Closed) => break,
                }
            }
        })
    }

    /// The SSE response for a client that last saw `last_seen`.
    pub fn sse(
        &self,
        last_seen: Option<u64>,
    ) -> Sse<impl Stream<Item = Result<SseEvent, Infallible>>> {
        let start = last_seen.unwrap_or_else(|| *self.newest.borrow());
        let log = self.clone();
        let rx = self.newest.subscribe();
        // A comment first, so a client knows the stream is live before any event.
        let hello = stream::once(async { Ok(SseEvent::default().comment("connected")) });
        let stream = stream::unfold(
            (log, rx, start, VecDeque::<Arc<Numbered>>::new()),
            |(log, mut rx, mut seen, mut queue)| async move {
                loop {
                    if let Some(e) = queue.pop_front() {
                        seen = e.id;
                        let event = SseEvent::default()
                            .id(e.id.to_string())
                            .event(e.kind)
                            .data(&*e.data);
                        return Some((Ok(event), (log, rx, seen, queue)));
                    }
                    let fresh = log.since(seen);
                    if !fresh.is_empty() {
                        queue.extend(fresh);
                        continue;
                    }
                    rx.changed().await.ok()?;
                }
            },
        );
        Sse::new(hello.chain(stream))
            .keep_alive(KeepAlive::new().interval(HEARTBEAT).text("heartbeat"))
    }
}

fn now_rfc3339() -> String {
    jiff::Timestamp::now().to_string()
}

/// The JSON form of an engine event, or `None` for events the stream leaves out (ticks,
/// log data: the log follow route serves output).
fn describe(event: &Event) -> Option<(&'static str, Value)> {
    Some(match event {
        Event::ProcessState {
            to,
            from,
            group,
            process,
            pid,
            tries,
            expected,
            ..
        } => (
            "process_state",
            json!({
                "time": now_rfc3339(),
                "name": steward_engine::actions::namespec(group, process),
                "group": &**group,
                "process": &**process,
                "from": from.name(),
                "to": to.name(),
                "pid": pid,
                "tries": tries,
                "expected": expected,
            }),
        ),
        Event::SupervisorRunning => ("daemon", json!({"time": now_rfc3339(), "state": "RUNNING"})),
        Event::SupervisorStopping => (
            "daemon",
            json!({"time": now_rfc3339(), "state": "SHUTDOWN"}),
        ),
        Event::GroupAdded(g) => ("group_added", json!({"time": now_rfc3339(), "group": &**g})),
        Event::GroupRemoved(g) => (
            "group_removed",
            json!({"time": now_rfc3339(), "group": &**g}),
        ),
        Event::RemoteCommunication { kind, data } => (
            "remote_communication",
            json!({"time": now_rfc3339(), "type": kind, "data": data}),
        ),
        Event::ProcessHealth {
            group,
            process,
            pid,
            from,
            to,
            message,
        } => (
            "process_health",
            json!({
                "time": now_rfc3339(),
                "name": steward_engine::actions::namespec(group, process),
                "group": &**group,
                "process": &**process,
                "pid": pid,
                "from": from,
                "to": to,
                "message": message,
            }),
        ),
        Event::CronMissed {
            job,
            count,
            first,
            after,
            reason,
        } => (
            "cron_missed",
            json!({
                "time": now_rfc3339(),
                "job": &**job,
                "count": count,
                "first": first.and_then(|t| jiff::Timestamp::from_second(t).ok()).map(|t| t.to_string()),
                "after": after.and_then(|t| jiff::Timestamp::from_second(t).ok()).map(|t| t.to_string()),
                "reason": reason,
            }),
        ),
        Event::CronSkipped {
            job,
            scheduled,
            node,
            reason,
        } => (
            "cron_skipped",
            json!({
                "time": now_rfc3339(),
                "job": &**job,
                "scheduled": scheduled.and_then(|t| jiff::Timestamp::from_second(t).ok()).map(|t| t.to_string()),
                "node": node,
                "reason": reason,
            }),
        ),
        Event::CronRun { job, rid, phase } => match phase {
            steward_engine::events::CronPhase::Started => (
                "cron_started",
                json!({"time": now_rfc3339(), "job": &**job, "rid": &**rid}),
            ),
            steward_engine::events::CronPhase::Finished {
                exit_status,
                timed_out,
                error,
                ..
            } => (
                "cron_finished",
                json!({
                    "time": now_rfc3339(),
                    "job": &**job,
                    "rid": &**rid,
                    "exitstatus": exit_status,
                    "timed_out": timed_out,
                    "error": error,
                    "failed": phase.failed(),
                }),
            ),
        },
        Event::Tick { .. } | Event::ProcessLog { .. } | Event::ProcessCommunication { .. } => {
            return None
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lagging_bus_becomes_a_resync_event() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(async {
            let (tx, rx) = broadcast::channel(4);
            // Ten events before the log's task first runs: six are lost.
            for i in 0..10 {
                tx.send(Arc::new(Event::GroupAdded(format!("g{i}").into())))
                    .expect("send");
            }
            let log = EventLog::new();
            let task = log.follow_bus(rx);
            drop(tx);
            task.await.expect("task");
            let kinds: Vec<&str> = log.since(0).iter().map(|e| e.kind).collect();
            assert_eq!(kinds[0], "resync", "{kinds:?}");
            assert_eq!(log.lagged(), 6);
            assert_eq!(kinds.len(), 5, "{kinds:?}");
        });
    }

    #[test]
    fn ring_keeps_the_newest_and_resumes_after_an_id() {
        let log = EventLog::new();
        for i in 0..(RING as u64 + 5) {
            log.push("x", json!(i));
        }
        let all = log.since(0);
        assert_eq!(all.len(), RING);
        assert_eq!(all[0].id, 6);
        let tail = log.since(RING as u64 + 2);
        assert_eq!(
            tail.iter().map(|e| e.id).collect::<Vec<_>>(),
            [RING as u64 + 3, RING as u64 + 4, RING as u64 + 5]
        );
        assert!(log.since(RING as u64 + 5).is_empty());
    }
}
