//! The parser: cronie's grammar for the five classic fields, plus the
//! documented extensions (seconds, years, `L`, `W`, `LW`, `#`, `dL`,
//! `@every`).

use std::collections::BTreeSet;

use crate::spec::CronSpec;
use crate::CronError;

/// Lowest/highest year accepted in the year field.
pub(crate) const MIN_YEAR: i16 = 1970;
pub(crate) const MAX_YEAR: i16 = 2199;

const MONTHS: [&str; 12] = [
    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
];
const DAYS: [&str; 7] = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Field {
    Second,
    Minute,
    Hour,
    Dom,
    Month,
    Dow,
    Year,
}

impl Field {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Field::Second => "second",
            Field::Minute => "minute",
            Field::Hour => "hour",
            Field::Dom => "day of month",
            Field::Month => "month",
            Field::Dow => "day of week",
            Field::Year => "year",
        }
    }
    fn bounds(self) -> (i32, i32) {
        match self {
            Field::Second | Field::Minute => (0, 59),
            Field::Hour => (0, 23),
            Field::Dom => (1, 31),
            Field::Month => (1, 12),
            Field::Dow => (0, 7),
            Field::Year => (MIN_YEAR as i32, MAX_YEAR as i32),
        }
    }
}

pub(crate) fn err(field: &str, message: impl Into<String>) -> CronError {
    CronError {
        field: field.to_string(),
        message: message.into(),
    }
}

fn ferr(field: Field, message: impl Into<String>) -> CronError {
    err(field.name(), message)
}

/// One field's parsed content. Years use `values` (a set of years).
#[derive(Default)]
struct Parsed {
    bits: u64,
    years: BTreeSet<i16>,
    last: bool,
    last_weekday: bool,
    nearest_weekday: u64,
    nth: Vec<(u8, u8)>,
    dow_last: u64,
}

/// A number or (for month / day of week) a three-letter name, any case.
fn value(field: Field, s: &str) -> Result<i32, CronError> {
    let (lo, hi) = field.bounds();
    if s.is_empty() {
        return Err(ferr(field, "missing number"));
    }
    if s.bytes().all(|b| b.is_ascii_digit()) {
        let n: i32 = s
            .parse()
            .map_err(|_| ferr(field, format!("{s} is out of range {lo}-{hi}")))?;
        if n < lo || n > hi {
            return Err(ferr(field, format!("{n} is out of range {lo}-{hi}")));
        }
        return Ok(n);
    }
    let lower = s.to_ascii_lowercase();
    let names: &[&str] = match field {
        Field::Month => &MONTHS,
        Field::Dow => &DAYS,
        _ => {
            return Err(ferr(
                field,
                format!("`{s}` is not a number (names are allowed only in month and day of week)"),
            ))
        }
    };
    if let Some(i) = names.iter().position(|n| *n == lower) {
        return Ok(i as i32 + if field == Field::Month { 1 } else { 0 });
    }
    let what = if field == Field::Month {
        "JAN-DEC"
    } else {
        "SUN-SAT"
    };
    Err(ferr(
        field,
        format!("`{s}` is not a number or a three-letter name ({what})"),
    ))
}

fn step(field: Field, s: &str) -> Result<i32, CronError> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ferr(field, format!("step `{s}` is not a positive number")));
    }
    let n: i32 = s.parse().unwrap_or(i32::MAX);
    if n == 0 {
        return Err(ferr(field, "step 0 is not allowed"));
    }
    Ok(n)
}

fn set_range(field: Field, p: &mut Parsed, lo: i32, hi: i32, st: i32) {
    let mut i = lo;
    while i <= hi {
        if field == Field::Year {
            p.years.insert(i as i16);
        } else if field == Field::Dow {
            p.bits |= 1u64 << (i % 7);
        } else {
            p.bits |= 1u64 << i;
        }
        i = i.saturating_add(st);
    }
}

