//! `steward crontab`: manage entries of a user's system crontab without disturbing the
//! rest of it.
//!
//! Data flow of every change: [`CrontabBinary::read`] (`crontab -l`) → an edit of the
//! [`Table`] (pure; `Unchanged` stops here, nothing is written) → [`backup`] of what was
//! read (0600, `crontab-<user>-<UTC>.txt`) → a second read that must still equal the
//! first (another writer in between aborts the change and keeps its version) →
//! `crontab -` with the new text → a third read that must equal what was installed.
//! Steward instances serialise on a lock file in the backup directory; other writers
//! (`crontab -e`, deploy tools) are caught by the compares.
//!
//! [`import`] turns crontab entries into `[cron:NAME]` sections for Steward's own
//! scheduler.

pub mod binary;
pub mod import;
pub mod table;

use std::fs;
use std::io;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

pub use binary::{CrontabBinary, Current};
pub use table::{Edit, Entry, Table, TableError};

/// The default directory of crontab backups.
pub const DEFAULT_BACKUP_DIR: &str = "/var/backups/steward";

/// What a backup file of a user who had no crontab at all holds (restoring it removes
/// the crontab again, so "no crontab" and "empty crontab" survive a round trip).
pub const NO_CRONTAB_MARKER: &str = "#!steward no-crontab\n";

#[derive(Debug, thiserror::Error)]
pub enum CrontabError {
    #[error("cannot run {program}: {source}")]
    Spawn {
        program: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("`{action}` failed (exit status {rc}): {stderr}")]
    Failed {
        action: String,
        rc: i32,
        stderr: String,
    },
    #[error(transparent)]
    Table(#[from] TableError),
    #[error(transparent)]
    Io(#[from] crate::PathIoError),
    #[error(transparent)]
    Write(#[from] crate::atomic::AtomicWriteError),
    #[error(
        "the crontab of {user} changed while steward was editing it; nothing was written and the other version is kept (backup of what steward read: {backup})"
    )]
    ChangedBeforeWrite { user: String, backup: PathBuf },
    #[error(
        "the crontab of {user} changed right after steward installed its version; the other writer's version is in place (backup: {backup})"
    )]
    ChangedAfterWrite { user: String, backup: PathBuf },
    #[error(
        "the crontab of {user} changed after it was read for the import; the imported entries were not disabled (run the import again)"
    )]
    ChangedSinceImport { user: String },
    #[error("{path}: {reason}")]
    BadBackup { path: PathBuf, reason: String },
}

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> CrontabError + '_ {
    |e| CrontabError::Io(crate::io_at(path)(e))
}

fn ensure_dir(dir: &Path) -> Result<(), CrontabError> {
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(io_err(dir))
}

/// Writes `current` to a new `crontab-<user>-<UTC time>.txt` (mode 0600) in `dir` and
/// returns its path (e.g. `crontab-root-20250103T020000.123Z.txt`).
pub fn backup(dir: &Path, user: &str, current: &Current) -> Result<PathBuf, CrontabError> {
    ensure_dir(dir)?;
    // Milliseconds, so that the names of several backups within a second sort in order.
    let stamp = jiff::Timestamp::now()
        .strftime("%Y%m%dT%H%M%S%.3fZ")
        .to_string();
    let body = match current {
        Current::None => NO_CRONTAB_MARKER,
        Current::Text(t) => t.as_str(),
    };
    // A name not taken yet (several backups in one millisecond get -2, -3, …), then the
    // one atomic write: a crash never leaves a half-written backup.
    let path = (1..)
        .map(|n| {
            dir.join(if n == 1 {
                format!("crontab-{user}-{stamp}.txt")
            } else {
                format!("crontab-{user}-{stamp}-{n}.txt")
            })
        })
        .find(|p| !p.exists())
        .expect("an unbounded range always yields");
    crate::atomic::write_atomic(&path, body.as_bytes(), 0o600)?;
    Ok(path)
}

