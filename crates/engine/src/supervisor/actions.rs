//! Requests from outside the loop: start, stop, signal, stdin, logs, reload, cron and
//! shutdown requests are checked and applied here, and answered through the outbox
//! once the snapshot of the same pass is out. `wait=true` starts and stops park as
//! waiters until the process settles.

use super::*;

impl Engine {
    /// Queues a reply; replies go out after the snapshot of this loop iteration is
    /// published, so a caller never reads a picture older than its answer.
    pub(super) fn respond<V: Send + 'static>(&mut self, reply: oneshot::Sender<V>, value: V) {
        self.outbox.push(Box::new(move || {
            let _ = reply.send(value);
        }));
    }

    pub(super) fn flush_replies(&mut self) {
        for send in self.outbox.drain(..) {
            send();
        }
    }

    pub(super) fn refuse_when_stopping<T: Send + 'static>(
        &mut self,
        reply: Reply<T>,
    ) -> Option<Reply<T>> {
        if self.mood < SupervisorState::Running {
            self.respond(reply, Err(ActionError::ShutdownState));
            None
        } else {
            Some(reply)
        }
    }

    pub(super) fn handle(&mut self, req: Request) {
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
                if let Some(r) = self.groups[gi].procs[pi].readiness.as_deref_mut() {
                    // The operator's stop ends a pending unhealthy or dependency restart.
                    r.restart_pending = false;
                    r.held = false;
                }
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
                self.health_output(&key, pid, &logged);
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
            Request::CronPause {
                name,
                paused,
                reply,
            } => {
                let r = self.cron_set_paused(&name, paused);
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
            Request::Health { key, pid, verdict } => self.health_verdict(&key, pid, verdict),
            Request::SpawnCheck { key, reply } => {
                let r = self.spawn_check(&key);
                let _ = reply.send(r);
            }
            Request::KillCheck { pid } => self.kill_check(pid),
            Request::SpawnHelper { argv, stdin, reply } => {
                let r = self.spawn_helper(&argv, &[], None, Some(stdin), None);
                let _ = reply.send(r);
            }
            Request::SpawnCommand { cfg, reply } => {
                let r = self.spawn_declared_command(&cfg);
                let _ = reply.send(r);
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

    pub(super) fn start_request(&mut self, key: &ProcKey) -> Result<(), ActionError> {
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

    pub(super) fn signal_request(&mut self, key: &ProcKey, sig: i32) -> Result<(), ActionError> {
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

    pub(super) fn check_waiters(&mut self) {
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
}