fn parse_item(field: Field, item: &str, p: &mut Parsed) -> Result<(), CronError> {
    if item.is_empty() {
        return Err(ferr(field, "empty list element (stray comma?)"));
    }
    let (lo, hi) = field.bounds();
    let upper = item.to_ascii_uppercase();

    // Extensions (Quartz family) in day of month.
    if field == Field::Dom {
        if upper == "L" {
            p.last = true;
            return Ok(());
        }
        if upper == "LW" || upper == "WL" {
            p.last_weekday = true;
            return Ok(());
        }
        if let Some(n) = upper.strip_suffix('W') {
            if n.is_empty() || !n.bytes().all(|b| b.is_ascii_digit()) {
                return Err(ferr(
                    field,
                    format!("`{item}`: W needs a day number, e.g. 15W"),
                ));
            }
            let d = value(field, n)?;
            p.nearest_weekday |= 1u64 << d;
            return Ok(());
        }
        if upper.starts_with('L') {
            return Err(ferr(
                field,
                format!("`{item}` is not supported (use L or LW)"),
            ));
        }
    }
    // Extensions in day of week: d#n and dL.
    if field == Field::Dow {
        if let Some((d, n)) = item.split_once('#') {
            let d = value(field, d)? % 7;
            let n: u8 = match n {
                "1" | "2" | "3" | "4" | "5" => n.parse().expect("digit"),
                _ => {
                    return Err(ferr(
                        field,
                        format!("`{item}`: the week number after # must be 1-5"),
                    ))
                }
            };
            p.nth.push((d as u8, n));
            return Ok(());
        }
        if upper == "L" {
            return Err(ferr(
                field,
                "`L` alone is ambiguous in day of week; write e.g. 5L (last Friday of the month)",
            ));
        }
        if let Some(d) = upper.strip_suffix('L') {
            if !d.contains(['-', '/', '*']) {
                let d = value(field, d)? % 7;
                p.dow_last |= 1u64 << d;
                return Ok(());
            }
        }
    }
    if item.contains('?') {
        return Err(ferr(field, "`?` is not supported; use `*`"));
    }
    if item.contains('~') {
        return Err(ferr(
            field,
            "`~` (cronie's random range) is not supported; use the `jitter` option",
        ));
    }

    let (range, st) = match item.split_once('/') {
        Some((r, s)) => (r, Some(step(field, s)?)),
        None => (item, None),
    };
    let st_n = st.unwrap_or(1);
    if range == "*" {
        // For day of week, `*` is 0-6: `*/n` then gives the same days as
        // cronie's 0-7/n once 7 is folded onto Sunday.
        set_range(field, p, lo, if field == Field::Dow { 6 } else { hi }, st_n);
        return Ok(());
    }
    if range.is_empty() {
        return Err(ferr(field, format!("`{item}`: missing range before `/`")));
    }
    match range.split_once('-') {
        None => {
            let v = value(field, range)?;
            if st.is_some() {
                return Err(ferr(
                    field,
                    format!(
                        "`{item}`: a step needs a range or `*` (cronie rejects `{range}/{st_n}`); \
                         write `{range}-{}/{st_n}`",
                        if field == Field::Dow { 6 } else { hi }
                    ),
                ));
            }
            set_range(field, p, v, v, 1);
        }
        Some((a, b)) => {
            let a_v = value(field, a)?;
            let mut b_v = value(field, b)?;
            if field == Field::Dow && b_v == 0 && a_v > 0 {
                // cronie 1.6+: `FRI-SUN` / `5-0` means 5-7.
                b_v = 7;
            }
            if a_v > b_v {
                return Err(ferr(
                    field,
                    format!(
                        "reversed range `{a}-{b}` ({a_v} > {b_v}); cronie silently matches nothing \
                         for it; write it as two ranges, e.g. `{a_v}-{hi},{lo}-{b_v}`"
                    ),
                ));
            }
            set_range(field, p, a_v, b_v, st_n);
        }
    }
    Ok(())
}

fn parse_field(field: Field, text: &str) -> Result<Parsed, CronError> {
    let mut p = Parsed::default();
    for item in text.split(',') {
        parse_item(field, item, &mut p)?;
    }
    Ok(p)
}

