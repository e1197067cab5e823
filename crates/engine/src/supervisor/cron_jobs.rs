//! `[cron:x]` jobs inside the supervisor loop: firing on schedule with the overlap policy,
//! catch-up after downtime, timeouts, and the run records kept in memory and in the run
//! history. A job is an ordinary process record of the loop (so status, start, logs and
//! events work as for programs); this module only decides when to spawn it and records
//! what each run did. `overlap = allow` runs beyond the first are extra children tracked
//! here by pid; they write to the same log files. Jobs with a cluster lock claim each
//! fire before running it (the [`cluster`] submodule).

use std::collections::VecDeque;

use jiff::Timestamp;
use rand::Rng;

use super::*;
use crate::cron::{
    clock_offset, plan, planning_now, JobSpec, RunTrigger, ON_TIME_GRACE, STARTUP_GRACE,
};
use crate::history::{end_status_text, HistoryError, OutputTap, RunEnd, RunPlace, Trigger};

mod cluster;
pub use cluster::ClusterMsg;
use cluster::{ClaimHeld, JobLock};

/// The public picture of a job, for `steward cron list`.
#[derive(Debug, Clone)]
pub struct CronJobInfo {
    pub name: String,
    pub schedule: String,
    pub description: String,
    pub timezone: String,
    pub next: Option<Timestamp>,
    pub enabled: bool,
    /// Paused by the API (`POST /api/v1/cron/{job}/disable`) until resumed, the daemon
    /// restarts or the section changes; `enabled` is then false too.
    pub paused: bool,
    pub running: bool,
    pub last: Option<RunSummary>,
    /// The node that ran the latest fire this node knows of (itself, or the winner of
    /// a cluster claim).
    pub last_node: Option<String>,
    /// Fires this node skipped since the daemon started (cluster claims, overlap).
    pub skipped: u64,
    /// Fires that ran nowhere since the daemon started (downtime beyond catch-up,
    /// overlap): the CRON_MISSED events' counts.
    pub missed: u64,
}

/// The outcome of a finished run.
#[derive(Debug, Clone)]
pub struct RunSummary {
    pub started: Timestamp,
    pub duration: f64,
    /// `ok`, `exit N`, `killed`, `timed out`, `spawn error: …`.
    pub status: String,
}

/// How long a finished run waits for its output pipes to close before it is recorded.
const DRAIN_WAIT: Duration = Duration::from_secs(2);

/// A finished run waiting for the rest of its output.
pub(super) struct Draining {
    pid: i32,
    name: Arc<str>,
    run: CronRun,
    exit_status: Option<i32>,
    error: Option<String>,
    deadline: Instant,
}

/// A run waiting to start: why, which fire, and the cluster claim it holds.
#[derive(Debug, Clone)]
pub(super) struct PendingRun {
    trigger: RunTrigger,
    scheduled: Option<Timestamp>,
    claim: Option<ClaimHeld>,
}

impl PendingRun {
    fn new(trigger: RunTrigger, scheduled: Option<Timestamp>) -> PendingRun {
        PendingRun {
            trigger,
            scheduled,
            claim: None,
        }
    }
}

pub(super) struct CronRun {
    /// The history row; written by [`Engine::cron_persist_begins`] after the spawn.
    id: Option<u64>,
    /// Whether the history row was attempted (`id` stays `None` when history is down).
    begun: bool,
    trigger: RunTrigger,
    scheduled: Option<Timestamp>,
    started: Timestamp,
    tap: Arc<Mutex<OutputTap>>,
    /// A UUID for this run, carried by its CRON_STARTED and CRON_FINISHED events.
    rid: Arc<str>,
    timed_out: bool,
    timeout_at: Option<Instant>,
    /// For extra (`overlap = allow`) runs: when to send SIGKILL after the stop signal.
    kill_at: Option<Instant>,
    place: RunPlace,
    claim: Option<ClaimHeld>,
    /// The task renewing `claim`'s lease while the run lives.
    renewer: Option<tokio::task::AbortHandle>,
}

