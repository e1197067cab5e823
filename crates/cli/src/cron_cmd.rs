//! `steward cron list`, `steward cron history <job> [--limit N] [--output]` and
//! `steward cron run <job>`: the client side of the daemon's `steward.cron*` XML-RPC
//! methods.
//!
//! Each subcommand takes supervisorctl's connection flags (`-c/--configuration`,
//! `-s/--serverurl`, `-u/--username`, `-p/--password`); without `-s` the server URL and
//! credentials come from the `[supervisorctl]` section of the configuration file (the
//! explicit one, else the first of the default search paths), as for `steward ctl`.
//!
//! Exit status: 0 ok; 1 an error (unknown job: `<job>: ERROR (no such job)`); 2 a bad
//! configuration file; 4 the server refused the connection
//! (`<url> refused connection`); 7 the socket does not exist (`<url> no such file`) —
//! the last two as supervisorctl.

use std::path::{Path, PathBuf};

use jiff::Timestamp;
use steward_rpc::client::{Client, ClientError};
use steward_rpc::{faults, Value};

/// supervisorctl's exit statuses used here.
mod exit {
    pub const OK: i32 = 0;
    pub const GENERIC: i32 = 1;
    pub const CONFIG: i32 = 2;
    pub const REFUSED: i32 = 4;
    pub const NO_SOCKET: i32 = 7;
}

/// How to reach the daemon: supervisorctl's flags.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct ConnArgs {
    /// Configuration file whose [supervisorctl] section gives the server URL and
    /// credentials (searched for if not given).
    #[arg(short = 'c', long = "configuration", value_name = "FILENAME")]
    pub configuration: Option<PathBuf>,
    /// URL on which the daemon listens (http://host:port or unix:///path.sock).
    #[arg(short = 's', long = "serverurl", value_name = "URL")]
    pub serverurl: Option<String>,
    /// Username for authentication with the server.
    #[arg(short = 'u', long = "username", value_name = "USERNAME")]
    pub username: Option<String>,
    /// Password for authentication with the server.
    #[arg(short = 'p', long = "password", value_name = "PASSWORD")]
    pub password: Option<String>,
}

/// `steward cron list`.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct ListArgs {
    #[command(flatten)]
    pub conn: ConnArgs,
}

/// `steward cron history <job>`.
#[derive(clap::Args, Debug, Clone)]
pub struct HistoryArgs {
    /// The cron job (`[cron:NAME]`).
    pub job: String,
    /// How many runs to show, newest first.
    #[arg(short = 'n', long, value_name = "N", default_value_t = 20)]
    pub limit: u32,
    /// Also print the captured output of each run (first and last 4 KiB).
    #[arg(long)]
    pub output: bool,
    #[command(flatten)]
    pub conn: ConnArgs,
}

/// `steward cron run <job>`.
#[derive(clap::Args, Debug, Clone)]
pub struct RunArgs {
    /// The cron job (`[cron:NAME]`).
    pub job: String,
    #[command(flatten)]
    pub conn: ConnArgs,
}

/// The daemon-side cron subcommands.
#[derive(clap::Subcommand, Debug, Clone)]
pub enum CronClientCommand {
    /// List cron jobs: schedule in words, time zone, next run, last result.
    List(ListArgs),
    /// Show the recorded runs of a job, newest first.
    History(HistoryArgs),
    /// Run a job now (recorded as a manual run).
    Run(RunArgs),
}

