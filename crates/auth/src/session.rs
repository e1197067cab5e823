//! Browser sessions and the login rate limit, as pure in-memory logic.
//!
//! Data flow: the login form handler first asks [`LoginLimiter::attempt`] whether this
//! client address may try again, then checks the password ([`crate::Users`]), and on success
//! calls [`SessionStore::login`], which returns a session id (sent as the cookie that
//! [`session_cookie`] formats: `HttpOnly`, `SameSite=Strict`, `Secure` behind TLS) and a CSRF
//! token (for the page, echoed in a header on every unsafe request). Each later request
//! finds the id with [`session_id_from_cookies`] and calls [`SessionStore::lookup`], which
//! also renews the idle timer; an unsafe request must then pass [`same_origin`] and
//! [`SessionStore::check_csrf`]. Sessions die on [`SessionStore::logout`], after
//! [`SessionPolicy::idle`] without a request (default 30 min) or
//! [`SessionPolicy::absolute`] after login whatever the activity (default 12 h).
//!
//! Sessions are not persisted: a daemon restart logs everyone out, which is the safe side.
//! The map is keyed by SHA-256 of the id, so neither the lookup's timing nor a memory dump
//! of the keys hands out a usable cookie. Every method has an `_at` form taking the current
//! [`Instant`], so tests drive time instead of sleeping.

use crate::role::{Principal, Via};
use base64::Engine;
use rand::RngCore;
use sha2::{Digest, Sha256};
use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long sessions live.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionPolicy {
    /// A session unused for this long is gone.
    pub idle: Duration,
    /// A session is gone this long after login, used or not.
    pub absolute: Duration,
    /// Most live sessions; past it the oldest is dropped (bounds memory under a login flood).
    pub max_sessions: usize,
}

impl Default for SessionPolicy {
    fn default() -> SessionPolicy {
        SessionPolicy {
            idle: Duration::from_secs(30 * 60),
            absolute: Duration::from_secs(12 * 3600),
            max_sessions: 10_000,
        }
    }
}

#[derive(Debug)]
struct Session {
    principal: Principal,
    csrf: String,
    created: Instant,
    last_seen: Instant,
}

/// The live browser sessions of one daemon.
#[derive(Debug, Default)]
pub struct SessionStore {
    policy: SessionPolicy,
    sessions: Mutex<HashMap<[u8; 32], Session>>,
}

impl SessionStore {
    pub fn new(policy: SessionPolicy) -> SessionStore {
        SessionStore {
            policy,
            sessions: Mutex::new(HashMap::new()),
        }
    }

    pub fn policy(&self) -> SessionPolicy {
        self.policy
    }

    /// Starts a session for a principal whose password was just checked:
    /// `(session_id, csrf_token)`, both 256-bit random, base64url. Lookups return the
    /// principal with `via: Session`.
    pub fn login(&self, principal: Principal) -> (String, String) {
        self.login_at(principal, Instant::now())
    }

    pub fn login_at(&self, mut principal: Principal, now: Instant) -> (String, String) {
        // From now on the caller proves itself with the cookie, whatever it logged in with.
        principal.via = Via::Session;
        let id = random_secret();
        let csrf = random_secret();
        let mut map = self.lock();
        if map.len() >= self.policy.max_sessions {
            map.retain(|_, s| self.alive(s, now));
            if map.len() >= self.policy.max_sessions {
                if let Some(oldest) = map.iter().min_by_key(|(_, s)| s.created).map(|(k, _)| *k) {
                    map.remove(&oldest);
                }
            }
        }
        map.insert(
            key(&id),
            Session {
                principal,
                csrf: csrf.clone(),
                created: now,
                last_seen: now,
            },
        );
        (id, csrf)
    }

    /// The session's principal and CSRF token, renewing its idle timer; `None` when it is
    /// unknown, logged out or expired (an expired one is removed).
    pub fn lookup(&self, session_id: &str) -> Option<(Principal, String)> {
        self.lookup_at(session_id, Instant::now())
    }

    pub fn lookup_at(&self, session_id: &str, now: Instant) -> Option<(Principal, String)> {
        let k = key(session_id);
        let mut map = self.lock();
        let s = map.get_mut(&k)?;
        if !self.alive(s, now) {
            map.remove(&k);
            return None;
        }
        s.last_seen = now;
        Some((s.principal.clone(), s.csrf.clone()))
    }

    /// Whether `csrf` is the session's CSRF token (constant-time). Does not renew the session.
    pub fn check_csrf(&self, session_id: &str, csrf: &str) -> bool {
        self.check_csrf_at(session_id, csrf, Instant::now())
    }

