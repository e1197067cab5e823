//! `steward daemon` and the `supervisord` personality: parse supervisord's flags, load the
//! configuration, bind the HTTP servers (before daemonizing, so a busy socket fails the
//! start), daemonize, then run the engine and the servers on one tokio runtime until a
//! shutdown. A restart (SIGHUP or `supervisor.restart`) stops every child, re-reads the
//! configuration and starts again in the same process, as supervisord does — except that a
//! configuration that no longer parses is refused and the running one is kept.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{anyhow, Context};
use steward_config::{Config, LoadOptions, LogFile, LogLevel};
use steward_engine::logs::{cleanup_auto_logs, MainLog};
use steward_engine::supervisor::Request;
use steward_engine::{EngineHandle, EngineOptions, ExitReason};
use steward_rpc::Rpc;
use steward_server::{Backend, StatusRow};

/// supervisord's command-line options (command line beats the config file).
#[derive(Debug, Default, Clone)]
pub struct DaemonArgs {
    pub configuration: Option<PathBuf>,
    pub nodaemon: bool,
    pub silent: bool,
    pub user: Option<String>,
    pub umask: Option<String>,
    pub directory: Option<PathBuf>,
    pub logfile: Option<PathBuf>,
    pub logfile_maxbytes: Option<String>,
    pub logfile_backups: Option<String>,
    pub loglevel: Option<String>,
    pub pidfile: Option<PathBuf>,
    pub identifier: Option<String>,
    pub childlogdir: Option<PathBuf>,
    pub nocleanup: bool,
    pub minfds: Option<String>,
    pub minprocs: Option<String>,
    pub strip_ansi: bool,
}

const USAGE: &str = "supervisord -- run a set of applications as daemons.

Usage: supervisord [options]

Options:
-c/--configuration FILENAME -- configuration file path (searches if not given)
-n/--nodaemon -- run in the foreground (same as 'nodaemon=true' in config file)
-s/--silent -- no logs to stdout (maps to 'silent=true' in config file)
-h/--help -- print this usage message and exit
-v/--version -- print supervisord version number and exit
-u/--user USER -- run supervisord as this user (or numeric uid)
-m/--umask UMASK -- use this umask for daemon subprocess (default is 022)
-d/--directory DIRECTORY -- directory to chdir to when daemonized
-l/--logfile FILENAME -- use FILENAME as logfile path
-y/--logfile_maxbytes BYTES -- use BYTES to limit the max size of logfile
-z/--logfile_backups NUM -- number of backups to keep when max bytes reached
-e/--loglevel LEVEL -- use LEVEL as log level (debug,info,warn,error,critical)
-j/--pidfile FILENAME -- write a pid file for the daemon process to FILENAME
-i/--identifier STR -- identifier used for this instance of supervisord
-q/--childlogdir DIRECTORY -- the log directory for child process logs
-k/--nocleanup --  prevent the process from performing cleanup (removal of
                   old automatic child log files) at startup.
-a/--minfds NUM -- the minimum number of file descriptors for start success
-t/--strip_ansi -- strip ansi escape codes from process output
--minprocs NUM  -- the minimum number of processes available for start success
";

