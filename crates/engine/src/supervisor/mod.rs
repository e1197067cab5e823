//! The supervisor loop: one tokio task that owns every process record and is the only
//! place where process state changes.
//!
//! Data flow: RPC handlers, signal handlers and log pumps send [`Request`]s over an
//! unbounded channel; the loop applies them, reaps children on SIGCHLD (`waitpid(-1)`, so
//! adopted orphans are reaped too), runs supervisord's `transition()` rules for every
//! process in priority order, arms one timer for the earliest pending deadline (startsecs,
//! backoff, stopwaitsecs) and otherwise sleeps: an idle daemon has no wakeups at all.
//! Each iteration that changed something publishes a fresh [`Snapshot`] on a `watch`
//! channel, which readers (getAllProcessInfo, the status page) use without touching the
//! loop. State changes are also published on the event bus.
//!
//! Timing follows supervisord 4.3 exactly (`now - laststart > startsecs` to be RUNNING,
//! `backoff` seconds of delay before retry n, FATAL when `backoff > startretries`,
//! SIGKILL when `stopwaitsecs` have passed), but it is driven by precise timers instead of
//! a 1-second poll, so transitions happen on time rather than up to a second late.
//!
//! This file holds the loop itself (start, the `select!` pass, deadlines, publishing);
//! its concerns live beside it: `handle` (the requests and the [`EngineHandle`]),
//! `process` (the per-process record), `transitions` (the state machine, spawn and
//! exit), `actions` (answering requests), `reload` (groups coming and going),
//! `shutdown` (the ordered stop), `cron_jobs`, `listeners` and `pumps`.

use std::collections::HashMap;
use std::os::fd::OwnedFd;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use steward_config::{AutoRestart, Config, GroupConfig, LogFile, LogLevel, ProcessConfig};
use tokio::io::AsyncWriteExt;
use tokio::signal::unix::{signal, SignalKind};
use tokio::sync::{broadcast, mpsc, oneshot, watch};

mod actions;
mod commands;
mod cron_jobs;
mod dependencies;
mod handle;
mod health;
mod listeners;
mod process;
mod pumps;
mod reload;
mod sd_notify;
mod shutdown;
mod transitions;
pub use cron_jobs::{CronJobInfo, RunSummary};
use handle::Reply;
pub use handle::{EngineHandle, PendingReply, Request};
pub use health::{Health, HealthInfo, SpawnedCheck, Verdict};
pub use listeners::{replay_listener_output, ProtocolReplay};
use process::{Group, Proc, StdinPipe, Waiter};
use pumps::{Pump, PumpSet};

use crate::events::Event;
use crate::history::{LazyHistory, RunRecord};
use crate::logs::{self, Channel, ChannelLog, ChannelLogOptions, MainLog};
use crate::spawn::{self, CommandError, SpawnContext, SpawnError};
use crate::state::{ProcessState, SupervisorState};
use crate::text::{decode_wait_status, signame};
use crate::walltimer::{WallTimer, WallWake};

/// Why an action on a process was refused; each maps to one supervisord fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ActionError {
    #[error("BAD_NAME")]
    BadName,
    #[error("NO_FILE: {0}")]
    NoFile(String),
    #[error("NOT_EXECUTABLE: {0}")]
    NotExecutable(String),
    #[error("ALREADY_STARTED")]
    AlreadyStarted,
    #[error("NOT_RUNNING")]
    NotRunning,
    #[error("SPAWN_ERROR")]
    SpawnError,
    #[error("ABNORMAL_TERMINATION")]
    AbnormalTermination,
    #[error("FAILED: {0}")]
    Failed(String),
    #[error("SHUTDOWN_STATE")]
    ShutdownState,
    #[error("ALREADY_ADDED")]
    AlreadyAdded,
    #[error("STILL_RUNNING")]
    StillRunning,
    #[error("CANT_REREAD: {0}")]
    CantReread(String),
}

/// A (group, process) pair.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ProcKey {
    pub group: Arc<str>,
    pub name: Arc<str>,
}

