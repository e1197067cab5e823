//! Health checks and readiness: `healthcheck = http://… | tcp://… | command`,
//! `ready_log_line`, and the verdicts that restart an unhealthy process.
//!
//! Data flow: when a process with a `healthcheck` spawns, the loop starts one checker task
//! for it on the runtime ([`run_checker`]); no thread per check. The task probes on a
//! fixed schedule and sends only changes of verdict back as [`Request::Health`]. An HTTP
//! or TCP probe runs inside the task. A command probe is spawned by the loop
//! ([`Request::SpawnCheck`]), because the loop reaps every child with `waitpid(-1)`: it
//! hands the exit status back through a oneshot. The loop keeps the verdict in the
//! process's [`Readiness`], publishes it as [`HealthInfo`] in the snapshot, emits
//! `PROCESS_HEALTH_*` events, and on `unhealthy` with `healthcheck_action = restart` stops
//! the process and spawns it again once it is STOPPED. The checker is aborted when the
//! process exits; the next spawn starts a fresh one.
//!
//! Until a first probe passes, probes run every second (at most every `interval`) so a
//! dependent waiting for `healthy` starts soon after the service is up; a failure then
//! counts toward `retries` only once per `interval`, and not at all during
//! `start_period`, so a slow start is judged exactly as with probes every `interval`.

use steward_config::{HealthAction, HealthCheck, HealthConfig};
use tokio::io::AsyncReadExt;

use super::*;

/// What the health of a process is, as published.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Health {
    /// Not running, or nothing judges it (only `ready_log_line` is set).
    Unknown,
    /// Running, no probe has passed yet (or `READY=1` has not come).
    Starting,
    Healthy,
    /// `healthcheck_retries` probes in a row failed (or the watchdog expired).
    Unhealthy,
}

impl Health {
    pub fn name(self) -> &'static str {
        match self {
            Health::Unknown => "unknown",
            Health::Starting => "starting",
            Health::Healthy => "healthy",
            Health::Unhealthy => "unhealthy",
        }
    }
}

/// The published health of one process.
#[derive(Debug, Clone, PartialEq)]
pub struct HealthInfo {
    pub status: Health,
    /// Consecutive failed probes that counted.
    pub failures: u32,
    /// Why the last probe failed (cleared when one passes).
    pub message: Option<String>,
    /// Epoch seconds of the last change of `status`.
    pub since: f64,
    /// The process printed a line matching `ready_log_line` since it spawned.
    pub log_ready: bool,
    /// Restarts caused by `unhealthy` since the daemon started.
    pub restarts: u32,
}

/// A checker's report to the loop.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    /// A probe passed.
    Healthy,
    /// `sd_notify`: the child sent `READY=1` (or `WATCHDOG=1` after the watchdog ran out).
    Ready,
    /// A probe failed, but fewer than `retries` in a row.
    Failing {
        failures: u32,
        message: String,
    },
    Unhealthy {
        failures: u32,
        message: String,
    },
}

/// Per-process readiness state, boxed on the process record of programs that have
/// dependencies or health options (most have neither).
pub(super) struct Readiness {
    pub(super) info: Arc<HealthInfo>,
    checker: Option<tokio::task::AbortHandle>,
    pub(super) notifier: Option<tokio::task::AbortHandle>,
    ready_line: Option<regex::Regex>,
    /// The unfinished last line of output, for `ready_log_line`.
    partial: Vec<u8>,
    /// `sd_notify`: `READY=1` came from this spawn.
    pub(super) notified_ready: bool,
    /// The health check passed since its last `unhealthy` (or since the spawn).
    check_passed: bool,
    /// Spawn again once STOPPED (an unhealthy restart in progress).
    pub(super) restart_pending: bool,
    /// Stopped by `on_dependency_failure = restart`: spawn again once the dependencies
    /// are met.
    pub(super) held: bool,
    /// The first unmet dependency while a spawn waits (`db:healthy`), for status.
    pub(super) waiting_for: Option<Arc<str>>,
}

