//! Log handling for the engine: child output channels, the activity log,
//! `AUTO` log files, and reads of log files for the XML-RPC API.
//!
//! Data flow:
//! * A process's stdout/stderr reader hands each chunk to
//!   [`ChannelLog::feed`] → capture extraction ([`capture`]) → ANSI strip
//!   ([`ansi`]) → log file with rotation (`rotate`), syslog, in-memory tail.
//!   The returned [`Feed`] carries the logged bytes (for `PROCESS_LOG_*`
//!   events and the debug mirror), completed capture bodies (for
//!   `PROCESS_COMMUNICATION_*`) and any write error.
//! * Daemon messages go through [`MainLog::log`] (thread-safe).
//! * `AUTO` paths are named by [`auto_log_name`] and created on first use by
//!   [`create_auto_log_renaming`], or ahead of a burst of spawns by an [`AutoLogBatch`];
//!   [`cleanup_auto_logs`] removes stale ones at start.
//! * `readLog`/`readProcess*Log` use [`read_range`]; `tailProcess*Log` use
//!   [`tail_range`].
//! * SIGUSR2 → [`ChannelLog::reopen`] / [`MainLog::reopen`];
//!   `clearProcessLogs` → [`ChannelLog::clear`]; `clearLog` → [`MainLog::clear`].

pub mod ansi;
mod auto;
pub mod capture;
mod channel;
mod main_log;
mod read;
mod rotate;
mod syslog;

#[cfg(test)]
mod tests;

pub use ansi::{strip_ansi, AnsiStripper};
pub use auto::{
    auto_log_name, cleanup_auto_logs, create_auto_log_renaming, is_auto_log_name, AutoLogBatch,
    AutoLogTicket, Channel,
};
pub use capture::{CaptureParser, BEGIN_TOKEN, END_TOKEN};
pub use channel::{ChannelLog, ChannelLogOptions, Feed};
pub use main_log::{format_line, MainLog};
pub use read::{read_range, tail_range, ReadError};