/// Parses supervisord's argv (after the program name). `Err(code)` after printing usage.
pub fn parse_args(prog: &str, args: &[String]) -> Result<DaemonArgs, i32> {
    let mut out = DaemonArgs::default();
    let usage_error = |msg: &str| {
        eprintln!("Error: {msg}\nFor help, use {prog} -h");
        2
    };
    let mut i = 0;
    while i < args.len() {
        let arg = &args[i];
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f.to_string(), Some(v.to_string())),
            _ => (arg.clone(), None),
        };
        let takes_value = matches!(
            flag.as_str(),
            "-c" | "--configuration"
                | "-u"
                | "--user"
                | "-m"
                | "--umask"
                | "-d"
                | "--directory"
                | "-l"
                | "--logfile"
                | "-y"
                | "--logfile_maxbytes"
                | "-z"
                | "--logfile_backups"
                | "-e"
                | "--loglevel"
                | "-j"
                | "--pidfile"
                | "-i"
                | "--identifier"
                | "-q"
                | "--childlogdir"
                | "-a"
                | "--minfds"
                | "--minprocs"
                | "--profile_options"
        );
        let value = if takes_value {
            match inline {
                Some(v) => Some(v),
                None => {
                    i += 1;
                    match args.get(i) {
                        Some(v) => Some(v.clone()),
                        None => {
                            return Err(usage_error(&format!("option {flag} requires argument")))
                        }
                    }
                }
            }
        } else {
            None
        };
        match flag.as_str() {
            "-h" | "-?" | "--help" => {
                print!("{USAGE}");
                return Err(0);
            }
            "-v" | "--version" => {
                println!("{}", steward_rpc::methods::SUPERVISOR_VERSION);
                return Err(0);
            }
            "-n" | "--nodaemon" => out.nodaemon = true,
            "-s" | "--silent" => out.silent = true,
            "-k" | "--nocleanup" => out.nocleanup = true,
            "-t" | "--strip_ansi" => out.strip_ansi = true,
            "-c" | "--configuration" => out.configuration = value.map(PathBuf::from),
            "-u" | "--user" => out.user = value,
            "-m" | "--umask" => out.umask = value,
            "-d" | "--directory" => out.directory = value.map(PathBuf::from),
            "-l" | "--logfile" => out.logfile = value.map(PathBuf::from),
            "-y" | "--logfile_maxbytes" => out.logfile_maxbytes = value,
            "-z" | "--logfile_backups" => out.logfile_backups = value,
            "-e" | "--loglevel" => out.loglevel = value,
            "-j" | "--pidfile" => out.pidfile = value.map(PathBuf::from),
            "-i" | "--identifier" => out.identifier = value,
            "-q" | "--childlogdir" => out.childlogdir = value.map(PathBuf::from),
            "-a" | "--minfds" => out.minfds = value,
            "--minprocs" => out.minprocs = value,
            "--profile_options" => {}
            f if f.starts_with('-') => {
                return Err(usage_error(&format!("option {f} not recognized")));
            }
            _ => return Err(usage_error("positional arguments are not supported")),
        }
        i += 1;
    }
    Ok(out)
}

/// Finds the configuration file as supervisord does.
pub fn find_config(explicit: Option<&Path>) -> anyhow::Result<PathBuf> {
    if let Some(p) = explicit {
        return Ok(std::path::absolute(p)?);
    }
    let bindir = std::env::current_exe()
        .ok()
        .and_then(|p| p.parent().map(Path::to_path_buf));
    for candidate in steward_config::search_paths(bindir.as_deref()) {
        if candidate.exists() {
            return Ok(std::path::absolute(candidate)?);
        }
    }
    Err(anyhow!(
        "No config file found at default paths (/etc/supervisord.conf, /etc/supervisor/supervisord.conf, ./supervisord.conf, ./steward.conf); use the -c option to specify a config file at a different path"
    ))
}

fn load(path: &Path, args: &DaemonArgs) -> Result<Config, String> {
    let mut cfg =
        steward_config::load(path, &LoadOptions::from_system()).map_err(|e| e.to_string())?;
    apply_overrides(&mut cfg, args)?;
    Ok(cfg)
}

/// Like [`load`], with the error worded as supervisord's CANT_REREAD fault carries it:
/// `<reason> in section '<section>' (file: '<file>')`.
fn load_for_reread(path: &Path, args: &DaemonArgs) -> Result<Config, String> {
    let mut cfg = match steward_config::load(path, &LoadOptions::from_system()) {
        Ok(c) => c,
        Err(errors) => {
            return Err(match errors.0.first() {
                Some(d) => format!(
                    "{} in section '{}' (file: '{}')",
                    d.reason,
                    d.location.section,
                    d.location.file.display()
                ),
                None => "unknown error".into(),
            })
        }
    };
    apply_overrides(&mut cfg, args)?;
    Ok(cfg)
}

