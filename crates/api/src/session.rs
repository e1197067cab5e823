//! Browser sessions: login and logout over `/api/v1/session`, and the rules a request
//! carrying the session cookie must meet.
//!
//! `POST /api/v1/session` takes `{"username","password"}` (JSON, or a form for the no-JS
//! login page), checks it against the listener's own `username`/`password` (an admin) and
//! the `[user:NAME]` accounts, at most 5 attempts a minute per client address, and answers
//! with the user, role and CSRF token, setting the `steward_session` cookie (`HttpOnly`,
//! `SameSite=Strict`, `Secure` behind TLS). A request with that cookie is the session's
//! user; an unsafe one also needs the CSRF token (`X-CSRF-Token`) and, when the browser
//! sends `Origin`, the same origin as `Host`. The session store and the limiter are
//! steward-auth's.

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;

use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use base64::Engine;
use serde_json::{json, Value};
use steward_auth::{
    clear_session_cookie, same_origin, session_cookie, session_id_from_cookies, Principal, Via,
};

use crate::access::Connection;
use crate::error::{ApiError, ApiResult};
use crate::ApiState;

/// The header a page sends its CSRF token in.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// Whether the request came over TLS (through a reverse proxy that says so).
pub fn behind_tls(headers: &HeaderMap) -> bool {
    headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("https"))
}

fn client_ip(conn: &Connection) -> IpAddr {
    conn.peer
        .as_deref()
        .and_then(|p| p.parse::<std::net::SocketAddr>().ok())
        .map(|a| a.ip())
        .unwrap_or(IpAddr::V4(Ipv4Addr::LOCALHOST))
}

/// The session a request's cookie names, if it is alive: (id, principal, csrf token).
pub fn from_cookie(st: &ApiState, headers: &HeaderMap) -> Option<(String, Principal, String)> {
    let cookies = headers.get(header::COOKIE)?.to_str().ok()?;
    let id = session_id_from_cookies(cookies)?;
    let (who, csrf) = st.sessions.lookup(id)?;
    Some((id.to_string(), who, csrf))
}

/// 403 for a request a browser sent from another site (`Origin` not this host, or
/// `Sec-Fetch-Site: cross-site`): checked on every state change and on login.
pub fn refuse_cross_origin(headers: &HeaderMap) -> Result<(), ApiError> {
    let origin = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok());
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok());
    let cross_site = headers
        .get("sec-fetch-site")
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"cross-site"));
    if cross_site || (origin.is_some() && !same_origin(origin, host)) {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "CROSS_ORIGIN",
            "the request comes from another origin",
        ));
    }
    Ok(())
}

/// The CSRF and origin rules of an unsafe request made with a session cookie.
pub fn check_unsafe(
    headers: &HeaderMap,
    csrf: &str,
    form_token: Option<&str>,
) -> Result<(), ApiError> {
    let origin = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok());
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok());
    if origin.is_some() && !same_origin(origin, host) {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "CROSS_ORIGIN",
            "the request comes from another origin",
        ));
    }
    let sent = headers
        .get(CSRF_HEADER)
        .and_then(|v| v.to_str().ok())
        .or(form_token);
    match sent {
        Some(t) if steward_auth::password::ct_eq(t.as_bytes(), csrf.as_bytes()) => Ok(()),
        _ => Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "CSRF",
            "missing or wrong CSRF token (send the session's token in X-CSRF-Token)",
        )),
    }
}

fn credentials_of(headers: &HeaderMap, body: &[u8]) -> Option<(String, String)> {
    let is_form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if is_form {
        let mut user = None;
        let mut pass = None;
        for (k, v) in form_urlencoded_pairs(body) {
            match k.as_str() {
                "username" => user = Some(v),
                "password" => pass = Some(v),
                _ => {}
            }
        }
        return Some((user?, pass?));
    }
    let v: Value = serde_json::from_slice(body).ok()?;
    Some((
        v.get("username")?.as_str()?.to_string(),
        v.get("password")?.as_str()?.to_string(),
    ))
}

/// `application/x-www-form-urlencoded` pairs (`+` is a space, `%XX` a byte).
pub fn form_urlencoded_pairs(body: &[u8]) -> Vec<(String, String)> {
    fn decode(s: &str) -> String {
        let bytes = s.as_bytes();
        // Byte-wise: a `%` before a multi-byte character must not split it.
        let mut out = Vec::with_capacity(bytes.len());
        let mut i = 0;
        while i < bytes.len() {
            match bytes[i] {
                b'+' => out.push(b' '),
                b'%' if i + 2 < bytes.len() => {
                    let hex = |c: u8| (c as char).to_digit(16);
                    match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                        (Some(h), Some(l)) => {
                            out.push((h * 16 + l) as u8);
                            i += 2;
                        }
                        _ => out.push(b'%'),
                    }
                }
                b => out.push(b),
            }
            i += 1;
        }
        String::from_utf8_lossy(&out).into_owned()
    }
    String::from_utf8_lossy(body)
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (decode(k), decode(v))
        })
        .collect()
}

