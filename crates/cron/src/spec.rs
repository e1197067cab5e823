//! The parsed form of a cron expression and the civil-calendar matcher.
//!
//! Everything here works on *civil* (wall-clock) date-times; time zones and
//! DST are handled in `next.rs`.

use std::collections::BTreeSet;

use jiff::civil::{Date, DateTime, Time};

/// Bit set helpers over `u64` (bit `n` = value `n`).
pub(crate) fn bit(mask: u64, n: u32) -> bool {
    n < 64 && mask & (1u64 << n) != 0
}

/// The smallest set bit `>= from`, if any.
pub(crate) fn next_bit(mask: u64, from: u32) -> Option<u32> {
    if from >= 64 {
        return None;
    }
    let m = mask & (!0u64 << from);
    if m == 0 {
        None
    } else {
        Some(m.trailing_zeros())
    }
}

/// A 5/6/7-field expression after parsing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CronSpec {
    /// Seconds 0–59 (just `{0}` for 5-field expressions).
    pub seconds: u64,
    /// Minutes 0–59.
    pub minutes: u64,
    /// Hours 0–23.
    pub hours: u64,
    /// Plain days of month 1–31.
    pub dom: u64,
    /// `L`: the last day of the month.
    pub dom_last: bool,
    /// `LW`: the last weekday (Mon–Fri) of the month.
    pub dom_last_weekday: bool,
    /// `nW`: the weekday nearest to day `n` (bits 1–31).
    pub dom_nearest_weekday: u64,
    /// Months 1–12.
    pub months: u64,
    /// Plain days of week, 0 = Sunday … 6 = Saturday (7 folded onto 0).
    pub dow: u64,
    /// `d#n`: the n-th weekday `d` of the month, as (d, n).
    pub dow_nth: Vec<(u8, u8)>,
    /// `dL`: the last weekday `d` of the month (bits 0–6).
    pub dow_last: u64,
    /// Allowed years, `None` = any.
    pub years: Option<BTreeSet<i16>>,
    /// The day-of-month field starts with `*` (cronie's DOM_STAR).
    pub dom_star: bool,
    /// The day-of-week field starts with `*` (cronie's DOW_STAR).
    pub dow_star: bool,
    /// The minute field starts with `*` (cronie's MIN_STAR).
    pub minute_star: bool,
    /// The hour field starts with `*` (cronie's HR_STAR).
    pub hour_star: bool,
    /// A seconds field was given (6 or 7 fields).
    pub has_seconds: bool,
    /// The raw fields, for `describe()` and error messages:
    /// second, minute, hour, dom, month, dow, year.
    pub raw: [String; 7],
}

fn last_weekday_of_month(date: Date) -> i8 {
    let last = date.last_of_month();
    match last.weekday().to_sunday_zero_offset() {
        0 => last.day() - 2, // Sunday → Friday
        6 => last.day() - 1, // Saturday → Friday
        _ => last.day(),
    }
}

/// Quartz `nW`: the weekday (Mon–Fri) nearest to day `n`, never leaving the
/// month. `None` if the month has no day `n`.
fn nearest_weekday(date: Date, n: i8) -> Option<i8> {
    let dim = date.days_in_month();
    if n > dim {
        return None;
    }
    let d = date.first_of_month().with().day(n).build().ok()?;
    Some(match d.weekday().to_sunday_zero_offset() {
        6 => {
            if n == 1 {
                3 // Saturday the 1st → Monday the 3rd
            } else {
                n - 1
            }
        }
        0 => {
            if n == dim {
                n - 2 // Sunday the last → Friday
            } else {
                n + 1
            }
        }
        _ => n,
    })
}

impl CronSpec {
    /// True when cronie would treat the job as a "wildcard" job: its minute
    /// or hour field starts with `*`. Such jobs follow real elapsed time
    /// across DST changes; all others are fixed-time jobs.
    pub fn is_wildcard(&self) -> bool {
        self.minute_star || self.hour_star
    }

    fn dom_matches(&self, date: Date) -> bool {
        let d = date.day();
        if bit(self.dom, d as u32) {
            return true;
        }
        if self.dom_last && d == date.days_in_month() {
            return true;
        }
        if self.dom_last_weekday && d == last_weekday_of_month(date) {
            return true;
        }
        if self.dom_nearest_weekday != 0 {
            let mut n = 1;
            while let Some(b) = next_bit(self.dom_nearest_weekday, n) {
                if nearest_weekday(date, b as i8) == Some(d) {
                    return true;
                }
                n = b + 1;
            }
        }
        false
    }