fn apply_overrides(cfg: &mut Config, a: &DaemonArgs) -> Result<(), String> {
    let s = &mut cfg.supervisord;
    if a.nodaemon {
        s.nodaemon = true;
    }
    if a.silent {
        s.silent = true;
    }
    if a.nocleanup {
        s.nocleanup = true;
    }
    if a.strip_ansi {
        s.strip_ansi = true;
    }
    if let Some(u) = &a.user {
        s.user = Some(u.clone());
    }
    if let Some(m) = &a.umask {
        s.umask = u32::from_str_radix(m.trim_start_matches("0o"), 8)
            .map_err(|_| format!("invalid umask {m:?}"))?;
    }
    if let Some(d) = &a.directory {
        s.directory = Some(d.clone());
    }
    if let Some(l) = &a.logfile {
        s.logfile = LogFile::Path(std::path::absolute(l).map_err(|e| e.to_string())?);
    }
    if let Some(v) = &a.logfile_maxbytes {
        s.logfile_maxbytes = steward_config::parse_byte_size(v)?;
    }
    if let Some(v) = &a.logfile_backups {
        s.logfile_backups = v
            .parse()
            .map_err(|_| format!("invalid logfile_backups {v:?}"))?;
    }
    if let Some(v) = &a.loglevel {
        s.loglevel = steward_config::values::parse_loglevel(v)?;
    }
    if let Some(p) = &a.pidfile {
        s.pidfile = std::path::absolute(p).map_err(|e| e.to_string())?;
    }
    if let Some(i) = &a.identifier {
        s.identifier = i.clone();
    }
    if let Some(d) = &a.childlogdir {
        s.childlogdir = d.clone();
    }
    if let Some(v) = &a.minfds {
        s.minfds = v.parse().map_err(|_| format!("invalid minfds {v:?}"))?;
    }
    if let Some(v) = &a.minprocs {
        s.minprocs = v.parse().map_err(|_| format!("invalid minprocs {v:?}"))?;
    }
    Ok(())
}

/// The `[user:x]` accounts, the token store and the audit log of the JSON API.
fn api_credentials(
    cfg: &Config,
    log: &MainLog,
) -> (
    steward_api::access::Credentials,
    Option<Arc<dyn steward_api::AuditSink>>,
) {
    let state_dir = cfg
        .steward
        .state_dir
        .clone()
        .unwrap_or_else(steward_engine::history::History::default_state_dir);
    let users = (!cfg.users.is_empty()).then(|| {
        steward_auth::Users::new(None, cfg.users.iter().map(steward_auth::UserAccount::from))
    });
    let tokens = steward_auth::TokenStore::open_lenient(&steward_auth::token_file_for(
        &cfg.steward,
        &state_dir,
    ));
    if let Some(e) = tokens.load_error() {
        log.log(LogLevel::Error, &format!("API tokens: {e}"));
    }
    let audit_path = steward_auth::audit_file_for(&cfg.steward, &state_dir);
    let audit: Option<Arc<dyn steward_api::AuditSink>> =
        match steward_auth::AuditLog::open(&audit_path, steward_auth::audit::DEFAULT_MAX_RECORDS) {
            Ok(a) => Some(Arc::new(steward_api::FileAudit::new(Arc::new(a)))),
            Err(e) => {
                log.log(
                    LogLevel::Warn,
                    &format!("audit log {} unavailable: {e}", audit_path.display()),
                );
                None
            }
        };
    (
        steward_api::access::Credentials {
            users,
            tokens: Some(tokens),
        },
        audit,
    )
}

/// XML-RPC's state-changing calls recorded in the same audit log as the API's.
fn audit_hook(sink: Arc<dyn steward_api::AuditSink>) -> steward_rpc::AuditHook {
    Arc::new(move |method: &str, target: &str, result: &str| {
        sink.record(
            "xmlrpc",
            "xmlrpc",
            &format!("xmlrpc: {method}"),
            target,
            result,
        );
    })
}

/// The HTTP server's view of the daemon.
struct DaemonBackend {
    rpc: Rpc,
    api_state: Arc<steward_api::ApiState>,
    /// Built on the first request to an API or dashboard path: building it runs code
    /// (route tables, handler boxes) that stays resident, and most daemons are only ever
    /// asked over XML-RPC (bench/analysis.md, "Memory at N=1,000").
    api: std::sync::OnceLock<axum::Router>,
}

impl Backend for DaemonBackend {
    fn api(&self) -> Option<axum::Router> {
        Some(
            self.api
                .get_or_init(|| {
                    // The dashboard reads and acts through the API's own routes; one
                    // router serves both.
                    steward_api::router(self.api_state.clone())
                        .merge(steward_web::router(self.api_state.clone()))
                })
                .clone(),
        )
    }

