//! Differential tests against croner 4 where the semantics agree.
//!
//! Intentional differences (not compared):
//! * The day rule: cronie ANDs day-of-month and day-of-week when either
//!   field *starts with* `*` (`*/2`); croner only treats a bare `*` that way.
//!   The generators below only use a bare `*` or a field not starting with
//!   `*` for the two day fields.
//! * Gap catch-up for multi-hour fixed jobs (`30 2-3 * * *` on a spring day:
//!   we fire at the jump and at 03:30, croner only at 03:30), and which jobs
//!   count as "wildcard" (cronie: minute or hour field starts with `*`). The
//!   DST comparison therefore uses single-hour fixed jobs and `*`-hour jobs.
//! * `@reboot`, `@midnight`, `@every`, `5/15`, `FRI-SUN` and impossible
//!   dates (croner accepts `0 0 31 2 *` and fails at search time).

use std::str::FromStr;

use jiff::{tz::TimeZone, Timestamp, Zoned};
use proptest::prelude::*;
use steward_cron::Schedule;

fn croner_next(expr: &str, from: Timestamp, tz: &TimeZone, n: usize) -> Option<Vec<Timestamp>> {
    let c = croner::Cron::from_str(expr).ok()?;
    let mut out = Vec::new();
    let mut cur: Zoned = from.to_zoned(tz.clone());
    for _ in 0..n {
        cur = c.find_next_occurrence(&cur, false).ok()?;
        out.push(cur.timestamp());
    }
    Some(out)
}

fn ours_next(s: &Schedule, from: Timestamp, tz: &TimeZone, n: usize) -> Vec<Timestamp> {
    s.iter_after(from, tz)
        .take(n)
        .map(|z| z.timestamp())
        .collect()
}

fn field(lo: u32, hi: u32) -> impl Strategy<Value = String> {
    prop_oneof![
        Just("*".to_string()),
        (1..=(hi - lo + 1).min(20)).prop_map(|s| format!("*/{s}")),
        (lo..=hi).prop_map(|a| a.to_string()),
        (lo..=hi, lo..=hi).prop_map(|(a, b)| format!("{}-{}", a.min(b), a.max(b))),
        (lo..=hi, lo..=hi, 1..=5u32).prop_map(|(a, b, s)| format!("{}-{}/{s}", a.min(b), a.max(b))),
        (lo..=hi, lo..=hi).prop_map(|(a, b)| format!("{a},{b}")),
    ]
}

/// A day field that is either a bare `*` or does not start with `*`.
fn day_field(lo: u32, hi: u32) -> impl Strategy<Value = String> {
    field(lo, hi).prop_map(|f| {
        if f.starts_with("*/") {
            "*".to_string()
        } else {
            f
        }
    })
}

fn from_ts() -> impl Strategy<Value = Timestamp> {
    (946_684_800i64..2_208_988_800).prop_map(|s| Timestamp::from_second(s).unwrap())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, .. ProptestConfig::default() })]

    /// Calendar semantics in UTC: fields, ranges, steps, lists, the day rule.
    #[test]
    fn same_as_croner_in_utc(
        a in field(0, 59), b in field(0, 23), c in day_field(1, 31), d in field(1, 12),
        w in day_field(0, 6), from in from_ts()
    ) {
        let e = format!("{a} {b} {c} {d} {w}");
        let Ok(s) = Schedule::parse(&e) else { return Ok(()) };
        let tz = TimeZone::UTC;
        let Some(theirs) = croner_next(&e, from, &tz, 8) else { return Ok(()) };
        prop_assert_eq!(ours_next(&s, from, &tz, 8), theirs, "{}", e);
    }

    /// DST: single-time fixed jobs and `*`-hour jobs across transitions.
    #[test]
    fn same_as_croner_across_dst(
        m in 0..60u32, h in 0..24u32, step in prop::sample::select(vec![1u32, 5, 15, 30]),
        wild in any::<bool>(),
        zone in prop::sample::select(vec!["Europe/Madrid", "Europe/Berlin", "America/New_York",
            "Australia/Lord_Howe", "Pacific/Chatham", "America/Sao_Paulo"]),
        // around the transitions of 2017-2025
        day in 0..(9 * 365i64)
    ) {
        let e = if wild { format!("*/{step} * * * *") } else { format!("{m} {h} * * *") };
        let s = Schedule::parse(&e).unwrap();
        let tz = TimeZone::get(zone).unwrap();
        let from = Timestamp::from_second(1_483_228_800 + day * 86_400).unwrap();
        let Some(theirs) = croner_next(&e, from, &tz, 12) else { return Ok(()) };
        prop_assert_eq!(ours_next(&s, from, &tz, 12), theirs, "{} in {}", e, zone);
    }
}

/// Every transition day of the six zones between 2017 and 2025, hour by hour.
#[test]
fn transition_days_match_croner() {
    for zone in [
        "Europe/Madrid",
        "Europe/Berlin",
        "America/New_York",
        "Australia/Lord_Howe",
        "Pacific/Chatham",
        "America/Sao_Paulo",
    ] {
        let tz = TimeZone::get(zone).unwrap();
        let start = Timestamp::from_second(1_483_228_800).unwrap(); // 2017-01-01
        let mut compared = 0;
        for tr in tz
            .following(start)
            .take_while(|t| t.timestamp().as_second() < 1_767_225_600)
        {
            let from = tr.timestamp() - jiff::SignedDuration::from_hours(26);
            for e in [
                "0 0 * * *",
                "30 0 * * *",
                "0 1 * * *",
                "30 1 * * *",
                "0 2 * * *",
                "30 2 * * *",
                "15 2 * * *",
                "45 2 * * *",
                "0 3 * * *",
                "30 23 * * *",
                "*/15 * * * *",
                "0 * * * *",
                "30 * * * *",
                "45 * * * *",
            ] {
                let s = Schedule::parse(e).unwrap();
                let Some(theirs) = croner_next(e, from, &tz, 60) else {
                    continue;
                };
                assert_eq!(
                    ours_next(&s, from, &tz, 60),
                    theirs,
                    "{e} in {zone} from {from}"
                );
                compared += 1;
            }
        }
        assert!(
            compared >= 14,
            "{zone}: croner compared only {compared} times"
        );
    }
}

/// The documented differences really are differences (so the comparisons
/// above are not vacuous, and the reasons in docs/cron.md stay true).
#[test]
fn intended_differences() {
    let utc = TimeZone::UTC;
    let from: Timestamp = "2025-01-01T00:00:00Z".parse().unwrap();
    // Vixie: `*/2` day of month + Monday → AND; croner → OR.
    let e = "0 0 */2 * 1";
    let ours = ours_next(&Schedule::parse(e).unwrap(), from, &utc, 3);
    assert_eq!(ours[0].to_string(), "2025-01-13T00:00:00Z");
    assert_ne!(Some(ours), croner_next(e, from, &utc, 3));
    // Gap catch-up for a two-hour fixed job.
    let berlin = TimeZone::get("Europe/Berlin").unwrap();
    let from: Timestamp = "2025-03-29T23:00:00Z".parse().unwrap();
    let e = "30 2-3 * * *";
    let ours = ours_next(&Schedule::parse(e).unwrap(), from, &berlin, 2);
    assert_eq!(ours[0].to_string(), "2025-03-30T01:00:00Z"); // 03:00 CEST
    assert_ne!(Some(ours), croner_next(e, from, &berlin, 2));
}
