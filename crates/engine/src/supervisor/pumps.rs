//! Log pumps: every child's stdout and stderr, moved into their logs by one task.
//!
//! One epoll set (a `mio::Poll`) holds the read end of every child's output pipe, and one
//! thread of its own blocks on that set. When pipes become readable the thread takes each
//! one's [`PumpState`] out of its slot, reads (or splices) until the pipe is empty or its
//! turn is spent, hands the bytes to the channel log, the output tap, the event listener
//! protocol or the event bus, and puts the state back. At end of file it flushes what the
//! log held back, unregisters the pipe and tells the loop ([`Request::PumpClosed`]).
//!
//! Why not a tokio task per pipe, as before: a task and a tokio I/O registration are each
//! cache-line aligned, about 640 bytes per pipe plus allocator padding, a third of the
//! daemon's heap at 1,000 programs. A pump here is one slot of about 120 bytes, and an idle
//! set costs no wake-ups at all. The registrations are edge-triggered, so a pipe whose
//! turn ended with data left goes on a queue of its own and gets the next turn after
//! the other ready pipes (a child that writes without pause cannot starve the others).
//!
//! Why a thread and not a tokio task waiting on the set's descriptor (as before): a child
//! that writes its output a line at a time wakes the reader once per write or two, and
//! through a nested epoll set every wake-up cost three `epoll_wait`s (tokio's, ours with
//! the events, ours again finding none) and a round through tokio's scheduler. Blocked in
//! the set itself, a wake-up is one `epoll_wait`; and a read or splice that returns less
//! than it asked for has emptied the pipe, so the next edge is awaited without the extra
//! call that would only say `EAGAIN` (unless the writer has hung up: then end of file
//! is read at once). See bench/analysis.md, "line by line".

use std::collections::VecDeque;
use std::io;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use mio::unix::SourceFd;
use mio::{Events, Interest, Poll, Registry, Token, Waker};
use steward_config::LogLevel;
use tokio::sync::mpsc;

use super::{ProcKey, Request};
use crate::history::OutputTap;
use crate::logs::{self, ChannelLog, MainLog};

/// What a log pump needs to know about its channel.
pub(super) struct Pump {
    pub log: Option<Arc<Mutex<ChannelLog>>>,
    pub key: ProcKey,
    pub pid: i32,
    pub stderr: bool,
    /// Forward data to the loop for PROCESS_LOG / PROCESS_COMMUNICATION events.
    pub events: bool,
    pub tap: Option<Arc<Mutex<OutputTap>>>,
    /// An event listener's stdout: the loop parses the protocol.
    pub protocol: bool,
    /// No other channel writes this log file, so bytes may be spliced into it.
    pub exclusive_file: bool,
}

/// Where a pump hands what it read.
struct PumpOutput {
    main_log: Arc<MainLog>,
    key: ProcKey,
    pid: i32,
    stderr: bool,
    /// Forward data to the loop for PROCESS_LOG / PROCESS_COMMUNICATION events.
    events: bool,
    /// Mirror logged bytes into the main log at debug level.
    debug_mirror: bool,
    tx: mpsc::UnboundedSender<Request>,
    /// A write is failing: a failing disk would otherwise log one error per chunk, so
    /// only the first failure and the recovery are reported.
    failing: bool,
    /// Bytes read from the pipe and thrown away since the log became unwritable; written
    /// into the log as a marker line once it takes writes again.
    dropped: u64,
}

/// The line a log gets where output was thrown away because it could not be written.
fn dropped_marker(bytes: u64) -> String {
    format!("\n[steward: {bytes} bytes of output dropped here: the log could not be written]\n")
}

impl PumpOutput {
    /// Before a chunk goes to a log that failed: try the marker line first. It failing
    /// too means the log is still unwritable (the chunk's own write will say so).
    fn before_write(&mut self, log: &mut ChannelLog) {
        if !self.failing {
            return;
        }
        if log
            .feed_quiet(dropped_marker(self.dropped).as_bytes())
            .is_some()
        {
            return;
        }
        self.main_log.log(
            LogLevel::Info,
            &format!(
                "log of {} is writable again ({} bytes of output were dropped)",
                self.key.name, self.dropped
            ),
        );
        self.failing = false;
        self.dropped = 0;
    }