/// Runs the command; returns the process exit status.
pub fn run(cmd: &CronClientCommand) -> i32 {
    let conn = match cmd {
        CronClientCommand::List(a) => &a.conn,
        CronClientCommand::History(a) => &a.conn,
        CronClientCommand::Run(a) => &a.conn,
    };
    let opts = match resolve(conn) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("Error: {e}");
            return exit::CONFIG;
        }
    };
    let mut client = match Client::new(
        &opts.serverurl,
        opts.username.as_deref(),
        opts.password.as_deref(),
    ) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("Error: {e}");
            return exit::CONFIG;
        }
    };
    match cmd {
        CronClientCommand::List(_) => match client.call("steward.cronList", &[]) {
            Ok(v) => {
                let jobs = v.as_array().unwrap_or(&[]);
                if jobs.is_empty() {
                    println!("No cron jobs configured.");
                } else {
                    print!("{}", format_list(jobs, Timestamp::now()));
                }
                exit::OK
            }
            Err(e) => report(&opts.serverurl, None, &e),
        },
        CronClientCommand::History(a) => {
            let limit = Value::Int(a.limit.min(i32::MAX as u32) as i32);
            match client.call("steward.cronHistory", &[a.job.as_str().into(), limit]) {
                Ok(v) => {
                    let runs = v.as_array().unwrap_or(&[]);
                    if runs.is_empty() {
                        println!("{}: no runs recorded", a.job);
                    } else {
                        print!("{}", format_history(runs, a.output));
                    }
                    exit::OK
                }
                Err(e) => report(&opts.serverurl, Some(&a.job), &e),
            }
        }
        CronClientCommand::Run(a) => match client.call("steward.cronRun", &[a.job.as_str().into()])
        {
            Ok(_) => {
                println!("{}: started", a.job);
                exit::OK
            }
            Err(e) => report(&opts.serverurl, Some(&a.job), &e),
        },
    }
}

/// The resolved connection options.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Resolved {
    pub serverurl: String,
    pub username: Option<String>,
    pub password: Option<String>,
}

/// Command line over `[supervisorctl]` over the defaults, like `steward ctl`.
pub(crate) fn resolve(conn: &ConnArgs) -> Result<Resolved, String> {
    let path = config_path(conn)?;
    let section =
        steward_config::load_ctl(path.as_deref(), &steward_config::LoadOptions::from_system())
            .map_err(|e| e.to_string())?;
    Ok(Resolved {
        serverurl: conn.serverurl.clone().unwrap_or(section.serverurl),
        username: conn.username.clone().or(section.username),
        password: conn.password.clone().or(section.password),
    })
}

/// The configuration file `-c` names, or the first of the search path that exists.
pub(crate) fn config_path(conn: &ConnArgs) -> Result<Option<std::path::PathBuf>, String> {
    Ok(match &conn.configuration {
        Some(p) => {
            if !p.exists() {
                return Err(format!("could not find config file {}", p.display()));
            }
            Some(p.clone())
        }
        None => {
            let bindir = std::env::current_exe()
                .ok()
                .and_then(|p| p.parent().map(Path::to_path_buf));
            steward_config::search_paths(bindir.as_deref())
                .into_iter()
                .find(|p| p.exists())
        }
    })
}

/// Prints a failed call the way supervisorctl would and returns the exit status.
fn report(serverurl: &str, job: Option<&str>, e: &ClientError) -> i32 {
    let (text, code) = describe_error(serverurl, job, e);
    println!("{text}");
    code
}

fn describe_error(serverurl: &str, job: Option<&str>, e: &ClientError) -> (String, i32) {
    match e {
        ClientError::ConnRefused => (format!("{serverurl} refused connection"), exit::REFUSED),
        ClientError::NoSuchFile => (format!("{serverurl} no such file"), exit::NO_SOCKET),
        ClientError::Unauthorized => ("Server requires authentication".into(), exit::GENERIC),
        ClientError::Fault(f) if f.code == faults::UNKNOWN_METHOD => (
            format!(
                "Sorry, the server at {serverurl} does not offer the steward.cron* methods \
                 (is it supervisord rather than steward?)"
            ),
            exit::GENERIC,
        ),
        ClientError::Fault(f) => {
            let why = match f.code {
                faults::BAD_NAME => "no such job".to_string(),
                faults::ALREADY_STARTED => "already running (overlap=skip)".to_string(),
                faults::SHUTDOWN_STATE => "daemon is shutting down".to_string(),
                _ => f.string.clone(),
            };
            match job {
                Some(j) => (format!("{j}: ERROR ({why})"), exit::GENERIC),
                None => (format!("ERROR ({why})"), exit::GENERIC),
            }
        }
        other => (format!("error: {other}"), exit::GENERIC),
    }
}

