//! Table tests of the dialect: what fires when, what is rejected and why,
//! and the English descriptions.

mod common;
use common::*;
use steward_cron::Schedule;

/// (expression, zone, from, expected next fire times)
const NEXT: &[(&str, &str, &str, &[&str])] = &[
    (
        "* * * * *",
        "UTC",
        "2025-01-01T00:00:00Z",
        &["2025-01-01T00:01:00+00:00", "2025-01-01T00:02:00+00:00"],
    ),
    (
        "* * * * *",
        "UTC",
        "2025-01-01T00:00:30Z",
        &["2025-01-01T00:01:00+00:00"],
    ),
    (
        "*/15 * * * *",
        "UTC",
        "2025-01-01T00:00:00Z",
        &[
            "2025-01-01T00:15:00+00:00",
            "2025-01-01T00:30:00+00:00",
            "2025-01-01T00:45:00+00:00",
            "2025-01-01T01:00:00+00:00",
        ],
    ),
    // steps are per field: */35 = minutes 0 and 35
    (
        "*/35 * * * *",
        "UTC",
        "2025-01-01T00:00:00Z",
        &[
            "2025-01-01T00:35:00+00:00",
            "2025-01-01T01:00:00+00:00",
            "2025-01-01T01:35:00+00:00",
        ],
    ),
    (
        "5-20/5 * * * *",
        "UTC",
        "2025-01-01T00:00:00Z",
        &[
            "2025-01-01T00:05:00+00:00",
            "2025-01-01T00:10:00+00:00",
            "2025-01-01T00:15:00+00:00",
            "2025-01-01T00:20:00+00:00",
            "2025-01-01T01:05:00+00:00",
        ],
    ),
    (
        "0,30 9,17 * * *",
        "UTC",
        "2025-01-01T00:00:00Z",
        &[
            "2025-01-01T09:00:00+00:00",
            "2025-01-01T09:30:00+00:00",
            "2025-01-01T17:00:00+00:00",
            "2025-01-01T17:30:00+00:00",
        ],
    ),
    (
        "30 2 * * *",
        "UTC",
        "2025-01-01T02:30:00Z",
        &["2025-01-02T02:30:00+00:00"],
    ),
    // names, any case; 0 and 7 are Sunday (2025-01-05 is a Sunday)
    (
        "0 0 * * sun",
        "UTC",
        "2025-01-01T00:00:00Z",
        &["2025-01-05T00:00:00+00:00", "2025-01-12T00:00:00+00:00"],
    ),
    (
        "0 0 * * 7",
        "UTC",
        "2025-01-01T00:00:00Z",
        &["2025-01-05T00:00:00+00:00"],
    ),
    (
        "0 0 * * 0",
        "UTC",
        "2025-01-01T00:00:00Z",
        &["2025-01-05T00:00:00+00:00"],
    ),
    (
        "0 0 * * Mon-Fri",
        "UTC",
        "2025-01-03T00:00:00Z",
        &["2025-01-06T00:00:00+00:00", "2025-01-07T00:00:00+00:00"],
    ),
    (
        "0 0 * * FRI-SUN",
        "UTC",
        "2025-01-01T00:00:00Z",
        &[
            "2025-01-03T00:00:00+00:00",
            "2025-01-04T00:00:00+00:00",
            "2025-01-05T00:00:00+00:00",
            "2025-01-10T00:00:00+00:00",
        ],
    ),
    (
        "0 0 1 jan,JUL *",
        "UTC",
        "2025-01-01T00:00:00Z",
        &["2025-07-01T00:00:00+00:00", "2026-01-01T00:00:00+00:00"],
    ),
    (
        "0 0 1 feb-apr/2 *",
        "UTC",
        "2025-01-01T00:00:00Z",
        &[
            "2025-02-01T00:00:00+00:00",
            "2025-04-01T00:00:00+00:00",
            "2026-02-01T00:00:00+00:00",
        ],
    ),
    // The Vixie DOM/DOW rule: */2 starts with `*` → AND (odd Mondays) …
    (
        "0 0 */2 * 1",
        "UTC",
        "2025-01-01T00:00:00Z",
        &[
            "2025-01-13T00:00:00+00:00",
            "2025-01-27T00:00:00+00:00",
            "2025-02-03T00:00:00+00:00",
        ],
    ),
    // … 1-31/2 does not → OR (odd days or Mondays)
    (
        "0 0 1-31/2 * 1",
        "UTC",
        "2025-01-01T00:00:00Z",
        &[
            "2025-01-03T00:00:00+00:00",
            "2025-01-05T00:00:00+00:00",
            "2025-01-06T00:00:00+00:00",
            "2025-01-07T00:00:00+00:00",
        ],
    ),
    // both restricted → OR: 1st, 15th and every Friday (Jan 3, 10, 17)
    (
        "0 0 1,15 * 5",
        "UTC",
        "2025-01-01T00:00:00Z",
        &[
            "2025-01-03T00:00:00+00:00",
            "2025-01-10T00:00:00+00:00",
            "2025-01-15T00:00:00+00:00",
            "2025-01-17T00:00:00+00:00",
        ],
    ),
    // DOW `*` → AND, i.e. the DOM field alone
    (
        "0 0 13 * *",
        "UTC",
        "2025-01-01T00:00:00Z",
        &["2025-01-13T00:00:00+00:00", "2025-02-13T00:00:00+00:00"],
    ),
    // 29 February only in leap years
    (
        "0 0 29 2 *",
        "UTC",
        "2025-01-01T00:00:00Z",
        &["2028-02-29T00:00:00+00:00", "2032-02-29T00:00:00+00:00"],
    ),
    (
        "0 0 31 * *",
        "UTC",
        "2025-04-01T00:00:00Z",
        &["2025-05-31T00:00:00+00:00", "2025-07-31T00:00:00+00:00"],
    ),
    // macros
    (
        "@yearly",
        "UTC",
        "2025-06-01T00:00:00Z",
        &["2026-01-01T00:00:00+00:00"],
    ),
    (
        "@annually",
        "UTC",
        "2025-06-01T00:00:00Z",
        &["2026-01-01T00:00:00+00:00"],
    ),
    (
        "@monthly",
        "UTC",
        "2025-06-15T00:00:00Z",
        &["2025-07-01T00:00:00+00:00"],
    ),
    (
        "@weekly",
        "UTC",
        "2025-01-01T00:00:00Z",
        &["2025-01-05T00:00:00+00:00", "2025-01-12T00:00:00+00:00"],
    ),
    (
        "@daily",
        "UTC",
        "2025-01-01T00:00:00Z",
        &["2025-01-02T00:00:00+00:00"],
    ),
    (
        "@midnight",
        "UTC",
        "2025-01-01T00:00:00Z",
        &["2025-01-02T00:00:00+00:00"],
    ),
    (
        "@hourly",
        "UTC",
        "2025-01-01T00:00:00Z",
        &["2025-01-01T01:00:00+00:00"],
    ),
    // seconds (6 fields) and years (7 fields)
    (
        "*/20 * * * * *",
        "UTC",
        "2025-01-01T00:00:00Z",
        &[
            "2025-01-01T00:00:20+00:00",
            "2025-01-01T00:00:40+00:00",
            "2025-01-01T00:01:00+00:00",
        ],
    ),
    (
        "15 30 2 * * *",
        "UTC",
        "2025-01-01T00:00:00Z",
        &["2025-01-01T02:30:15+00:00"],
    ),
    (
        "0 0 0 1 1 * 2030,2032",
        "UTC",
        "2025-01-01T00:00:00Z",
        &["2030-01-01T00:00:00+00:00", "2032-01-01T00:00:00+00:00"],
    ),
    (
        "0 0 12 * * * 2099",
        "UTC",
        "2099-12-30T13:00:00Z",
        &["2099-12-31T12:00:00+00:00"],
    ),
    // extensions: L, LW, nW, d#n, dL
    (
        "0 0 L * *",
        "UTC",
        "2024-01-31T00:00:00Z",
        &[
            "2024-02-29T00:00:00+00:00",
            "2024-03-31T00:00:00+00:00",
            "2024-04-30T00:00:00+00:00",
        ],
    ),
    // last weekdays 2025: Jan 31 (Fri), Feb 28 (Fri), Mar 31 (Mon), May 30 (Fri, 31 is Sat), Aug 29 (Fri, 31 is Sun)
    (
        "0 0 LW * *",
        "UTC",
        "2025-01-01T00:00:00Z",
        &[
            "2025-01-31T00:00:00+00:00",
            "2025-02-28T00:00:00+00:00",
            "2025-03-31T00:00:00+00:00",
            "2025-04-30T00:00:00+00:00",
            "2025-05-30T00:00:00+00:00",
        ],
    ),
    // 15W: 2025-02-15 is a Saturday → Friday 14; 2025-06-15 is a Sunday → Monday 16
    (
        "0 0 15W 2,3,6 *",
        "UTC",
        "2025-01-01T00:00:00Z",
        &[
            "2025-02-14T00:00:00+00:00",
            "2025-03-14T00:00:00+00:00",
            "2025-06-16T00:00:00+00:00",
        ],
    ),
    // 1W when the 1st is a Saturday (2025-02-01) → Monday the 3rd
    (
        "0 0 1W 2 *",
        "UTC",
        "2025-01-01T00:00:00Z",
        &["2025-02-03T00:00:00+00:00"],
    ),
    // 2nd Tuesday; with DOM `*` the DOW extension alone decides
    (
        "0 9 * * TUE#2",
        "UTC",
        "2025-01-01T00:00:00Z",
        &["2025-01-14T09:00:00+00:00", "2025-02-11T09:00:00+00:00"],
    ),
    (
        "0 9 * * 5L",
        "UTC",
        "2025-01-01T00:00:00Z",
        &[
            "2025-01-31T09:00:00+00:00",
            "2025-02-28T09:00:00+00:00",
            "2025-03-28T09:00:00+00:00",
        ],
    ),
    (
        "0 9 * * 1#5",
        "UTC",
        "2025-01-01T00:00:00Z",
        &["2025-03-31T09:00:00+00:00", "2025-06-30T09:00:00+00:00"],
    ),
    // @every: anchored at the Unix epoch, strictly after
    (
        "@every 90s",
        "UTC",
        "2025-01-01T00:00:00Z",
        &["2025-01-01T00:01:30+00:00", "2025-01-01T00:03:00+00:00"],
    ),
    (
        "@every 1h30m",
        "UTC",
        "2025-01-01T00:00:00Z",
        &["2025-01-01T01:30:00+00:00", "2025-01-01T03:00:00+00:00"],
    ),
    (
        "@every 1h",
        "Europe/Madrid",
        "2025-03-30T00:30:00Z",
        &["2025-03-30T03:00:00+02:00", "2025-03-30T04:00:00+02:00"],
    ),
    // whitespace is free
    (
        "  0   0 *  * *  ",
        "UTC",
        "2025-01-01T00:00:00Z",
        &["2025-01-02T00:00:00+00:00"],
    ),
];