/// The five classic fields and optional seconds / year, as text.
pub(crate) fn parse_fields(expr: &str, fields: &[&str]) -> Result<CronSpec, CronError> {
    let (sec, rest, year) = match fields.len() {
        5 => ("0", fields, "*"),
        6 => (fields[0], &fields[1..], "*"),
        7 => (fields[0], &fields[1..6], fields[6]),
        n => {
            return Err(err(
                "expression",
                format!(
                    "`{expr}` has {n} field(s); expected 5 (minute hour day-of-month month \
                     day-of-week), 6 (a leading seconds field + 5) or 7 (seconds + 5 + year), \
                     or a macro such as @daily"
                ),
            ))
        }
    };
    let s = parse_field(Field::Second, sec)?;
    let mi = parse_field(Field::Minute, rest[0])?;
    let h = parse_field(Field::Hour, rest[1])?;
    let dom = parse_field(Field::Dom, rest[2])?;
    let mo = parse_field(Field::Month, rest[3])?;
    let dow = parse_field(Field::Dow, rest[4])?;
    let y = parse_field(Field::Year, year)?;
    let years = if year.starts_with('*') && y.years.len() == (MAX_YEAR - MIN_YEAR + 1) as usize {
        None
    } else {
        Some(y.years)
    };
    Ok(CronSpec {
        seconds: s.bits,
        minutes: mi.bits,
        hours: h.bits,
        dom: dom.bits,
        dom_last: dom.last,
        dom_last_weekday: dom.last_weekday,
        dom_nearest_weekday: dom.nearest_weekday,
        months: mo.bits,
        dow: dow.bits,
        dow_nth: dow.nth,
        dow_last: dow.dow_last,
        years,
        dom_star: rest[2].starts_with('*'),
        dow_star: rest[4].starts_with('*'),
        minute_star: rest[0].starts_with('*'),
        hour_star: rest[1].starts_with('*'),
        has_seconds: fields.len() >= 6,
        raw: [
            sec.to_string(),
            rest[0].to_string(),
            rest[1].to_string(),
            rest[2].to_string(),
            rest[3].to_string(),
            rest[4].to_string(),
            year.to_string(),
        ],
    })
}

/// `@every` durations: one or more `<number><unit>` with units d, h, m, s
/// (e.g. `90s`, `1h30m`, `2d`). Returns whole seconds (at least 1).
pub(crate) fn parse_every(text: &str) -> Result<i64, CronError> {
    let e = |m: String| err("expression", m);
    let t = text.trim();
    if t.is_empty() {
        return Err(e(
            "@every needs a duration, e.g. `@every 90s` or `@every 1h30m`".into(),
        ));
    }
    let mut total: i64 = 0;
    let mut num = String::new();
    let mut seen_units = String::new();
    for c in t.chars() {
        if c.is_ascii_digit() {
            num.push(c);
            continue;
        }
        let mult: i64 = match c {
            'd' => 86_400,
            'h' => 3_600,
            'm' => 60,
            's' => 1,
            _ => {
                return Err(e(format!(
                    "@every `{t}`: unexpected `{c}`; use numbers with units d, h, m, s (e.g. 1h30m)"
                )))
            }
        };
        if num.is_empty() {
            return Err(e(format!("@every `{t}`: unit `{c}` without a number")));
        }
        if seen_units.contains(c) {
            return Err(e(format!("@every `{t}`: unit `{c}` given twice")));
        }
        seen_units.push(c);
        let n: i64 = num
            .parse()
            .map_err(|_| e(format!("@every `{t}`: number too large")))?;
        total = n
            .checked_mul(mult)
            .and_then(|x| total.checked_add(x))
            .ok_or_else(|| e(format!("@every `{t}`: duration too large")))?;
        num.clear();
    }
    if !num.is_empty() {
        return Err(e(format!(
            "@every `{t}`: `{num}` has no unit (d, h, m or s)"
        )));
    }
    if total == 0 {
        return Err(e("@every interval must be at least 1s".into()));
    }
    if total > 100 * 366 * 86_400 {
        return Err(e(format!("@every `{t}`: interval longer than 100 years")));
    }
    Ok(total)
}
