//! The typed configuration that the parser produces and every other crate consumes.
//!
//! Everything here is plain data: values are already interpolated, defaulted and
//! validated, `numprocs` is expanded into one [`ProcessConfig`] per process, and groups
//! are sorted the way supervisord orders them (priority, then name). `PartialEq` on
//! [`GroupConfig`] is the "changed" test of `reread`/`update` (supervisord's
//! `ProcessGroupConfig.__eq__`), so every field that supervisord compares is a field here.

use std::path::PathBuf;
use std::sync::Arc;

/// A fully parsed and validated configuration file (with its includes).
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// The main file, absolute.
    pub source: PathBuf,
    /// Every file read, main first, in read order.
    pub files: Vec<PathBuf>,
    pub supervisord: SupervisordSection,
    pub unix_http_servers: Vec<UnixHttpServer>,
    pub inet_http_servers: Vec<InetHttpServer>,
    pub supervisorctl: Option<CtlSection>,
    pub steward: StewardSection,
    /// `[cluster]` (Steward): the lock service shared by every `[cron:x]` job.
    pub cluster: Option<ClusterSection>,
    /// Program, heterogeneous, listener, fcgi and cron groups, sorted by (priority, name).
    /// Shared with the running engine's groups (no copy per group).
    pub groups: Vec<Arc<GroupConfig>>,
    /// `[rpcinterface:x]` sections; only the main factory is built in.
    pub rpcinterfaces: Vec<RpcInterfaceSection>,
    /// `[user:NAME]` sections (Steward), in file order.
    pub users: Vec<UserConfig>,
    /// `[command:NAME]` sections, in file order.
    pub commands: Vec<CommandConfig>,
    /// Non-fatal findings: unknown keys, deprecated values, ignored options.
    pub warnings: Vec<Diagnostic>,
    /// Steward's `[notify:x]` sections, in file order.
    pub notifiers: Vec<NotifyConfig>,
    /// `[node:NAME]` sections (Steward): other daemons this one shows and controls, in
    /// file order.
    pub nodes: Vec<NodeConfig>,
}

/// `[node:NAME]`: another daemon (Steward or supervisord) reached at `serverurl`.
/// `password` and the token in `token_file` are secrets: shown to nobody, sent only to
/// that node.
#[derive(Clone, PartialEq)]
pub struct NodeConfig {
    pub name: String,
    /// `http://host[:port]`, `https://host[:port]` or `unix:///path`.
    pub serverurl: String,
    pub username: Option<String>,
    pub password: Option<String>,
    /// A file holding a Steward API bearer token (read when the client is built).
    pub token_file: Option<PathBuf>,
    /// For `https://`: the CA file to trust instead of the system's roots.
    pub ca: Option<PathBuf>,
    /// Each call to the node gives up after this long (default 1 s).
    pub timeout: std::time::Duration,
    pub defined_at: Location,
}

impl std::fmt::Debug for NodeConfig {
    // The password stays out of logs and panics.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NodeConfig")
            .field("name", &self.name)
            .field("serverurl", &self.serverurl)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .field("token_file", &self.token_file)
            .field("ca", &self.ca)
            .field("timeout", &self.timeout)
            .finish()
    }
}

/// `[notify:name]`: one destination for crash and health notifications.
#[derive(Debug, Clone, PartialEq)]
pub struct NotifyConfig {
    pub name: String,
    pub webhook: Option<WebhookTarget>,
    /// The Standard Webhooks key (the bytes after `whsec_`, base64-decoded), or the
    /// secret's own bytes when it has no `whsec_` prefix.
    pub secret: Option<Vec<u8>>,
    pub email: Vec<String>,
    /// The sendmail-compatible command (default `/usr/sbin/sendmail -t -i`).
    pub sendmail: String,
    pub events: Vec<NotifyEvent>,
    /// `groups =` patterns; a process notifies when its group matches one.
    pub groups: Vec<glob::Pattern>,
    /// Zero: one message per event. Otherwise events are collected this long.
    pub batch_window: std::time::Duration,
    pub timeout: std::time::Duration,
    pub retries: u32,
    /// Notices waiting for delivery at most; beyond it the oldest is dropped (and
    /// counted in `/metrics`).
    pub queue_size: usize,
}

