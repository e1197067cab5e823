//! `steward cron next '<expr>' [--tz ZONE] [--from RFC3339] [--count N]`
//! and `steward cron next --stdin` (JSON lines in, JSON lines out).
//!
//! Prints the next fire times of a schedule, strictly after `--from`
//! (default: now), one RFC 3339 timestamp with offset per line, e.g.
//! `2025-03-30T03:00:00+02:00`. The default time zone is the system's.

use std::io::{BufRead, Write};

use jiff::{civil::DateTime, tz::TimeZone, Timestamp, Zoned};
use steward_cron::Schedule;

/// Largest `--count` accepted (a guard against typos such as `--count 1e9`).
pub const MAX_COUNT: u64 = 100_000;

/// Arguments of `steward cron next`.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct CronNextArgs {
    /// The schedule, quoted: '30 2 * * *', '@daily', '@every 90s', '0 */5 * * * *'.
    #[arg(required_unless_present = "stdin", conflicts_with = "stdin")]
    pub expr: Option<String>,
    /// IANA time zone (e.g. Europe/Madrid); default: the system's local zone.
    #[arg(long, value_name = "ZONE")]
    pub tz: Option<String>,
    /// Print fire times strictly after this instant (RFC 3339, e.g.
    /// 2025-03-30T00:00:00Z; a time without offset is read in --tz).
    /// Default: now.
    #[arg(long, value_name = "RFC3339")]
    pub from: Option<String>,
    /// How many fire times to print.
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub count: u64,
    /// Read one JSON object per line from stdin
    /// ({"id":…, "expr":…, "tz":…, "from":…, "count":…}) and write one JSON
    /// line per input line ({"id":…, "next":[…]} or {"id":…, "error":"…"}).
    #[arg(long)]
    pub stdin: bool,
}

/// Runs the command; returns the process exit status.
pub fn run(args: &CronNextArgs) -> i32 {
    if args.stdin {
        let stdin = std::io::stdin();
        let stdout = std::io::stdout();
        let mut out = std::io::BufWriter::new(stdout.lock());
        for line in stdin.lock().lines() {
            let line = match line {
                Ok(l) => l,
                Err(e) => {
                    eprintln!("steward cron next: reading stdin: {e}");
                    return 1;
                }
            };
            if line.trim().is_empty() {
                continue;
            }
            if writeln!(out, "{}", handle_json_line(&line)).is_err() {
                return 1;
            }
        }
        return if out.flush().is_ok() { 0 } else { 1 };
    }
    let Some(expr) = args.expr.as_deref() else {
        eprintln!("steward cron next: an expression (or --stdin) is required");
        return 2;
    };
    match next_times(expr, args.tz.as_deref(), args.from.as_deref(), args.count) {
        Ok(times) => {
            let stdout = std::io::stdout();
            let mut out = stdout.lock();
            for t in times {
                if writeln!(out, "{t}").is_err() {
                    return 1;
                }
            }
            0
        }
        Err(e) => {
            eprintln!("steward cron next: {e}");
            1
        }
    }
}

/// Resolves a zone name; `None` → the system's local zone.
pub fn resolve_tz(name: Option<&str>) -> Result<TimeZone, String> {
    match name {
        None => Ok(TimeZone::system()),
        Some(n) => TimeZone::get(n).map_err(|e| format!("unknown time zone `{n}`: {e}")),
    }
}

/// Parses `--from`: RFC 3339 with offset, a zoned `…[Zone]` string, or a
/// civil date-time read in `tz`.
pub fn parse_from(s: &str, tz: &TimeZone) -> Result<Timestamp, String> {
    if let Ok(t) = s.parse::<Timestamp>() {
        return Ok(t);
    }
    if let Ok(z) = s.parse::<Zoned>() {
        return Ok(z.timestamp());
    }
    if let Ok(dt) = s.parse::<DateTime>() {
        return tz
            .to_ambiguous_timestamp(dt)
            .compatible()
            .map_err(|e| format!("--from `{s}`: {e}"));
    }
    Err(format!(
        "invalid --from `{s}`: expected RFC 3339, e.g. 2025-03-30T00:00:00Z or 2025-03-30T00:00:00+01:00"
    ))
}

