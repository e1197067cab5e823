//! DST transitions. Fixed-time jobs: once per local date (gap → first valid
//! instant after the gap, fold → first pass). Wildcard jobs (minute or hour
//! field starting with `*`): every instant whose local time matches, i.e.
//! real elapsed time, both passes of a fold, nothing for non-existent times.

mod common;
use common::*;

fn check(expr: &str, zone: &str, from: &str, want: &[&str]) {
    assert_eq!(
        next_n(expr, zone, from, want.len()),
        want,
        "`{expr}` in {zone} after {from}"
    );
}

// Europe/Madrid 2025: 03-30 02:00 CET → 03:00 CEST; 10-26 03:00 CEST → 02:00 CET.
#[test]
fn madrid() {
    check(
        "30 2 * * *",
        "Europe/Madrid",
        "2025-03-29T12:00:00Z",
        &["2025-03-30T03:00:00+02:00", "2025-03-31T02:30:00+02:00"],
    );
    // two skipped times collapse into one run
    check(
        "0,30 2 * * *",
        "Europe/Madrid",
        "2025-03-29T12:00:00Z",
        &["2025-03-30T03:00:00+02:00", "2025-03-31T02:00:00+02:00"],
    );
    // a gap time and a real time at the same instant: one run
    check(
        "30 2,3 * * *",
        "Europe/Madrid",
        "2025-03-29T12:00:00Z",
        &[
            "2025-03-30T03:00:00+02:00",
            "2025-03-30T03:30:00+02:00",
            "2025-03-31T02:30:00+02:00",
        ],
    );
    check(
        "30 2 * * *",
        "Europe/Madrid",
        "2025-10-25T12:00:00Z",
        &["2025-10-26T02:30:00+02:00", "2025-10-27T02:30:00+01:00"],
    );
    // from inside the second pass: no second run
    check(
        "30 2 * * *",
        "Europe/Madrid",
        "2025-10-26T02:10:00+01:00",
        &["2025-10-27T02:30:00+01:00"],
    );
    check(
        "15 * * * *",
        "Europe/Madrid",
        "2025-10-26T00:00:00+02:00",
        &[
            "2025-10-26T00:15:00+02:00",
            "2025-10-26T01:15:00+02:00",
            "2025-10-26T02:15:00+02:00",
            "2025-10-26T02:15:00+01:00",
            "2025-10-26T03:15:00+01:00",
        ],
    );
    check(
        "15 * * * *",
        "Europe/Madrid",
        "2025-03-30T00:00:00+01:00",
        &[
            "2025-03-30T00:15:00+01:00",
            "2025-03-30T01:15:00+01:00",
            "2025-03-30T03:15:00+02:00",
        ],
    );
    // `* 2 * * *` is a wildcard job (minute `*`): no 02:xx on the spring day
    check(
        "* 2 * * *",
        "Europe/Madrid",
        "2025-03-30T00:00:00+01:00",
        &["2025-03-31T02:00:00+02:00"],
    );
    check(
        "@daily",
        "Europe/Madrid",
        "2025-03-29T12:00:00Z",
        &["2025-03-30T00:00:00+01:00", "2025-03-31T00:00:00+02:00"],
    );
}

// Europe/Berlin 2025: same rules as Madrid (peers.md §8.5 setting).
#[test]
fn berlin() {
    check(
        "30 2 * * *",
        "Europe/Berlin",
        "2025-03-29T00:00:00Z",
        &[
            "2025-03-29T02:30:00+01:00",
            "2025-03-30T03:00:00+02:00",
            "2025-03-31T02:30:00+02:00",
        ],
    );
    check(
        "30 2 * * *",
        "Europe/Berlin",
        "2025-10-25T00:00:00Z",
        &[
            "2025-10-25T02:30:00+02:00",
            "2025-10-26T02:30:00+02:00",
            "2025-10-27T02:30:00+01:00",
        ],
    );
    check(
        "*/30 * * * *",
        "Europe/Berlin",
        "2025-10-26T01:00:00+02:00",
        &[
            "2025-10-26T01:30:00+02:00",
            "2025-10-26T02:00:00+02:00",
            "2025-10-26T02:30:00+02:00",
            "2025-10-26T02:00:00+01:00",
            "2025-10-26T02:30:00+01:00",
            "2025-10-26T03:00:00+01:00",
        ],
    );
    // fixed-time job spanning the gap: 02:30 fires at the jump, 03:30 as usual
    check(
        "30 2-3 * * *",
        "Europe/Berlin",
        "2025-03-30T00:00:00+01:00",
        &[
            "2025-03-30T03:00:00+02:00",
            "2025-03-30T03:30:00+02:00",
            "2025-03-31T02:30:00+02:00",
        ],
    );
    // seconds: every 20 s during 02:30 on the autumn day: first pass only
    check(
        "*/20 30 2 * * *",
        "Europe/Berlin",
        "2025-10-26T02:00:00+02:00",
        &[
            "2025-10-26T02:30:00+02:00",
            "2025-10-26T02:30:20+02:00",
            "2025-10-26T02:30:40+02:00",
            "2025-10-27T02:30:00+01:00",
        ],
    );
    // seconds, spring: all three collapse into 03:00:00
    check(
        "*/20 30 2 * * *",
        "Europe/Berlin",
        "2025-03-30T00:00:00+01:00",
        &["2025-03-30T03:00:00+02:00", "2025-03-31T02:30:00+02:00"],
    );
}