impl Readiness {
    pub(super) fn new(cfg: &ProcessConfig) -> Option<Box<Readiness>> {
        if cfg.health.is_none() && cfg.depends_on.is_empty() {
            return None;
        }
        let ready_line = cfg
            .health
            .as_deref()
            .and_then(|h| h.ready_log_line.as_deref())
            .and_then(|r| regex::Regex::new(r).ok());
        Some(Box::new(Readiness {
            info: Arc::new(HealthInfo {
                status: Health::Unknown,
                failures: 0,
                message: None,
                since: wall_now(),
                log_ready: false,
                restarts: 0,
            }),
            checker: None,
            notifier: None,
            ready_line,
            partial: Vec::new(),
            notified_ready: false,
            check_passed: false,
            restart_pending: false,
            held: false,
            waiting_for: None,
        }))
    }

    fn update(&mut self, f: impl FnOnce(&mut HealthInfo)) {
        let mut info = (*self.info).clone();
        let before = info.status;
        f(&mut info);
        if info.status != before {
            info.since = wall_now();
        }
        if info != *self.info {
            self.info = Arc::new(info);
        }
    }

    /// Scans output for `ready_log_line`; true the first time it matches.
    fn scan_output(&mut self, data: &[u8]) -> bool {
        let Some(re) = &self.ready_line else {
            return false;
        };
        if self.info.log_ready {
            return false;
        }
        self.partial.extend_from_slice(data);
        let mut matched = false;
        while let Some(end) = self.partial.iter().position(|&b| b == b'\n') {
            let line = String::from_utf8_lossy(&self.partial[..end]);
            if re.is_match(line.trim_end_matches('\r')) {
                matched = true;
                break;
            }
            self.partial.drain(..=end);
        }
        // A line without its end yet may still match; keep at most 64 KiB of it.
        if !matched && self.partial.len() > 64 * 1024 {
            let line = String::from_utf8_lossy(&self.partial);
            matched = re.is_match(&line);
            self.partial.clear();
        }
        if matched {
            self.partial = Vec::new();
            self.update(|i| i.log_ready = true);
        }
        matched
    }

    fn stop_tasks(&mut self) {
        if let Some(c) = self.checker.take() {
            c.abort();
        }
        if let Some(n) = self.notifier.take() {
            n.abort();
        }
    }
}

/// A command probe spawned by the loop: its pid, its exit status to come, and the read
/// end of its output.
pub struct SpawnedCheck {
    pub pid: i32,
    pub status: oneshot::Receiver<i32>,
    pub output: OwnedFd,
}

impl Engine {
    /// A process spawned: reset its readiness and start its checker.
    pub(super) fn health_spawned(&mut self, gi: usize, pi: usize) {
        let p = &mut self.groups[gi].procs[pi];
        let Some(r) = p.readiness.as_deref_mut() else {
            return;
        };
        r.stop_tasks();
        r.partial.clear();
        r.notified_ready = false;
        r.check_passed = false;
        r.waiting_for = None;
        r.restart_pending = false;
        r.held = false;
        let judged = p
            .cfg
            .health
            .as_deref()
            .is_some_and(|h| h.check.is_some() || h.sd_notify);
        r.update(|i| {
            i.status = if judged {
                Health::Starting
            } else {
                Health::Unknown
            };
            i.failures = 0;
            i.message = None;
            i.log_ready = false;
        });
        if let Some(h) = p.cfg.health.as_deref() {
            if h.check.is_some() {
                let task = tokio::spawn(run_checker(
                    p.key.clone(),
                    p.pid,
                    p.cfg.clone(),
                    self.tx.clone(),
                ));
                r.checker = Some(task.abort_handle());
            }
        }
        self.dirty = true;
    }

    /// A process exited: its verdict no longer means anything.
    pub(super) fn health_exited(&mut self, gi: usize, pi: usize) {
        let Some(r) = self.groups[gi].procs[pi].readiness.as_deref_mut() else {
            return;
        };
        r.stop_tasks();
        r.notified_ready = false;
        r.update(|i| {
            i.status = Health::Unknown;
            i.failures = 0;
            i.log_ready = false;
        });
        self.dirty = true;
    }

