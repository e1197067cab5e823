//! Property tests: the iterator is strictly increasing, next(t) > t, every
//! fire time matches the expression (except a fixed-time fire moved out of
//! a spring-forward gap, which lands on a transition instant), and no fire
//! time is skipped.

use jiff::{tz::TimeZone, SignedDuration, Timestamp};
use proptest::prelude::*;
use steward_cron::Schedule;

const ZONES: &[&str] = &[
    "UTC",
    "Europe/Madrid",
    "Europe/Berlin",
    "America/New_York",
    "Australia/Lord_Howe",
    "America/Sao_Paulo",
    "Pacific/Chatham",
];

fn field(lo: u32, hi: u32) -> impl Strategy<Value = String> {
    prop_oneof![
        Just("*".to_string()),
        (1..=(hi - lo + 1)).prop_map(|s| format!("*/{s}")),
        (lo..=hi).prop_map(|a| a.to_string()),
        (lo..=hi, lo..=hi).prop_map(|(a, b)| format!("{}-{}", a.min(b), a.max(b))),
        (lo..=hi, lo..=hi, 1..=5u32).prop_map(|(a, b, s)| format!("{}-{}/{s}", a.min(b), a.max(b))),
        (lo..=hi, lo..=hi).prop_map(|(a, b)| format!("{a},{b}")),
    ]
}

fn dom_field() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => field(1, 31),
        1 => Just("L".to_string()),
        1 => Just("LW".to_string()),
        1 => (1..=28u32).prop_map(|d| format!("{d}W")),
    ]
}

fn dow_field() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => field(0, 7),
        1 => (0..=6u32, 1..=5u32).prop_map(|(d, n)| format!("{d}#{n}")),
        1 => (0..=6u32).prop_map(|d| format!("{d}L")),
    ]
}

fn expr() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => (field(0, 59), field(0, 23), dom_field(), field(1, 12), dow_field())
            .prop_map(|(a, b, c, d, e)| format!("{a} {b} {c} {d} {e}")),
        1 => (field(0, 59), field(0, 59), field(0, 23), dom_field(), field(1, 12), dow_field())
            .prop_map(|(s, a, b, c, d, e)| format!("{s} {a} {b} {c} {d} {e}")),
        1 => (1..100_000i64).prop_map(|n| format!("@every {n}s")),
        1 => prop::sample::select(vec!["@hourly", "@daily", "@weekly", "@monthly", "@yearly"])
            .prop_map(str::to_string),
    ]
}

fn from_ts() -> impl Strategy<Value = Timestamp> {
    // 2000-01-01 .. 2040-01-01, at arbitrary seconds (and sometimes sub-seconds)
    (
        946_684_800i64..2_208_988_800,
        prop_oneof![Just(0i32), 0..1_000_000_000i32],
    )
        .prop_map(|(s, ns)| Timestamp::new(s, ns).unwrap())
}

fn is_transition(tz: &TimeZone, t: Timestamp) -> bool {
    tz.preceding(t + SignedDuration::from_secs(1))
        .next()
        .is_some_and(|tr| tr.timestamp() == t)
}

/// For a fixed-time job, a civil match at instant `t` is a real fire unless
/// it is the second pass of a fold.
fn second_pass(tz: &TimeZone, t: Timestamp) -> bool {
    let dt = tz.to_datetime(t);
    match tz.to_ambiguous_timestamp(dt).offset() {
        jiff::tz::AmbiguousOffset::Fold { before, .. } => {
            before.to_timestamp(dt).map(|e| e != t).unwrap_or(false)
        }
        _ => false,
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, .. ProptestConfig::default() })]

    #[test]
    fn increasing_after_and_matching(e in expr(), from in from_ts(), zi in 0..ZONES.len()) {
        let s = match Schedule::parse(&e) {
            Ok(s) => s,
            Err(_) => return Ok(()), // impossible combinations are rejected, fine
        };
        let tz = TimeZone::get(ZONES[zi]).unwrap();
        let mut prev = from;
        for z in s.iter_after(from, &tz).take(25) {
            prop_assert!(z.timestamp() > prev, "{e} in {}: {} !> {}", ZONES[zi], z, prev);
            let direct = s.next_after(prev, &tz).unwrap();
            prop_assert_eq!(direct.timestamp(), z.timestamp());
            prop_assert!(
                s.matches(&z) || (!s.is_wildcard() && is_transition(&tz, z.timestamp())),
                "{} in {}: {} does not match", e, ZONES[zi], z
            );
            prev = z.timestamp();
        }
    }

    /// No fire time is skipped: scan every minute between t and next(t)
    /// (5-field expressions, when the distance is at most 3 days).
    #[test]
    fn nothing_skipped(
        a in field(0, 59), b in field(0, 23), c in field(1, 31), d in field(1, 12), w in field(0, 7),
        from in from_ts(), zi in 0..ZONES.len()
    ) {
        let e = format!("{a} {b} {c} {d} {w}");
        let Ok(s) = Schedule::parse(&e) else { return Ok(()) };
        let tz = TimeZone::get(ZONES[zi]).unwrap();
        let mut t = from;
        for _ in 0..5 {
            let Some(next) = s.next_after(t, &tz) else { break };
            let next = next.timestamp();
            if next.duration_since(t) <= SignedDuration::from_hours(72) {
                // every whole minute strictly between t and next
                let mut m = Timestamp::from_second(t.as_second().div_euclid(60) * 60 + 60).unwrap();
                while m < next {
                    if m > t {
                        let z = m.to_zoned(tz.clone());
                        let fires = s.matches(&z) && (s.is_wildcard() || !second_pass(&tz, m));
                        prop_assert!(!fires, "{} in {}: {} skipped (from {}, next {})", e, ZONES[zi], z, t, next);
                    }
                    m += SignedDuration::from_secs(60);
                }
            }
            t = next;
        }
    }
}
