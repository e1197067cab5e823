//! Cron schedule expressions → next fire times, DST-correct.
//!
//! # Why our own parser and iterator
//!
//! No existing crate implements the semantics Steward promises (see
//! `docs/cron.md` and `shared/reference/peers.md` §8):
//!
//! * **The Vixie/cronie day rule.** cronie ANDs day-of-month and
//!   day-of-week when either field *starts with* `*` (so `*/2` counts as
//!   unrestricted) and ORs them otherwise. `croner` treats only a bare `*`
//!   as unrestricted, `cron` always ANDs (and numbers Sunday as 1),
//!   `saffron` always ORs.
//! * **cronie's grammar.** `5/15` is rejected by cronie; `cron` accepts it.
//!   cronie accepts `FRI-SUN` (= 5-7); reversed ranges are otherwise
//!   rejected here with a reason instead of silently matching nothing.
//! * **DST.** A fixed-time job fires exactly once per local date (gap → the
//!   first valid instant after the gap; fold → first pass only) and a
//!   wildcard job (minute or hour field starting with `*`) follows real
//!   elapsed time. Only `croner` has that model, and it differs on the
//!   Vixie day rule, on `30 2-3 * * *`-style gap catch-up, on `@reboot`,
//!   `@midnight` and `@every`, and it accepts impossible dates such as
//!   `0 0 31 2 *`, failing only at search time.
//! * **Impossible schedules** (`0 0 30 2 *`, `0 0 31 4 *`, years in the
//!   past) are rejected at parse time with the field and a reason.
//!
//! `croner` is used as a dev-dependency for differential tests only.
//!
//! # Dialect
//!
//! * 5 fields: `minute hour day-of-month month day-of-week` (cronie).
//! * 6 fields: a leading `second` field + the 5.
//! * 7 fields: `second` + the 5 + a trailing `year` (1970–2199).
//! * Items: `*`, `n`, `a-b`, `*/s`, `a-b/s`, lists `x,y,z`; names JAN–DEC
//!   and SUN–SAT in any case; 0 and 7 are Sunday. `a/s` is rejected, as
//!   cronie rejects it.
//! * Extensions: day of month `L` (last day), `LW` (last weekday), `nW`
//!   (weekday nearest day n, within the month); day of week `d#n` (n-th
//!   weekday d, n = 1–5) and `dL` (last weekday d of the month).
//! * Macros: `@yearly`/`@annually`, `@monthly`, `@weekly`, `@daily`/
//!   `@midnight`, `@hourly` (cronie's expansions), `@reboot`, and
//!   `@every <duration>` (units d, h, m, s: `@every 90s`, `@every 1h30m`).
//!
//! # `@every` anchor
//!
//! `@every D` fires at the instants `1970-01-01T00:00:00Z + k·D`. Consecutive
//! fires are therefore exactly `D` of real elapsed time apart, whatever the
//! time zone or DST; the schedule is stateless, so a daemon restart does not
//! shift the cadence and `steward cron next` shows the real future fires.
//! The first fire after a start can come sooner than `D`.

use jiff::{civil::DateTime, tz::TimeZone, Timestamp, Zoned};

mod describe;
mod parse;
mod spec;

use spec::CronSpec;

/// A parsed schedule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule {
    kind: Kind,
    source: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Kind {
    Reboot,
    /// Interval in whole seconds.
    Every(i64),
    Cron(Box<CronSpec>),
}

/// Why an expression was rejected: which field and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct CronError {
    /// The field that is wrong (`second`, `minute`, `hour`, `day of month`,
    /// `month`, `day of week`, `year`, or `expression`).
    pub field: String,
    pub message: String,
}

fn macro_expansion(name: &str) -> Option<&'static str> {
    Some(match name {
        "@yearly" | "@annually" => "0 0 1 1 *",
        "@monthly" => "0 0 1 * *",
        // cronie sets DOW_STAR for @weekly: AND → every Sunday.
        "@weekly" => "0 0 * * 0",
        "@daily" | "@midnight" => "0 0 * * *",
        "@hourly" => "0 * * * *",
        _ => return None,
    })
}

/// The current year as seen in the earliest time zone (UTC-12), so a year
/// that is still current anywhere on Earth is not "in the past".
fn current_year() -> i16 {
    Timestamp::now()
        .to_zoned(TimeZone::fixed(jiff::tz::offset(-12)))
        .year()
}