pub(super) struct CronJob {
    pub(super) spec: JobSpec,
    /// The latest fire time handled.
    handled_until: Timestamp,
    next: Option<Timestamp>,
    /// `next` plus jitter: when the timer should wake for it.
    due_at: Option<Timestamp>,
    queued: VecDeque<PendingRun>,
    pub(super) current: Option<CronRun>,
    last: Option<RunSummary>,
    last_node: Option<String>,
    skipped: u64,
    missed: u64,
    /// `lock = redis://…` (own or from `[cluster]`).
    lock: Option<JobLock>,
    /// Paused at run time (`POST /api/v1/cron/{job}/disable`): fires are skipped until it
    /// is resumed, the daemon restarts or the job's section changes.
    paused: bool,
    /// The run-history error last logged for this job, so a broken state directory is
    /// reported once (and its recovery once), not at every run.
    history_error: Option<String>,
}

fn to_trigger(t: RunTrigger) -> Trigger {
    match t {
        RunTrigger::Schedule => Trigger::Schedule,
        RunTrigger::Manual => Trigger::Manual,
        RunTrigger::Catchup => Trigger::Catchup,
    }
}

fn jittered(next: Option<Timestamp>, jitter: u64) -> Option<Timestamp> {
    let next = next?;
    if jitter == 0 {
        return Some(next);
    }
    let extra = rand::thread_rng().gen_range(0..=jitter * 1000);
    next.checked_add(jiff::SignedDuration::from_millis(extra as i64))
        .ok()
        .or(Some(next))
}

impl Engine {
    fn grace(spec: &JobSpec) -> Duration {
        ON_TIME_GRACE + Duration::from_secs(spec.config.jitter)
    }

    /// Logs a run-history failure of job `name` once per distinct error, and the
    /// recovery once; returns the value on success.
    fn cron_history<T>(&mut self, name: &str, r: Result<T, HistoryError>) -> Option<T> {
        let err = r.as_ref().err().map(|e| e.to_string());
        if let Some(job) = self.jobs.get_mut(name) {
            if job.history_error == err {
                return r.ok();
            }
            job.history_error = err.clone();
        }
        match &err {
            Some(e) => self.log.log(
                LogLevel::Error,
                &format!("cron: {name}: run history unavailable (runs continue without it): {e}"),
            ),
            None => self.info(&format!("cron: {name}: run history available again")),
        }
        r.ok()
    }

    /// Registers a cron group's job and plans its first runs (catch-up after downtime,
    /// `@reboot`).
    pub(super) fn cron_add(&mut self, group: &GroupConfig) {
        let steward_config::GroupKind::Cron(cc) = &group.kind else {
            return;
        };
        let spec = match JobSpec::new(cc) {
            Ok(s) => s,
            Err(e) => {
                self.log.log(
                    LogLevel::Error,
                    &format!("cron: job {} has an invalid schedule: {e}", group.name),
                );
                return;
            }
        };
        let name: Arc<str> = group.name.as_str().into();
        let now = planning_now();
        let lock = self.cron_lock_for(&group.name, cc);
        if let Some(h) = &mut self.history {
            h.set_keep(&group.name, cc.history);
        }
        let last = self.history.as_ref().map(|h| h.last_scheduled(&group.name));
        let history_error = match &last {
            Some(Err(e)) => {
                self.log.log(
                    LogLevel::Error,
                    &format!(
                        "cron: {}: run history unavailable (runs continue without it): {e}",
                        group.name
                    ),
                );
                Some(e.to_string())
            }
            _ => None,
        };
        let last = last.and_then(|r| r.ok().flatten());
        let mut job = CronJob {
            handled_until: last.unwrap_or(now),
            next: None,
            due_at: None,
            queued: VecDeque::new(),
            current: None,
            last: None,
            last_node: None,
            skipped: 0,
            missed: 0,
            lock,
            history_error,
            paused: false,
            spec,
        };
        job.last = self.cron_last_summary(&group.name);
        let mut missed_at_start = None;
        if cc.enabled {
            if job.spec.schedule.is_reboot() {
                if self.first_start {
                    job.queued
                        .push_back(PendingRun::new(RunTrigger::Schedule, Some(now)));
                }
            } else {
                // Fire times before the daemon (re)started were missed, however recent:
                // they follow `catchup`, not the on-time grace of a late wake-up.
                let p = plan(
                    &job.spec.schedule,
                    &job.spec.tz,
                    job.handled_until,
                    now,
                    cc.catchup,
                    STARTUP_GRACE,
                );
                if p.skipped > 0 {
                    self.info(&format!(
                        "cron: {} missed {} run(s) while the daemon was down (catchup={})",
                        group.name, p.skipped, cc.catchup
                    ));
                    if job.lock.is_none() {
                        missed_at_start = Some((p.skipped as u64, job.handled_until));
                    }
                }
                for t in p.catchup {
                    job.queued
                        .push_back(PendingRun::new(RunTrigger::Catchup, Some(t)));
                }
                if let Some(t) = p.on_time {
                    job.queued
                        .push_back(PendingRun::new(RunTrigger::Schedule, Some(t)));
                }
                job.handled_until = p.handled_until;
                job.next = p.next;
                job.due_at = jittered(p.next, cc.jitter);
            }
        }
        // A locked job's start-up fires are claimed first (an @reboot run is per node).
        let to_claim: Vec<PendingRun> = if job.lock.is_some() {
            let (claim, local): (Vec<PendingRun>, Vec<PendingRun>) = job
                .queued
                .drain(..)
                .partition(|r| !job.spec.schedule.is_reboot() && r.scheduled.is_some());
            job.queued.extend(local);
            claim
        } else {
            Vec::new()
        };
        self.jobs.insert(name.clone(), job);
        if let Some((count, after)) = missed_at_start {
            self.cron_missed(&name, count, None, Some(after), "the daemon was down");
        }
        for run in to_claim {
            self.cron_claim(&name, run);
        }
        self.cron_drain(&name);
    }

