//! `[cron:x]` jobs with `lock = redis://…`: each fire instant is claimed through a
//! [`steward_cluster::Coordinator`] before it runs, so across every node sharing the
//! lock exactly one runs it.
//!
//! The engine loop never waits for Redis. A due fire of a locked job becomes a tokio
//! task that calls [`Coordinator::claim`]; the task sends the answer back to the loop as
//! a [`ClusterMsg`], and the loop then runs the fire (won), forgets it (another node won),
//! records a skip (the job runs elsewhere and `overlap = skip`, or the lock service is
//! unreachable and `lock_unavailable = skip`), or waits for the lease (`overlap =
//! queue`). A run holding the job's lease has a renewal task beside it (every third of
//! the lease, owner-checked); the run's end aborts it and releases the lease. Renewal
//! failures are logged once per outage and never stop the run. Every skip is a history
//! row, an activity-log line and a `STEWARD_CRON_SKIPPED` event on the engine's bus.

use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;
use steward_cluster::{ClaimOutcome, ClusterError, Coordinator, Lease, Settings};
use steward_config::{ClusterSection, CronConfig, CronLock, LockUnavailable, OnLockLost, Overlap};
use tokio::sync::mpsc;

use super::super::{Engine, ProcKey, Request};
use super::PendingRun;
use crate::cron::planning_now;
use crate::history::RunPlace;

/// A fire claimed by this node: its fence token and, when the job must not overlap
/// across the cluster, the lease held for the run.
#[derive(Debug, Clone)]
pub(in crate::supervisor) struct ClaimHeld {
    pub(in crate::supervisor) fence: u64,
    pub(in crate::supervisor) lease: Option<Lease>,
    coord: Arc<Coordinator>,
}

/// The lock of one job.
pub(in crate::supervisor) struct JobLock {
    pub(in crate::supervisor) coord: Arc<Coordinator>,
    unavailable: LockUnavailable,
    on_lost: OnLockLost,
    /// The lock service failed the last call (logged once until it answers again).
    down: bool,
    /// A queued fire is waiting for another node's run to end.
    waiting: bool,
}

/// An answer from a lock task to the engine loop (see the module docs).
pub struct ClusterMsg(Msg);

enum Msg {
    Claimed {
        name: Arc<str>,
        run: PendingRun,
        result: Result<ClaimOutcome, ClusterError>,
    },
    LeaseWaited {
        name: Arc<str>,
        run: PendingRun,
        result: Result<Lease, String>,
    },
    Note {
        name: Arc<str>,
        warn: bool,
        text: String,
    },
    LeaseLost {
        name: Arc<str>,
        fence: u64,
    },
}

fn send(tx: &mpsc::UnboundedSender<Request>, m: Msg) {
    let _ = tx.send(Request::Cluster(ClusterMsg(m)));
}

/// This node's name: `[cluster] node`, else the host name.
fn node_name(cluster: Option<&ClusterSection>) -> String {
    cluster
        .and_then(|c| c.node.clone())
        .or_else(|| {
            nix::unistd::gethostname()
                .ok()
                .and_then(|h| h.into_string().ok())
        })
        .unwrap_or_else(|| "localhost".into())
}

impl Engine {
    /// This node's name in claims, leases and history rows.
    pub(in crate::supervisor) fn cron_node(&self) -> String {
        node_name(self.config.cluster.as_ref())
    }

