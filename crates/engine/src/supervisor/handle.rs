//! The engine's public face: the [`Request`]s the loop answers and the cheap, cloneable
//! [`EngineHandle`] through which RPC handlers, signal handlers and pumps send them and
//! read the published [`Snapshot`] and event bus without touching the loop.

use super::*;

pub(super) type Reply<T> = oneshot::Sender<Result<T, ActionError>>;

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
    /// Pause (`true`) or resume a cron job at run time.
    CronPause {
        name: String,
        paused: bool,
        reply: Reply<()>,
    },
    /// A health checker's verdict on the process spawned as `pid`.
    Health {
        key: ProcKey,
        pid: i32,
        verdict: Verdict,
    },
    /// A checker asks the loop to spawn its command probe (the loop reaps every child).
    SpawnCheck {
        key: ProcKey,
        reply: oneshot::Sender<Result<SpawnedCheck, String>>,
    },
    /// A command probe timed out: kill its process group.
    KillCheck {
        pid: i32,
    },
    /// Spawn a helper outside any process (sendmail for notifications); the loop reaps
    /// it and hands its exit status back. Killed with `KillCheck`.
    SpawnHelper {
        argv: Vec<String>,
        stdin: Vec<u8>,
        reply: oneshot::Sender<Result<SpawnedCheck, String>>,
    },
    /// `[command:x]`: spawn the declared command (its output and exit come back through
    /// the returned check, as for a health check command).
    SpawnCommand {
        cfg: Arc<steward_config::CommandConfig>,
        reply: oneshot::Sender<Result<SpawnedCheck, String>>,
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
    pub(super) tx: mpsc::UnboundedSender<Request>,
    pub(super) snapshot: watch::Receiver<Arc<Snapshot>>,
    pub(super) events: broadcast::Sender<Arc<Event>>,
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