    fn cron_last_summary(&mut self, name: &str) -> Option<RunSummary> {
        let rec = self.history.as_mut()?.last(name).ok().flatten()?;
        Some(RunSummary {
            started: rec.started,
            duration: rec.duration().map(|d| d.as_secs_f64()).unwrap_or(-1.0),
            status: rec.status_text(),
        })
    }

    /// The earliest wall time any job is due (on the real clock: fire times are planned
    /// on the test clock offset, if any).
    pub(super) fn cron_next_due(&self) -> Option<Timestamp> {
        let due = self
            .jobs
            .values()
            .filter(|j| j.spec.config.enabled && !j.paused)
            .filter_map(|j| j.due_at)
            .min()?;
        Some(due.checked_sub(clock_offset()).unwrap_or(due))
    }

    /// A wall-clock wake-up: fire what is due; after a clock change, re-plan every job.
    pub(super) fn cron_wake(&mut self, clock_changed: bool) {
        if self.mood < SupervisorState::Running {
            return;
        }
        let now = planning_now();
        if clock_changed {
            self.info("cron: the system clock changed; re-planning scheduled jobs");
        }
        let names: Vec<Arc<str>> = self.jobs.keys().cloned().collect();
        // Persisted after every due run was spawned: each write is an fsync, and a job
        // must not start late because another job's bookkeeping came first.
        let mut persist = Vec::new();
        for name in names {
            let Some(job) = self.jobs.get_mut(&name) else {
                continue;
            };
            if !job.spec.config.enabled || job.paused || job.spec.schedule.is_reboot() {
                continue;
            }
            if !clock_changed && job.due_at.is_none_or(|d| d > now) {
                continue;
            }
            let p = plan(
                &job.spec.schedule,
                &job.spec.tz,
                job.handled_until,
                now,
                job.spec.config.catchup,
                Self::grace(&job.spec),
            );
            let missed_after = job.handled_until;
            job.handled_until = p.handled_until;
            job.next = p.next;
            job.due_at = jittered(p.next, job.spec.config.jitter);
            let handled = job.handled_until;
            let skipped = p.skipped;
            let catchup = job.spec.config.catchup;
            persist.push((name.clone(), handled));
            let locked = self.jobs.get(&name).is_some_and(|j| j.lock.is_some());
            if skipped > 0 {
                self.info(&format!(
                    "cron: {name} missed {skipped} run(s) (catchup={catchup})"
                ));
                // With a lock, other nodes were awake to run them.
                if !locked {
                    let reason = if clock_changed {
                        "the system clock jumped"
                    } else {
                        "the daemon was asleep or too busy to fire on time"
                    };
                    self.cron_missed(&name, skipped as u64, None, Some(missed_after), reason);
                }
            }
            for t in p.catchup {
                let run = PendingRun::new(RunTrigger::Catchup, Some(t));
                if locked {
                    self.cron_claim(&name, run);
                } else {
                    self.cron_enqueue(&name, run, true);
                }
            }
            if let Some(t) = p.on_time {
                let run = PendingRun::new(RunTrigger::Schedule, Some(t));
                if locked {
                    self.cron_claim(&name, run);
                } else {
                    self.cron_enqueue(&name, run, false);
                }
            }
        }
        for (name, handled) in persist {
            if let Some(r) = self
                .history
                .as_ref()
                .map(|h| h.set_last_scheduled(&name, handled))
            {
                self.cron_history(&name, r);
            }
        }
        self.dirty = true;
    }

