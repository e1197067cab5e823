//! HTTP Basic authentication as medusa/supervisord does it: one user per server, the stored
//! password either plain or `{SHA}` + hex(sha1(password)). Applied to every route by
//! [`crate::service`] before anything else runs.

use base64::Engine;
use sha1::{Digest, Sha1};

#[derive(Debug, Clone)]
pub(crate) struct Auth {
    username: String,
    password: String,
}

impl Auth {
    /// `None` (no checking) unless a username is set, as in supervisord.
    pub(crate) fn new(username: Option<&str>, password: Option<&str>) -> Option<Auth> {
        match username {
            Some(u) if !u.is_empty() => Some(Auth {
                username: u.to_string(),
                password: password.unwrap_or("").to_string(),
            }),
            _ => None,
        }
    }

    /// Checks an `Authorization` header value.
    pub(crate) fn check(&self, header: Option<&[u8]>) -> bool {
        let Some(header) = header.and_then(|h| std::str::from_utf8(h).ok()) else {
            return false;
        };
        let mut parts = header.trim().splitn(2, ' ');
        let scheme = parts.next().unwrap_or("");
        let cookie = parts.next().unwrap_or("").trim();
        if !scheme.eq_ignore_ascii_case("basic") {
            return false;
        }
        let Ok(decoded) = base64::engine::general_purpose::STANDARD.decode(cookie) else {
            return false;
        };
        let Ok(decoded) = String::from_utf8(decoded) else {
            return false;
        };
        let Some((user, pass)) = decoded.split_once(':') else {
            return false;
        };
        if !ct_eq(user.as_bytes(), self.username.as_bytes()) {
            return false;
        }
        match self.password.strip_prefix("{SHA}") {
            Some(hex) => {
                let digest = Sha1::digest(pass.as_bytes());
                let mine: String = digest.iter().map(|b| format!("{b:02x}")).collect();
                ct_eq(mine.as_bytes(), hex.to_ascii_lowercase().as_bytes())
            }
            None => ct_eq(pass.as_bytes(), self.password.as_bytes()),
        }
    }
}

/// Comparison whose time does not depend on where the inputs differ.
fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(user: &str, pass: &str) -> Vec<u8> {
        let c = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}"));
        format!("Basic {c}").into_bytes()
    }

    #[test]
    fn plain_and_sha() {
        let a = Auth::new(Some("u"), Some("p:w")).unwrap();
        assert!(a.check(Some(&header("u", "p:w"))));
        assert!(!a.check(Some(&header("u", "p"))));
        assert!(!a.check(Some(&header("x", "p:w"))));
        assert!(!a.check(None));
        assert!(!a.check(Some(b"Digest abc")));
        // sha1("thepassword")
        let a = Auth::new(
            Some("u"),
            Some("{SHA}82ab876d1387bfafe46cc1c8a2ef074eae50cb1d"),
        )
        .unwrap();
        assert!(a.check(Some(&header("u", "thepassword"))));
        assert!(!a.check(Some(&header(
            "u",
            "{SHA}82ab876d1387bfafe46cc1c8a2ef074eae50cb1d"
        ))));
        assert!(Auth::new(None, Some("x")).is_none());
    }
}
