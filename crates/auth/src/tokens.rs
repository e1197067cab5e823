//! Bearer tokens: a JSON file of named tokens, each kept only as a hash, that the CLI
//! edits and the running daemon follows.
//!
//! A token is `stw_` + 43 characters (32 random bytes from the OS, base64url). The file
//! holds SHA-256(token), never the token: whoever reads the file (or a backup of it) cannot
//! use it. A fast unsalted hash is enough here, unlike for passwords: the input is 256 bits
//! of randomness, so there is no dictionary to try and brute force is out of reach, while
//! verification stays a single hash and a map lookup on every API request. The lookup is
//! by hash, so its timing can only tell about the hash of a guess, never about a token.
//!
//! Data flow:
//! - `steward token create|list|revoke` ([`TokenStore::create`], [`TokenStore::list`],
//!   [`TokenStore::revoke`]) take an exclusive lock on `.<file>.lock` beside the file,
//!   re-read it, change it and replace it with `steward_ops::atomic::write_atomic`
//!   (mode 0600), so two writers never lose each other's change and a failed write leaves
//!   the old file as it was.
//! - The daemon calls [`TokenStore::verify`] on every bearer request. At most every
//!   [`RELOAD_CHECK`] it `stat`s the file, and re-reads it when its inode, size or mtime
//!   changed: a revocation takes effect within that interval, without a restart. Between
//!   checks, `verify` is a hash plus a map lookup under one mutex.
//! - `verify` notes when each token was last used in memory only (a file write per request
//!   would be absurd); [`TokenStore::persist_last_used`], called by the daemon from a slow
//!   timer, merges those times into the file under the lock.
//!
//! A file that cannot be parsed makes `verify` fail closed (no token is accepted) and the
//! CLI refuse to overwrite it; [`TokenStore::load_error`] tells why.

use crate::role::{parse_group_globs, Principal, Role, Via};
use base64::Engine;
use jiff::Timestamp;
use rand::RngCore;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::fs::{self, File, OpenOptions};
use std::io;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};
use steward_config::StewardSection;

/// Every token starts with this, so it is recognisable in a leaked log or a secret scanner.
pub const TOKEN_PREFIX: &str = "stw_";
/// The file name under the state directory when the config names none.
pub const DEFAULT_FILE_NAME: &str = "tokens.json";
/// Longest interval between two checks of the file by [`TokenStore::verify`].
pub const RELOAD_CHECK: Duration = Duration::from_millis(250);
/// How often an unknown token may make the store look at its file again.
pub const MISS_RECHECK: Duration = Duration::from_millis(20);
const FILE_VERSION: u32 = 1;

/// What `token list` shows: everything about a token but the token.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct TokenInfo {
    pub name: String,
    pub role: Role,
    /// Group globs; `None`: every group.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub groups: Option<Vec<String>>,
    pub created: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_used: Option<Timestamp>,
}

impl TokenInfo {
    /// Whether the token is past its expiry at `now`.
    pub fn is_expired(&self, now: Timestamp) -> bool {
        self.expires.is_some_and(|e| e <= now)
    }
}

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
struct StoredToken {
    #[serde(flatten)]
    info: TokenInfo,
    /// Lower-case hex SHA-256 of the whole token (prefix included).
    sha256: String,
}

#[derive(Debug, serde::Serialize, serde::Deserialize)]
struct TokenFile {
    version: u32,
    tokens: Vec<StoredToken>,
}

/// Errors of the token file.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("{path}: not a valid token file: {reason}")]
    Corrupt { path: PathBuf, reason: String },
    #[error(transparent)]
    Write(#[from] steward_ops::atomic::AtomicWriteError),
    #[error("a token named '{0}' already exists (revoke it first)")]
    Exists(String),
    #[error("no token named '{0}'")]
    NotFound(String),
    #[error("bad token name '{0}': use 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit")]
    BadName(String),
    #[error("{0}")]
    BadGroups(String),
    #[error("the expiry {0} is not in the future")]
    ExpiryInPast(Timestamp),
}

/// Identity of one version of the file: an atomic replace always changes the inode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct FileId {
    dev: u64,
    ino: u64,
    len: u64,
    mtime_ns: i128,
}