    /// The lock of a job being added: its own `lock`, else `[cluster] lock`. Jobs with
    /// the same address share one coordinator (one connection).
    pub(super) fn cron_lock_for(&mut self, name: &str, cc: &CronConfig) -> Option<JobLock> {
        let cluster = self.config.cluster.clone();
        let url = match &cc.lock {
            CronLock::Off => return None,
            CronLock::Url(u) => u.clone(),
            CronLock::Inherit => cluster.as_ref()?.lock.clone()?,
        };
        let section = cluster.unwrap_or_default();
        let unavailable = cc.lock_unavailable.unwrap_or(section.lock_unavailable);
        let shared = self.jobs.values().find_map(|j| {
            j.lock
                .as_ref()
                .filter(|l| l.coord.settings().url == url)
                .map(|l| l.coord.clone())
        });
        let coord = match shared {
            Some(c) => c,
            None => {
                let mut s = Settings::new(&url, &section.namespace, &self.cron_node());
                s.claim_ttl = Duration::from_millis(section.claim_ttl_ms);
                s.lease = Duration::from_millis(section.lease_ms);
                s.deadline = Duration::from_millis(section.deadline_ms);
                s.ca_file = section.lock_ca.clone();
                match Coordinator::new(s) {
                    Ok(c) => Arc::new(c),
                    Err(e) => {
                        // The loader checked the address; this is a bug, not bad input.
                        self.warn(&format!("cron: {name}: {e}; the job runs unlocked"));
                        return None;
                    }
                }
            }
        };
        self.info(&format!(
            "cron: {name} runs once per fire across the cluster (lock {}, namespace {}, node {})",
            coord.display_url(),
            coord.settings().namespace,
            coord.settings().node,
        ));
        Some(JobLock {
            coord,
            unavailable,
            on_lost: section.on_lock_lost,
            down: false,
            waiting: false,
        })
    }

    /// A fire of a locked job is due: claim it on the runtime; the answer comes back as
    /// a [`ClusterMsg`].
    pub(super) fn cron_claim(&mut self, name: &Arc<str>, run: PendingRun) {
        let Some(job) = self.jobs.get(name) else {
            return;
        };
        let Some(lock) = &job.lock else {
            return;
        };
        let Some(scheduled) = run.scheduled else {
            return;
        };
        let coord = lock.coord.clone();
        // A claim expires after claim_ttl: a fire older than that (a catch-up after a
        // long downtime) may have run on another node whose claim is gone.
        let age = planning_now().duration_since(scheduled);
        let ttl = coord.settings().claim_ttl;
        if age.as_secs_f64() > ttl.as_secs_f64() - 60.0 {
            self.cron_skip(
                name,
                &run,
                &format!(
                    "older than the claim TTL ({}s): it may have run on another node",
                    ttl.as_secs()
                ),
            );
            return;
        }
        let want_lease = job.spec.config.overlap != Overlap::Allow;
        let tx = self.tx.clone();
        let name = name.clone();
        tokio::spawn(async move {
            let result = coord.claim(&name, scheduled.as_second(), want_lease).await;
            send(&tx, Msg::Claimed { name, run, result });
        });
    }

    /// Records a fire this node decided not to run.
    pub(super) fn cron_skip(&mut self, name: &Arc<str>, run: &PendingRun, reason: &str) {
        self.info(&format!(
            "cron: {name}: skipping the run scheduled at {}: {reason}",
            run.scheduled.map(|t| t.to_string()).unwrap_or_default()
        ));
        if let Some(job) = self.jobs.get_mut(name) {
            job.skipped += 1;
        }
        let node = self.cron_node();
        self.emit(crate::events::Event::CronSkipped {
            job: name.clone(),
            scheduled: run.scheduled.map(|t| t.as_second()),
            node: node.clone(),
            reason: reason.to_string(),
        });
        let place = RunPlace {
            node: Some(node),
            fence: None,
        };
        let r = self.history.as_ref().map(|h| {
            h.skip(
                name,
                run.scheduled,
                Timestamp::now(),
                super::to_trigger(run.trigger),
                &place,
                reason,
            )
        });
        if let Some(r) = r {
            self.cron_history(name, r);
        }
    }

    pub(in crate::supervisor) fn cron_cluster_msg(&mut self, msg: ClusterMsg) {
        match msg.0 {
            Msg::Claimed { name, run, result } => self.cron_claimed(&name, run, result),
            Msg::LeaseWaited { name, run, result } => {
                if let Some(l) = self.jobs.get_mut(&name).and_then(|j| j.lock.as_mut()) {
                    l.waiting = false;
                }
                match result {
                    Ok(lease) => {
                        let Some(coord) = self.cron_coordinator(&name) else {
                            return;
                        };
                        let run = PendingRun {
                            claim: Some(ClaimHeld {
                                fence: lease.fence,
                                lease: Some(lease),
                                coord,
                            }),
                            ..run
                        };
                        self.cron_enqueue(&name, run, true);
                    }
                    Err(reason) => self.cron_skip(&name, &run, &reason),
                }
            }
            Msg::LeaseLost { name, fence } => self.cron_lease_lost(&name, fence),
            Msg::Note { name, warn, text } => {
                let text = format!("cron: {name}: {text}");
                if warn {
                    self.warn(&text);
                } else {
                    self.info(&text);
                }
            }
        }
    }