    /// Output of a process with `ready_log_line` (its pumps forward every chunk).
    pub(super) fn health_output(&mut self, key: &ProcKey, pid: i32, data: &[u8]) {
        let Some((gi, pi)) = self.find(key) else {
            return;
        };
        let p = &mut self.groups[gi].procs[pi];
        if p.pid != pid {
            return;
        }
        if let Some(r) = p.readiness.as_deref_mut() {
            if r.scan_output(data) {
                self.info(&format!(
                    "log ready: {} printed its ready_log_line",
                    key.name
                ));
                self.dirty = true;
            }
        }
    }

    /// A checker's (or the notify socket's) verdict for the process spawned as `pid`.
    pub(super) fn health_verdict(&mut self, key: &ProcKey, pid: i32, verdict: Verdict) {
        let Some((gi, pi)) = self.find(key) else {
            return;
        };
        let p = &mut self.groups[gi].procs[pi];
        if p.pid != pid || p.pid == 0 {
            return;
        }
        let Some(r) = p.readiness.as_deref_mut() else {
            return;
        };
        let sd_notify = p.cfg.health.as_deref().is_some_and(|h| h.sd_notify);
        let has_check = p.cfg.health.as_deref().is_some_and(|h| h.check.is_some());
        let before = r.info.status;
        let name = p.key.name.clone();
        match &verdict {
            Verdict::Healthy => {
                r.check_passed = true;
                // With sd_notify, a passing probe is not enough before READY=1.
                let status = if sd_notify && !r.notified_ready {
                    Health::Starting
                } else {
                    Health::Healthy
                };
                r.update(|i| {
                    i.status = status;
                    i.failures = 0;
                    i.message = None;
                });
            }
            Verdict::Ready => {
                r.notified_ready = true;
                // With a health check too, both must agree.
                if !has_check || r.check_passed {
                    r.update(|i| {
                        i.status = Health::Healthy;
                        i.failures = 0;
                        i.message = None;
                    });
                }
            }
            Verdict::Failing { failures, message } => {
                let (failures, message) = (*failures, message.clone());
                r.update(|i| {
                    i.failures = failures;
                    i.message = Some(message);
                });
            }
            Verdict::Unhealthy { failures, message } => {
                let (failures, message) = (*failures, message.clone());
                r.update(|i| {
                    i.status = Health::Unhealthy;
                    i.failures = failures;
                    i.message = Some(message);
                });
            }
        }
        let after = r.info.status;
        self.dirty = true;
        if after == before {
            return;
        }
        let message = r.info.message.clone();
        match after {
            Health::Healthy => self.info(&format!("healthy: {name}")),
            Health::Unhealthy => self.warn(&format!(
                "unhealthy: {name} ({})",
                message.as_deref().unwrap_or("check failed")
            )),
            _ => {}
        }
        self.emit(Event::ProcessHealth {
            group: key.group.clone(),
            process: key.name.clone(),
            pid,
            from: before.name(),
            to: after.name(),
            message,
        });
        if after == Health::Unhealthy {
            self.unhealthy_action(gi, pi);
        }
    }

    /// `healthcheck_action = restart`: stop now, spawn again once STOPPED.
    fn unhealthy_action(&mut self, gi: usize, pi: usize) {
        let p = &self.groups[gi].procs[pi];
        let restart = p
            .cfg
            .health
            .as_deref()
            .is_some_and(|h| h.action == HealthAction::Restart);
        if !restart
            || self.mood < SupervisorState::Running
            || !matches!(p.state, ProcessState::Running | ProcessState::Starting)
        {
            return;
        }
        self.info(&format!(
            "restarting: {} (unhealthy, healthcheck_action = restart)",
            p.key.name
        ));
        if let Some(r) = self.groups[gi].procs[pi].readiness.as_deref_mut() {
            r.restart_pending = true;
            r.update(|i| i.restarts += 1);
        }
        if self.stop_proc(gi, pi).is_err() {
            if let Some(r) = self.groups[gi].procs[pi].readiness.as_deref_mut() {
                r.restart_pending = false;
            }
        }
    }