impl FileId {
    fn of(meta: &fs::Metadata) -> FileId {
        FileId {
            dev: meta.dev(),
            ino: meta.ino(),
            len: meta.len(),
            mtime_ns: meta.mtime() as i128 * 1_000_000_000 + meta.mtime_nsec() as i128,
        }
    }
}

#[derive(Debug, Default)]
struct Loaded {
    tokens: Vec<StoredToken>,
    by_hash: HashMap<[u8; 32], usize>,
    /// `None`: the file did not exist.
    id: Option<FileId>,
    error: Option<String>,
}

#[derive(Debug)]
struct State {
    loaded: Loaded,
    checked_at: Instant,
    /// Last-use times noted by `verify`, not yet in the file.
    used: HashMap<String, Timestamp>,
}

/// The token file of one daemon (or of one CLI invocation). Cheap to share: wrap it in an
/// `Arc`.
#[derive(Debug)]
pub struct TokenStore {
    path: PathBuf,
    state: Mutex<State>,
}

/// The token file a config names: `[steward] token_file`, else `tokens.json` in the state
/// directory (`[steward] state_dir`, else `default_state_dir`, the daemon's default).
pub fn token_file_for(steward: &StewardSection, default_state_dir: &Path) -> PathBuf {
    steward.token_file.clone().unwrap_or_else(|| {
        TokenStore::default_path(steward.state_dir.as_deref().unwrap_or(default_state_dir))
    })
}

impl TokenStore {
    /// `<state_dir>/tokens.json`.
    pub fn default_path(state_dir: &Path) -> PathBuf {
        state_dir.join(DEFAULT_FILE_NAME)
    }

    /// Opens the store at `path` (a missing file is an empty store). Fails when the file
    /// exists but cannot be read or parsed.
    pub fn open(path: &Path) -> Result<TokenStore, TokenError> {
        let loaded = read_file(path)?;
        Ok(TokenStore {
            path: path.to_path_buf(),
            state: Mutex::new(State {
                loaded,
                checked_at: Instant::now(),
                used: HashMap::new(),
            }),
        })
    }

