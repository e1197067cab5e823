//! The one action layer: start, stop, restart, signal, group and "all" actions, reload
//! (reread + update) and cron run-now, written once over [`EngineHandle`].
//!
//! Every protocol is an adapter over these functions: XML-RPC (`steward_rpc`) maps
//! [`ActionError`] to supervisord's faults, the JSON API maps it to HTTP statuses, the
//! dashboard and the TUI go through the API. A behaviour fixed here is fixed everywhere.
//!
//! Name resolution is supervisord's: `group:process`, `group:*` / `group:` (the whole
//! group) or a bare `name` (the process `name` of the group `name`). Group and "all"
//! actions act on the members in priority order and run in parallel, each member's result
//! reported separately, as `supervisor.startProcessGroup` does.

use crate::supervisor::{ActionError, ConfigDiff, EngineHandle, ProcInfo, ProcKey, Request};
use crate::Snapshot;

/// What a name designates, borrowed from a snapshot.
#[derive(Debug, Clone, Copy)]
pub enum Target<'a> {
    /// One process.
    Process(&'a ProcInfo),
    /// Every process of a group (`group:*`, `group:`).
    Group(&'a str),
}

/// supervisord's `split_namespec`: `g:p`, `g:`/`g:*` (process None), or `p` (= group p).
pub fn split_namespec(namespec: &str) -> (&str, Option<&str>) {
    match namespec.split_once(':') {
        Some((g, p)) if p.is_empty() || p == "*" => (g, None),
        Some((g, p)) => (g, Some(p)),
        None => (namespec, Some(namespec)),
    }
}

/// `group:name`, or `name` alone when the group is named after its only process.
pub fn namespec(group: &str, name: &str) -> String {
    if group == name {
        name.to_string()
    } else {
        format!("{group}:{name}")
    }
}

/// supervisord's `_getGroupAndProcess`: what `namespec` designates, or BAD_NAME.
pub fn resolve<'a>(snap: &'a Snapshot, namespec: &'a str) -> Result<Target<'a>, ActionError> {
    let (group, process) = split_namespec(namespec);
    if !snap.has_group(group) {
        return Err(ActionError::BadName);
    }
    match process {
        None => Ok(Target::Group(group)),
        Some(p) => snap
            .find(group, p)
            .map(Target::Process)
            .ok_or(ActionError::BadName),
    }
}

/// The one process `namespec` names (a group name is BAD_NAME here).
pub fn process<'a>(snap: &'a Snapshot, namespec: &'a str) -> Result<&'a ProcInfo, ActionError> {
    match resolve(snap, namespec)? {
        Target::Process(info) => Ok(info),
        Target::Group(_) => Err(ActionError::BadName),
    }
}

/// Processes in the order supervisord starts them: group priority, group, process
/// priority, name.
pub fn priority_order<'a>(processes: impl IntoIterator<Item = &'a ProcInfo>) -> Vec<&'a ProcInfo> {
    let mut v: Vec<&ProcInfo> = processes.into_iter().collect();
    v.sort_by(|a, b| {
        (a.group_priority, &a.group, a.config.priority, &a.name).cmp(&(
            b.group_priority,
            &b.group,
            b.config.priority,
            &b.name,
        ))
    });
    v
}

/// The members of `group` (or of everything, for `None`) in priority order, or BAD_NAME.
pub fn members(snap: &Snapshot, group: Option<&str>) -> Result<Vec<ProcInfo>, ActionError> {
    if let Some(g) = group {
        if !snap.has_group(g) {
            return Err(ActionError::BadName);
        }
    }
    let selected = snap
        .processes
        .iter()
        .map(|p| &**p)
        .filter(|p| group.is_none_or(|g| *p.group == *g));
    Ok(priority_order(selected).into_iter().cloned().collect())
}

fn key(info: &ProcInfo) -> ProcKey {
    ProcKey {
        group: info.group.clone(),
        name: info.name.clone(),
    }
}

/// Which of several actions on a set of processes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ManyAction {
    Start,
    Stop,
}