    fn rpc(
        &self,
        body: bytes::Bytes,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<String, u16>> + Send>> {
        let rpc = self.rpc.clone();
        Box::pin(async move {
            let reply = rpc.handle_body(&body).await;
            if reply
                .as_ref()
                .is_ok_and(|r| r.len() >= steward_engine::memory::LARGE_REPLY)
            {
                steward_engine::memory::trim_soon();
            }
            reply
        })
    }

    fn process_log_path(&self, namespec: &str, stderr: bool) -> Option<PathBuf> {
        let snap = self.rpc.engine().snapshot();
        let (group, name) = match namespec.split_once(':') {
            Some((g, p)) => (g, p),
            None => (namespec, namespec),
        };
        let p = snap.find(group, name)?;
        let path = if stderr {
            &p.stderr_logfile
        } else {
            &p.stdout_logfile
        };
        path.as_deref().map(Path::to_path_buf)
    }

    fn main_log_path(&self) -> Option<PathBuf> {
        self.rpc.engine().main_log.path().map(Path::to_path_buf)
    }

    fn status_rows(&self) -> Vec<StatusRow> {
        let snap = self.rpc.engine().snapshot();
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs_f64())
            .unwrap_or(0.0);
        snap.processes
            .iter()
            .map(|p| StatusRow {
                namespec: if p.group == p.name {
                    p.name.to_string()
                } else {
                    format!("{}:{}", p.group, p.name)
                },
                statename: p.state.name().to_string(),
                description: steward_rpc::methods::describe(p, now),
            })
            .collect()
    }

    fn version(&self) -> String {
        format!("Steward {}", env!("CARGO_PKG_VERSION"))
    }
}

fn set_rlimit(resource: nix::sys::resource::Resource, min: u64, what: &str) -> Result<(), String> {
    use nix::sys::resource::{getrlimit, setrlimit};
    let (soft, hard) = getrlimit(resource).map_err(|e| e.to_string())?;
    if soft >= min {
        return Ok(());
    }
    let is_root = nix::unistd::geteuid().is_root();
    let new_hard = if is_root { hard.max(min) } else { hard };
    if min > new_hard {
        return Err(format!(
            "The minimum number of {what} required to run this process is {min} but the hard limit is {hard}"
        ));
    }
    setrlimit(resource, min, new_hard).map_err(|e| format!("could not raise {what} limit: {e}"))
}

fn daemonize(cfg: &Config) -> anyhow::Result<()> {
    use nix::unistd::{fork, setsid, ForkResult};
    // SAFETY: called before any thread (tokio runtime) exists.
    match unsafe { fork() }.context("fork")? {
        ForkResult::Parent { .. } => std::process::exit(0),
        ForkResult::Child => {}
    }
    setsid().context("setsid")?;
    if let Some(dir) = &cfg.supervisord.directory {
        std::env::set_current_dir(dir)
            .with_context(|| format!("can't chdir into {}", dir.display()))?;
    }
    let devnull = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/null")?;
    use std::os::fd::AsRawFd;
    for fd in 0..3 {
        nix::unistd::dup2(devnull.as_raw_fd(), fd)?;
    }
    nix::sys::stat::umask(nix::sys::stat::Mode::from_bits_truncate(
        cfg.supervisord.umask,
    ));
    Ok(())
}

fn drop_privileges(user: &str) -> Result<(), String> {
    use nix::unistd::{setgid, setgroups, setuid, User};
    let record = match user.parse::<u32>() {
        Ok(uid) => User::from_uid(nix::unistd::Uid::from_raw(uid))
            .ok()
            .flatten(),
        Err(_) => User::from_name(user).ok().flatten(),
    }
    .ok_or_else(|| format!("Can't find username {user:?}"))?;
    let current = nix::unistd::getuid();
    if current == record.uid {
        return Ok(());
    }
    if !current.is_root() {
        return Err("Can't drop privilege as nonroot user".into());
    }
    let name = std::ffi::CString::new(record.name.clone()).map_err(|e| e.to_string())?;
    let mut groups = vec![record.gid];
    if let Ok(list) = nix::unistd::getgrouplist(&name, record.gid) {
        groups.extend(list.into_iter().filter(|g| *g != record.gid));
    }
    setgroups(&groups).map_err(|_| "Could not set groups of effective user".to_string())?;
    setgid(record.gid).map_err(|_| "Could not set group id of effective user".to_string())?;
    setuid(record.uid).map_err(|e| e.to_string())?;
    Ok(())
}

fn open_main_log(cfg: &Config) -> anyhow::Result<MainLog> {
    let s = &cfg.supervisord;
    let (file, syslog) = match &s.logfile {
        LogFile::Path(p) => (Some(p.clone()), false),
        LogFile::Syslog => (None, true),
        LogFile::None | LogFile::Auto => (None, false),
    };
    MainLog::new(
        file,
        syslog,
        s.logfile_maxbytes,
        s.logfile_backups,
        s.loglevel,
        s.nodaemon && !s.silent,
    )
    .context("can't open the log file")
}

