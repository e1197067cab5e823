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
use steward_auth::{parse_bearer, TokenStore, Users};
pub use steward_auth::{Listener, Principal, Role, Via};

use crate::error::ApiError;

/// Checks an `Authorization: Basic` value against a listener's supervisord credentials.
pub type BasicCheck = Arc<dyn Fn(&[u8]) -> Option<Principal> + Send + Sync>;

/// Per-request facts the server hands the API (as a request extension).
#[derive(Clone)]
pub struct Connection {
    pub listener: Listener,
    /// The peer's address, for the audit log (`None` on the unix socket).
    pub peer: Option<String>,
    /// The listener's supervisord credentials, when it has some.
    pub basic: Option<BasicCheck>,
    /// The listener's `base_path` (a reverse proxy's sub-path), for the cookie's `Path`.
    pub base_path: Option<std::sync::Arc<str>>,
}

/// The credentials the daemon knows besides each listener's own user.
#[derive(Default)]
pub struct Credentials {
    /// `[user:NAME]` accounts (accepted on every listener's API routes).
    pub users: Option<Users>,
    /// Bearer tokens (`steward token create`), followed live.
    pub tokens: Option<TokenStore>,
}

fn is_safe(method: &Method) -> bool {
    matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

fn unauthorized(message: &str) -> ApiError {
    ApiError::new(StatusCode::UNAUTHORIZED, "UNAUTHORIZED", message)
}

/// Who sent this request (or 401/403).
pub fn authenticate(
    creds: &Credentials,
    conn: &Connection,
    headers: &HeaderMap,
    method: &Method,
) -> Result<Principal, ApiError> {
    let authorization = headers.get(header::AUTHORIZATION).map(|v| v.as_bytes());
    if let Some(value) = authorization {
        if let Some(bearer) = parse_bearer(value) {
            return creds
                .tokens
                .as_ref()
                .and_then(|t| t.verify(bearer))
                .ok_or_else(|| unauthorized("unknown, revoked or expired token"));
        }
        let basic = conn
            .basic
            .as_ref()
            .and_then(|check| check(value))
            .or_else(|| creds.users.as_ref().and_then(|u| u.verify_basic(value)));
        let Some(who) = basic else {
            return Err(unauthorized("wrong username or password"));
        };
        if !is_safe(method) {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "BASIC_AUTH_READ_ONLY",
                "Basic credentials are accepted for reads only (a browser re-sends them by \
                 itself); use a bearer token from `steward token create` for this call",
            ));
        }
        return Ok(who);
    }
    if conn.basic.is_some() {
        return Err(unauthorized(
            "credentials required: the listener's username and password (reads), or a \
             bearer token from `steward token create`",
        ));
    }
    Ok(conn.listener.anonymous())
}

/// Whether `who` is the nobody of a network listener without credentials.
fn is_anonymous_public(who: &Principal) -> bool {
    who.via == Via::Local && who.role == Role::Viewer && who.name == "anonymous"
}

/// 403 unless `who` may act on `group`.
pub fn require_group(who: &Principal, group: &str) -> Result<(), ApiError> {
    if who.may_touch_group(group) {
        Ok(())
    } else {
        Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "FORBIDDEN",
            format!("{} may not act on the group {group}", who.name),
        )
        .with_target(group))
    }
}

/// 403 unless `who` has at least `needed`.
pub fn require(who: &Principal, needed: Role) -> Result<(), ApiError> {
    if who.role.allows(needed) {
        return Ok(());
    }
    if is_anonymous_public(who) {
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
            who.role.as_str(),
            needed.as_str()
        ),
    ))
}

pub use steward_auth::{is_secret_name, redact_url_credentials};

/// An environment value as the API shows it.
pub fn shown_env_value(name: &str, value: &str) -> String {
    if is_secret_name(name) {
        steward_auth::REDACTED.into()
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
            base_path: None,
        }
    }

    #[test]
    fn listeners_without_credentials() {
        let h = HeaderMap::new();
        let creds = Credentials::default();
        for (l, role) in [
            (Listener::UnixSocket, Role::Admin),
            (Listener::TcpLoopback, Role::Admin),
            (Listener::TcpPublic, Role::Viewer),
        ] {
            let p = authenticate(&creds, &conn(l, None), &h, &Method::POST).unwrap();
            assert_eq!(p.role, role, "{l:?}");
        }
        let anon =
            authenticate(&creds, &conn(Listener::TcpPublic, None), &h, &Method::POST).unwrap();
        let e = require(&anon, Role::Operator).unwrap_err();
        assert_eq!(e.code, "READ_ONLY_LISTENER");
        assert!(e.message.contains("username and password"), "{}", e.message);
    }

    #[test]
    fn basic_is_for_reads_only_and_a_bad_token_is_401() {
        let users = Arc::new(Users::new(Some(("admin", "good")), []));
        let check: BasicCheck = Arc::new(move |v: &[u8]| users.verify_basic(v));
        let c = conn(Listener::TcpLoopback, Some(check));
        let creds = Credentials::default();
        let mut h = HeaderMap::new();
        let status = |r: Result<Principal, ApiError>| r.map(|p| p.role).map_err(|e| e.status);
        assert_eq!(
            status(authenticate(&creds, &c, &h, &Method::GET)),
            Err(StatusCode::UNAUTHORIZED)
        );
        h.insert(header::AUTHORIZATION, "Basic YWRtaW46YmFk".parse().unwrap()); // admin:bad
        assert_eq!(
            status(authenticate(&creds, &c, &h, &Method::GET)),
            Err(StatusCode::UNAUTHORIZED)
        );
        h.insert(
            header::AUTHORIZATION,
            "Basic YWRtaW46Z29vZA==".parse().unwrap(),
        ); // admin:good
        assert_eq!(
            status(authenticate(&creds, &c, &h, &Method::GET)),
            Ok(Role::Admin)
        );
        assert_eq!(
            authenticate(&creds, &c, &h, &Method::POST)
                .unwrap_err()
                .code,
            "BASIC_AUTH_READ_ONLY"
        );
        h.insert(header::AUTHORIZATION, "Bearer stw_nope".parse().unwrap());
        assert_eq!(
            status(authenticate(&creds, &c, &h, &Method::GET)),
            Err(StatusCode::UNAUTHORIZED)
        );
    }

    #[test]
    fn secret_environment_values_are_redacted() {
        assert_eq!(shown_env_value("DB_PASSWORD", "x"), steward_auth::REDACTED);
        assert_eq!(
            shown_env_value("DATABASE_URL", "postgres://app:hunter2@db:5432/app"),
            "postgres://app:<redacted>@db:5432/app"
        );
        assert_eq!(shown_env_value("HOME", "/root"), "/root");
    }
}