    /// A run is due: apply the overlap policy (catch-up runs always queue).
    fn cron_enqueue(&mut self, name: &Arc<str>, run: PendingRun, always_queue: bool) {
        let scheduled = run.scheduled;
        let Some((gi, pi)) = self.find(&ProcKey {
            group: name.clone(),
            name: name.clone(),
        }) else {
            return;
        };
        let busy = !self.groups[gi].procs[pi].state.is_stopped()
            || self.jobs.get(name).is_some_and(|j| !j.queued.is_empty());
        let overlap = self.jobs[name].spec.config.overlap;
        if busy && !always_queue {
            match overlap {
                steward_config::Overlap::Skip => {
                    self.info(&format!(
                        "cron: {name} is still running; skipping the run scheduled at {} (overlap=skip)",
                        scheduled.map(|t| t.to_string()).unwrap_or_default()
                    ));
                    Self::cron_release(run.claim.as_ref(), None);
                    self.cron_missed(name, 1, scheduled, None, "still running (overlap=skip)");
                    return;
                }
                steward_config::Overlap::Allow => {
                    self.cron_spawn_extra(name, gi, pi, run);
                    return;
                }
                steward_config::Overlap::Queue => {
                    // One queued run at most: a job slower than its schedule would
                    // otherwise fall ever further behind.
                    let queued = self
                        .jobs
                        .get(name)
                        .is_some_and(|j| j.queued.iter().any(|r| r.trigger != RunTrigger::Catchup));
                    if queued {
                        self.info(&format!(
                            "cron: {name} is still running and a run is already queued; skipping the run scheduled at {} (overlap=queue)",
                            scheduled.map(|t| t.to_string()).unwrap_or_default()
                        ));
                        Self::cron_release(run.claim.as_ref(), None);
                        self.cron_missed(
                            name,
                            1,
                            scheduled,
                            None,
                            "still running, a run already queued (overlap=queue)",
                        );
                        return;
                    }
                }
            }
        }
        if let Some(job) = self.jobs.get_mut(name) {
            job.queued.push_back(run);
        }
        self.cron_drain(name);
    }

    /// Fires of `name` that will not run anywhere: counted, and published as a
    /// CRON_MISSED event (for `/metrics`, the live stream and notifications).
    pub(super) fn cron_missed(
        &mut self,
        name: &Arc<str>,
        count: u64,
        first: Option<Timestamp>,
        after: Option<Timestamp>,
        reason: &str,
    ) {
        if let Some(job) = self.jobs.get_mut(name) {
            job.missed += count;
        }
        self.emit(crate::events::Event::CronMissed {
            job: name.clone(),
            count,
            first: first.map(|t| t.as_second()),
            after: after.map(|t| t.as_second()),
            reason: reason.to_string(),
        });
    }

    /// `steward cron run`: a manual run through the overlap policy (on this node; a
    /// manual run is never claimed).
    pub(super) fn cron_enqueue_manual(&mut self, name: &Arc<str>) {
        self.cron_enqueue(name, PendingRun::new(RunTrigger::Manual, None), false);
    }

    /// The config a cron job's process is spawned with: its own plus the variables of
    /// the run about to start (`STEWARD_CRON_SCHEDULED`, `STEWARD_CRON_NODE`,
    /// `STEWARD_FENCE_TOKEN`).
    pub(super) fn cron_spawn_config(
        &self,
        gi: usize,
        cfg: Arc<ProcessConfig>,
    ) -> Arc<ProcessConfig> {
        if !is_cron(&self.groups[gi].cfg) {
            return cfg;
        }
        match &self.pending_run {
            Some(run) => self.cron_run_config(&cfg, run),
            None => cfg,
        }
    }