    /// Spawns a command probe for a checker task (see the module doc for why the loop
    /// does it).
    pub(super) fn spawn_check(&mut self, key: &ProcKey) -> Result<SpawnedCheck, String> {
        let (gi, pi) = self.find(key).ok_or("the process is gone")?;
        let cfg = self.groups[gi].procs[pi].cfg.clone();
        let Some(HealthCheck::Command(line)) = cfg.health.as_deref().and_then(|h| h.check.as_ref())
        else {
            return Err("no command check".into());
        };
        let argv = steward_config::split_command(line)?;
        let mut env = cfg.environment.clone();
        env.push(("SUPERVISOR_PROCESS_NAME".into(), cfg.name.clone()));
        env.push(("SUPERVISOR_GROUP_NAME".into(), key.group.to_string()));
        let checked = self.groups[gi].procs[pi].pid.to_string();
        env.push(("STEWARD_CHECKED_PID".into(), checked));
        self.spawn_helper(&argv, &env, cfg.directory.as_deref(), None, None)
    }

    /// Spawns a short-lived helper (a command probe, sendmail) in a process group of its
    /// own (so a timeout kills whatever it started too), stdout and stderr into one pipe,
    /// `stdin` written and closed by a thread. The loop reaps it and hands its status to
    /// [`SpawnedCheck::status`].
    pub(super) fn spawn_helper(
        &mut self,
        argv: &[String],
        env: &[(String, String)],
        dir: Option<&std::path::Path>,
        stdin: Option<Vec<u8>>,
        as_user: Option<(u32, u32)>,
    ) -> Result<SpawnedCheck, String> {
        let program = argv.first().ok_or("empty command")?;
        let (read, write) =
            nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).map_err(|e| format!("pipe: {e}"))?;
        let err_write = write.try_clone().map_err(|e| format!("pipe: {e}"))?;
        let mut cmd = std::process::Command::new(program);
        cmd.args(&argv[1..])
            .envs(env.iter().map(|(k, v)| (k, v)))
            .stdin(if stdin.is_some() {
                std::process::Stdio::piped()
            } else {
                std::process::Stdio::null()
            })
            .stdout(std::process::Stdio::from(write))
            .stderr(std::process::Stdio::from(err_write));
        std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
        if let Some(dir) = dir {
            cmd.current_dir(dir);
        }
        if let Some((uid, gid)) = as_user {
            // std drops supplementary groups (setgroups(0)) when root sets a uid.
            std::os::unix::process::CommandExt::gid(&mut cmd, gid);
            std::os::unix::process::CommandExt::uid(&mut cmd, uid);
        }
        let mut child = cmd
            .spawn()
            .map_err(|e| format!("cannot run {program}: {e}"))?;
        let pid = child.id() as i32;
        if let (Some(data), Some(mut pipe)) = (stdin, child.stdin.take()) {
            // A check that reads a large stdin must not block the loop on the pipe. When no
            // thread can be started (a pids limit), the pipe closes unwritten: the check
            // sees an empty stdin and reports what it makes of that.
            let _ = std::thread::Builder::new()
                .name("steward-check-stdin".into())
                .stack_size(64 * 1024)
                .spawn(move || {
                    use std::io::Write;
                    let _ = pipe.write_all(&data);
                });
        }
        // The loop reaps it (waitpid(-1)); std's handle must never wait.
        drop(child);
        let (status_tx, status) = oneshot::channel();
        self.check_children.insert(pid, status_tx);
        Ok(SpawnedCheck {
            pid,
            status,
            output: read,
        })
    }

    /// A command probe ran out of time: kill its process group (only while it is still
    /// ours, i.e. not reaped).
    pub(super) fn kill_check(&mut self, pid: i32) {
        if self.check_children.contains_key(&pid) {
            // SAFETY: kill(2) on the process group of a child we have not reaped.
            unsafe { libc::kill(-pid, libc::SIGKILL) };
        }
    }

    /// Routes a reaped pid to a waiting command probe; false when it is not one.
    pub(super) fn check_exited(&mut self, pid: i32, status: i32) -> bool {
        match self.check_children.remove(&pid) {
            Some(tx) => {
                let _ = tx.send(status);
                true
            }
            None => false,
        }
    }
}