/// Runs the daemon; returns the process exit code.
pub fn run(args: DaemonArgs) -> i32 {
    match run_inner(args) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("Error: {e:#}");
            2
        }
    }
}

fn run_inner(args: DaemonArgs) -> anyhow::Result<i32> {
    steward_engine::spawn::prepare_daemon_process();
    // One malloc arena for the whole daemon. glibc gives each thread that allocates its
    // own arena: the engine runs on a runtime worker, so its records would land in a
    // second arena while the memory freed after parsing the config stays in the first,
    // unused (≈ 0.5 MiB at 1,000 programs). The daemon's threads allocate little and
    // rarely at the same time, so sharing one arena costs no measurable contention.
    // SAFETY: called before the runtime starts any thread.
    #[cfg(target_env = "gnu")]
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 1);
    }
    let path = find_config(args.configuration.as_deref())?;
    let mut cfg = load(&path, &args).map_err(|e| anyhow!("{e}"))?;
    if let Some(user) = cfg.supervisord.user.clone() {
        drop_privileges(&user).map_err(|e| anyhow!("{e}"))?;
    }
    set_rlimit(
        nix::sys::resource::Resource::RLIMIT_NOFILE,
        cfg.supervisord.minfds,
        "file descriptors",
    )
    .map_err(|e| anyhow!("{e}"))?;
    set_rlimit(
        nix::sys::resource::Resource::RLIMIT_NPROC,
        cfg.supervisord.minprocs,
        "available processes",
    )
    .map_err(|e| anyhow!("{e}"))?;
    // NOTIFY_SOCKET is systemd's channel to this process only (see notify_ready).
    let base_env: Vec<(String, String)> = std::env::vars()
        .filter(|(k, _)| k != "NOTIFY_SOCKET")
        .collect();
    let mut bound = Some(
        steward_server::bind(
            &cfg.unix_http_servers,
            &cfg.inet_http_servers,
            steward_server::ServerOptions::default(),
        )
        .map_err(|e| anyhow!("{e}"))?,
    );
    if !cfg.supervisord.nodaemon {
        daemonize(&cfg)?;
    }
    // SAFETY: prctl on ourselves; harmless when already PID 1.
    if std::process::id() != 1 {
        unsafe {
            libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
        }
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        // Every runtime thread, the engine's included: see spawn::favor_latency.
        .on_thread_start(|| {
            steward_engine::spawn::favor_latency();
        })
        .enable_all()
        .build()?;
    let mut first = true;
    loop {
        let log = Arc::new(open_main_log(&cfg)?);
        if !cfg.supervisord.nocleanup {
            let _ = cleanup_auto_logs(&cfg.supervisord.childlogdir, &cfg.supervisord.identifier);
        }
        if first {
            if nix::unistd::getuid().is_root() && cfg.supervisord.user.is_none() {
                log.log(LogLevel::Critical, "Supervisor is running as root.  Privileges were not dropped because no user is specified in the config file.  If you intend to run as root, you can set user=root in the config file to avoid this message.");
            }
            for file in cfg.files.iter().skip(1) {
                log.log(
                    LogLevel::Info,
                    &format!("Included extra file \"{}\" during parsing", file.display()),
                );
            }
        }
        for w in &cfg.warnings {
            log.log(LogLevel::Warn, &w.to_string());
        }
        let bound_now = match bound.take() {
            Some(b) => b,
            None => match steward_server::bind(
                &cfg.unix_http_servers,
                &cfg.inet_http_servers,
                steward_server::ServerOptions::default(),
            ) {
                Ok(b) => b,
                Err(e) => {
                    log.log(LogLevel::Critical, &e.to_string());
                    return Ok(2);
                }
            },
        };
        for notice in bound_now.notices() {
            let level = match notice.level {
                steward_server::NoticeLevel::Critical => LogLevel::Critical,
                steward_server::NoticeLevel::Warn => LogLevel::Warn,
                steward_server::NoticeLevel::Info => LogLevel::Info,
            };
            log.log(level, &notice.message);
        }
        if first {
            write_pidfile(&cfg, &log);
        }
        // The engine owns the configuration while it runs (no second copy here); it
        // comes back with the cycle's end.
        let pidfile = cfg.supervisord.pidfile.clone();
        let reason = runtime.block_on(run_cycle(
            &path,
            &args,
            cfg,
            log.clone(),
            bound_now,
            base_env.clone(),
            first,
        ))?;
        match reason {
            (ExitReason::Shutdown, _) => {
                let _ = std::fs::remove_file(&pidfile);
                log.log(LogLevel::Info, "supervisord stopped");
                return Ok(0);
            }
            (ExitReason::Restart, next) => {
                cfg = next;
                first = false;
            }
        }
    }
}

