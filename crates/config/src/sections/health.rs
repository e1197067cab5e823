//! Steward's readiness keys of program-type sections: `depends_on`,
//! `on_dependency_failure`, `healthcheck*`, `ready_log_line`, `sd_notify`, `watchdog_sec`.
//!
//! supervisord ignores unknown keys, so a config that uses them stays portable.
//!
//! Data flow: [`read`] runs once per section inside
//! [`processes`](super::programs::processes) and gives every process of the section the
//! same values. Once all groups exist, [`check_graph`] resolves each `depends_on` name to
//! a program, checks that the condition can ever be met (`healthy` needs a health check
//! or `sd_notify`, `log_ready` needs `ready_log_line`) and rejects cycles. The error names
//! the whole loop (`a → b → a`) at the `depends_on` line that closes it.

use super::{Ctx, Reader};
use crate::ini::Section;
use crate::interpolate::Expansions;
use crate::model::*;
use crate::values::{parse_bool, parse_int_range, split_command};
use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

/// The keys [`read`] understands.
pub const HEALTH_KEYS: &[&str] = &[
    "depends_on",
    "on_dependency_failure",
    "healthcheck",
    "healthcheck_interval",
    "healthcheck_timeout",
    "healthcheck_retries",
    "healthcheck_start_period",
    "healthcheck_action",
    "ready_log_line",
    "sd_notify",
    "watchdog_sec",
];

/// What one section's readiness keys say.
pub struct Readiness {
    pub depends_on: Vec<Dependency>,
    pub on_dependency_failure: DependencyFailure,
    pub health: Option<Box<HealthConfig>>,
}

/// Reads the readiness keys of the section behind `r`; errors are recorded on `r`.
pub fn read(r: &mut Reader) -> Readiness {
    let no = Expansions::new();
    let depends_on = r.typed("depends_on", Vec::new(), &no, parse_depends_on);
    let on_dependency_failure = r.typed(
        "on_dependency_failure",
        DependencyFailure::Ignore,
        &no,
        |v| match v.trim().to_lowercase().as_str() {
            "ignore" | "none" => Ok(DependencyFailure::Ignore),
            "stop" => Ok(DependencyFailure::Stop),
            "restart" => Ok(DependencyFailure::Restart),
            _ => Err(format!(
                "invalid 'on_dependency_failure' value '{v}' (expected ignore, stop or restart)"
            )),
        },
    );
    let check = r
        .get("healthcheck", &no)
        .filter(|v| !v.trim().is_empty())
        .and_then(|v| match parse_check(v.trim()) {
            Ok(c) => Some(c),
            Err(m) => {
                r.error("healthcheck", m);
                None
            }
        });
    let interval = r.typed(
        "healthcheck_interval",
        Duration::from_secs(10),
        &no,
        parse_seconds,
    );
    let timeout = r.typed(
        "healthcheck_timeout",
        Duration::from_secs(1),
        &no,
        parse_seconds,
    );
    let retries = r.typed("healthcheck_retries", 3, &no, |v| {
        parse_int_range(v, 1, 1_000_000).map(|n| n as u32)
    });
    let start_period = r.typed(
        "healthcheck_start_period",
        Duration::ZERO,
        &no,
        parse_seconds_or_zero,
    );
    let action = r.typed(
        "healthcheck_action",
        HealthAction::Restart,
        &no,
        |v| match v.trim().to_lowercase().as_str() {
            "restart" => Ok(HealthAction::Restart),
            "none" => Ok(HealthAction::None),
            _ => Err(format!(
                "invalid 'healthcheck_action' value '{v}' (expected restart or none)"
            )),
        },
    );
    let ready_log_line = r
        .get("ready_log_line", &no)
        .filter(|v| !v.is_empty())
        .and_then(|v| match regex::Regex::new(&v) {
            Ok(_) => Some(v),
            Err(e) => {
                r.error("ready_log_line", format!("invalid regular expression: {e}"));
                None
            }
        });
    let sd_notify = r.typed("sd_notify", false, &no, parse_bool);
    let watchdog = r.typed("watchdog_sec", None, &no, |v| parse_seconds(v).map(Some));
    if watchdog.is_some() && !sd_notify {
        r.error(
            "watchdog_sec",
            "watchdog_sec needs sd_notify = true (the child reports WATCHDOG=1 to $NOTIFY_SOCKET)"
                .into(),
        );
    }
    let any = check.is_some() || ready_log_line.is_some() || sd_notify;
    let health = any.then(|| {
        Box::new(HealthConfig {
            check,
            interval,
            timeout,
            retries,
            start_period,
            action,
            ready_log_line,
            sd_notify,
            watchdog,
        })
    });
    Readiness {
        depends_on,
        on_dependency_failure,
        health,
    }
}

