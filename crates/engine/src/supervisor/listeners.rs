//! Event-listener pools (`[eventlistener:x]`) and supervisord's listener protocol.
//!
//! Every event the loop emits is offered to each pool whose `events=` subscribe to it (or to
//! a parent type). A pool buffers accepted events (at most `buffer_size`, dropping the
//! oldest with an ERROR line) and hands the oldest to the first of its processes that is
//! RUNNING and READY, as an envelope `ver:3.0 server:… serial:… pool:… poolserial:…
//! eventname:… len:N\n<payload>` on the listener's stdin (`len` counts characters, as the
//! Python reference does). The listener's stdout is parsed here: `READY\n` moves it from
//! ACKNOWLEDGED to READY, `RESULT n\n<n bytes>` answers the event in flight (`OK` accepts,
//! anything else rejects and rebuffers it at the head). Any protocol violation puts the
//! listener in UNKNOWN until it restarts; a listener that dies while BUSY gets its event
//! rebuffered. Acknowledged events are never sent again.

use std::collections::VecDeque;

use super::*;
use crate::events::is_subtype;
use crate::state::ListenerState;

/// One event as queued in a pool.
#[derive(Debug, Clone)]
pub(super) struct PoolEvent {
    event: Arc<Event>,
    serial: u64,
    pool_serial: u64,
}

pub(super) struct Pool {
    name: Arc<str>,
    subscriptions: Vec<String>,
    buffer_size: usize,
    buffer: VecDeque<PoolEvent>,
    next_serial: u64,
}

/// Per-process protocol state of a listener.
#[derive(Debug)]
pub(super) struct ListenerProto {
    pub(super) state: ListenerState,
    buf: Vec<u8>,
    resultlen: Option<usize>,
    result: Vec<u8>,
    in_flight: Option<PoolEvent>,
}

impl ListenerProto {
    pub(super) fn new() -> ListenerProto {
        ListenerProto {
            state: ListenerState::Acknowledged,
            buf: Vec::new(),
            resultlen: None,
            result: Vec::new(),
            in_flight: None,
        }
    }
}

/// What parsing a listener's output decided.
enum Outcome {
    Accepted(PoolEvent),
    Rejected(PoolEvent),
}

impl Engine {
    pub(super) fn pool_add(&mut self, group: &GroupConfig) {
        let steward_config::GroupKind::EventListener {
            events,
            buffer_size,
            ..
        } = &group.kind
        else {
            return;
        };
        self.pools.push(Pool {
            name: group.name.as_str().into(),
            subscriptions: events.clone(),
            buffer_size: (*buffer_size).max(1),
            buffer: VecDeque::new(),
            next_serial: 0,
        });
    }

    pub(super) fn pool_remove(&mut self, name: &str) {
        self.pools.retain(|p| &*p.name != name);
    }

    /// Offers an emitted event to every subscribed pool.
    pub(super) fn pools_accept(&mut self, event: &Arc<Event>) {
        if self.pools.is_empty() {
            return;
        }
        let name = event.name();
        let mut serial: Option<u64> = None;
        for pi in 0..self.pools.len() {
            let subscribed = self.pools[pi]
                .subscriptions
                .iter()
                .any(|s| is_subtype(&name, s));
            if !subscribed {
                continue;
            }
            let global = *serial.get_or_insert_with(|| {
                let s = self.event_serial;
                self.event_serial += 1;
                s
            });
            let pool = &mut self.pools[pi];
            let pool_serial = pool.next_serial;
            pool.next_serial += 1;
            let ev = PoolEvent {
                event: event.clone(),
                serial: global,
                pool_serial,
            };
            self.pool_push(pi, ev, false);
        }
    }

    fn pool_push(&mut self, pi: usize, ev: PoolEvent, head: bool) {
        let pool = &mut self.pools[pi];
        if pool.buffer.len() >= pool.buffer_size {
            if let Some(discarded) = pool.buffer.pop_front() {
                let msg = format!(
                    "pool {} event buffer overflowed, discarding event {}",
                    pool.name, discarded.serial
                );
                self.log.log(LogLevel::Error, &msg);
            }
        }
        let pool = &mut self.pools[pi];
        if head {
            pool.buffer.push_front(ev);
        } else {
            pool.buffer.push_back(ev);
        }
        self.pools_dirty = true;
    }

    fn rebuffer(&mut self, pool: &str, ev: PoolEvent) {
        if let Some(pi) = self.pools.iter().position(|p| &*p.name == pool) {
            self.log.log(
                LogLevel::Debug,
                &format!("rebuffering event {} for pool {pool}", ev.serial),
            );
            self.pool_push(pi, ev, true);
        }
    }

