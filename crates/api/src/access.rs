//! Who is asking, and what they may do.
//!
//! The server tells the API, per request, which listener it came through
//! ([`Connection`]): the unix socket, a loopback TCP listener or a network-reachable one,
//! and whether that listener has supervisord credentials (`username`/`password`).
//! [`authenticate`] turns that and the request's headers into a [`Principal`]:
//!
//! | listener | credentials | no `Authorization` | valid Basic |
//! |---|---|---|---|
//! | unix socket | none | admin (the socket's file mode is the access control) | — |
//! | TCP on loopback | none | admin (supervisord's CRIT warning is logged) | — |
//! | TCP reachable from the network | none | read-only viewer: every unsafe call is 403 | — |
//! | any | configured | 401 | admin, for safe methods only |
//!
//! Basic credentials are accepted for reads only: a browser re-sends them on its own, so
//! a state-changing call needs a bearer token or a session with its CSRF token (see
//! docs/security.md); such a call with Basic credentials is a 403 that says so.

use std::sync::Arc;

use axum::http::{header, HeaderMap, Method, StatusCode};
use serde::Serialize;

use crate::error::ApiError;

/// What a principal may do; each role includes the ones below it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Read process state and cron jobs.
    Viewer,
    /// Viewer, plus read logs (output often holds secrets).
    Logs,
    /// Start, stop, restart, signal; run cron jobs and commands.
    Operator,
    /// Reload, shutdown, tokens, the audit log.
    Admin,
}

impl Role {
    pub fn name(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Logs => "logs",
            Role::Operator => "operator",
            Role::Admin => "admin",
        }
    }
}

/// The kind of listener a request came through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Listener {
    Unix,
    Tcp { loopback: bool },
}

/// Checks an `Authorization` header value against a listener's supervisord credentials.
pub type BasicCheck = Arc<dyn Fn(&[u8]) -> bool + Send + Sync>;

/// Per-request facts the server hands the API (as a request extension).
#[derive(Clone)]
pub struct Connection {
    pub listener: Listener,
    /// The peer's address, for the audit log (`None` on the unix socket).
    pub peer: Option<String>,
    /// The listener's supervisord credentials, when it has some.
    pub basic: Option<BasicCheck>,
}

/// How a principal proved who it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Via {
    /// A listener without credentials that only local users reach.
    Local,
    /// The listener's supervisord username and password.
    Basic,
    /// Nobody in particular, on a network listener without credentials.
    Anonymous,
}

/// The one asking.
#[derive(Debug, Clone, Serialize)]
pub struct Principal {
    pub name: String,
    pub role: Role,
    pub via: Via,
}

fn is_safe(method: &Method) -> bool {
    matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// Who sent this request (or 401).
pub fn authenticate(
    conn: &Connection,
    headers: &HeaderMap,
    method: &Method,
) -> Result<Principal, ApiError> {
    let authorization = headers.get(header::AUTHORIZATION).map(|v| v.as_bytes());
    if let Some(check) = &conn.basic {
        let Some(value) = authorization.filter(|v| check(v)) else {
            return Err(ApiError::new(
                StatusCode::UNAUTHORIZED,
                "UNAUTHORIZED",
                "credentials required: the listener's username and password (reads), or a \
                 bearer token from `steward token create`",
            ));
        };
        let _ = value;
        if !is_safe(method) {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "BASIC_AUTH_READ_ONLY",
                "Basic credentials are accepted for reads only (a browser re-sends them by \
                 itself); use a bearer token from `steward token create` for this call",
            ));
        }
        return Ok(Principal {
            name: "admin".into(),
            role: Role::Admin,
            via: Via::Basic,
        });
    }
    Ok(match conn.listener {
        Listener::Unix | Listener::Tcp { loopback: true } => Principal {
            name: "local".into(),
            role: Role::Admin,
            via: Via::Local,
        },
        Listener::Tcp { loopback: false } => Principal {
            name: "anonymous".into(),
            role: Role::Viewer,
            via: Via::Anonymous,
        },
    })
}