/// One member's outcome in a group or "all" action.
#[derive(Debug, Clone)]
pub struct MemberResult {
    /// The member as it was when the action began.
    pub info: ProcInfo,
    /// Its position in priority order.
    pub index: usize,
    pub result: Result<(), ActionError>,
    /// supervisord would have answered this one through a deferred callback (XML-RPC
    /// orders those after the immediate ones).
    pub deferred: bool,
}

impl EngineHandle {
    /// Starts one process; with `wait`, resolves once it is RUNNING (or failed).
    pub async fn start_process(&self, info: &ProcInfo, wait: bool) -> Result<(), ActionError> {
        let key = key(info);
        self.call(|reply| Request::Start { key, wait, reply }).await
    }

    /// Stops one process; with `wait`, resolves once it has stopped.
    pub async fn stop_process(&self, info: &ProcInfo, wait: bool) -> Result<(), ActionError> {
        let key = key(info);
        self.call(|reply| Request::Stop { key, wait, reply }).await
    }

    /// supervisorctl's restart: stop (waiting, a stopped process is fine), then start
    /// (waiting until it is RUNNING or has failed).
    pub async fn restart_process(&self, info: &ProcInfo) -> Result<(), ActionError> {
        match self.stop_process(info, true).await {
            Ok(()) | Err(ActionError::NotRunning) => {}
            Err(e) => return Err(e),
        }
        self.start_process(info, true).await
    }

    /// Sends `signal` to one process.
    pub async fn signal_process(&self, info: &ProcInfo, signal: i32) -> Result<(), ActionError> {
        let key = key(info);
        self.call(|reply| Request::Signal { key, signal, reply })
            .await
    }

    /// supervisord's `make_allfunc`: starts (or stops) every member not already in the
    /// wanted state, all at once, and reports each one's result.
    pub async fn act_on_many(
        &self,
        members: Vec<ProcInfo>,
        action: ManyAction,
        wait: bool,
    ) -> Vec<MemberResult> {
        let start = action == ManyAction::Start;
        let mut pending = tokio::task::JoinSet::new();
        for (index, info) in members.into_iter().enumerate() {
            if info.state.is_running() == start {
                continue;
            }
            let k = key(&info);
            let reply = if start {
                self.send(|reply| Request::Start {
                    key: k,
                    wait,
                    reply,
                })
            } else {
                self.send(|reply| Request::Stop {
                    key: k,
                    wait,
                    reply,
                })
            };
            pending.spawn(async move { (index, info, reply.wait().await) });
        }
        let mut results = Vec::new();
        while let Some(Ok((index, info, result))) = pending.join_next().await {
            // A stop that waits is always answered later (the process is STOPPING right
            // after the signal); a start that waits is, unless startsecs=0 made it
            // RUNNING at once; the start callback's own faults are deferred too.
            let deferred = wait
                && match &result {
                    Ok(()) => !start || info.config.startsecs > 0,
                    Err(ActionError::SpawnError | ActionError::AbnormalTermination) => start,
                    Err(_) => false,
                };
            results.push(MemberResult {
                info,
                index,
                result,
                deferred,
            });
        }
        results.sort_by_key(|r| r.index);
        results
    }

    /// Restarts every member: stops those running (all at once, waiting), then starts
    /// every member (all at once, waiting).
    pub async fn restart_many(&self, members: Vec<ProcInfo>) -> Vec<MemberResult> {
        let stopped = self
            .act_on_many(members.clone(), ManyAction::Stop, true)
            .await;
        let mut failed_stop: std::collections::HashMap<usize, ActionError> = stopped
            .into_iter()
            .filter_map(|r| r.result.err().map(|e| (r.index, e)))
            .collect();
        let fresh = self.snapshot();
        let current: Vec<ProcInfo> = members
            .iter()
            .map(|m| fresh.find(&m.group, &m.name).cloned().unwrap_or(m.clone()))
            .collect();
        let mut started = self
            .act_on_many(current.clone(), ManyAction::Start, true)
            .await;
        for r in &mut started {
            if let Some(e) = failed_stop.remove(&r.index) {
                r.result = Err(e);
            }
        }
        // A member already running after the stop phase (its stop failed) is not started
        // again; report its stop error.
        for (index, e) in failed_stop {
            started.push(MemberResult {
                info: current[index].clone(),
                index,
                result: Err(e),
                deferred: false,
            });
        }
        started.sort_by_key(|r| r.index);
        started
    }