    fn cron_run_config(&self, cfg: &Arc<ProcessConfig>, run: &PendingRun) -> Arc<ProcessConfig> {
        let mut c = ProcessConfig::clone(cfg);
        if let Some(t) = run.scheduled {
            c.environment
                .push(("STEWARD_CRON_SCHEDULED".into(), t.as_second().to_string()));
        }
        c.environment
            .push(("STEWARD_CRON_NODE".into(), self.cron_node()));
        if let Some(claim) = &run.claim {
            c.environment
                .push(("STEWARD_FENCE_TOKEN".into(), claim.fence.to_string()));
        }
        Arc::new(c)
    }

    /// Starts the next queued run when the job's process is idle.
    pub(super) fn cron_drain(&mut self, name: &Arc<str>) {
        if self.mood < SupervisorState::Running {
            return;
        }
        let key = ProcKey {
            group: name.clone(),
            name: name.clone(),
        };
        let Some((gi, pi)) = self.find(&key) else {
            return;
        };
        if !self.groups[gi].procs[pi].state.is_stopped() {
            return;
        }
        let Some(next) = self.jobs.get_mut(name).and_then(|j| j.queued.pop_front()) else {
            return;
        };
        self.pending_run = Some(next);
        self.spawn_proc(gi, pi);
    }

    /// Opens a run record (history row, output tap, timeout, lease renewal).
    fn cron_new_run(&mut self, name: &Arc<str>, pending: PendingRun) -> Option<CronRun> {
        let PendingRun {
            trigger,
            scheduled,
            claim,
        } = pending;
        let node = self.cron_node();
        let renewer = self.cron_renew_lease(name, claim.as_ref());
        let job = self.jobs.get_mut(name)?;
        job.last_node = Some(node.clone());
        let place = RunPlace {
            node: Some(node),
            fence: claim.as_ref().map(|c| c.fence),
        };
        let started = Timestamp::now();
        let timeout_at = job
            .spec
            .config
            .timeout
            .map(|t| Instant::now() + Duration::from_secs(t));
        self.info(&format!(
            "cron: starting {name} ({}{}{})",
            trigger.as_str(),
            scheduled
                .map(|t| format!(", scheduled {t}"))
                .unwrap_or_default(),
            place
                .fence
                .map(|f| format!(", fence token {f}"))
                .unwrap_or_default()
        ));
        let rid: Arc<str> = uuid_v4().into();
        self.emit(Event::CronRun {
            job: name.clone(),
            rid: rid.clone(),
            phase: crate::events::CronPhase::Started,
        });
        Some(CronRun {
            id: None,
            begun: false,
            trigger,
            scheduled,
            started,
            tap: Arc::new(Mutex::new(OutputTap::new())),
            rid,
            timed_out: false,
            timeout_at,
            kill_at: None,
            place,
            claim,
            renewer,
        })
    }

    /// Called by spawn_proc for a cron job's process: opens the run record of the run
    /// being spawned. Returns the output tap the log pumps should feed.
    pub(super) fn cron_run_begins(&mut self, name: &Arc<str>) -> Option<Arc<Mutex<OutputTap>>> {
        let pending = self
            .pending_run
            .take()
            .unwrap_or_else(|| PendingRun::new(RunTrigger::Manual, None));
        let run = self.cron_new_run(name, pending)?;
        let tap = run.tap.clone();
        self.jobs.get_mut(name)?.current = Some(run);
        Some(tap)
    }

    /// Closes the current run record of a job (process exit or spawn failure).
    pub(super) fn cron_run_ends(
        &mut self,
        name: &Arc<str>,
        pid: i32,
        exit_status: Option<i32>,
        error: Option<String>,
    ) {
        let Some(job) = self.jobs.get_mut(name) else {
            return;
        };
        let Some(run) = job.current.take() else {
            return;
        };
        self.cron_close(name.clone(), pid, run, exit_status, error);
        self.cron_drain(name);
    }

