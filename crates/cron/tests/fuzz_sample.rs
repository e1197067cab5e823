//! A fixed, fuzz-style sample of expressions against croner 4 (the oracle of
//! differential.rs), plus the committed seed corpus of the `cron_expr` fuzz target.
//!
//! The generator writes the five-field expressions a fuzzer reaches (lists, ranges, steps,
//! out-of-range and reversed bounds, stray characters), from a fixed seed so every run
//! judges the same ones. Where both parsers accept an expression inside the shared
//! dialect (the intended differences of differential.rs left out), the next fire times
//! must be equal; every expression, accepted or not, must describe and plan without a
//! panic. Accepted by Steward only (croner refuses them, cronie accepts them): `*` inside
//! a list (`5,*`) and day-of-week ranges that wrap through Sunday (`6-0`, like `FRI-SUN`).

use std::str::FromStr;

use jiff::{tz::TimeZone, Timestamp, Zoned};
use steward_cron::Schedule;

/// xorshift64*: a fixed stream.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn atom(rng: &mut Rng, lo: u64, hi: u64) -> String {
    // Mostly in range; one number in eight just outside it.
    let n = |rng: &mut Rng| {
        if rng.below(8) == 0 {
            [lo.saturating_sub(1), hi + 1][rng.below(2) as usize]
        } else {
            lo + rng.below(hi - lo + 1)
        }
    };
    match rng.below(12) {
        0 | 1 => "*".into(),
        2 => format!("*/{}", 1 + rng.below(hi + 2)),
        3 | 4 => format!("{}-{}", n(rng), n(rng)),
        5 => format!("{}-{}/{}", n(rng), n(rng), rng.below(hi + 1)),
        6 | 7 => format!("{},{}", n(rng), n(rng)),
        8 => format!("{}/{}", n(rng), 1 + rng.below(10)),
        9 => ["", "-", ",", "/", "x", "1-", "-1", "**"][rng.below(8) as usize].into(),
        _ => n(rng).to_string(),
    }
}

fn expression(rng: &mut Rng) -> String {
    let fields = [(0, 59), (0, 23), (1, 31), (1, 12), (0, 7)];
    fields
        .iter()
        .map(|&(lo, hi)| {
            let mut f = atom(rng, lo, hi);
            if rng.below(8) == 0 {
                f = format!("{f},{}", atom(rng, lo, hi));
            }
            f
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Inside the dialect both implement the same way (see differential.rs's list).
fn comparable(expr: &str) -> bool {
    let f: Vec<&str> = expr.split(' ').collect();
    if f.len() != 5 {
        return false;
    }
    let day_rule_agrees = |d: &str| d == "*" || !d.starts_with('*');
    // `5/15` (a start without a range) is cronie's `5-max/15`; croner differs.
    let bare_start_step = f.iter().any(|field| {
        field.split(',').any(|part| {
            part.split_once('/')
                .is_some_and(|(base, _)| base != "*" && !base.contains('-'))
        })
    });
    day_rule_agrees(f[2]) && day_rule_agrees(f[4]) && !bare_start_step
}

fn croner_next(expr: &str, from: Timestamp, n: usize) -> Option<Vec<Timestamp>> {
    let c = croner::Cron::from_str(expr).ok()?;
    let mut out = Vec::new();
    let mut cur: Zoned = from.to_zoned(TimeZone::UTC);
    for _ in 0..n {
        cur = c.find_next_occurrence(&cur, false).ok()?;
        out.push(cur.timestamp());
    }
    Some(out)
}

fn exercise(expr: &str, from: Timestamp) -> Option<Schedule> {
    let s = Schedule::parse(expr).ok()?;
    let _ = s.describe();
    let berlin = TimeZone::get("Europe/Berlin").unwrap();
    let mut last = from;
    for z in s.iter_after(from, &berlin).take(3) {
        assert!(z.timestamp() > last, "{expr}: fire times must increase");
        last = z.timestamp();
    }
    Some(s)
}

#[test]
fn generated_sample_matches_croner() {
    let from: Timestamp = "2025-01-01T00:00:00Z".parse().unwrap();
    let mut rng = Rng(0x00c0_ffee_2026_0020);
    let (mut compared, mut ours_only, mut rejected) = (0, 0, 0);
    let mut mismatches = Vec::new();
    for _ in 0..20_000 {
        let expr = expression(&mut rng);
        let Some(s) = exercise(&expr, from) else {
            rejected += 1;
            continue;
        };
        if !comparable(&expr) {
            continue;
        }
        let Some(theirs) = croner_next(&expr, from, 5) else {
            ours_only += 1;
            if ours_only <= 12 {
                eprintln!("accepted by us only: {expr}");
            }
            continue;
        };
        let ours: Vec<Timestamp> = s
            .iter_after(from, &TimeZone::UTC)
            .take(5)
            .map(|z| z.timestamp())
            .collect();
        if ours != theirs {
            mismatches.push(format!("{expr}: ours {ours:?}, croner {theirs:?}"));
        }
        compared += 1;
    }
    assert!(
        mismatches.is_empty(),
        "{} of {compared} differ:\n{}",
        mismatches.len(),
        mismatches.join("\n")
    );
    // Not vacuous: both verdicts, and many comparisons.
    assert!(compared > 800, "only {compared} compared");
    assert!(rejected > 2000, "only {rejected} rejected");
    eprintln!("compared {compared}, rejected {rejected}, accepted by us only {ours_only}");
}

/// The fuzz target's committed seeds (fuzz/seeds/cron_expr: 8 bytes of start instant,
/// then the expression) parse, describe and plan as the target expects.
#[test]
fn fuzz_seed_corpus_plans() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/seeds/cron_expr");
    let mut parsed = 0;
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let bytes = std::fs::read(entry.unwrap().path()).unwrap();
        let (head, expr) = bytes.split_at(8);
        let start = i64::from_le_bytes(head.try_into().unwrap());
        let from = Timestamp::from_second(start).unwrap();
        seen += 1;
        if exercise(std::str::from_utf8(expr).unwrap(), from).is_some() {
            parsed += 1;
        }
    }
    assert!(
        seen >= 50 && parsed >= seen / 2,
        "{parsed} of {seen} seeds parse"
    );
}
