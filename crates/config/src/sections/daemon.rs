//! The daemon-wide sections: `[supervisord]`, `[unix_http_server*]`, `[inet_http_server*]`,
//! `[supervisorctl]`, `[steward]` and `[rpcinterface:x]`.
//!
//! Data flow: each function reads one section through a [`Reader`], applies supervisord's
//! defaults and checks, and returns the model struct. `[supervisord] environment` is
//! expanded once (HEAD behaviour) and then its keys are added to the context's `ENV_X`
//! expansions for every later section.

use super::{absolute, Ctx, Reader};
use crate::ini::Section;
use crate::interpolate::{Expansions, Val};
use crate::model::*;
use crate::values::*;
use std::path::PathBuf;

pub const SUPERVISORD_KEYS: &[&str] = &[
    "logfile",
    "logfile_maxbytes",
    "logfile_backups",
    "loglevel",
    "pidfile",
    "umask",
    "nodaemon",
    "silent",
    "minfds",
    "minprocs",
    "nocleanup",
    "childlogdir",
    "user",
    "directory",
    "strip_ansi",
    "environment",
    "identifier",
    "kill_orphans",
];

/// Where `tempfile.gettempdir()` would point.
fn tempdir(ctx: &Ctx) -> PathBuf {
    for k in ["TMPDIR", "TEMP", "TMP"] {
        if let Some(v) = ctx.opts.env.get(k) {
            if !v.is_empty() {
                return PathBuf::from(v);
            }
        }
    }
    PathBuf::from("/tmp")
}

pub fn supervisord<'a>(ctx: &mut Ctx<'a>, sec: &'a Section) -> SupervisordSection {
    ctx.warn_unknown_keys(sec, SUPERVISORD_KEYS);
    let tmp = tempdir(ctx);
    let mut r = Reader::new(ctx, sec);
    let no = Expansions::new();
    let home = r.home();
    let check = r.check_system();
    let minfds = r.typed("minfds", 1024, &no, |v| parse_int_range(v, 0, i64::MAX)) as u64;
    let minprocs = r.typed("minprocs", 200, &no, |v| parse_int_range(v, 0, i64::MAX)) as u64;
    let kill_orphans_default = r.typed("kill_orphans", false, &no, parse_bool);
    let directory = r.get("directory", &no).and_then(|d| {
        match existing_directory(&d, home.as_deref(), check) {
            Ok(p) => Some(p),
            Err(m) => {
                r.error("directory", m);
                None
            }
        }
    });
    let user = r.get("user", &no);
    if let (Some(u), true) = (&user, check) {
        if let Err(m) = name_to_uid(u) {
            r.error("user", m);
        }
    }
    let umask = r.typed("umask", 0o022, &no, parse_octal);
    let logfile = match r.get("logfile", &no) {
        Some(v) if v.eq_ignore_ascii_case("syslog") => LogFile::Syslog,
        Some(v) => match existing_dirpath(&v, home.as_deref(), check) {
            Ok(p) => LogFile::Path(absolute(p)),
            Err(m) => {
                r.error("logfile", m);
                LogFile::Path(absolute(PathBuf::from("supervisord.log")))
            }
        },
        None => LogFile::Path(absolute(PathBuf::from("supervisord.log"))),
    };
    let logfile_maxbytes = r.typed("logfile_maxbytes", 50 * 1024 * 1024, &no, parse_byte_size);
    let logfile_backups = r.typed("logfile_backups", 10, &no, |v| {
        parse_int_range(v, 0, u32::MAX as i64).map(|n| n as u32)
    });
    let loglevel = r.typed("loglevel", LogLevel::Info, &no, parse_loglevel);
    let pidfile = match r.get("pidfile", &no) {
        Some(v) => match existing_dirpath(&v, home.as_deref(), check) {
            Ok(p) => absolute(p),
            Err(m) => {
                r.error("pidfile", m);
                absolute(PathBuf::from("supervisord.pid"))
            }
        },
        None => absolute(PathBuf::from("supervisord.pid")),
    };
    let identifier = r
        .get("identifier", &no)
        .unwrap_or_else(|| "supervisor".into());
    let nodaemon = r.typed("nodaemon", false, &no, parse_bool);
    let silent = r.typed("silent", false, &no, parse_bool);
    let childlogdir = match r.get("childlogdir", &no) {
        Some(v) => match existing_directory(&v, home.as_deref(), check) {
            Ok(p) => p,
            Err(m) => {
                r.error("childlogdir", m);
                tmp
            }
        },
        None => tmp,
    };
    let nocleanup = r.typed("nocleanup", false, &no, parse_bool);
    let strip_ansi = r.typed("strip_ansi", false, &no, parse_bool);
    // Expanded once (supervisord HEAD; 4.3.0 expands twice).
    let environment = r.typed("environment", Vec::new(), &no, parse_environment);
    for (k, v) in &environment {
        r.ctx
            .env_exp
            .insert(format!("ENV_{k}"), Val::Str(v.clone()));
    }
    r.ctx.kill_orphans_default = kill_orphans_default;
    SupervisordSection {
        logfile,
        logfile_maxbytes,
        logfile_backups,
        loglevel,
        pidfile,
        umask,
        nodaemon,
        silent,
        minfds,
        minprocs,
        nocleanup,
        childlogdir,
        user,
        directory,
        strip_ansi,
        environment,
        identifier,
    }
}