impl Schedule {
    /// Parses any supported expression (5/6/7 fields, macros, `@every`).
    pub fn parse(expr: &str) -> Result<Schedule, CronError> {
        let trimmed = expr.trim();
        if trimmed.is_empty() {
            return Err(parse::err("expression", "empty schedule expression"));
        }
        let source = trimmed.split_whitespace().collect::<Vec<_>>().join(" ");
        if let Some(rest) = trimmed.strip_prefix('@') {
            // cronie reads the name right after the `@`: `@ daily` is no macro.
            if rest.is_empty() || rest.starts_with(char::is_whitespace) {
                return Err(parse::err(
                    "expression",
                    "a macro is `@` immediately followed by its name, e.g. @daily",
                ));
            }
            let mut words = rest.split_whitespace();
            let name = format!("@{}", words.next().unwrap_or("").to_ascii_lowercase());
            let tail: Vec<&str> = words.collect();
            if name == "@every" {
                if tail.len() > 1 {
                    return Err(parse::err(
                        "expression",
                        format!(
                            "@every takes one duration without spaces, e.g. `@every {}`",
                            tail.join("")
                        ),
                    ));
                }
                let secs = parse::parse_every(&tail.join(""))?;
                return Ok(Schedule {
                    kind: Kind::Every(secs),
                    source,
                });
            }
            if !tail.is_empty() {
                return Err(parse::err(
                    "expression",
                    format!("unexpected text after {name}: `{}`", tail.join(" ")),
                ));
            }
            if name == "@reboot" {
                return Ok(Schedule {
                    kind: Kind::Reboot,
                    source,
                });
            }
            let Some(exp) = macro_expansion(&name) else {
                return Err(parse::err(
                    "expression",
                    format!(
                        "unknown macro `{name}`; expected @yearly, @annually, @monthly, @weekly, \
                         @daily, @midnight, @hourly, @reboot or @every <duration>"
                    ),
                ));
            };
            let fields: Vec<&str> = exp.split_whitespace().collect();
            let spec = parse::parse_fields(exp, &fields)?;
            return Ok(Schedule {
                kind: Kind::Cron(Box::new(spec)),
                source,
            });
        }
        let fields: Vec<&str> = trimmed.split_whitespace().collect();
        let spec = parse::parse_fields(trimmed, &fields)?;
        validate(&spec)?;
        Ok(Schedule {
            kind: Kind::Cron(Box::new(spec)),
            source,
        })
    }

    /// The expression as given (whitespace normalised).
    pub fn source(&self) -> &str {
        &self.source
    }

    /// The first fire time strictly after `after`, in `tz`. `None` for
    /// `@reboot`, and when no fire time remains (past a 7-field schedule's
    /// last year).
    ///
    /// DST rule: a fixed-time job fires once per local date — a time in a
    /// spring-forward gap fires at the first valid instant after the gap, a
    /// time repeated by a fall-back fires only in the first pass. A wildcard
    /// job (see [`Schedule::is_wildcard`]) fires at every instant whose local
    /// time matches, so it follows real elapsed time in both passes of a
    /// repeated hour and skips local times that do not exist.
    pub fn next_after(&self, after: Timestamp, tz: &TimeZone) -> Option<Zoned> {
        let ts = match &self.kind {
            Kind::Reboot => return None,
            Kind::Every(d) => {
                let mut s = after.as_second();
                if after.subsec_nanosecond() < 0 {
                    s -= 1;
                }
                let next = s.div_euclid(*d).checked_add(1)?.checked_mul(*d)?;
                Timestamp::from_second(next).ok()?
            }
            Kind::Cron(spec) => {
                if spec.is_wildcard() {
                    next_wildcard(spec, after, tz)?
                } else {
                    next_fixed(spec, after, tz)?
                }
            }
        };
        Some(ts.to_zoned(tz.clone()))
    }