#[test]
fn next_fire_times() {
    for (expr, zone, from, want) in NEXT {
        let got = next_n(expr, zone, from, want.len());
        assert_eq!(&got, want, "`{expr}` in {zone} after {from}");
    }
}

/// (expression, field, a substring of the reason)
const REJECT: &[(&str, &str, &str)] = &[
    ("", "expression", "empty"),
    ("   ", "expression", "empty"),
    ("* * * *", "expression", "4 field"),
    ("* * * * * * * *", "expression", "8 field"),
    ("60 * * * *", "minute", "out of range 0-59"),
    ("* 24 * * *", "hour", "out of range 0-23"),
    ("* * 0 * *", "day of month", "out of range 1-31"),
    ("* * 32 * *", "day of month", "out of range 1-31"),
    ("* * * 0 *", "month", "out of range 1-12"),
    ("* * * 13 *", "month", "out of range 1-12"),
    ("* * * * 8", "day of week", "out of range 0-7"),
    ("60 * * * * *", "second", "out of range 0-59"),
    ("0 * * * * * 1969", "year", "out of range"),
    ("0 * * * * * 2020", "year", "past"),
    ("0 * * * * * 2000-2010", "year", "past"),
    ("* * * foo *", "month", "three-letter name"),
    ("* * * january *", "month", "three-letter name"),
    ("* * * * funday", "day of week", "three-letter name"),
    ("mon * * * *", "minute", "not a number"),
    ("* * * * MON-FOO", "day of week", "FOO"),
    ("1,,2 * * * *", "minute", "empty list element"),
    ("1, * * * *", "minute", "empty list element"),
    (",1 * * * *", "minute", "empty list element"),
    ("*/0 * * * *", "minute", "step 0"),
    ("1-5/0 * * * *", "minute", "step 0"),
    ("*/ * * * *", "minute", "step"),
    ("*/x * * * *", "minute", "step"),
    ("0/10 * * * *", "minute", "cronie rejects"),
    ("5/15 * * * *", "minute", "5-59/15"),
    ("5-1 * * * *", "minute", "reversed range"),
    ("* 20-4 * * *", "hour", "reversed range"),
    ("* * * DEC-JAN *", "month", "reversed range"),
    ("* * * * -5", "day of week", "missing number"),
    ("1- * * * *", "minute", "missing number"),
    ("? * * * *", "minute", "`?`"),
    ("* * ? * *", "day of month", "`?`"),
    ("~ * * * *", "minute", "not supported"),
    ("* * L-2 * *", "day of month", "not supported"),
    ("* * W * *", "day of month", "W needs a day number"),
    ("* * 32W * *", "day of month", "out of range"),
    ("* * * * L", "day of week", "ambiguous"),
    ("* * * * 5#6", "day of week", "1-5"),
    ("* * * * 5#0", "day of week", "1-5"),
    ("* * * * 8#1", "day of week", "out of range"),
    // impossible schedules
    ("0 0 30 2 *", "day of month", "February"),
    ("0 0 31 4 *", "day of month", "April"),
    ("0 0 31 2,4,6,9,11 *", "day of month", "never occurs"),
    ("0 0 30,31 feb *", "day of month", "never"),
    ("0 0 31W 4 *", "day of month", "never"),
    ("0 0 0 29 2 * 2097-2099", "year", "impossible"),
    // macros
    ("@fortnightly", "expression", "unknown macro"),
    ("@daily now", "expression", "unexpected text"),
    // a macro is `@` immediately followed by its name (cronie refuses the others)
    ("@ daily", "expression", "immediately followed"),
    ("@\tdaily", "expression", "immediately followed"),
    ("@", "expression", "immediately followed"),
    ("@ every 1h", "expression", "immediately followed"),
    ("@every 1h 30m", "expression", "without spaces"),
    ("@every", "expression", "needs a duration"),
    ("@every 0s", "expression", "at least 1s"),
    ("@every 10", "expression", "no unit"),
    ("@every 10x", "expression", "unexpected"),
    ("@every 1h1h", "expression", "twice"),
    ("@every -5m", "expression", "unexpected"),
    ("@every 999999999999999999d", "expression", "too large"),
];