    fn cron_claimed(
        &mut self,
        name: &Arc<str>,
        run: PendingRun,
        result: Result<ClaimOutcome, ClusterError>,
    ) {
        let Some(job) = self.jobs.get_mut(name) else {
            // Removed meanwhile; a won lease expires by itself.
            return;
        };
        let Some(lock) = job.lock.as_mut() else {
            return;
        };
        let was_down = std::mem::replace(&mut lock.down, result.is_err());
        let coord = lock.coord.clone();
        let unavailable = lock.unavailable;
        let overlap = job.spec.config.overlap;
        if was_down && result.is_ok() {
            self.info(&format!(
                "cron: {name}: lock service {} reachable again",
                coord.display_url()
            ));
        }
        match result {
            Ok(ClaimOutcome::Won {
                owner,
                fence,
                leased,
            }) => {
                let lease = leased.then(|| Lease {
                    job: name.to_string(),
                    owner,
                    fence,
                });
                let run = PendingRun {
                    claim: Some(ClaimHeld {
                        fence,
                        lease,
                        coord,
                    }),
                    ..run
                };
                let always = run.trigger == crate::cron::RunTrigger::Catchup;
                self.cron_enqueue(name, run, always);
            }
            Ok(ClaimOutcome::Taken { by }) => {
                let at = run.scheduled.map(|t| t.to_string()).unwrap_or_default();
                if run.trigger == crate::cron::RunTrigger::Catchup {
                    // Worth saying: the operator expects catch-up runs after downtime.
                    self.info(&format!(
                        "cron: {name}: the missed run scheduled at {at} already ran on node {by}"
                    ));
                } else {
                    self.debug(&format!(
                        "cron: {name}: the run scheduled at {at} is node {by}'s"
                    ));
                }
                if let Some(job) = self.jobs.get_mut(name) {
                    job.last_node = Some(by);
                }
            }
            Ok(ClaimOutcome::Busy { by }) => match overlap {
                Overlap::Queue => self.cron_wait_lease(name, run, &by),
                _ => {
                    let reason = format!("still running on node {by} (overlap=skip)");
                    self.cron_skip(name, &run, &reason);
                    // This node won the fire's claim: nobody else will run it.
                    self.cron_missed(name, 1, run.scheduled, None, &reason);
                }
            },
            Err(e) => {
                if !was_down {
                    self.warn(&format!(
                        "cron: {name}: {e}; fires are {} until it answers (lock_unavailable={})",
                        match unavailable {
                            LockUnavailable::Skip => "skipped",
                            LockUnavailable::Run => "run without the lock",
                        },
                        match unavailable {
                            LockUnavailable::Skip => "skip",
                            LockUnavailable::Run => "run",
                        },
                    ));
                }
                match unavailable {
                    LockUnavailable::Skip => {
                        self.cron_skip(name, &run, &format!("lock-unavailable: {e}"))
                    }
                    LockUnavailable::Run => {
                        let always = run.trigger == crate::cron::RunTrigger::Catchup;
                        self.cron_enqueue(name, run, always);
                    }
                }
            }
        }
    }