    /// Hands buffered events to READY listeners.
    pub(super) fn pools_dispatch(&mut self) {
        if !self.pools_dirty {
            return;
        }
        self.pools_dirty = false;
        let identifier = self.config.supervisord.identifier.clone();
        for pi in 0..self.pools.len() {
            let pool_name = self.pools[pi].name.clone();
            let Some(gi) = self.groups.iter().position(|g| *g.cfg.name == *pool_name) else {
                continue;
            };
            while let Some(ev) = self.pools[pi].buffer.pop_front() {
                let target = self.groups[gi].procs.iter().position(|p| {
                    p.state == ProcessState::Running
                        && p.listener
                            .as_ref()
                            .is_some_and(|l| l.state == ListenerState::Ready)
                        && p.stdin.is_some()
                });
                let Some(proc_index) = target else {
                    self.pools[pi].buffer.push_front(ev);
                    break;
                };
                let payload = ev.event.payload();
                let envelope = format!(
                    "ver:3.0 server:{identifier} serial:{} pool:{pool_name} poolserial:{} eventname:{} len:{}\n{payload}",
                    ev.serial,
                    ev.pool_serial,
                    ev.event.name(),
                    payload.chars().count()
                );
                let p = &mut self.groups[gi].procs[proc_index];
                let stdin = p.stdin_writer().expect("checked");
                if let Some(l) = p.listener.as_mut() {
                    l.state = ListenerState::Busy;
                    l.in_flight = Some(ev.clone());
                }
                let serial = ev.serial;
                let name = p.key.name.clone();
                self.log.log(
                    LogLevel::Debug,
                    &format!("event {serial} sent to listener {name}"),
                );
                let log = self.log.clone();
                tokio::spawn(async move {
                    let mut w = stdin.lock().await;
                    if let Err(e) = w.write_all(envelope.as_bytes()).await {
                        log.log(
                            LogLevel::Debug,
                            &format!("error sending event {serial} to listener {name}: {e}"),
                        );
                    }
                });
            }
        }
    }

    /// Protocol bytes from a listener's stdout.
    pub(super) fn listener_output(&mut self, key: &ProcKey, pid: i32, data: &[u8]) {
        let Some((gi, pi)) = self.find(key) else {
            return;
        };
        if self.groups[gi].procs[pi].pid != pid {
            return;
        }
        let pool = self.groups[gi].cfg.name.clone();
        let name = key.name.clone();
        let mut outcomes = Vec::new();
        let mut warnings = Vec::new();
        {
            let Some(l) = self.groups[gi].procs[pi].listener.as_mut() else {
                return;
            };
            l.buf.extend_from_slice(data);
            parse_protocol(l, &name, &mut outcomes, &mut warnings);
        }
        for w in warnings {
            self.warn(&w);
        }
        for o in outcomes {
            match o {
                Outcome::Accepted(ev) => {
                    self.log.log(
                        LogLevel::Debug,
                        &format!("{name}: event {} was processed", ev.serial),
                    );
                }
                Outcome::Rejected(ev) => self.rebuffer(&pool, ev),
            }
        }
        self.pools_dirty = true;
    }

    /// A listener process was reaped: an event in flight goes back to its pool.
    pub(super) fn listener_exited(&mut self, gi: usize, pi: usize) {
        let pool = self.groups[gi].cfg.name.clone();
        let Some(l) = self.groups[gi].procs[pi].listener.as_mut() else {
            return;
        };
        let in_flight = l.in_flight.take();
        **l = ListenerProto::new();
        if let Some(ev) = in_flight {
            self.rebuffer(&pool, ev);
        }
    }
}

const READY: &[u8] = b"READY\n";

/// supervisord's `handle_listener_state_change`, as a loop.
fn parse_protocol(
    l: &mut ListenerProto,
    name: &str,
    outcomes: &mut Vec<Outcome>,
    warnings: &mut Vec<String>,
) {
    loop {
        if l.buf.is_empty() {
            return;
        }
        match l.state {
            ListenerState::Unknown => {
                l.buf.clear();
                return;
            }
            ListenerState::Acknowledged => {
                if l.buf.len() < READY.len() {
                    return;
                }
                if l.buf.starts_with(READY) {
                    l.state = ListenerState::Ready;
                    l.buf.drain(..READY.len());
                } else {
                    warnings.push(format!(
                        "{name}: has entered the UNKNOWN state and will no longer receive events, this usually indicates the process violated the eventlistener protocol"
                    ));
                    l.state = ListenerState::Unknown;
                    l.buf.clear();
                }
            }
            ListenerState::Ready => {
                warnings.push(format!(
                    "{name}: has entered the UNKNOWN state and will no longer receive events, this usually indicates the process violated the eventlistener protocol"
                ));
                l.state = ListenerState::Unknown;
                l.buf.clear();
                return;
            }
            ListenerState::Busy => match l.resultlen {
                None => {
                    let Some(pos) = l.buf.iter().position(|&b| b == b'\n') else {
                        return;
                    };
                    let line: Vec<u8> = l.buf.drain(..=pos).collect();
                    let line = &line[..line.len() - 1];
                    let len_text = if line.len() > 7 { &line[7..] } else { &[][..] };
                    match std::str::from_utf8(len_text)
                        .ok()
                        .and_then(|t| t.trim().parse::<usize>().ok())
                    {
                        Some(n) => {
                            l.resultlen = Some(n);
                            l.result.clear();
                        }
                        None => {
                            warnings.push(format!(
                                "{name}: bad result line: '{}'",
                                String::from_utf8_lossy(line)
                            ));
                            l.state = ListenerState::Unknown;
                            l.buf.clear();
                            if let Some(ev) = l.in_flight.take() {
                                outcomes.push(Outcome::Rejected(ev));
                            }
                            return;
                        }
                    }
                }
                Some(n) => {
                    let needed = n - l.result.len();
                    let take = needed.min(l.buf.len());
                    l.result.extend(l.buf.drain(..take));
                    if l.result.len() == n {
                        let ev = l.in_flight.take();
                        l.state = ListenerState::Acknowledged;
                        l.resultlen = None;
                        let ok = l.result == b"OK";
                        l.result.clear();
                        if let Some(ev) = ev {
                            if ok {
                                outcomes.push(Outcome::Accepted(ev));
                            } else {
                                warnings.push(format!("{name}: event was rejected"));
                                outcomes.push(Outcome::Rejected(ev));
                            }
                        }
                    } else {
                        return;
                    }
                }
            },
        }
    }
}