/// 403 unless `who` has at least `needed`.
pub fn require(who: &Principal, needed: Role) -> Result<(), ApiError> {
    if who.role >= needed {
        return Ok(());
    }
    if who.via == Via::Anonymous {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "READ_ONLY_LISTENER",
            "this listener is reachable from the network and has no credentials, so the API \
             is read-only here: set username and password in [inet_http_server], or bind it \
             to 127.0.0.1",
        ));
    }
    Err(ApiError::new(
        StatusCode::FORBIDDEN,
        "FORBIDDEN",
        format!(
            "role {} may not do this (needs {})",
            who.role.name(),
            needed.name()
        ),
    ))
}

/// Whether a variable or setting name looks like it holds a secret.
pub fn is_secret_name(name: &str) -> bool {
    let upper = name.to_ascii_uppercase();
    ["KEY", "SECRET", "TOKEN", "PASS"]
        .iter()
        .any(|w| upper.contains(w))
}

/// `https://user:pw@host/…` → `https://user:<redacted>@host/…`.
pub fn redact_url_credentials(text: &str) -> String {
    let Some(scheme_end) = text.find("://") else {
        return text.to_string();
    };
    let rest = &text[scheme_end + 3..];
    let authority_end = rest.find('/').unwrap_or(rest.len());
    let authority = &rest[..authority_end];
    match authority.rfind('@') {
        Some(at) => {
            let userinfo = &authority[..at];
            let user = userinfo.split(':').next().unwrap_or("");
            format!(
                "{}://{user}:<redacted>@{}",
                &text[..scheme_end],
                &rest[at + 1..]
            )
        }
        None => text.to_string(),
    }
}

/// An environment value as the API shows it.
pub fn shown_env_value(name: &str, value: &str) -> String {
    if is_secret_name(name) {
        "<redacted>".into()
    } else {
        redact_url_credentials(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conn(listener: Listener, basic: Option<BasicCheck>) -> Connection {
        Connection {
            listener,
            peer: None,
            basic,
        }
    }

    #[test]
    fn listeners_without_credentials() {
        let h = HeaderMap::new();
        for (l, role) in [
            (Listener::Unix, Role::Admin),
            (Listener::Tcp { loopback: true }, Role::Admin),
            (Listener::Tcp { loopback: false }, Role::Viewer),
        ] {
            let p = authenticate(&conn(l, None), &h, &Method::POST).unwrap();
            assert_eq!(p.role, role, "{l:?}");
        }
        let anon = authenticate(
            &conn(Listener::Tcp { loopback: false }, None),
            &h,
            &Method::POST,
        )
        .unwrap();
        let e = require(&anon, Role::Operator).unwrap_err();
        assert_eq!(e.code, "READ_ONLY_LISTENER");
        assert!(e.message.contains("username and password"), "{}", e.message);
    }

    #[test]
    fn basic_is_for_reads_only() {
        let check: BasicCheck = Arc::new(|v: &[u8]| v == b"Basic good");
        let c = conn(Listener::Tcp { loopback: true }, Some(check));
        let mut h = HeaderMap::new();
        assert_eq!(
            authenticate(&c, &h, &Method::GET).unwrap_err().status,
            StatusCode::UNAUTHORIZED
        );
        h.insert(header::AUTHORIZATION, "Basic bad".parse().unwrap());
        assert_eq!(
            authenticate(&c, &h, &Method::GET).unwrap_err().status,
            StatusCode::UNAUTHORIZED
        );
        h.insert(header::AUTHORIZATION, "Basic good".parse().unwrap());
        assert_eq!(
            authenticate(&c, &h, &Method::GET).unwrap().role,
            Role::Admin
        );
        assert_eq!(
            authenticate(&c, &h, &Method::POST).unwrap_err().code,
            "BASIC_AUTH_READ_ONLY"
        );
    }

    #[test]
    fn secrets_are_recognised_and_redacted() {
        for n in [
            "APP_KEY",
            "aws_secret_access_key",
            "GITHUB_TOKEN",
            "DB_PASSWORD",
            "passwd",
        ] {
            assert!(is_secret_name(n), "{n}");
        }
        for n in ["PATH", "HOME", "APP_ENV"] {
            assert!(!is_secret_name(n), "{n}");
        }
        assert_eq!(shown_env_value("DB_PASSWORD", "x"), "<redacted>");
        assert_eq!(
            shown_env_value("DATABASE_URL", "postgres://app:hunter2@db:5432/app"),
            "postgres://app:<redacted>@db:5432/app"
        );
        assert_eq!(shown_env_value("HOME", "/root"), "/root");
    }
}
