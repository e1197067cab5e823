//! Stored passwords and their verification, and the HTTP Basic header.
//!
//! A stored password is one of three forms, told apart by its prefix:
//! - `$argon2id$v=19$m=…,t=…,p=…$salt$hash`: an argon2id PHC string, as `steward passwd`
//!   prints it (recommended; verified by the `argon2` crate);
//! - `{SHA}` + 40 hex digits: hex(sha1(password)), supervisord's only hashed form;
//! - anything else: the password in plain text (supervisord's default; discouraged, since
//!   whoever reads the config file reads the password).
//!
//! Data flow: the config parser calls [`StoredPassword::parse`] on every `password =`
//! value (so a malformed hash is a config error with file and line, not a login that can
//! never succeed); [`crate::Users`] calls [`StoredPassword::verify`] with what a client
//! sent in its `Authorization: Basic` header ([`parse_basic`]). Every comparison of secret
//! bytes is constant-time ([`ct_eq`]).

use base64::Engine;
use password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use sha1::{Digest, Sha1};
use std::fmt;

/// A password as written in a config file, checked for shape.
#[derive(Clone, PartialEq, Eq)]
pub enum StoredPassword {
    /// Compared byte for byte.
    Plain(String),
    /// `{SHA}` form: the lower-case hex of sha1(password).
    Sha1Hex(String),
    /// An argon2id PHC string.
    Argon2id(String),
}

/// Why a `password =` value cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BadStoredPassword {
    #[error("{{SHA}} must be followed by 40 hex digits (hex of sha1(password))")]
    BadSha,
    #[error("not a valid PHC hash string: {0}")]
    BadPhc(String),
    #[error("unsupported hash algorithm '{0}' (use argon2id: run `steward passwd`)")]
    Algorithm(String),
    #[error("empty password")]
    Empty,
}

impl StoredPassword {
    /// Recognises the form of a stored password (see the module doc). A value starting
    /// with `$` must be an argon2id PHC string: a mistyped hash is refused rather than
    /// taken as a plain password.
    pub fn parse(value: &str) -> Result<StoredPassword, BadStoredPassword> {
        if value.is_empty() {
            return Err(BadStoredPassword::Empty);
        }
        if let Some(hex) = value.strip_prefix("{SHA}") {
            if hex.len() != 40 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(BadStoredPassword::BadSha);
            }
            return Ok(StoredPassword::Sha1Hex(hex.to_ascii_lowercase()));
        }
        if value.starts_with('$') {
            let phc =
                PasswordHash::new(value).map_err(|e| BadStoredPassword::BadPhc(e.to_string()))?;
            if phc.algorithm != argon2::ARGON2ID_IDENT {
                return Err(BadStoredPassword::Algorithm(phc.algorithm.to_string()));
            }
            // Parameters the argon2 crate would refuse at verification time.
            argon2::Params::try_from(&phc).map_err(|e| BadStoredPassword::BadPhc(e.to_string()))?;
            if phc.hash.is_none() {
                return Err(BadStoredPassword::BadPhc("no hash".into()));
            }
            return Ok(StoredPassword::Argon2id(value.to_string()));
        }
        Ok(StoredPassword::Plain(value.to_string()))
    }

    /// supervisord's own rule for `[unix_http_server]`/`[inet_http_server]` passwords:
    /// `{SHA}` + hex, else plain. Never fails: supervisord takes any other value as plain
    /// text, and so must a drop-in.
    pub fn supervisord(value: &str) -> StoredPassword {
        match value.strip_prefix("{SHA}") {
            Some(hex) => StoredPassword::Sha1Hex(hex.to_ascii_lowercase()),
            None => StoredPassword::Plain(value.to_string()),
        }
    }

    /// Whether `given` is the password. Constant-time in the password's content.
    pub fn verify(&self, given: &str) -> bool {
        match self {
            StoredPassword::Plain(p) => ct_eq(given.as_bytes(), p.as_bytes()),
            StoredPassword::Sha1Hex(hex) => {
                let mine = hex_lower(&Sha1::digest(given.as_bytes()));
                ct_eq(mine.as_bytes(), hex.as_bytes())
            }
            StoredPassword::Argon2id(phc) => match PasswordHash::new(phc) {
                // The crate compares the computed hash in constant time.
                Ok(h) => argon2::Argon2::default()
                    .verify_password(given.as_bytes(), &h)
                    .is_ok(),
                Err(_) => false,
            },
        }
    }

    /// Whether the password is kept in plain text (worth a warning).
    pub fn is_plain(&self) -> bool {
        matches!(self, StoredPassword::Plain(_))
    }

    /// Whether verification is slow on purpose (argon2): callers cache successes.
    pub fn is_slow(&self) -> bool {
        matches!(self, StoredPassword::Argon2id(_))
    }
}