/// One process's checker: probes on a fixed schedule and reports changes of verdict.
async fn run_checker(
    key: ProcKey,
    pid: i32,
    cfg: Arc<ProcessConfig>,
    tx: mpsc::UnboundedSender<Request>,
) {
    let Some(h) = cfg.health.as_deref() else {
        return;
    };
    let Some(check) = &h.check else {
        return;
    };
    let spawned = tokio::time::Instant::now();
    let mut schedule = Schedule::new(h, spawned);
    let mut last_sent: Option<Verdict> = None;
    loop {
        tokio::time::sleep_until(schedule.next_probe).await;
        let started = tokio::time::Instant::now();
        let outcome = probe(check, h.timeout, &key, &tx).await;
        let verdict = schedule.record(started, outcome);
        if let Some(v) = verdict {
            if last_sent.as_ref() != Some(&v) {
                if tx
                    .send(Request::Health {
                        key: key.clone(),
                        pid,
                        verdict: v.clone(),
                    })
                    .is_err()
                {
                    return;
                }
                last_sent = Some(v);
            }
        }
    }
}

/// When to probe next and what the results so far add up to (pure, so it is tested
/// without a clock).
struct Schedule {
    interval: Duration,
    retries: u32,
    spawned: tokio::time::Instant,
    start_period: Duration,
    next_probe: tokio::time::Instant,
    passed_once: bool,
    failures: u32,
    last_counted: tokio::time::Instant,
}

impl Schedule {
    /// Probes while nothing has passed yet come this often (at most every `interval`).
    const START_CADENCE: Duration = Duration::from_secs(1);

    fn new(h: &HealthConfig, spawned: tokio::time::Instant) -> Schedule {
        Schedule {
            interval: h.interval,
            retries: h.retries.max(1),
            spawned,
            start_period: h.start_period,
            next_probe: spawned + h.interval.min(Self::START_CADENCE),
            passed_once: false,
            failures: 0,
            last_counted: spawned,
        }
    }

    /// Records the outcome of the probe that began at `started`; returns the verdict it
    /// leads to (`None`: a failure that does not count).
    fn record(
        &mut self,
        started: tokio::time::Instant,
        outcome: Result<(), String>,
    ) -> Option<Verdict> {
        let cadence = if self.passed_once {
            self.interval
        } else {
            self.interval.min(Self::START_CADENCE)
        };
        // A fixed schedule: a slow probe does not push the next one back.
        self.next_probe = (started + cadence).max(tokio::time::Instant::now());
        match outcome {
            Ok(()) => {
                self.passed_once = true;
                self.failures = 0;
                self.next_probe = started + self.interval;
                Some(Verdict::Healthy)
            }
            Err(message) => {
                if started < self.spawned + self.start_period {
                    return None;
                }
                if !self.passed_once && started < self.last_counted + self.interval {
                    return None;
                }
                self.failures += 1;
                self.last_counted = started;
                Some(if self.failures >= self.retries {
                    Verdict::Unhealthy {
                        failures: self.failures,
                        message,
                    }
                } else {
                    Verdict::Failing {
                        failures: self.failures,
                        message,
                    }
                })
            }
        }
    }
}

