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

use std::collections::HashMap;
use std::os::fd::OwnedFd;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use steward_config::{AutoRestart, Config, GroupConfig, LogFile, LogLevel, ProcessConfig};
use tokio::io::AsyncWriteExt;
use tokio::signal::unix::{signal, SignalKind};
use tokio::sync::{broadcast, mpsc, oneshot, watch};

mod cron_jobs;
mod listeners;
mod pumps;
pub use cron_jobs::{CronJobInfo, RunSummary};
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
    pub stdout_logfile: Option<Arc<std::path::Path>>,
    pub stderr_logfile: Option<Arc<std::path::Path>>,
    pub config: Arc<ProcessConfig>,
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

type Reply<T> = oneshot::Sender<Result<T, ActionError>>;

/// Messages to the loop.
pub enum Request {
    Start {
        key: ProcKey,
        wait: bool,
        reply: Reply<()>,
    },
    Stop {
        key: ProcKey,
        wait: bool,
        reply: Reply<()>,
    },
    Signal {
        key: ProcKey,
        signal: i32,
        reply: Reply<()>,
    },
    SendStdin {
        key: ProcKey,
        data: Vec<u8>,
        reply: Reply<()>,
    },
    ClearLogs {
        key: ProcKey,
        reply: Reply<()>,
    },
    ClearMainLog {
        reply: Reply<()>,
    },
    ReloadConfig {
        reply: Reply<ConfigDiff>,
    },
    AddGroup {
        name: String,
        reply: Reply<()>,
    },
    RemoveGroup {
        name: String,
        reply: Reply<()>,
    },
    Shutdown {
        reply: Reply<()>,
    },
    Restart {
        reply: Reply<()>,
    },
    /// Log output that needs the loop (events): sent by log pumps.
    Output {
        key: ProcKey,
        pid: i32,
        stderr: bool,
        logged: Vec<u8>,
        captured: Vec<Vec<u8>>,
    },
    /// An event from outside the loop.
    Publish(Event),
    /// A log pump reached the end of a child's pipe.
    PumpClosed {
        pid: i32,
    },
    /// Protocol output of an event listener's stdout.
    ListenerOutput {
        key: ProcKey,
        pid: i32,
        data: Vec<u8>,
    },
    /// SIGUSR2: reopen every child log.
    ReopenLogs {
        reply: Reply<()>,
    },
    /// `steward.cronList`.
    CronList {
        reply: oneshot::Sender<Vec<CronJobInfo>>,
    },
    /// `steward.cronHistory`.
    CronHistory {
        name: String,
        limit: usize,
        reply: Reply<Vec<RunRecord>>,
    },
    /// `steward.cronRun`: a manual run through the job's overlap policy.
    CronRun {
        name: String,
        reply: Reply<()>,
    },
    /// The answer of a cluster lock call made for a cron job.
    Cluster(cron_jobs::ClusterMsg),
    /// The last parsed config (getAllConfigInfo).
    ConfigInfo {
        reply: oneshot::Sender<(Arc<Config>, Vec<Arc<str>>)>,
    },
}

/// A cheap, cloneable handle to the running engine.
#[derive(Clone)]
pub struct EngineHandle {
    tx: mpsc::UnboundedSender<Request>,
    snapshot: watch::Receiver<Arc<Snapshot>>,
    events: broadcast::Sender<Arc<Event>>,
    pub main_log: Arc<MainLog>,
    pub identifier: Arc<str>,
    pub pid: i32,
}

impl EngineHandle {
    pub fn snapshot(&self) -> Arc<Snapshot> {
        self.snapshot.borrow().clone()
    }
    pub fn watch(&self) -> watch::Receiver<Arc<Snapshot>> {
        self.snapshot.clone()
    }
    /// Resolves once the loop has published its first snapshot, which holds every group
    /// of the config (or at once if the loop is gone). Until then the handle's snapshot is
    /// an empty placeholder: a server must not answer from it, or a client polling
    /// `getState()` sees RUNNING before the programs exist (issue 12).
    pub async fn loaded(&self) {
        let mut rx = self.snapshot.clone();
        // The handle's receiver never marks a value seen, so its clone still counts the
        // placeholder as unseen-but-current and `changed` waits for the first real send.
        let _ = rx.changed().await;
    }
    pub fn subscribe_events(&self) -> broadcast::Receiver<Arc<Event>> {
        self.events.subscribe()
    }
    /// Publishes an event from outside the loop (sendRemoteCommEvent); the loop emits it
    /// so listener pools see it too.
    pub fn publish(&self, event: Event) {
        let _ = self.tx.send(Request::Publish(event));
    }

    /// Sends a request and returns the receiver of its reply, so callers can queue several
    /// requests in order before awaiting any.
    pub fn send<T>(&self, make: impl FnOnce(Reply<T>) -> Request) -> PendingReply<T> {
        let (tx, rx) = oneshot::channel();
        let _ = self.tx.send(make(tx));
        PendingReply(rx)
    }

    pub async fn call<T>(&self, make: impl FnOnce(Reply<T>) -> Request) -> Result<T, ActionError> {
        self.send(make).wait().await
    }

    /// Sends a request whose reply channel the caller manages.
    pub fn request(&self, req: Request) -> bool {
        self.tx.send(req).is_ok()
    }

    pub async fn config_info(&self) -> Option<(Arc<Config>, Vec<Arc<str>>)> {
        let (tx, rx) = oneshot::channel();
        let _ = self.tx.send(Request::ConfigInfo { reply: tx });
        rx.await.ok()
    }
}

/// A reply still to come.
pub struct PendingReply<T>(oneshot::Receiver<Result<T, ActionError>>);