// America/New_York 2025: 03-09 02:00 EST → 03:00 EDT; 11-02 02:00 EDT → 01:00 EST.
#[test]
fn new_york() {
    check(
        "30 2 * * *",
        "America/New_York",
        "2025-03-08T12:00:00-05:00",
        &["2025-03-09T03:00:00-04:00", "2025-03-10T02:30:00-04:00"],
    );
    // 02:30 happens once in autumn in US zones
    check(
        "30 2 * * *",
        "America/New_York",
        "2025-11-01T12:00:00-04:00",
        &["2025-11-02T02:30:00-05:00", "2025-11-03T02:30:00-05:00"],
    );
    // 01:30 repeats: first pass only
    check(
        "30 1 * * *",
        "America/New_York",
        "2025-11-01T12:00:00-04:00",
        &["2025-11-02T01:30:00-04:00", "2025-11-03T01:30:00-05:00"],
    );
    check(
        "*/30 * * * *",
        "America/New_York",
        "2025-11-02T00:00:00-04:00",
        &[
            "2025-11-02T00:30:00-04:00",
            "2025-11-02T01:00:00-04:00",
            "2025-11-02T01:30:00-04:00",
            "2025-11-02T01:00:00-05:00",
            "2025-11-02T01:30:00-05:00",
            "2025-11-02T02:00:00-05:00",
        ],
    );
    check(
        "0 * * * *",
        "America/New_York",
        "2025-03-09T00:30:00-05:00",
        &[
            "2025-03-09T01:00:00-05:00",
            "2025-03-09T03:00:00-04:00",
            "2025-03-09T04:00:00-04:00",
        ],
    );
}

// Australia/Lord_Howe: +10:30 / +11:00, a 30-minute shift at 02:00.
// 2025-04-06 02:00 (+11) → 01:30 (+10:30); 2025-10-05 02:00 (+10:30) → 02:30 (+11).
#[test]
fn lord_howe() {
    check(
        "15 2 * * *",
        "Australia/Lord_Howe",
        "2025-10-04T12:00:00+10:30",
        &["2025-10-05T02:30:00+11:00", "2025-10-06T02:15:00+11:00"],
    );
    check(
        "45 2 * * *",
        "Australia/Lord_Howe",
        "2025-10-04T12:00:00+10:30",
        &["2025-10-05T02:45:00+11:00"],
    );
    check(
        "45 1 * * *",
        "Australia/Lord_Howe",
        "2025-04-05T12:00:00+11:00",
        &["2025-04-06T01:45:00+11:00", "2025-04-07T01:45:00+10:30"],
    );
    check(
        "*/15 * * * *",
        "Australia/Lord_Howe",
        "2025-04-06T01:00:00+11:00",
        &[
            "2025-04-06T01:15:00+11:00",
            "2025-04-06T01:30:00+11:00",
            "2025-04-06T01:45:00+11:00",
            "2025-04-06T01:30:00+10:30",
            "2025-04-06T01:45:00+10:30",
            "2025-04-06T02:00:00+10:30",
        ],
    );
    check(
        "*/15 * * * *",
        "Australia/Lord_Howe",
        "2025-10-05T01:30:00+10:30",
        &[
            "2025-10-05T01:45:00+10:30",
            "2025-10-05T02:30:00+11:00",
            "2025-10-05T02:45:00+11:00",
        ],
    );
}

