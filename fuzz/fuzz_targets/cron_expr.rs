//! Cron expressions: `Schedule::parse` on any text; what parses is described and asked
//! for its next fire times in UTC and in a zone with DST, from a start instant the input
//! also picks. Panics (overflow, index, unwrap) are the bugs looked for; fire times must
//! increase strictly and match the schedule.
#![no_main]

use jiff::{tz::TimeZone, Timestamp};
use libfuzzer_sys::fuzz_target;
use steward_cron::Schedule;

fuzz_target!(|data: &[u8]| {
    // The first 8 bytes choose the start instant (within years 1970..2400), the rest is
    // the expression.
    let (start, expr) = match data.split_first_chunk::<8>() {
        Some((head, rest)) => (i64::from_le_bytes(*head), rest),
        None => (0, data),
    };
    let Ok(expr) = std::str::from_utf8(expr) else {
        return;
    };
    let Ok(schedule) = Schedule::parse(expr) else {
        return;
    };
    let _ = schedule.describe();
    let _ = schedule.every_interval();
    let after = Timestamp::from_second(start.rem_euclid(13_569_465_600)).expect("in range");
    for zone in [
        TimeZone::UTC,
        TimeZone::get("Europe/Berlin").expect("tzdata"),
    ] {
        let mut last = after;
        for fire in schedule.iter_after(after, &zone).take(4) {
            assert!(fire.timestamp() > last, "{expr}: fire times must increase");
            last = fire.timestamp();
        }
    }
});
