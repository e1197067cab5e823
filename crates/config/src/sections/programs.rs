//! Process-group sections: `[program:x]`, `[group:x]`, `[eventlistener:x]`,
//! `[fcgi-program:x]` and Steward's `[cron:x]`.
//!
//! Data flow: [`groups`] walks the merged sections in supervisord's order (heterogeneous
//! groups first, claiming their programs; then programs, listeners, fcgi programs, crons),
//! calls [`processes`] for each program-type section (which expands `numprocs` into one
//! [`ProcessConfig`] per process, interpolating the per-process options with
//! `process_num`/`numprocs`/the program's own `ENV_X`), and returns the groups sorted by
//! (priority, name) with processes sorted by (priority, name).

use super::{Ctx, Reader};
use crate::ini::Section;
use crate::interpolate::{Expansions, Val};
use crate::model::*;
use crate::values::*;
use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::Arc;

pub const PROGRAM_KEYS: &[&str] = &[
    "command",
    "process_name",
    "numprocs",
    "numprocs_start",
    "priority",
    "autostart",
    "startsecs",
    "startretries",
    "autorestart",
    "exitcodes",
    "stopsignal",
    "stopwaitsecs",
    "stopasgroup",
    "killasgroup",
    "user",
    "redirect_stderr",
    "stdout_logfile",
    "stdout_logfile_maxbytes",
    "stdout_logfile_backups",
    "stdout_capture_maxbytes",
    "stdout_events_enabled",
    "stdout_syslog",
    "stderr_logfile",
    "stderr_logfile_maxbytes",
    "stderr_logfile_backups",
    "stderr_capture_maxbytes",
    "stderr_events_enabled",
    "stderr_syslog",
    "environment",
    "directory",
    "umask",
    "serverurl",
    "kill_orphans",
];
pub const FCGI_KEYS: &[&str] = &["socket", "socket_backlog", "socket_owner", "socket_mode"];
pub const LISTENER_KEYS: &[&str] = &["events", "buffer_size", "result_handler"];
pub const CRON_KEYS: &[&str] = &[
    "schedule",
    "timezone",
    "overlap",
    "timeout",
    "catchup",
    "jitter",
    "history",
    "enabled",
    "lock",
    "lock_unavailable",
    "ping_url",
];

/// Event type names a listener may subscribe to (supervisor's `EventTypes`).
pub const EVENT_TYPES: &[&str] = &[
    "EVENT",
    "PROCESS_STATE",
    "PROCESS_STATE_STOPPED",
    "PROCESS_STATE_EXITED",
    "PROCESS_STATE_STARTING",
    "PROCESS_STATE_STOPPING",
    "PROCESS_STATE_BACKOFF",
    "PROCESS_STATE_FATAL",
    "PROCESS_STATE_RUNNING",
    "PROCESS_STATE_UNKNOWN",
    "PROCESS_COMMUNICATION",
    "PROCESS_COMMUNICATION_STDOUT",
    "PROCESS_COMMUNICATION_STDERR",
    "PROCESS_LOG",
    "PROCESS_LOG_STDOUT",
    "PROCESS_LOG_STDERR",
    "REMOTE_COMMUNICATION",
    "SUPERVISOR_STATE_CHANGE",
    "SUPERVISOR_STATE_CHANGE_RUNNING",
    "SUPERVISOR_STATE_CHANGE_STOPPING",
    "TICK",
    "TICK_5",
    "TICK_60",
    "TICK_3600",
    "PROCESS_GROUP",
    "PROCESS_GROUP_ADDED",
    "PROCESS_GROUP_REMOVED",
    "CRON",
    "CRON_STARTED",
    "CRON_FINISHED",
    "PROCESS_HEALTH",
    "PROCESS_HEALTH_STARTING",
    "PROCESS_HEALTH_HEALTHY",
    "PROCESS_HEALTH_UNHEALTHY",
    "PROCESS_HEALTH_UNKNOWN",
];