/// The read-only picture of one process.
#[derive(Debug, Clone)]
pub struct ProcInfo {
    pub group: Arc<str>,
    pub name: Arc<str>,
    pub group_priority: i32,
    pub state: ProcessState,
    pub pid: i32,
    /// Epoch seconds of the last spawn (0 = never).
    pub start: f64,
    /// Epoch seconds of the last exit (0 = never).
    pub stop: f64,
    pub spawnerr: Option<String>,
    pub exitstatus: Option<i32>,
    /// The signal that ended the last run (`None` when it exited by itself).
    pub term_signal: Option<i32>,
    /// Spawn attempts so far (`spawns - 1` restarts once it has started).
    pub spawns: u32,
    pub stdout_logfile: Option<Arc<std::path::Path>>,
    pub stderr_logfile: Option<Arc<std::path::Path>>,
    pub config: Arc<ProcessConfig>,
    /// Steward: the health verdict, for processes with health or readiness options.
    pub health: Option<Arc<HealthInfo>>,
    /// Steward: the dependency an automatic start waits for (`db:healthy`).
    pub waiting_for: Option<Arc<str>>,
}

/// What readers see without asking the loop.
#[derive(Debug, Clone)]
pub struct Snapshot {
    pub state: SupervisorState,
    /// Sorted by (group, name), as getAllProcessInfo returns them. Shared with the previous
    /// snapshot where a process did not change (publishing is then a pass of pointer copies).
    pub processes: Vec<Arc<ProcInfo>>,
    /// The running groups' names, sorted.
    pub groups: Arc<[Arc<str>]>,
}

impl Snapshot {
    pub fn find(&self, group: &str, name: &str) -> Option<&ProcInfo> {
        self.processes
            .binary_search_by(|p| (&*p.group, &*p.name).cmp(&(group, name)))
            .ok()
            .map(|i| &*self.processes[i])
    }
    pub fn group(&self, group: &str) -> impl Iterator<Item = &ProcInfo> {
        let group = group.to_string();
        self.processes
            .iter()
            .map(|p| &**p)
            .filter(move |p| *p.group == *group)
    }
    pub fn has_group(&self, group: &str) -> bool {
        self.groups.binary_search_by(|g| (**g).cmp(group)).is_ok()
    }
}

/// The diff of a reread: group names, each sorted.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConfigDiff {
    pub added: Vec<String>,
    pub changed: Vec<String>,
    pub removed: Vec<String>,
}

/// How the loop ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitReason {
    Shutdown,
    Restart,
}

/// Everything the engine needs from the daemon around it.
pub struct EngineOptions {
    pub config: Arc<Config>,
    /// Re-parses the configuration from disk (for reloadConfig).
    pub reparse: Box<dyn Fn() -> Result<Config, String> + Send>,
    pub main_log: Arc<MainLog>,
    /// The daemon's environment at start, given to every child.
    pub base_env: Vec<(String, String)>,
    /// True for the daemon's first engine (not a restart): `@reboot` jobs run then.
    pub first_start: bool,
}

