//! Process and daemon states with supervisord's exact numeric codes and names.
//!
//! These codes travel over XML-RPC (`state` in getProcessInfo, `statecode` in getState) and
//! into event payloads, so they must never change.

/// The lifecycle state of one managed process (supervisord's `ProcessStates`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ProcessState {
    Stopped,
    Starting,
    Running,
    Backoff,
    Stopping,
    Exited,
    Fatal,
    Unknown,
}

impl ProcessState {
    pub fn code(self) -> i32 {
        match self {
            ProcessState::Stopped => 0,
            ProcessState::Starting => 10,
            ProcessState::Running => 20,
            ProcessState::Backoff => 30,
            ProcessState::Stopping => 40,
            ProcessState::Exited => 100,
            ProcessState::Fatal => 200,
            ProcessState::Unknown => 1000,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            ProcessState::Stopped => "STOPPED",
            ProcessState::Starting => "STARTING",
            ProcessState::Running => "RUNNING",
            ProcessState::Backoff => "BACKOFF",
            ProcessState::Stopping => "STOPPING",
            ProcessState::Exited => "EXITED",
            ProcessState::Fatal => "FATAL",
            ProcessState::Unknown => "UNKNOWN",
        }
    }

    /// supervisord's RUNNING_STATES: STARTING, RUNNING, BACKOFF.
    pub fn is_running(self) -> bool {
        matches!(
            self,
            ProcessState::Starting | ProcessState::Running | ProcessState::Backoff
        )
    }

    /// supervisord's STOPPED_STATES: STOPPED, EXITED, FATAL, UNKNOWN.
    pub fn is_stopped(self) -> bool {
        matches!(
            self,
            ProcessState::Stopped
                | ProcessState::Exited
                | ProcessState::Fatal
                | ProcessState::Unknown
        )
    }

    /// supervisord's SIGNALLABLE_STATES: RUNNING, STARTING, STOPPING.
    pub fn is_signallable(self) -> bool {
        matches!(
            self,
            ProcessState::Running | ProcessState::Starting | ProcessState::Stopping
        )
    }
}

/// The daemon's own state ("mood") as reported by getState.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum SupervisorState {
    Shutdown,
    Restarting,
    Running,
    Fatal,
}

impl SupervisorState {
    pub fn code(self) -> i32 {
        match self {
            SupervisorState::Fatal => 2,
            SupervisorState::Running => 1,
            SupervisorState::Restarting => 0,
            SupervisorState::Shutdown => -1,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            SupervisorState::Fatal => "FATAL",
            SupervisorState::Running => "RUNNING",
            SupervisorState::Restarting => "RESTARTING",
            SupervisorState::Shutdown => "SHUTDOWN",
        }
    }
}

/// An event listener's protocol state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListenerState {
    Ready,
    Busy,
    Acknowledged,
    Unknown,
}

impl ListenerState {
    pub fn code(self) -> i32 {
        match self {
            ListenerState::Ready => 10,
            ListenerState::Busy => 20,
            ListenerState::Acknowledged => 30,
            ListenerState::Unknown => 40,
        }
    }
    pub fn name(self) -> &'static str {
        match self {
            ListenerState::Ready => "READY",
            ListenerState::Busy => "BUSY",
            ListenerState::Acknowledged => "ACKNOWLEDGED",
            ListenerState::Unknown => "UNKNOWN",
        }
    }
}