    /// Like [`open`](Self::open), but a broken file gives an empty store that fails closed
    /// and keeps re-checking the file (for the daemon, which must start anyway).
    pub fn open_lenient(path: &Path) -> TokenStore {
        let loaded = read_file(path).unwrap_or_else(|e| Loaded {
            error: Some(e.to_string()),
            ..Loaded::default()
        });
        TokenStore {
            path: path.to_path_buf(),
            state: Mutex::new(State {
                loaded,
                checked_at: Instant::now(),
                used: HashMap::new(),
            }),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Why the file could not be loaded the last time it was read, if it could not.
    pub fn load_error(&self) -> Option<String> {
        self.lock().loaded.error.clone()
    }

    /// Creates a token and returns it in plain text: the only time it is ever shown.
    pub fn create(
        &self,
        name: &str,
        role: Role,
        groups: Option<Vec<String>>,
        expires: Option<Timestamp>,
    ) -> Result<String, TokenError> {
        check_name(name)?;
        if let Some(g) = &groups {
            parse_group_globs(&g.join(",")).map_err(TokenError::BadGroups)?;
        }
        let now = Timestamp::now();
        if let Some(e) = expires.filter(|e| *e <= now) {
            return Err(TokenError::ExpiryInPast(e));
        }
        let token = new_token();
        let sha256 = format!("{:x}", Sha256::digest(token.as_bytes()));
        self.modify(|tokens| {
            if tokens.iter().any(|t| t.info.name == name) {
                return Err(TokenError::Exists(name.to_string()));
            }
            tokens.push(StoredToken {
                info: TokenInfo {
                    name: name.to_string(),
                    role,
                    groups,
                    created: now,
                    expires,
                    last_used: None,
                },
                sha256,
            });
            Ok(())
        })?;
        Ok(token)
    }

    /// Removes the token `name`; every daemon following the file stops accepting it within
    /// [`RELOAD_CHECK`].
    pub fn revoke(&self, name: &str) -> Result<(), TokenError> {
        self.modify(|tokens| {
            let before = tokens.len();
            tokens.retain(|t| t.info.name != name);
            if tokens.len() == before {
                return Err(TokenError::NotFound(name.to_string()));
            }
            Ok(())
        })
    }

    /// Every token as the file has it now (re-read), with the last-use times this process
    /// has seen and not yet written.
    pub fn list(&self) -> Result<Vec<TokenInfo>, TokenError> {
        let loaded = read_file(&self.path)?;
        let mut st = self.lock();
        st.loaded = loaded;
        st.checked_at = Instant::now();
        let used = &st.used;
        Ok(st
            .loaded
            .tokens
            .iter()
            .map(|t| {
                let mut info = t.info.clone();
                if let Some(u) = used.get(&info.name) {
                    info.last_used = info.last_used.max(Some(*u));
                }
                info
            })
            .collect())
    }

    /// The principal of a bearer token (the header value without `Bearer `), or `None` if
    /// it is unknown, revoked or expired.
    pub fn verify(&self, bearer: &str) -> Option<Principal> {
        self.verify_at(bearer, Timestamp::now())
    }

    /// [`verify`](Self::verify) at a given wall-clock time (for expiry tests).
    pub fn verify_at(&self, bearer: &str, now: Timestamp) -> Option<Principal> {
        if !bearer.starts_with(TOKEN_PREFIX) {
            return None;
        }
        let hash = digest(bearer);
        let mut st = self.lock();
        let tick = Instant::now();
        if tick.duration_since(st.checked_at) >= RELOAD_CHECK {
            self.refresh(&mut st, tick);
        }
        // A token made a moment ago (`steward token create` in a deploy script, then its
        // first call) is found without waiting for the next periodic check; misses re-check
        // at most every MISS_RECHECK, so a flood of bad tokens costs one stat per interval.
        if !st.loaded.by_hash.contains_key(&hash)
            && tick.duration_since(st.checked_at) >= MISS_RECHECK
        {
            self.refresh(&mut st, tick);
        }
        let &i = st.loaded.by_hash.get(&hash)?;
        let info = &st.loaded.tokens[i].info;
        if info.is_expired(now) {
            return None;
        }
        let principal = Principal {
            name: info.name.clone(),
            role: info.role,
            groups: info.groups.clone(),
            via: Via::Token,
        };
        st.used.insert(principal.name.clone(), now);
        Some(principal)
    }

    /// Re-reads the file if it changed since it was last read.
    fn refresh(&self, st: &mut State, tick: Instant) {
        st.checked_at = tick;
        let current = fs::metadata(&self.path).ok().map(|m| FileId::of(&m));
        if current != st.loaded.id || st.loaded.error.is_some() {
            st.loaded = read_file(&self.path).unwrap_or_else(|e| Loaded {
                id: current,
                error: Some(e.to_string()),
                ..Loaded::default()
            });
        }
    }

    /// Writes the last-use times noted by [`verify`](Self::verify) into the file (under the
    /// lock, merged with whatever the file holds now). Does nothing when there are none.
    pub fn persist_last_used(&self) -> Result<(), TokenError> {
        let used = std::mem::take(&mut self.lock().used);
        if used.is_empty() {
            return Ok(());
        }
        let result = self.modify(|tokens| {
            for t in tokens.iter_mut() {
                if let Some(u) = used.get(&t.info.name) {
                    t.info.last_used = t.info.last_used.max(Some(*u));
                }
            }
            Ok(())
        });
        if result.is_err() {
            // Keep them for the next try.
            let mut st = self.lock();
            for (k, v) in used {
                let e = st.used.entry(k).or_insert(v);
                *e = (*e).max(v);
            }
        }
        result
    }

    /// Read-modify-write of the file under the writers' lock.
    fn modify(
        &self,
        change: impl FnOnce(&mut Vec<StoredToken>) -> Result<(), TokenError>,
    ) -> Result<(), TokenError> {
        let dir = self
            .path
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(|source| TokenError::Io {
                path: dir.to_path_buf(),
                source,
            })?;
        let _lock = lock_file(&lock_path(&self.path))?;
        let mut loaded = read_file(&self.path)?;
        change(&mut loaded.tokens)?;
        let file = TokenFile {
            version: FILE_VERSION,
            tokens: loaded.tokens,
        };
        let mut bytes = serde_json::to_vec_pretty(&file).expect("token file serializes");
        bytes.push(b'\n');
        steward_ops::atomic::write_atomic(&self.path, &bytes, 0o600)?;
        let mut st = self.lock();
        st.loaded = index(
            file.tokens,
            fs::metadata(&self.path).ok().map(|m| FileId::of(&m)),
        );
        st.checked_at = Instant::now();
        Ok(())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

fn lock_path(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!(".{name}.lock"))
}

/// An exclusive `flock` held until the returned value is dropped.
fn lock_file(path: &Path) -> Result<nix::fcntl::Flock<File>, TokenError> {
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)
        .map_err(|source| TokenError::Io {
            path: path.to_path_buf(),
            source,
        })?;
    nix::fcntl::Flock::lock(file, nix::fcntl::FlockArg::LockExclusive).map_err(|(_, errno)| {
        TokenError::Io {
            path: path.to_path_buf(),
            source: io::Error::from(errno),
        }
    })
}

fn read_file(path: &Path) -> Result<Loaded, TokenError> {
    let io_err = |source| TokenError::Io {
        path: path.to_path_buf(),
        source,
    };
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Loaded::default()),
        Err(e) => return Err(io_err(e)),
    };
    // The identity of what is read, taken from the open file so a concurrent replace
    // cannot pair new contents with an old identity.
    let id = FileId::of(&file.metadata().map_err(io_err)?);
    let bytes = io::read_to_string(file).map_err(io_err)?;
    let corrupt = |reason: String| TokenError::Corrupt {
        path: path.to_path_buf(),
        reason,
    };
    if bytes.trim().is_empty() {
        return Ok(index(Vec::new(), Some(id)));
    }
    let parsed: TokenFile = serde_json::from_str(&bytes).map_err(|e| corrupt(e.to_string()))?;
    if parsed.version != FILE_VERSION {
        return Err(corrupt(format!(
            "version {} (this steward reads version {FILE_VERSION})",
            parsed.version
        )));
    }
    for t in &parsed.tokens {
        if t.sha256.len() != 64 || !t.sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(corrupt(format!("token '{}': bad sha256", t.info.name)));
        }
    }
    Ok(index(parsed.tokens, Some(id)))
}