struct Engine {
    config: Arc<Config>,
    /// The result of the last reloadConfig (or the start config).
    parsed: Arc<Config>,
    reparse: Box<dyn Fn() -> Result<Config, String> + Send>,
    groups: Vec<Group>,
    pids: HashMap<i32, (usize, usize)>,
    mood: SupervisorState,
    stopping: bool,
    last_shutdown_report: Option<Instant>,
    waiters: Vec<Waiter>,
    log: Arc<MainLog>,
    events: broadcast::Sender<Arc<Event>>,
    snapshot_tx: watch::Sender<Arc<Snapshot>>,
    dirty: bool,
    base_env: spawn::BaseEnv,
    serverurl: Option<String>,
    tx: mpsc::UnboundedSender<Request>,
    exit: Option<ExitReason>,
    jobs: HashMap<Arc<str>, cron_jobs::CronJob>,
    history: Option<LazyHistory>,
    pending_run: Option<cron_jobs::PendingRun>,
    extra_runs: HashMap<i32, (Arc<str>, cron_jobs::CronRun)>,
    first_start: bool,
    pools: Vec<listeners::Pool>,
    pools_dirty: bool,
    event_serial: u64,
    /// TICK_n periods some pool subscribes to, with the last `when` emitted.
    ticks: Vec<(u32, i64)>,
    /// Replies waiting for the next snapshot (see `respond`).
    outbox: Vec<Box<dyn FnOnce() + Send>>,
    /// (group index, process index) in (group, name) order, for the snapshot.
    lexical: Vec<(usize, usize)>,
    /// Log pumps still reading, per child pid (a run's output is complete at zero).
    open_pumps: HashMap<i32, u8>,
    /// Reads every child's output pipes (started with the first child).
    pumps: Option<PumpSet>,
    /// Cron runs whose process exited but whose output is still being read.
    draining: Vec<cron_jobs::Draining>,
    /// How many channels of the running groups write each log file.
    path_uses: HashMap<Arc<std::path::Path>, u32>,
    /// Group name → index in `groups` (rebuilt with `rebuild_pids`).
    group_index: HashMap<Arc<str>, usize>,
    /// True while the start-up groups are being added (indexing is done once after).
    loading: bool,
    loading_crons: Vec<Arc<GroupConfig>>,
    /// The groups' names as last published; emptied whenever a group comes or goes.
    group_names: Arc<[Arc<str>]>,
    /// Which signals children reset, asked once per loop pass that spawns.
    signal_plan: Option<spawn::SignalPlan>,
    /// Some process has an `AUTO` log name without its file (see `create_pending_auto_logs`).
    auto_pending: bool,
    /// This pass's `AUTO` files being made ahead of its spawns, keyed (group, process,
    /// channel); taken up before the pass publishes (see `start_auto_batch`).
    auto_batch: Option<logs::AutoLogBatch<(usize, usize, usize)>>,
    /// Command health probes still running, by pid: `reap` hands them their status.
    check_children: HashMap<i32, oneshot::Sender<i32>>,
    /// Program name → processes, for `depends_on` (`None`: groups changed, rebuild).
    program_index: Option<dependencies::ProgramIndex>,
    /// Counts state changes, so a transition pass knows whether to run again.
    state_changes: u64,
}

fn wall_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

/// The `SUPERVISOR_SERVER_URL` of AUTO: the first UNIX server, else the first inet one.
pub fn auto_serverurl(config: &Config) -> Option<String> {
    if let Some(u) = config.unix_http_servers.first() {
        return Some(format!("unix://{}", u.file.display()));
    }
    config.inet_http_servers.first().map(|i| {
        let host = if i.host.is_empty() || i.host == "*" {
            "localhost"
        } else {
            &i.host
        };
        format!("http://{host}:{}", i.port)
    })
}

/// Starts the loop on the current tokio runtime.
pub fn start(opts: EngineOptions) -> (EngineHandle, tokio::task::JoinHandle<ExitReason>) {
    let (handle, starter) = prepare(opts);
    (handle, starter.spawn())
}

/// The loop, built but not running yet: what subscribes to the event bus between
/// [`prepare`] and [`EngineStarter::spawn`] sees every event, the first spawns' included.
pub struct EngineStarter {
    engine: Engine,
    rx: mpsc::UnboundedReceiver<Request>,
}

impl EngineStarter {
    pub fn spawn(self) -> tokio::task::JoinHandle<ExitReason> {
        let EngineStarter { mut engine, rx } = self;
        tokio::spawn(async move { engine.run(rx).await })
    }
}