    /// The fire times strictly after `after`, in increasing order.
    pub fn iter_after(&self, after: Timestamp, tz: &TimeZone) -> Iter<'_> {
        Iter {
            schedule: self,
            tz: tz.clone(),
            cur: Some(after),
        }
    }

    /// True for `@reboot` (fires once at daemon start).
    pub fn is_reboot(&self) -> bool {
        matches!(self.kind, Kind::Reboot)
    }

    /// The `@every` interval, if this is an `@every` schedule.
    pub fn every_interval(&self) -> Option<std::time::Duration> {
        match self.kind {
            Kind::Every(s) => Some(std::time::Duration::from_secs(s as u64)),
            _ => None,
        }
    }

    /// True for jobs that follow real elapsed time: `@every`, and cron
    /// expressions whose minute or hour field starts with `*` (cronie's
    /// "wildcard" jobs, e.g. `* * * * *`, `*/5 * * * *`, `30 * * * *`,
    /// `@hourly`). False for fixed-time jobs (`30 2 * * *`, `@daily`) and
    /// `@reboot`. On a wall-clock jump the engine should, like cronie, not
    /// replay wildcard jobs for every skipped minute.
    pub fn is_wildcard(&self) -> bool {
        match &self.kind {
            Kind::Reboot => false,
            Kind::Every(_) => true,
            Kind::Cron(spec) => spec.is_wildcard(),
        }
    }

    /// True if the expression has a seconds field (6 or 7 fields), or is an
    /// `@every` whose interval is not a whole number of minutes.
    pub fn has_seconds(&self) -> bool {
        match &self.kind {
            Kind::Reboot => false,
            Kind::Every(s) => s % 60 != 0,
            Kind::Cron(spec) => spec.has_seconds,
        }
    }

    /// Whether the instant's local time in `zdt`'s zone matches the
    /// expression field by field (sub-seconds ignored). For `@every`:
    /// whether it is on the interval grid. Always false for `@reboot`.
    ///
    /// Every fire time returned by [`Schedule::next_after`] matches, except
    /// a fixed-time fire moved out of a spring-forward gap (it fires at the
    /// first valid instant after the gap, whose local time is not in the
    /// expression).
    pub fn matches(&self, zdt: &Zoned) -> bool {
        match &self.kind {
            Kind::Reboot => false,
            Kind::Every(d) => zdt.timestamp().as_second().rem_euclid(*d) == 0,
            Kind::Cron(spec) => spec.civil_matches(zdt.datetime()),
        }
    }

    /// The schedule in English words ("every minute", "at 02:30 every day").
    pub fn describe(&self) -> String {
        match &self.kind {
            Kind::Reboot => "at daemon start (@reboot)".to_string(),
            Kind::Every(d) => format!("every {}", describe::duration(*d)),
            Kind::Cron(spec) => describe::describe(spec),
        }
    }
}

impl std::fmt::Display for Schedule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.source)
    }
}

impl std::str::FromStr for Schedule {
    type Err = CronError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Schedule::parse(s)
    }
}

/// Iterator over fire times (see [`Schedule::iter_after`]).
#[derive(Debug, Clone)]
pub struct Iter<'a> {
    schedule: &'a Schedule,
    tz: TimeZone,
    cur: Option<Timestamp>,
}

impl Iterator for Iter<'_> {
    type Item = Zoned;
    fn next(&mut self) -> Option<Zoned> {
        let z = self.schedule.next_after(self.cur?, &self.tz);
        self.cur = z.as_ref().map(|z| z.timestamp());
        z
    }
}

/// Rejects schedules that can never fire.
fn validate(spec: &CronSpec) -> Result<(), CronError> {
    let now_year = current_year();
    if let Some(years) = &spec.years {
        if years.range(now_year..).next().is_none() {
            return Err(parse::err(
                "year",
                format!(
                    "`{}`: every year in it is in the past (it is now {now_year})",
                    spec.raw[6]
                ),
            ));
        }
        let ys: Vec<i16> = years.range(now_year..).copied().collect();
        if !spec.some_date_matches(ys.into_iter()) {
            let mut any_year = spec.clone();
            any_year.years = None;
            if any_year.some_date_matches(now_year..now_year.saturating_add(400)) {
                return Err(parse::err(
                    "year",
                    format!(
                        "impossible schedule: no date in year(s) `{}` matches day of month `{}`, \
                         month `{}` and day of week `{}`",
                        spec.raw[6], spec.raw[3], spec.raw[4], spec.raw[5]
                    ),
                ));
            }
        } else {
            return Ok(());
        }
    } else if spec.some_date_matches(now_year..now_year.saturating_add(400)) {
        return Ok(());
    }
    let (field, what) = if spec.dom_star && !spec.dow_star {
        ("day of week", "never falls")
    } else {
        ("day of month", "never occurs")
    };
    let months = describe::month_list(spec.months);
    let dow = if spec.dow_star {
        String::new()
    } else {
        format!(" with day of week `{}`", spec.raw[5])
    };
    Err(parse::err(
        field,
        format!(
            "impossible schedule: day of month `{}`{dow} {what} in {months}",
            spec.raw[3]
        ),
    ))
}