fn index(tokens: Vec<StoredToken>, id: Option<FileId>) -> Loaded {
    let by_hash = tokens
        .iter()
        .enumerate()
        .filter_map(|(i, t)| unhex32(&t.sha256).map(|h| (h, i)))
        .collect();
    Loaded {
        tokens,
        by_hash,
        id,
        error: None,
    }
}

fn unhex32(s: &str) -> Option<[u8; 32]> {
    let mut out = [0u8; 32];
    if s.len() != 64 {
        return None;
    }
    for (i, o) in out.iter_mut().enumerate() {
        *o = u8::from_str_radix(s.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(out)
}

fn digest(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

fn new_token() -> String {
    let mut raw = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut raw);
    format!(
        "{TOKEN_PREFIX}{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw)
    )
}

fn check_name(name: &str) -> Result<(), TokenError> {
    let ok = (1..=64).contains(&name.len())
        && name.as_bytes()[0].is_ascii_alphanumeric()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    if ok {
        Ok(())
    } else {
        Err(TokenError::BadName(name.to_string()))
    }
}

/// Parses a `--expires` value relative to `now`: a span (`90m`, `12h`, `30d`, `2w`), a date
/// (`2027-01-01`, meaning 00:00 UTC that day) or an RFC 3339 time
/// (`2027-01-01T12:00:00Z`). The result must be after `now`.
pub fn parse_expiry(value: &str, now: Timestamp) -> Result<Timestamp, String> {
    let v = value.trim();
    let bad = || {
        format!(
            "invalid expiry '{value}': expected a span like 30d, 12h, 90m, 2w, a date like 2027-01-01 or a time like 2027-01-01T12:00:00Z"
        )
    };
    let at = if let Some(unit) = v.chars().last().filter(|c| c.is_ascii_alphabetic()) {
        if v.len() > 1 && v[..v.len() - 1].bytes().all(|b| b.is_ascii_digit()) {
            let n: i64 = v[..v.len() - 1].parse().map_err(|_| bad())?;
            let secs = match unit {
                's' => 1,
                'm' => 60,
                'h' => 3600,
                'd' => 86_400,
                'w' => 7 * 86_400,
                _ => return Err(bad()),
            };
            let span = jiff::SignedDuration::from_secs(n.checked_mul(secs).ok_or_else(bad)?);
            now.checked_add(span).map_err(|_| bad())?
        } else {
            v.parse::<Timestamp>().map_err(|_| bad())?
        }
    } else if let Ok(at) = v.parse::<Timestamp>() {
        at
    } else if v.len() == 10 {
        // A bare date (jiff's date parser would also accept a date-time and drop the time).
        v.parse::<jiff::civil::Date>()
            .map_err(|_| bad())?
            .to_zoned(jiff::tz::TimeZone::UTC)
            .map_err(|_| bad())?
            .timestamp()
    } else {
        return Err(bad());
    };
    if at <= now {
        return Err(format!("the expiry {value} ({at}) is not in the future"));
    }
    Ok(at)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn store() -> (tempfile::TempDir, TokenStore) {
        let dir = tempfile::tempdir().unwrap();
        let s = TokenStore::open(&TokenStore::default_path(&dir.path().join("state"))).unwrap();
        (dir, s)
    }

    #[test]
    fn create_verify_list_revoke() {
        let (_d, s) = store();
        assert!(s.list().unwrap().is_empty());
        let t = s
            .create("ci", Role::Operator, Some(vec!["web*".into()]), None)
            .unwrap();
        assert!(t.starts_with("stw_") && t.len() == 4 + 43, "{t}");
        let p = s.verify(&t).unwrap();
        assert_eq!(
            (p.name.as_str(), p.role, p.via),
            ("ci", Role::Operator, Via::Token)
        );
        assert_eq!(p.groups, Some(vec!["web*".to_string()]));
        assert!(s.verify(&format!("{t}x")).is_none());
        assert!(s.verify("stw_").is_none());
        assert!(s.verify(&t[4..]).is_none());

        let bytes = fs::read_to_string(s.path()).unwrap();
        assert!(!bytes.contains(&t[4..]), "plaintext token in the file");
        assert!(bytes.contains(&format!("{:x}", Sha256::digest(t.as_bytes()))));
        let mode = fs::metadata(s.path()).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);

        let list = s.list().unwrap();
        assert_eq!(list.len(), 1);
        assert_eq!(list[0].name, "ci");
        assert!(list[0].last_used.is_some(), "noted in memory");
        assert!(matches!(
            s.create("ci", Role::Viewer, None, None),
            Err(TokenError::Exists(_))
        ));
        s.revoke("ci").unwrap();
        assert!(s.verify(&t).is_none());
        assert!(matches!(s.revoke("ci"), Err(TokenError::NotFound(_))));
    }

    #[test]
    fn bad_names_groups_and_expiry_are_refused() {
        let (_d, s) = store();
        for bad in ["", "-x", "a b", "x/y", &"a".repeat(65)] {
            assert!(
                matches!(
                    s.create(bad, Role::Viewer, None, None),
                    Err(TokenError::BadName(_))
                ),
                "{bad:?}"
            );
        }
        assert!(matches!(
            s.create("g", Role::Viewer, Some(vec!["[x".into()]), None),
            Err(TokenError::BadGroups(_))
        ));
        let past = Timestamp::now() - jiff::SignedDuration::from_secs(1);
        assert!(matches!(
            s.create("e", Role::Viewer, None, Some(past)),
            Err(TokenError::ExpiryInPast(_))
        ));
        assert!(!s.path().exists(), "nothing was written");
    }

    #[test]
    fn expired_tokens_do_not_verify() {
        let (_d, s) = store();
        let now = Timestamp::now();
        let exp = now + jiff::SignedDuration::from_secs(3600);
        let t = s.create("short", Role::Admin, None, Some(exp)).unwrap();
        assert!(s.verify_at(&t, now).is_some());
        assert!(s
            .verify_at(&t, exp - jiff::SignedDuration::from_secs(1))
            .is_some());
        assert!(s.verify_at(&t, exp).is_none());
        assert!(s.list().unwrap()[0].is_expired(exp));
    }

    #[test]
    fn another_writer_is_seen_within_the_reload_interval() {
        let (_d, daemon) = store();
        let cli = TokenStore::open(daemon.path()).unwrap();
        let t = cli.create("deploy", Role::Operator, None, None).unwrap();
        let deadline = Instant::now() + Duration::from_secs(1);
        while daemon.verify(&t).is_none() {
            assert!(Instant::now() < deadline, "new token not seen within 1 s");
            std::thread::sleep(Duration::from_millis(20));
        }
        let revoked_at = Instant::now();
        TokenStore::open(daemon.path())
            .unwrap()
            .revoke("deploy")
            .unwrap();
        while daemon.verify(&t).is_some() {
            assert!(
                revoked_at.elapsed() < Duration::from_secs(1),
                "revocation not effective within 1 s"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    #[test]
    fn last_used_is_persisted_and_merged() {
        let (_d, s) = store();
        let t = s.create("a", Role::Viewer, None, None).unwrap();
        s.create("b", Role::Viewer, None, None).unwrap();
        s.persist_last_used().unwrap(); // nothing noted yet: no write
        assert!(s.verify(&t).is_some());
        s.persist_last_used().unwrap();
        let other = TokenStore::open(s.path()).unwrap();
        let list = other.list().unwrap();
        assert!(list
            .iter()
            .find(|i| i.name == "a")
            .unwrap()
            .last_used
            .is_some());
        assert!(list
            .iter()
            .find(|i| i.name == "b")
            .unwrap()
            .last_used
            .is_none());
    }

    #[test]
    fn a_corrupt_file_fails_closed_and_is_not_overwritten() {
        let (_d, s) = store();
        let t = s.create("a", Role::Viewer, None, None).unwrap();
        fs::write(s.path(), b"{ not json").unwrap();
        assert!(matches!(
            TokenStore::open(s.path()),
            Err(TokenError::Corrupt { .. })
        ));
        assert!(matches!(
            s.create("b", Role::Viewer, None, None),
            Err(TokenError::Corrupt { .. })
        ));
        assert_eq!(fs::read(s.path()).unwrap(), b"{ not json");
        let lenient = TokenStore::open_lenient(s.path());
        assert!(lenient
            .load_error()
            .unwrap()
            .contains("not a valid token file"));
        assert!(lenient.verify(&t).is_none());
        // The running store notices the broken file at its next check and fails closed.
        let deadline = Instant::now() + Duration::from_secs(1);
        while s.verify(&t).is_some() {
            assert!(Instant::now() < deadline);
            std::thread::sleep(Duration::from_millis(20));
        }
        assert!(s.load_error().is_some());
    }

    #[test]
    fn the_config_names_the_file() {
        let default = Path::new("/var/lib/steward");
        let mut s = StewardSection::default();
        assert_eq!(
            token_file_for(&s, default),
            Path::new("/var/lib/steward/tokens.json")
        );
        s.state_dir = Some("/srv/st".into());
        assert_eq!(
            token_file_for(&s, default),
            Path::new("/srv/st/tokens.json")
        );
        s.token_file = Some("/etc/steward/tokens.json".into());
        assert_eq!(
            token_file_for(&s, default),
            Path::new("/etc/steward/tokens.json")
        );
    }

    #[test]
    fn expiry_values() {
        let now: Timestamp = "2026-06-01T00:00:00Z".parse().unwrap();
        let p = |v| parse_expiry(v, now);
        assert_eq!(p("30d").unwrap().to_string(), "2026-07-01T00:00:00Z");
        assert_eq!(p("12h").unwrap().to_string(), "2026-06-01T12:00:00Z");
        assert_eq!(p("90m").unwrap().to_string(), "2026-06-01T01:30:00Z");
        assert_eq!(p("2w").unwrap().to_string(), "2026-06-15T00:00:00Z");
        assert_eq!(p("2027-01-01").unwrap().to_string(), "2027-01-01T00:00:00Z");
        assert_eq!(
            p("2027-01-01T12:00:00+02:00").unwrap().to_string(),
            "2027-01-01T10:00:00Z"
        );
        assert!(p("2026-01-01").unwrap_err().contains("not in the future"));
        assert!(p("0d").unwrap_err().contains("not in the future"));
        for bad in [
            "",
            "d",
            "30x",
            "soon",
            "30 d",
            "99999999999999999w",
            "2027-01-01T12:00:00",
            "2027-13-01",
        ] {
            assert!(p(bad).unwrap_err().contains("invalid expiry"), "{bad:?}");
        }
    }
}
