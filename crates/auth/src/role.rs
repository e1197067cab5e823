//! Who is asking, and what they may do: [`Role`] (a total order, each role includes the ones
//! below it; defined with the config, re-exported here), [`Principal`] (an authenticated name with its role, optional group scope and
//! how it proved itself) and [`Listener`] (what an unauthenticated client gets on each kind
//! of listener).
//!
//! Data flow: the authenticators of this crate ([`crate::Users`], [`crate::TokenStore`],
//! [`crate::SessionStore`]) turn credentials into a `Principal`; the API layer then asks
//! `principal.role.allows(Role::Operator)` and `principal.may_touch_group("web")` before it
//! acts, and hands `principal.name` to the [`crate::AuditLog`].

use std::net::IpAddr;

pub use steward_config::access::{parse_group_globs, Role, UnknownRole};

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