pub const DEFAULT_RESULT_HANDLER: &str = "supervisor.dispatchers:default_handler";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Program,
    Listener,
    Fcgi,
    Cron,
}

fn split_type(name: &str) -> Option<(&str, &str)> {
    name.split_once(':')
}

/// Builds every process group.
pub fn groups(ctx: &mut Ctx) -> Vec<GroupConfig> {
    let ini = ctx.ini;
    let mut out: Vec<(GroupConfig, &Section)> = Vec::new();
    let mut claimed: HashSet<&str> = HashSet::new();

    // Heterogeneous groups first.
    for sec in &ini.sections {
        let Some(("group", gname)) = split_type(&sec.name) else {
            continue;
        };
        ctx.warn_unknown_keys(sec, &["programs", "priority"]);
        let gname = match process_or_group_name(gname) {
            Ok(n) => n,
            Err(m) => {
                ctx.error(sec, "", None, m);
                continue;
            }
        };
        let mut r = Reader::new(ctx, sec);
        let no = Expansions::new();
        let priority = r.typed("priority", 999, &no, parse_i32);
        let programs = r.get("programs", &no);
        let failed = r.failed;
        let Some(programs) = programs else {
            if !failed {
                ctx.error(
                    sec,
                    "programs",
                    None,
                    format!("section [{}] does not specify programs", sec.name),
                );
            }
            continue;
        };
        let mut procs = Vec::new();
        let mut ok = !failed;
        for p in programs.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let ps = format!("program:{p}");
            let fs = format!("fcgi-program:{p}");
            let entry = ini.get(sec, "programs");
            let (target, kind) = match (ini.section(&ps), ini.section(&fs)) {
                (Some(_), Some(_)) => {
                    ctx.error(
                        sec,
                        "programs",
                        entry,
                        format!(
                            "[{}] name {p} is ambiguous (exists as program and fcgi-program)",
                            sec.name
                        ),
                    );
                    ok = false;
                    continue;
                }
                (Some(s), None) => (s, Kind::Program),
                (None, Some(s)) => (s, Kind::Fcgi),
                (None, None) => {
                    ctx.error(
                        sec,
                        "programs",
                        entry,
                        format!("[{}] names unknown program or fcgi-program {p}", sec.name),
                    );
                    ok = false;
                    continue;
                }
            };
            claimed.insert(target.name.as_str());
            if kind == Kind::Fcgi {
                // Validate the socket options too (the group keeps no socket).
                let _ = fcgi_kind(ctx, target);
            }
            match processes(ctx, target, &gname, kind) {
                Some(ps) => procs.extend(ps),
                None => ok = false,
            }
        }
        if ok {
            procs.sort_by(|a, b| (a.priority, &a.name).cmp(&(b.priority, &b.name)));
            out.push((
                GroupConfig {
                    name: gname,
                    priority,
                    kind: GroupKind::Heterogeneous,
                    processes: procs,
                },
                sec,
            ));
        }
    }

    for kind in [Kind::Program, Kind::Listener, Kind::Fcgi, Kind::Cron] {
        let prefix = match kind {
            Kind::Program => "program",
            Kind::Listener => "eventlistener",
            Kind::Fcgi => "fcgi-program",
            Kind::Cron => "cron",
        };
        for sec in &ini.sections {
            let Some((t, name)) = split_type(&sec.name) else {
                continue;
            };
            if t != prefix {
                continue;
            }
            let mut known: Vec<&str> = PROGRAM_KEYS.to_vec();
            match kind {
                Kind::Fcgi => known.extend_from_slice(FCGI_KEYS),
                Kind::Listener => known.extend_from_slice(LISTENER_KEYS),
                Kind::Cron => known.extend_from_slice(CRON_KEYS),
                Kind::Program => {}
            }
            if kind != Kind::Cron {
                known.extend_from_slice(super::health::HEALTH_KEYS);
            }
            ctx.warn_unknown_keys(sec, &known);
            if claimed.contains(sec.name.as_str()) {
                continue;
            }
            let gname = match process_or_group_name(name) {
                Ok(n) if !n.is_empty() => n,
                Ok(_) => {
                    ctx.error(sec, "", None, "Invalid name: '' (empty)".into());
                    continue;
                }
                Err(m) => {
                    ctx.error(sec, "", None, m);
                    continue;
                }
            };
            let default_priority = if kind == Kind::Listener { -1 } else { 999 };
            let mut r = Reader::new(ctx, sec);
            let priority = r.typed("priority", default_priority, &Expansions::new(), parse_i32);
            let failed = r.failed;
            let gkind = match kind {
                Kind::Program => Some(GroupKind::Program),
                Kind::Listener => listener_kind(ctx, sec),
                Kind::Fcgi => fcgi_kind(ctx, sec),
                Kind::Cron => cron_kind(ctx, sec),
            };
            let procs = processes(ctx, sec, &gname, kind);
            if let (Some(gkind), Some(procs), false) = (gkind, procs, failed) {
                out.push((
                    GroupConfig {
                        name: gname,
                        priority,
                        kind: gkind,
                        processes: procs,
                    },
                    sec,
                ));
            }
        }
    }

    // Group names must be unique across section types.
    let mut seen: HashMap<String, String> = HashMap::new();
    let mut result = Vec::with_capacity(out.len());
    for (g, sec) in out {
        if let Some(first) = seen.get(&g.name) {
            ctx.error(
                sec,
                "",
                None,
                format!("group name '{}' is already used by [{}]", g.name, first),
            );
            continue;
        }
        seen.insert(g.name.clone(), sec.name.clone());
        result.push(g);
    }
    result.sort_by(|a, b| (a.priority, &a.name).cmp(&(b.priority, &b.name)));
    let program_sections: HashMap<String, &Section> = ini
        .sections
        .iter()
        .filter_map(|sec| match split_type(&sec.name) {
            Some(("program" | "fcgi-program" | "eventlistener", name)) => {
                Some((name.trim().to_string(), sec))
            }
            _ => None,
        })
        .collect();
    super::health::check_graph(ctx, &result, &program_sections);
    result
}