/// Runs one probe, bounded by `timeout`.
async fn probe(
    check: &HealthCheck,
    timeout: Duration,
    key: &ProcKey,
    tx: &mpsc::UnboundedSender<Request>,
) -> Result<(), String> {
    match check {
        HealthCheck::Tcp { host, port } => {
            match tokio::time::timeout(
                timeout,
                tokio::net::TcpStream::connect((host.as_str(), *port)),
            )
            .await
            {
                Ok(Ok(_)) => Ok(()),
                Ok(Err(e)) => Err(format!("tcp://{host}:{port}: {e}")),
                Err(_) => Err(format!(
                    "tcp://{host}:{port}: no connection within {}",
                    secs(timeout)
                )),
            }
        }
        HealthCheck::Http {
            url,
            host,
            port,
            path,
        } => match tokio::time::timeout(timeout, http_get(host, *port, path)).await {
            Ok(r) => r.map_err(|e| format!("{url}: {e}")),
            Err(_) => Err(format!("{url}: no answer within {}", secs(timeout))),
        },
        HealthCheck::Command(line) => command_probe(line, timeout, key, tx).await,
    }
}

fn secs(d: Duration) -> String {
    format!("{}s", d.as_secs_f64())
}

/// GET `path`; a 2xx or 3xx answer passes.
async fn http_get(host: &str, port: u16, path: &str) -> Result<(), String> {
    use http_body_util::Empty;
    let stream = tokio::net::TcpStream::connect((host, port))
        .await
        .map_err(|e| e.to_string())?;
    let io = hyper_util::rt::TokioIo::new(stream);
    let (mut sender, conn) = hyper::client::conn::http1::handshake::<_, Empty<bytes::Bytes>>(io)
        .await
        .map_err(|e| e.to_string())?;
    let conn = tokio::spawn(conn);
    let authority = if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    };
    let req = hyper::Request::get(path)
        .header(hyper::header::HOST, authority)
        .header(hyper::header::USER_AGENT, "steward-healthcheck")
        .header(hyper::header::CONNECTION, "close")
        .body(Empty::new())
        .map_err(|e| e.to_string())?;
    let result = sender.send_request(req).await;
    conn.abort();
    let status = result.map_err(|e| e.to_string())?.status();
    if status.is_success() || status.is_redirection() {
        Ok(())
    } else {
        Err(format!("HTTP {}", status.as_u16()))
    }
}