    pub fn check_csrf_at(&self, session_id: &str, csrf: &str, now: Instant) -> bool {
        let map = self.lock();
        map.get(&key(session_id))
            .filter(|s| self.alive(s, now))
            .is_some_and(|s| crate::password::ct_eq(s.csrf.as_bytes(), csrf.as_bytes()))
    }

    /// Ends one session. Returns whether it existed.
    pub fn logout(&self, session_id: &str) -> bool {
        self.lock().remove(&key(session_id)).is_some()
    }

    /// Ends every session of the user `name` (e.g. after its password or role changed in a
    /// reload). Returns how many.
    pub fn logout_user(&self, name: &str) -> usize {
        let mut map = self.lock();
        let before = map.len();
        map.retain(|_, s| s.principal.name != name);
        before - map.len()
    }

    /// Drops expired sessions (call from a slow timer; lookups also drop them lazily).
    pub fn prune_at(&self, now: Instant) {
        self.lock().retain(|_, s| self.alive(s, now));
    }

    /// Live sessions (expired ones not yet pruned included).
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn alive(&self, s: &Session, now: Instant) -> bool {
        now.saturating_duration_since(s.last_seen) < self.policy.idle
            && now.saturating_duration_since(s.created) < self.policy.absolute
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<[u8; 32], Session>> {
        self.sessions.lock().unwrap_or_else(|e| e.into_inner())
    }
}

fn key(id: &str) -> [u8; 32] {
    Sha256::digest(id.as_bytes()).into()
}

fn random_secret() -> String {
    let mut raw = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut raw);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw)
}

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "steward_session";

/// The `Set-Cookie` value that hands a session to the browser: not readable by scripts
/// (`HttpOnly`), never sent on cross-site requests (`SameSite=Strict`), and only over TLS
/// when `secure` (set it when the client reached Steward over HTTPS). No `Max-Age`: the
/// browser forgets it when closed, and the server enforces the real expiry. `base_path`
/// (a reverse proxy's sub-path, e.g. `/steward`) limits it to that path.
pub fn session_cookie(session_id: &str, secure: bool, base_path: Option<&str>) -> String {
    format!(
        "{SESSION_COOKIE}={session_id}; Path={}/; HttpOnly; SameSite=Strict{}",
        base_path.unwrap_or(""),
        if secure { "; Secure" } else { "" }
    )
}

/// The `Set-Cookie` value that deletes the session cookie (logout).
pub fn clear_session_cookie(secure: bool, base_path: Option<&str>) -> String {
    format!(
        "{SESSION_COOKIE}=; Path={}/; Max-Age=0; HttpOnly; SameSite=Strict{}",
        base_path.unwrap_or(""),
        if secure { "; Secure" } else { "" }
    )
}

/// The session id in a request's `Cookie` header, if any.
pub fn session_id_from_cookies(cookie_header: &str) -> Option<&str> {
    cookie_header.split(';').find_map(|pair| {
        let (name, value) = pair.trim().split_once('=')?;
        (name == SESSION_COOKIE && !value.is_empty()).then_some(value)
    })
}

/// Whether a request's `Origin` header names the server it was sent to (its `Host`
/// header), as the check on unsafe session requests needs. A missing or `null` Origin
/// fails: every browser sends one with a cross-origin or `POST` request, and non-browser
/// clients use tokens, not sessions.
pub fn same_origin(origin: Option<&str>, host: Option<&str>) -> bool {
    let (Some(origin), Some(host)) = (origin, host) else {
        return false;
    };
    let authority = match origin.split_once("://") {
        Some((scheme, rest))
            if scheme.eq_ignore_ascii_case("http") || scheme.eq_ignore_ascii_case("https") =>
        {
            rest
        }
        _ => return false,
    };
    !authority.is_empty()
        && !authority.contains(['/', '@'])
        && authority.eq_ignore_ascii_case(host.trim())
}

/// Login attempts allowed per client and window.
pub const LOGIN_ATTEMPTS: usize = 5;
/// The login rate-limit window.
pub const LOGIN_WINDOW: Duration = Duration::from_secs(60);
/// Most client addresses tracked; when full, clients with no attempt inside the window are
/// forgotten first, then the map is cleared (fails open for a moment rather than growing
/// without bound).
const LIMITER_MAX_CLIENTS: usize = 65_536;