fn parse_i32(v: &str) -> Result<i32, String> {
    parse_int_range(v, i32::MIN as i64, i32::MAX as i64).map(|n| n as i32)
}

fn parse_u32(v: &str) -> Result<u32, String> {
    parse_int_range(v, 0, u32::MAX as i64).map(|n| n as u32)
}

fn parse_u64(v: &str) -> Result<u64, String> {
    parse_int_range(v, 0, i64::MAX).map(|n| n as u64)
}

fn listener_kind<'a>(ctx: &mut Ctx<'a>, sec: &'a Section) -> Option<GroupKind> {
    let mut r = Reader::new(ctx, sec);
    let no = Expansions::new();
    let buffer_size = r.typed("buffer_size", 10, &no, |v| {
        let n = parse_int(v)?;
        if n < 1 {
            return Err(format!(
                "[{}] section sets invalid buffer_size ({n})",
                sec.name
            ));
        }
        usize::try_from(n).map_err(|_| format!("buffer_size {n} is too large"))
    });
    let result_handler = r
        .get("result_handler", &no)
        .unwrap_or_else(|| DEFAULT_RESULT_HANDLER.into());
    if result_handler != DEFAULT_RESULT_HANDLER {
        r.warn(
            "result_handler",
            format!(
                "Python result handlers are not supported; {DEFAULT_RESULT_HANDLER} is used instead"
            ),
        );
    }
    let mut events: Vec<String> = Vec::new();
    let raw = r.get("events", &no).unwrap_or_default();
    for e in raw.split(',').map(|s| s.trim().to_uppercase()) {
        if e.is_empty() || events.contains(&e) {
            continue;
        }
        if !EVENT_TYPES.contains(&e.as_str()) {
            r.error(
                "events",
                format!("Unknown event type {e} in [{}] events", sec.name),
            );
            continue;
        }
        events.push(e);
    }
    if events.is_empty() && !r.failed {
        r.error(
            "events",
            format!("[{}] section requires an \"events\" line", sec.name),
        );
    }
    let redirect = r.typed("redirect_stderr", false, &no, parse_bool);
    if redirect {
        r.error(
            "redirect_stderr",
            format!(
                "[{}] section sets redirect_stderr=true but this is not allowed because it will interfere with the eventlistener protocol",
                sec.name
            ),
        );
    }
    if r.failed {
        return None;
    }
    Some(GroupKind::EventListener {
        events,
        buffer_size,
        result_handler,
    })
}