#[test]
fn rejected_with_field_and_reason() {
    for (expr, field, reason) in REJECT {
        match Schedule::parse(expr) {
            Ok(s) => panic!("`{expr}` was accepted: {}", s.describe()),
            Err(e) => {
                assert_eq!(e.field, *field, "`{expr}`: {}", e.message);
                assert!(
                    e.message.contains(reason),
                    "`{expr}`: reason {:?} does not mention {reason:?}",
                    e.message
                );
            }
        }
    }
}

#[test]
fn accepted_edge_cases() {
    for expr in [
        "0-59 0-23 1-31 1-12 0-7",
        "*/1 * * * *",
        "*/60 * * * *", // step larger than the range: cronie warns, accepts (minute 0)
        "*,5 * * * *",
        "00 05 01 01 *",
        "0 0 * * SUN-SAT",
        "0 0 * * 5-0", // cronie 1.6+: x-0 in day of week means x-7
        "0 0 L,15 * *",
        "0 0 * * mon#1,fri#3,SATL",
        "0 0 0 * * * *",
        "@REBOOT",
        "@Daily",
        "@every 1d2h3m4s",
    ] {
        if let Err(e) = Schedule::parse(expr) {
            panic!("`{expr}` rejected: {}: {}", e.field, e.message);
        }
    }
    assert!(Schedule::parse("@reboot").unwrap().is_reboot());
    assert!(!Schedule::parse("@daily").unwrap().is_reboot());
    let r = Schedule::parse("@reboot").unwrap();
    assert!(r
        .next_after(ts("2025-01-01T00:00:00Z"), &tz("UTC"))
        .is_none());
    assert_eq!(
        Schedule::parse("@every 1h30m").unwrap().every_interval(),
        Some(std::time::Duration::from_secs(5400))
    );
}