fn get_str<'a>(v: &'a Value, key: &str) -> &'a str {
    v.get(key).and_then(Value::as_str).unwrap_or("")
}

fn get_f64(v: &Value, key: &str) -> Option<f64> {
    match v.get(key) {
        Some(Value::Double(d)) => Some(*d),
        Some(Value::Int(i)) => Some(f64::from(*i)),
        _ => None,
    }
}

fn or_dash(s: &str) -> &str {
    if s.is_empty() {
        "-"
    } else {
        s
    }
}

/// `0.250s`, `12.3s`, `4m05s`, `2h07m`; `-` for a negative (unknown) duration.
fn format_duration(secs: f64) -> String {
    if !secs.is_finite() || secs < 0.0 {
        return "-".into();
    }
    if secs < 10.0 {
        return format!("{secs:.3}s");
    }
    if secs < 60.0 {
        return format!("{secs:.1}s");
    }
    let s = secs.round() as u64;
    if s < 3600 {
        return format!("{}m{:02}s", s / 60, s % 60);
    }
    if s < 86_400 {
        return format!("{}h{:02}m", s / 3600, (s % 3600) / 60);
    }
    format!("{}d{:02}h", s / 86_400, (s % 86_400) / 3600)
}

/// `in 42s`, `in 5m`, `in 3h 12m`, `in 2d 4h`; `due` when not in the future.
fn relative(from: Timestamp, to: Timestamp) -> String {
    let secs = to.as_second() - from.as_second();
    if secs <= 0 {
        return "due".into();
    }
    let (d, h, m, s) = (
        secs / 86_400,
        (secs % 86_400) / 3600,
        (secs % 3600) / 60,
        secs % 60,
    );
    if d > 0 && h > 0 {
        format!("in {d}d {h}h")
    } else if d > 0 {
        format!("in {d}d")
    } else if h > 0 && m > 0 {
        format!("in {h}h {m}m")
    } else if h > 0 {
        format!("in {h}h")
    } else if m > 0 {
        format!("in {m}m")
    } else {
        format!("in {s}s")
    }
}

/// Left-aligned columns separated by two spaces; the last column is not padded.
fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let width = |s: &str| s.chars().count();
    let mut widths: Vec<usize> = header.iter().map(|h| width(h)).collect();
    for r in rows {
        for (i, c) in r.iter().enumerate() {
            widths[i] = widths[i].max(width(c));
        }
    }
    let mut out = String::new();
    let mut line = |cells: &mut dyn Iterator<Item = &str>| {
        let cells: Vec<&str> = cells.collect();
        let mut l = String::new();
        for (i, c) in cells.iter().enumerate() {
            if i + 1 == cells.len() {
                l.push_str(c);
            } else {
                l.push_str(c);
                l.push_str(&" ".repeat(widths[i] - width(c) + 2));
            }
        }
        out.push_str(l.trim_end());
        out.push('\n');
    };
    line(&mut header.iter().copied());
    for r in rows {
        line(&mut r.iter().map(String::as_str));
    }
    out
}