fn fcgi_kind<'a>(ctx: &mut Ctx<'a>, sec: &'a Section) -> Option<GroupKind> {
    let program_name = sec
        .name
        .split_once(':')
        .map(|x| x.1)
        .unwrap_or("")
        .trim()
        .to_string();
    let mut r = Reader::new(ctx, sec);
    let no = Expansions::new();
    let check = r.check_system();
    let socket_backlog = r
        .get("socket_backlog", &no)
        .and_then(|v| match parse_int(&v) {
            Ok(n) if (1..=65535).contains(&n) => Some(n as u32),
            Ok(n) => {
                r.error(
                    "socket_backlog",
                    format!("Invalid socket_backlog value {n}"),
                );
                None
            }
            Err(m) => {
                r.error("socket_backlog", m);
                None
            }
        });
    let socket_owner = r.get("socket_owner", &no);
    if let (Some(o), true) = (&socket_owner, check) {
        if check_user_group(o).is_err() {
            r.error("socket_owner", format!("Invalid socket_owner value {o}"));
        }
    }
    let socket_mode = r
        .get("socket_mode", &no)
        .and_then(|m| match parse_octal(&m) {
            Ok(v) => Some(v),
            Err(_) => {
                r.error("socket_mode", format!("Invalid socket_mode value {m}"));
                None
            }
        });
    let mut extra = Expansions::new();
    extra.insert("program_name".into(), Val::Str(program_name));
    let socket = r.get("socket", &extra).unwrap_or_default();
    if socket.is_empty() {
        if !r.failed {
            r.error(
                "socket",
                format!("[{}] section requires a \"socket\" line", sec.name),
            );
        }
        return None;
    }
    let bad = |m: String| format!("{m} in [{}] socket", sec.name);
    if let Some(path) = socket.strip_prefix("unix://") {
        if !path.starts_with('/') {
            r.error(
                "socket",
                bad(format!("Unix socket path {path} is not an absolute path")),
            );
        }
    } else {
        if socket_owner.is_some() || socket_mode.is_some() {
            r.error(
                "socket",
                bad("socket_owner and socket_mode params should only be used with a Unix domain socket".into()),
            );
        }
        let ok = socket
            .strip_prefix("tcp://")
            .and_then(|hp| hp.rsplit_once(':'))
            .is_some_and(|(h, p)| {
                !h.is_empty()
                    && !h.contains(char::is_whitespace)
                    && !h.contains(':')
                    && !p.is_empty()
                    && p.chars().all(|c| c.is_ascii_digit())
            });
        if !ok {
            r.error("socket", bad(format!("Bad socket format {socket}")));
        } else if let Some(e) = socket
            .rsplit_once(':')
            .and_then(|(_, p)| port_range_error(p))
        {
            // supervisord's port_number: 1..=65535, said the way it says it.
            r.error("socket", bad(e));
        }
    }
    if r.failed {
        return None;
    }
    Some(GroupKind::Fcgi {
        socket,
        socket_backlog,
        socket_owner,
        socket_mode: socket_mode.unwrap_or(0o700),
    })
}