/// An `http://` webhook address, split for the client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookTarget {
    pub url: String,
    pub host: String,
    pub port: u16,
    pub path: String,
}

/// What a notifier can be told about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotifyEvent {
    /// `PROCESS_STATE_FATAL`.
    Fatal,
    /// `PROCESS_STATE_EXITED` with `expected:0` (as superlance's crashmail), not cron jobs.
    UnexpectedExit,
    /// `PROCESS_STATE_BACKOFF`.
    Backoff,
    /// `PROCESS_HEALTH_UNHEALTHY`.
    Unhealthy,
    /// `CRON_FAILED`: a `[cron:x]` run did not end with exit status 0 (or never started).
    CronFailed,
    /// `CRON_TIMED_OUT`: a `[cron:x]` run was stopped at its `timeout`.
    CronTimedOut,
    /// `CRON_SKIPPED`: a fire of a `[cron:x]` job with a cluster lock was not run by this
    /// node (Redis unreachable, still running elsewhere…). Not in the default set.
    CronSkipped,
    /// `CRON_MISSED`: fires of a `[cron:x]` job that ran nowhere (the daemon was down or
    /// asleep beyond `catchup`, or the overlap policy skipped them). Not in the default
    /// set.
    CronMissed,
}

/// Where a value came from, for messages of the form `file:line: [section] key = value: reason`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Location {
    pub file: PathBuf,
    pub line: usize,
    pub section: String,
    pub key: String,
    pub value: String,
}

/// A warning or error found while reading the configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub location: Location,
    pub reason: String,
}

impl std::fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let l = &self.location;
        write!(f, "{}:{}: [{}]", l.file.display(), l.line, l.section)?;
        if !l.key.is_empty() {
            write!(f, " {} = {}", l.key, l.value)?;
        }
        write!(f, ": {}", self.reason)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum LogLevel {
    Blather = 3,
    Trace = 5,
    Debug = 10,
    Info = 20,
    Warn = 30,
    Error = 40,
    Critical = 50,
}

impl LogLevel {
    /// The four-letter code supervisord writes in its activity log.
    pub fn code(self) -> &'static str {
        match self {
            LogLevel::Blather => "BLAT",
            LogLevel::Trace => "TRAC",
            LogLevel::Debug => "DEBG",
            LogLevel::Info => "INFO",
            LogLevel::Warn => "WARN",
            LogLevel::Error => "ERRO",
            LogLevel::Critical => "CRIT",
        }
    }
}

/// A log destination as written in the config (`AUTO`, `NONE`, `syslog`, or a path).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogFile {
    Auto,
    None,
    /// The deprecated `syslog` file name; the parser also turns on `*_syslog`.
    Syslog,
    Path(PathBuf),
}