fn auth(r: &mut Reader) -> (Option<String>, Option<String>) {
    let no = Expansions::new();
    let username = r.get("username", &no);
    let password = r.get("password", &no);
    if username.is_some() != password.is_some() {
        let key = if username.is_some() {
            "username"
        } else {
            "password"
        };
        let name = r.sec.name.clone();
        r.error(
            key,
            format!(
                "Section [{name}] contains incomplete authentication: If a username or a password is specified, both the username and password must be specified"
            ),
        );
    }
    (username, password)
}

pub fn inet_server<'a>(ctx: &mut Ctx<'a>, sec: &'a Section) -> Option<InetHttpServer> {
    ctx.warn_unknown_keys(sec, &["port", "username", "password", "base_path"]);
    let mut r = Reader::new(ctx, sec);
    let (username, password) = auth(&mut r);
    let no = Expansions::new();
    let base_path = match r.get("base_path", &no).map(|v| normalize_base_path(&v)) {
        Some(Ok(p)) => p,
        Some(Err(m)) => {
            r.error("base_path", m);
            None
        }
        None => None,
    };
    let Some(port) = r.get("port", &no) else {
        if !r.failed {
            let m = format!("section [{}] has no port value", sec.name);
            r.error("port", m);
        }
        return None;
    };
    match inet_address(&port) {
        Ok((host, port)) => {
            if r.failed {
                return None;
            }
            Some(InetHttpServer {
                section: sec.name.clone(),
                host,
                port,
                username,
                password,
                base_path,
            })
        }
        Err(m) => {
            r.error("port", m);
            None
        }
    }
}

/// `base_path` as written → `/a/b` (`None` for `/` or empty): path segments of URL-safe
/// characters only, since the value ends up in a cookie's `Path` and in redirects.
fn normalize_base_path(raw: &str) -> Result<Option<String>, String> {
    let trimmed = raw.trim().trim_end_matches('/');
    if trimmed.is_empty() {
        return Ok(None);
    }
    let bad = || {
        format!(
            "base_path must be a URL path like /steward (segments of letters, digits,              '-', '_', '.', '~'), not `{}`",
            raw.trim()
        )
    };
    let Some(rest) = trimmed.strip_prefix('/') else {
        return Err(bad());
    };
    let segment_ok = |s: &str| {
        !s.is_empty()
            && s != "."
            && s != ".."
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.~".contains(&b))
    };
    if rest.split('/').all(segment_ok) {
        Ok(Some(trimmed.to_string()))
    } else {
        Err(bad())
    }
}