fn write_pidfile(cfg: &Config, log: &MainLog) {
    let pid = std::process::id();
    let path = &cfg.supervisord.pidfile;
    let tmp = path.with_extension(format!("tmp{pid}"));
    let result =
        std::fs::write(&tmp, format!("{pid}\n")).and_then(|()| std::fs::rename(&tmp, path));
    match result {
        Ok(()) => log.log(
            LogLevel::Info,
            &format!("supervisord started with pid {pid}"),
        ),
        Err(e) => log.log(
            LogLevel::Critical,
            &format!("could not write pidfile {}: {e}", path.display()),
        ),
    }
}

/// One life of the engine: from start to shutdown or restart. Returns the config for the
/// next life when restarting.
/// The remote nodes of `[node:x]` sections, polled every second; `None` without any.
fn start_fleet(cfg: &Config, log: &MainLog) -> Option<Arc<steward_nodes::Fleet>> {
    let specs = match steward_nodes::node_specs(Some(cfg), &[]) {
        Ok(s) if s.is_empty() => return None,
        Ok(s) => s,
        Err(e) => {
            log.log(
                LogLevel::Error,
                &format!("nodes: {e}; not following any node"),
            );
            return None;
        }
    };
    match steward_nodes::Fleet::new(specs) {
        Ok(fleet) => {
            fleet.start(steward_nodes::fleet::DEFAULT_INTERVAL);
            Some(Arc::new(fleet))
        }
        Err(e) => {
            log.log(
                LogLevel::Error,
                &format!("nodes: {e}; not following any node"),
            );
            None
        }
    }
}