impl<T> PendingReply<T> {
    pub async fn wait(self) -> Result<T, ActionError> {
        self.0.await.unwrap_or(Err(ActionError::ShutdownState))
    }
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

struct Proc {
    key: ProcKey,
    cfg: Arc<ProcessConfig>,
    state: ProcessState,
    pid: i32,
    laststart: Option<Instant>,
    laststart_wall: f64,
    laststop_wall: f64,
    delay: Option<Instant>,
    backoff: u32,
    killing: bool,
    spawnerr: Option<String>,
    exitstatus: Option<i32>,
    stdin: Option<StdinPipe>,
    logs: [Option<Arc<Mutex<ChannelLog>>>; 2],
    log_paths: [Option<Arc<std::path::Path>>; 2],
    /// Which `log_paths` are `AUTO` names whose file is not created yet.
    auto_pending: [bool; 2],
    events_enabled: [bool; 2],
    /// Boxed: only event listeners have one, and every record would otherwise carry its
    /// size.
    listener: Option<Box<listeners::ListenerProto>>,
    /// This process as last published, reused while nothing in it changed.
    published: Option<Arc<ProcInfo>>,
}

/// The write end of a child's stdin pipe. It is registered with the runtime only at the
/// first sendProcessStdin: most children never get input, and a registration costs
/// ~256 bytes per process.
enum StdinPipe {
    Fd(OwnedFd),
    Registered(Arc<tokio::sync::Mutex<tokio::net::unix::pipe::Sender>>),
}

impl Proc {
    /// The stdin pipe's writer, registering the pipe with the runtime on first use. `None`
    /// when there is no pipe (or it cannot be registered, which leaves none).
    fn stdin_writer(&mut self) -> Option<Arc<tokio::sync::Mutex<tokio::net::unix::pipe::Sender>>> {
        let writer = match self.stdin.take()? {
            StdinPipe::Registered(w) => w,
            StdinPipe::Fd(fd) => Arc::new(tokio::sync::Mutex::new(
                tokio::net::unix::pipe::Sender::from_owned_fd(fd).ok()?,
            )),
        };
        self.stdin = Some(StdinPipe::Registered(writer.clone()));
        Some(writer)
    }

    /// The snapshot entry for this process: the last one if it is still accurate.
    fn published_info(&mut self, group_priority: i32) -> Arc<ProcInfo> {
        if let Some(info) = &self.published {
            let unchanged = info.state == self.state
                && info.pid == self.pid
                && info.start == self.laststart_wall
                && info.stop == self.laststop_wall
                && info.exitstatus == self.exitstatus
                && info.spawnerr == self.spawnerr
                && info.group_priority == group_priority
                && Arc::ptr_eq(&info.config, &self.cfg)
                && info.stdout_logfile == self.log_paths[0]
                && info.stderr_logfile == self.log_paths[1];
            if unchanged {
                return info.clone();
            }
        }
        let info = Arc::new(ProcInfo {
            group: self.key.group.clone(),
            name: self.key.name.clone(),
            group_priority,
            state: self.state,
            pid: self.pid,
            start: self.laststart_wall,
            stop: self.laststop_wall,
            spawnerr: self.spawnerr.clone(),
            exitstatus: self.exitstatus,
            stdout_logfile: self.log_paths[0].clone(),
            stderr_logfile: self.log_paths[1].clone(),
            config: self.cfg.clone(),
        });
        self.published = Some(info.clone());
        info
    }
}

struct Group {
    cfg: Arc<GroupConfig>,
    procs: Vec<Proc>,
    /// `[fcgi-program:x]`: the shared listening socket (fd 0 of every child).
    fcgi_socket: Option<OwnedFd>,
}

struct Waiter {
    key: ProcKey,
    start: bool,
    reply: Reply<()>,
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
    let mut engine = Engine {
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
        signal_plan: None,
        group_names: Arc::new([]),
    };
    let task = tokio::spawn(async move { engine.run(rx).await });
    (handle, task)
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
            // Children are reaped when SIGCHLD says so, not on every pass: waitpid(-1)
            // makes the kernel walk every child, ~1,000 of them here.
            self.transition_all();
            if self.mood < SupervisorState::Running {
                self.ordered_stop();
                if self.exit.is_some() {
                    break;
                }
            }
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

    // ---- groups -------------------------------------------------------------------

    fn add_group(&mut self, cfg: Arc<GroupConfig>) {
        let group_name: Arc<str> = cfg.name.as_str().into();
        // Exact capacity: most groups hold one process, and a growing Vec would reserve
        // room for four.
        let mut procs = Vec::with_capacity(cfg.processes.len());
        for pc in &cfg.processes {
            let key = ProcKey {
                group: group_name.clone(),
                name: pc.name.as_str().into(),
            };
            let mut log_paths: [Option<Arc<std::path::Path>>; 2] = [None, None];
            let mut auto_pending = [false; 2];
            for (i, (chan, lc)) in [(Channel::Stdout, &pc.stdout), (Channel::Stderr, &pc.stderr)]
                .into_iter()
                .enumerate()
            {
                if i == 1 && pc.redirect_stderr {
                    continue;
                }
                log_paths[i] = match &lc.file {
                    LogFile::Path(p) => Some(Arc::from(p.as_path())),
                    // Named now, created when the log first opens (or before this pass
                    // publishes the group, for processes that do not start in it).
                    LogFile::Auto => {
                        auto_pending[i] = true;
                        self.auto_pending = true;
                        Some(Arc::from(logs::auto_log_name(
                            &self.config.supervisord.childlogdir,
                            &pc.name,
                            chan,
                            &self.config.supervisord.identifier,
                        )))
                    }
                    LogFile::None | LogFile::Syslog => None,
                };
            }
            for path in log_paths.iter().flatten() {
                *self.path_uses.entry(path.clone()).or_default() += 1;
            }
            procs.push(Proc {
                key,
                // The parsed config's own Arc: one copy of each process config.
                cfg: pc.clone(),
                state: ProcessState::Stopped,
                pid: 0,
                laststart: None,
                laststart_wall: 0.0,
                laststop_wall: 0.0,
                delay: None,
                backoff: 0,
                killing: false,
                spawnerr: None,
                exitstatus: None,
                stdin: None,
                logs: [None, None],
                log_paths,
                auto_pending,
                events_enabled: [pc.stdout.events_enabled, pc.stderr.events_enabled],
                listener: matches!(cfg.kind, steward_config::GroupKind::EventListener { .. })
                    .then(|| Box::new(listeners::ListenerProto::new())),
                published: None,
            });
        }
        let pos = self
            .groups
            .iter()
            .position(|g| (g.cfg.priority, &g.cfg.name) > (cfg.priority, &cfg.name))
            .unwrap_or(self.groups.len());
        let cron = is_cron(&cfg).then(|| cfg.clone());
        self.pool_add(&cfg);
        let fcgi_socket = match &cfg.kind {
            steward_config::GroupKind::Fcgi {
                socket,
                socket_backlog,
                socket_owner,
                socket_mode,
            } => match spawn::bind_fcgi_socket(
                socket,
                *socket_backlog,
                *socket_mode,
                socket_owner.as_deref(),
            ) {
                Ok(fd) => Some(fd),
                Err(e) => {
                    self.log.log(LogLevel::Critical, &e);
                    None
                }
            },
            _ => None,
        };
        self.group_names = Arc::new([]);
        self.groups.insert(
            pos,
            Group {
                cfg,
                procs,
                fcgi_socket,
            },
        );
        self.dirty = true;
        self.emit(Event::GroupAdded(group_name));
        if self.loading {
            // Start-up adds every group first and indexes them once (see `run`).
            self.loading_crons.extend(cron);
            return;
        }
        self.index_inserted_group(pos);
        self.refresh_ticks();
        if let Some(cfg) = cron {
            self.cron_add(&cfg);
        }
    }

