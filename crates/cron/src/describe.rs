//! English descriptions of schedules.

use crate::spec::{bit, CronSpec};

const MONTH_NAMES: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
const DAY_NAMES: [&str; 7] = [
    "Sunday",
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
];

fn join_and(items: &[String]) -> String {
    match items.len() {
        0 => String::new(),
        1 => items[0].clone(),
        n => format!("{} and {}", items[..n - 1].join(", "), items[n - 1]),
    }
}

fn ordinal(n: u32) -> String {
    let suffix = match (n % 10, n % 100) {
        (1, r) if r != 11 => "st",
        (2, r) if r != 12 => "nd",
        (3, r) if r != 13 => "rd",
        _ => "th",
    };
    format!("{n}{suffix}")
}

/// Runs of consecutive set bits in `lo..=hi`.
fn runs(mask: u64, lo: u32, hi: u32) -> Vec<(u32, u32)> {
    let mut out = Vec::new();
    let mut i = lo;
    while i <= hi {
        if bit(mask, i) {
            let start = i;
            while i < hi && bit(mask, i + 1) {
                i += 1;
            }
            out.push((start, i));
        }
        i += 1;
    }
    out
}

fn list(mask: u64, lo: u32, hi: u32, name: impl Fn(u32) -> String, through: &str) -> String {
    let parts: Vec<String> = runs(mask, lo, hi)
        .into_iter()
        .flat_map(|(a, b)| {
            if b >= a + 2 {
                vec![format!("{}{through}{}", name(a), name(b))]
            } else {
                (a..=b).map(&name).collect()
            }
        })
        .collect();
    join_and(&parts)
}

fn all(mask: u64, lo: u32, hi: u32) -> bool {
    (lo..=hi).all(|i| bit(mask, i))
}

fn count(mask: u64) -> u32 {
    mask.count_ones()
}

pub(crate) fn month_list(mask: u64) -> String {
    list(
        mask,
        1,
        12,
        |m| MONTH_NAMES[m as usize - 1].to_string(),
        " through ",
    )
}

fn plural(n: i64, unit: &str) -> String {
    if n == 1 {
        format!("1 {unit}")
    } else {
        format!("{n} {unit}s")
    }
}

/// "1 hour 30 minutes".
pub(crate) fn duration(secs: i64) -> String {
    let mut parts = Vec::new();
    let (d, r) = (secs / 86_400, secs % 86_400);
    let (h, r) = (r / 3_600, r % 3_600);
    let (m, s) = (r / 60, r % 60);
    for (n, u) in [(d, "day"), (h, "hour"), (m, "minute"), (s, "second")] {
        if n > 0 {
            parts.push(plural(n, u));
        }
    }
    if parts.len() == 1 && parts[0].starts_with("1 ") {
        return parts[0][2..].to_string();
    }
    parts.join(" ")
}

/// `*/n` over the whole field → Some(n).
fn star_step(raw: &str) -> Option<u32> {
    raw.strip_prefix("*/").and_then(|s| s.parse().ok())
}

fn time_part(spec: &CronSpec) -> String {
    let secs_zero = spec.seconds == 1;
    let all_min = all(spec.minutes, 0, 59);
    let all_hour = all(spec.hours, 0, 23);
    let num = |n: u32| n.to_string();
    let hour_phrase = if all_hour {
        String::new()
    } else {
        format!(
            " during hour{} {}",
            if count(spec.hours) > 1 { "s" } else { "" },
            list(spec.hours, 0, 23, |h| format!("{h:02}"), "-")
        )
    };
    let sec_prefix = if secs_zero {
        None
    } else if all(spec.seconds, 0, 59) {
        Some("every second".to_string())
    } else if let Some(n) = star_step(&spec.raw[0]) {
        Some(format!("every {n} seconds"))
    } else {
        Some(format!(
            "at second{} {}",
            if count(spec.seconds) > 1 { "s" } else { "" },
            list(spec.seconds, 0, 59, num, "-")
        ))
    };
    // A handful of exact times of day: "at 02:30", "at 08:00 and 17:30".
    let n_times = count(spec.hours) * count(spec.minutes);
    if !all_hour && n_times <= 4 && (secs_zero || count(spec.seconds) == 1) {
        let sec = spec.seconds.trailing_zeros();
        let mut times = Vec::new();
        for h in 0..24 {
            if !bit(spec.hours, h) {
                continue;
            }
            for m in 0..60 {
                if bit(spec.minutes, m) {
                    times.push(if spec.has_seconds && sec != 0 {
                        format!("{h:02}:{m:02}:{sec:02}")
                    } else {
                        format!("{h:02}:{m:02}")
                    });
                }
            }
        }
        return format!("at {}", join_and(&times));
    }
    let min_phrase = if all_min {
        "every minute".to_string()
    } else if let Some(n) = star_step(&spec.raw[1]) {
        format!("every {n} minutes")
    } else if all_hour {
        format!(
            "at minute{} {} of every hour",
            if count(spec.minutes) > 1 { "s" } else { "" },
            list(spec.minutes, 0, 59, num, "-")
        )
    } else {
        format!(
            "at minute{} {}",
            if count(spec.minutes) > 1 { "s" } else { "" },
            list(spec.minutes, 0, 59, num, "-")
        )
    };
    match sec_prefix {
        None => format!("{min_phrase}{hour_phrase}"),
        Some(s) if all_min && all_hour => s,
        Some(s) if all_min => format!("{s}{hour_phrase}"),
        Some(s) => format!("{s}, {min_phrase}{hour_phrase}"),
    }
}

