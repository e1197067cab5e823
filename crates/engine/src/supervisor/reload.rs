//! Groups coming and going: adding a group (log names, FastCGI socket, pool, cron job),
//! removing a stopped one, and reloadConfig's diff of the last parse against the
//! running groups (supervisord's `diff_to_active`).

use super::*;

impl Engine {
    pub(super) fn add_group(&mut self, cfg: Arc<GroupConfig>) {
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
                spawns: 0,
                laststop_wall: 0.0,
                delay: None,
                backoff: 0,
                killing: false,
                spawnerr: None,
                exitstatus: None,
                term_signal: None,
                stdin: None,
                logs: [None, None],
                log_paths,
                auto_pending,
                events_enabled: [pc.stdout.events_enabled, pc.stderr.events_enabled],
                listener: matches!(cfg.kind, steward_config::GroupKind::EventListener { .. })
                    .then(|| Box::new(listeners::ListenerProto::new())),
                readiness: health::Readiness::new(pc),
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
        self.program_index = None;
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

    pub(super) fn remove_group(&mut self, name: &str) -> Result<(), ActionError> {
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
        self.program_index = None;
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

    /// reloadConfig's diff of the last parse against the running groups.
    pub(super) fn diff(&self) -> ConfigDiff {
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
