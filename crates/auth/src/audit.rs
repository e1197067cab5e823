//! The audit log: one record per state-changing request (who, from where, did what to
//! what, with which result), kept across restarts in `<state_dir>/audit.jsonl`.
//!
//! Format: JSON lines, one [`AuditRecord`] each, oldest first, with an `id` that grows by
//! one per record and serves as the paging cursor of [`AuditLog::recent`].
//!
//! Data flow:
//! - [`AuditLog::append`] takes an exclusive `flock` on the file (the daemon and a CLI
//!   command may both write), re-scans it only if someone else changed it since our last
//!   write (to continue their ids), appends the line with one `write` on an `O_APPEND`
//!   descriptor and `fsync`s it before returning: a record that was acknowledged survives
//!   a crash. It blocks on disk I/O: call it from a blocking thread in async code.
//! - When the file holds more than `max + max/10` records it is compacted to the newest
//!   `max` (default [`DEFAULT_MAX_RECORDS`]) by writing a new file and renaming it over the
//!   old one (`steward_ops::atomic::write_atomic`); the slack keeps compaction to one
//!   rewrite per `max/10` appends instead of one per append. A writer holding the old file
//!   notices the new inode after taking the lock and reopens.
//! - [`AuditLog::recent`] reads the file and returns the newest records first. A line that
//!   does not parse (a record torn by a crash mid-write, or a hand edit) is skipped, never
//!   an error; the next append starts on a fresh line.

use jiff::Timestamp;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// The file name under the state directory.
pub const DEFAULT_FILE_NAME: &str = "audit.jsonl";
/// Records kept by default.
pub const DEFAULT_MAX_RECORDS: usize = 10_000;

/// What happened, as the caller describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    /// The principal's name (`anonymous` for a listener without credentials).
    pub actor: String,
    /// The client: `ip:port` for TCP, `unix` for the UNIX socket, `cli` for a local command.
    pub source: String,
    /// What was asked, e.g. `process.start`, `reload`, `token.revoke`.
    pub action: String,
    /// What it was asked of, e.g. `web:web_0` (empty when nothing in particular).
    pub target: String,
    /// `ok`, or the error code (`ALREADY_STARTED`, `FORBIDDEN`, …).
    pub result: String,
}

/// One stored record.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct AuditRecord {
    /// Position in the log (1 for the first record ever); the `before` cursor of
    /// [`AuditLog::recent`].
    pub id: u64,
    pub time: Timestamp,
    pub actor: String,
    pub source: String,
    pub action: String,
    pub target: String,
    pub result: String,
}

/// Errors of the audit file.
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error(transparent)]
    Write(#[from] steward_ops::atomic::AtomicWriteError),
}

#[derive(Debug, Default)]
struct Tail {
    /// (inode, length) of the file after our last write or scan.
    seen: Option<(u64, u64)>,
    last_id: u64,
    records: usize,
    ends_with_newline: bool,
}

/// An append-only, bounded audit log file.
#[derive(Debug)]
pub struct AuditLog {
    path: PathBuf,
    max: usize,
    tail: Mutex<Tail>,
}

/// The audit log of a config: `audit.jsonl` in the state directory (`[steward] state_dir`,
/// else `default_state_dir`, the daemon's default).
pub fn audit_file_for(
    steward: &steward_config::StewardSection,
    default_state_dir: &Path,
) -> PathBuf {
    AuditLog::default_path(steward.state_dir.as_deref().unwrap_or(default_state_dir))
}

impl AuditLog {
    /// `<state_dir>/audit.jsonl`.
    pub fn default_path(state_dir: &Path) -> PathBuf {
        state_dir.join(DEFAULT_FILE_NAME)
    }

