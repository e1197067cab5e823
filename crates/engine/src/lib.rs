//! The supervisor itself: everything that happens to a process between `spawn` and
//! `waitpid`, owned by one tokio task.
//!
//! - [`actions`] — the one action layer (start/stop/restart/signal/group/all/reload/
//!   run-now) every protocol adapts.
//! - [`supervisor`] — the loop that owns all process records (state machine, reaper,
//!   ordered shutdown, reload diff) and the [`EngineHandle`] everyone else talks to.
//! - [`spawn`] — command resolution and fork/exec with supervisord's child setup.
//! - [`logs`] — child log files (rotation, AUTO names, capture mode) and the activity log.
//! - [`events`] — the event bus and supervisord's event payloads.
//! - [`state`] — the numeric process/daemon states of the XML-RPC contract.
//! - [`text`] — Python-compatible formatting for messages clients parse.
//! - [`memory`] — handing freed heap back to the system after a burst.

pub mod actions;
pub mod cron;
pub mod events;
pub mod history;
pub mod logs;
pub mod memory;
pub mod orphans;
pub mod spawn;
pub mod state;
pub mod supervisor;
pub mod text;
pub mod walltimer;

pub use state::{ListenerState, ProcessState, SupervisorState};
pub use supervisor::{
    auto_serverurl, prepare, start, ActionError, ConfigDiff, CronJobInfo, EngineHandle,
    EngineOptions, EngineStarter, ExitReason, Health, HealthInfo, PendingReply, ProcInfo, ProcKey,
    Request, RunSummary, Snapshot,
};