    fn deliver(&mut self, feed: logs::Feed, bytes: usize) {
        if let Some(e) = &feed.error {
            self.dropped += bytes as u64;
            if !self.failing {
                self.failing = true;
                self.main_log.log(
                    LogLevel::Error,
                    &format!(
                        "error writing log of {}: {e} (output is being dropped until it can \
                         be written again)",
                        self.key.name
                    ),
                );
            }
        }
        if self.debug_mirror && !feed.logged.is_empty() {
            self.main_log.log(
                LogLevel::Debug,
                &format!(
                    "'{}' {} output:\n{}",
                    self.key.name,
                    if self.stderr { "stderr" } else { "stdout" },
                    String::from_utf8_lossy(&feed.logged)
                ),
            );
        }
        if self.events && (!feed.logged.is_empty() || !feed.captured.is_empty()) {
            let _ = self.tx.send(Request::Output {
                key: self.key.clone(),
                pid: self.pid,
                stderr: self.stderr,
                logged: feed.logged,
                captured: feed.captured,
            });
        }
    }
}

/// One pipe being read.
struct PumpState {
    pipe: OwnedFd,
    log: Option<Arc<Mutex<ChannelLog>>>,
    tap: Option<Arc<Mutex<OutputTap>>>,
    protocol: bool,
    /// Nobody needs the logged bytes back: write them without copying.
    quiet: bool,
    /// Nothing looks at the bytes at all: move them pipe → file with splice(2).
    splicing: bool,
    tried_enlarging: bool,
    enlarged: bool,
    /// Waiting on the queue of pipes that still had data when their turn ended.
    queued: bool,
    /// Reads or splices per turn.
    budget: usize,
    out: PumpOutput,
}

/// How a pipe's turn ended.
enum Turn {
    /// Read until the pipe was empty: wait for the next edge.
    Drained,
    /// The turn's budget was spent with data left.
    More,
    /// End of file (or a read error): the pump is finished.
    Closed,
}

/// Reads per turn: up to 1 MiB through the scratch buffer, or 4 MiB spliced.
const READS_PER_TURN: usize = 8;
const SPLICES_PER_TURN: usize = 4;
/// One read: supervisord reads up to 128 KiB at a time too.
const READ_SIZE: usize = 128 * 1024;
/// The most one splice moves.
const SPLICE_SIZE: usize = 1 << 20;