fn whole_seconds(dt: DateTime) -> DateTime {
    dt.with().subsec_nanosecond(0).build().unwrap_or(dt)
}

/// The instant of a fixed-time civil fire time: unique → itself; fold → the
/// first pass; gap → the first valid instant after the gap (the transition).
fn fixed_instant(tz: &TimeZone, dt: DateTime) -> Option<Timestamp> {
    use jiff::tz::AmbiguousOffset;
    match tz.to_ambiguous_timestamp(dt).offset() {
        AmbiguousOffset::Unambiguous { offset } => offset.to_timestamp(dt).ok(),
        AmbiguousOffset::Fold { before, .. } => before.to_timestamp(dt).ok(),
        AmbiguousOffset::Gap { before, after } => {
            // `dt` read with the post-gap offset is an instant before the
            // transition; the next transition is where the gap ends.
            let probe = after.to_timestamp(dt).ok()?;
            match tz.following(probe).next() {
                Some(t) => Some(t.timestamp()),
                None => before.to_timestamp(dt).ok(),
            }
        }
    }
}

fn next_fixed(spec: &CronSpec, after: Timestamp, tz: &TimeZone) -> Option<Timestamp> {
    // Civil → instant is monotonic non-decreasing under the fixed rule, and
    // every civil time <= civil(after) maps to an instant <= after, so the
    // first civil match after civil(after) whose instant is > after is the
    // answer. The loop only repeats inside a fold's second pass and when
    // several gap times collapse onto one instant.
    let mut start = whole_seconds(tz.to_datetime(after))
        .checked_add(jiff::SignedDuration::from_secs(1))
        .ok()?;
    for _ in 0..100_000 {
        let c = spec.next_civil(start)?;
        let ts = fixed_instant(tz, c)?;
        if ts > after {
            return Some(ts);
        }
        start = c.checked_add(jiff::SignedDuration::from_secs(1)).ok()?;
    }
    None
}

fn next_wildcard(spec: &CronSpec, after: Timestamp, tz: &TimeZone) -> Option<Timestamp> {
    // Walk the segments of constant UTC offset starting at `after`; within
    // one, local time is a plain shift of real time.
    let mut seg = after;
    let mut inclusive = false;
    let horizon = after
        .checked_add(jiff::SignedDuration::from_hours(HORIZON_YEARS * 366 * 24))
        .unwrap_or(Timestamp::MAX);
    for _ in 0..10_000 {
        let offset = tz.to_offset(seg);
        let end = tz.following(seg).next().map(|t| t.timestamp());
        let local = offset.to_datetime(seg);
        let start = if inclusive && local.subsec_nanosecond() == 0 {
            local
        } else {
            whole_seconds(local)
                .checked_add(jiff::SignedDuration::from_secs(1))
                .ok()?
        };
        match spec.next_civil(start) {
            Some(c) => {
                let ts = offset.to_timestamp(c).ok()?;
                if ts > horizon {
                    return None;
                }
                match end {
                    Some(e) if ts >= e => {
                        // No match before `c` in local time, and a later segment's
                        // local time differs from this one's by less than a day: go
                        // straight to a day before it (the next matching day may sit
                        // in a DST gap every time, `* 2 29 3 0` in Europe/Berlin).
                        let near = ts.checked_sub(jiff::SignedDuration::from_hours(24)).ok()?;
                        seg = near.max(e);
                        inclusive = true;
                        continue;
                    }
                    _ => return Some(ts),
                }
            }
            None => {
                end?;
            }
        }
        seg = end?;
        inclusive = true;
    }
    None
}

/// How far ahead a wildcard search looks: the Gregorian calendar and the DST rules of
/// time zones repeat every 400 years, so a schedule with no fire time in twice that never
/// fires.
const HORIZON_YEARS: i64 = 800;