fn dom_part(spec: &CronSpec) -> Option<String> {
    let mut parts = Vec::new();
    if spec.dom != 0 && !all(spec.dom, 1, 31) {
        let days = list(spec.dom, 1, 31, |d| d.to_string(), "-");
        parts.push(format!(
            "day{} {days} of the month",
            if count(spec.dom) > 1 { "s" } else { "" }
        ));
    } else if spec.dom != 0 && !spec.dom_star {
        parts.push("every day of the month".to_string());
    }
    if spec.dom_last {
        parts.push("the last day of the month".to_string());
    }
    if spec.dom_last_weekday {
        parts.push("the last weekday of the month".to_string());
    }
    for d in 1..=31 {
        if bit(spec.dom_nearest_weekday, d) {
            parts.push(format!("the weekday nearest the {}", ordinal(d)));
        }
    }
    if parts.is_empty() {
        None
    } else {
        Some(join_and(&parts))
    }
}

fn dow_part(spec: &CronSpec) -> Option<String> {
    let mut parts = Vec::new();
    if spec.dow != 0 && !all(spec.dow, 0, 6) {
        // Show Monday-first runs, with Sunday last, when Sunday ends a run.
        let rot = ((spec.dow >> 1) & 0x3f) | ((spec.dow & 1) << 6);
        parts.push(list(
            rot,
            0,
            6,
            |i| DAY_NAMES[((i + 1) % 7) as usize].to_string(),
            " through ",
        ));
    } else if spec.dow != 0 && !spec.dow_star {
        parts.push("every day of the week".to_string());
    }
    for &(d, n) in &spec.dow_nth {
        parts.push(format!(
            "the {} {} of the month",
            ordinal(n as u32),
            DAY_NAMES[d as usize]
        ));
    }
    for d in 0..7 {
        if bit(spec.dow_last, d) {
            parts.push(format!("the last {} of the month", DAY_NAMES[d as usize]));
        }
    }
    if parts.is_empty() {
        None
    } else {
        Some(join_and(&parts))
    }
}

pub(crate) fn describe(spec: &CronSpec) -> String {
    let time = time_part(spec);
    let all_months = all(spec.months, 1, 12);
    let dom_unrestricted = spec.dom_star && all(spec.dom, 1, 31);
    let dow_unrestricted = spec.dow_star && all(spec.dow, 0, 6);
    // "on January 1" for a single day in a single month.
    let dom = if dom_unrestricted {
        None
    } else {
        dom_part(spec)
    };
    let dow = if dow_unrestricted {
        None
    } else {
        dow_part(spec)
    };
    let mut out = time;
    let mut months_done = false;
    match (dom, dow) {
        (None, None) => {
            if !all(spec.hours, 0, 23) {
                out.push_str(" every day");
            }
        }
        (Some(d), None) => {
            if count(spec.dom) == 1
                && count(spec.months) == 1
                && !spec.dom_last
                && !spec.dom_last_weekday
                && spec.dom_nearest_weekday == 0
            {
                out.push_str(&format!(
                    " on {} {}",
                    MONTH_NAMES[spec.months.trailing_zeros() as usize - 1],
                    spec.dom.trailing_zeros()
                ));
                months_done = true;
            } else {
                out.push_str(&format!(" on {d}"));
            }
        }
        (None, Some(w)) => out.push_str(&format!(" on {w}")),
        (Some(d), Some(w)) => {
            if spec.dom_star || spec.dow_star {
                out.push_str(&format!(" on {d}, if it is {w}"));
            } else {
                out.push_str(&format!(" on {d} or on {w}"));
            }
        }
    }
    if !all_months && !months_done {
        out.push_str(&format!(" in {}", month_list(spec.months)));
    }
    if let Some(years) = &spec.years {
        let v: Vec<i16> = years.iter().copied().collect();
        let contiguous = v.windows(2).all(|w| w[1] == w[0] + 1);
        if v.len() == 1 {
            out.push_str(&format!(" in {}", v[0]));
        } else if contiguous && !v.is_empty() {
            out.push_str(&format!(" in {}-{}", v[0], v[v.len() - 1]));
        } else {
            let s: Vec<String> = v.iter().map(|y| y.to_string()).collect();
            out.push_str(&format!(" in {}", join_and(&s)));
        }
    }
    out
}