impl PumpState {
    /// One turn: reads or splices until the pipe is empty or the budget is spent. `hung_up`:
    /// the writer may have closed its end, so an emptied pipe is read once more to find the
    /// end of file (no further edge would announce it).
    fn turn(&mut self, scratch: &mut Vec<u8>, hung_up: bool) -> Turn {
        let raw = self.pipe.as_raw_fd();
        let mut left = self.budget;
        while left > 0 {
            left -= 1;
            if self.splicing {
                let log = self.log.as_ref().expect("splicing needs a log");
                match log.lock().expect("log lock").splice_from(raw, SPLICE_SIZE) {
                    Ok(0) => return Turn::Closed,
                    Ok(n) => {
                        if n >= FULL_PIPE && !self.tried_enlarging {
                            self.tried_enlarging = true;
                            self.enlarged = enlarge_pipe(raw);
                        }
                        // Less than asked for: the pipe was emptied.
                        if n < SPLICE_SIZE && !hung_up {
                            return Turn::Drained;
                        }
                        continue;
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Turn::Drained,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(e) => {
                        // A full disk or a filesystem without splice: report it and go on
                        // with plain reads (which drop what can't be written).
                        // (The bytes are still in the pipe: nothing dropped yet.)
                        self.out.deliver(
                            logs::Feed {
                                error: Some(e),
                                ..Default::default()
                            },
                            0,
                        );
                        self.splicing = false;
                        self.budget = READS_PER_TURN;
                        continue;
                    }
                }
            }
            if scratch.is_empty() {
                scratch.resize(READ_SIZE, 0);
            }
            // SAFETY: read(2) into a buffer we own, at most its length.
            let n = unsafe { libc::read(raw, scratch.as_mut_ptr().cast(), scratch.len()) };
            if n == 0 {
                return Turn::Closed;
            }
            if n < 0 {
                let e = io::Error::last_os_error();
                match e.kind() {
                    io::ErrorKind::WouldBlock => return Turn::Drained,
                    io::ErrorKind::Interrupted => continue,
                    _ => return Turn::Closed,
                }
            }
            let n = n as usize;
            if n >= FULL_PIPE && !self.tried_enlarging {
                self.tried_enlarging = true;
                self.enlarged = enlarge_pipe(raw);
            }
            self.handle(&scratch[..n]);
            if n < scratch.len() && !hung_up {
                return Turn::Drained;
            }
        }
        Turn::More
    }

    fn handle(&mut self, data: &[u8]) {
        if let Some(tap) = &self.tap {
            let mut tap = tap.lock().expect("tap lock");
            if self.out.stderr {
                tap.push_stderr(data);
            } else {
                tap.push(data);
            }
        }
        if self.protocol {
            let _ = self.out.tx.send(Request::ListenerOutput {
                key: self.out.key.clone(),
                pid: self.out.pid,
                data: data.to_vec(),
            });
            if let Some(log) = &self.log {
                let _ = log.lock().expect("log lock").feed(data);
            }
            return;
        }
        if let Some(log) = &self.log {
            let mut log = log.lock().expect("log lock");
            self.out.before_write(&mut log);
            let feed = if self.quiet {
                logs::Feed {
                    error: log.feed_quiet(data),
                    ..Default::default()
                }
            } else {
                log.feed(data)
            };
            drop(log);
            self.out.deliver(feed, data.len());
        }
    }

    /// The pipe is closed: bytes held back (a partial capture token, a lone ESC) belong
    /// to this run; then the loop learns this channel is complete.
    fn finish(mut self) {
        if let Some(log) = &self.log {
            let mut log = log.lock().expect("log lock");
            let feed = log.finish();
            // Output dropped at the end of a run is still accounted for in its log.
            self.out.before_write(&mut log);
            drop(log);
            if !self.protocol {
                self.out.deliver(feed, 0);
            }
        }
        if self.enlarged {
            release_enlarged_pipe();
        }
        let _ = self.out.tx.send(Request::PumpClosed { pid: self.out.pid });
    }
}

/// The pumps, by slot. A token is the slot index and the slot's generation, so an event
/// for a pipe that was closed in the same batch never reaches the slot's next owner.
#[derive(Default)]
struct Slots {
    entries: Vec<Slot>,
    free: Vec<u32>,
    live: usize,
}

#[derive(Default)]
struct Slot {
    generation: u32,
    /// None while free, or while the pump task is running this pump's turn.
    state: Option<PumpState>,
}

fn token(index: u32, generation: u32) -> Token {
    Token(((generation as usize) << 32) | index as usize)
}

fn untoken(token: Token) -> (usize, u32) {
    (token.0 & 0xffff_ffff, (token.0 >> 32) as u32)
}

impl Slots {
    fn insert(&mut self, state: PumpState) -> Token {
        self.live += 1;
        let index = match self.free.pop() {
            Some(i) => i,
            None => {
                self.entries.push(Slot::default());
                (self.entries.len() - 1) as u32
            }
        };
        let slot = &mut self.entries[index as usize];
        slot.state = Some(state);
        token(index, slot.generation)
    }

    fn take(&mut self, token: Token) -> Option<PumpState> {
        let (index, generation) = untoken(token);
        let slot = self.entries.get_mut(index)?;
        if slot.generation != generation {
            return None;
        }
        slot.state.take()
    }

    fn put_back(&mut self, token: Token, state: PumpState) {
        let (index, _) = untoken(token);
        self.entries[index].state = Some(state);
    }