/// `db:healthy, migrate:completed_successfully, cache`. The process-compose spellings
/// (`process_healthy`…) are accepted too.
pub fn parse_depends_on(v: &str) -> Result<Vec<Dependency>, String> {
    let mut out: Vec<Dependency> = Vec::new();
    for item in v.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let (program, condition) = match item.rsplit_once(':') {
            Some((p, c)) => (p.trim(), parse_condition(c.trim())?),
            None => (item, DependencyCondition::Started),
        };
        if program.is_empty() || program.contains(char::is_whitespace) {
            return Err(format!("invalid program name '{program}' in depends_on"));
        }
        if out.iter().any(|d| d.program == program) {
            return Err(format!("'{program}' is named twice in depends_on"));
        }
        out.push(Dependency {
            program: program.to_string(),
            condition,
        });
    }
    Ok(out)
}

fn parse_condition(c: &str) -> Result<DependencyCondition, String> {
    let lower = c.to_lowercase();
    let bare = lower.strip_prefix("process_").unwrap_or(&lower);
    Ok(match bare {
        "started" => DependencyCondition::Started,
        "running" => DependencyCondition::Running,
        "healthy" => DependencyCondition::Healthy,
        "completed" => DependencyCondition::Completed,
        "completed_successfully" => DependencyCondition::CompletedSuccessfully,
        "log_ready" => DependencyCondition::LogReady,
        _ => {
            return Err(format!(
                "unknown dependency condition '{c}' (expected started, running, healthy, completed, completed_successfully or log_ready)"
            ))
        }
    })
}

/// `http://host[:port][/path]`, `tcp://host:port`, or a command line.
pub fn parse_check(v: &str) -> Result<HealthCheck, String> {
    if let Some(rest) = v.strip_prefix("http://") {
        let (authority, path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, "/"),
        };
        let (host, port) = split_host_port(authority, Some(80))?;
        return Ok(HealthCheck::Http {
            url: v.to_string(),
            host,
            port,
            path: path.to_string(),
        });
    }
    if v.starts_with("https://") {
        return Err("https health checks are not supported; check the plain http port or use a command such as 'curl -fsS https://…'".into());
    }
    if let Some(rest) = v.strip_prefix("tcp://") {
        let (host, port) = split_host_port(rest.trim_end_matches('/'), None)?;
        return Ok(HealthCheck::Tcp { host, port });
    }
    match split_command(v) {
        Ok(argv) if !argv.is_empty() => Ok(HealthCheck::Command(v.to_string())),
        Ok(_) => Err("empty health check command".into()),
        Err(m) => Err(m),
    }
}

/// `host:port`, `[v6]:port`, or `host` alone when a default port is given.
fn split_host_port(authority: &str, default_port: Option<u16>) -> Result<(String, u16), String> {
    let bad = || format!("invalid address '{authority}' (expected host:port)");
    let (host, port) = if let Some(rest) = authority.strip_prefix('[') {
        let (h, after) = rest.split_once(']').ok_or_else(bad)?;
        (h, after.strip_prefix(':'))
    } else {
        match authority.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (authority, None),
        }
    };
    if host.is_empty() || host.contains(|c: char| c.is_whitespace() || c == '@') {
        return Err(bad());
    }
    let port = match (port, default_port) {
        (Some(p), _) => p.parse::<u16>().ok().filter(|&p| p > 0).ok_or_else(bad)?,
        (None, Some(d)) => d,
        (None, None) => return Err(bad()),
    };
    Ok((host.to_string(), port))
}

/// Seconds, fractions allowed (`10`, `0.5`); more than zero.
fn parse_seconds(v: &str) -> Result<Duration, String> {
    match parse_seconds_or_zero(v)? {
        d if d.is_zero() => Err(format!("'{v}' must be more than 0 seconds")),
        d => Ok(d),
    }
}

fn parse_seconds_or_zero(v: &str) -> Result<Duration, String> {
    let n: f64 = v
        .trim()
        .parse()
        .map_err(|_| format!("'{v}' is not a number of seconds"))?;
    if !n.is_finite() || !(0.0..=86_400.0 * 365.0).contains(&n) {
        return Err(format!(
            "'{v}' is not a number of seconds between 0 and a year"
        ));
    }
    Ok(Duration::from_secs_f64(n))
}