/// A sliding-window limit on login attempts per client address: at most `max` attempts in
/// any `window`. IPv6 clients are counted per /64, since one host usually owns a whole /64
/// and could otherwise rotate addresses to escape the limit.
#[derive(Debug)]
pub struct LoginLimiter {
    max: usize,
    window: Duration,
    clients: Mutex<HashMap<IpAddr, VecDeque<Instant>>>,
}

impl Default for LoginLimiter {
    /// 5 attempts per minute.
    fn default() -> LoginLimiter {
        LoginLimiter::new(LOGIN_ATTEMPTS, LOGIN_WINDOW)
    }
}

impl LoginLimiter {
    /// `max` is at least 1.
    pub fn new(max: usize, window: Duration) -> LoginLimiter {
        LoginLimiter {
            max: max.max(1),
            window,
            clients: Mutex::new(HashMap::new()),
        }
    }

    /// Records a login attempt from `ip`. `Err(wait)`: refused (and not recorded); the
    /// client may try again after `wait` (for a `Retry-After` header).
    pub fn attempt(&self, ip: IpAddr) -> Result<(), Duration> {
        self.attempt_at(ip, Instant::now())
    }

    pub fn attempt_at(&self, ip: IpAddr, now: Instant) -> Result<(), Duration> {
        let client = client_key(ip);
        let mut map = self.clients.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() >= LIMITER_MAX_CLIENTS && !map.contains_key(&client) {
            let window = self.window;
            map.retain(|_, q| {
                q.back()
                    .is_some_and(|t| now.saturating_duration_since(*t) < window)
            });
            if map.len() >= LIMITER_MAX_CLIENTS {
                map.clear();
            }
        }
        let q = map.entry(client).or_default();
        while q
            .front()
            .is_some_and(|t| now.saturating_duration_since(*t) >= self.window)
        {
            q.pop_front();
        }
        if q.len() >= self.max {
            let oldest = *q.front().expect("max > 0 entries");
            return Err(self.window - now.saturating_duration_since(oldest));
        }
        q.push_back(now);
        Ok(())
    }

    /// Forgets `ip`'s attempts (e.g. after a successful login, if the caller wants that).
    pub fn reset(&self, ip: IpAddr) {
        self.clients
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&client_key(ip));
    }
}