    /// Frees a slot whose state was taken.
    fn release(&mut self, token: Token) {
        let (index, _) = untoken(token);
        let slot = &mut self.entries[index];
        slot.generation = slot.generation.wrapping_add(1);
        slot.state = None;
        self.free.push(index as u32);
        self.live -= 1;
    }
}

struct Shared {
    registry: Registry,
    slots: Mutex<Slots>,
    /// The engine is gone: the thread ends once the last pipe has closed.
    closing: AtomicBool,
    /// Wakes the thread to look at `closing`.
    waker: Waker,
}

/// The waker's token: no slot ever has this index and generation.
const WAKE: Token = Token(usize::MAX);

impl Shared {
    fn slots(&self) -> std::sync::MutexGuard<'_, Slots> {
        self.slots.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// One pipe's turn. The state is out of its slot meanwhile, so the engine can add
    /// pumps while this one writes its log.
    /// Also says whether the pipe is an event listener's (its reader must not be paced).
    fn run_turn(
        &self,
        token: Token,
        scratch: &mut Vec<u8>,
        requeue: bool,
        hung_up: bool,
    ) -> (Turn, bool) {
        let Some(mut state) = self.slots().take(token) else {
            return (Turn::Closed, false);
        };
        let protocol = state.protocol;
        if state.queued && !requeue {
            // Its turn comes from the queue.
            self.slots().put_back(token, state);
            return (Turn::Drained, protocol);
        }
        let turn = state.turn(scratch, hung_up);
        match turn {
            Turn::Closed => {
                let _ = self
                    .registry
                    .deregister(&mut SourceFd(&state.pipe.as_raw_fd()));
                self.slots().release(token);
                state.finish();
            }
            Turn::More => {
                state.queued = true;
                self.slots().put_back(token, state);
            }
            Turn::Drained => {
                state.queued = false;
                self.slots().put_back(token, state);
            }
        }
        (turn, protocol)
    }
}

/// The engine's handle on the pumps; dropping it lets the thread end after the last pipe.
pub(super) struct PumpSet {
    shared: Arc<Shared>,
}

/// The pump thread's stack: its frames are shallow (a turn, a log write, a rotation).
const PUMP_STACK: usize = 256 * 1024;

impl PumpSet {
    /// Creates the epoll set and starts its thread.
    pub fn start() -> io::Result<PumpSet> {
        let poll = Poll::new()?;
        let registry = poll.registry().try_clone()?;
        let waker = Waker::new(poll.registry(), WAKE)?;
        let shared = Arc::new(Shared {
            registry,
            slots: Mutex::new(Slots::default()),
            closing: AtomicBool::new(false),
            waker,
        });
        let for_thread = shared.clone();
        std::thread::Builder::new()
            .name("steward-pumps".into())
            .stack_size(PUMP_STACK)
            .spawn(move || run(&for_thread, poll))?;
        Ok(PumpSet { shared })
    }

    /// Starts reading `pipe` for `pump`.
    pub fn add(
        &self,
        pipe: OwnedFd,
        pump: Pump,
        main_log: Arc<MainLog>,
        tx: mpsc::UnboundedSender<Request>,
    ) -> io::Result<()> {
        let debug_mirror = main_log.enabled(LogLevel::Debug);
        let quiet = !pump.events && !debug_mirror;
        let splicing = quiet
            && pump.tap.is_none()
            && !pump.protocol
            && pump.exclusive_file
            && pump
                .log
                .as_ref()
                .is_some_and(|l| l.lock().expect("log lock").can_splice());
        self.insert(PumpState {
            pipe,
            log: pump.log,
            tap: pump.tap,
            protocol: pump.protocol,
            quiet,
            splicing,
            tried_enlarging: false,
            enlarged: false,
            queued: false,
            budget: if splicing {
                SPLICES_PER_TURN
            } else {
                READS_PER_TURN
            },
            out: PumpOutput {
                main_log,
                key: pump.key,
                pid: pump.pid,
                stderr: pump.stderr,
                events: pump.events,
                debug_mirror,
                tx,
                failing: false,
                dropped: 0,
            },
        })
    }

