//! Password hashing for `steward passwd`, and the `Authorization` header's two schemes.
//!
//! Stored passwords ([`StoredPassword`]: argon2id PHC, `{SHA}`+hex or plain) are defined
//! with the config, which checks their shape while it parses, and re-exported here.
//! Data flow: [`crate::Users`] splits a `Basic` header with [`parse_basic`] and calls
//! [`StoredPassword::verify`]; the API hands the value of a `Bearer` header
//! ([`parse_bearer`]) to [`crate::TokenStore::verify`].

use base64::Engine;
use password_hash::{PasswordHasher, SaltString};

pub use steward_config::access::{ct_eq, BadStoredPassword, StoredPassword};

/// Hashes `password` into an argon2id PHC string with a fresh random salt and the `argon2`
/// crate's default cost (19 MiB, 2 passes, 1 lane: OWASP's recommended minimum).
pub fn hash_password(password: &str) -> Result<String, password_hash::Error> {
    let salt = SaltString::generate(&mut password_hash::rand_core::OsRng);
    Ok(argon2::Argon2::default()
        .hash_password(password.as_bytes(), &salt)?
        .to_string())
}

/// The user and password of an `Authorization: Basic …` header value; `None` for any
/// other scheme or a malformed value. The password may contain `:` (only the first one
/// separates), as in medusa.
pub fn parse_basic(header: &[u8]) -> Option<(String, String)> {
    let header = std::str::from_utf8(header).ok()?.trim();
    let (scheme, rest) = header.split_once(' ').unwrap_or((header, ""));
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(rest.trim())
        .ok()?;
    let decoded = String::from_utf8(decoded).ok()?;
    let (user, pass) = decoded.split_once(':')?;
    Some((user.to_string(), pass.to_string()))
}

/// The token of an `Authorization: Bearer …` header value.
pub fn parse_bearer(header: &[u8]) -> Option<&str> {
    let header = std::str::from_utf8(header).ok()?.trim();
    let (scheme, rest) = header.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return None;
    }
    let token = rest.trim();
    (!token.is_empty()).then_some(token)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn basic(user: &str, pass: &str) -> Vec<u8> {
        let c = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}"));
        format!("Basic {c}").into_bytes()
    }

    #[test]
    fn argon2id_round_trip() {
        let phc = hash_password("correct horse").unwrap();
        assert!(phc.starts_with("$argon2id$v=19$"), "{phc}");
        let p = StoredPassword::parse(&phc).unwrap();
        assert!(p.is_slow());
        assert!(p.verify("correct horse"));
        assert!(!p.verify("correct horse "));
        assert!(!p.verify(&phc));
        // Salts differ, so two hashes of one password differ.
        assert_ne!(hash_password("correct horse").unwrap(), phc);
    }

    #[test]
    fn basic_and_bearer_headers() {
        assert_eq!(
            parse_basic(&basic("u", "p:w")),
            Some(("u".into(), "p:w".into()))
        );
        assert_eq!(parse_basic(b"basic dTpw"), Some(("u".into(), "p".into())));
        assert_eq!(parse_basic(b"Bearer abc"), None);
        assert_eq!(parse_basic(b"Basic !!!"), None);
        assert_eq!(parse_basic(b"Basic dXNlcg=="), None); // "user", no colon
        assert_eq!(parse_bearer(b"Bearer stw_abc "), Some("stw_abc"));
        assert_eq!(parse_bearer(b"bearer  stw_abc"), Some("stw_abc"));
        assert_eq!(parse_bearer(b"Bearer "), None);
        assert_eq!(parse_bearer(b"Basic abc"), None);
    }
}