/// Builds the loop and its handle without starting it (see [`EngineStarter`]).
pub fn prepare(opts: EngineOptions) -> (EngineHandle, EngineStarter) {
    let (tx, rx) = mpsc::unbounded_channel();
    // Every slot is allocated and written up front (32 bytes each); a subscriber that
    // falls further behind gets `Lagged` and should re-read the snapshot.
    let (events, _) = broadcast::channel(1024);
    // A placeholder until the loop has added every group (see `EngineHandle::loaded`).
    let (snapshot_tx, snapshot_rx) = watch::channel(Arc::new(Snapshot {
        state: SupervisorState::Restarting,
        processes: Vec::new(),
        groups: Arc::new([]),
    }));
    let identifier: Arc<str> = opts.config.supervisord.identifier.as_str().into();
    let handle = EngineHandle {
        tx: tx.clone(),
        snapshot: snapshot_rx,
        events: events.clone(),
        main_log: opts.main_log.clone(),
        identifier,
        pid: std::process::id() as i32,
    };
    let serverurl = auto_serverurl(&opts.config);
    let has_cron = opts
        .config
        .groups
        .iter()
        .any(|g| matches!(g.kind, steward_config::GroupKind::Cron(_)));
    let history = has_cron.then(|| {
        let dir = opts
            .config
            .steward
            .state_dir
            .clone()
            .unwrap_or_else(crate::history::History::default_state_dir);
        LazyHistory::with_retry(&dir, Duration::from_secs(5))
    });
    let engine = Engine {
        parsed: opts.config.clone(),
        config: opts.config,
        reparse: opts.reparse,
        groups: Vec::new(),
        pids: HashMap::new(),
        mood: SupervisorState::Running,
        stopping: false,
        last_shutdown_report: None,
        waiters: Vec::new(),
        log: opts.main_log,
        events,
        snapshot_tx,
        dirty: true,
        base_env: spawn::BaseEnv::new(opts.base_env),
        serverurl,
        tx,
        exit: None,
        jobs: HashMap::new(),
        history,
        pending_run: None,
        extra_runs: HashMap::new(),
        first_start: opts.first_start,
        pools: Vec::new(),
        pools_dirty: false,
        event_serial: 0,
        ticks: Vec::new(),
        outbox: Vec::new(),
        lexical: Vec::new(),
        open_pumps: HashMap::new(),
        pumps: None,
        draining: Vec::new(),
        path_uses: HashMap::new(),
        group_index: HashMap::new(),
        loading: false,
        loading_crons: Vec::new(),
        auto_pending: false,
        auto_batch: None,
        signal_plan: None,
        group_names: Arc::new([]),
        check_children: HashMap::new(),
        program_index: None,
        state_changes: 0,
    };
    (handle, EngineStarter { engine, rx })
}

impl Engine {
    fn info(&self, msg: &str) {
        self.log.log(LogLevel::Info, msg);
    }
    fn warn(&self, msg: &str) {
        self.log.log(LogLevel::Warn, msg);
    }
    fn debug(&self, msg: &str) {
        if self.log.enabled(LogLevel::Debug) {
            self.log.log(LogLevel::Debug, msg);
        }
    }

    async fn run(&mut self, mut rx: mpsc::UnboundedReceiver<Request>) -> ExitReason {
        let mut sigchld = signal(SignalKind::child()).expect("SIGCHLD handler");
        let mut wall = WallTimer::new().ok();
        let mut wall_armed_for: Option<jiff::Timestamp> = None;
        let initial: Vec<Arc<GroupConfig>> = self.config.groups.to_vec();
        self.loading = true;
        for g in initial {
            self.add_group(g);
        }
        self.loading = false;
        self.rebuild_pids();
        self.refresh_ticks();
        for cfg in std::mem::take(&mut self.loading_crons) {
            self.cron_add(&cfg);
        }
        self.emit(Event::SupervisorRunning);
        // Parsing and indexing the config left its scratch memory behind.
        crate::memory::trim_soon();
        loop {
            self.signal_plan = None;
            self.start_auto_batch();
            // Children are reaped when SIGCHLD says so, not on every pass: waitpid(-1)
            // makes the kernel walk every child, ~1,000 of them here.
            self.transition_all();
            if self.mood < SupervisorState::Running {
                self.ordered_stop();
                if self.exit.is_some() {
                    break;
                }
            }
            self.enforce_dependencies();
            self.check_waiters();
            self.pools_dispatch();
            self.create_pending_auto_logs();
            if self.dirty {
                self.publish();
            }
            self.flush_replies();
            let tick_deadline = self.emit_ticks();
            let cron_deadline = if self.jobs.is_empty() {
                None
            } else {
                let now = Instant::now();
                let drains = self.cron_finish_drains(now);
                [self.cron_timeouts(now), drains]
                    .into_iter()
                    .flatten()
                    .min()
            };
            let deadline = [self.next_deadline(), cron_deadline, tick_deadline]
                .into_iter()
                .flatten()
                .min();
            let due = self.cron_next_due();
            if let Some(w) = wall.as_mut() {
                if due != wall_armed_for || (due.is_some() && !w.is_armed()) {
                    let _ = w.arm(due.map(|t| t.as_nanosecond()));
                    wall_armed_for = due;
                }
            }
            let wall_active = due.is_some() && wall.is_some();
            // No slot of the launcher may hold a child's pipe ends while the loop sleeps.
            spawn::settle();
            tokio::select! {
                biased;
                _ = sigchld.recv() => { self.reap(); }
                wake = wait_wall(&mut wall), if wall_active => {
                    wall_armed_for = None;
                    self.cron_wake(wake == WallWake::ClockChanged);
                }
                msg = rx.recv() => {
                    match msg {
                        Some(m) => self.handle(m),
                        None => { self.mood = SupervisorState::Shutdown; }
                    }
                    // Drain what is already queued so a burst costs one transition pass.
                    while let Ok(m) = rx.try_recv() {
                        self.handle(m);
                    }
                }
                _ = sleep_until(deadline), if deadline.is_some() => {}
            }
        }
        self.publish();
        self.flush_replies();
        self.exit.unwrap_or(ExitReason::Shutdown)
    }

