//! HTTP Basic authentication as medusa/supervisord does it: one user per server, the stored
//! password either plain or `{SHA}` + hex(sha1(password)). Applied to every route by
//! [`crate::service`] before anything else runs. The parsing and the constant-time checks
//! are `steward_auth`'s, shared with the JSON API, so the two never disagree on a password.

use steward_auth::Users;

#[derive(Debug)]
pub(crate) struct Auth(Users);

impl Auth {
    /// `None` (no checking) unless a username is set, as in supervisord.
    pub(crate) fn new(username: Option<&str>, password: Option<&str>) -> Option<Auth> {
        match username {
            Some(u) if !u.is_empty() => {
                Some(Auth(Users::new(Some((u, password.unwrap_or(""))), [])))
            }
            _ => None,
        }
    }

    /// The principal an `Authorization` header value proves (the JSON API's view).
    pub(crate) fn principal(&self, header: &[u8]) -> Option<steward_auth::Principal> {
        self.0.verify_basic(header)
    }

    /// Checks an `Authorization` header value.
    pub(crate) fn check(&self, header: Option<&[u8]>) -> bool {
        header.and_then(|h| self.0.verify_basic(h)).is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;

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