pub fn unix_server<'a>(ctx: &mut Ctx<'a>, sec: &'a Section) -> Option<UnixHttpServer> {
    ctx.warn_unknown_keys(sec, &["file", "chmod", "chown", "username", "password"]);
    let mut r = Reader::new(ctx, sec);
    let no = Expansions::new();
    let home = r.home();
    let file = match r.get("file", &no) {
        Some(f) => absolute(PathBuf::from(expand_user(f.trim(), home.as_deref()))),
        None => {
            if !r.failed {
                let m = format!("section [{}] has no file value", sec.name);
                r.error("file", m);
            }
            return None;
        }
    };
    let (username, password) = auth(&mut r);
    let chown = r.get("chown", &no);
    if let (Some(c), true) = (&chown, r.check_system()) {
        if check_user_group(c).is_err() {
            r.error("chown", format!("Invalid sockchown value {c}"));
        }
    }
    let chmod = match r.get("chmod", &no) {
        Some(c) => match parse_octal(&c) {
            Ok(m) => m,
            Err(_) => {
                r.error("chmod", format!("Invalid chmod value {c}"));
                0o700
            }
        },
        None => 0o700,
    };
    if r.failed {
        return None;
    }
    Some(UnixHttpServer {
        section: sec.name.clone(),
        file,
        chmod,
        chown,
        username,
        password,
    })
}

pub fn default_ctl() -> CtlSection {
    CtlSection {
        serverurl: "http://localhost:9001".into(),
        username: None,
        password: None,
        prompt: "supervisor".into(),
        history_file: None,
    }
}

pub fn supervisorctl<'a>(ctx: &mut Ctx<'a>, sec: &'a Section) -> CtlSection {
    ctx.warn_unknown_keys(
        sec,
        &[
            "serverurl",
            "username",
            "password",
            "prompt",
            "history_file",
        ],
    );
    let mut r = Reader::new(ctx, sec);
    let no = Expansions::new();
    let home = r.home();
    let mut c = default_ctl();
    if let Some(u) = r.get("serverurl", &no) {
        c.serverurl = match u.strip_prefix("unix://") {
            Some(p) => format!(
                "unix://{}",
                absolute(PathBuf::from(expand_user(p, home.as_deref()))).display()
            ),
            None => u,
        };
    }
    if let Some(p) = r.get("prompt", &no) {
        c.prompt = p;
    }
    c.username = r.get("username", &no);
    c.password = r.get("password", &no);
    c.history_file = r
        .get("history_file", &no)
        .filter(|h| !h.is_empty())
        .map(|h| absolute(PathBuf::from(expand_user(&h, home.as_deref()))));
    c
}

pub fn steward<'a>(ctx: &mut Ctx<'a>, sec: &'a Section) -> StewardSection {
    ctx.warn_unknown_keys(sec, &["state_dir", "token_file", "node"]);
    let mut r = Reader::new(ctx, sec);
    let home = r.home();
    let mut path = |key: &str| {
        r.get(key, &Expansions::new())
            .filter(|s| !s.is_empty())
            .map(|s| absolute(PathBuf::from(expand_user(&s, home.as_deref()))))
    };
    let state_dir = path("state_dir");
    let token_file = path("token_file");
    let node = r.typed("node", None, &Expansions::new(), |v| {
        super::nodes::check_node_name(v).map(Some)
    });
    StewardSection {
        state_dir,
        token_file,
        node,
    }
}

