//! Shutdown and restart: `begin_stop` sets the mood and every loop pass then runs
//! supervisord's ordered stop, one group at a time from the highest priority down,
//! until no process is left and the loop can exit.

use super::*;

impl Engine {
    /// Starts a stop of every process (shutdown or restart), logged like supervisord.
    pub fn begin_stop(&mut self, mood: SupervisorState) {
        if self.mood < SupervisorState::Running {
            return;
        }
        self.mood = mood;
        self.dirty = true;
    }

    /// supervisord's ordered stop: one group at a time from the highest priority down.
    pub(super) fn ordered_stop(&mut self) {
        if !self.stopping {
            self.stopping = true;
            self.emit(Event::SupervisorStopping);
            // Waiters can never complete now.
            for w in std::mem::take(&mut self.waiters) {
                self.respond(w.reply, Err(ActionError::ShutdownState));
            }
        }
        // Stop the highest-priority group that still has unstopped processes, leaving
        // running whatever another unstopped process depends on.
        let depended_on = self.programs_with_running_dependents();
        let free = |p: &Proc| !depended_on.contains(p.cfg.program_name.as_str());
        let target = (0..self.groups.len()).rev().find(|&gi| {
            self.groups[gi]
                .procs
                .iter()
                .any(|p| !p.state.is_stopped() && free(p))
        });
        if let Some(gi) = target {
            let mut order: Vec<usize> = (0..self.groups[gi].procs.len()).collect();
            order.reverse();
            for pi in order {
                if !free(&self.groups[gi].procs[pi]) {
                    continue;
                }
                match self.groups[gi].procs[pi].state {
                    ProcessState::Running | ProcessState::Starting => {
                        let _ = self.stop_proc(gi, pi);
                    }
                    ProcessState::Backoff => self.give_up(gi, pi),
                    _ => {}
                }
            }
        }
        self.reap();
        let unstopped: Vec<Arc<str>> = self
            .groups
            .iter()
            .flat_map(|g| g.procs.iter())
            .filter(|p| !p.state.is_stopped())
            .map(|p| p.key.name.clone())
            .collect();
        if unstopped.is_empty() {
            self.exit = Some(if self.mood == SupervisorState::Restarting {
                ExitReason::Restart
            } else {
                ExitReason::Shutdown
            });
            return;
        }
        let now = Instant::now();
        let due = self
            .last_shutdown_report
            .is_none_or(|t| now >= t + Duration::from_secs(3));
        if due {
            let names: Vec<&str> = unstopped.iter().map(|n| &**n).collect();
            self.info(&format!("waiting for {} to die", names.join(", ")));
            self.last_shutdown_report = Some(now);
        }
    }
}
