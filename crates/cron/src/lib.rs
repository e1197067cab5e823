//! Cron schedule expressions → next fire times (placeholder; see the cron helper's work).

use jiff::{tz::TimeZone, Timestamp, Zoned};

/// A parsed schedule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule {
    _private: (),
}

/// Why an expression was rejected: which field and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct CronError {
    /// The field that is wrong (`minute`, `hour`, `day of month`, …, or `expression`).
    pub field: String,
    pub message: String,
}

impl Schedule {
    /// Parses any supported expression (5/6/7 fields, macros, `@every`).
    pub fn parse(_expr: &str) -> Result<Schedule, CronError> {
        todo!()
    }
    /// The first fire time strictly after `after`, in `tz`. `None` for `@reboot`.
    pub fn next_after(&self, _after: Timestamp, _tz: &TimeZone) -> Option<Zoned> {
        todo!()
    }
    /// True for `@reboot` (fires once at daemon start).
    pub fn is_reboot(&self) -> bool {
        todo!()
    }
    /// The schedule in English words ("every minute", "at 02:30 every day").
    pub fn describe(&self) -> String {
        todo!()
    }
}