    fn remove_group(&mut self, name: &str) -> Result<(), ActionError> {
        let gi = self
            .groups
            .iter()
            .position(|g| g.cfg.name == name)
            .ok_or(ActionError::BadName)?;
        if self.groups[gi].procs.iter().any(|p| !p.state.is_stopped()) {
            return Err(ActionError::StillRunning);
        }
        let g = self.groups.remove(gi);
        self.group_names = Arc::new([]);
        for path in g.procs.iter().flat_map(|p| p.log_paths.iter().flatten()) {
            if let Some(n) = self.path_uses.get_mut(path) {
                *n -= 1;
                if *n == 0 {
                    self.path_uses.remove(path);
                }
            }
        }
        self.jobs.remove(g.cfg.name.as_str());
        self.pool_remove(&g.cfg.name);
        self.rebuild_pids();
        self.dirty = true;
        self.refresh_ticks();
        self.emit(Event::GroupRemoved(g.cfg.name.as_str().into()));
        Ok(())
    }

    // ---- requests -----------------------------------------------------------------

    /// Queues a reply; replies go out after the snapshot of this loop iteration is
    /// published, so a caller never reads a picture older than its answer.
    fn respond<V: Send + 'static>(&mut self, reply: oneshot::Sender<V>, value: V) {
        self.outbox.push(Box::new(move || {
            let _ = reply.send(value);
        }));
    }

    fn flush_replies(&mut self) {
        for send in self.outbox.drain(..) {
            send();
        }
    }

