//! Password-based principals: the server section's own `username`/`password` (always
//! `admin`, as supervisord has only that one user) plus every `[user:NAME]` section.
//!
//! Data flow: the API layer builds one [`Users`] per listener from the config (the
//! listener's own user, then `Config::users` through `UserAccount::from`), and calls
//! [`Users::verify_basic`] with the `Authorization` header. A match yields a
//! [`Principal`] with `via: Basic`.
//!
//! Argon2id is slow on purpose (tens of milliseconds), and HTTP Basic clients send the
//! password with every request, so a verified (user, password) pair is remembered for
//! [`SUCCESS_CACHE_TTL`] as a SHA-256 digest (never the password itself), in a small
//! bounded map. Failures are never cached: each wrong guess costs a full argon2 run.

use crate::password::{ct_eq, parse_basic, StoredPassword};
use crate::role::{Principal, Role, Via};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long a verified argon2 login is remembered.
pub const SUCCESS_CACHE_TTL: Duration = Duration::from_secs(300);
/// Most remembered logins; the map is cleared when full (a cache, not a store).
const SUCCESS_CACHE_MAX: usize = 256;

/// One password user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserAccount {
    pub name: String,
    pub password: StoredPassword,
    pub role: Role,
    /// Group globs; `None`: every group.
    pub groups: Option<Vec<String>>,
}

impl From<&steward_config::UserConfig> for UserAccount {
    /// A `[user:NAME]` section.
    fn from(u: &steward_config::UserConfig) -> UserAccount {
        UserAccount {
            name: u.name.clone(),
            password: u.password.clone(),
            role: u.role,
            groups: u.groups.clone(),
        }
    }
}

/// The password users of one listener.
#[derive(Debug, Default)]
pub struct Users {
    accounts: Vec<UserAccount>,
    verified: Mutex<HashMap<[u8; 32], Instant>>,
}

impl Users {
    /// `server_user`: the listener section's `username`/`password` (supervisord's rules:
    /// `{SHA}` or plain), which becomes an `admin`. `accounts`: the `[user:NAME]` users. A
    /// name given twice keeps the first (the server's user wins over a section).
    pub fn new(
        server_user: Option<(&str, &str)>,
        accounts: impl IntoIterator<Item = UserAccount>,
    ) -> Users {
        let mut all: Vec<UserAccount> = Vec::new();
        if let Some((name, password)) = server_user.filter(|(n, _)| !n.is_empty()) {
            all.push(UserAccount {
                name: name.to_string(),
                password: StoredPassword::supervisord(password),
                role: Role::Admin,
                groups: None,
            });
        }
        for a in accounts {
            if !all.iter().any(|x| x.name == a.name) {
                all.push(a);
            }
        }
        Users {
            accounts: all,
            verified: Mutex::new(HashMap::new()),
        }
    }

    /// Whether any credentials are configured (if not, the listener's anonymous rule
    /// applies: see [`crate::Listener::anonymous`]).
    pub fn is_empty(&self) -> bool {
        self.accounts.is_empty()
    }

    /// The principal for `name`/`password`, if they match a user.
    pub fn verify(&self, name: &str, password: &str) -> Option<Principal> {
        // Every account is compared so the time does not tell which names exist.
        let mut found = None;
        for a in &self.accounts {
            if ct_eq(a.name.as_bytes(), name.as_bytes()) && found.is_none() {
                found = Some(a);
            }
        }
        let account = found?;
        let ok = if account.password.is_slow() {
            let key = cache_key(name, password, &account.password);
            let now = Instant::now();
            let hit = {
                let map = self.verified.lock().unwrap_or_else(|e| e.into_inner());
                map.get(&key)
                    .is_some_and(|t| now.duration_since(*t) < SUCCESS_CACHE_TTL)
            };
            hit || {
                let ok = account.password.verify(password);
                if ok {
                    let mut map = self.verified.lock().unwrap_or_else(|e| e.into_inner());
                    if map.len() >= SUCCESS_CACHE_MAX {
                        map.clear();
                    }
                    map.insert(key, now);
                }
                ok
            }
        } else {
            account.password.verify(password)
        };
        ok.then(|| Principal {
            name: account.name.clone(),
            role: account.role,
            groups: account.groups.clone(),
            via: Via::Basic,
        })
    }

    /// The principal for an `Authorization: Basic …` header value.
    pub fn verify_basic(&self, header: &[u8]) -> Option<Principal> {
        let (user, pass) = parse_basic(header)?;
        self.verify(&user, &pass)
    }
}

/// Digest of what was verified, including the stored hash, so a changed password in a
/// reloaded config never matches an old entry.
fn cache_key(name: &str, password: &str, stored: &StoredPassword) -> [u8; 32] {
    let mut h = Sha256::new();
    for part in [name, password] {
        h.update((part.len() as u64).to_le_bytes());
        h.update(part.as_bytes());
    }
    if let StoredPassword::Argon2id(phc) = stored {
        h.update(phc.as_bytes());
    }
    h.finalize().into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::password::hash_password;
    use base64::Engine;

    fn account(name: &str, pw: &str, role: Role) -> UserAccount {
        UserAccount {
            name: name.into(),
            password: StoredPassword::parse(pw).unwrap(),
            role,
            groups: Some(vec!["web*".into()]),
        }
    }

    #[test]
    fn server_user_is_admin_and_sections_have_their_role() {
        let phc = hash_password("pw-of-alice").unwrap();
        let users = Users::new(
            Some(("root", "{SHA}82ab876d1387bfafe46cc1c8a2ef074eae50cb1d")),
            [
                account("alice", &phc, Role::Operator),
                account("root", "shadowed", Role::Viewer),
            ],
        );
        assert!(!users.is_empty());
        let root = users.verify("root", "thepassword").unwrap();
        assert_eq!(
            (root.role, root.via, root.groups),
            (Role::Admin, Via::Basic, None)
        );
        assert!(users.verify("root", "shadowed").is_none());
        let alice = users.verify("alice", "pw-of-alice").unwrap();
        assert_eq!(alice.role, Role::Operator);
        assert_eq!(alice.groups, Some(vec!["web*".to_string()]));
        // Cached success, still exact.
        assert!(users.verify("alice", "pw-of-alice").is_some());
        assert!(users.verify("alice", "pw-of-alice!").is_none());
        assert!(users.verify("bob", "pw-of-alice").is_none());
        let header = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode("alice:pw-of-alice")
        );
        assert_eq!(users.verify_basic(header.as_bytes()).unwrap().name, "alice");
        assert!(users.verify_basic(b"Basic Ym9iOng=").is_none());
    }

    #[test]
    fn no_credentials_means_empty() {
        assert!(Users::new(None, []).is_empty());
        assert!(Users::new(Some(("", "x")), []).is_empty());
        assert!(Users::new(None, []).verify("", "").is_none());
    }
}
