//! Access-control values of a configuration: [`Role`], [`StoredPassword`] and group globs
//! ([`parse_group_globs`]), as `[user:NAME]` sections and the token file use them.
//!
//! They live here, not in `steward-auth` (which re-exports them), because the parser must
//! check them while it reads a file, so that a bad role or a malformed hash is an error
//! with file and line; and `steward-auth` itself builds on crates that depend on this one.
//!
//! A stored password is one of three forms, told apart by its prefix:
//! - `$argon2id$v=19$m=…,t=…,p=…$salt$hash`: an argon2id PHC string, as `steward passwd`
//!   prints it (recommended; verified by the `argon2` crate);
//! - `{SHA}` + 40 hex digits: hex(sha1(password)), supervisord's only hashed form;
//! - anything else: the password in plain text (supervisord's default; discouraged, since
//!   whoever reads the config file reads the password).
//!
//! Every comparison of secret bytes is constant-time ([`ct_eq`]).

use password_hash::PasswordVerifier;
use sha1::{Digest, Sha1};
use std::fmt;
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
            let phc = password_hash::PasswordHash::new(value)
                .map_err(|e| BadStoredPassword::BadPhc(e.to_string()))?;
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
                let mine = format!("{:x}", Sha1::digest(given.as_bytes()));
                ct_eq(mine.as_bytes(), hex.as_bytes())
            }
            StoredPassword::Argon2id(phc) => match password_hash::PasswordHash::new(phc) {
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

/// Equality whose time does not depend on where the inputs differ (only on their lengths).
pub fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    use subtle::ConstantTimeEq;
    a.ct_eq(b).into()
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn group_glob_lists() {
        assert_eq!(
            parse_group_globs(" web*, api ,").unwrap(),
            vec!["web*".to_string(), "api".to_string()]
        );
        assert!(parse_group_globs("[web").unwrap_err().contains("[web"));
        assert!(parse_group_globs(" , ").is_err());
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
    fn argon2id_hashes_verify() {
        // `steward passwd` of "demo" (examples/demo.conf).
        let phc = "$argon2id$v=19$m=19456,t=2,p=1$OmLTsWXK1uVQtKhEQiSx4g$+lzgBVsAI56K1KPftFFTlREfe27vyCjFwnV/usd3KjA";
        let p = StoredPassword::parse(phc).unwrap();
        assert!(p.is_slow());
        assert!(p.verify("demo"));
        assert!(!p.verify("demo "));
        assert!(!p.verify(phc));
    }

    #[test]
    fn debug_hides_plain_passwords() {
        let p = StoredPassword::parse("hunter2").unwrap();
        assert!(!format!("{p:?}").contains("hunter2"));
    }

    #[test]
    fn ct_eq_is_equality() {
        assert!(ct_eq(b"abc", b"abc"));
        assert!(!ct_eq(b"abc", b"abd"));
        assert!(!ct_eq(b"abc", b"ab"));
        assert!(ct_eq(b"", b""));
    }
}