// America/Sao_Paulo 2018 (DST abolished in 2019): 2018-02-18 00:00 (-02) →
// 02-17 23:00 (-03); 2018-11-04 00:00 (-03) → 01:00 (-02): midnight is skipped.
#[test]
fn sao_paulo_2018() {
    check(
        "0 0 * * *",
        "America/Sao_Paulo",
        "2018-11-03T12:00:00-03:00",
        &["2018-11-04T01:00:00-02:00", "2018-11-05T00:00:00-02:00"],
    );
    check(
        "30 23 * * *",
        "America/Sao_Paulo",
        "2018-02-17T12:00:00-02:00",
        &["2018-02-17T23:30:00-02:00", "2018-02-18T23:30:00-03:00"],
    );
    check(
        "0 * * * *",
        "America/Sao_Paulo",
        "2018-02-17T22:30:00-02:00",
        &[
            "2018-02-17T23:00:00-02:00",
            "2018-02-17T23:00:00-03:00",
            "2018-02-18T00:00:00-03:00",
        ],
    );
    // no DST any more: 2025 is plain -03
    check(
        "0 0 * * *",
        "America/Sao_Paulo",
        "2025-11-01T12:00:00-03:00",
        &["2025-11-02T00:00:00-03:00"],
    );
}

// Pacific/Chatham: +12:45 / +13:45, transitions at 02:45 local standard time.
// 2025-04-06 03:45 (+13:45) → 02:45 (+12:45); 2025-09-28 02:45 (+12:45) → 03:45 (+13:45).
#[test]
fn chatham() {
    check(
        "0 3 * * *",
        "Pacific/Chatham",
        "2025-09-27T12:00:00+12:45",
        &["2025-09-28T03:45:00+13:45", "2025-09-29T03:00:00+13:45"],
    );
    check(
        "0 3 * * *",
        "Pacific/Chatham",
        "2025-04-05T12:00:00+13:45",
        &["2025-04-06T03:00:00+13:45", "2025-04-07T03:00:00+12:45"],
    );
    check(
        "0 * * * *",
        "Pacific/Chatham",
        "2025-04-06T02:00:00+13:45",
        &[
            "2025-04-06T03:00:00+13:45",
            "2025-04-06T03:00:00+12:45",
            "2025-04-06T04:00:00+12:45",
        ],
    );
}

/// Every fixed-time job fires exactly once on every local date, across
/// several years of transitions in every zone above.
#[test]
fn fixed_time_once_per_local_date() {
    use std::collections::BTreeMap;
    for zone in [
        "Europe/Madrid",
        "Europe/Berlin",
        "America/New_York",
        "Australia/Lord_Howe",
        "America/Sao_Paulo",
        "Pacific/Chatham",
    ] {
        for expr in [
            "30 2 * * *",
            "0 0 * * *",
            "45 1 * * *",
            "0 3 * * *",
            "15 2 * * *",
            "30 23 * * *",
        ] {
            let s = steward_cron::Schedule::parse(expr).unwrap();
            let mut per_date: BTreeMap<jiff::civil::Date, usize> = BTreeMap::new();
            let mut prev = None;
            for z in s.iter_after(ts("2016-12-31T00:00:00Z"), &tz(zone)) {
                if z.year() > 2026 {
                    break;
                }
                if let Some(p) = prev {
                    assert!(z.timestamp() > p, "{expr} in {zone}: not increasing at {z}");
                }
                prev = Some(z.timestamp());
                *per_date.entry(z.date()).or_default() += 1;
            }
            let first = jiff::civil::date(2017, 1, 1);
            let mut d = first;
            while d.year() <= 2026 {
                assert_eq!(
                    per_date.get(&d).copied().unwrap_or(0),
                    1,
                    "{expr} in {zone} on {d}"
                );
                d = d.tomorrow().unwrap();
            }
        }
    }
}

/// Found by the cron_expr fuzz target (a hang): the only matching day (Sunday 29 March)
/// always has its 02:00 hour in Berlin's spring-forward gap, so a wildcard job never
/// fires there; the search must say so quickly instead of walking every DST segment to
/// the year 9999, one scan of the calendar each.
#[test]
fn a_schedule_that_always_falls_in_the_gap_ends_quickly() {
    let s = steward_cron::Schedule::parse("* 2 29 3 */9").unwrap();
    let berlin = tz("Europe/Berlin");
    let from = ts("2369-01-24T00:00:00Z");
    let started = std::time::Instant::now();
    assert_eq!(s.next_after(from, &berlin), None);
    assert!(
        started.elapsed() < std::time::Duration::from_millis(500),
        "{:?}",
        started.elapsed()
    );
    // In UTC the same schedule fires: the next Sunday 29 March at 02:00.
    let next = s.next_after(from, &jiff::tz::TimeZone::UTC).unwrap();
    assert_eq!(next.timestamp().to_string(), "2370-03-29T02:00:00Z");
}