    fn insert(&self, state: PumpState) -> io::Result<()> {
        let raw = state.pipe.as_raw_fd();
        set_nonblocking(raw)?;
        let mut slots = self.shared.slots();
        let token = slots.insert(state);
        if let Err(e) =
            self.shared
                .registry
                .register(&mut SourceFd(&raw), token, Interest::READABLE)
        {
            slots.take(token);
            slots.release(token);
            return Err(e);
        }
        Ok(())
    }
}

impl Drop for PumpSet {
    fn drop(&mut self) {
        self.shared.closing.store(true, Ordering::Release);
        let _ = self.shared.waker.wake();
    }
}

/// The pump thread: blocks on the epoll set, runs the ready pipes' turns, then the turns
/// of pipes that had data left (looking for new edges without blocking while any has).
fn run(shared: &Shared, mut poll: Poll) {
    // The runtime thread that started this one asked for a short slice
    // (spawn::favor_latency): a reader that preempts its writer on every line only
    // wakes more often, for fewer bytes each time.
    crate::spawn::default_scheduling();
    let mut events = Events::with_capacity(256);
    let mut queue: VecDeque<Token> = VecDeque::new();
    // Allocated at the first read (spliced logs never need it).
    let mut scratch: Vec<u8> = Vec::new();
    let mut pacer = Pacer::default();
    loop {
        if queue.is_empty() && shared.closing.load(Ordering::Acquire) && shared.slots().live == 0 {
            return;
        }
        let timeout = (!queue.is_empty()).then_some(Duration::ZERO);
        if let Err(e) = poll.poll(&mut events, timeout) {
            if e.kind() != io::ErrorKind::Interrupted {
                return;
            }
            continue;
        }
        let mut interactive = false;
        for event in events.iter() {
            if event.token() == WAKE {
                continue;
            }
            let hung_up = event.is_read_closed() || event.is_error();
            let (turn, protocol) = shared.run_turn(event.token(), &mut scratch, false, hung_up);
            interactive |= protocol;
            if let Turn::More = turn {
                queue.push_back(event.token());
            }
        }
        for _ in 0..queue.len() {
            let token = queue.pop_front().expect("counted");
            if let (Turn::More, _) = shared.run_turn(token, &mut scratch, true, true) {
                queue.push_back(token);
            }
        }
        if queue.is_empty() && !events.is_empty() {
            pacer.after_pass(interactive);
        }
    }
}

/// How long a burst of small writes is left to accumulate in its pipes between two reads.
/// It bounds the latency a log reader (`tail -f`, the API's follow) can see added.
const COALESCE: Duration = Duration::from_millis(1);

/// Paces the thread through bursts of small writes.
///
/// Linux wakes a pipe's waiter on the first write into an empty pipe, so a child writing a
/// line per write(2) wakes a reader that keeps up once per line or two: 100,000 wake-ups
/// for 1,000,000 lines, each costing a sleep, a wake and three system calls, and each write
/// costing the child a wake-up of the reader. When a pass begins less than [`COALESCE`]
/// after the previous one ended, output is arriving faster than one pass per millisecond,
/// so the thread sleeps [`COALESCE`] before it waits again: the writes meanwhile land in a
/// pipe that is not empty (no wake-up, for the writer either) and the next pass moves
/// them in one splice. A lone line (the previous pass long ago) is read at once. A pass
/// that served an event listener's protocol is never paced: the listener waits for its
/// answer.
#[derive(Default)]
struct Pacer {
    previous_end: Option<std::time::Instant>,
}

impl Pacer {
    fn after_pass(&mut self, interactive: bool) {
        if let Some(pause) = self.pause_at(std::time::Instant::now(), interactive) {
            std::thread::sleep(pause);
            self.previous_end = Some(std::time::Instant::now());
        }
    }