    /// `overlap = queue` while another node runs the job: wait for its lease (one
    /// waiting fire at most, as locally).
    fn cron_wait_lease(&mut self, name: &Arc<str>, run: PendingRun, by: &str) {
        let Some(lock) = self.jobs.get_mut(name).and_then(|j| j.lock.as_mut()) else {
            return;
        };
        if lock.waiting {
            self.cron_skip(
                name,
                &run,
                &format!("still running on node {by} and a run is already queued (overlap=queue)"),
            );
            return;
        }
        lock.waiting = true;
        let coord = lock.coord.clone();
        let tx = self.tx.clone();
        let name = name.clone();
        tokio::spawn(async move {
            let give_up = tokio::time::Instant::now() + coord.settings().claim_ttl;
            let poll = (coord.settings().lease / 10)
                .clamp(Duration::from_millis(50), Duration::from_millis(500));
            let result = loop {
                // Still held elsewhere, or the lock service is down: try again.
                if let Ok(Ok(lease)) = coord.acquire_lease(&name).await {
                    break Ok(lease);
                }
                if tokio::time::Instant::now() >= give_up {
                    break Err("the run on another node outlived the claim TTL".to_string());
                }
                tokio::time::sleep(poll).await;
            };
            send(&tx, Msg::LeaseWaited { name, run, result });
        });
    }

    /// A run's lease renewal found the lease gone: log it; with `on_lock_lost = stop`,
    /// stop that run (if it is still the current one).
    fn cron_lease_lost(&mut self, name: &Arc<str>, fence: u64) {
        let Some(job) = self.jobs.get(name) else {
            return;
        };
        let stop = job
            .lock
            .as_ref()
            .is_some_and(|l| l.on_lost == OnLockLost::Stop);
        let current = job
            .current
            .as_ref()
            .is_some_and(|r| r.claim.as_ref().is_some_and(|c| c.fence == fence));
        let what = if stop && current {
            "stopping the run (on_lock_lost=stop)"
        } else {
            "this run continues (on_lock_lost=continue)"
        };
        self.warn(&format!(
            "cron: {name}: lost its cluster lease (fence token {fence}): another node may run the job now; {what}"
        ));
        if stop && current {
            let key = ProcKey {
                group: name.clone(),
                name: name.clone(),
            };
            if let Some((gi, pi)) = self.find(&key) {
                let _ = self.stop_proc(gi, pi);
            }
        }
    }

    fn cron_coordinator(&self, name: &str) -> Option<Arc<Coordinator>> {
        Some(self.jobs.get(name)?.lock.as_ref()?.coord.clone())
    }

    /// Starts renewing the lease of a run that just started (when it holds one).
    pub(super) fn cron_renew_lease(
        &self,
        name: &Arc<str>,
        claim: Option<&ClaimHeld>,
    ) -> Option<tokio::task::AbortHandle> {
        let claim = claim?;
        let lease = claim.lease.clone()?;
        let coord = claim.coord.clone();
        let tx = self.tx.clone();
        let name = name.clone();
        let task = tokio::spawn(async move {
            let period = coord.settings().lease / 3;
            let mut failing = false;
            loop {
                tokio::time::sleep(period).await;
                match coord.renew(&lease).await {
                    Ok(true) => {
                        if std::mem::take(&mut failing) {
                            let text = "cluster lease renewed again".to_string();
                            send(
                                &tx,
                                Msg::Note {
                                    name: name.clone(),
                                    warn: false,
                                    text,
                                },
                            );
                        }
                    }
                    Ok(false) => {
                        let fence = lease.fence;
                        send(&tx, Msg::LeaseLost { name, fence });
                        return;
                    }
                    Err(e) => {
                        if !failing {
                            failing = true;
                            let text =
                                format!("cannot renew the cluster lease ({e}); the run continues");
                            send(
                                &tx,
                                Msg::Note {
                                    name: name.clone(),
                                    warn: true,
                                    text,
                                },
                            );
                        }
                    }
                }
            }
        });
        Some(task.abort_handle())
    }

    /// A run with a lease ended (or never started): stop renewing and give it back.
    pub(super) fn cron_release(
        claim: Option<&ClaimHeld>,
        renewer: Option<tokio::task::AbortHandle>,
    ) {
        if let Some(r) = renewer {
            r.abort();
        }
        let Some(claim) = claim else {
            return;
        };
        let Some(lease) = claim.lease.clone() else {
            return;
        };
        let coord = claim.coord.clone();
        // A failed release is harmless: the lease expires by itself.
        tokio::spawn(async move {
            let _ = coord.release(&lease).await;
        });
    }
}