/// What one replay of a listener's output through the protocol parser ended with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProtocolReplay {
    /// The listener's state after the last chunk.
    pub state: ListenerState,
    /// Events the listener answered `OK` to, and those it rejected (or lost to a
    /// protocol violation), in order; each event is the serial it was sent with.
    pub accepted: Vec<u64>,
    pub rejected: Vec<u64>,
    /// The warnings the daemon would have logged.
    pub warnings: Vec<String>,
}

/// Feeds `chunks` of a listener's stdout, one read at a time, through the same parser the
/// daemon uses; whenever the listener becomes READY it is sent the next event (serials
/// 1, 2, …), as a pool with an endless buffer would. For the fuzz target and tests: the
/// parser must never panic, and its buffers never hold more than the bytes fed to it.
pub fn replay_listener_output(chunks: &[&[u8]]) -> ProtocolReplay {
    let mut l = ListenerProto::new();
    let mut replay = ProtocolReplay {
        state: l.state,
        accepted: Vec::new(),
        rejected: Vec::new(),
        warnings: Vec::new(),
    };
    let mut serial = 0;
    let mut fed = 0usize;
    for chunk in chunks {
        fed += chunk.len();
        l.buf.extend_from_slice(chunk);
        let mut outcomes = Vec::new();
        parse_protocol(&mut l, "listener", &mut outcomes, &mut replay.warnings);
        for o in outcomes {
            match o {
                Outcome::Accepted(ev) => replay.accepted.push(ev.serial),
                Outcome::Rejected(ev) => replay.rejected.push(ev.serial),
            }
        }
        if l.state == ListenerState::Ready {
            serial += 1;
            l.state = ListenerState::Busy;
            l.in_flight = Some(PoolEvent {
                event: Arc::new(Event::Tick { period: 5, when: 0 }),
                serial,
                pool_serial: serial,
            });
        }
        assert!(
            l.buf.len() + l.result.len() <= fed,
            "the parser made bytes up"
        );
        if let Some(n) = l.resultlen {
            assert!(l.result.len() < n.max(1), "a result longer than announced");
        }
    }
    replay.state = l.state;
    replay
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replay_follows_the_protocol() {
        let r =
            replay_listener_output(&[b"READY\n", b"RESULT 2\nOK", b"READY\n", b"RESULT 4\nFAIL"]);
        assert_eq!(r.accepted, vec![1]);
        assert_eq!(r.rejected, vec![2]);
        assert_eq!(r.state, ListenerState::Acknowledged);
        // Lines split across reads, the same answers.
        let r = replay_listener_output(&[b"REA", b"DY\n", b"RES", b"ULT 2\nO", b"K"]);
        assert_eq!(
            (r.accepted, r.state),
            (vec![1], ListenerState::Acknowledged)
        );
    }

    #[test]
    fn violations_put_the_listener_in_unknown_and_lose_nothing() {
        let r = replay_listener_output(&[b"READY\n", b"RESULT x\n"]);
        assert_eq!((r.state, r.rejected), (ListenerState::Unknown, vec![1]));
        assert!(r.warnings[0].contains("bad result line"));
        let r = replay_listener_output(&[b"HELLO!\n"]);
        assert_eq!(r.state, ListenerState::Unknown);
        // Bytes after READY in the same read are a violation too (supervisord's rule).
        let r = replay_listener_output(&[b"READY\nREADY\n"]);
        assert_eq!(r.state, ListenerState::Unknown);
        // A huge announced length only waits for more bytes; nothing is allocated for it.
        let r = replay_listener_output(&[b"READY\n", b"RESULT 18446744073709551615\nab"]);
        assert_eq!(r.state, ListenerState::Busy);
    }
}