    fn dow_matches(&self, date: Date) -> bool {
        let wd = date.weekday().to_sunday_zero_offset() as u8;
        if bit(self.dow, wd as u32) {
            return true;
        }
        let d = date.day() as u8;
        for &(w, n) in &self.dow_nth {
            if w == wd && (d - 1) / 7 + 1 == n {
                return true;
            }
        }
        if bit(self.dow_last, wd as u32) && d as i8 + 7 > date.days_in_month() {
            return true;
        }
        false
    }

    /// Whether the date matches the month, year and day rules (the Vixie
    /// DOM/DOW rule: AND when either day field starts with `*`, else OR).
    pub fn date_matches(&self, date: Date) -> bool {
        if !bit(self.months, date.month() as u32) {
            return false;
        }
        if let Some(years) = &self.years {
            if !years.contains(&date.year()) {
                return false;
            }
        }
        self.day_matches(date)
    }

    fn day_matches(&self, date: Date) -> bool {
        if self.dom_star || self.dow_star {
            self.dom_matches(date) && self.dow_matches(date)
        } else {
            self.dom_matches(date) || self.dow_matches(date)
        }
    }

    /// Whether the civil date-time matches every field (sub-second ignored).
    pub fn civil_matches(&self, dt: DateTime) -> bool {
        bit(self.seconds, dt.second() as u32)
            && bit(self.minutes, dt.minute() as u32)
            && bit(self.hours, dt.hour() as u32)
            && self.date_matches(dt.date())
    }

    /// The first time of day `>= from` whose hour, minute and second match.
    fn next_time_of_day(&self, from: (u32, u32, u32)) -> Option<Time> {
        let (h0, m0, s0) = from;
        let mut h = next_bit(self.hours, h0)?;
        loop {
            let mstart = if h == h0 { m0 } else { 0 };
            let mut m = next_bit(self.minutes, mstart);
            while let Some(mm) = m {
                let sstart = if h == h0 && mm == m0 { s0 } else { 0 };
                if let Some(s) = next_bit(self.seconds, sstart) {
                    return Time::new(h as i8, mm as i8, s as i8, 0).ok();
                }
                m = next_bit(self.minutes, mm + 1);
            }
            h = next_bit(self.hours, h + 1)?;
        }
    }

    /// The first civil date-time `>= start` (whole seconds) that matches,
    /// or `None` if there is none before the end of the allowed years (or
    /// of jiff's range).
    pub fn next_civil(&self, start: DateTime) -> Option<DateTime> {
        let mut date = start.date();
        let mut tod = (
            start.hour() as u32,
            start.minute() as u32,
            start.second() as u32,
        );
        // Bounded: the parser rejects schedules that never match, so a
        // match is always found within a few years (one 400-year cycle
        // at the very worst), long before this limit.
        for _ in 0..200_000 {
            if let Some(years) = &self.years {
                let y = *years.range(date.year()..).next()?;
                if y != date.year() {
                    date = Date::new(y, 1, 1).ok()?;
                    tod = (0, 0, 0);
                }
            }
            if !bit(self.months, date.month() as u32) {
                date = date.last_of_month().tomorrow().ok()?;
                tod = (0, 0, 0);
                continue;
            }
            if self.day_matches(date) {
                if let Some(t) = self.next_time_of_day(tod) {
                    return Some(date.to_datetime(t));
                }
            }
            date = date.tomorrow().ok()?;
            tod = (0, 0, 0);
        }
        None
    }

    /// Whether some date in `years` (any 400-year Gregorian cycle when the
    /// year is unrestricted) matches the month and day rules.
    pub fn some_date_matches(&self, years: impl Iterator<Item = i16>) -> bool {
        for y in years {
            for m in 1..=12i8 {
                if !bit(self.months, m as u32) {
                    continue;
                }
                let Ok(first) = Date::new(y, m, 1) else {
                    continue;
                };
                for d in 1..=first.days_in_month() {
                    let date = first.with().day(d).build().expect("valid day");
                    if self.day_matches(date) {
                        return true;
                    }
                }
            }
        }
        false
    }
}