    /// Sends `signal` to every member that can take one (RUNNING, STARTING, STOPPING).
    pub async fn signal_many(&self, members: Vec<ProcInfo>, signal: i32) -> Vec<MemberResult> {
        let mut results = Vec::new();
        for (index, info) in members.into_iter().enumerate() {
            if !info.state.is_signallable() {
                continue;
            }
            let result = self.signal_process(&info, signal).await;
            results.push(MemberResult {
                info,
                index,
                result,
                deferred: false,
            });
        }
        results
    }

    /// Re-reads the config files: what an update would add, change and remove. The new
    /// parse becomes the one `add_group` uses; nothing runs differently yet.
    pub async fn reread(&self) -> Result<ConfigDiff, ActionError> {
        self.call(|reply| Request::ReloadConfig { reply }).await
    }

    /// Adds a group of the last parse.
    pub async fn add_group(&self, name: &str) -> Result<(), ActionError> {
        let name = name.to_string();
        self.call(|reply| Request::AddGroup { name, reply }).await
    }

    /// Removes a stopped group.
    pub async fn remove_group(&self, name: &str) -> Result<(), ActionError> {
        let name = name.to_string();
        self.call(|reply| Request::RemoveGroup { name, reply })
            .await
    }

    /// supervisorctl's `update` for the groups of `diff`: removed groups are stopped and
    /// removed, changed ones stopped, removed and added again, new ones added. Returns one
    /// line per group, as supervisorctl prints them.
    pub async fn apply_update(
        &self,
        diff: &ConfigDiff,
    ) -> Vec<(String, Result<String, ActionError>)> {
        let mut out = Vec::new();
        for group in &diff.removed {
            let r = self
                .stop_and_remove(group)
                .await
                .map(|()| "stopped; removed process group".to_string());
            out.push((group.clone(), r));
        }
        for group in &diff.changed {
            let r = match self.stop_and_remove(group).await {
                Ok(()) => self
                    .add_group(group)
                    .await
                    .map(|()| "updated process group".to_string()),
                Err(e) => Err(e),
            };
            out.push((group.clone(), r));
        }
        for group in &diff.added {
            let r = self
                .add_group(group)
                .await
                .map(|()| "added process group".to_string());
            out.push((group.clone(), r));
        }
        out
    }

    async fn stop_and_remove(&self, group: &str) -> Result<(), ActionError> {
        let snap = self.snapshot();
        if let Ok(list) = members(&snap, Some(group)) {
            for r in self.act_on_many(list, ManyAction::Stop, true).await {
                match r.result {
                    Ok(()) | Err(ActionError::NotRunning) => {}
                    Err(e) => return Err(e),
                }
            }
        }
        self.remove_group(group).await
    }

    /// Pauses (`true`) or resumes a cron job's schedule.
    pub async fn cron_pause(&self, name: &str, paused: bool) -> Result<(), ActionError> {
        let name = name.to_string();
        self.call(|reply| Request::CronPause {
            name,
            paused,
            reply,
        })
        .await
    }

    /// Runs a cron job now, through its overlap policy.
    pub async fn cron_run_now(&self, name: &str) -> Result<(), ActionError> {
        let name = name.to_string();
        self.call(|reply| Request::CronRun { name, reply }).await
    }
}

/// How many bytes of a command's output are kept at each end.
pub const COMMAND_OUTPUT_KEEP: usize = 64 * 1024;

/// The outcome of one `[command:x]` run.
#[derive(Debug, Clone)]
pub struct CommandOutcome {
    pub name: String,
    pub started: jiff::Timestamp,
    pub duration: std::time::Duration,
    /// The exit code, `None` when a signal ended it (or it timed out).
    pub exit_code: Option<i32>,
    /// The signal that ended it, by name (`KILL` after a timeout).
    pub signal: Option<String>,
    pub timed_out: bool,
    /// The first [`COMMAND_OUTPUT_KEEP`] bytes of stdout and stderr (interleaved).
    pub output_head: Vec<u8>,
    /// The last bytes not in the head (at most [`COMMAND_OUTPUT_KEEP`]).
    pub output_tail: Vec<u8>,
    pub output_bytes: u64,
}

