//! Shared harness for the black-box tests of the daemon (`tests/daemon_*.rs`).
//!
//! Every test gets its own temp dir (under /tmp, so socket paths stay short), writes a
//! config from a template, starts a daemon — Steward (`steward daemon -n -c FILE`) or the
//! reference (`$STEWARD_TEST_VENV/bin/supervisord -n -c FILE`) — behind one interface,
//! and drives it with the REAL supervisorctl 4.3.0 (`Daemon::ctl`), `steward ctl`
//! (`Daemon::steward_ctl`) or raw XML-RPC (`Daemon::rpc`, a small Rust client on the UNIX
//! socket).
//!
//! Template placeholders: `{dir}` (the temp dir), `{sock}` (the UNIX socket path), `{port}`
//! (a free TCP port on 127.0.0.1), `{python}` (the venv's python), `{logdir}` (the
//! childlogdir, created), `{conf}` (the config file path).
//!
//! Targets: tests that check behaviour shared with supervisord run against
//! `target()`: Steward by default, real supervisord with `STEWARD_TEST_TARGET=supervisord`
//! (that is how the tests themselves are validated). `compare_with_reference` runs one
//! scenario against both daemons at once and compares the masked supervisorctl outputs
//! (with `STEWARD_TEST_TARGET=supervisord` it runs the reference twice, which proves that
//! the scenario and `mask` are deterministic).
//!
//! Clean-up: each daemon runs as the leader of its own session (setsid), and `Drop`
//! SIGKILLs every process of that session — the daemon, its children (each in its own
//! process group) and their orphans — then reaps the daemon. `STEWARD_TEST_KEEP=1` keeps
//! the temp dirs. On a failing test the daemon's stdout/stderr and main log are printed.
#![allow(dead_code)]

use std::fmt;
use std::fs;
use std::io::{Read, Write};
use std::net::TcpListener;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::io::AsRawFd;
use std::os::unix::net::UnixStream;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

pub use serde_json::{json, Value};

/// How long a daemon may take to answer on its socket after being started.
pub const START_TIMEOUT: Duration = Duration::from_secs(10);
/// How long one supervisorctl / steward ctl invocation may take.
pub const CTL_TIMEOUT: Duration = Duration::from_secs(30);

// ------------------------------------------------------------------ targets and tools

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    Steward,
    Supervisord,
}

impl Target {
    pub fn name(self) -> &'static str {
        match self {
            Target::Steward => "steward",
            Target::Supervisord => "supervisord",
        }
    }
}

/// The daemon under test: `STEWARD_TEST_TARGET=supervisord` runs the tests against the
/// reference to validate them; anything else (or unset) means Steward.
pub fn target() -> Target {
    match std::env::var("STEWARD_TEST_TARGET").as_deref() {
        Ok("supervisord") | Ok("reference") => Target::Supervisord,
        Ok("") | Ok("steward") | Err(_) => Target::Steward,
        Ok(other) => panic!("STEWARD_TEST_TARGET={other}: expected `steward` or `supervisord`"),
    }
}

pub fn is_reference() -> bool {
    target() == Target::Supervisord
}

/// The Python venv with supervisor==4.3.0 and superlance.
pub fn venv() -> PathBuf {
    let dir = match std::env::var_os("STEWARD_TEST_VENV") {
        Some(v) if !v.is_empty() => PathBuf::from(v),
        _ => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.venv"),
    };
    for bin in ["supervisord", "supervisorctl", "python"] {
        if !dir.join("bin").join(bin).exists() {
            panic!(
                "the supervisor 4.3.0 venv is missing ({} has no bin/{bin}).\n\
                 Run `bash scripts/test.sh` (it creates <repo>/.venv), or:\n  \
                 python3 -m venv .venv && .venv/bin/pip install supervisor==4.3.0 superlance\n  \
                 export STEWARD_TEST_VENV=$PWD/.venv",
                dir.display()
            );
        }
    }
    dir
}

pub fn python() -> PathBuf {
    venv().join("bin/python")
}

pub fn steward_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_steward"))
}

/// A TCP port on 127.0.0.1 that was free a moment ago.
pub fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    l.local_addr().unwrap().port()
}

/// Poll `cond` every 25 ms until it is true (returns true) or `timeout` passes (false).
pub fn wait_until(timeout: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if cond() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(25));
    }
}

/// Poll `cond` for the whole `duration`: false as soon as it is false once.
pub fn holds_for(duration: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + duration;
    while Instant::now() < deadline {
        if !cond() {
            return false;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    cond()
}

pub fn secs(s: f64) -> Duration {
    Duration::from_secs_f64(s)
}

// ------------------------------------------------------------------ command output

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Output {
    pub stdout: String,
    pub stderr: String,
    /// The exit code, or 128 + signal number when killed by a signal, or -1 on timeout.
    pub code: i32,
}

impl fmt::Display for Output {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "exit code {}\n--- stdout ---\n{}--- stderr ---\n{}",
            self.code, self.stdout, self.stderr
        )
    }
}

fn code_of(st: ExitStatus) -> i32 {
    st.code().unwrap_or_else(|| 128 + st.signal().unwrap_or(0))
}

