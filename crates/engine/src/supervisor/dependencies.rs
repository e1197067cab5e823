//! `depends_on`: start gating, `on_dependency_failure`, and the reverse order of stops.
//!
//! The config crate has already resolved every name and rejected cycles, so here a
//! dependency is a program name plus a condition. Data flow:
//! - Every automatic spawn (autostart, autorestart, a BACKOFF retry, an unhealthy or held
//!   restart) asks [`Engine::may_spawn`]. While some dependency's processes do not all
//!   meet the condition, the spawn waits and the first unmet one is published as
//!   `waiting_for`. A manual `start` is the operator's call and is not gated.
//! - The loop re-runs its transition pass while a pass changed some state, so a chain
//!   `a → b → c` starts within the same loop iteration as the event that unblocks it.
//! - [`Engine::enforce_dependencies`] stops running dependents whose dependency went down
//!   (`on_dependency_failure = stop | restart`; `ignore`, the default, does nothing).
//!   `restart` marks them held, and they start again once the dependency is back.
//! - The ordered stop asks [`Engine::programs_with_running_dependents`] and leaves a
//!   process running until everything that depends on it has stopped, then stops it
//!   with its own `stopsignal` and `stopwaitsecs`.

use std::collections::HashSet;

use steward_config::{Dependency, DependencyCondition, DependencyFailure};

use super::*;

/// Program name → its processes, rebuilt when groups come or go.
pub(super) struct ProgramIndex {
    programs: HashMap<Arc<str>, Vec<(usize, usize)>>,
    /// Some process has a `depends_on`.
    pub(super) any_dependencies: bool,
    /// Some process has `on_dependency_failure` other than `ignore`.
    pub(super) any_enforced: bool,
}

impl Engine {
    pub(super) fn program_index(&mut self) -> &ProgramIndex {
        if self.program_index.is_none() {
            let (mut any_dependencies, mut any_enforced) = (false, false);
            for p in self.groups.iter().flat_map(|g| g.procs.iter()) {
                if !p.cfg.depends_on.is_empty() {
                    any_dependencies = true;
                    any_enforced |= p.cfg.on_dependency_failure != DependencyFailure::Ignore;
                }
            }
            // Only a dependency is ever looked up by program name: without one, the map
            // (a name and a list per program, ≈ 170 bytes each) would be built for nothing.
            let mut programs: HashMap<Arc<str>, Vec<(usize, usize)>> = HashMap::new();
            if any_dependencies {
                for (gi, g) in self.groups.iter().enumerate() {
                    for (pi, p) in g.procs.iter().enumerate() {
                        programs
                            .entry(p.cfg.program_name.as_str().into())
                            .or_default()
                            .push((gi, pi));
                    }
                }
            }
            self.program_index = Some(ProgramIndex {
                programs,
                any_dependencies,
                any_enforced,
            });
        }
        self.program_index.as_ref().expect("built above")
    }

    /// Whether every process of the dependency's program meets its condition.
    fn dependency_met(&self, dep: &Dependency) -> bool {
        let Some(list) = self
            .program_index
            .as_ref()
            .and_then(|i| i.programs.get(dep.program.as_str()))
        else {
            return false;
        };
        !list.is_empty()
            && list
                .iter()
                .all(|&(gi, pi)| condition_holds(&self.groups[gi].procs[pi], dep.condition))
    }

    /// The gate of every automatic spawn: true when all dependencies are met. Otherwise
    /// the first unmet one is recorded for status.
    pub(super) fn may_spawn(&mut self, gi: usize, pi: usize) -> bool {
        if self.groups[gi].procs[pi].cfg.depends_on.is_empty() {
            return true;
        }
        self.program_index();
        let cfg = self.groups[gi].procs[pi].cfg.clone();
        let unmet = cfg.depends_on.iter().find(|d| !self.dependency_met(d));
        let waiting: Option<Arc<str>> =
            unmet.map(|d| format!("{}:{}", d.program, d.condition.name()).into());
        if let Some(r) = self.groups[gi].procs[pi].readiness.as_deref_mut() {
            if r.waiting_for != waiting {
                if let Some(w) = &waiting {
                    if r.waiting_for.is_none() {
                        self.log.log(
                            LogLevel::Info,
                            &format!("waiting: {} waits for {w}", cfg.name),
                        );
                    }
                }
                r.waiting_for = waiting.clone();
                self.dirty = true;
            }
        }
        waiting.is_none()
    }

    /// `on_dependency_failure`: stops running dependents whose dependency went down.
    /// Completion conditions never "go down": a finished migration stays finished.
    pub(super) fn enforce_dependencies(&mut self) {
        if self.mood < SupervisorState::Running || !self.program_index().any_enforced {
            return;
        }
        for gi in 0..self.groups.len() {
            for pi in 0..self.groups[gi].procs.len() {
                let p = &self.groups[gi].procs[pi];
                let policy = p.cfg.on_dependency_failure;
                if policy == DependencyFailure::Ignore
                    || p.killing
                    || !matches!(p.state, ProcessState::Starting | ProcessState::Running)
                {
                    continue;
                }
                let cfg = p.cfg.clone();
                let down = cfg.depends_on.iter().find(|d| {
                    !matches!(
                        d.condition,
                        DependencyCondition::Completed | DependencyCondition::CompletedSuccessfully
                    ) && !self.dependency_met(d)
                });
                let Some(down) = down else {
                    continue;
                };
                self.info(&format!(
                    "stopping: {} (dependency {}:{} is down, on_dependency_failure = {})",
                    cfg.name,
                    down.program,
                    down.condition.name(),
                    if policy == DependencyFailure::Restart {
                        "restart"
                    } else {
                        "stop"
                    }
                ));
                if let Some(r) = self.groups[gi].procs[pi].readiness.as_deref_mut() {
                    r.held = policy == DependencyFailure::Restart;
                }
                let _ = self.stop_proc(gi, pi);
            }
        }
    }

    /// Program names that some not-yet-stopped process depends on: the ordered stop
    /// leaves those running until their dependents are down.
    pub(super) fn programs_with_running_dependents(&mut self) -> HashSet<String> {
        let mut out = HashSet::new();
        if !self.program_index().any_dependencies {
            return out;
        }
        for p in self.groups.iter().flat_map(|g| g.procs.iter()) {
            if !p.state.is_stopped() {
                out.extend(p.cfg.depends_on.iter().map(|d| d.program.clone()));
            }
        }
        out
    }
}

/// Whether one process of a dependency meets the condition.
fn condition_holds(p: &Proc, condition: DependencyCondition) -> bool {
    let alive = matches!(p.state, ProcessState::Starting | ProcessState::Running);
    let readiness = p.readiness.as_deref();
    match condition {
        DependencyCondition::Started => alive,
        DependencyCondition::Running => p.state == ProcessState::Running,
        DependencyCondition::Healthy => {
            alive && readiness.is_some_and(|r| r.info.status == health::Health::Healthy)
        }
        DependencyCondition::Completed => p.state == ProcessState::Exited,
        DependencyCondition::CompletedSuccessfully => {
            p.state == ProcessState::Exited && p.exitstatus == Some(0)
        }
        DependencyCondition::LogReady => alive && readiness.is_some_and(|r| r.info.log_ready),
    }
}