    /// Records a finished run, or, while its output pipes are still being read, parks
    /// it until they close (so the stored head/tail of the output is complete). A
    /// grandchild holding a pipe open delays the record by at most `DRAIN_WAIT`.
    fn cron_close(
        &mut self,
        name: Arc<str>,
        pid: i32,
        run: CronRun,
        exit_status: Option<i32>,
        error: Option<String>,
    ) {
        if pid != 0 && self.open_pumps.get(&pid).is_some_and(|n| *n > 0) {
            self.draining.push(Draining {
                pid,
                name,
                run,
                exit_status,
                error,
                deadline: Instant::now() + DRAIN_WAIT,
            });
            return;
        }
        let summary = self.cron_record(&name, run, exit_status, error);
        if let Some(job) = self.jobs.get_mut(&name) {
            job.last = Some(summary);
        }
    }

    /// Every pipe of `pid` is at end of file: record its parked run.
    pub(super) fn cron_output_complete(&mut self, pid: i32) {
        let (done, rest): (Vec<Draining>, Vec<Draining>) = std::mem::take(&mut self.draining)
            .into_iter()
            .partition(|d| d.pid == pid);
        self.draining = rest;
        for d in done {
            self.cron_close(d.name, 0, d.run, d.exit_status, d.error);
        }
    }

    /// Records parked runs whose wait is over; returns the next such deadline.
    pub(super) fn cron_finish_drains(&mut self, now: Instant) -> Option<Instant> {
        if self.draining.is_empty() {
            return None;
        }
        let (due, rest): (Vec<Draining>, Vec<Draining>) = std::mem::take(&mut self.draining)
            .into_iter()
            .partition(|d| d.deadline <= now);
        self.draining = rest;
        for d in due {
            self.cron_close(d.name, 0, d.run, d.exit_status, d.error);
        }
        self.draining.iter().map(|d| d.deadline).min()
    }