/// Resolves and checks every `depends_on` once all groups are built. `sections` maps a
/// program's name to its section (for error locations); cron jobs are listed to give a
/// precise error when one is named.
pub fn check_graph<'a>(
    ctx: &mut Ctx<'a>,
    groups: &[GroupConfig],
    sections: &HashMap<String, &'a Section>,
) {
    // Program name → (has a health source, has ready_log_line, depends_on).
    let mut programs: BTreeMap<&str, (bool, bool, &[Dependency])> = BTreeMap::new();
    let mut crons: Vec<&str> = Vec::new();
    for g in groups {
        for p in &g.processes {
            if matches!(g.kind, GroupKind::Cron(_)) {
                crons.push(&p.program_name);
                continue;
            }
            let h = p.health.as_deref();
            programs.entry(&p.program_name).or_insert((
                h.is_some_and(|h| h.check.is_some() || h.sd_notify),
                h.is_some_and(|h| h.ready_log_line.is_some()),
                &p.depends_on,
            ));
        }
    }
    let mut bad = false;
    for (&name, &(_, _, deps)) in &programs {
        let Some(&sec) = sections.get(name) else {
            continue;
        };
        let entry = ctx.ini.get(sec, "depends_on");
        for d in deps {
            let reason = match programs.get(d.program.as_str()) {
                None if crons.contains(&d.program.as_str()) => Some(format!(
                    "'{}' is a [cron:{}] job; only programs can be depended on",
                    d.program, d.program
                )),
                None => Some(format!(
                    "depends_on names unknown program '{}'",
                    d.program
                )),
                Some(&(healthy_ok, log_ok, _)) => match d.condition {
                    DependencyCondition::Healthy if !healthy_ok => Some(format!(
                        "'{}:healthy' can never be met: [program:{}] has no healthcheck and no sd_notify",
                        d.program, d.program
                    )),
                    DependencyCondition::LogReady if !log_ok => Some(format!(
                        "'{}:log_ready' can never be met: [program:{}] has no ready_log_line",
                        d.program, d.program
                    )),
                    _ => None,
                },
            };
            if let Some(reason) = reason {
                ctx.error(sec, "depends_on", entry, reason);
                bad = true;
            }
        }
    }
    if bad {
        return;
    }
    // Depth-first search for cycles, in name order so the message is stable.
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        OnPath,
        Done,
    }
    let names: Vec<&str> = programs.keys().copied().collect();
    let mut marks: HashMap<&str, Mark> = names.iter().map(|&n| (n, Mark::New)).collect();
    let mut cycles: Vec<Vec<&str>> = Vec::new();
    fn visit<'n>(
        name: &'n str,
        programs: &BTreeMap<&'n str, (bool, bool, &'n [Dependency])>,
        marks: &mut HashMap<&'n str, Mark>,
        path: &mut Vec<&'n str>,
        cycles: &mut Vec<Vec<&'n str>>,
    ) {
        marks.insert(name, Mark::OnPath);
        path.push(name);
        for d in programs[name].2 {
            let (&next, _) = programs
                .get_key_value(d.program.as_str())
                .expect("names resolved above");
            match marks[next] {
                Mark::New => visit(next, programs, marks, path, cycles),
                Mark::OnPath => {
                    let from = path.iter().position(|&n| n == next).expect("on the path");
                    let mut cycle = path[from..].to_vec();
                    cycle.push(next);
                    cycles.push(cycle);
                }
                Mark::Done => {}
            }
        }
        path.pop();
        marks.insert(name, Mark::Done);
    }
    for &n in &names {
        if marks[n] == Mark::New {
            visit(n, &programs, &mut marks, &mut Vec::new(), &mut cycles);
        }
    }
    for cycle in cycles {
        // Reported at the program whose depends_on closes the loop.
        let closer = cycle[cycle.len() - 2];
        let Some(&sec) = sections.get(closer) else {
            continue;
        };
        let entry = ctx.ini.get(sec, "depends_on");
        ctx.error(
            sec,
            "depends_on",
            entry,
            format!("dependency cycle: {}", cycle.join(" → ")),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn depends_on_items_take_a_condition_or_default_to_started() {
        let deps =
            parse_depends_on("db:healthy, migrate:process_completed_successfully,cache").unwrap();
        let got: Vec<(&str, DependencyCondition)> = deps
            .iter()
            .map(|d| (d.program.as_str(), d.condition))
            .collect();
        assert_eq!(
            got,
            [
                ("db", DependencyCondition::Healthy),
                ("migrate", DependencyCondition::CompletedSuccessfully),
                ("cache", DependencyCondition::Started),
            ]
        );
        assert!(parse_depends_on("db:ready")
            .unwrap_err()
            .contains("unknown dependency condition"));
        assert!(parse_depends_on("db, db:running")
            .unwrap_err()
            .contains("twice"));
    }

    #[test]
    fn health_check_kinds_are_told_apart_by_scheme() {
        assert_eq!(
            parse_check("http://127.0.0.1:8080/health?x=1").unwrap(),
            HealthCheck::Http {
                url: "http://127.0.0.1:8080/health?x=1".into(),
                host: "127.0.0.1".into(),
                port: 8080,
                path: "/health?x=1".into(),
            }
        );
        assert!(matches!(
            parse_check("http://localhost").unwrap(),
            HealthCheck::Http { port: 80, ref path, .. } if path == "/"
        ));
        assert_eq!(
            parse_check("tcp://[::1]:5432").unwrap(),
            HealthCheck::Tcp {
                host: "::1".into(),
                port: 5432
            }
        );
        assert!(parse_check("tcp://db").is_err());
        assert!(parse_check("https://x/")
            .unwrap_err()
            .contains("not supported"));
        assert_eq!(
            parse_check("/usr/bin/check --fast").unwrap(),
            HealthCheck::Command("/usr/bin/check --fast".into())
        );
    }

    #[test]
    fn seconds_accept_fractions_and_refuse_zero_where_it_means_never() {
        assert_eq!(parse_seconds("0.5").unwrap(), Duration::from_millis(500));
        assert!(parse_seconds("0").is_err());
        assert_eq!(parse_seconds_or_zero("0").unwrap(), Duration::ZERO);
        assert!(parse_seconds("-1").is_err());
        assert!(parse_seconds("ten").is_err());
    }
}