#[test]
fn wildcard_classification() {
    for (expr, wild) in [
        ("* * * * *", true),
        ("*/5 * * * *", true),
        ("30 * * * *", true),
        ("* 2 * * *", true),
        ("@hourly", true),
        ("@every 5m", true),
        ("30 2 * * *", false),
        ("0 9-17 * * *", false),
        ("@daily", false),
        ("@reboot", false),
        ("*/10 30 2 * * *", false),
    ] {
        assert_eq!(Schedule::parse(expr).unwrap().is_wildcard(), wild, "{expr}");
    }
}

#[test]
fn seven_field_schedule_ends() {
    let s = Schedule::parse("0 0 0 1 1 * 2030").unwrap();
    let after = ts("2030-01-01T00:00:00Z");
    assert!(s.next_after(after, &tz("UTC")).is_none());
}

#[test]
fn describe_in_words() {
    for (expr, want) in [
        ("* * * * *", "every minute"),
        ("*/5 * * * *", "every 5 minutes"),
        ("30 2 * * *", "at 02:30 every day"),
        ("0 0 * * 0", "at 00:00 on Sunday"),
        ("0 0 * * 7", "at 00:00 on Sunday"),
        ("@weekly", "at 00:00 on Sunday"),
        ("@daily", "at 00:00 every day"),
        ("@midnight", "at 00:00 every day"),
        ("@yearly", "at 00:00 on January 1"),
        ("@monthly", "at 00:00 on day 1 of the month"),
        ("@hourly", "at minute 0 of every hour"),
        ("@reboot", "at daemon start (@reboot)"),
        ("@every 90s", "every 1 minute 30 seconds"),
        ("@every 1h", "every hour"),
        (
            "0 8,17 * * MON-FRI",
            "at 08:00 and 17:00 on Monday through Friday",
        ),
        (
            "0 0 1,15 * 5",
            "at 00:00 on days 1 and 15 of the month or on Friday",
        ),
        ("0 0 L * *", "at 00:00 on the last day of the month"),
        ("0 12 * * 5L", "at 12:00 on the last Friday of the month"),
        ("0 9 * * 2#2", "at 09:00 on the 2nd Tuesday of the month"),
        ("*/10 * * * * *", "every 10 seconds"),
        ("0 0 * 1-3 *", "at 00:00 every day in January through March"),
    ] {
        let got = Schedule::parse(expr).unwrap().describe();
        assert_eq!(got, want, "{expr}");
    }
    assert_eq!(
        Schedule::parse("0 0 0 1 1 * 2030").unwrap().describe(),
        "at 00:00 on January 1 in 2030"
    );
}

#[test]
fn matches_checks_local_fields() {
    let s = Schedule::parse("30 2 * * 1-5").unwrap();
    let z: jiff::Zoned = "2025-01-06T02:30:00[Europe/Madrid]".parse().unwrap();
    assert!(s.matches(&z));
    let z: jiff::Zoned = "2025-01-05T02:30:00[Europe/Madrid]".parse().unwrap();
    assert!(!s.matches(&z));
}