/// Runs the check command through the loop and waits for its exit status.
async fn command_probe(
    line: &str,
    timeout: Duration,
    key: &ProcKey,
    tx: &mpsc::UnboundedSender<Request>,
) -> Result<(), String> {
    let (reply, spawned) = oneshot::channel();
    tx.send(Request::SpawnCheck {
        key: key.clone(),
        reply,
    })
    .map_err(|_| "the daemon is stopping".to_string())?;
    let check = spawned
        .await
        .map_err(|_| "the daemon is stopping".to_string())??;
    let pid = check.pid;
    let mut output = tokio::net::unix::pipe::Receiver::from_owned_fd(check.output).ok();
    let mut tail: Vec<u8> = Vec::new();
    let read_output = async {
        let mut buf = [0u8; 1024];
        if let Some(out) = output.as_mut() {
            while let Ok(n) = out.read(&mut buf).await {
                if n == 0 {
                    break;
                }
                tail.extend_from_slice(&buf[..n]);
                if tail.len() > 4096 {
                    tail.drain(..tail.len() - 4096);
                }
            }
        }
    };
    let waited = tokio::time::timeout(timeout, async {
        let (status, ()) = tokio::join!(check.status, read_output);
        status
    })
    .await;
    let last_line = || {
        String::from_utf8_lossy(&tail)
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .map(|l| format!(": {}", l.trim()))
            .unwrap_or_default()
    };
    match waited {
        Ok(Ok(status)) => {
            let (code, msg) = decode_wait_status(status);
            if code == 0 && libc::WIFEXITED(status) {
                Ok(())
            } else {
                Err(format!("`{line}` {msg}{}", last_line()))
            }
        }
        Ok(Err(_)) => Err("the daemon is stopping".into()),
        Err(_) => {
            let _ = tx.send(Request::KillCheck { pid });
            Err(format!("`{line}` did not finish within {}", secs(timeout)))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::time::Instant;

    fn cfg(interval: u64, retries: u32, start_period: u64) -> HealthConfig {
        HealthConfig {
            check: Some(HealthCheck::Tcp {
                host: "127.0.0.1".into(),
                port: 1,
            }),
            interval: Duration::from_secs(interval),
            timeout: Duration::from_secs(1),
            retries,
            start_period: Duration::from_secs(start_period),
            action: HealthAction::Restart,
            ready_log_line: None,
            sd_notify: false,
            watchdog: None,
        }
    }

    fn fail() -> Result<(), String> {
        Err("HTTP 500".into())
    }

    #[test]
    fn before_a_first_pass_failures_count_once_per_interval() {
        let t0 = Instant::now();
        let mut s = Schedule::new(&cfg(10, 3, 0), t0);
        assert_eq!(s.next_probe, t0 + Duration::from_secs(1));
        let at = |n: u64| t0 + Duration::from_secs(n);
        // Probes every second; failures at 1..9 s do not count.
        for n in 1..10 {
            assert_eq!(s.record(at(n), fail()), None, "probe at {n}s");
        }
        assert!(matches!(
            s.record(at(10), fail()),
            Some(Verdict::Failing { failures: 1, .. })
        ));
        assert_eq!(s.record(at(11), fail()), None);
        assert!(matches!(
            s.record(at(20), fail()),
            Some(Verdict::Failing { failures: 2, .. })
        ));
        assert!(matches!(
            s.record(at(30), fail()),
            Some(Verdict::Unhealthy { failures: 3, .. })
        ));
    }

    #[test]
    fn after_a_pass_every_failure_counts_and_the_cadence_is_the_interval() {
        let t0 = Instant::now();
        let mut s = Schedule::new(&cfg(10, 2, 0), t0);
        let at = |n: u64| t0 + Duration::from_secs(n);
        assert_eq!(s.record(at(1), Ok(())), Some(Verdict::Healthy));
        assert_eq!(s.next_probe, at(11));
        assert!(matches!(
            s.record(at(11), fail()),
            Some(Verdict::Failing { failures: 1, .. })
        ));
        assert!(matches!(
            s.record(at(21), fail()),
            Some(Verdict::Unhealthy { failures: 2, .. })
        ));
        assert_eq!(s.record(at(31), Ok(())), Some(Verdict::Healthy));
    }

    #[test]
    fn failures_during_the_start_period_do_not_count() {
        let t0 = Instant::now();
        let mut s = Schedule::new(&cfg(1, 1, 5), t0);
        let at = |n: u64| t0 + Duration::from_secs(n);
        for n in 1..5 {
            assert_eq!(s.record(at(n), fail()), None);
        }
        assert!(matches!(
            s.record(at(5), fail()),
            Some(Verdict::Unhealthy { failures: 1, .. })
        ));
    }

    #[test]
    fn ready_log_line_matches_across_chunks_and_only_once() {
        let mut cfg = ProcessConfig::clone(&test_process());
        let mut h = super::tests::cfg(1, 1, 0);
        h.check = None;
        h.ready_log_line = Some("^Listening on port [0-9]+$".into());
        cfg.health = Some(Box::new(h));
        let mut r = Readiness::new(&cfg).unwrap();
        assert!(!r.scan_output(b"booting\nListening on po"));
        assert!(r.scan_output(b"rt 8000\r\nmore\n"));
        assert!(r.info.log_ready);
        assert!(!r.scan_output(b"Listening on port 1\n"));
    }

    fn test_process() -> ProcessConfig {
        let text = "[supervisord]\n[program:x]\ncommand=/bin/cat\n";
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("s.conf");
        std::fs::write(&p, text).unwrap();
        let opts = steward_config::LoadOptions {
            env: Default::default(),
            host_node_name: "h".into(),
            check_system: false,
        };
        let c = steward_config::load(&p, &opts).unwrap();
        (*c.groups[0].processes[0]).clone()
    }
}
