//! Who is asking, and what they may do: [`Role`] (a total order, each role includes the ones
//! below it), [`Principal`] (an authenticated name with its role, optional group scope and
//! how it proved itself) and [`Listener`] (what an unauthenticated client gets on each kind
//! of listener).
//!
//! Data flow: the authenticators of this crate ([`crate::Users`], [`crate::TokenStore`],
//! [`crate::SessionStore`]) turn credentials into a `Principal`; the API layer then asks
//! `principal.role.allows(Role::Operator)` and `principal.may_touch_group("web")` before it
//! acts, and hands `principal.name` to the [`crate::AuditLog`].

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

/// What a principal may do. Ordered: `Viewer < Logs < Operator < Admin`, and a role allows
/// everything the roles below it allow.
///
/// | role | may |
/// |---|---|
/// | `viewer` | read process state and cron jobs (secrets redacted) |
/// | `logs` | viewer + read process logs (output often holds secrets) |
/// | `operator` | logs + start/stop/restart/signal, run cron jobs and commands |
/// | `admin` | operator + reload, shutdown, tokens |
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub enum Role {
    #[default]
    Viewer,
    Logs,
    Operator,
    Admin,
}

impl Role {
    /// Every role, lowest first.
    pub const ALL: [Role; 4] = [Role::Viewer, Role::Logs, Role::Operator, Role::Admin];

    /// Whether a principal with this role may do something that needs `needed`.
    pub fn allows(&self, needed: Role) -> bool {
        *self >= needed
    }

    /// The name used in config files, token files and on the command line.
    pub fn as_str(&self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Logs => "logs",
            Role::Operator => "operator",
            Role::Admin => "admin",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A role name that is none of `viewer`, `logs`, `operator`, `admin`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown role '{0}' (expected one of: viewer, logs, operator, admin)")]
pub struct UnknownRole(pub String);

impl FromStr for Role {
    type Err = UnknownRole;

    /// Case-insensitive, surrounding blanks ignored.
    fn from_str(s: &str) -> Result<Role, UnknownRole> {
        let t = s.trim();
        Role::ALL
            .into_iter()
            .find(|r| r.as_str().eq_ignore_ascii_case(t))
            .ok_or_else(|| UnknownRole(s.to_string()))
    }
}

impl serde::Serialize for Role {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> serde::Deserialize<'de> for Role {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Role, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// How a principal proved who it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Via {
    /// HTTP Basic credentials (the server's own user or a `[user:NAME]` section).
    Basic,
    /// A bearer token from the token file.
    Token,
    /// A browser session cookie.
    Session,
    /// No credentials: the listener itself grants access (see [`Listener::anonymous`]).
    Local,
}

/// An authenticated caller. Serializes as `{"name", "role", "groups", "via"}` (for a
/// "who am I" answer).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Principal {
    /// The user or token name (recorded as the actor in the audit log).
    pub name: String,
    pub role: Role,
    /// Group-name globs (`glob::Pattern` syntax) this principal is limited to; `None`: every
    /// group.
    pub groups: Option<Vec<String>>,
    pub via: Via,
}

impl Principal {
    /// Whether this principal may see or act on processes of group `group`. A glob that
    /// does not compile matches nothing (the config and token parsers reject such globs, so
    /// this only fails closed on a hand-edited file).
    pub fn may_touch_group(&self, group: &str) -> bool {
        match &self.groups {
            None => true,
            Some(globs) => globs.iter().any(|g| {
                glob::Pattern::new(g)
                    .map(|p| p.matches(group))
                    .unwrap_or(false)
            }),
        }
    }

    /// The group scope compiled once, for filtering many groups (e.g. a process list).
    pub fn group_scope(&self) -> GroupScope {
        GroupScope(self.groups.as_ref().map(|globs| {
            globs
                .iter()
                .filter_map(|g| glob::Pattern::new(g).ok())
                .collect()
        }))
    }
}

/// A principal's compiled group globs (see [`Principal::group_scope`]).
#[derive(Debug, Clone)]
pub struct GroupScope(Option<Vec<glob::Pattern>>);

impl GroupScope {
    /// Same answer as [`Principal::may_touch_group`].
    pub fn allows(&self, group: &str) -> bool {
        match &self.0 {
            None => true,
            Some(pats) => pats.iter().any(|p| p.matches(group)),
        }
    }
}

/// Checks a comma-separated list of group globs: `web*, api` → `["web*", "api"]`. Empty
/// items are dropped; an empty list is an error (it would grant nothing, which is surely
/// not what was meant).
pub fn parse_group_globs(list: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    for item in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        glob::Pattern::new(item).map_err(|e| format!("bad group glob '{item}': {e}"))?;
        out.push(item.to_string());
    }
    if out.is_empty() {
        return Err("empty group list (omit it to allow every group)".into());
    }
    Ok(out)
}

/// The kind of listener a request arrived on, which decides what a caller without
/// credentials gets when the listener has none configured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Listener {
    /// A `[unix_http_server]` socket: its file permissions are the access control.
    UnixSocket,
    /// A TCP listener bound to a loopback address.
    TcpLoopback,
    /// A TCP listener reachable from other hosts (any non-loopback bind, including `*`).
    TcpPublic,
}

