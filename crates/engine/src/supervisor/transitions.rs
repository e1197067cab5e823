//! The state machine: supervisord's `transition()`, `spawn()`, `kill()` and `finish()`.
//!
//! Every state change goes through `set_state`, which marks the snapshot dirty and emits
//! the PROCESS_STATE event. Spawning opens the child's logs and hands its pipes to the
//! pumps; SIGCHLD leads to `reap`, which finishes each exited child and decides between
//! STOPPED, EXITED and BACKOFF.

use super::*;

impl Engine {
    pub(super) fn set_state(&mut self, gi: usize, pi: usize, to: ProcessState) {
        self.set_state_expected(gi, pi, to, false);
    }

    pub(super) fn set_state_expected(
        &mut self,
        gi: usize,
        pi: usize,
        to: ProcessState,
        expected: bool,
    ) {
        let p = &mut self.groups[gi].procs[pi];
        let from = p.state;
        if from == to {
            return;
        }
        p.state = to;
        let at = crate::events::StateFacts {
            exitstatus: p.exitstatus,
            term_signal: p.term_signal,
            spawnerr: p.spawnerr.clone(),
            start: p.laststart_wall,
            stop: p.laststop_wall,
        };
        self.dirty = true;
        self.state_changes += 1;
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
            at,
        };
        self.emit(event);
    }

    pub(super) fn transition_all(&mut self) {
        let now = Instant::now();
        // With dependencies, a pass that changed some state runs again: what it started
        // may unblock a process earlier in the order (bounded: each round that goes on
        // moved at least one process, and the graph has no cycles).
        let rounds = if self.program_index().any_dependencies {
            self.groups.len() + 1
        } else {
            1
        };
        for _ in 0..rounds {
            let before = self.state_changes;
            for gi in 0..self.groups.len() {
                for pi in 0..self.groups[gi].procs.len() {
                    self.transition_one(gi, pi, now);
                }
            }
            if self.state_changes == before {
                break;
            }
        }
    }

    /// supervisord's `Subprocess.transition()`.
    pub(super) fn transition_one(&mut self, gi: usize, pi: usize, now: Instant) {
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
                ProcessState::Stopped => {
                    (p.laststart.is_none() && p.cfg.autostart && !cron)
                        || p.readiness
                            .as_deref()
                            .is_some_and(|r| r.restart_pending || r.held)
                }
                ProcessState::Backoff => {
                    p.backoff <= p.cfg.startretries && p.delay.is_some_and(|d| now > d)
                }
                _ => false,
            };
            if spawn && self.may_spawn(gi, pi) {
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

    pub(super) fn give_up(&mut self, gi: usize, pi: usize) {
        let p = &mut self.groups[gi].procs[pi];
        p.delay = None;
        p.backoff = 0;
        self.set_state(gi, pi, ProcessState::Fatal);
    }

    pub(super) fn record_spawnerr(&mut self, gi: usize, pi: usize, msg: String) {
        self.info(&format!("spawnerr: {msg}"));
        self.groups[gi].procs[pi].spawnerr = Some(msg);
    }

    /// Enters BACKOFF after a failed spawn attempt (supervisord increments backoff in
    /// change_state on every entry into BACKOFF).
    pub(super) fn enter_backoff(&mut self, gi: usize, pi: usize) {
        let p = &mut self.groups[gi].procs[pi];
        p.backoff += 1;
        p.delay = Some(Instant::now() + Duration::from_secs(u64::from(p.backoff)));
        self.set_state(gi, pi, ProcessState::Backoff);
    }

    pub(super) fn open_logs(&mut self, gi: usize, pi: usize) -> Result<(), String> {
        let strip_ansi = self.config.supervisord.strip_ansi;
        for i in 0..2 {
            let mut ticket = None;
            let created = if self.groups[gi].procs[pi].auto_pending[i] {
                ticket = self.auto_ticket(gi, pi, i);
                match ticket {
                    Some(_) => None,
                    None => self.create_auto_log(gi, pi, i),
                }
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
            let opened = match (created, ticket) {
                (Some(file), _) => ChannelLog::open_created(opts, file),
                (None, Some(ticket)) => ChannelLog::open_auto(opts, ticket),
                (None, None) => ChannelLog::open(opts),
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
    pub(super) fn create_auto_log(
        &mut self,
        gi: usize,
        pi: usize,
        i: usize,
    ) -> Option<std::fs::File> {
        let p = &mut self.groups[gi].procs[pi];
        p.auto_pending[i] = false;
        let old: Arc<std::path::Path> = p.log_paths[i].clone()?;
        let mut path = old.to_path_buf();
        let batched = self
            .auto_batch
            .as_ref()
            .and_then(|b| b.ticket(&(gi, pi, i), &old));
        let created = match batched {
            Some(ticket) => ticket.redeem().map(|(made, file)| {
                path = made;
                file
            }),
            None => logs::create_auto_log_renaming(&mut path),
        };
        if created.is_ok() && path.as_path() == &*old {
            return created.ok();
        }
        let outcome = match &created {
            Ok(_) => Ok(path),
            Err(e) => Err(e.to_string()),
        };
        self.settle_auto_path(gi, pi, i, &old, outcome);
        created.ok()
    }

    /// The claim on this channel's file in the pass's batch, if it has one: the log takes
    /// the file at its first write, and the end of the pass settles its path.
    fn auto_ticket(&mut self, gi: usize, pi: usize, i: usize) -> Option<logs::AutoLogTicket> {
        let p = &mut self.groups[gi].procs[pi];
        let path = p.log_paths[i].as_ref()?;
        let ticket = self.auto_batch.as_ref()?.ticket(&(gi, pi, i), path)?;
        p.auto_pending[i] = false;
        Some(ticket)
    }

    /// An `AUTO` file was made elsewhere than `old` (its name was taken), or not at all:
    /// the process record and the count of channels per path follow.
    fn settle_auto_path(
        &mut self,
        gi: usize,
        pi: usize,
        i: usize,
        old: &Arc<std::path::Path>,
        outcome: Result<std::path::PathBuf, String>,
    ) {
        let p = &mut self.groups[gi].procs[pi];
        let name = p.key.name.clone();
        p.log_paths[i] = outcome.as_ref().ok().map(|path| Arc::from(path.as_path()));
        let new = p.log_paths[i].clone();
        if let Some(n) = self.path_uses.get_mut(old) {
            *n -= 1;
            if *n == 0 {
                self.path_uses.remove(old);
            }
        }
        if let Some(new) = new {
            *self.path_uses.entry(new).or_default() += 1;
        }
        if let Err(e) = outcome {
            self.log.log(
                LogLevel::Error,
                &format!("could not create AUTO log for {name}: {e}"),
            );
        }
    }

    /// Creates the `AUTO` files that no spawn has created yet, so every published log
    /// name exists (empty until the process writes).
    pub(super) fn create_pending_auto_logs(&mut self) {
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
        // The files the spawns' logs hold tickets for: wait for the rest of the batch,
        // hand each log its file (a ticket would keep the whole batch in memory until the
        // child first writes), and record where a taken name sent one.
        let Some(batch) = self.auto_batch.take() else {
            return;
        };
        for &(gi, pi, i) in batch.keys() {
            if let Some(log) = &self.groups[gi].procs[pi].logs[i] {
                log.lock().expect("log lock").settle_auto();
            }
            let Some(old) = self.groups[gi].procs[pi].log_paths[i].clone() else {
                continue;
            };
            match batch.outcome(&(gi, pi, i), &old) {
                Some(Ok(path)) if path.as_path() == &*old => {}
                Some(outcome) => self.settle_auto_path(gi, pi, i, &old, outcome),
                None => {}
            }
        }
    }

    /// A pass that may start many processes whose `AUTO` files do not exist yet has them
    /// made on a helper thread meanwhile, in the order `transition_all` will spawn them:
    /// on a disk, creating two files per program would otherwise sit between every two
    /// spawns. `create_pending_auto_logs` takes up the rest before the pass publishes.
    pub(super) fn start_auto_batch(&mut self) {
        /// Fewer files than this are made inline: a thread is not worth it.
        const BATCH_MIN: usize = 32;
        if !self.auto_pending || self.auto_batch.is_some() {
            return;
        }
        let mut jobs = Vec::new();
        for (gi, g) in self.groups.iter().enumerate() {
            for (pi, p) in g.procs.iter().enumerate() {
                for i in 0..2 {
                    if let (true, Some(path)) = (p.auto_pending[i], &p.log_paths[i]) {
                        jobs.push(((gi, pi, i), path.clone()));
                    }
                }
            }
        }
        if jobs.len() >= BATCH_MIN {
            self.auto_batch = logs::AutoLogBatch::start(jobs).ok();
        }
    }

    /// supervisord's `Subprocess.spawn()`.
    pub(super) fn spawn_proc(&mut self, gi: usize, pi: usize) {
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
            p.spawns = p.spawns.saturating_add(1);
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
        let (notify_socket, extra_env) = self.notify_socket_for(&cfg);
        let ctx = SpawnContext {
            group: &group_name,
            base_env: &self.base_env,
            global_env: &self.config.supervisord.environment,
            serverurl: self.serverurl.as_deref(),
            stdin_socket: self.groups[gi].fcgi_socket.as_ref().map(|f| f.as_fd()),
            signals: *self
                .signal_plan
                .get_or_insert_with(spawn::SignalPlan::current),
            extra_env: &extra_env,
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
                                > 0
                            || cfg
                                .health
                                .as_deref()
                                .is_some_and(|h| h.ready_log_line.is_some());
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
                self.health_spawned(gi, pi);
                if let Some(sock) = notify_socket {
                    self.start_notifier(gi, pi, sock);
                }
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

    pub(super) fn start_pump(&mut self, fd: OwnedFd, pump: Pump) {
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
    pub(super) fn kill(&mut self, gi: usize, pi: usize, sig: i32) -> Result<(), String> {
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

    pub(super) fn stop_proc(&mut self, gi: usize, pi: usize) -> Result<(), String> {
        let sig = self.groups[gi].procs[pi].cfg.stopsignal;
        self.kill(gi, pi, sig)
    }

    /// Reaps every exited child without blocking.
    pub(super) fn reap(&mut self) {
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
                    if self.cron_extra_exited(pid, status) || self.check_exited(pid, status) {
                        continue;
                    }
                    let (_, msg) = decode_wait_status(status);
                    self.info(&format!("reaped unknown pid {pid} ({msg})"));
                }
            }
        }
    }

    /// supervisord's `Subprocess.finish()`.
    pub(super) fn finish(&mut self, gi: usize, pi: usize, status: i32) {
        let (es, msg) = decode_wait_status(status);
        let pid = self.groups[gi].procs[pi].pid;
        let now = Instant::now();
        let p = &mut self.groups[gi].procs[pi];
        p.laststop_wall = wall_now();
        p.term_signal = libc::WIFSIGNALED(status).then(|| libc::WTERMSIG(status));
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
        self.sweep_orphans(gi, pi, pid);
        self.health_exited(gi, pi);
        self.listener_exited(gi, pi);
        if is_cron(&self.groups[gi].cfg) {
            let name: Arc<str> = self.groups[gi].cfg.name.as_str().into();
            self.cron_run_ends(&name, pid, Some(es), None);
        }
    }

    /// Lists (and with `kill_orphans`, SIGKILLs) what the exited child `pid` left in its
    /// process group, after a stop or an exit on its own alike: an empty group (nearly
    /// every exit, however fast a program flaps) costs one syscall, not a `/proc` scan.
    fn sweep_orphans(&mut self, gi: usize, pi: usize, pid: i32) {
        let p = &self.groups[gi].procs[pi];
        let kill = p.cfg.kill_orphans;
        if pid <= 0 {
            return;
        }
        let name = p.key.name.clone();
        let left = crate::orphans::left_behind(pid);
        if left.is_empty() {
            return;
        }
        let plural = if left.len() == 1 { "" } else { "es" };
        self.warn(&format!(
            "program '{name}' left {} process{plural} behind: {}",
            left.len(),
            crate::orphans::describe(&left)
        ));
        if kill {
            let killed = crate::orphans::kill_all(&left);
            if !killed.is_empty() {
                self.info(&format!(
                    "kill_orphans: sent SIGKILL to {} process{} of '{name}': {}",
                    killed.len(),
                    if killed.len() == 1 { "" } else { "es" },
                    crate::orphans::describe(&killed)
                ));
            }
        }
    }

    /// A cron job's spawn failed before a child existed: record the run as failed.
    pub(super) fn cron_spawn_failed(&mut self, gi: usize, error: String) {
        if !is_cron(&self.groups[gi].cfg) {
            return;
        }
        let name: Arc<str> = self.groups[gi].cfg.name.as_str().into();
        if self.cron_run_begins(&name).is_some() {
            self.cron_run_ends(&name, 0, None, Some(error));
        }
    }
}