    /// The decision, for a pass that ended at `now`: how long to sleep, if at all.
    fn pause_at(&mut self, now: std::time::Instant, interactive: bool) -> Option<Duration> {
        let burst = self
            .previous_end
            .is_some_and(|end| now.duration_since(end) < COALESCE);
        self.previous_end = Some(now);
        (burst && !interactive).then_some(COALESCE)
    }
}

fn set_nonblocking(fd: RawFd) -> io::Result<()> {
    // SAFETY: fcntl on a descriptor the caller owns.
    unsafe {
        let flags = libc::fcntl(fd, libc::F_GETFL);
        if flags < 0 || libc::fcntl(fd, libc::F_SETFL, flags | libc::O_NONBLOCK) < 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}

/// The kernel's default pipe capacity.
const DEFAULT_PIPE_SIZE: usize = 64 * 1024;
/// A read this large found the pipe full: the kernel packs small writes into whole pages
/// only while they fit, so a pipe full of 56-byte lines holds 16 × 4,088 bytes, never the
/// 65,536 of its capacity.
const FULL_PIPE: usize = DEFAULT_PIPE_SIZE - DEFAULT_PIPE_SIZE / 16;
/// Capacity given to the pipe of a child that keeps it full.
const BUSY_PIPE_SIZE: libc::c_int = 1024 * 1024;
/// At most this many pipes are enlarged: pipe buffers count against the user's
/// `pipe-user-pages-soft` quota, past which new pipes shrink to a page or two.
const MAX_ENLARGED_PIPES: usize = 32;
static ENLARGED_PIPES: AtomicUsize = AtomicUsize::new(0);

/// Gives a busy child's output pipe a bigger buffer (fewer wake-ups per MiB), within
/// `MAX_ENLARGED_PIPES` for the whole daemon. True when it took one of those slots (give
/// it back with `release_enlarged_pipe`); a failed fcntl is harmless.
fn enlarge_pipe(fd: RawFd) -> bool {
    if ENLARGED_PIPES.fetch_add(1, Ordering::Relaxed) >= MAX_ENLARGED_PIPES {
        ENLARGED_PIPES.fetch_sub(1, Ordering::Relaxed);
        return false;
    }
    // SAFETY: fcntl on a pipe descriptor we own.
    unsafe {
        libc::fcntl(fd, libc::F_SETPIPE_SZ, BUSY_PIPE_SIZE);
    }
    true
}

/// The enlarged pipe was closed: its share of the quota is free again.
fn release_enlarged_pipe() {
    ENLARGED_PIPES.fetch_sub(1, Ordering::Relaxed);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(pipe: OwnedFd) -> PumpState {
        state_with_channel(pipe, mpsc::unbounded_channel().0)
    }

    fn state_with_channel(pipe: OwnedFd, tx: mpsc::UnboundedSender<Request>) -> PumpState {
        PumpState {
            pipe,
            log: None,
            tap: None,
            protocol: false,
            quiet: true,
            splicing: false,
            tried_enlarging: false,
            enlarged: false,
            queued: false,
            budget: READS_PER_TURN,
            out: PumpOutput {
                main_log: Arc::new(
                    MainLog::new(None, false, 0, 0, LogLevel::Info, false).expect("log"),
                ),
                key: ProcKey {
                    group: "g".into(),
                    name: "p".into(),
                },
                pid: 1,
                stderr: false,
                events: false,
                debug_mirror: false,
                tx,
                failing: false,
                dropped: 0,
            },
        }
    }

    fn pipe() -> OwnedFd {
        let (r, _w) = nix::unistd::pipe().expect("pipe");
        r
    }

    #[test]
    fn only_a_burst_is_paced_and_never_a_listener() {
        let start = std::time::Instant::now();
        let mut pacer = Pacer::default();
        assert_eq!(
            pacer.pause_at(start, false),
            None,
            "a lone pass is not paced"
        );
        let soon = start + COALESCE / 2;
        assert_eq!(pacer.pause_at(soon, false), Some(COALESCE), "a burst is");
        assert_eq!(
            pacer.pause_at(soon + COALESCE / 2 - Duration::from_micros(1), true),
            None
        );
        let later = soon + 10 * COALESCE;
        assert_eq!(pacer.pause_at(later, false), None, "the burst has ended");
    }

    #[test]
    fn a_freed_slot_is_reused_under_a_new_token() {
        let mut slots = Slots::default();
        let first = slots.insert(state(pipe()));
        assert!(slots.take(first).is_some());
        slots.release(first);
        let second = slots.insert(state(pipe()));
        assert_eq!(untoken(first).0, untoken(second).0, "the slot is reused");
        assert_ne!(first, second);
        assert!(slots.take(first).is_none(), "a stale token finds nothing");
        assert!(slots.take(second).is_some());
        assert_eq!(slots.live, 1);
    }

    /// A pipe emptied by a short read waits for the next edge; the writer's hang-up must
    /// still be seen, whether it comes after the last bytes were read or together with them.
    #[test]
    fn end_of_file_is_seen_after_short_reads_and_splices() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(async {
            let dir = tempfile::tempdir().expect("tempdir");
            let set = PumpSet::start().expect("pump set");
            for (round, splicing) in [false, true, false, true].into_iter().enumerate() {
                let path = dir.path().join(format!("log{round}"));
                let log = ChannelLog::open(logs::ChannelLogOptions {
                    path: Some(Arc::from(path.as_path())),
                    ..Default::default()
                })
                .expect("log");
                let (r, w) = nix::unistd::pipe().expect("pipe");
                let (tx, mut rx) = mpsc::unbounded_channel();
                let mut pump = state_with_channel(r, tx);
                pump.log = Some(Arc::new(Mutex::new(log)));
                pump.splicing = splicing;
                pump.budget = if splicing {
                    SPLICES_PER_TURN
                } else {
                    READS_PER_TURN
                };
                set.insert(pump).expect("insert");
                nix::unistd::write(&w, b"first\n").expect("write");
                if round >= 2 {
                    // Bytes and hang-up in one edge.
                    nix::unistd::write(&w, b"last\n").expect("write");
                    drop(w);
                } else {
                    // The first bytes are read (a short read) before the writer leaves.
                    let deadline = std::time::Instant::now() + Duration::from_secs(10);
                    while std::fs::read(&path).expect("read log") != b"first\n" {
                        assert!(std::time::Instant::now() < deadline, "never logged");
                        tokio::time::sleep(Duration::from_millis(1)).await;
                    }
                    nix::unistd::write(&w, b"last\n").expect("write");
                    drop(w);
                }
                let closed = tokio::time::timeout(Duration::from_secs(10), rx.recv()).await;
                assert!(
                    matches!(closed, Ok(Some(Request::PumpClosed { pid: 1 }))),
                    "round {round}: the pump never reached end of file"
                );
                assert_eq!(std::fs::read(&path).expect("read log"), b"first\nlast\n");
            }
            assert_eq!(set.shared.slots().live, 0);
        });
    }

    #[test]
    fn a_pipe_left_with_data_gets_more_turns_without_a_new_edge() {
        // One read per turn and 256 KiB waiting behind a closed writer: the one readiness
        // edge covers the first 128 KiB; the rest, and the end of file, are only reached
        // if the queue gives the pipe its next turns.
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        // The pump thread needs no runtime; the test's receiving end does.
        rt.block_on(async {
            let (r, w) = nix::unistd::pipe().expect("pipe");
            // SAFETY: fcntl on a pipe we own.
            unsafe { libc::fcntl(w.as_raw_fd(), libc::F_SETPIPE_SZ, 1 << 20) };
            let chunk = vec![b'x'; 256 * 1024];
            assert_eq!(nix::unistd::write(&w, &chunk).expect("write"), chunk.len());
            drop(w);
            let (tx, mut rx) = mpsc::unbounded_channel();
            let set = PumpSet::start().expect("pump set");
            let mut pump = state_with_channel(r, tx);
            pump.budget = 1;
            set.insert(pump).expect("insert");
            let closed = tokio::time::timeout(Duration::from_secs(10), rx.recv()).await;
            assert!(
                matches!(closed, Ok(Some(Request::PumpClosed { pid: 1 }))),
                "the pump never reached end of file"
            );
            assert_eq!(set.shared.slots().live, 0);
        });
    }
}