/// Run a command with stdin closed, collecting its output, killing it after `timeout`.
pub fn run_with_timeout(cmd: &mut Command, timeout: Duration) -> Output {
    let dir = tempfile::Builder::new()
        .prefix("stw-out")
        .tempdir_in("/tmp")
        .unwrap();
    let (o, e) = (dir.path().join("o"), dir.path().join("e"));
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(fs::File::create(&o).unwrap())
        .stderr(fs::File::create(&e).unwrap())
        .spawn()
        .unwrap_or_else(|err| panic!("cannot run {cmd:?}: {err}"));
    let deadline = Instant::now() + timeout;
    let code = loop {
        if let Some(st) = child.try_wait().unwrap() {
            break code_of(st);
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            break -1;
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let read = |p: &Path| String::from_utf8_lossy(&fs::read(p).unwrap_or_default()).into_owned();
    let out = Output {
        stdout: read(&o),
        stderr: read(&e),
        code,
    };
    if code == -1 {
        panic!("{cmd:?} did not finish within {timeout:?}\n{out}");
    }
    out
}

// ------------------------------------------------------------------ config files

const HEADER: &str = "\
[unix_http_server]
file={sock}

[supervisord]
logfile={dir}/supervisord.log
pidfile={dir}/supervisord.pid
childlogdir={logdir}
loglevel=info
identifier=supervisor
{supervisord_extra}

[rpcinterface:supervisor]
supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface

[supervisorctl]
serverurl=unix://{sock}

";

/// A temp dir holding one daemon's config file, socket, logs and test files.
pub struct Conf {
    tmp: Option<tempfile::TempDir>,
    pub dir: PathBuf,
    pub path: PathBuf,
    pub sock: PathBuf,
    pub port: u16,
}

impl Conf {
    /// The standard header (unix socket, main log, pidfile, childlogdir, rpcinterface,
    /// supervisorctl) followed by `programs`.
    pub fn new(programs: &str) -> Conf {
        Conf::with_supervisord("", programs)
    }

    /// Like `new`, with extra lines in the `[supervisord]` section.
    pub fn with_supervisord(supervisord_extra: &str, programs: &str) -> Conf {
        let c = Conf::empty();
        c.write_with_supervisord(supervisord_extra, programs);
        c
    }

    /// The whole file is `template` (no standard header).
    pub fn raw(template: &str) -> Conf {
        let c = Conf::empty();
        c.write_raw(template);
        c
    }

    fn empty() -> Conf {
        let tmp = tempfile::Builder::new()
            .prefix("stw-")
            .tempdir_in("/tmp")
            .expect("create a temp dir");
        let dir = tmp.path().to_path_buf();
        fs::create_dir_all(dir.join("childlogs")).unwrap();
        let keep = std::env::var_os("STEWARD_TEST_KEEP").is_some();
        Conf {
            path: dir.join("supervisord.conf"),
            sock: dir.join("supervisor.sock"),
            port: free_port(),
            dir,
            tmp: if keep {
                let _ = tmp.keep();
                None
            } else {
                Some(tmp)
            },
        }
    }

    /// Substitute the placeholders of the module docs.
    pub fn render(&self, template: &str) -> String {
        template
            .replace("{sock}", &self.sock.display().to_string())
            .replace(
                "{logdir}",
                &self.dir.join("childlogs").display().to_string(),
            )
            .replace("{conf}", &self.path.display().to_string())
            .replace("{dir}", &self.dir.display().to_string())
            .replace("{port}", &self.port.to_string())
            .replace("{python}", &python().display().to_string())
    }

    /// Rewrite the config (standard header + programs), e.g. before a SIGHUP.
    pub fn write(&self, programs: &str) {
        self.write_with_supervisord("", programs);
    }

    pub fn write_with_supervisord(&self, supervisord_extra: &str, programs: &str) {
        let text = HEADER.replace("{supervisord_extra}", supervisord_extra) + programs;
        self.write_raw(&text);
    }

    pub fn write_raw(&self, template: &str) {
        fs::write(&self.path, self.render(template)).unwrap();
    }

    /// The config file as written.
    pub fn text(&self) -> String {
        fs::read_to_string(&self.path).unwrap()
    }

    /// The 1-based line number of the first line of the written config containing `needle`.
    pub fn line_of(&self, needle: &str) -> usize {
        self.text()
            .lines()
            .position(|l| l.contains(needle))
            .unwrap_or_else(|| panic!("{needle:?} is not in the config"))
            + 1
    }

    /// Write an executable script (placeholders substituted) into the temp dir.
    pub fn script(&self, name: &str, body: &str) -> PathBuf {
        let p = self.dir.join(name);
        fs::write(&p, self.render(body)).unwrap();
        fs::set_permissions(&p, fs::Permissions::from_mode(0o755)).unwrap();
        p
    }

    pub fn file(&self, rel: &str) -> PathBuf {
        self.dir.join(rel)
    }

    /// A file of the temp dir, or "" when it does not exist (yet).
    pub fn read(&self, rel: &str) -> String {
        String::from_utf8_lossy(&fs::read(self.dir.join(rel)).unwrap_or_default()).into_owned()
    }

    pub fn lines(&self, rel: &str) -> Vec<String> {
        self.read(rel).lines().map(str::to_owned).collect()
    }

    /// Names of the files in the childlogdir, sorted.
    pub fn childlogs(&self) -> Vec<String> {
        let mut v: Vec<String> = fs::read_dir(self.dir.join("childlogs"))
            .map(|rd| {
                rd.filter_map(|e| e.ok())
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        v.sort();
        v
    }
}

// ------------------------------------------------------------------ /proc

#[derive(Clone, Debug)]
pub struct ProcStat {
    pub pid: i32,
    pub comm: String,
    pub state: char,
    pub ppid: i32,
    pub pgrp: i32,
    pub session: i32,
}

pub fn proc_stat(pid: i32) -> Option<ProcStat> {
    let s = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let open = s.find('(')?;
    let close = s.rfind(')')?;
    let comm = s[open + 1..close].to_owned();
    let rest: Vec<&str> = s[close + 2..].split_whitespace().collect();
    Some(ProcStat {
        pid,
        comm,
        state: rest.first()?.chars().next()?,
        ppid: rest.get(1)?.parse().ok()?,
        pgrp: rest.get(2)?.parse().ok()?,
        session: rest.get(3)?.parse().ok()?,
    })
}

pub fn processes() -> Vec<ProcStat> {
    let mut v = Vec::new();
    if let Ok(rd) = fs::read_dir("/proc") {
        for e in rd.flatten() {
            if let Some(pid) = e.file_name().to_str().and_then(|n| n.parse::<i32>().ok()) {
                if let Some(st) = proc_stat(pid) {
                    v.push(st);
                }
            }
        }
    }
    v
}

/// The process exists and is not a zombie.
pub fn pid_alive(pid: i32) -> bool {
    proc_stat(pid).is_some_and(|s| s.state != 'Z' && s.state != 'X')
}

pub fn kill(pid: i32, sig: i32) {
    // SAFETY: kill(2) has no memory-safety preconditions.
    unsafe {
        libc::kill(pid, sig);
    }
}

// ------------------------------------------------------------------ the daemon

pub struct Daemon {
    pub conf: Conf,
    pub target: Target,
    child: Child,
    /// The daemon's pid; it is also its session id and process group id.
    pub pid: i32,
    exited: Option<ExitStatus>,
    /// The threads copying the daemon's stdout/stderr pipes into files.
    copiers: Vec<std::thread::JoinHandle<()>>,
}

/// XML-RPC fault.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fault {
    pub code: i64,
    pub string: String,
}

impl Daemon {
    /// Start the daemon under test (`target()`) and wait until its socket answers.
    pub fn start(conf: Conf) -> Daemon {
        Daemon::start_target(target(), conf)
    }

    pub fn start_steward(conf: Conf) -> Daemon {
        Daemon::start_target(Target::Steward, conf)
    }

    pub fn start_supervisord(conf: Conf) -> Daemon {
        Daemon::start_target(Target::Supervisord, conf)
    }

    /// The command line: `steward daemon -n -c FILE` or `supervisord -n -c FILE`.
    pub fn command(target: Target, conf: &Conf) -> Command {
        let mut cmd = match target {
            Target::Steward => {
                let mut c = Command::new(steward_bin());
                c.arg("daemon");
                c
            }
            Target::Supervisord => Command::new(venv().join("bin/supervisord")),
        };
        cmd.arg("-n").arg("-c").arg(&conf.path);
        cmd.current_dir(&conf.dir)
            .env("STEWARD_TEST_INHERITED", "inherited-from-daemon")
            .env("PYTHONUNBUFFERED", "1")
            .env_remove("SUPERVISOR_ENABLED")
            .env_remove("SUPERVISOR_SERVER_URL")
            .env_remove("SUPERVISOR_PROCESS_NAME")
            .env_remove("SUPERVISOR_GROUP_NAME");
        cmd
    }

    /// Spawn the daemon in its own session, stdout/stderr through pipes copied to
    /// `<dir>/daemon.stdout` / `daemon.stderr`, with an extra inherited fd 9 that must not
    /// reach the children. Does not wait for the socket.
    pub fn spawn(target: Target, conf: Conf) -> Daemon {
        Daemon::spawn_wrapped(target, conf, &[], &[])
    }

    /// Start Steward with extra environment variables (e.g. the test-only clock offset)
    /// and wait until its socket answers.
    pub fn start_steward_with_env(conf: Conf, env: &[(&str, String)]) -> Daemon {
        Daemon::spawn_wrapped(Target::Steward, conf, &[], env).wait_ready()
    }

    /// Start the daemon under a wrapper command (e.g. `unshare --pid --fork` to make it
    /// PID 1 of a new pid namespace) and wait until its socket answers. `pid` is then the
    /// wrapper's pid (still the session id); see `daemon_pid_in_session`.
    pub fn start_wrapped(target: Target, conf: Conf, wrapper: &[&str]) -> Daemon {
        let d = Daemon::spawn_wrapped(target, conf, wrapper, &[]);
        d.wait_ready()
    }

    pub fn spawn_wrapped(
        target: Target,
        conf: Conf,
        wrapper: &[&str],
        env: &[(&str, String)],
    ) -> Daemon {
        let leak = fs::File::create(conf.dir.join("inherited-fd9")).unwrap();
        let leak_fd = leak.as_raw_fd();
        let mut cmd = Daemon::command(target, &conf);
        for (k, v) in env {
            cmd.env(k, v);
        }
        if let Some((first, rest)) = wrapper.split_first() {
            let mut w = Command::new(first);
            w.args(rest).arg(cmd.get_program()).args(cmd.get_args());
            w.current_dir(&conf.dir);
            for (k, v) in cmd.get_envs() {
                match v {
                    Some(v) => w.env(k, v),
                    None => w.env_remove(k),
                };
            }
            cmd = w;
        }
        cmd.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        // SAFETY: only async-signal-safe calls (setsid, dup2) between fork and exec.
        unsafe {
            cmd.pre_exec(move || {
                if libc::setsid() < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                // dup2 clears FD_CLOEXEC: fd 9 is inherited by the daemon.
                if libc::dup2(leak_fd, 9) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let mut child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {:?}: {e}", cmd.get_program()));
        drop(leak);
        let mut copiers = Vec::new();
        for (pipe, name) in [
            (
                child
                    .stdout
                    .take()
                    .map(|p| Box::new(p) as Box<dyn Read + Send>),
                "daemon.stdout",
            ),
            (
                child
                    .stderr
                    .take()
                    .map(|p| Box::new(p) as Box<dyn Read + Send>),
                "daemon.stderr",
            ),
        ] {
            let mut pipe = pipe.unwrap();
            let mut file = fs::File::create(conf.dir.join(name)).unwrap();
            copiers.push(std::thread::spawn(move || {
                let mut buf = [0u8; 8192];
                while let Ok(n) = pipe.read(&mut buf) {
                    if n == 0 || file.write_all(&buf[..n]).is_err() {
                        break;
                    }
                }
            }));
        }
        let pid = child.id() as i32;
        Daemon {
            conf,
            target,
            child,
            pid,
            exited: None,
            copiers,
        }
    }

    /// Wait (up to `timeout`) until the daemon's stdout and stderr pipes are at EOF and
    /// fully copied into `daemon.stdout` / `daemon.stderr`.
    pub fn drain_output(&self, timeout: Duration) -> bool {
        wait_until(timeout, || self.copiers.iter().all(|h| h.is_finished()))
    }

    pub fn start_target(target: Target, conf: Conf) -> Daemon {
        Daemon::spawn(target, conf).wait_ready()
    }

    fn wait_ready(mut self) -> Daemon {
        let d = &mut self;
        let target = d.target;
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            if d.rpc("supervisor.getState", vec![]).is_ok() {
                return self;
            }
            if let Some(st) = d.try_wait() {
                // (Drop prints the daemon's output and log.)
                panic!(
                    "{} exited ({st}) before answering on {}",
                    target.name(),
                    d.conf.sock.display()
                );
            }
            if Instant::now() >= deadline {
                panic!(
                    "{} did not answer on {} within {START_TIMEOUT:?}",
                    target.name(),
                    d.conf.sock.display()
                );
            }
            std::thread::sleep(Duration::from_millis(25));
        }
    }

    /// Run the daemon on a config that it must refuse: returns its output once it exits
    /// (panics if it is still running after `timeout`).
    pub fn run_to_exit(target: Target, conf: Conf, timeout: Duration) -> (Output, Conf) {
        let mut d = Daemon::spawn(target, conf);
        let st = d.wait_exit(timeout);
        if st.is_none() {
            panic!(
                "{} kept running on a config it should refuse\n{}",
                target.name(),
                d.diagnostics()
            );
        }
        d.drain_output(Duration::from_secs(5));
        let out = Output {
            stdout: d.stdout(),
            stderr: d.stderr(),
            code: code_of(st.unwrap()),
        };
        let conf = d.take_conf();
        (out, conf)
    }

    fn take_conf(mut self) -> Conf {
        self.kill_all();
        let placeholder = Conf {
            tmp: None,
            dir: PathBuf::new(),
            path: PathBuf::new(),
            sock: PathBuf::new(),
            port: 0,
        };
        std::mem::replace(&mut self.conf, placeholder)
    }

    pub fn dir(&self) -> &Path {
        &self.conf.dir
    }

    // ---------------------------------------------------------------- clients

    /// The real supervisorctl 4.3.0: `supervisorctl -c FILE args…`.
    pub fn ctl(&self, args: &[&str]) -> Output {
        let mut cmd = Command::new(venv().join("bin/supervisorctl"));
        cmd.arg("-c").arg(&self.conf.path).args(args);
        run_with_timeout(&mut cmd, CTL_TIMEOUT)
    }

    /// `steward ctl -c FILE args…`.
    pub fn steward_ctl(&self, args: &[&str]) -> Output {
        let mut cmd = Command::new(steward_bin());
        cmd.arg("ctl").arg("-c").arg(&self.conf.path).args(args);
        run_with_timeout(&mut cmd, CTL_TIMEOUT)
    }

    /// One XML-RPC call on the UNIX socket.
    pub fn rpc(&self, method: &str, params: Vec<Value>) -> Result<Value, Fault> {
        xmlrpc_call(&self.conf.sock, method, &params).map_err(|e| match e {
            RpcError::Fault(f) => f,
            RpcError::Transport(t) => Fault {
                code: -1,
                string: format!("transport error: {t}"),
            },
        })
    }

    /// `rpc` that panics on a fault.
    pub fn call(&self, method: &str, params: Vec<Value>) -> Value {
        self.rpc(method, params.clone())
            .unwrap_or_else(|f| panic!("{method}({params:?}) failed: {f:?}"))
    }

    /// getProcessInfo(name).
    pub fn info(&self, name: &str) -> Value {
        self.call("supervisor.getProcessInfo", vec![json!(name)])
    }

    /// The state name of a process, or "<fault>" when the call fails.
    pub fn state(&self, name: &str) -> String {
        match self.rpc("supervisor.getProcessInfo", vec![json!(name)]) {
            Ok(v) => v["statename"].as_str().unwrap_or("?").to_owned(),
            Err(_) => "<fault>".to_owned(),
        }
    }

    pub fn process_pid(&self, name: &str) -> i32 {
        self.info(name)["pid"].as_i64().unwrap_or(0) as i32
    }

    /// Wait until `name` is in `state`; panics with the last state seen otherwise.
    pub fn wait_state(&self, name: &str, state: &str, timeout: Duration) {
        let mut last = String::new();
        if !wait_until(timeout, || {
            last = self.state(name);
            last == state
        }) {
            panic!(
                "{}: {name} did not reach {state} within {timeout:?} (last: {last})",
                self.target.name()
            );
        }
    }

    /// Poll the state of `name` every 20 ms and return the sequence of distinct states
    /// seen, until one of `until` is reached (panics after `timeout`).
    pub fn record_states(&self, name: &str, until: &[&str], timeout: Duration) -> Vec<String> {
        let mut seen: Vec<String> = Vec::new();
        let deadline = Instant::now() + timeout;
        loop {
            let s = self.state(name);
            if seen.last() != Some(&s) {
                seen.push(s.clone());
            }
            if until.contains(&s.as_str()) {
                return seen;
            }
            if Instant::now() >= deadline {
                panic!(
                    "{}: {name} did not reach any of {until:?} within {timeout:?}; states seen: {seen:?}",
                    self.target.name()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    // ---------------------------------------------------------------- lifecycle

    pub fn signal(&self, sig: i32) {
        if self.exited.is_none() {
            kill(self.pid, sig);
        }
    }

    pub fn try_wait(&mut self) -> Option<ExitStatus> {
        if self.exited.is_none() {
            self.exited = self.child.try_wait().unwrap();
        }
        self.exited
    }

    pub fn wait_exit(&mut self, timeout: Duration) -> Option<ExitStatus> {
        wait_until(timeout, || self.try_wait().is_some());
        self.exited
    }

    pub fn is_running(&mut self) -> bool {
        self.try_wait().is_none()
    }

    /// Processes of the daemon's session other than the daemon (not zombies).
    pub fn descendants(&self) -> Vec<ProcStat> {
        processes()
            .into_iter()
            .filter(|p| p.session == self.pid && p.pid != self.pid && p.state != 'Z')
            .collect()
    }

    /// Direct children of the daemon (zombies included).
    pub fn children(&self) -> Vec<ProcStat> {
        processes()
            .into_iter()
            .filter(|p| p.ppid == self.pid)
            .collect()
    }

    fn kill_all(&mut self) {
        if self.try_wait().is_none() {
            kill(self.pid, libc::SIGKILL);
        }
        let sid = self.pid;
        wait_until(Duration::from_secs(5), || {
            let left: Vec<ProcStat> = processes()
                .into_iter()
                .filter(|p| p.session == sid && p.state != 'Z' && p.state != 'X')
                .collect();
            for p in &left {
                kill(p.pid, libc::SIGKILL);
            }
            left.is_empty()
        });
        let _ = self.child.wait();
    }

    // ---------------------------------------------------------------- output

    pub fn stdout(&self) -> String {
        self.conf.read("daemon.stdout")
    }

    pub fn stderr(&self) -> String {
        self.conf.read("daemon.stderr")
    }

    pub fn mainlog(&self) -> String {
        self.conf.read("supervisord.log")
    }

    /// `mask` plus the temp dir replaced by `<DIR>`.
    pub fn mask(&self, s: &str) -> String {
        mask(&s.replace(&self.conf.dir.display().to_string(), "<DIR>"))
    }

    pub fn diagnostics(&self) -> String {
        let tail = |s: String| {
            let lines: Vec<&str> = s.lines().collect();
            lines[lines.len().saturating_sub(40)..].join("\n")
        };
        format!(
            "=== {} (pid {}) in {}\n--- daemon stdout (tail) ---\n{}\n--- daemon stderr (tail) ---\n{}\n--- supervisord.log (tail) ---\n{}\n",
            self.target.name(),
            self.pid,
            self.conf.dir.display(),
            tail(self.stdout()),
            tail(self.stderr()),
            tail(self.mainlog())
        )
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if std::thread::panicking() && !self.conf.dir.as_os_str().is_empty() {
            eprintln!("{}", self.diagnostics());
        }
        self.kill_all();
    }
}

// ------------------------------------------------------------------ masking

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// Normalise what changes from run to run: `pid N` → `pid <PID>`, `uptime …` → `uptime
/// <UPTIME>`, stop times (`Nov 23 03:05 AM`) → `<DATE>`, lines that are only a number (the
/// `pid` command) → `<NUM>`, AUTO log names' random part → `XXXXXXXX`.
pub fn mask(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for (i, line) in s.split('\n').enumerate() {
        if i > 0 {
            out.push('\n');
        }
        out.push_str(&mask_line(line));
    }
    out
}

fn mask_line(line: &str) -> String {
    if !line.trim().is_empty() && line.trim().chars().all(|c| c.is_ascii_digit()) {
        return "<NUM>".to_owned();
    }
    let mut l = line.to_owned();
    if let Some(i) = l.find("uptime ") {
        l.truncate(i);
        l.push_str("uptime <UPTIME>");
    }
    // pid N
    let mut res = String::new();
    let mut rest = l.as_str();
    while let Some(i) = rest.find("pid ") {
        res.push_str(&rest[..i + 4]);
        rest = &rest[i + 4..];
        let n = rest.chars().take_while(|c| c.is_ascii_digit()).count();
        if n > 0 {
            res.push_str("<PID>");
            rest = &rest[n..];
        }
    }
    res.push_str(rest);
    l = res;
    // dates: "Mon DD HH:MM AM"
    for m in MONTHS {
        while let Some(i) = find_date(&l, m) {
            l.replace_range(i..i + 15, "<DATE>");
        }
    }
    // AUTO log names: ---identifier-XXXXXXXX.log
    if let Some(i) = l.find("---") {
        if let Some(j) = l[i..].find(".log") {
            let end = i + j;
            if end >= 8 && l.is_char_boundary(end - 8) && l[..end - 8].ends_with('-') {
                l.replace_range(end - 8..end, "XXXXXXXX");
            }
        }
    }
    l
}

fn find_date(l: &str, month: &str) -> Option<usize> {
    let b = l.as_bytes();
    let mut from = 0;
    while let Some(off) = l[from..].find(month) {
        let i = from + off;
        let d = |k: usize| b.get(i + k).is_some_and(|c| c.is_ascii_digit());
        let c = |k: usize, ch: u8| b.get(i + k) == Some(&ch);
        if c(3, b' ')
            && d(4)
            && d(5)
            && c(6, b' ')
            && d(7)
            && d(8)
            && c(9, b':')
            && d(10)
            && d(11)
            && c(12, b' ')
            && (c(13, b'A') || c(13, b'P'))
            && c(14, b'M')
        {
            return Some(i);
        }
        from = i + 1;
    }
    None
}

// ------------------------------------------------------------------ golden comparisons

/// The masked record of one scenario run: each step's label and output.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Transcript {
    pub steps: Vec<(String, Output)>,
}

impl Transcript {
    /// Run the real supervisorctl, record its masked output, return the raw output.
    pub fn ctl(&mut self, d: &Daemon, args: &[&str]) -> Output {
        let out = d.ctl(args);
        self.record(d, &format!("supervisorctl {}", args.join(" ")), &out);
        out
    }

    /// Record any output (masked).
    pub fn record(&mut self, d: &Daemon, label: &str, out: &Output) {
        self.steps.push((
            label.to_owned(),
            Output {
                stdout: d.mask(&out.stdout),
                stderr: d.mask(&out.stderr),
                code: out.code,
            },
        ));
    }

    /// Record a value (masked) as a step.
    pub fn note(&mut self, d: &Daemon, label: &str, text: &str) {
        self.record(
            d,
            label,
            &Output {
                stdout: text.to_owned(),
                stderr: String::new(),
                code: 0,
            },
        );
    }

    pub fn step(&self, label: &str) -> &Output {
        &self
            .steps
            .iter()
            .find(|(l, _)| l == label)
            .unwrap_or_else(|| panic!("no step {label:?}"))
            .1
    }
}

impl fmt::Display for Transcript {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (label, out) in &self.steps {
            writeln!(f, "$ {label}\n{out}")?;
        }
        Ok(())
    }
}

/// Run `scenario` against real supervisord and against the daemon under test at the same
/// time (each with its own temp dir, config rendered from `template` via `make_conf`), and
/// assert that the masked transcripts are equal. With `STEWARD_TEST_TARGET=supervisord`
/// the "daemon under test" is a second supervisord, which checks that the scenario is
/// deterministic. Returns (reference transcript, transcript of the daemon under test).
pub fn compare_with_reference<C, S>(make_conf: C, scenario: S) -> (Transcript, Transcript)
where
    C: Fn() -> Conf + Sync,
    S: Fn(&Daemon, &mut Transcript) + Sync,
{
    let run = |t: Target| {
        let d = Daemon::start_target(t, make_conf());
        let mut tr = Transcript::default();
        scenario(&d, &mut tr);
        tr
    };
    let (reference, tested) = both(run);
    if reference != tested {
        let mut msg = format!(
            "supervisorctl outputs differ between supervisord 4.3 and {}\n",
            target().name()
        );
        for (i, (r, t)) in reference.steps.iter().zip(tested.steps.iter()).enumerate() {
            if r != t {
                msg.push_str(&format!(
                    "step {i}: $ {}\n=== reference ===\n{}=== {} ===\n{}\n",
                    r.0,
                    r.1,
                    target().name(),
                    t.1
                ));
            }
        }
        if reference.steps.len() != tested.steps.len() {
            msg.push_str(&format!(
                "step counts differ: {} vs {}\n",
                reference.steps.len(),
                tested.steps.len()
            ));
        }
        panic!("{msg}");
    }
    (reference, tested)
}

// ------------------------------------------------------------------ XML-RPC client

#[derive(Debug)]
pub enum RpcError {
    Fault(Fault),
    Transport(String),
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn encode_value(v: &Value, out: &mut String) {
    out.push_str("<value>");
    match v {
        Value::Null => out.push_str("<nil/>"),
        Value::Bool(b) => out.push_str(&format!("<boolean>{}</boolean>", u8::from(*b))),
        Value::Number(n) if n.is_i64() => out.push_str(&format!("<int>{n}</int>")),
        Value::Number(n) => out.push_str(&format!("<double>{n}</double>")),
        Value::String(s) => out.push_str(&format!("<string>{}</string>", xml_escape(s))),
        Value::Array(a) => {
            out.push_str("<array><data>");
            for x in a {
                encode_value(x, out);
            }
            out.push_str("</data></array>");
        }
        Value::Object(o) => {
            out.push_str("<struct>");
            for (k, x) in o {
                out.push_str(&format!("<member><name>{}</name>", xml_escape(k)));
                encode_value(x, out);
                out.push_str("</member>");
            }
            out.push_str("</struct>");
        }
    }
    out.push_str("</value>");
}

/// POST an XML-RPC call to /RPC2 over a UNIX socket (HTTP/1.0, read to EOF).
pub fn xmlrpc_call(sock: &Path, method: &str, params: &[Value]) -> Result<Value, RpcError> {
    let mut body = format!(
        "<?xml version=\"1.0\"?>\n<methodCall><methodName>{}</methodName><params>",
        xml_escape(method)
    );
    for p in params {
        body.push_str("<param>");
        encode_value(p, &mut body);
        body.push_str("</param>");
    }
    body.push_str("</params></methodCall>\n");
    let resp = http_unix(sock, "POST", "/RPC2", body.as_bytes())?;
    if !resp.0.starts_with("HTTP/1.") || !resp.0.contains(" 200") {
        return Err(RpcError::Transport(format!("HTTP status {}", resp.0)));
    }
    parse_response(&String::from_utf8_lossy(&resp.1))
}

/// One HTTP/1.0 request on a UNIX socket: (status line, body), chunked bodies decoded.
pub fn http_unix(
    sock: &Path,
    verb: &str,
    path: &str,
    body: &[u8],
) -> Result<(String, Vec<u8>), RpcError> {
    let t = |e: std::io::Error| RpcError::Transport(e.to_string());
    let mut s = UnixStream::connect(sock).map_err(t)?;
    s.set_read_timeout(Some(Duration::from_secs(20)))
        .map_err(t)?;
    let head = format!(
        "{verb} {path} HTTP/1.0\r\nHost: localhost\r\nContent-Type: text/xml\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes()).map_err(t)?;
    s.write_all(body).map_err(t)?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).map_err(t)?;
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| RpcError::Transport("no end of HTTP headers".into()))?;
    let headers = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut payload = raw[split + 4..].to_vec();
    let status = headers.lines().next().unwrap_or("").to_owned();
    if headers
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        payload = dechunk(&payload);
    }
    Ok((status, payload))
}

fn dechunk(mut b: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(eol) = b.windows(2).position(|w| w == b"\r\n") {
        let size_txt = String::from_utf8_lossy(&b[..eol]);
        let size =
            usize::from_str_radix(size_txt.split(';').next().unwrap_or("").trim(), 16).unwrap_or(0);
        b = &b[eol + 2..];
        if size == 0 || size > b.len() {
            break;
        }
        out.extend_from_slice(&b[..size]);
        b = &b[(size + 2).min(b.len())..];
    }
    out
}

struct XmlCursor<'a> {
    s: &'a str,
    pos: usize,
}

impl XmlCursor<'_> {
    fn ws(&mut self) {
        while self.s[self.pos..].starts_with(|c: char| c.is_whitespace()) {
            self.pos += 1;
        }
    }
    fn eat(&mut self, tok: &str) -> bool {
        self.ws();
        if self.s[self.pos..].starts_with(tok) {
            self.pos += tok.len();
            true
        } else {
            false
        }
    }
    fn expect(&mut self, tok: &str) -> Result<(), RpcError> {
        if self.eat(tok) {
            Ok(())
        } else {
            Err(RpcError::Transport(format!(
                "bad XML-RPC response: expected {tok} at {:?}",
                &self.s[self.pos..(self.pos + 60).min(self.s.len())]
            )))
        }
    }
    fn text_until(&mut self, end: &str) -> Result<String, RpcError> {
        let i = self.s[self.pos..]
            .find(end)
            .ok_or_else(|| RpcError::Transport(format!("bad XML-RPC response: no {end}")))?;
        let t = unescape(&self.s[self.pos..self.pos + i]);
        self.pos += i + end.len();
        Ok(t)
    }
    fn value(&mut self) -> Result<Value, RpcError> {
        if self.eat("<value/>") {
            return Ok(Value::String(String::new()));
        }
        self.expect("<value>")?;
        let lt = self.s[self.pos..]
            .find('<')
            .ok_or_else(|| RpcError::Transport("bad XML-RPC response".into()))?;
        if self.s[self.pos + lt..].starts_with("</value>") {
            let t = unescape(&self.s[self.pos..self.pos + lt]);
            self.pos += lt + "</value>".len();
            return Ok(Value::String(t));
        }
        self.pos += lt;
        let v = if self.eat("<string/>") {
            Value::String(String::new())
        } else if self.eat("<nil/>") {
            Value::Null
        } else if self.eat("<string>") {
            Value::String(self.text_until("</string>")?)
        } else if self.eat("<int>") {
            num(self.text_until("</int>")?)
        } else if self.eat("<i4>") {
            num(self.text_until("</i4>")?)
        } else if self.eat("<i8>") {
            num(self.text_until("</i8>")?)
        } else if self.eat("<boolean>") {
            Value::Bool(self.text_until("</boolean>")?.trim() == "1")
        } else if self.eat("<double>") {
            json!(self
                .text_until("</double>")?
                .trim()
                .parse::<f64>()
                .unwrap_or(f64::NAN))
        } else if self.eat("<base64>") {
            Value::String(self.text_until("</base64>")?)
        } else if self.eat("<dateTime.iso8601>") {
            Value::String(self.text_until("</dateTime.iso8601>")?)
        } else if self.eat("<array>") {
            let mut items = Vec::new();
            if !self.eat("<data/>") {
                self.expect("<data>")?;
                while !self.eat("</data>") {
                    items.push(self.value()?);
                }
            }
            self.expect("</array>")?;
            Value::Array(items)
        } else if self.eat("<struct>") {
            let mut map = serde_json::Map::new();
            while !self.eat("</struct>") {
                self.expect("<member>")?;
                self.expect("<name>")?;
                let k = self.text_until("</name>")?;
                let v = self.value()?;
                self.expect("</member>")?;
                map.insert(k, v);
            }
            Value::Object(map)
        } else {
            return Err(RpcError::Transport(format!(
                "bad XML-RPC value at {:?}",
                &self.s[self.pos..(self.pos + 60).min(self.s.len())]
            )));
        };
        self.expect("</value>")?;
        Ok(v)
    }
}

fn num(t: String) -> Value {
    json!(t.trim().parse::<i64>().unwrap_or(i64::MIN))
}

fn unescape(s: &str) -> String {
    if !s.contains('&') {
        return s.to_owned();
    }
    let mut out = String::new();
    let mut rest = s;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        rest = &rest[i..];
        let Some(semi) = rest.find(';') else { break };
        let ent = &rest[1..semi];
        let ch = match ent {
            "lt" => Some('<'),
            "gt" => Some('>'),
            "amp" => Some('&'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            _ if ent.starts_with("#x") => u32::from_str_radix(&ent[2..], 16)
                .ok()
                .and_then(char::from_u32),
            _ if ent.starts_with('#') => ent[1..].parse().ok().and_then(char::from_u32),
            _ => None,
        };
        match ch {
            Some(c) => {
                out.push(c);
                rest = &rest[semi + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

fn parse_response(xml: &str) -> Result<Value, RpcError> {
    let mut c = XmlCursor { s: xml, pos: 0 };
    if let Some(i) = xml.find("<fault>") {
        c.pos = i + "<fault>".len();
        let v = c.value()?;
        return Err(RpcError::Fault(Fault {
            code: v["faultCode"].as_i64().unwrap_or(0),
            string: v["faultString"].as_str().unwrap_or("").to_owned(),
        }));
    }
    let i = xml
        .find("<param>")
        .ok_or_else(|| RpcError::Transport(format!("bad XML-RPC response: {xml}")))?;
    c.pos = i + "<param>".len();
    c.value()
}

/// Runs `f` against real supervisord and against the daemon under test at the same time;
/// (reference result, tested result). A panic on either side is re-raised, saying which.
pub fn both<T: Send>(f: impl Fn(Target) -> T + Sync) -> (T, T) {
    std::thread::scope(|s| {
        let r = s.spawn(|| f(Target::Supervisord));
        let t = s.spawn(|| f(target()));
        let r = r.join();
        let t = t.join();
        match (r, t) {
            (Ok(r), Ok(t)) => (r, t),
            (Err(e), _) => {
                eprintln!("the scenario failed against the reference supervisord");
                std::panic::resume_unwind(e)
            }
            (_, Err(e)) => {
                eprintln!("the scenario failed against {}", target().name());
                std::panic::resume_unwind(e)
            }
        }
    })
}

/// The TLS proxy of fixtures/tls_proxy.py, killed on drop.
pub struct TlsProxy(std::process::Child);

impl Drop for TlsProxy {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A test CA (ca.pem) and a certificate it signed for `localhost` (cert.pem, key.pem) in
/// `dir`, and a TLS proxy on a free port in front of `target_port`.
pub fn tls_in_front_of(dir: &std::path::Path, target_port: u16) -> (TlsProxy, u16) {
    std::fs::write(
        dir.join("leaf.ext"),
        "subjectAltName=DNS:localhost\nbasicConstraints=CA:FALSE\n",
    )
    .unwrap();
    let steps: [&[&str]; 3] = [
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=steward test CA",
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
        ],
        &[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-subj",
            "/CN=localhost",
            "-keyout",
            "key.pem",
            "-out",
            "leaf.csr",
        ],
        &[
            "x509",
            "-req",
            "-in",
            "leaf.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            "1",
            "-extfile",
            "leaf.ext",
            "-out",
            "cert.pem",
        ],
    ];
    for args in steps {
        let out = run_with_timeout(
            std::process::Command::new("openssl")
                .args(args)
                .current_dir(dir),
            secs(30.0),
        );
        assert_eq!(out.code, 0, "openssl {args:?}: {out}");
    }
    let port = free_port();
    let child = std::process::Command::new(python())
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/tls_proxy.py"
        ))
        .arg(dir.join("cert.pem"))
        .arg(dir.join("key.pem"))
        .arg(port.to_string())
        .arg(target_port.to_string())
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let proxy = TlsProxy(child);
    assert!(
        wait_until(secs(10.0), || std::net::TcpStream::connect((
            "127.0.0.1",
            port
        ))
        .is_ok()),
        "the TLS proxy did not listen"
    );
    (proxy, port)
}
