//! The loop's record of one process ([`Proc`]) and of one group, and how a record turns
//! into the [`ProcInfo`] the snapshot publishes (reusing the last one while unchanged).

use super::*;

pub(super) struct Proc {
    pub(super) key: ProcKey,
    pub(super) cfg: Arc<ProcessConfig>,
    pub(super) state: ProcessState,
    pub(super) pid: i32,
    pub(super) laststart: Option<Instant>,
    pub(super) laststart_wall: f64,
    /// Spawn attempts since the process record was created (the API's restart count).
    pub(super) spawns: u32,
    pub(super) laststop_wall: f64,
    pub(super) delay: Option<Instant>,
    pub(super) backoff: u32,
    pub(super) killing: bool,
    pub(super) spawnerr: Option<String>,
    pub(super) exitstatus: Option<i32>,
    /// The signal that ended the last run, when one did (notifications name it).
    pub(super) term_signal: Option<i32>,
    pub(super) stdin: Option<StdinPipe>,
    pub(super) logs: [Option<Arc<Mutex<ChannelLog>>>; 2],
    pub(super) log_paths: [Option<Arc<std::path::Path>>; 2],
    /// Which `log_paths` are `AUTO` names whose file is not created yet.
    pub(super) auto_pending: [bool; 2],
    pub(super) events_enabled: [bool; 2],
    /// Boxed: only event listeners have one, and every record would otherwise carry its
    /// size.
    pub(super) listener: Option<Box<listeners::ListenerProto>>,
    /// Dependencies and health (see `health`); boxed, most processes have neither.
    pub(super) readiness: Option<Box<health::Readiness>>,
    /// This process as last published, reused while nothing in it changed.
    pub(super) published: Option<Arc<ProcInfo>>,
}

/// The write end of a child's stdin pipe. It is registered with the runtime only at the
/// first sendProcessStdin: most children never get input, and a registration costs
/// ~256 bytes per process.
pub(super) enum StdinPipe {
    Fd(OwnedFd),
    Registered(Arc<tokio::sync::Mutex<tokio::net::unix::pipe::Sender>>),
}

impl Proc {
    /// The stdin pipe's writer, registering the pipe with the runtime on first use. `None`
    /// when there is no pipe (or it cannot be registered, which leaves none).
    pub(super) fn stdin_writer(
        &mut self,
    ) -> Option<Arc<tokio::sync::Mutex<tokio::net::unix::pipe::Sender>>> {
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
    pub(super) fn published_info(&mut self, group_priority: i32) -> Arc<ProcInfo> {
        if let Some(info) = &self.published {
            let unchanged = info.state == self.state
                && info.pid == self.pid
                && info.start == self.laststart_wall
                && info.stop == self.laststop_wall
                && info.exitstatus == self.exitstatus
                && info.term_signal == self.term_signal
                && info.spawnerr == self.spawnerr
                && info.spawns == self.spawns
                && info.group_priority == group_priority
                && Arc::ptr_eq(&info.config, &self.cfg)
                && info.stdout_logfile == self.log_paths[0]
                && info.stderr_logfile == self.log_paths[1]
                && match (&info.health, self.readiness.as_deref()) {
                    (Some(a), Some(r)) => {
                        Arc::ptr_eq(a, &r.info) && info.waiting_for == r.waiting_for
                    }
                    (None, None) => true,
                    _ => false,
                };
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
            term_signal: self.term_signal,
            spawns: self.spawns,
            stdout_logfile: self.log_paths[0].clone(),
            stderr_logfile: self.log_paths[1].clone(),
            config: self.cfg.clone(),
            health: self.readiness.as_ref().map(|r| r.info.clone()),
            waiting_for: self.readiness.as_ref().and_then(|r| r.waiting_for.clone()),
        });
        self.published = Some(info.clone());
        info
    }
}

pub(super) struct Group {
    pub(super) cfg: Arc<GroupConfig>,
    pub(super) procs: Vec<Proc>,
    /// `[fcgi-program:x]`: the shared listening socket (fd 0 of every child).
    pub(super) fcgi_socket: Option<OwnedFd>,
}

pub(super) struct Waiter {
    pub(super) key: ProcKey,
    pub(super) start: bool,
    pub(super) reply: Reply<()>,
}