#[derive(Debug, Clone, PartialEq)]
pub struct SupervisordSection {
    /// `None` when the value is `syslog`.
    pub logfile: LogFile,
    pub logfile_maxbytes: u64,
    pub logfile_backups: u32,
    pub loglevel: LogLevel,
    pub pidfile: PathBuf,
    pub umask: u32,
    pub nodaemon: bool,
    pub silent: bool,
    pub minfds: u64,
    pub minprocs: u64,
    pub nocleanup: bool,
    pub childlogdir: PathBuf,
    pub user: Option<String>,
    pub directory: Option<PathBuf>,
    pub strip_ansi: bool,
    pub environment: Vec<(String, String)>,
    pub identifier: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct UnixHttpServer {
    /// The section name (`unix_http_server` or a name starting with it).
    pub section: String,
    pub file: PathBuf,
    pub chmod: u32,
    /// `user[:group]` as written; resolved by the server when binding.
    pub chown: Option<String>,
    pub username: Option<String>,
    pub password: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct InetHttpServer {
    pub section: String,
    /// Host as written (lowercased); empty or `*` means all interfaces. May be an IPv6
    /// literal in brackets (a Steward extension).
    pub host: String,
    pub port: u16,
    pub username: Option<String>,
    pub password: Option<String>,
    /// `base_path` (Steward): the sub-path a reverse proxy serves this listener under,
    /// e.g. `/steward` (normalised: a leading slash, no trailing one). Requests may come
    /// with or without it; the session cookie's `Path` is set to it.
    pub base_path: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct CtlSection {
    pub serverurl: String,
    pub username: Option<String>,
    pub password: Option<String>,
    pub prompt: String,
    pub history_file: Option<PathBuf>,
}

/// Steward's own `[steward]` section (ignored by supervisord).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct StewardSection {
    /// Where run history and other persistent state live. `None`: the default
    /// (`/var/lib/steward` as root, else `$XDG_STATE_HOME/steward` or `~/.local/state/steward`).
    pub state_dir: Option<PathBuf>,
    /// `token_file`: the API's bearer-token file. `None`: `<state_dir>/tokens.json` (see
    /// `steward_auth::token_file`).
    pub token_file: Option<PathBuf>,
    /// `node`: this daemon's name among `[node:x]` nodes (see `Config::local_node_name`).
    pub node: Option<String>,
}

/// A `[command:NAME]` section (Steward): a one-shot command the API may run on request.
#[derive(Debug, Clone, PartialEq)]
pub struct CommandConfig {
    pub name: String,
    /// Run with `/bin/sh -c`, as a cron job's or program's command line is written.
    pub command: String,
    pub directory: Option<PathBuf>,
    pub user: Option<String>,
    pub environment: Vec<(String, String)>,
    /// Seconds before the command (its whole process group) is killed.
    pub timeout: u64,
    pub description: String,
    pub defined_at: Location,
}

/// A `[user:NAME]` section (Steward): a password user of the API and the web panel.
#[derive(Debug, Clone, PartialEq)]
pub struct UserConfig {
    pub name: String,
    pub password: crate::access::StoredPassword,
    /// `role`, default `viewer`.
    pub role: crate::access::Role,
    /// `groups`: group-name globs; `None`: every group.
    pub groups: Option<Vec<String>>,
    pub defined_at: Location,
}

/// What a locked cron job does when the lock service cannot be reached in time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LockUnavailable {
    /// Do not run the fire (at most once); recorded as skipped.
    #[default]
    Skip,
    /// Run it anyway (at least once; several nodes may run the same fire).
    Run,
}

/// What a locked run does when its cluster lease was lost (it expired, e.g. while the
/// node was paused, and maybe another node holds it now).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OnLockLost {
    /// Keep running (default): killing a half-done job is usually worse.
    #[default]
    Continue,
    /// Stop the run with its `stopsignal`.
    Stop,
}

/// A `[cron:x]` job's `lock =`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum CronLock {
    /// Not set: the `[cluster]` section's `lock`, if any.
    #[default]
    Inherit,
    /// `lock = none`: this job runs on every node even inside a cluster.
    Off,
    /// `redis://…`, already checked by `steward_cluster::check_url`.
    Url(String),
}

/// `[cluster]`: defaults for every `[cron:x]` job's lock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterSection {
    /// `redis://…` for every cron job without its own `lock`; `None`: only jobs with
    /// their own `lock` are coordinated.
    pub lock: Option<String>,
    /// Part of every key, so clusters sharing a server stay apart. Default `default`.
    pub namespace: String,
    /// This node's name in claims, leases and history; `None` = the host name.
    pub node: Option<String>,
    /// Milliseconds a claim of a fire instant lives (default 1 h).
    pub claim_ttl_ms: u64,
    /// Milliseconds of a run lease, renewed every third of it (default 30 s).
    pub lease_ms: u64,
    /// Milliseconds each call to the lock service may take (default 500).
    pub deadline_ms: u64,
    /// `rediss://`: PEM root certificate(s) to trust instead of the system's.
    pub lock_ca: Option<std::path::PathBuf>,
    pub lock_unavailable: LockUnavailable,
    pub on_lock_lost: OnLockLost,
}