/// The next `count` fire times as RFC 3339 strings with offset.
pub fn next_times(
    expr: &str,
    tz: Option<&str>,
    from: Option<&str>,
    count: u64,
) -> Result<Vec<String>, String> {
    let schedule = Schedule::parse(expr)
        .map_err(|e| format!("invalid schedule `{expr}`: {}: {}", e.field, e.message))?;
    let tz = resolve_tz(tz)?;
    let from = match from {
        Some(f) => parse_from(f, &tz)?,
        None => Timestamp::now(),
    };
    if count == 0 || count > MAX_COUNT {
        return Err(format!(
            "--count must be between 1 and {MAX_COUNT}, got {count}"
        ));
    }
    if schedule.is_reboot() {
        return Err("@reboot has no fire times: it runs once when the daemon starts".into());
    }
    Ok(schedule
        .iter_after(from, &tz)
        .take(count as usize)
        .map(|z| z.timestamp().display_with_offset(z.offset()).to_string())
        .collect())
}

/// One `--stdin` request line → one JSON response line.
pub fn handle_json_line(line: &str) -> String {
    use serde_json::{json, Value};
    let req: Value = match serde_json::from_str(line) {
        Ok(v) => v,
        Err(e) => return json!({"id": null, "error": format!("invalid JSON: {e}")}).to_string(),
    };
    let id = req.get("id").cloned().unwrap_or(Value::Null);
    let fail = |m: String| json!({"id": id, "error": m}).to_string();
    if !req.is_object() {
        return fail("each line must be a JSON object".into());
    }
    let text = |k: &str| -> Result<Option<String>, String> {
        match req.get(k) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(format!("`{k}` must be a string")),
        }
    };
    let expr = match text("expr") {
        Ok(Some(e)) => e,
        Ok(None) => return fail("missing `expr`".into()),
        Err(e) => return fail(e),
    };
    let tz = match text("tz") {
        Ok(t) => t,
        Err(e) => return fail(e),
    };
    let from = match text("from") {
        Ok(f) => f,
        Err(e) => return fail(e),
    };
    let count = match req.get("count") {
        None | Some(Value::Null) => 1,
        Some(v) => match v.as_u64() {
            Some(n) => n,
            None => return fail("`count` must be a positive integer".into()),
        },
    };
    match next_times(&expr, tz.as_deref(), from.as_deref(), count) {
        Ok(next) => json!({"id": id, "next": next}).to_string(),
        Err(e) => fail(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spring_forward_madrid() {
        let v = next_times(
            "30 2 * * *",
            Some("Europe/Madrid"),
            Some("2025-03-29T12:00:00Z"),
            3,
        )
        .unwrap();
        assert_eq!(
            v,
            [
                "2025-03-30T03:00:00+02:00",
                "2025-03-31T02:30:00+02:00",
                "2025-04-01T02:30:00+02:00"
            ]
        );
    }

    #[test]
    fn strictly_after_from() {
        let v = next_times("0 * * * *", Some("UTC"), Some("2025-01-01T10:00:00Z"), 1).unwrap();
        assert_eq!(v, ["2025-01-01T11:00:00+00:00"]);
    }

    #[test]
    fn civil_from_is_read_in_tz() {
        let v = next_times(
            "0 * * * *",
            Some("America/New_York"),
            Some("2025-01-01T10:00:00"),
            1,
        )
        .unwrap();
        assert_eq!(v, ["2025-01-01T11:00:00-05:00"]);
    }

    #[test]
    fn errors() {
        assert!(next_times("61 * * * *", Some("UTC"), None, 1)
            .unwrap_err()
            .contains("minute"));
        assert!(next_times("* * * * *", Some("Mars/Olympus"), None, 1)
            .unwrap_err()
            .contains("unknown time zone"));
        assert!(next_times("* * * * *", Some("UTC"), Some("yesterday"), 1).is_err());
        assert!(next_times("* * * * *", Some("UTC"), None, 0).is_err());
        assert!(next_times("@reboot", Some("UTC"), None, 1).is_err());
    }

    #[test]
    fn json_lines() {
        let out = handle_json_line(
            r#"{"id": 7, "expr": "@daily", "tz": "UTC", "from": "2025-01-01T00:00:00Z", "count": 2}"#,
        );
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v["id"], 7);
        assert_eq!(
            v["next"],
            serde_json::json!(["2025-01-02T00:00:00+00:00", "2025-01-03T00:00:00+00:00"])
        );
        let out = handle_json_line(r#"{"id": "x", "expr": "0 0 30 2 *", "tz": "UTC"}"#);
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v["id"], "x");
        assert!(v["error"].as_str().unwrap().contains("day of month"));
        let out = handle_json_line("not json");
        assert!(out.contains("\"error\""));
    }
}