    fn refuse_when_stopping<T: Send + 'static>(&mut self, reply: Reply<T>) -> Option<Reply<T>> {
        if self.mood < SupervisorState::Running {
            self.respond(reply, Err(ActionError::ShutdownState));
            None
        } else {
            Some(reply)
        }
    }

    fn handle(&mut self, req: Request) {
        match req {
            Request::Start { key, wait, reply } => {
                let Some(reply) = self.refuse_when_stopping(reply) else {
                    return;
                };
                match self.start_request(&key) {
                    Err(e) => {
                        self.respond(reply, Err(e));
                    }
                    Ok(()) => {
                        let (gi, pi) = self.find(&key).expect("just started");
                        // supervisord calls process.transition() here: with startsecs=0 the
                        // process is RUNNING at once, even if it exits right after.
                        self.transition_one(gi, pi, Instant::now());
                        let state = self.groups[gi].procs[pi].state;
                        if !wait || state == ProcessState::Running {
                            self.respond(reply, Ok(()));
                        } else {
                            self.waiters.push(Waiter {
                                key,
                                start: true,
                                reply,
                            });
                        }
                    }
                }
            }
            Request::Stop { key, wait, reply } => {
                let Some(reply) = self.refuse_when_stopping(reply) else {
                    return;
                };
                let Some((gi, pi)) = self.find(&key) else {
                    self.respond(reply, Err(ActionError::BadName));
                    return;
                };
                if !self.groups[gi].procs[pi].state.is_running() {
                    self.respond(reply, Err(ActionError::NotRunning));
                    return;
                }
                if let Err(msg) = self.stop_proc(gi, pi) {
                    self.respond(reply, Err(ActionError::Failed(msg)));
                    return;
                }
                self.reap();
                let state = self
                    .find(&key)
                    .map(|(g, p)| self.groups[g].procs[p].state)
                    .unwrap_or(ProcessState::Stopped);
                if !wait || state.is_stopped() {
                    self.respond(reply, Ok(()));
                } else {
                    self.waiters.push(Waiter {
                        key,
                        start: false,
                        reply,
                    });
                }
            }
            Request::Signal { key, signal, reply } => {
                let Some(reply) = self.refuse_when_stopping(reply) else {
                    return;
                };
                let r = self.signal_request(&key, signal);
                self.respond(reply, r);
            }
            Request::SendStdin { key, data, reply } => {
                let Some(reply) = self.refuse_when_stopping(reply) else {
                    return;
                };
                let Some((gi, pi)) = self.find(&key) else {
                    self.respond(reply, Err(ActionError::BadName));
                    return;
                };
                let p = &mut self.groups[gi].procs[pi];
                if p.pid == 0 || p.killing {
                    self.respond(reply, Err(ActionError::NotRunning));
                    return;
                }
                let Some(stdin) = p.stdin_writer() else {
                    self.respond(reply, Err(ActionError::NoFile(key.name.to_string())));
                    return;
                };
                let name = key.name.to_string();
                tokio::spawn(async move {
                    let mut w = stdin.lock().await;
                    let r = match w.write_all(&data).await {
                        Ok(()) => Ok(()),
                        Err(e) if e.raw_os_error() == Some(libc::EPIPE) => {
                            Err(ActionError::NoFile(name))
                        }
                        Err(e) => Err(ActionError::Failed(e.to_string())),
                    };
                    let _ = reply.send(r);
                });
            }
            Request::ClearLogs { key, reply } => {
                let Some(reply) = self.refuse_when_stopping(reply) else {
                    return;
                };
                let Some((gi, pi)) = self.find(&key) else {
                    self.respond(reply, Err(ActionError::BadName));
                    return;
                };
                let p = &mut self.groups[gi].procs[pi];
                let mut result = Ok(());
                for i in 0..2 {
                    if let Some(log) = &p.logs[i] {
                        if log.lock().expect("log lock").clear().is_err() {
                            result = Err(ActionError::Failed(key.name.to_string()));
                        }
                    } else if let Some(path) = &p.log_paths[i] {
                        match std::fs::remove_file(path) {
                            Ok(()) => {}
                            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                            Err(_) => result = Err(ActionError::Failed(key.name.to_string())),
                        }
                    }
                }
                self.respond(reply, result);
            }
            Request::ClearMainLog { reply } => {
                let Some(reply) = self.refuse_when_stopping(reply) else {
                    return;
                };
                let r = self
                    .log
                    .clear()
                    .map_err(|e| ActionError::Failed(e.to_string()));
                self.respond(reply, r);
            }
            Request::ReloadConfig { reply } => {
                let Some(reply) = self.refuse_when_stopping(reply) else {
                    return;
                };
                match (self.reparse)() {
                    Err(msg) => {
                        self.respond(reply, Err(ActionError::CantReread(msg)));
                    }
                    Ok(cfg) => {
                        self.parsed = Arc::new(cfg);
                        let diff = self.diff();
                        self.respond(reply, Ok(diff));
                        crate::memory::trim_soon();
                    }
                }
            }
            Request::AddGroup { name, reply } => {
                let Some(reply) = self.refuse_when_stopping(reply) else {
                    return;
                };
                if self.groups.iter().any(|g| g.cfg.name == name) {
                    self.respond(reply, Err(ActionError::AlreadyAdded));
                    return;
                }
                match self.parsed.groups.iter().find(|g| g.name == name) {
                    None => {
                        self.respond(reply, Err(ActionError::BadName));
                    }
                    Some(g) => {
                        let g = g.clone();
                        self.add_group(g);
                        self.respond(reply, Ok(()));
                    }
                }
            }
            Request::RemoveGroup { name, reply } => {
                let Some(reply) = self.refuse_when_stopping(reply) else {
                    return;
                };
                let r = self.remove_group(&name);
                self.respond(reply, r);
            }
            Request::Shutdown { reply } => {
                if self.mood == SupervisorState::Restarting {
                    // A shutdown during a restart turns it into a shutdown.
                    self.mood = SupervisorState::Shutdown;
                    self.respond(reply, Ok(()));
                    return;
                }
                let Some(reply) = self.refuse_when_stopping(reply) else {
                    return;
                };
                self.begin_stop(SupervisorState::Shutdown);
                self.respond(reply, Ok(()));
            }
            Request::Restart { reply } => {
                let Some(reply) = self.refuse_when_stopping(reply) else {
                    return;
                };
                self.begin_stop(SupervisorState::Restarting);
                self.respond(reply, Ok(()));
            }
            Request::Output {
                key,
                pid,
                stderr,
                logged,
                captured,
            } => {
                // Capture mode also forwards output; PROCESS_LOG only when enabled.
                let log_events = self.find(&key).is_some_and(|(gi, pi)| {
                    let p = &self.groups[gi].procs[pi];
                    p.pid == pid && p.events_enabled[usize::from(stderr)]
                });
                if log_events && !logged.is_empty() {
                    self.emit(Event::ProcessLog {
                        stderr,
                        group: key.group.clone(),
                        process: key.name.clone(),
                        pid,
                        data: logged,
                    });
                }
                for data in captured {
                    self.emit(Event::ProcessCommunication {
                        stderr,
                        group: key.group.clone(),
                        process: key.name.clone(),
                        pid,
                        data,
                    });
                }
            }
            Request::ReopenLogs { reply } => {
                for g in &self.groups {
                    for p in &g.procs {
                        for log in p.logs.iter().flatten() {
                            let _ = log.lock().expect("log lock").reopen();
                        }
                    }
                }
                self.respond(reply, Ok(()));
            }
            Request::Publish(event) => self.emit(event),
            Request::PumpClosed { pid } => {
                let left = self.open_pumps.get_mut(&pid).map(|n| {
                    *n = n.saturating_sub(1);
                    *n
                });
                if left == Some(0) {
                    self.open_pumps.remove(&pid);
                    self.cron_output_complete(pid);
                }
            }
            Request::ListenerOutput { key, pid, data } => {
                self.listener_output(&key, pid, &data);
            }
            Request::CronList { reply } => {
                let infos = self.cron_infos();
                self.respond(reply, infos);
            }
            Request::CronHistory { name, limit, reply } => {
                if !self.jobs.contains_key(name.as_str()) {
                    self.respond(reply, Err(ActionError::BadName));
                    return;
                }
                let r = match &mut self.history {
                    Some(h) => h
                        .recent(&name, limit)
                        .map_err(|e| ActionError::Failed(e.to_string())),
                    None => Ok(Vec::new()),
                };
                self.respond(reply, r);
            }
            Request::CronRun { name, reply } => {
                let Some(reply) = self.refuse_when_stopping(reply) else {
                    return;
                };
                let name: Arc<str> = name.as_str().into();
                let Some(job) = self.jobs.get(&name) else {
                    self.respond(reply, Err(ActionError::BadName));
                    return;
                };
                let busy = job.current.is_some();
                if busy && job.spec.config.overlap == steward_config::Overlap::Skip {
                    self.respond(reply, Err(ActionError::AlreadyStarted));
                    return;
                }
                self.cron_enqueue_manual(&name);
                self.respond(reply, Ok(()));
            }
            Request::Cluster(m) => self.cron_cluster_msg(m),
            Request::ConfigInfo { reply } => {
                let active = self
                    .groups
                    .iter()
                    .map(|g| Arc::from(g.cfg.name.as_str()))
                    .collect();
                let parsed = self.parsed.clone();
                self.respond(reply, (parsed, active));
            }
        }
    }

    /// Starts a stop of every process (shutdown or restart), logged like supervisord.
    pub fn begin_stop(&mut self, mood: SupervisorState) {
        if self.mood < SupervisorState::Running {
            return;
        }
        self.mood = mood;
        self.dirty = true;
    }

    /// reloadConfig's diff of the last parse against the running groups.
    fn diff(&self) -> ConfigDiff {
        let mut diff = ConfigDiff::default();
        let global_env_changed =
            self.parsed.supervisord.environment != self.config.supervisord.environment;
        // Added and changed in the order of the new config, removed in the order of the
        // running groups, as supervisord's diff_to_active lists them.
        for g in &self.parsed.groups {
            match self.groups.iter().find(|r| r.cfg.name == g.name) {
                None => diff.added.push(g.name.clone()),
                Some(running) => {
                    if !groups_equal(running, g) || global_env_changed {
                        diff.changed.push(g.name.clone())
                    }
                }
            }
        }
        for r in &self.groups {
            if !self.parsed.groups.iter().any(|g| g.name == r.cfg.name) {
                diff.removed.push(r.cfg.name.clone());
            }
        }
        diff
    }

    fn start_request(&mut self, key: &ProcKey) -> Result<(), ActionError> {
        let (gi, pi) = self.find(key).ok_or(ActionError::BadName)?;
        let p = &self.groups[gi].procs[pi];
        if let Err(e) = spawn::resolve_command(&p.cfg) {
            return Err(match e {
                CommandError::NotFound(m) => ActionError::NoFile(m),
                CommandError::NotExecutable(m) => ActionError::NotExecutable(m),
            });
        }
        if p.state.is_running() {
            return Err(ActionError::AlreadyStarted);
        }
        if p.state == ProcessState::Unknown {
            return Err(ActionError::Failed(format!(
                "{}:{} is in an unknown process state",
                key.group, key.name
            )));
        }
        self.spawn_proc(gi, pi);
        self.reap();
        let (gi, pi) = self.find(key).ok_or(ActionError::BadName)?;
        if self.groups[gi].procs[pi].spawnerr.is_some() {
            return Err(ActionError::SpawnError);
        }
        self.transition_one(gi, pi, Instant::now());
        Ok(())
    }

    fn signal_request(&mut self, key: &ProcKey, sig: i32) -> Result<(), ActionError> {
        let (gi, pi) = self.find(key).ok_or(ActionError::BadName)?;
        let p = &self.groups[gi].procs[pi];
        if !p.state.is_signallable() {
            return Err(ActionError::NotRunning);
        }
        if p.pid == 0 {
            return Err(ActionError::Failed(format!(
                "attempted to send {} sig {} but it wasn't running",
                p.key.name,
                signame(sig)
            )));
        }
        self.debug(&format!(
            "sending {} (pid {}) sig {}",
            p.key.name,
            p.pid,
            signame(sig)
        ));
        // SAFETY: kill(2) with a pid we spawned and have not reaped.
        let r = unsafe { libc::kill(p.pid, sig) };
        if r != 0 {
            let err = std::io::Error::last_os_error();
            if err.raw_os_error() != Some(libc::ESRCH) {
                let msg = format!(
                    "unknown problem sending sig {} ({}):{err}",
                    p.key.name, p.pid
                );
                self.log.log(LogLevel::Critical, &msg);
                self.set_state(gi, pi, ProcessState::Unknown);
                return Err(ActionError::Failed(msg));
            }
        }
        Ok(())
    }

    fn check_waiters(&mut self) {
        if self.waiters.is_empty() {
            return;
        }
        let waiters = std::mem::take(&mut self.waiters);
        for w in waiters {
            let Some((gi, pi)) = self.find(&w.key) else {
                self.respond(w.reply, Err(ActionError::BadName));
                continue;
            };
            let p = &self.groups[gi].procs[pi];
            if w.start {
                if p.spawnerr.is_some() {
                    self.respond(w.reply, Err(ActionError::SpawnError));
                } else if !matches!(p.state, ProcessState::Starting | ProcessState::Running) {
                    self.respond(w.reply, Err(ActionError::AbnormalTermination));
                } else if p.state == ProcessState::Running {
                    self.respond(w.reply, Ok(()));
                } else {
                    self.waiters.push(w);
                }
            } else if p.state.is_stopped() {
                self.respond(w.reply, Ok(()));
            } else {
                self.waiters.push(w);
            }
        }
    }

    // ---- the state machine ----------------------------------------------------------

    fn set_state(&mut self, gi: usize, pi: usize, to: ProcessState) {
        self.set_state_expected(gi, pi, to, false);
    }

    fn set_state_expected(&mut self, gi: usize, pi: usize, to: ProcessState, expected: bool) {
        let p = &mut self.groups[gi].procs[pi];
        let from = p.state;
        if from == to {
            return;
        }
        p.state = to;
        self.dirty = true;
        if to == ProcessState::Running && p.listener.is_some() {
            self.pools_dirty = true;
        }
        let event = Event::ProcessState {
            to,
            from,
            group: p.key.group.clone(),
            process: p.key.name.clone(),
            pid: p.pid,
            tries: p.backoff,
            expected,
        };
        self.emit(event);
    }

    fn transition_all(&mut self) {
        let now = Instant::now();
        for gi in 0..self.groups.len() {
            for pi in 0..self.groups[gi].procs.len() {
                self.transition_one(gi, pi, now);
            }
        }
    }

    /// supervisord's `Subprocess.transition()`.
    fn transition_one(&mut self, gi: usize, pi: usize, now: Instant) {
        let p = &self.groups[gi].procs[pi];
        let state = p.state;
        if self.mood > SupervisorState::Restarting {
            let cron = is_cron(&self.groups[gi].cfg);
            let spawn = match state {
                ProcessState::Exited => match p.cfg.autorestart {
                    AutoRestart::Always => !cron,
                    AutoRestart::Unexpected => {
                        !cron && !p.cfg.exitcodes.contains(&p.exitstatus.unwrap_or(0))
                    }
                    AutoRestart::Never => false,
                },
                ProcessState::Stopped => p.laststart.is_none() && p.cfg.autostart && !cron,
                ProcessState::Backoff => {
                    p.backoff <= p.cfg.startretries && p.delay.is_some_and(|d| now > d)
                }
                _ => false,
            };
            if spawn {
                self.spawn_proc(gi, pi);
            }
        }
        let p = &self.groups[gi].procs[pi];
        match state {
            ProcessState::Starting
                if p.laststart.is_some_and(|ls| {
                    now.saturating_duration_since(ls) > Duration::from_secs(p.cfg.startsecs)
                }) =>
            {
                let name = p.key.name.clone();
                let startsecs = p.cfg.startsecs;
                let p = &mut self.groups[gi].procs[pi];
                p.delay = None;
                p.backoff = 0;
                self.set_state(gi, pi, ProcessState::Running);
                self.info(&format!(
                    "success: {name} entered RUNNING state, process has stayed up for > than {startsecs} seconds (startsecs)"
                ));
            }
            ProcessState::Backoff if p.backoff > p.cfg.startretries => {
                let name = p.key.name.clone();
                self.give_up(gi, pi);
                self.info(&format!(
                    "gave up: {name} entered FATAL state, too many start retries too quickly"
                ));
            }
            ProcessState::Stopping if p.delay.is_some_and(|d| now >= d) => {
                self.warn(&format!(
                    "killing '{}' ({}) with SIGKILL",
                    p.key.name, p.pid
                ));
                let _ = self.kill(gi, pi, libc::SIGKILL);
            }
            _ => {}
        }
    }

    fn give_up(&mut self, gi: usize, pi: usize) {
        let p = &mut self.groups[gi].procs[pi];
        p.delay = None;
        p.backoff = 0;
        self.set_state(gi, pi, ProcessState::Fatal);
    }

    fn record_spawnerr(&mut self, gi: usize, pi: usize, msg: String) {
        self.info(&format!("spawnerr: {msg}"));
        self.groups[gi].procs[pi].spawnerr = Some(msg);
    }

    /// Enters BACKOFF after a failed spawn attempt (supervisord increments backoff in
    /// change_state on every entry into BACKOFF).
    fn enter_backoff(&mut self, gi: usize, pi: usize) {
        let p = &mut self.groups[gi].procs[pi];
        p.backoff += 1;
        p.delay = Some(Instant::now() + Duration::from_secs(u64::from(p.backoff)));
        self.set_state(gi, pi, ProcessState::Backoff);
    }

    fn open_logs(&mut self, gi: usize, pi: usize) -> Result<(), String> {
        let strip_ansi = self.config.supervisord.strip_ansi;
        for i in 0..2 {
            let created = if self.groups[gi].procs[pi].auto_pending[i] {
                self.create_auto_log(gi, pi, i)
            } else {
                None
            };
            let p = &mut self.groups[gi].procs[pi];
            if p.logs[i].is_some() || (i == 1 && p.cfg.redirect_stderr) {
                continue;
            }
            let lc = if i == 0 { &p.cfg.stdout } else { &p.cfg.stderr };
            let opts = ChannelLogOptions {
                path: p.log_paths[i].clone(),
                maxbytes: lc.maxbytes,
                backups: lc.backups,
                strip_ansi,
                capture_maxbytes: lc.capture_maxbytes,
                syslog: lc.syslog || lc.file == LogFile::Syslog,
                syslog_tag: p.key.name.to_string(),
                tail_capacity: 16 * 1024,
            };
            let opened = match created {
                Some(file) => ChannelLog::open_created(opts, file),
                None => ChannelLog::open(opts),
            };
            match opened {
                Ok(log) => p.logs[i] = Some(Arc::new(Mutex::new(log))),
                Err(e) => {
                    return Err(crate::text::errno_name(e.raw_os_error().unwrap_or(0)));
                }
            }
        }
        Ok(())
    }

    /// Creates the pending `AUTO` file of channel `i`, under a new name if its own is
    /// taken, and returns it open for appending. On failure the process logs nowhere on
    /// that channel, as when supervisord cannot create it.
    fn create_auto_log(&mut self, gi: usize, pi: usize, i: usize) -> Option<std::fs::File> {
        let p = &mut self.groups[gi].procs[pi];
        p.auto_pending[i] = false;
        let old: Arc<std::path::Path> = p.log_paths[i].clone()?;
        let mut path = old.to_path_buf();
        let created = logs::create_auto_log_renaming(&mut path);
        if created.is_ok() && path.as_path() == &*old {
            return created.ok();
        }
        let name = p.key.name.clone();
        p.log_paths[i] = created.is_ok().then(|| Arc::from(path.as_path()));
        let new = p.log_paths[i].clone();
        if let Some(n) = self.path_uses.get_mut(&old) {
            *n -= 1;
            if *n == 0 {
                self.path_uses.remove(&old);
            }
        }
        if let Some(new) = new {
            *self.path_uses.entry(new).or_default() += 1;
        }
        match created {
            Ok(file) => Some(file),
            Err(e) => {
                self.log.log(
                    LogLevel::Error,
                    &format!("could not create AUTO log for {name}: {e}"),
                );
                None
            }
        }
    }

    /// Creates the `AUTO` files that no spawn has created yet, so every published log
    /// name exists (empty until the process writes).
    fn create_pending_auto_logs(&mut self) {
        if !std::mem::take(&mut self.auto_pending) {
            return;
        }
        for gi in 0..self.groups.len() {
            for pi in 0..self.groups[gi].procs.len() {
                for i in 0..2 {
                    if self.groups[gi].procs[pi].auto_pending[i] {
                        drop(self.create_auto_log(gi, pi, i));
                    }
                }
            }
        }
    }

    /// supervisord's `Subprocess.spawn()`.
    fn spawn_proc(&mut self, gi: usize, pi: usize) {
        let now = Instant::now();
        {
            let p = &mut self.groups[gi].procs[pi];
            if p.pid != 0 {
                let msg = format!("process '{}' already running", p.key.name);
                self.warn(&msg);
                return;
            }
            p.killing = false;
            p.spawnerr = None;
            p.exitstatus = None;
            p.laststart = Some(now);
            p.laststart_wall = wall_now();
        }
        self.set_state(gi, pi, ProcessState::Starting);
        let cfg = self.cron_spawn_config(gi, self.groups[gi].procs[pi].cfg.clone());
        let resolved = match spawn::resolve_command(&cfg) {
            Ok(r) => r,
            Err(e) => {
                self.record_spawnerr(gi, pi, e.to_string());
                self.cron_spawn_failed(gi, e.to_string());
                self.enter_backoff(gi, pi);
                return;
            }
        };
        if let Err(errname) = self.open_logs(gi, pi) {
            let msg = format!(
                "unknown error making dispatchers for '{}': {errname}",
                cfg.name
            );
            self.record_spawnerr(gi, pi, msg.clone());
            self.cron_spawn_failed(gi, msg);
            self.enter_backoff(gi, pi);
            return;
        }
        let group_name = self.groups[gi].cfg.name.clone();
        if matches!(
            self.groups[gi].cfg.kind,
            steward_config::GroupKind::Fcgi { .. }
        ) && self.groups[gi].fcgi_socket.is_none()
        {
            let msg = format!(
                "unknown error making dispatchers for '{}': EBADF (no FastCGI socket)",
                cfg.name
            );
            self.record_spawnerr(gi, pi, msg);
            self.enter_backoff(gi, pi);
            return;
        }
        use std::os::fd::AsFd;
        let ctx = SpawnContext {
            group: &group_name,
            base_env: &self.base_env,
            global_env: &self.config.supervisord.environment,
            serverurl: self.serverurl.as_deref(),
            stdin_socket: self.groups[gi].fcgi_socket.as_ref().map(|f| f.as_fd()),
            signals: *self
                .signal_plan
                .get_or_insert_with(spawn::SignalPlan::current),
        };
        match spawn::spawn(&cfg, &resolved, &ctx) {
            Ok(spawned) => {
                let pid = spawned.pid;
                self.info(&format!("spawned: '{}' with pid {pid}", cfg.name));
                let tap = if is_cron(&self.groups[gi].cfg) {
                    let name: Arc<str> = group_name.as_str().into();
                    self.cron_run_begins(&name)
                } else {
                    None
                };
                let p = &mut self.groups[gi].procs[pi];
                p.pid = pid;
                p.spawnerr = None;
                if p.listener.is_some() {
                    p.listener = Some(Box::new(listeners::ListenerProto::new()));
                }
                let protocol = p.listener.is_some();
                p.delay = Some(now + Duration::from_secs(cfg.startsecs));
                p.stdin = spawned.stdin.map(StdinPipe::Fd);
                if p.listener.is_some() {
                    // Listeners get an event as soon as they are READY: register now, so
                    // a listener with a stdin pipe always has a writer.
                    let _ = p.stdin_writer();
                }
                let key = p.key.clone();
                let mut outputs = vec![(spawned.stdout, 0usize)];
                if let Some(e) = spawned.stderr {
                    outputs.push((e, 1));
                }
                let pumps: Vec<_> = outputs
                    .into_iter()
                    .map(|(fd, i)| {
                        let exclusive_file = p.log_paths[i]
                            .as_ref()
                            .is_some_and(|path| self.path_uses.get(path).copied() == Some(1));
                        let events = p.events_enabled[i]
                            || (if i == 0 { &cfg.stdout } else { &cfg.stderr }).capture_maxbytes
                                > 0;
                        (fd, p.logs[i].clone(), i == 1, events, exclusive_file)
                    })
                    .collect();
                for (fd, log, stderr, events, exclusive_file) in pumps {
                    let pump = Pump {
                        log,
                        key: key.clone(),
                        pid,
                        stderr,
                        events,
                        tap: tap.clone(),
                        protocol: protocol && !stderr,
                        exclusive_file,
                    };
                    self.start_pump(fd, pump);
                }
                self.pids.insert(pid, (gi, pi));
            }
            Err(SpawnError::Spawnerr(msg)) => {
                self.record_spawnerr(gi, pi, msg.clone());
                self.cron_spawn_failed(gi, msg);
                self.enter_backoff(gi, pi);
            }
            Err(SpawnError::ExecFailed { message }) => {
                // Behave as supervisord's child would: the message lands in the stderr
                // log (stdout when redirected) and the "child" exits 127 at once.
                let p = &self.groups[gi].procs[pi];
                let target = if p.logs[1].is_some() { 1 } else { 0 };
                if let Some(log) = &p.logs[target] {
                    let _ = log.lock().expect("log lock").feed(message.as_bytes());
                }
                self.finish(gi, pi, 127 << 8);
            }
        }
    }

    fn start_pump(&mut self, fd: OwnedFd, pump: Pump) {
        if self.pumps.is_none() {
            match PumpSet::start() {
                Ok(set) => self.pumps = Some(set),
                Err(e) => {
                    self.log.log(
                        LogLevel::Error,
                        &format!("cannot read output of {}: {e}", pump.key.name),
                    );
                    return;
                }
            }
        }
        let pid = pump.pid;
        let name = pump.key.name.clone();
        let set = self.pumps.as_ref().expect("started above");
        match set.add(fd, pump, self.log.clone(), self.tx.clone()) {
            Ok(()) => *self.open_pumps.entry(pid).or_default() += 1,
            Err(e) => self.log.log(
                LogLevel::Error,
                &format!("cannot read output of {name}: {e}"),
            ),
        }
    }

    /// supervisord's `Subprocess.kill()`: Ok, or the error message.
    fn kill(&mut self, gi: usize, pi: usize, sig: i32) -> Result<(), String> {
        let now = Instant::now();
        let p = &self.groups[gi].procs[pi];
        if p.state == ProcessState::Backoff {
            self.debug(&format!(
                "Attempted to kill {}, which is in BACKOFF state.",
                p.key.name
            ));
            self.set_state(gi, pi, ProcessState::Stopped);
            return Ok(());
        }
        if p.pid == 0 {
            let msg = format!(
                "attempted to kill {} with sig {} but it wasn't running",
                p.key.name,
                signame(sig)
            );
            self.debug(&msg);
            return Err(msg);
        }
        let as_group = if p.state == ProcessState::Stopping {
            p.cfg.killasgroup
        } else {
            p.cfg.stopasgroup
        };
        self.debug(&format!(
            "killing {} (pid {}) {}with signal {}",
            p.key.name,
            p.pid,
            if as_group { "process group " } else { "" },
            signame(sig)
        ));
        let pid = p.pid;
        let stopwaitsecs = p.cfg.stopwaitsecs;
        {
            let p = &mut self.groups[gi].procs[pi];
            p.killing = true;
            p.delay = Some(now + Duration::from_secs(stopwaitsecs));
        }
        self.set_state(gi, pi, ProcessState::Stopping);
        let target = if as_group { -pid } else { pid };
        // SAFETY: kill(2) on a child (or its process group) we have not reaped yet.
        let r = unsafe { libc::kill(target, sig) };
        if r != 0 {
            let err = std::io::Error::last_os_error();
            if err.raw_os_error() == Some(libc::ESRCH) {
                return Ok(());
            }
            let name = self.groups[gi].procs[pi].key.name.clone();
            let msg = format!("unknown problem killing {name} ({pid}):{err}");
            self.log.log(LogLevel::Critical, &msg);
            self.set_state(gi, pi, ProcessState::Unknown);
            let p = &mut self.groups[gi].procs[pi];
            p.killing = false;
            p.delay = None;
            return Err(msg);
        }
        Ok(())
    }

    fn stop_proc(&mut self, gi: usize, pi: usize) -> Result<(), String> {
        let sig = self.groups[gi].procs[pi].cfg.stopsignal;
        self.kill(gi, pi, sig)
    }

    /// Reaps every exited child without blocking.
    fn reap(&mut self) {
        loop {
            let mut status = 0;
            // SAFETY: waitpid with WNOHANG on any child.
            let pid = unsafe { libc::waitpid(-1, &mut status, libc::WNOHANG) };
            if pid <= 0 {
                break;
            }
            match self.pids.remove(&pid) {
                Some((gi, pi)) => self.finish(gi, pi, status),
                None => {
                    if self.cron_extra_exited(pid, status) {
                        continue;
                    }
                    let (_, msg) = decode_wait_status(status);
                    self.info(&format!("reaped unknown pid {pid} ({msg})"));
                }
            }
        }
    }

    /// supervisord's `Subprocess.finish()`.
    fn finish(&mut self, gi: usize, pi: usize, status: i32) {
        let (es, msg) = decode_wait_status(status);
        let pid = self.groups[gi].procs[pi].pid;
        let now = Instant::now();
        let p = &mut self.groups[gi].procs[pi];
        p.laststop_wall = wall_now();
        let too_quickly = p.laststart.is_some_and(|ls| {
            now.saturating_duration_since(ls) < Duration::from_secs(p.cfg.startsecs)
        });
        let exit_expected = p.cfg.exitcodes.contains(&es);
        let name = p.key.name.clone();
        if p.killing {
            p.killing = false;
            p.delay = None;
            p.exitstatus = Some(es);
            self.set_state(gi, pi, ProcessState::Stopped);
            let line = format!("stopped: {name} ({msg})");
            if exit_expected {
                self.info(&line);
            } else {
                self.warn(&line);
            }
        } else if too_quickly && p.state == ProcessState::Starting {
            p.exitstatus = None;
            p.spawnerr = Some("Exited too quickly (process log may have details)".into());
            self.enter_backoff(gi, pi);
            self.warn(&format!("exited: {name} ({msg}; not expected)"));
        } else {
            p.delay = None;
            p.backoff = 0;
            p.exitstatus = Some(es);
            if p.state == ProcessState::Starting {
                self.set_state(gi, pi, ProcessState::Running);
            }
            if exit_expected {
                self.set_state_expected(gi, pi, ProcessState::Exited, true);
                self.info(&format!("exited: {name} ({msg}; expected)"));
            } else {
                self.groups[gi].procs[pi].spawnerr = Some(format!("Bad exit code {es}"));
                self.set_state_expected(gi, pi, ProcessState::Exited, false);
                self.warn(&format!("exited: {name} ({msg}; not expected)"));
            }
        }
        let p = &mut self.groups[gi].procs[pi];
        p.pid = 0;
        p.stdin = None;
        self.dirty = true;
        self.listener_exited(gi, pi);
        if is_cron(&self.groups[gi].cfg) {
            let name: Arc<str> = self.groups[gi].cfg.name.as_str().into();
            self.cron_run_ends(&name, pid, Some(es), None);
        }
    }

    /// A cron job's spawn failed before a child existed: record the run as failed.
    fn cron_spawn_failed(&mut self, gi: usize, error: String) {
        if !is_cron(&self.groups[gi].cfg) {
            return;
        }
        let name: Arc<str> = self.groups[gi].cfg.name.as_str().into();
        if self.cron_run_begins(&name).is_some() {
            self.cron_run_ends(&name, 0, None, Some(error));
        }
    }

    // ---- shutdown -------------------------------------------------------------------

    /// supervisord's ordered stop: one group at a time from the highest priority down.
    fn ordered_stop(&mut self) {
        if !self.stopping {
            self.stopping = true;
            self.emit(Event::SupervisorStopping);
            // Waiters can never complete now.
            for w in std::mem::take(&mut self.waiters) {
                self.respond(w.reply, Err(ActionError::ShutdownState));
            }
        }
        // Stop the highest-priority group that still has unstopped processes.
        let target = (0..self.groups.len())
            .rev()
            .find(|&gi| self.groups[gi].procs.iter().any(|p| !p.state.is_stopped()));
        if let Some(gi) = target {
            let mut order: Vec<usize> = (0..self.groups[gi].procs.len()).collect();
            order.reverse();
            for pi in order {
                match self.groups[gi].procs[pi].state {
                    ProcessState::Running | ProcessState::Starting => {
                        let _ = self.stop_proc(gi, pi);
                    }
                    ProcessState::Backoff => self.give_up(gi, pi),
                    _ => {}
                }
            }
        }
        self.reap();
        let unstopped: Vec<Arc<str>> = self
            .groups
            .iter()
            .flat_map(|g| g.procs.iter())
            .filter(|p| !p.state.is_stopped())
            .map(|p| p.key.name.clone())
            .collect();
        if unstopped.is_empty() {
            self.exit = Some(if self.mood == SupervisorState::Restarting {
                ExitReason::Restart
            } else {
                ExitReason::Shutdown
            });
            return;
        }
        let now = Instant::now();
        let due = self
            .last_shutdown_report
            .is_none_or(|t| now >= t + Duration::from_secs(3));
        if due {
            let names: Vec<&str> = unstopped.iter().map(|n| &**n).collect();
            self.info(&format!("waiting for {} to die", names.join(", ")));
            self.last_shutdown_report = Some(now);
        }
    }
}

fn is_cron(g: &GroupConfig) -> bool {
    matches!(g.kind, steward_config::GroupKind::Cron(_))
}

/// supervisord's `ProcessGroupConfig.__eq__`: every option counts, but not where in the
/// file a section stands (editing another section must not make this one "changed").
fn groups_equal(running: &Group, new: &GroupConfig) -> bool {
    let same_process = |a: &ProcessConfig, b: &ProcessConfig| {
        let mut a = a.clone();
        a.defined_at = b.defined_at.clone();
        a == *b
    };
    running.cfg.name == new.name
        && running.cfg.priority == new.priority
        && running.cfg.kind == new.kind
        && running.procs.len() == new.processes.len()
        && running
            .procs
            .iter()
            .zip(&new.processes)
            .all(|(p, n)| same_process(&p.cfg, n))
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