    fn next_deadline(&self) -> Option<Instant> {
        let mut best: Option<Instant> = None;
        let mut consider = |t: Instant| {
            best = Some(best.map_or(t, |b| b.min(t)));
        };
        for g in &self.groups {
            for p in &g.procs {
                match p.state {
                    ProcessState::Starting => {
                        if let Some(ls) = p.laststart {
                            consider(
                                ls + Duration::from_secs(p.cfg.startsecs)
                                    + Duration::from_millis(1),
                            );
                        }
                    }
                    ProcessState::Backoff | ProcessState::Stopping => {
                        if let Some(d) = p.delay {
                            consider(d + Duration::from_millis(1));
                        }
                    }
                    _ => {}
                }
            }
        }
        if self.mood < SupervisorState::Running {
            if let Some(last) = self.last_shutdown_report {
                consider(last + Duration::from_secs(3) + Duration::from_millis(1));
            }
        }
        best
    }

    fn publish(&mut self) {
        self.dirty = false;
        let groups = &mut self.groups;
        let processes: Vec<Arc<ProcInfo>> = self
            .lexical
            .iter()
            .map(|&(gi, pi)| {
                let priority = groups[gi].cfg.priority;
                groups[gi].procs[pi].published_info(priority)
            })
            .collect();
        if self.group_names.len() != self.groups.len() {
            let mut names: Vec<Arc<str>> = self
                .groups
                .iter()
                .map(|g| Arc::from(g.cfg.name.as_str()))
                .collect();
            names.sort();
            self.group_names = names.into();
        }
        let groups = self.group_names.clone();
        self.snapshot_tx.send_replace(Arc::new(Snapshot {
            state: self.mood,
            processes,
            groups,
        }));
    }

    fn emit(&mut self, event: Event) {
        let event = Arc::new(event);
        self.pools_accept(&event);
        let _ = self.events.send(event);
    }

    /// Recomputes which TICK periods anyone listens to.
    fn refresh_ticks(&mut self) {
        let mut ticks = Vec::new();
        for period in [5u32, 60, 3600] {
            let name = format!("TICK_{period}");
            let wanted = self.groups.iter().any(|g| match &g.cfg.kind {
                steward_config::GroupKind::EventListener { events, .. } => {
                    events.iter().any(|s| crate::events::is_subtype(&name, s))
                }
                _ => false,
            });
            if wanted {
                let now = wall_now() as i64;
                let last = self
                    .ticks
                    .iter()
                    .find(|(p, _)| *p == period)
                    .map(|(_, w)| *w)
                    .unwrap_or(now - now % i64::from(period));
                ticks.push((period, last));
            }
        }
        self.ticks = ticks;
    }