/// Keeps the head and the tail of a stream, dropping the middle.
#[derive(Default)]
struct HeadTail {
    head: Vec<u8>,
    tail: std::collections::VecDeque<u8>,
    total: u64,
}

impl HeadTail {
    fn push(&mut self, mut data: &[u8]) {
        self.total += data.len() as u64;
        let room = COMMAND_OUTPUT_KEEP - self.head.len();
        if room > 0 {
            let n = room.min(data.len());
            self.head.extend_from_slice(&data[..n]);
            data = &data[n..];
        }
        self.tail.extend(data);
        let excess = self.tail.len().saturating_sub(COMMAND_OUTPUT_KEEP);
        self.tail.drain(..excess);
    }
}

impl EngineHandle {
    /// Runs a declared command to its end (or its timeout, after which its process group
    /// is killed) and reports its exit, duration and output.
    pub async fn run_command(
        &self,
        cfg: std::sync::Arc<steward_config::CommandConfig>,
    ) -> Result<CommandOutcome, ActionError> {
        use tokio::io::AsyncReadExt;
        let started = jiff::Timestamp::now();
        let clock = std::time::Instant::now();
        let (tx, rx) = tokio::sync::oneshot::channel();
        let name = cfg.name.clone();
        let timeout = std::time::Duration::from_secs(cfg.timeout);
        if !self.request(Request::SpawnCommand { cfg, reply: tx }) {
            return Err(ActionError::ShutdownState);
        }
        let spawned = rx
            .await
            .map_err(|_| ActionError::ShutdownState)?
            .map_err(ActionError::Failed)?;
        let pid = spawned.pid;
        let mut output = HeadTail::default();
        let mut pipe = tokio::net::unix::pipe::Receiver::from_owned_fd(spawned.output).ok();
        let read_all = async {
            let mut buf = vec![0u8; 16 * 1024];
            if let Some(p) = pipe.as_mut() {
                while let Ok(n) = p.read(&mut buf).await {
                    if n == 0 {
                        break;
                    }
                    output.push(&buf[..n]);
                }
            }
        };
        let status = spawned.status;
        let waited = tokio::time::timeout(timeout, async {
            let (status, ()) = tokio::join!(status, read_all);
            status
        })
        .await;
        let (exit_code, signal, timed_out) = match waited {
            Ok(Ok(st)) => {
                if libc::WIFEXITED(st) {
                    (Some(libc::WEXITSTATUS(st)), None, false)
                } else {
                    let sig = libc::WTERMSIG(st);
                    (None, Some(crate::text::signame(sig)), false)
                }
            }
            Ok(Err(_)) => return Err(ActionError::ShutdownState),
            Err(_) => {
                let _ = self.request(Request::KillCheck { pid });
                (None, Some("SIGKILL".to_string()), true)
            }
        };
        let tail: Vec<u8> = output.tail.into_iter().collect();
        Ok(CommandOutcome {
            name,
            started,
            duration: clock.elapsed(),
            exit_code,
            signal,
            timed_out,
            output_head: output.head,
            output_tail: tail,
            output_bytes: output.total,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn head_and_tail_keep_both_ends() {
        let mut h = HeadTail::default();
        h.push(&vec![b'a'; COMMAND_OUTPUT_KEEP - 1]);
        h.push(b"bc");
        h.push(&vec![b'x'; 3 * COMMAND_OUTPUT_KEEP]);
        h.push(b"end");
        assert_eq!(h.head.len(), COMMAND_OUTPUT_KEEP);
        assert_eq!(h.head.last(), Some(&b'b'));
        assert_eq!(h.tail.len(), COMMAND_OUTPUT_KEEP);
        assert!(h.tail.iter().rev().take(3).eq(b"dne".iter()));
        assert_eq!(
            h.total,
            (COMMAND_OUTPUT_KEEP + 1 + 3 * COMMAND_OUTPUT_KEEP + 3) as u64
        );
    }
}