    /// Opens (creating it and its directory, mode 0700, if needed) the log at `path`,
    /// keeping at most about `max` records (at least 1).
    pub fn open(path: &Path, max: usize) -> Result<AuditLog, AuditError> {
        let log = AuditLog {
            path: path.to_path_buf(),
            max: max.max(1),
            tail: Mutex::new(Tail::default()),
        };
        log.open_file()?;
        Ok(log)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends a record stamped now; returns it with its id once it is on disk.
    pub fn append(&self, entry: AuditEntry) -> Result<AuditRecord, AuditError> {
        self.append_at(entry, Timestamp::now())
    }

    pub fn append_at(&self, entry: AuditEntry, time: Timestamp) -> Result<AuditRecord, AuditError> {
        let mut tail = self.lock();
        // Opened per record (audit records are rare; an open is cheap next to the fsync),
        // so a compaction by another process is seen without keeping a stale descriptor.
        let mut locked = self.flock(self.open_file()?)?;
        loop {
            // Someone compacted (renamed a new file over this one) before we got the lock:
            // write to the file that is at the path now.
            let ours = locked.metadata().map_err(self.io())?;
            match fs::metadata(&self.path) {
                Ok(m) if m.ino() == ours.ino() && m.dev() == ours.dev() => break,
                _ => locked = self.flock(self.open_file()?)?,
            }
        }
        let record = self.append_locked(&mut tail, &mut locked, entry, time)?;
        if tail.records > self.max + self.max / 10 {
            // The record is on disk whatever happens here; a failed compaction is retried
            // at the next append.
            let _ = self.compact(&mut locked, &mut tail);
        }
        Ok(record)
    }

    fn append_locked(
        &self,
        tail: &mut Tail,
        file: &mut File,
        entry: AuditEntry,
        time: Timestamp,
    ) -> Result<AuditRecord, AuditError> {
        let meta = file.metadata().map_err(self.io())?;
        if tail.seen != Some((meta.ino(), meta.len())) {
            *tail = scan(&read_all(file).map_err(self.io())?);
        }
        let record = AuditRecord {
            id: tail.last_id + 1,
            time,
            actor: entry.actor,
            source: entry.source,
            action: entry.action,
            target: entry.target,
            result: entry.result,
        };
        let mut line = Vec::with_capacity(256);
        if !tail.ends_with_newline {
            line.push(b'\n');
        }
        serde_json::to_writer(&mut line, &record).expect("audit record serializes");
        line.push(b'\n');
        file.write_all(&line).map_err(self.io())?;
        file.sync_data().map_err(self.io())?;
        tail.last_id = record.id;
        tail.records += 1;
        tail.ends_with_newline = true;
        tail.seen = Some((meta.ino(), meta.len() + line.len() as u64));
        Ok(record)
    }

    /// Rewrites the file with its newest `max` records (the caller holds the lock).
    fn compact(&self, file: &mut File, tail: &mut Tail) -> Result<(), AuditError> {
        let text = read_all(file).map_err(self.io())?;
        let lines: Vec<&str> = text
            .lines()
            .filter(|l| serde_json::from_str::<AuditRecord>(l).is_ok())
            .collect();
        let keep = &lines[lines.len().saturating_sub(self.max)..];
        let mut out = String::with_capacity(keep.iter().map(|l| l.len() + 1).sum());
        for l in keep {
            out.push_str(l);
            out.push('\n');
        }
        steward_ops::atomic::write_atomic(&self.path, out.as_bytes(), 0o600)?;
        *tail = Tail {
            seen: None,
            records: keep.len(),
            ..*tail
        };
        Ok(())
    }

    /// Up to `limit` records, newest first, with `id < before` when a cursor is given.
    pub fn recent(
        &self,
        limit: usize,
        before: Option<u64>,
    ) -> Result<Vec<AuditRecord>, AuditError> {
        let text = match fs::read(&self.path) {
            Ok(b) => String::from_utf8_lossy(&b).into_owned(),
            Err(e) if e.kind() == io::ErrorKind::NotFound => String::new(),
            Err(e) => return Err(self.io()(e)),
        };
        Ok(text
            .lines()
            .rev()
            .filter_map(|l| serde_json::from_str::<AuditRecord>(l).ok())
            .filter(|r| before.is_none_or(|b| r.id < b))
            .take(limit)
            .collect())
    }

    fn open_file(&self) -> Result<File, AuditError> {
        if let Some(dir) = self.path.parent().filter(|d| !d.as_os_str().is_empty()) {
            fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(dir)
                .map_err(|source| AuditError::Io {
                    path: dir.to_path_buf(),
                    source,
                })?;
        }
        OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
            .open(&self.path)
            .map_err(self.io())
    }

    fn flock(&self, file: File) -> Result<nix::fcntl::Flock<File>, AuditError> {
        nix::fcntl::Flock::lock(file, nix::fcntl::FlockArg::LockExclusive).map_err(|(_, e)| {
            AuditError::Io {
                path: self.path.clone(),
                source: e.into(),
            }
        })
    }

    fn io(&self) -> impl FnOnce(io::Error) -> AuditError + '_ {
        |source| AuditError::Io {
            path: self.path.clone(),
            source,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Tail> {
        self.tail.lock().unwrap_or_else(|e| e.into_inner())
    }
}

fn read_all(mut file: &File) -> io::Result<String> {
    use std::io::Seek;
    let mut bytes = Vec::new();
    file.seek(io::SeekFrom::Start(0))?;
    file.read_to_end(&mut bytes)?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

fn scan(text: &str) -> Tail {
    let mut tail = Tail {
        ends_with_newline: text.is_empty() || text.ends_with('\n'),
        ..Tail::default()
    };
    for line in text.lines() {
        if let Ok(r) = serde_json::from_str::<AuditRecord>(line) {
            tail.records += 1;
            tail.last_id = tail.last_id.max(r.id);
        }
    }
    tail
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn entry(action: &str, target: &str) -> AuditEntry {
        AuditEntry {
            actor: "alice".into(),
            source: "127.0.0.1:4242".into(),
            action: action.into(),
            target: target.into(),
            result: "ok".into(),
        }
    }

    fn ids(records: &[AuditRecord]) -> Vec<u64> {
        records.iter().map(|r| r.id).collect()
    }

    #[test]
    fn lives_in_the_state_dir() {
        let mut s = steward_config::StewardSection::default();
        let default = Path::new("/var/lib/steward");
        assert_eq!(
            audit_file_for(&s, default),
            Path::new("/var/lib/steward/audit.jsonl")
        );
        s.state_dir = Some("/srv/st".into());
        s.token_file = Some("/elsewhere/t.json".into());
        assert_eq!(
            audit_file_for(&s, default),
            Path::new("/srv/st/audit.jsonl")
        );
    }

    #[test]
    fn append_and_page_newest_first() {
        let dir = tempfile::tempdir().unwrap();
        let path = AuditLog::default_path(&dir.path().join("state"));
        let log = AuditLog::open(&path, 100).unwrap();
        assert!(log.recent(10, None).unwrap().is_empty());
        for i in 0..7 {
            let r = log
                .append(entry("process.start", &format!("web:{i}")))
                .unwrap();
            assert_eq!(r.id, i + 1);
        }
        let page = log.recent(3, None).unwrap();
        assert_eq!(ids(&page), [7, 6, 5]);
        assert_eq!(page[0].target, "web:6");
        assert_eq!(page[0].actor, "alice");
        let next = log.recent(3, Some(page[2].id)).unwrap();
        assert_eq!(ids(&next), [4, 3, 2]);
        assert_eq!(ids(&log.recent(3, Some(2)).unwrap()), [1]);
        let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }

    #[test]
    fn kept_across_reopen_and_shared_between_writers() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.jsonl");
        let daemon = AuditLog::open(&path, 100).unwrap();
        daemon.append(entry("reload", "")).unwrap();
        let cli = AuditLog::open(&path, 100).unwrap();
        assert_eq!(cli.append(entry("token.create", "ci")).unwrap().id, 2);
        assert_eq!(daemon.append(entry("process.stop", "web")).unwrap().id, 3);
        drop((daemon, cli));
        let again = AuditLog::open(&path, 100).unwrap();
        assert_eq!(again.append(entry("shutdown", "")).unwrap().id, 4);
        let all = again.recent(100, None).unwrap();
        assert_eq!(ids(&all), [4, 3, 2, 1]);
        assert_eq!(all[2].action, "token.create");
    }

    #[test]
    fn a_torn_last_line_is_skipped_and_not_glued_to_the_next() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.jsonl");
        let log = AuditLog::open(&path, 100).unwrap();
        log.append(entry("a", "")).unwrap();
        log.append(entry("b", "")).unwrap();
        // A crash in the middle of the third write.
        let mut f = OpenOptions::new().append(true).open(&path).unwrap();
        f.write_all(br#"{"id":3,"time":"2026-01-01T00:00:00Z","actor":"x","sou"#)
            .unwrap();
        drop(f);
        let reopened = AuditLog::open(&path, 100).unwrap();
        assert_eq!(ids(&reopened.recent(10, None).unwrap()), [2, 1]);
        let r = reopened.append(entry("c", "")).unwrap();
        assert_eq!(r.id, 3);
        let all = reopened.recent(10, None).unwrap();
        assert_eq!(ids(&all), [3, 2, 1]);
        assert_eq!(all[0].action, "c");
        // The torn fragment is still skipped by the writer that did not see it happen.
        assert_eq!(log.append(entry("d", "")).unwrap().id, 4);
    }

    #[test]
    fn compaction_keeps_the_newest_records_and_their_ids() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.jsonl");
        let log = AuditLog::open(&path, 20).unwrap();
        let other = AuditLog::open(&path, 20).unwrap();
        for i in 0..100u64 {
            let w = if i % 3 == 0 { &other } else { &log };
            assert_eq!(w.append(entry("x", &i.to_string())).unwrap().id, i + 1);
            let lines = fs::read_to_string(&path).unwrap().lines().count();
            assert!(lines <= 22, "{lines} lines after {i}");
        }
        let all = log.recent(1000, None).unwrap();
        assert!((20..=22).contains(&all.len()), "{}", all.len());
        assert_eq!(all[0].id, 100);
        assert_eq!(all[0].target, "99");
        assert!(ids(&all).windows(2).all(|w| w[0] == w[1] + 1));
        assert_eq!(
            fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }

    #[test]
    fn a_missing_log_is_empty_and_a_fresh_one_starts_at_one() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.jsonl");
        let log = AuditLog::open(&path, 10).unwrap();
        fs::remove_file(&path).unwrap();
        assert!(log.recent(5, None).unwrap().is_empty());
        assert_eq!(log.append(entry("a", "")).unwrap().id, 1);
        assert_eq!(ids(&log.recent(5, None).unwrap()), [1]);
    }
}