    /// Emits TICK events whose boundary has passed; returns the next boundary.
    fn emit_ticks(&mut self) -> Option<Instant> {
        if self.ticks.is_empty() {
            return None;
        }
        let now = wall_now();
        let mut next: Option<f64> = None;
        for i in 0..self.ticks.len() {
            let (period, last) = self.ticks[i];
            let p = i64::from(period);
            let when = now as i64 - (now as i64).rem_euclid(p);
            if when > last {
                self.ticks[i].1 = when;
                self.emit(Event::Tick { period, when });
            }
            let boundary = (when + p) as f64;
            next = Some(next.map_or(boundary, |n: f64| n.min(boundary)));
        }
        next.map(|b| Instant::now() + Duration::from_secs_f64((b - now).max(0.0) + 0.001))
    }

    fn find(&self, key: &ProcKey) -> Option<(usize, usize)> {
        let gi = *self.group_index.get(&key.group)?;
        let pi = self.groups[gi]
            .procs
            .iter()
            .position(|p| p.key.name == key.name)?;
        Some((gi, pi))
    }

    fn rebuild_pids(&mut self) {
        let mut lexical: Vec<(usize, usize)> = Vec::new();
        for (gi, g) in self.groups.iter().enumerate() {
            for pi in 0..g.procs.len() {
                lexical.push((gi, pi));
            }
        }
        lexical.sort_by(|a, b| {
            let (ka, kb) = (
                &self.groups[a.0].procs[a.1].key,
                &self.groups[b.0].procs[b.1].key,
            );
            (&ka.group, &ka.name).cmp(&(&kb.group, &kb.name))
        });
        self.lexical = lexical;
        self.group_index = self
            .groups
            .iter()
            .enumerate()
            .map(|(gi, g)| (Arc::from(g.cfg.name.as_str()), gi))
            .collect();
        self.pids.clear();
        for (gi, g) in self.groups.iter().enumerate() {
            for (pi, p) in g.procs.iter().enumerate() {
                if p.pid != 0 {
                    self.pids.insert(p.pid, (gi, pi));
                }
            }
        }
    }

    /// Indexes the group just inserted at `pos` (it has no pids yet): shifts the indices
    /// behind it and merges its processes into the lexical order. Adding 100 groups to
    /// 1,000 programs one RPC at a time made full rebuilds (a sort of every name) the
    /// largest cost of an update.
    fn index_inserted_group(&mut self, pos: usize) {
        let shift = |gi: &mut usize| {
            if *gi >= pos {
                *gi += 1;
            }
        };
        self.lexical.iter_mut().for_each(|(gi, _)| shift(gi));
        self.pids.values_mut().for_each(|(gi, _)| shift(gi));
        self.group_index.values_mut().for_each(shift);
        self.group_index
            .insert(Arc::from(self.groups[pos].cfg.name.as_str()), pos);
        for pi in 0..self.groups[pos].procs.len() {
            let key = &self.groups[pos].procs[pi].key;
            let at = self.lexical.partition_point(|&(g, p)| {
                let k = &self.groups[g].procs[p].key;
                (&k.group, &k.name) < (&key.group, &key.name)
            });
            self.lexical.insert(at, (pos, pi));
        }
        #[cfg(debug_assertions)]
        {
            let (lexical, pids) = (self.lexical.clone(), self.pids.clone());
            let index = self.group_index.clone();
            self.rebuild_pids();
            debug_assert_eq!(lexical, self.lexical);
            debug_assert_eq!(pids, self.pids);
            debug_assert_eq!(index, self.group_index);
        }
    }
}

fn is_cron(g: &GroupConfig) -> bool {
    matches!(g.kind, steward_config::GroupKind::Cron(_))
}

async fn wait_wall(wall: &mut Option<WallTimer>) -> WallWake {
    match wall {
        Some(w) => w.wait().await,
        None => std::future::pending().await,
    }
}

async fn sleep_until(deadline: Option<Instant>) {
    if let Some(d) = deadline {
        tokio::time::sleep_until(tokio::time::Instant::from_std(d)).await;
    }
}