/// `[cluster]` (Steward): the lock service of cron jobs that run once across nodes.
pub fn cluster<'a>(ctx: &mut Ctx<'a>, sec: &'a Section) -> ClusterSection {
    ctx.warn_unknown_keys(
        sec,
        &[
            "lock",
            "namespace",
            "node",
            "claim_ttl",
            "lease",
            "lock_timeout",
            "lock_unavailable",
            "lock_ca",
            "on_lock_lost",
        ],
    );
    let mut r = Reader::new(ctx, sec);
    let no = Expansions::new();
    let d = ClusterSection::default();
    let lock = r.typed("lock", None, &no, |v| {
        let v = v.trim();
        if v.is_empty() || v.eq_ignore_ascii_case("none") {
            return Ok(None);
        }
        steward_cluster::check_url(v).map_err(|e| e.to_string())?;
        Ok(Some(v.to_string()))
    });
    let name = |what: &str, v: &str| -> Result<String, String> {
        let v = v.trim();
        if v.is_empty()
            || !v
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        {
            return Err(format!(
                "invalid {what} {} (letters, digits, '-', '_' and '.' only)",
                crate::interpolate::py_repr(v)
            ));
        }
        Ok(v.to_string())
    };
    let namespace = r.typed("namespace", d.namespace.clone(), &no, |v| {
        name("namespace", v)
    });
    let node = r.typed("node", None, &no, |v| name("node name", v).map(Some));
    let millis = |key: &'static str, min: u64, max: u64| {
        move |v: &str| -> Result<u64, String> {
            let secs: f64 = v.trim().parse().map_err(|_| {
                format!(
                    "invalid '{key}' value {} (seconds)",
                    crate::interpolate::py_repr(v)
                )
            })?;
            let ms = (secs * 1000.0).round();
            if !(ms >= min as f64 && ms <= max as f64) {
                return Err(format!(
                    "'{key}' must be between {} and {} seconds, not {v}",
                    min as f64 / 1000.0,
                    max as f64 / 1000.0
                ));
            }
            Ok(ms as u64)
        }
    };
    let claim_ttl_ms = r.typed(
        "claim_ttl",
        d.claim_ttl_ms,
        &no,
        millis("claim_ttl", 60_000, 7 * 86_400_000),
    );
    let lease_ms = r.typed("lease", d.lease_ms, &no, millis("lease", 300, 3_600_000));
    let deadline_ms = r.typed(
        "lock_timeout",
        d.deadline_ms,
        &no,
        millis("lock_timeout", 10, 10_000),
    );
    let lock_unavailable = r.typed(
        "lock_unavailable",
        d.lock_unavailable,
        &no,
        super::programs::parse_lock_unavailable,
    );
    let home = r.home();
    let lock_ca = r.typed("lock_ca", None, &no, |v| {
        let path = absolute(PathBuf::from(expand_user(v.trim(), home.as_deref())));
        match std::fs::metadata(&path) {
            Ok(m) if m.is_file() => Ok(Some(path)),
            Ok(_) => Err(format!("{} is not a file", path.display())),
            Err(e) => Err(format!("cannot read {}: {e}", path.display())),
        }
    });
    let on_lock_lost = r.typed("on_lock_lost", d.on_lock_lost, &no, |v| {
        super::programs::parse_choice(
            "on_lock_lost",
            v,
            &[
                ("continue", OnLockLost::Continue),
                ("stop", OnLockLost::Stop),
            ],
        )
    });
    ClusterSection {
        on_lock_lost,
        lock_ca,
        lock,
        namespace,
        node,
        claim_ttl_ms,
        lease_ms,
        deadline_ms,
        lock_unavailable,
    }
}

pub const MAIN_FACTORY: &str = "supervisor.rpcinterface:make_main_rpcinterface";

pub fn rpcinterface<'a>(ctx: &mut Ctx<'a>, sec: &'a Section) -> Option<RpcInterfaceSection> {
    let name = sec
        .name
        .split_once(':')
        .map(|x| x.1)
        .unwrap_or("")
        .to_string();
    let mut r = Reader::new(ctx, sec);
    let Some(factory) = r.get("supervisor.rpcinterface_factory", &Expansions::new()) else {
        if !r.failed {
            let m = format!(
                "section [{}] does not specify a supervisor.rpcinterface_factory",
                sec.name
            );
            r.error("supervisor.rpcinterface_factory", m);
        }
        return None;
    };
    // The factory's keyword arguments: supervisord interpolates them with the ENV_ names
    // only (no `here`), and a name it cannot expand refuses the config.
    for entry in &sec.entries {
        if entry.key != "supervisor.rpcinterface_factory" && entry.value.contains('%') {
            let name = format!("{}.{}", sec.name, entry.key);
            if let Err(m) = crate::interpolate::expand(&entry.value, &r.ctx.env_exp, &name) {
                r.error(&entry.key, m);
            }
        }
    }
    if factory != MAIN_FACTORY {
        r.warn(
            "supervisor.rpcinterface_factory",
            "Python rpcinterface factories are not supported; this namespace is not provided"
                .into(),
        );
    }
    Some(RpcInterfaceSection { name, factory })
}

#[cfg(test)]
mod tests {
    use super::normalize_base_path;

    #[test]
    fn base_paths_are_normalised_or_refused() {
        assert_eq!(
            normalize_base_path("/steward/").unwrap().as_deref(),
            Some("/steward")
        );
        assert_eq!(
            normalize_base_path(" /ops/steward ").unwrap().as_deref(),
            Some("/ops/steward")
        );
        assert_eq!(normalize_base_path("/").unwrap(), None);
        for bad in ["steward", "/a//b", "/a/../b", "/a b", "/a;b", "/a?x", "/é"] {
            assert!(normalize_base_path(bad).is_err(), "{bad}");
        }
    }
}