impl Default for ClusterSection {
    fn default() -> Self {
        ClusterSection {
            lock: None,
            namespace: "default".into(),
            node: None,
            claim_ttl_ms: 3_600_000,
            lease_ms: 30_000,
            deadline_ms: 500,
            lock_ca: None,
            lock_unavailable: LockUnavailable::Skip,
            on_lock_lost: OnLockLost::Continue,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct RpcInterfaceSection {
    pub name: String,
    pub factory: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AutoRestart {
    Never,
    Unexpected,
    Always,
}

/// One output channel's logging options.
#[derive(Debug, Clone, PartialEq)]
pub struct LogChannelConfig {
    pub file: LogFile,
    pub maxbytes: u64,
    pub backups: u32,
    pub capture_maxbytes: u64,
    pub events_enabled: bool,
    pub syslog: bool,
}

/// The kind of a group, with the options only that kind has.
#[derive(Debug, Clone, PartialEq)]
pub enum GroupKind {
    /// `[program:x]`: a homogeneous group of `numprocs` processes.
    Program,
    /// `[group:x] programs=…`.
    Heterogeneous,
    /// `[eventlistener:x]`: a listener pool.
    EventListener {
        events: Vec<String>,
        buffer_size: usize,
        result_handler: String,
    },
    /// `[fcgi-program:x]`.
    Fcgi {
        socket: String,
        socket_backlog: Option<u32>,
        socket_owner: Option<String>,
        socket_mode: u32,
    },
    /// `[cron:x]` (Steward): one process started at the schedule's fire times.
    Cron(CronConfig),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Overlap {
    Skip,
    Queue,
    Allow,
}

#[derive(Debug, Clone, PartialEq)]
pub struct CronConfig {
    /// The expression as written; already validated by `steward_cron::Schedule::parse`.
    pub schedule: String,
    /// IANA name; `None` = the daemon's local zone.
    pub timezone: Option<String>,
    pub overlap: Overlap,
    /// Seconds; `None` = no timeout.
    pub timeout: Option<u64>,
    pub catchup: u32,
    /// Upper bound of the random start delay, in seconds.
    pub jitter: u64,
    pub history: u32,
    pub enabled: bool,
    pub lock: CronLock,
    /// `None`: the `[cluster]` section's (default `skip`).
    pub lock_unavailable: Option<LockUnavailable>,
    /// Steward: Healthchecks.io-style URL pinged at each run's start and end.
    pub ping_url: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct GroupConfig {
    pub name: String,
    pub priority: i32,
    pub kind: GroupKind,
    /// Sorted by (priority, name). Shared so the running engine's process records use
    /// these configs instead of holding copies.
    pub processes: Vec<Arc<ProcessConfig>>,
}

/// Everything needed to spawn and manage one process.
#[derive(Debug, Clone, PartialEq)]
pub struct ProcessConfig {
    /// The process name after `process_name` expansion (`foo_00`).
    pub name: String,
    /// The section's own name (`foo` of `[program:foo]`).
    pub program_name: String,
    /// The raw command after interpolation; split with POSIX shell quoting at spawn.
    pub command: String,
    pub priority: i32,
    pub autostart: bool,
    pub startsecs: u64,
    pub startretries: u32,
    pub autorestart: AutoRestart,
    pub exitcodes: Vec<i32>,
    /// Signal number.
    pub stopsignal: i32,
    pub stopwaitsecs: u64,
    pub stopasgroup: bool,
    pub killasgroup: bool,
    /// Steward: SIGKILL the processes still in the child's process group once the child
    /// has exited (`kill_orphans`; default `[supervisord] kill_orphans`, else false).
    pub kill_orphans: bool,
    /// User name or uid as written; validated to exist at parse time.
    pub user: Option<String>,
    /// Resolved uid of `user`, for getAllConfigInfo.
    pub uid: Option<u32>,
    pub redirect_stderr: bool,
    pub stdout: LogChannelConfig,
    pub stderr: LogChannelConfig,
    /// The program's own `environment=` after per-process interpolation.
    pub environment: Vec<(String, String)>,
    pub directory: Option<PathBuf>,
    pub umask: Option<u32>,
    /// `SUPERVISOR_SERVER_URL` for the child; `None` = AUTO (derived from the servers).
    pub serverurl: Option<String>,
    /// Location of the section header, for runtime messages and `steward check`.
    pub defined_at: Location,
    /// Steward: the programs this one waits for before it starts (`depends_on`).
    pub depends_on: Vec<Dependency>,
    /// Steward: what a running dependent does when a dependency goes down.
    pub on_dependency_failure: DependencyFailure,
    /// Steward: how readiness and health are judged. `None` when no such key is set,
    /// which is most programs (boxed: every process record carries this field).
    pub health: Option<Box<HealthConfig>>,
}

/// One `depends_on` entry: `program[:condition]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dependency {
    /// The program's section name (`db` of `[program:db]`); every process of it counts.
    pub program: String,
    pub condition: DependencyCondition,
}

/// When a dependency counts as met.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DependencyCondition {
    /// Spawned: STARTING or RUNNING (or it already ran and exited).
    Started,
    /// RUNNING: it stayed up for `startsecs`.
    Running,
    /// RUNNING and its health check (or `READY=1`) passed.
    Healthy,
    /// EXITED, whatever the exit status.
    Completed,
    /// EXITED with status 0.
    CompletedSuccessfully,
    /// It printed a line matching its `ready_log_line`.
    LogReady,
}

impl DependencyCondition {
    /// The name as written in `depends_on`.
    pub fn name(self) -> &'static str {
        match self {
            DependencyCondition::Started => "started",
            DependencyCondition::Running => "running",
            DependencyCondition::Healthy => "healthy",
            DependencyCondition::Completed => "completed",
            DependencyCondition::CompletedSuccessfully => "completed_successfully",
            DependencyCondition::LogReady => "log_ready",
        }
    }
}

/// `on_dependency_failure`: what happens to a running dependent whose dependency stops
/// meeting its condition (it exits, is stopped, or turns unhealthy).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DependencyFailure {
    /// Nothing: the dependent keeps running (the safe default: no cascade of stops).
    #[default]
    Ignore,
    /// Stop the dependent and leave it stopped.
    Stop,
    /// Stop the dependent and start it again once the dependency meets its condition.
    Restart,
}

/// A program's health and readiness options.
#[derive(Debug, Clone, PartialEq)]
pub struct HealthConfig {
    /// `healthcheck`; `None` when only `ready_log_line`, `sd_notify` or `watchdog_sec` is set.
    pub check: Option<HealthCheck>,
    pub interval: std::time::Duration,
    pub timeout: std::time::Duration,
    /// Consecutive failures that make the process unhealthy.
    pub retries: u32,
    /// Failures this soon after the spawn do not count.
    pub start_period: std::time::Duration,
    pub action: HealthAction,
    /// `ready_log_line`: a regular expression (already validated) matched against each
    /// output line.
    pub ready_log_line: Option<String>,
    /// `sd_notify = true`: the child gets `$NOTIFY_SOCKET`; `READY=1` makes it healthy.
    pub sd_notify: bool,
    /// `watchdog_sec`: with `sd_notify`, no `WATCHDOG=1` for this long makes it unhealthy.
    pub watchdog: Option<std::time::Duration>,
}

/// What `healthcheck =` probes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HealthCheck {
    /// `http://host:port/path`: healthy on a 2xx or 3xx answer.
    Http {
        url: String,
        host: String,
        port: u16,
        /// Path and query, starting with `/`.
        path: String,
    },
    /// `tcp://host:port`: healthy when a connection opens.
    Tcp { host: String, port: u16 },
    /// Anything else: a command line, healthy when it exits 0.
    Command(String),
}

/// `healthcheck_action`: what an unhealthy process gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HealthAction {
    /// Stop it (stopsignal, stopwaitsecs) and start it again.
    Restart,
    /// Only report it.
    None,
}
