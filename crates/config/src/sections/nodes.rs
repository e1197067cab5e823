//! `[node:NAME]` (Steward): another supervisor this one can see and control.
//!
//! One section names one remote daemon — a Steward or a stock supervisord — by its
//! `serverurl` (`http://`, `https://` or `unix://`), with the credentials to use there:
//! `username`/`password` (HTTP Basic, what `/RPC2` accepts on both) or a `token_file`
//! holding a Steward API bearer token. `timeout` bounds each call to it, `ca` replaces
//! the system's roots for an `https://` node. Values are only checked here; querying the
//! nodes is crates/nodes' job. The local daemon is a node as well, named by `[steward]
//! node` (or `[cluster] node`, or the host name): see [`crate::Config::local_node_name`].

use super::{absolute, Ctx, Reader};
use crate::ini::Section;
use crate::interpolate::{py_repr, Expansions};
use crate::model::NodeConfig;
use std::path::PathBuf;
use std::time::Duration;

pub const NODE_KEYS: &[&str] = &[
    "serverurl",
    "username",
    "password",
    "token_file",
    "timeout",
    "ca",
];

/// Node names are shown and typed (`steward ctl --node web1`) and appear in API paths.
pub fn check_node_name(v: &str) -> Result<String, String> {
    let v = v.trim();
    if v.is_empty()
        || v.len() > 64
        || !v
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
    {
        return Err(format!(
            "invalid node name {} (1 to 64 letters, digits, '-', '_' and '.')",
            py_repr(v)
        ));
    }
    if v == "all" {
        return Err("'all' is reserved (ctl --node all means every node)".into());
    }
    Ok(v.to_string())
}

/// A node's address: `http://host[:port]`, `https://host[:port]` or `unix:///path`.
pub fn check_node_url(v: &str) -> Result<String, String> {
    let v = v.trim();
    let rest = ["http://", "https://"]
        .iter()
        .find_map(|p| v.strip_prefix(p));
    match (rest, v.strip_prefix("unix://")) {
        (Some(rest), _) => {
            let netloc = rest.split(['/', '?', '#']).next().unwrap_or("");
            if netloc.is_empty() || netloc.contains('@') {
                return Err(format!(
                    "invalid serverurl {} (expected http[s]://host[:port], credentials go in username/password)",
                    py_repr(v)
                ));
            }
            if let Some((_, port)) = netloc.rsplit_once(':').filter(|_| !netloc.ends_with(']')) {
                if port.parse::<u16>().map_or(true, |p| p == 0) {
                    return Err(format!("invalid port {} in serverurl", py_repr(port)));
                }
            }
            Ok(v.to_string())
        }
        (None, Some(path)) if path.starts_with('/') => Ok(v.to_string()),
        (None, Some(_)) => Err(format!(
            "invalid serverurl {} (unix:// needs an absolute path)",
            py_repr(v)
        )),
        (None, None) => Err(format!(
            "invalid serverurl {} (expected http://, https:// or unix://)",
            py_repr(v)
        )),
    }
}

/// Per-call timeout in seconds (0.1 … 60).
pub fn parse_timeout(v: &str) -> Result<Duration, String> {
    let secs: f64 = v
        .trim()
        .parse()
        .map_err(|_| format!("invalid 'timeout' value {} (seconds)", py_repr(v)))?;
    if !(0.1..=60.0).contains(&secs) {
        return Err(format!(
            "invalid 'timeout' value {} (between 0.1 and 60 seconds)",
            py_repr(v)
        ));
    }
    Ok(Duration::from_secs_f64(secs))
}

pub fn node<'a>(ctx: &mut Ctx<'a>, sec: &'a Section) -> Option<NodeConfig> {
    ctx.warn_unknown_keys(sec, NODE_KEYS);
    let raw_name = sec.name.split_once(':').map(|x| x.1).unwrap_or("");
    let mut r = Reader::new(ctx, sec);
    let name = match check_node_name(raw_name) {
        Ok(n) => n,
        Err(m) => {
            r.error("", m);
            return None;
        }
    };
    let no = Expansions::new();
    let serverurl = match r.get("serverurl", &no) {
        Some(v) => match check_node_url(&v) {
            Ok(u) => Some(u),
            Err(m) => {
                r.error("serverurl", m);
                None
            }
        },
        None => {
            r.error("", format!("[{}] needs a serverurl", sec.name));
            None
        }
    };
    let username = r.get("username", &no).filter(|s| !s.is_empty());
    let password = r.get("password", &no).filter(|s| !s.is_empty());
    let home = r.home();
    let token_file = r.typed("token_file", None, &no, |v| {
        let path = absolute(PathBuf::from(crate::values::expand_user(
            v.trim(),
            home.as_deref(),
        )));
        match std::fs::read_to_string(&path) {
            Ok(t) if !t.trim().is_empty() => Ok(Some(path)),
            Ok(_) => Err(format!(
                "{} is empty (expected a bearer token)",
                path.display()
            )),
            Err(e) => Err(format!("cannot read {}: {e}", path.display())),
        }
    });
    let ca = r.typed("ca", None, &no, |v| {
        let path = absolute(PathBuf::from(crate::values::expand_user(
            v.trim(),
            home.as_deref(),
        )));
        match std::fs::metadata(&path) {
            Ok(m) if m.is_file() => Ok(Some(path)),
            Ok(_) => Err(format!("{} is not a file", path.display())),
            Err(e) => Err(format!("cannot read {}: {e}", path.display())),
        }
    });
    let timeout = r.typed("timeout", Duration::from_secs(1), &no, parse_timeout);
    if password.is_some() && username.is_none() {
        r.error("password", "a password needs a username".into());
    }
    if username.is_some() && password.is_none() {
        r.error("username", "a username needs a password".into());
    }
    if token_file.is_some() && username.is_some() {
        r.error(
            "token_file",
            "give either username/password or token_file, not both".into(),
        );
    }
    if token_file.is_some()
        && serverurl
            .as_deref()
            .is_some_and(|u| u.starts_with("unix://"))
    {
        // The token speaks to the JSON API; a unix socket node is reached over XML-RPC.
        r.error(
            "token_file",
            "a token_file node needs an http:// or https:// serverurl".into(),
        );
    }
    if ca.is_some()
        && !serverurl
            .as_deref()
            .is_some_and(|u| u.starts_with("https://"))
    {
        r.error("ca", "'ca' only applies to an https:// serverurl".into());
    }
    if r.failed {
        return None;
    }
    let defined_at = Ctx::location(sec, "", None);
    Some(NodeConfig {
        name,
        serverurl: serverurl?,
        username,
        password,
        token_file,
        ca,
        timeout,
        defined_at,
    })
}