/// Validates a cron expression; the cron crate is guarded so a panic there can't take
/// the config loader down.
pub fn check_schedule(expr: &str) -> Result<(), String> {
    let e = expr.to_string();
    match std::panic::catch_unwind(move || steward_cron::Schedule::parse(&e).map(|_| ())) {
        Ok(Ok(())) => Ok(()),
        Ok(Err(err)) => Err(format!("invalid schedule: {err}")),
        Err(_) => Err("invalid schedule: the schedule parser failed".into()),
    }
}

/// One of a few words (any case): `invalid 'KEY' value 'x' (expected a, b or c)`.
pub fn parse_choice<T: Copy>(key: &str, v: &str, choices: &[(&str, T)]) -> Result<T, String> {
    let word = v.trim().to_lowercase();
    if let Some((_, t)) = choices.iter().find(|(name, _)| *name == word) {
        return Ok(*t);
    }
    let names: Vec<&str> = choices.iter().map(|(n, _)| *n).collect();
    let expected = match names.split_last() {
        Some((last, [])) => last.to_string(),
        Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
        None => String::new(),
    };
    Err(format!(
        "invalid '{key}' value {} (expected {expected})",
        crate::interpolate::py_repr(v)
    ))
}

/// `lock_unavailable = skip|run`.
pub fn parse_lock_unavailable(v: &str) -> Result<LockUnavailable, String> {
    parse_choice(
        "lock_unavailable",
        v,
        &[
            ("skip", LockUnavailable::Skip),
            ("run", LockUnavailable::Run),
        ],
    )
}

fn cron_kind<'a>(ctx: &mut Ctx<'a>, sec: &'a Section) -> Option<GroupKind> {
    let mut r = Reader::new(ctx, sec);
    let no = Expansions::new();
    let schedule = match r.get("schedule", &no) {
        Some(s) if !s.trim().is_empty() => {
            let s = s.trim().to_string();
            if let Err(m) = check_schedule(&s) {
                r.error("schedule", m);
            }
            s
        }
        Some(_) | None => {
            if !r.failed {
                r.error(
                    "schedule",
                    format!("[{}] section requires a \"schedule\" line", sec.name),
                );
            }
            String::new()
        }
    };
    let timezone = r.get("timezone", &no).filter(|t| !t.is_empty());
    if let Some(tz) = &timezone {
        if jiff::tz::TimeZone::get(tz).is_err() {
            r.error(
                "timezone",
                format!("unknown time zone {}", crate::interpolate::py_repr(tz)),
            );
        }
    }
    let overlap = r.typed("overlap", Overlap::Skip, &no, |v| {
        parse_choice(
            "overlap",
            v,
            &[
                ("skip", Overlap::Skip),
                ("queue", Overlap::Queue),
                ("allow", Overlap::Allow),
            ],
        )
    });
    let timeout = r.typed("timeout", None, &no, |v| {
        let n = parse_int(v)?;
        if n <= 0 || n > 31_536_000 {
            return Err(format!(
                "timeout must be between 1 and 31536000 seconds, not {n}"
            ));
        }
        Ok(Some(n as u64))
    });
    let catchup = r.typed("catchup", 0, &no, parse_u32);
    let jitter = r.typed("jitter", 0, &no, parse_u64);
    let history = r.typed("history", 100, &no, parse_u32);
    let enabled = r.typed("enabled", true, &no, parse_bool);
    let lock = r.typed("lock", CronLock::Inherit, &no, |v| {
        let v = v.trim();
        if v.eq_ignore_ascii_case("none") || v.is_empty() {
            return Ok(CronLock::Off);
        }
        steward_cluster::check_url(v).map_err(|e| e.to_string())?;
        Ok(CronLock::Url(v.to_string()))
    });
    let lock_unavailable = r.typed("lock_unavailable", None, &no, |v| {
        parse_lock_unavailable(v).map(Some)
    });
    let ping_url = r.get("ping_url", &no).filter(|u| !u.is_empty());
    if let Some(u) = &ping_url {
        let rest = u
            .strip_prefix("http://")
            .or_else(|| u.strip_prefix("https://"));
        if !rest.is_some_and(|h| !h.is_empty() && !h.starts_with('/')) {
            r.error(
                "ping_url",
                "ping_url must be an http:// or https:// URL".into(),
            );
        }
    }
    if r.failed {
        return None;
    }
    Some(GroupKind::Cron(CronConfig {
        schedule,
        timezone,
        overlap,
        timeout,
        catchup,
        jitter,
        history,
        enabled,
        lock,
        lock_unavailable,
        ping_url,
    }))
}

