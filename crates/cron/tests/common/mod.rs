#![allow(dead_code)]
use jiff::{tz::TimeZone, Timestamp};
use steward_cron::Schedule;

pub fn tz(name: &str) -> TimeZone {
    TimeZone::get(name).unwrap_or_else(|e| panic!("time zone {name}: {e}"))
}

pub fn ts(s: &str) -> Timestamp {
    s.parse().unwrap_or_else(|e| panic!("timestamp {s}: {e}"))
}

/// The next `n` fire times after `from`, as RFC 3339 strings with offset
/// (the same format as `steward cron next`).
pub fn next_n(expr: &str, zone: &str, from: &str, n: usize) -> Vec<String> {
    let s = Schedule::parse(expr).unwrap_or_else(|e| panic!("{expr}: {} ({})", e.message, e.field));
    s.iter_after(ts(from), &tz(zone))
        .take(n)
        .map(|z| z.timestamp().display_with_offset(z.offset()).to_string())
        .collect()
}