impl fmt::Debug for StoredPassword {
    /// Never prints a plain password (configs are `Debug`-printed in test failures and logs).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoredPassword::Plain(_) => f.write_str("Plain(<redacted>)"),
            StoredPassword::Sha1Hex(h) => write!(f, "Sha1Hex({h})"),
            StoredPassword::Argon2id(h) => write!(f, "Argon2id({h})"),
        }
    }
}

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

/// Equality whose time does not depend on where the inputs differ (only on their lengths).
pub fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    use subtle::ConstantTimeEq;
    a.ct_eq(b).into()
}

pub(crate) fn hex_lower(bytes: &[u8]) -> String {
    use std::fmt::Write;
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn basic(user: &str, pass: &str) -> Vec<u8> {
        let c = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}"));
        format!("Basic {c}").into_bytes()
    }

    #[test]
    fn plain_and_sha_as_supervisord() {
        let p = StoredPassword::supervisord("p:w");
        assert!(p.verify("p:w"));
        assert!(!p.verify("p"));
        assert!(!p.verify(""));
        // sha1("thepassword")
        let s = StoredPassword::supervisord("{SHA}82AB876D1387BFAFE46CC1C8A2EF074EAE50CB1D");
        assert!(s.verify("thepassword"));
        assert!(!s.verify("{SHA}82ab876d1387bfafe46cc1c8a2ef074eae50cb1d"));
        assert!(!s.verify("thepassword2"));
        // supervisord takes a malformed {SHA} value as given: nothing can match it.
        assert!(!StoredPassword::supervisord("{SHA}zz").verify("zz"));
    }

    #[test]
    fn parse_recognises_and_checks_each_form() {
        assert!(StoredPassword::parse("secret").unwrap().is_plain());
        assert_eq!(
            StoredPassword::parse("{SHA}82ab876d1387bfafe46cc1c8a2ef074eae50cb1d").unwrap(),
            StoredPassword::Sha1Hex("82ab876d1387bfafe46cc1c8a2ef074eae50cb1d".into())
        );
        assert_eq!(
            StoredPassword::parse("{SHA}abc"),
            Err(BadStoredPassword::BadSha)
        );
        assert_eq!(StoredPassword::parse(""), Err(BadStoredPassword::Empty));
        assert!(matches!(
            StoredPassword::parse("$argon2id$nope"),
            Err(BadStoredPassword::BadPhc(_))
        ));
        // bcrypt-looking or other PHC algorithms are refused, not taken as plain text.
        assert!(StoredPassword::parse("$2b$12$abcdefghijklmnopqrstuu").is_err());
        let scrypt = "$scrypt$ln=16,r=8,p=1$aM15713r3Xsvxbi31lqr1Q$nFNh2CVHVjNldFVKDHDlm4CbdRSCdEBsjjJxD+iCs5E";
        assert_eq!(
            StoredPassword::parse(scrypt),
            Err(BadStoredPassword::Algorithm("scrypt".into()))
        );
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
    fn debug_hides_plain_passwords() {
        let p = StoredPassword::parse("hunter2").unwrap();
        assert!(!format!("{p:?}").contains("hunter2"));
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

    #[test]
    fn ct_eq_is_equality() {
        assert!(ct_eq(b"abc", b"abc"));
        assert!(!ct_eq(b"abc", b"abd"));
        assert!(!ct_eq(b"abc", b"ab"));
        assert!(ct_eq(b"", b""));
    }
}