async fn run_cycle(
    path: &Path,
    args: &DaemonArgs,
    cfg: Config,
    log: Arc<MainLog>,
    bound: steward_server::BoundServers,
    base_env: Vec<(String, String)>,
    first_start: bool,
) -> anyhow::Result<(ExitReason, Config)> {
    use tokio::signal::unix::{signal, SignalKind};
    let cfg = Arc::new(cfg);
    let reparse_path = path.to_path_buf();
    let reparse_args = args.clone();
    // Handlers first: a SIGTERM during the first spawns must reach the shutdown path, and
    // the engine reads the daemon's dispositions once per pass (spawn::SignalPlan).
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    let mut quit = signal(SignalKind::quit())?;
    let mut hup = signal(SignalKind::hangup())?;
    let mut usr2 = signal(SignalKind::user_defined2())?;
    let (engine, starter) = steward_engine::prepare(EngineOptions {
        config: cfg.clone(),
        reparse: Box::new(move || load_for_reread(&reparse_path, &reparse_args)),
        main_log: log.clone(),
        base_env,
        first_start,
    });
    let host = nix::unistd::gethostname()
        .map(|h| h.to_string_lossy().into_owned())
        .unwrap_or_default();
    // Subscribed before the loop runs, so the first spawns' events are seen too. Lives as
    // long as this engine: a restart starts the next config's notifiers.
    let notifiers = steward_notify::start(&cfg, engine.clone(), host);
    let task = starter.spawn();
    // The sockets are bound (connections wait in their backlog) but answer nothing until
    // the engine holds every program: scripts and healthchecks poll getState() and act on
    // a program at once when it says RUNNING.
    engine.loaded().await;
    let rpc = Rpc::new(engine.clone());
    let (credentials, audit) = api_credentials(&cfg, &log);
    let api_state = steward_api::ApiState::new(engine.clone(), credentials, audit.clone());
    // `[node:x]` nodes: one poller each for the API and the dashboard; they stop with
    // this cycle's API state.
    api_state.set_nodes(cfg.local_node_name(), start_fleet(&cfg, &log));
    let counters: Vec<(String, Arc<steward_notify::NotifyStats>)> = notifiers
        .list
        .iter()
        .map(|n| (n.name.clone(), n.stats.clone()))
        .collect();
    let _ = api_state.notifier_counters.set(Arc::new(move || {
        use std::sync::atomic::Ordering::Relaxed;
        counters
            .iter()
            .map(|(name, s)| steward_api::NotifierCounters {
                name: name.clone(),
                delivered: s.sent.load(Relaxed),
                failed: s.failed.load(Relaxed),
                retried: s.retried.load(Relaxed),
                dropped: s.dropped.load(Relaxed),
            })
            .collect()
    }));
    let rpc = match &audit {
        Some(sink) => rpc.with_audit(audit_hook(sink.clone())),
        None => rpc,
    };
    let servers = bound
        .serve(Arc::new(DaemonBackend {
            rpc,
            api_state,
            api: std::sync::OnceLock::new(),
        }))
        .map_err(|e| anyhow!("{e}"))?;
    notify_ready(&log);

    let mut task = task;
    let mut next_config: Option<Config> = None;
    let mut shutting_down = false;
    let reason = loop {
        tokio::select! {
            r = &mut task => break r?,
            _ = term.recv() => { request_stop(&engine, &log, "SIGTERM", &mut shutting_down).await }
            _ = int.recv() => { request_stop(&engine, &log, "SIGINT", &mut shutting_down).await }
            _ = quit.recv() => { request_stop(&engine, &log, "SIGQUIT", &mut shutting_down).await }
            _ = hup.recv() => {
                if shutting_down {
                    log.log(LogLevel::Warn, "ignored SIGHUP indicating restart request (shutdown in progress)");
                    continue;
                }
                log.log(LogLevel::Warn, "received SIGHUP indicating restart request");
                match load(path, args) {
                    Ok(c) => {
                        next_config = Some(c);
                        shutting_down = true;
                        let _ = engine.call(|reply| Request::Restart { reply }).await;
                    }
                    Err(e) => log.log(
                        LogLevel::Error,
                        &format!("configuration is invalid, keeping the running configuration: {e}"),
                    ),
                }
            }
            _ = usr2.recv() => {
                log.log(LogLevel::Info, "received SIGUSR2 indicating log reopen request");
                let _ = log.reopen();
                let _ = engine.call(|reply| Request::ReopenLogs { reply }).await;
            }
        }
    };
    servers.shutdown().await;
    drop(engine);
    let next = match reason {
        ExitReason::Shutdown => Arc::try_unwrap(cfg).unwrap_or_else(|c| (*c).clone()),
        ExitReason::Restart => match next_config {
            Some(c) => c,
            None => match load(path, args) {
                Ok(c) => c,
                Err(e) => {
                    log.log(
                        LogLevel::Error,
                        &format!("configuration is invalid, restarting with the previous configuration: {e}"),
                    );
                    (*cfg).clone()
                }
            },
        },
    };
    Ok((reason, next))
}

async fn request_stop(engine: &EngineHandle, log: &MainLog, sig: &str, shutting_down: &mut bool) {
    log.log(
        LogLevel::Warn,
        &format!("received {sig} indicating exit request"),
    );
    *shutting_down = true;
    let _ = engine.call(|reply| Request::Shutdown { reply }).await;
}

/// Tells systemd (`Type=notify`, see `steward service install`) that the daemon is up:
/// the configuration is loaded, the sockets are bound and answering. One datagram
/// `READY=1` to `$NOTIFY_SOCKET` (a path, or `@name` in the abstract namespace), sent at
/// the start and again after each restart (SIGHUP), as sd_notify(3) asks. Without the
/// variable (not started by systemd) it does nothing.
fn notify_ready(log: &MainLog) {
    use std::os::unix::net::{SocketAddr, UnixDatagram};
    let Some(target) = std::env::var_os("NOTIFY_SOCKET") else {
        return;
    };
    let target = target.to_string_lossy().into_owned();
    let addr = match target.strip_prefix('@') {
        Some(name) => {
            use std::os::linux::net::SocketAddrExt;
            SocketAddr::from_abstract_name(name.as_bytes())
        }
        None => SocketAddr::from_pathname(&target),
    };
    let sent = addr.and_then(|addr| UnixDatagram::unbound()?.send_to_addr(b"READY=1", &addr));
    if let Err(e) = sent {
        log.log(
            LogLevel::Warn,
            &format!("could not notify systemd through NOTIFY_SOCKET={target}: {e}"),
        );
    }
}