/// An exclusive lock held for one read-modify-write (released on drop).
struct Lock(#[allow(dead_code)] fs::File);

fn lock(dir: &Path, user: &str) -> Result<Lock, CrontabError> {
    ensure_dir(dir)?;
    let path = dir.join(format!(".crontab-{user}.lock"));
    let file = fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .mode(0o600)
        .open(&path)
        .map_err(io_err(&path))?;
    // SAFETY: flock on a file descriptor we own; no memory is involved.
    if unsafe { libc::flock(std::os::fd::AsRawFd::as_raw_fd(&file), libc::LOCK_EX) } != 0 {
        return Err(io_err(&path)(io::Error::last_os_error()));
    }
    Ok(Lock(file))
}

/// What [`apply`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Applied {
    Unchanged,
    /// Installed; the backup of the previous state is at this path.
    Written {
        backup: PathBuf,
    },
}

/// The new state an edit asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    Unchanged,
    Install(String),
    /// No crontab at all (`crontab -r`): only a restore of a "no crontab" backup asks this.
    Remove,
}

impl From<Edit> for Target {
    fn from(e: Edit) -> Target {
        match e {
            Edit::Unchanged => Target::Unchanged,
            Edit::Changed(t) => Target::Install(t),
        }
    }
}

/// One guarded read-modify-write of a user's crontab (see the module docs).
pub fn apply(
    crontab: &CrontabBinary,
    backup_dir: &Path,
    edit: impl FnOnce(&Current) -> Result<Target, CrontabError>,
) -> Result<Applied, CrontabError> {
    let user = crontab.user_name();
    let _lock = lock(backup_dir, &user)?;
    let before = crontab.read()?;
    let target = edit(&before)?;
    let wanted = match &target {
        Target::Unchanged => return Ok(Applied::Unchanged),
        Target::Install(t) => Current::Text(t.clone()),
        Target::Remove => Current::None,
    };
    if wanted == before {
        return Ok(Applied::Unchanged);
    }
    let backup = backup(backup_dir, &user, &before)?;
    if crontab.read()? != before {
        return Err(CrontabError::ChangedBeforeWrite { user, backup });
    }
    match &target {
        Target::Install(t) => crontab.install(t)?,
        Target::Remove => crontab.remove()?,
        Target::Unchanged => unreachable!("returned above"),
    }
    if crontab.read()? != wanted {
        return Err(CrontabError::ChangedAfterWrite { user, backup });
    }
    Ok(Applied::Written { backup })
}

/// Reads a backup file for `restore`: the "no crontab" marker, or a crontab text with
/// CRLF line ends and a missing final newline normalised, every line checked by
/// Steward's reader and then by the `crontab` program's own check when it has one.
pub fn read_backup(crontab: &CrontabBinary, path: &Path) -> Result<Target, CrontabError> {
    let bytes = fs::read(path).map_err(io_err(path))?;
    let text = String::from_utf8(bytes).map_err(|_| CrontabError::BadBackup {
        path: path.to_path_buf(),
        reason: "not UTF-8 text".into(),
    })?;
    if text == NO_CRONTAB_MARKER {
        return Ok(Target::Remove);
    }
    let mut text = text.replace("\r\n", "\n");
    if !text.is_empty() && !text.ends_with('\n') {
        text.push('\n');
    }
    Table::parse(&text)
        .validate()
        .map_err(|e| CrontabError::BadBackup {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })?;
    if !text.is_empty() {
        let tmp =
            std::env::temp_dir().join(format!("steward-crontab-check-{}.txt", std::process::id()));
        crate::atomic::write_atomic(&tmp, text.as_bytes(), 0o600)?;
        let checked = crontab.check_file(&tmp);
        let _ = fs::remove_file(&tmp);
        checked.map_err(|e| CrontabError::BadBackup {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })?;
    }
    Ok(Target::Install(text))
}