fn logfile_name(r: &mut Reader, key: &str, v: &str) -> Option<LogFile> {
    match v.to_lowercase().as_str() {
        "none" | "off" => Some(LogFile::None),
        "auto" => Some(LogFile::Auto),
        "syslog" => Some(LogFile::Syslog),
        _ => {
            let home = r.home();
            match existing_dirpath(v, home.as_deref(), r.check_system()) {
                Ok(p) => Some(LogFile::Path(p)),
                Err(m) => {
                    r.error(key, m);
                    None
                }
            }
        }
    }
}

/// Expands one program-type section into its processes. `None` when it has errors.
pub fn processes<'a>(
    ctx: &mut Ctx<'a>,
    sec: &'a Section,
    group_name: &str,
    kind: Kind,
) -> Option<Vec<Arc<ProcessConfig>>> {
    let program_name = sec.name.split_once(':').map(|x| x.1).unwrap_or("");
    let program_name = match process_or_group_name(program_name) {
        Ok(n) => n,
        Err(m) => {
            ctx.error(sec, "", None, m);
            return None;
        }
    };
    let host = ctx.opts.host_node_name.clone();
    let mut r = Reader::new(ctx, sec);
    r.base
        .insert("program_name".into(), Val::Str(program_name.clone()));
    r.base.insert("host_node_name".into(), Val::Str(host));
    r.base
        .insert("group_name".into(), Val::Str(group_name.to_string()));
    let no = Expansions::new();
    let cron = kind == Kind::Cron;
    let default_priority = if kind == Kind::Listener { -1 } else { 999 };

    let priority = r.typed("priority", default_priority, &no, parse_i32);
    let autostart = r.typed("autostart", !cron, &no, parse_bool);
    let autorestart = r.typed(
        "autorestart",
        if cron {
            AutoRestart::Never
        } else {
            AutoRestart::Unexpected
        },
        &no,
        parse_autorestart,
    );
    let startsecs = r.typed("startsecs", if cron { 0 } else { 1 }, &no, parse_u64);
    let startretries = r.typed("startretries", if cron { 0 } else { 3 }, &no, parse_u32);
    let stopsignal = r.typed("stopsignal", libc::SIGTERM, &no, parse_signal);
    let stopwaitsecs = r.typed("stopwaitsecs", 10, &no, parse_u64);
    let stopasgroup = r.typed("stopasgroup", false, &no, parse_bool);
    let killasgroup = r.typed("killasgroup", stopasgroup, &no, parse_bool);
    let kill_orphans_default = r.ctx.kill_orphans_default;
    let kill_orphans = r.typed("kill_orphans", kill_orphans_default, &no, parse_bool);
    let exitcodes = r.typed("exitcodes", vec![0], &no, parse_exitcodes);
    let redirect_stderr = r.typed("redirect_stderr", false, &no, parse_bool);
    let numprocs = r.typed("numprocs", 1, &no, |v| parse_int_range(v, 0, 100_000));
    let numprocs_start = r.typed("numprocs_start", 0, &no, |v| {
        parse_int_range(v, 0, i64::from(i32::MAX))
    });
    if cron && numprocs != 1 {
        r.error(
            "numprocs",
            "numprocs must be 1 in a [cron:x] section".into(),
        );
    }
    let env_entry = r.entry("environment");
    let environment_raw = env_entry.map(|e| e.value.clone()).unwrap_or_default();
    let stdout_cmax = r.typed("stdout_capture_maxbytes", 0, &no, parse_byte_size);
    let stdout_events = r.typed("stdout_events_enabled", false, &no, parse_bool);
    let stderr_cmax = r.typed("stderr_capture_maxbytes", 0, &no, parse_byte_size);
    let stderr_events = r.typed("stderr_events_enabled", false, &no, parse_bool);
    let serverurl = r
        .get("serverurl", &no)
        .filter(|s| !s.trim().eq_ignore_ascii_case("auto"));
    let user = r.get("user", &no);
    let uid = match &user {
        None => None,
        Some(u) if r.check_system() => match name_to_uid(u) {
            Ok(uid) => Some(uid),
            Err(m) => {
                r.error("user", m);
                None
            }
        },
        Some(u) => u.parse::<u32>().ok().or_else(|| {
            nix::unistd::User::from_name(u)
                .ok()
                .flatten()
                .map(|x| x.uid.as_raw())
        }),
    };
    let umask = r.get("umask", &no).and_then(|u| match parse_octal(&u) {
        Ok(v) => Some(v),
        Err(m) => {
            r.error("umask", m);
            None
        }
    });
    let pn_entry = r.entry("process_name");
    let process_name_tpl = pn_entry
        .map(|e| e.value.clone())
        .unwrap_or_else(|| "%(program_name)s".into());
    if let Err(m) = process_or_group_name(&process_name_tpl) {
        r.error("process_name", m);
    }
    if numprocs > 1 && !process_name_tpl.contains("%(process_num)") {
        // Point at what the user wrote: process_name if set, else numprocs.
        r.error(
            if pn_entry.is_some() {
                "process_name"
            } else {
                "numprocs"
            },
            "%(process_num) must be present within process_name when numprocs > 1".into(),
        );
    }
    if stopasgroup && !killasgroup {
        r.error(
            "killasgroup",
            "Cannot set stopasgroup=true and killasgroup=false".into(),
        );
    }
    if r.entry("command").is_none() {
        r.error(
            "command",
            format!("program section {} does not specify a command", sec.name),
        );
    }
    let readiness = if cron {
        super::health::Readiness {
            depends_on: Vec::new(),
            on_dependency_failure: DependencyFailure::Ignore,
            health: None,
        }
    } else {
        super::health::read(&mut r)
    };
    if r.failed {
        return None;
    }

    let defined_at = super::Ctx::location(sec, "", None);
    let mut out = Vec::with_capacity(numprocs.max(0) as usize);
    for process_num in numprocs_start..numprocs_start + numprocs {
        let mut exp = Expansions::new();
        exp.insert("process_num".into(), Val::Int(process_num));
        exp.insert("numprocs".into(), Val::Int(numprocs));
        let environment = match r.expand_value("environment", &environment_raw, env_entry, &exp) {
            Some(s) => match parse_environment(&s) {
                Ok(e) => e,
                Err(m) => {
                    r.error("environment", m);
                    return None;
                }
            },
            None => return None,
        };
        for (k, v) in &environment {
            exp.insert(format!("ENV_{k}"), Val::Str(v.clone()));
        }
        // No `~` expansion here: supervisord doesn't expand it in a program's directory.
        let directory = r.get("directory", &exp).map(PathBuf::from);
        let mut channels = Vec::new();
        for ch in ["stdout", "stderr"] {
            let lf_key = format!("{ch}_logfile");
            let file = match r.get(&lf_key, &exp) {
                Some(v) => logfile_name(&mut r, &lf_key, &v)?,
                None => LogFile::Auto,
            };
            let backups = r.typed(&format!("{ch}_logfile_backups"), 10, &exp, parse_u32);
            let maxbytes = r.typed(
                &format!("{ch}_logfile_maxbytes"),
                50 * 1024 * 1024,
                &exp,
                parse_byte_size,
            );
            let mut syslog = r.typed(&format!("{ch}_syslog"), false, &exp, parse_bool);
            if file == LogFile::Syslog {
                r.warn(
                    &lf_key,
                    format!(
                        "For [{}], {lf_key}=syslog but this is deprecated and will be removed.  Use {ch}_syslog=true to enable syslog instead.",
                        sec.name
                    ),
                );
                syslog = true;
            }
            if file == LogFile::Auto && maxbytes == 0 {
                r.warn(
                    &format!("{ch}_logfile_maxbytes"),
                    format!(
                        "For [{}], AUTO logging used for {lf_key} without rollover, set maxbytes > 0 to avoid filling up filesystem unintentionally",
                        sec.name
                    ),
                );
            }
            let (cmax, events) = if ch == "stdout" {
                (stdout_cmax, stdout_events)
            } else {
                (stderr_cmax, stderr_events)
            };
            channels.push(LogChannelConfig {
                file,
                maxbytes,
                backups,
                capture_maxbytes: cmax,
                events_enabled: events,
                syslog,
            });
        }
        let mut stderr = channels.pop().expect("two channels");
        let stdout = channels.pop().expect("two channels");
        if redirect_stderr {
            if matches!(stderr.file, LogFile::Path(_)) {
                r.warn(
                    "stderr_logfile",
                    format!(
                        "For [{}], redirect_stderr=true but stderr_logfile has also been set to a filename, the filename has been ignored",
                        sec.name
                    ),
                );
            }
            stderr.file = LogFile::None;
        }
        let command = r.get("command", &exp)?;
        let name = r.expand_value("process_name", &process_name_tpl, pn_entry, &exp)?;
        let name = match process_or_group_name(&name) {
            Ok(n) if !n.is_empty() => n,
            Ok(_) => {
                r.error("process_name", "Invalid name: '' (empty)".into());
                return None;
            }
            Err(m) => {
                r.error("process_name", m);
                return None;
            }
        };
        out.push(Arc::new(ProcessConfig {
            name,
            program_name: program_name.clone(),
            command,
            priority,
            autostart,
            startsecs,
            startretries,
            autorestart,
            exitcodes: exitcodes.clone(),
            stopsignal,
            stopwaitsecs,
            stopasgroup,
            killasgroup,
            kill_orphans,
            user: user.clone(),
            uid,
            redirect_stderr,
            stdout,
            stderr,
            environment,
            directory,
            umask,
            serverurl: serverurl.clone(),
            defined_at: defined_at.clone(),
            depends_on: readiness.depends_on.clone(),
            on_dependency_failure: readiness.on_dependency_failure,
            health: readiness.health.clone(),
        }));
    }
    if r.failed {
        return None;
    }
    // Duplicate process names inside one group (e.g. a constant process_name).
    let mut names = HashSet::new();
    for p in &out {
        if !names.insert(p.name.clone()) {
            r.error(
                "process_name",
                format!(
                    "process name '{}' is used more than once in [{}]",
                    p.name, sec.name
                ),
            );
            return None;
        }
    }
    out.sort_by(|a, b| (a.priority, &a.name).cmp(&(b.priority, &b.name)));
    Some(out)
}

/// supervisord's `port_number` check of an all-digits port: `None` when in 1..=65535.
fn port_range_error(digits: &str) -> Option<String> {
    let trimmed = digits.trim_start_matches('0');
    match trimmed.parse::<u32>() {
        _ if trimmed.is_empty() => Some("0 is below lower bound (1)".into()),
        Ok(n) if n <= 0xffff => None,
        _ => Some(format!("{trimmed} is above upper bound (65535)")),
    }
}