impl Listener {
    /// Classifies a TCP listener by the address it is bound to.
    pub fn for_tcp_bind(addr: IpAddr) -> Listener {
        let loopback = match addr {
            IpAddr::V4(a) => a.is_loopback(),
            IpAddr::V6(a) => a.is_loopback() || a.to_ipv4_mapped().is_some_and(|m| m.is_loopback()),
        };
        if loopback {
            Listener::TcpLoopback
        } else {
            Listener::TcpPublic
        }
    }

    /// Who an unauthenticated caller is on a listener that has no credentials configured:
    /// `admin` on a UNIX socket (as supervisord: the file mode guards it) and on loopback
    /// TCP (where supervisord prints its CRIT warning); `viewer` on a public TCP listener,
    /// so the API is read-only there and no log output or secret leaves the host.
    pub fn anonymous(self) -> Principal {
        let role = match self {
            Listener::UnixSocket | Listener::TcpLoopback => Role::Admin,
            Listener::TcpPublic => Role::Viewer,
        };
        Principal {
            name: "anonymous".into(),
            role,
            groups: None,
            via: Via::Local,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn principal(groups: Option<&[&str]>) -> Principal {
        Principal {
            name: "p".into(),
            role: Role::Operator,
            groups: groups.map(|g| g.iter().map(|s| s.to_string()).collect()),
            via: Via::Token,
        }
    }

    #[test]
    fn roles_are_ordered_and_include_the_lower_ones() {
        assert!(Role::Admin.allows(Role::Operator));
        assert!(Role::Operator.allows(Role::Logs));
        assert!(Role::Logs.allows(Role::Viewer));
        assert!(Role::Viewer.allows(Role::Viewer));
        assert!(!Role::Viewer.allows(Role::Logs));
        assert!(!Role::Logs.allows(Role::Operator));
        assert!(!Role::Operator.allows(Role::Admin));
        assert_eq!(Role::default(), Role::Viewer);
    }

    #[test]
    fn role_names_round_trip() {
        for r in Role::ALL {
            assert_eq!(r.as_str().parse::<Role>().unwrap(), r);
            assert_eq!(r.to_string().to_uppercase().parse::<Role>().unwrap(), r);
            let json = serde_json::to_string(&r).unwrap();
            assert_eq!(serde_json::from_str::<Role>(&json).unwrap(), r);
        }
        let e = "root".parse::<Role>().unwrap_err();
        assert_eq!(
            e.to_string(),
            "unknown role 'root' (expected one of: viewer, logs, operator, admin)"
        );
        assert!(serde_json::from_str::<Role>("\"boss\"").is_err());
    }

    #[test]
    fn group_scope_uses_globs() {
        let p = principal(Some(&["web*", "api"]));
        assert!(p.may_touch_group("web"));
        assert!(p.may_touch_group("webworkers"));
        assert!(p.may_touch_group("api"));
        assert!(!p.may_touch_group("api2"));
        assert!(!p.may_touch_group("db"));
        let s = p.group_scope();
        for g in ["web", "webworkers", "api", "api2", "db"] {
            assert_eq!(s.allows(g), p.may_touch_group(g), "{g}");
        }
        assert!(principal(None).may_touch_group("anything"));
        assert!(principal(None).group_scope().allows("anything"));
        // A broken glob fails closed.
        assert!(!principal(Some(&["[web"])).may_touch_group("[web"));
        assert!(!principal(Some(&[])).may_touch_group("web"));
    }

    #[test]
    fn principal_serializes_for_whoami() {
        assert_eq!(
            serde_json::to_value(principal(Some(&["web*"]))).unwrap(),
            serde_json::json!({"name": "p", "role": "operator", "groups": ["web*"], "via": "token"})
        );
    }

    #[test]
    fn group_glob_lists() {
        assert_eq!(
            parse_group_globs(" web*, api ,").unwrap(),
            vec!["web*".to_string(), "api".to_string()]
        );
        assert!(parse_group_globs("[web").unwrap_err().contains("[web"));
        assert!(parse_group_globs(" , ").is_err());
    }

    #[test]
    fn anonymous_access_depends_on_the_listener() {
        assert_eq!(Listener::UnixSocket.anonymous().role, Role::Admin);
        let lo = Listener::for_tcp_bind("127.0.0.1".parse().unwrap());
        assert_eq!(lo, Listener::TcpLoopback);
        assert_eq!(lo.anonymous().role, Role::Admin);
        assert_eq!(
            Listener::for_tcp_bind("::1".parse().unwrap()),
            Listener::TcpLoopback
        );
        assert_eq!(
            Listener::for_tcp_bind("::ffff:127.0.0.1".parse().unwrap()),
            Listener::TcpLoopback
        );
        for public in ["0.0.0.0", "::", "10.0.0.5"] {
            let l = Listener::for_tcp_bind(public.parse().unwrap());
            assert_eq!(l, Listener::TcpPublic, "{public}");
            assert_eq!(l.anonymous().role, Role::Viewer);
            assert_eq!(l.anonymous().via, Via::Local);
        }
    }
}