/// The `cron list` table (JOB, SCHEDULE, TZ, NEXT RUN, LAST RESULT) of
/// `steward.cronList` structs; relative times are computed from `now`.
fn format_list(jobs: &[Value], now: Timestamp) -> String {
    let rows: Vec<Vec<String>> = jobs
        .iter()
        .map(|j| {
            let schedule = match get_str(j, "description") {
                "" => get_str(j, "schedule"),
                d => d,
            };
            let enabled = j.get("enabled").and_then(Value::as_bool).unwrap_or(true);
            let next = get_str(j, "next");
            let next = if !enabled {
                "disabled".to_string()
            } else if next.is_empty() {
                "-".to_string()
            } else {
                match next.parse::<Timestamp>() {
                    Ok(t) => format!("{next} ({})", relative(now, t)),
                    Err(_) => next.to_string(),
                }
            };
            let status = or_dash(get_str(j, "last_status"));
            let last_start = get_str(j, "last_start");
            let last = if last_start.is_empty() || status == "never" {
                status.to_string()
            } else {
                match get_f64(j, "last_duration").filter(|d| *d >= 0.0) {
                    Some(d) => format!("{status} at {last_start} ({})", format_duration(d)),
                    None => format!("{status} at {last_start}"),
                }
            };
            vec![
                get_str(j, "name").to_string(),
                schedule.to_string(),
                or_dash(get_str(j, "timezone")).to_string(),
                next,
                last,
                or_dash(get_str(j, "node")).to_string(),
            ]
        })
        .collect();
    table_with_node(
        &["JOB", "SCHEDULE", "TZ", "NEXT RUN", "LAST RESULT", "NODE"],
        rows,
    )
}

/// `table`, with the last (NODE) column only when some row names a node (a daemon
/// before clusters, or rows written before them, have none).
fn table_with_node(header: &[&str], mut rows: Vec<Vec<String>>) -> String {
    if rows.iter().any(|r| r.last().is_some_and(|n| n != "-")) {
        return table(header, &rows);
    }
    for r in &mut rows {
        r.pop();
    }
    table(&header[..header.len() - 1], &rows)
}

/// The result of one `steward.cronHistory` run in `cron list`'s words: `ok`, `exit N`,
/// `killed`, `timed out`, `spawn error: …`, `running`, `interrupted`.
fn run_result(r: &Value) -> String {
    let ended = get_str(r, "ended");
    let error = get_str(r, "error");
    let skipped = get_str(r, "skipped");
    if !skipped.is_empty() {
        return format!("skipped: {skipped}");
    }
    if r.get("timed_out").and_then(Value::as_bool).unwrap_or(false) {
        return "timed out".into();
    }
    if !error.is_empty() {
        if ended.is_empty() {
            return "interrupted".into();
        }
        return if error.starts_with("spawn error") {
            error.to_string()
        } else {
            format!("spawn error: {error}")
        };
    }
    if ended.is_empty() {
        return "running".into();
    }
    match r.get("exitstatus").and_then(Value::as_int).unwrap_or(0) {
        0 => "ok".into(),
        -1 => "killed".into(),
        n => format!("exit {n}"),
    }
}

/// The `cron history` table (ID, TRIGGER, STARTED, DURATION, RESULT, and NODE when
/// known), then with
/// `with_output` each run's captured output.
fn format_history(runs: &[Value], with_output: bool) -> String {
    let rows: Vec<Vec<String>> = runs
        .iter()
        .map(|r| {
            vec![
                r.get("id")
                    .and_then(Value::as_int)
                    .map(|i| i.to_string())
                    .unwrap_or_default(),
                or_dash(get_str(r, "trigger")).to_string(),
                or_dash(get_str(r, "started")).to_string(),
                format_duration(get_f64(r, "duration").unwrap_or(-1.0)),
                run_result(r),
                or_dash(get_str(r, "node")).to_string(),
            ]
        })
        .collect();
    let mut out = table_with_node(
        &["ID", "TRIGGER", "STARTED", "DURATION", "RESULT", "NODE"],
        rows.clone(),
    );
    if with_output {
        for (r, row) in runs.iter().zip(&rows) {
            let head = get_str(r, "output_head");
            let tail = get_str(r, "output_tail");
            out.push_str(&format!(
                "\n--- run {} ({}, {}) ---\n",
                row[0], row[2], row[4]
            ));
            if head.is_empty() && tail.is_empty() {
                out.push_str("(no output)\n");
                continue;
            }
            push_block(&mut out, head);
            if !tail.is_empty() {
                out.push_str("--- last bytes ---\n");
                push_block(&mut out, tail);
            }
        }
    }
    out
}