fn client_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let s = v6.segments();
                IpAddr::V6(std::net::Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
            }
        },
        v4 => v4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::role::Role;

    fn alice() -> Principal {
        Principal {
            name: "alice".into(),
            role: Role::Operator,
            groups: None,
            via: Via::Session,
        }
    }

    const MIN: Duration = Duration::from_secs(60);

    #[test]
    fn login_lookup_logout() {
        let s = SessionStore::default();
        let t0 = Instant::now();
        let basic = Principal {
            via: Via::Basic,
            ..alice()
        };
        let (id, csrf) = s.login_at(basic, t0);
        assert_ne!(id, csrf);
        assert_eq!(id.len(), 43);
        let (p, c) = s.lookup_at(&id, t0).unwrap();
        assert_eq!((p, c.as_str()), (alice(), csrf.as_str()));
        assert!(s.check_csrf_at(&id, &csrf, t0));
        assert!(!s.check_csrf_at(&id, &id, t0));
        assert!(!s.check_csrf_at(&csrf, &csrf, t0));
        assert!(s.lookup_at("nope", t0).is_none());
        assert!(s.logout(&id));
        assert!(!s.logout(&id));
        assert!(s.lookup_at(&id, t0).is_none());
        assert!(!s.check_csrf_at(&id, &csrf, t0));
    }

    #[test]
    fn idle_expiry_is_renewed_by_use() {
        let s = SessionStore::default();
        let t0 = Instant::now();
        let (id, _) = s.login_at(alice(), t0);
        // Used every 29 minutes: alive for hours.
        let mut t = t0;
        for _ in 0..10 {
            t += 29 * MIN;
            assert!(s.lookup_at(&id, t).is_some());
        }
        // Then 30 idle minutes: gone, and removed.
        assert!(s.lookup_at(&id, t + 30 * MIN).is_none());
        assert!(s.is_empty());
    }

    #[test]
    fn absolute_expiry_ends_even_busy_sessions() {
        let s = SessionStore::default();
        let t0 = Instant::now();
        let (id, csrf) = s.login_at(alice(), t0);
        let mut t = t0;
        while t + 10 * MIN < t0 + 12 * 60 * MIN {
            t += 10 * MIN;
            assert!(s.lookup_at(&id, t).is_some());
        }
        let end = t0 + 12 * 60 * MIN;
        assert!(!s.check_csrf_at(&id, &csrf, end));
        assert!(s.lookup_at(&id, end).is_none());
    }

    #[test]
    fn logout_user_and_bounds() {
        let s = SessionStore::new(SessionPolicy {
            max_sessions: 3,
            ..SessionPolicy::default()
        });
        let t0 = Instant::now();
        let first = s.login_at(alice(), t0).0;
        let mut bob = alice();
        bob.name = "bob".into();
        let b = s.login_at(bob.clone(), t0 + MIN).0;
        s.login_at(alice(), t0 + 2 * MIN);
        s.login_at(alice(), t0 + 3 * MIN);
        assert_eq!(s.len(), 3);
        assert!(
            s.lookup_at(&first, t0 + 3 * MIN).is_none(),
            "oldest evicted"
        );
        assert_eq!(s.logout_user("alice"), 2);
        assert!(s.lookup_at(&b, t0 + 3 * MIN).is_some());
        s.prune_at(t0 + 3 * MIN + 30 * MIN + Duration::from_secs(1));
        assert!(s.is_empty());
    }

    #[test]
    fn cookies() {
        assert_eq!(
            session_cookie("abc", false, None),
            "steward_session=abc; Path=/; HttpOnly; SameSite=Strict"
        );
        assert!(session_cookie("abc", true, None).ends_with("; SameSite=Strict; Secure"));
        assert!(session_cookie("abc", false, Some("/steward")).contains("; Path=/steward/;"));
        assert!(clear_session_cookie(true, None).contains("Max-Age=0"));
        assert_eq!(
            session_id_from_cookies("theme=dark; steward_session=abc ; x=y"),
            Some("abc")
        );
        assert_eq!(session_id_from_cookies("steward_session="), None);
        assert_eq!(session_id_from_cookies("other_steward_session=abc"), None);
        assert_eq!(session_id_from_cookies(""), None);
    }

    #[test]
    fn origin_check() {
        let host = Some("127.0.0.1:9001");
        assert!(same_origin(Some("http://127.0.0.1:9001"), host));
        assert!(same_origin(
            Some("HTTPS://Steward.example"),
            Some("steward.example")
        ));
        for bad in [
            None,
            Some("null"),
            Some("http://127.0.0.1:9002"),
            Some("http://evil.example"),
            Some("http://127.0.0.1:9001/"),
            Some("ftp://127.0.0.1:9001"),
            Some("http://x@127.0.0.1:9001"),
            Some("http://"),
        ] {
            assert!(!same_origin(bad, host), "{bad:?}");
        }
        assert!(!same_origin(Some("http://127.0.0.1:9001"), None));
    }

    #[test]
    fn five_attempts_per_minute_per_client() {
        let l = LoginLimiter::default();
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let b: IpAddr = "192.0.2.2".parse().unwrap();
        let t0 = Instant::now();
        let sec = Duration::from_secs(1);
        for i in 0..5 {
            assert!(l.attempt_at(a, t0 + i * sec).is_ok(), "attempt {i}");
        }
        assert_eq!(l.attempt_at(a, t0 + 10 * sec), Err(50 * sec));
        // Another client is not affected.
        assert!(l.attempt_at(b, t0 + 10 * sec).is_ok());
        // Sliding: the first attempt leaves the window at t0+60s, the second at t0+61s.
        assert_eq!(l.attempt_at(a, t0 + 59 * sec), Err(sec));
        assert!(l.attempt_at(a, t0 + 60 * sec).is_ok());
        assert!(l.attempt_at(a, t0 + 60 * sec).is_err());
        assert!(l.attempt_at(a, t0 + 61 * sec).is_ok());
        l.reset(a);
        assert!(l.attempt_at(a, t0 + 61 * sec).is_ok());
    }

    #[test]
    fn ipv6_clients_count_per_64() {
        let l = LoginLimiter::new(2, MIN);
        let t0 = Instant::now();
        assert!(l.attempt_at("2001:db8::1".parse().unwrap(), t0).is_ok());
        assert!(l.attempt_at("2001:db8::2".parse().unwrap(), t0).is_ok());
        assert!(l.attempt_at("2001:db8::3".parse().unwrap(), t0).is_err());
        assert!(l.attempt_at("2001:db8:0:1::1".parse().unwrap(), t0).is_ok());
        // A v4-mapped address is the v4 client.
        assert!(l
            .attempt_at("::ffff:192.0.2.9".parse().unwrap(), t0)
            .is_ok());
        assert!(l.attempt_at("192.0.2.9".parse().unwrap(), t0).is_ok());
        assert!(l.attempt_at("192.0.2.9".parse().unwrap(), t0).is_err());
    }
}