    /// Writes the history rows of the runs started since the last call. Deferred from
    /// the spawn (each write is an fsync) so that jobs due at the same second all start
    /// before any of them does disk I/O; the engine loop calls this once per iteration
    /// (through [`Engine::cron_timeouts`]).
    fn cron_persist_begins(&mut self) {
        if self.history.is_none() {
            return;
        }
        let mut todo: Vec<(Arc<str>, Option<i32>)> = self
            .jobs
            .iter()
            .filter(|(_, j)| j.current.as_ref().is_some_and(|r| !r.begun))
            .map(|(n, _)| (n.clone(), None))
            .collect();
        todo.extend(
            self.extra_runs
                .iter()
                .filter(|(_, (_, r))| !r.begun)
                .map(|(pid, (n, _))| (n.clone(), Some(*pid))),
        );
        for (name, pid) in todo {
            fn slot<'e>(
                e: &'e mut Engine,
                name: &str,
                pid: Option<i32>,
            ) -> Option<&'e mut CronRun> {
                match pid {
                    None => e.jobs.get_mut(name).and_then(|j| j.current.as_mut()),
                    Some(pid) => e.extra_runs.get_mut(&pid).map(|(_, r)| r),
                }
            }
            let Some(run) = slot(self, &name, pid) else {
                continue;
            };
            run.begun = true;
            let (scheduled, started, trigger) = (run.scheduled, run.started, run.trigger);
            let place = run.place.clone();
            let Some(r) = self
                .history
                .as_ref()
                .map(|h| h.begin_on(&name, scheduled, started, to_trigger(trigger), &place))
            else {
                continue;
            };
            let id = self.cron_history(&name, r);
            if let Some(run) = slot(self, &name, pid) {
                run.id = id;
            }
        }
    }

    /// Writes the history row of `run` (once).
    fn cron_begin(&mut self, name: &str, run: &mut CronRun) {
        if run.begun {
            return;
        }
        run.begun = true;
        let r = self.history.as_ref().map(|h| {
            h.begin_on(
                name,
                run.scheduled,
                run.started,
                to_trigger(run.trigger),
                &run.place,
            )
        });
        if let Some(r) = r {
            run.id = self.cron_history(name, r);
        }
    }

    fn cron_record(
        &mut self,
        name: &str,
        mut run: CronRun,
        exit_status: Option<i32>,
        error: Option<String>,
    ) -> RunSummary {
        self.cron_begin(name, &mut run);
        Self::cron_release(run.claim.as_ref(), run.renewer.take());
        let ended = Timestamp::now();
        let duration = ended.duration_since(run.started).as_secs_f64().max(0.0);
        let status = end_status_text(exit_status, run.timed_out, error.as_deref());
        self.info(&format!(
            "cron: {name} finished ({}) in {:.3}s: {status}",
            run.trigger.as_str(),
            duration
        ));
        let (output_tail, stderr_tail) = {
            let tap = run.tap.lock().expect("tap lock");
            let redirected = self
                .find(&ProcKey {
                    group: name.into(),
                    name: name.into(),
                })
                .is_none_or(|(gi, pi)| self.groups[gi].procs[pi].cfg.redirect_stderr);
            (tap.end(), (!redirected).then(|| tap.stderr_tail().to_vec()))
        };
        self.emit(Event::CronRun {
            job: name.into(),
            rid: run.rid.clone(),
            phase: crate::events::CronPhase::Finished {
                exit_status: exit_status.filter(|&s| s >= 0),
                timed_out: run.timed_out,
                error: error.clone(),
                output_tail,
                stderr_tail,
            },
        });
        if let (Some(id), Some(h)) = (run.id, &self.history) {
            let mut end = RunEnd::new(ended, exit_status, &run.tap.lock().expect("tap lock"));
            end.timed_out = run.timed_out;
            end.error = error;
            let r = h.finish(id, end);
            self.cron_history(name, r);
        }
        RunSummary {
            started: run.started,
            duration,
            status,
        }
    }

    /// `overlap = allow`: an extra child for a run while the job's process is busy.
    fn cron_spawn_extra(&mut self, name: &Arc<str>, gi: usize, pi: usize, pending: PendingRun) {
        let cfg = self.cron_run_config(&self.groups[gi].procs[pi].cfg, &pending);
        let resolved = match spawn::resolve_command(&cfg) {
            Ok(r) => r,
            Err(e) => {
                self.warn(&format!("cron: {name}: {e}"));
                return;
            }
        };
        let group_name = name.to_string();
        let ctx = SpawnContext {
            group: &group_name,
            base_env: &self.base_env,
            global_env: &self.config.supervisord.environment,
            serverurl: self.serverurl.as_deref(),
            stdin_socket: None,
            signals: *self
                .signal_plan
                .get_or_insert_with(spawn::SignalPlan::current),
            extra_env: &[],
        };
        match spawn::spawn(&cfg, &resolved, &ctx) {
            Ok(spawned) => {
                let pid = spawned.pid;
                self.info(&format!(
                    "spawned: '{}' with pid {pid} (overlapping run)",
                    cfg.name
                ));
                let Some(run) = self.cron_new_run(name, pending) else {
                    return;
                };
                let tap = Some(run.tap.clone());
                self.extra_runs.insert(pid, (name.clone(), run));
                let p = &self.groups[gi].procs[pi];
                let key = p.key.clone();
                let logs = p.logs.clone();
                if let Some(stdin) = spawned.stdin {
                    drop(stdin);
                }
                self.start_pump(
                    spawned.stdout,
                    Pump {
                        log: logs[0].clone(),
                        key: key.clone(),
                        pid,
                        stderr: false,
                        events: false,
                        tap: tap.clone(),
                        protocol: false,
                        exclusive_file: false,
                    },
                );
                if let Some(e) = spawned.stderr {
                    self.start_pump(
                        e,
                        Pump {
                            log: logs[1].clone(),
                            key,
                            pid,
                            stderr: true,
                            events: false,
                            tap,
                            protocol: false,
                            exclusive_file: false,
                        },
                    );
                }
            }
            Err(e) => self.warn(&format!("cron: {name}: {e}")),
        }
    }

    /// Reaps an extra run; false when `pid` is not one.
    pub(super) fn cron_extra_exited(&mut self, pid: i32, status: i32) -> bool {
        let Some((name, run)) = self.extra_runs.remove(&pid) else {
            return false;
        };
        let (es, _) = decode_wait_status(status);
        self.cron_close(name, pid, run, Some(es), None);
        true
    }

    /// Timeouts of running jobs; returns the earliest pending deadline.
    pub(super) fn cron_timeouts(&mut self, now: Instant) -> Option<Instant> {
        self.cron_persist_begins();
        let mut earliest: Option<Instant> = None;
        let mut consider = |t: Instant| earliest = Some(earliest.map_or(t, |e: Instant| e.min(t)));
        let names: Vec<Arc<str>> = self.jobs.keys().cloned().collect();
        for name in &names {
            let expired = match self.jobs.get(name).and_then(|j| j.current.as_ref()) {
                Some(run) if !run.timed_out => match run.timeout_at {
                    Some(t) if now >= t => true,
                    Some(t) => {
                        consider(t);
                        false
                    }
                    None => false,
                },
                _ => false,
            };
            if expired {
                let secs = self.jobs[name].spec.config.timeout.unwrap_or(0);
                if let Some(run) = self.jobs.get_mut(name).and_then(|j| j.current.as_mut()) {
                    run.timed_out = true;
                }
                self.warn(&format!(
                    "cron: {name} timed out after {secs}s; stopping it"
                ));
                let key = ProcKey {
                    group: name.clone(),
                    name: name.clone(),
                };
                if let Some((gi, pi)) = self.find(&key) {
                    let _ = self.stop_proc(gi, pi);
                }
            }
        }
        let pids: Vec<i32> = self.extra_runs.keys().copied().collect();
        for pid in pids {
            let (name, stopsignal, stopwaitsecs) = {
                let (name, _) = &self.extra_runs[&pid];
                let key = ProcKey {
                    group: name.clone(),
                    name: name.clone(),
                };
                let Some((gi, pi)) = self.find(&key) else {
                    continue;
                };
                let cfg = &self.groups[gi].procs[pi].cfg;
                (name.clone(), cfg.stopsignal, cfg.stopwaitsecs)
            };
            let run = &mut self.extra_runs.get_mut(&pid).expect("present").1;
            if let Some(k) = run.kill_at {
                if now >= k {
                    // SAFETY: kill(2) on an unreaped child.
                    unsafe { libc::kill(pid, libc::SIGKILL) };
                    run.kill_at = None;
                } else {
                    consider(k);
                }
            } else if let Some(t) = run.timeout_at.filter(|_| !run.timed_out) {
                if now >= t {
                    run.timed_out = true;
                    run.kill_at = Some(now + Duration::from_secs(stopwaitsecs));
                    consider(now + Duration::from_secs(stopwaitsecs));
                    // SAFETY: kill(2) on an unreaped child.
                    unsafe { libc::kill(pid, stopsignal) };
                    self.warn(&format!(
                        "cron: overlapping run of {name} (pid {pid}) timed out"
                    ));
                } else {
                    consider(t);
                }
            }
        }
        earliest
    }

    pub(super) fn cron_infos(&self) -> Vec<CronJobInfo> {
        let mut out: Vec<CronJobInfo> = self
            .jobs
            .iter()
            .map(|(name, j)| CronJobInfo {
                name: name.to_string(),
                schedule: j.spec.config.schedule.clone(),
                description: j.spec.schedule.describe(),
                timezone: j.spec.tz_name(),
                next: if j.spec.config.enabled && !j.paused {
                    j.next
                } else {
                    None
                },
                enabled: j.spec.config.enabled && !j.paused,
                paused: j.paused,
                running: j.current.is_some(),
                last: j.last.clone(),
                last_node: j.last_node.clone(),
                skipped: j.skipped,
                missed: j.missed,
            })
            .collect();
        out.sort_by(|a, b| a.name.cmp(&b.name));
        out
    }
}

impl Engine {
    /// Pauses or resumes a job at run time. Resuming plans from now: the fires that fell
    /// in the pause are not caught up.
    pub(super) fn cron_set_paused(&mut self, name: &str, paused: bool) -> Result<(), ActionError> {
        let now = planning_now();
        let job = self.jobs.get_mut(name).ok_or(ActionError::BadName)?;
        if job.paused && !paused {
            job.handled_until = now;
        }
        job.paused = paused;
        self.dirty = true;
        Ok(())
    }
}

/// A random (version 4) UUID, as Healthchecks.io expects a run id.
fn uuid_v4() -> String {
    let mut b: [u8; 16] = rand::random();
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..]
    )
}