fn push_block(out: &mut String, text: &str) {
    out.push_str(text);
    if !text.is_empty() && !text.ends_with('\n') {
        out.push_str("\n[no newline at end]\n");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(members: &[(&str, Value)]) -> Value {
        Value::Struct(
            members
                .iter()
                .map(|(k, v)| (k.to_string(), v.clone()))
                .collect(),
        )
    }

    fn job(
        name: &str,
        desc: &str,
        tz: &str,
        next: &str,
        status: &str,
        start: &str,
        dur: f64,
    ) -> Value {
        s(&[
            ("name", name.into()),
            ("schedule", "0 2 * * *".into()),
            ("description", desc.into()),
            ("timezone", tz.into()),
            ("next", next.into()),
            ("last_status", status.into()),
            ("last_start", start.into()),
            ("last_duration", Value::Double(dur)),
            ("enabled", Value::Bool(true)),
        ])
    }

    #[test]
    fn list_table() {
        let now: Timestamp = "2025-01-01T00:00:00Z".parse().unwrap();
        let mut disabled = job("old", "", "UTC", "", "never", "", -1.0);
        if let Value::Struct(m) = &mut disabled {
            m.iter_mut().find(|(k, _)| k == "enabled").unwrap().1 = Value::Bool(false);
        }
        let jobs = vec![
            job(
                "backup",
                "at 02:00 every day",
                "Europe/Madrid",
                "2025-01-01T02:00:00+01:00",
                "ok",
                "2024-12-31T02:00:00+01:00",
                3.5,
            ),
            job(
                "report",
                "every 5 minutes",
                "UTC",
                "2025-01-01T00:05:00+00:00",
                "exit 2",
                "2024-12-31T23:55:00+00:00",
                125.0,
            ),
            job(
                "fresh",
                "every minute",
                "UTC",
                "2025-01-01T00:00:30+00:00",
                "never",
                "",
                -1.0,
            ),
            disabled,
        ];
        let got = format_list(&jobs, now);
        let want = "\
JOB     SCHEDULE            TZ             NEXT RUN                            LAST RESULT
backup  at 02:00 every day  Europe/Madrid  2025-01-01T02:00:00+01:00 (in 1h)   ok at 2024-12-31T02:00:00+01:00 (3.500s)
report  every 5 minutes     UTC            2025-01-01T00:05:00+00:00 (in 5m)   exit 2 at 2024-12-31T23:55:00+00:00 (2m05s)
fresh   every minute        UTC            2025-01-01T00:00:30+00:00 (in 30s)  never
old     0 2 * * *           UTC            disabled                            never
";
        assert_eq!(got, want, "\n{got}");
    }

    #[test]
    fn table_handles_wide_chars_and_trailing_space() {
        let got = table(
            &["A", "B"],
            &[
                vec!["ñandú".into(), "x".into()],
                vec!["b".into(), "".into()],
            ],
        );
        assert_eq!(got, "A      B\nñandú  x\nb\n");
    }

    fn rec(id: i32, trigger: &str, ended: &str, status: i32, extra: &[(&str, Value)]) -> Value {
        let mut m = vec![
            ("id", Value::Int(id)),
            ("scheduled", "".into()),
            ("started", "2025-01-01T02:00:00+01:00".into()),
            ("ended", ended.into()),
            (
                "duration",
                Value::Double(if ended.is_empty() { -1.0 } else { 0.25 }),
            ),
            ("exitstatus", Value::Int(status)),
            ("trigger", trigger.into()),
            ("timed_out", Value::Bool(false)),
            ("error", "".into()),
            ("output_head", "".into()),
            ("output_tail", "".into()),
            ("node", "".into()),
            ("skipped", "".into()),
        ];
        for (k, v) in extra {
            m.iter_mut().find(|(kk, _)| kk == k).unwrap().1 = v.clone();
        }
        s(&m)
    }

    #[test]
    fn history_shows_the_node_and_skips_in_a_cluster() {
        let e = "2025-01-01T02:00:01+01:00";
        let runs = vec![
            rec(2, "schedule", e, 0, &[("node", "web-2".into())]),
            rec(
                1,
                "schedule",
                e,
                0,
                &[
                    ("node", "web-1".into()),
                    ("skipped", "lock-unavailable: lock service down".into()),
                ],
            ),
        ];
        let got = format_history(&runs, false);
        let want = "\
ID  TRIGGER   STARTED                    DURATION  RESULT                                        NODE
2   schedule  2025-01-01T02:00:00+01:00  0.250s    ok                                            web-2
1   schedule  2025-01-01T02:00:00+01:00  0.250s    skipped: lock-unavailable: lock service down  web-1
";
        assert_eq!(got, want, "\n{got}");
    }

    #[test]
    fn history_table_and_results() {
        let e = "2025-01-01T02:00:01+01:00";
        let runs = vec![
            rec(9, "manual", "", 0, &[]),
            rec(8, "schedule", e, 0, &[("output_head", "hello\n".into())]),
            rec(7, "schedule", e, 3, &[]),
            rec(6, "catchup", e, -1, &[]),
            rec(5, "schedule", e, -1, &[("timed_out", Value::Bool(true))]),
            rec(
                4,
                "schedule",
                e,
                0,
                &[("error", "can't find command '/nope'".into())],
            ),
            rec(3, "schedule", "", 0, &[("error", "interrupted: …".into())]),
        ];
        let got = format_history(&runs, false);
        let want = "\
ID  TRIGGER   STARTED                    DURATION  RESULT
9   manual    2025-01-01T02:00:00+01:00  -         running
8   schedule  2025-01-01T02:00:00+01:00  0.250s    ok
7   schedule  2025-01-01T02:00:00+01:00  0.250s    exit 3
6   catchup   2025-01-01T02:00:00+01:00  0.250s    killed
5   schedule  2025-01-01T02:00:00+01:00  0.250s    timed out
4   schedule  2025-01-01T02:00:00+01:00  0.250s    spawn error: can't find command '/nope'
3   schedule  2025-01-01T02:00:00+01:00  -         interrupted
";
        assert_eq!(got, want, "\n{got}");
    }

    #[test]
    fn history_with_output() {
        let e = "2025-01-01T02:00:01+01:00";
        let runs = vec![
            rec(
                2,
                "schedule",
                e,
                0,
                &[
                    ("output_head", "first line\n".into()),
                    ("output_tail", "last line".into()),
                ],
            ),
            rec(1, "manual", e, 0, &[]),
        ];
        let got = format_history(&runs, true);
        let want = "\
ID  TRIGGER   STARTED                    DURATION  RESULT
2   schedule  2025-01-01T02:00:00+01:00  0.250s    ok
1   manual    2025-01-01T02:00:00+01:00  0.250s    ok

--- run 2 (2025-01-01T02:00:00+01:00, ok) ---
first line
--- last bytes ---
last line
[no newline at end]

--- run 1 (2025-01-01T02:00:00+01:00, ok) ---
(no output)
";
        assert_eq!(got, want, "\n{got}");
    }

    #[test]
    fn durations_and_relative_times() {
        assert_eq!(format_duration(-1.0), "-");
        assert_eq!(format_duration(0.0123), "0.012s");
        assert_eq!(format_duration(12.34), "12.3s");
        assert_eq!(format_duration(65.0), "1m05s");
        assert_eq!(format_duration(7260.0), "2h01m");
        assert_eq!(format_duration(90_000.0), "1d01h");
        let t0: Timestamp = "2025-01-01T00:00:00Z".parse().unwrap();
        let at = |s: &str| s.parse::<Timestamp>().unwrap();
        assert_eq!(relative(t0, t0), "due");
        assert_eq!(relative(t0, at("2025-01-01T00:00:42Z")), "in 42s");
        assert_eq!(relative(t0, at("2025-01-01T03:12:00Z")), "in 3h 12m");
        assert_eq!(relative(t0, at("2025-01-03T04:00:00Z")), "in 2d 4h");
        assert_eq!(relative(t0, at("2025-01-03T00:00:00Z")), "in 2d");
        assert_eq!(relative(t0, at("2025-01-01T01:00:59Z")), "in 1h");
    }

    #[test]
    fn errors_like_supervisorctl() {
        let url = "unix:///tmp/s.sock";
        assert_eq!(
            describe_error(url, None, &ClientError::NoSuchFile),
            ("unix:///tmp/s.sock no such file".into(), 7)
        );
        assert_eq!(
            describe_error("http://localhost:9001", None, &ClientError::ConnRefused),
            ("http://localhost:9001 refused connection".into(), 4)
        );
        let f = ClientError::Fault(faults::fault(faults::BAD_NAME, Some("nope")));
        assert_eq!(
            describe_error(url, Some("nope"), &f),
            ("nope: ERROR (no such job)".into(), 1)
        );
        let f = ClientError::Fault(faults::fault(faults::ALREADY_STARTED, Some("j")));
        assert_eq!(
            describe_error(url, Some("j"), &f),
            ("j: ERROR (already running (overlap=skip))".into(), 1)
        );
        let f = ClientError::Fault(faults::fault(faults::UNKNOWN_METHOD, None));
        assert_eq!(describe_error(url, None, &f).1, 1);
    }

    #[test]
    fn connection_options() {
        let dir = tempfile::tempdir().unwrap();
        let conf = dir.path().join("s.conf");
        std::fs::write(
            &conf,
            "[supervisord]\n[supervisorctl]\nserverurl=unix:///tmp/x.sock\nusername=bob\npassword=pw\n",
        )
        .unwrap();
        let r = resolve(&ConnArgs {
            configuration: Some(conf.clone()),
            ..ConnArgs::default()
        })
        .unwrap();
        assert_eq!(r.serverurl, "unix:///tmp/x.sock");
        assert_eq!(r.username.as_deref(), Some("bob"));
        assert_eq!(r.password.as_deref(), Some("pw"));
        let r = resolve(&ConnArgs {
            configuration: Some(conf),
            serverurl: Some("http://127.0.0.1:9".into()),
            username: Some("al".into()),
            password: None,
        })
        .unwrap();
        assert_eq!(r.serverurl, "http://127.0.0.1:9");
        assert_eq!(r.username.as_deref(), Some("al"));
        assert_eq!(r.password.as_deref(), Some("pw"));
        let missing = resolve(&ConnArgs {
            configuration: Some(dir.path().join("nope.conf")),
            ..ConnArgs::default()
        })
        .unwrap_err();
        assert!(
            missing.starts_with("could not find config file "),
            "{missing}"
        );
    }

    #[test]
    fn unreachable_daemon_exit_codes() {
        let dir = tempfile::tempdir().unwrap();
        let sock = dir.path().join("missing.sock");
        let cmd = CronClientCommand::List(ListArgs {
            conn: ConnArgs {
                configuration: None,
                serverurl: Some(format!("unix://{}", sock.display())),
                username: None,
                password: None,
            },
        });
        // no config file in the search path is fine with -s; a found one is read too,
        // so only assert when none of the defaults exist
        if steward_config::search_paths(None)
            .iter()
            .all(|p| !p.exists())
        {
            assert_eq!(run(&cmd), 7);
        }
    }
}