/// Checks a username and password against the listener's user and the `[user:x]` accounts.
fn verify(st: &ApiState, conn: &Connection, user: &str, password: &str) -> Option<Principal> {
    let header = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
    );
    conn.basic
        .as_ref()
        .and_then(|check| check(header.as_bytes()))
        .or_else(|| {
            st.credentials
                .users
                .as_ref()
                .and_then(|u| u.verify(user, password))
        })
}

/// `POST /api/v1/session`: log in.
pub async fn login(
    State(st): State<Arc<ApiState>>,
    Extension(conn): Extension<Connection>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    if let Err(e) = refuse_cross_origin(&headers) {
        return e.into_response();
    }
    let ip = client_ip(&conn);
    if let Err(retry) = st.login_limiter.attempt(ip) {
        let mut r = ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "TOO_MANY_ATTEMPTS",
            "too many login attempts; wait and try again",
        )
        .into_response();
        if let Ok(v) = HeaderValue::from_str(&retry.as_secs().max(1).to_string()) {
            r.headers_mut().insert(header::RETRY_AFTER, v);
        }
        return r;
    }
    let Some((user, password)) = credentials_of(&headers, &body) else {
        return ApiError::bad_request("expected {\"username\": …, \"password\": …}")
            .into_response();
    };
    let Some(who) = verify(&st, &conn, &user, &password) else {
        st.audit_raw(&user, &conn, "login", &user, "UNAUTHORIZED");
        return ApiError::new(
            StatusCode::UNAUTHORIZED,
            "UNAUTHORIZED",
            "wrong username or password",
        )
        .into_response();
    };
    st.login_limiter.reset(ip);
    let (id, csrf) = st.sessions.login(who.clone());
    st.audit_raw(&who.name, &conn, "login", &who.name, "ok");
    let mut r = Json(json!({"user": who.name, "role": who.role.as_str(), "csrf_token": csrf}))
        .into_response();
    if let Ok(v) = HeaderValue::from_str(&session_cookie(
        &id,
        behind_tls(&headers),
        conn.base_path.as_deref(),
    )) {
        r.headers_mut().insert(header::SET_COOKIE, v);
    }
    r
}

/// `GET /api/v1/session`: who this is, and the CSRF token of the session.
pub async fn current(
    State(st): State<Arc<ApiState>>,
    Extension(who): Extension<Principal>,
    headers: HeaderMap,
) -> ApiResult<Json<Value>> {
    let csrf = if who.via == Via::Session {
        from_cookie(&st, &headers).map(|(_, _, c)| c)
    } else {
        None
    };
    Ok(Json(json!({
        "user": who.name,
        "role": who.role.as_str(),
        "via": who.via,
        "csrf_token": csrf,
    })))
}

/// `DELETE /api/v1/session`: log out (the CSRF rule applied in the middleware).
pub async fn logout(
    State(st): State<Arc<ApiState>>,
    Extension(conn): Extension<Connection>,
    Extension(who): Extension<Principal>,
    headers: HeaderMap,
) -> Response {
    if let Some((id, _, _)) = from_cookie(&st, &headers) {
        st.sessions.logout(&id);
        st.audit_raw(&who.name, &conn, "logout", &who.name, "ok");
    }
    let mut r = Json(json!({"result": "ok"})).into_response();
    if let Ok(v) = HeaderValue::from_str(&clear_session_cookie(
        behind_tls(&headers),
        conn.base_path.as_deref(),
    )) {
        r.headers_mut().insert(header::SET_COOKIE, v);
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_pairs_decode() {
        assert_eq!(
            form_urlencoded_pairs(b"username=a+b&password=p%40ss%3D&x="),
            [
                ("username".to_string(), "a b".to_string()),
                ("password".to_string(), "p@ss=".to_string()),
                ("x".to_string(), String::new()),
            ]
        );
        assert_eq!(
            form_urlencoded_pairs(b"a=%4"),
            [("a".to_string(), "%4".to_string())]
        );
    }

    #[test]
    fn csrf_and_origin_rules() {
        let mut h = HeaderMap::new();
        h.insert(header::HOST, "127.0.0.1:9001".parse().unwrap());
        assert_eq!(check_unsafe(&h, "tok", None).unwrap_err().code, "CSRF");
        h.insert(CSRF_HEADER, "tok".parse().unwrap());
        assert!(check_unsafe(&h, "tok", None).is_ok());
        h.insert(header::ORIGIN, "http://evil.example".parse().unwrap());
        assert_eq!(
            check_unsafe(&h, "tok", None).unwrap_err().code,
            "CROSS_ORIGIN"
        );
        h.insert(header::ORIGIN, "http://127.0.0.1:9001".parse().unwrap());
        assert!(check_unsafe(&h, "tok", None).is_ok());
        h.remove(CSRF_HEADER);
        assert!(check_unsafe(&h, "tok", Some("tok")).is_ok());
        assert!(check_unsafe(&h, "tok", Some("nope")).is_err());
    }
}
