//! Atomic file replacement: a reader (the daemon's `reread`, logrotate, cron) sees either
//! the old bytes or the new ones, never a half-written file, and a failed write leaves the
//! old file untouched.
//!
//! The temporary file lives in the target's directory (a rename must not cross file
//! systems) under a name that starts with `.` and ends in `.steward.dpkg-tmp`, so include
//! globs such as `conf.d/*.conf` never pick it up half-written, and neither does
//! logrotate's directory scan (which reads dotfiles and `*.tmp`, but skips its "taboo"
//! extensions, `.dpkg-tmp` among them).

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// What [`write_atomic`] did to the target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteOutcome {
    /// The file did not exist and was created.
    Created,
    /// The file existed with other bytes and was replaced.
    Replaced,
    /// The file already held exactly these bytes; nothing was written (its mtime is kept).
    Unchanged,
}

/// Errors of [`write_atomic`], naming the path that failed.
#[derive(Debug, thiserror::Error)]
pub enum AtomicWriteError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("{0}: has no parent directory")]
    NoParent(PathBuf),
}

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> AtomicWriteError + '_ {
    move |source| AtomicWriteError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// The temporary name used while `target` is being written.
pub fn temp_path_for(target: &Path) -> Option<PathBuf> {
    let dir = target.parent()?;
    let name = target.file_name()?.to_string_lossy();
    Some(dir.join(format!(".{name}.{}.steward.dpkg-tmp", std::process::id())))
}

/// Replaces `target` with `contents` (mode `mode`), unless it already holds exactly those
/// bytes. Steps: write a temp file beside it, fsync it, rename it over the target, fsync
/// the directory. On any error the temp file is removed and the target is as it was.
pub fn write_atomic(
    target: &Path,
    contents: &[u8],
    mode: u32,
) -> Result<WriteOutcome, AtomicWriteError> {
    write_atomic_batch(&[(target, contents, mode)]).map(|outcomes| outcomes[0])
}

/// One file of a batch: target, contents, mode.
pub type BatchItem<'a> = (&'a Path, &'a [u8], u32);

/// A temp file written and fsynced, waiting for its rename.
struct Staged<'a> {
    index: usize,
    tmp: PathBuf,
    target: &'a Path,
    existed: bool,
}

/// How many temp files are open (and fsynced concurrently) at a time.
const BATCH_CHUNK: usize = 128;

/// [`write_atomic`] for many files: each file is replaced atomically exactly as there,
/// but the temp files' fsyncs run concurrently (the file system's journal commits many
/// at once, where one after the other each waits for its own commit) and each directory
/// is fsynced once, after every rename. Files with the same bytes are left alone. On an
/// error before the renames no target changes; during them, targets already renamed
/// keep their new bytes and the rest keep their old ones; every temp file is removed.
pub fn write_atomic_batch(items: &[BatchItem<'_>]) -> Result<Vec<WriteOutcome>, AtomicWriteError> {
    let mut outcomes = vec![WriteOutcome::Unchanged; items.len()];
    let mut staged: Vec<Staged<'_>> = Vec::new();
    let cleanup = |staged: &[Staged<'_>]| {
        for s in staged {
            let _ = fs::remove_file(&s.tmp);
        }
    };
    let mut pending: Vec<(usize, File)> = Vec::new();
    for (index, &(target, contents, mode)) in items.iter().enumerate() {
        let step = (|| {
            let existed = match fs::read(target) {
                Ok(old) if old == contents => {
                    // Same bytes: keep the mtime, but the mode still has to be right.
                    let meta = fs::metadata(target).map_err(io_err(target))?;
                    if meta.permissions().mode() & 0o7777 != mode {
                        fs::set_permissions(target, fs::Permissions::from_mode(mode))
                            .map_err(io_err(target))?;
                    }
                    return Ok(None);
                }
                Ok(_) => true,
                Err(e) if e.kind() == io::ErrorKind::NotFound => false,
                Err(e) => return Err(io_err(target)(e)),
            };
            let tmp =
                temp_path_for(target).ok_or_else(|| AtomicWriteError::NoParent(target.into()))?;
            let mut file = OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(mode)
                .custom_flags(libc::O_NOFOLLOW)
                .open(&tmp)
                .map_err(io_err(&tmp))?;
            staged.push(Staged {
                index,
                tmp: tmp.clone(),
                target,
                existed,
            });
            file.write_all(contents).map_err(io_err(&tmp))?;
            // The umask may have narrowed the mode given to open(2).
            file.set_permissions(fs::Permissions::from_mode(mode))
                .map_err(io_err(&tmp))?;
            Ok(Some(file))
        })();
        match step {
            Ok(Some(file)) => pending.push((staged.len() - 1, file)),
            Ok(None) => {}
            Err(e) => {
                cleanup(&staged);
                return Err(e);
            }
        }
        if pending.len() >= BATCH_CHUNK || (index + 1 == items.len() && !pending.is_empty()) {
            if let Err(e) = sync_concurrently(&mut pending, &staged) {
                cleanup(&staged);
                return Err(e);
            }
        }
    }
    let mut dirs: Vec<&Path> = Vec::new();
    for (n, s) in staged.iter().enumerate() {
        if let Err(e) = fs::rename(&s.tmp, s.target) {
            cleanup(&staged[n..]);
            return Err(io_err(s.target)(e));
        }
        outcomes[s.index] = if s.existed {
            WriteOutcome::Replaced
        } else {
            WriteOutcome::Created
        };
        let dir = s
            .target
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        if !dirs.contains(&dir) {
            dirs.push(dir);
        }
    }
    for dir in dirs {
        File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(io_err(dir))?;
    }
    Ok(outcomes)
}

/// fsyncs (and closes) every pending temp file, a few threads at a time.
fn sync_concurrently(
    pending: &mut Vec<(usize, File)>,
    staged: &[Staged<'_>],
) -> Result<(), AtomicWriteError> {
    let files = std::mem::take(pending);
    if files.len() == 1 {
        let (i, f) = &files[0];
        return f.sync_all().map_err(io_err(&staged[*i].tmp));
    }
    let threads = files.len().clamp(1, 16);
    let per = files.len().div_ceil(threads);
    std::thread::scope(|scope| {
        let handles: Vec<_> = files
            .chunks(per)
            .map(|chunk| {
                scope.spawn(move || {
                    for (i, f) in chunk {
                        f.sync_all().map_err(io_err(&staged[*i].tmp))?;
                    }
                    Ok::<(), AtomicWriteError>(())
                })
            })
            .collect();
        handles
            .into_iter()
            .try_for_each(|h| h.join().expect("fsync thread"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn creates_replaces_and_leaves_same_bytes_alone() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.conf");
        assert_eq!(
            write_atomic(&path, b"one\n", 0o644).unwrap(),
            WriteOutcome::Created
        );
        let mtime = fs::metadata(&path).unwrap().modified().unwrap();
        assert_eq!(
            write_atomic(&path, b"one\n", 0o644).unwrap(),
            WriteOutcome::Unchanged
        );
        assert_eq!(fs::metadata(&path).unwrap().modified().unwrap(), mtime);
        assert_eq!(
            write_atomic(&path, b"two\n", 0o600).unwrap(),
            WriteOutcome::Replaced
        );
        assert_eq!(fs::read(&path).unwrap(), b"two\n");
        assert_eq!(
            fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
        let leftovers: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .filter(|n| n.to_string_lossy().contains(".steward."))
            .collect();
        assert!(leftovers.is_empty(), "{leftovers:?}");
    }

    #[test]
    fn failed_write_keeps_the_old_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.conf");
        fs::write(&path, b"old\n").unwrap();
        // A temp file that already exists (create_new fails) stands in for any I/O error
        // between open and rename.
        fs::write(temp_path_for(&path).unwrap(), b"").unwrap();
        assert!(write_atomic(&path, b"new\n", 0o644).is_err());
        assert_eq!(fs::read(&path).unwrap(), b"old\n");
    }

    #[test]
    fn a_batch_writes_only_what_differs() {
        let dir = tempfile::tempdir().unwrap();
        let paths: Vec<PathBuf> = (0..300)
            .map(|i| dir.path().join(format!("{i}.conf")))
            .collect();
        fs::write(&paths[7], b"same\n").unwrap();
        let items: Vec<BatchItem<'_>> = paths
            .iter()
            .enumerate()
            .map(|(i, p)| {
                (
                    p.as_path(),
                    if i == 7 {
                        &b"same\n"[..]
                    } else {
                        &b"new\n"[..]
                    },
                    0o644,
                )
            })
            .collect();
        let outcomes = write_atomic_batch(&items).unwrap();
        assert_eq!(outcomes[7], WriteOutcome::Unchanged);
        assert_eq!(
            outcomes
                .iter()
                .filter(|o| **o == WriteOutcome::Created)
                .count(),
            299
        );
        assert_eq!(fs::read(&paths[299]).unwrap(), b"new\n");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 300);
        // A failure before the renames changes no target.
        fs::write(temp_path_for(&paths[200]).unwrap(), b"").unwrap();
        let changed: Vec<BatchItem<'_>> = paths
            .iter()
            .map(|p| (p.as_path(), &b"newer\n"[..], 0o644))
            .collect();
        assert!(write_atomic_batch(&changed).is_err());
        assert_eq!(fs::read(&paths[0]).unwrap(), b"new\n");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 301);
    }

    #[test]
    fn temp_name_stays_outside_common_globs() {
        let tmp = temp_path_for(Path::new("/etc/supervisor/conf.d/w.conf")).unwrap();
        let name = tmp.file_name().unwrap().to_string_lossy().into_owned();
        assert!(name.starts_with('.') && !name.ends_with(".conf"), "{name}");
        // logrotate reads dotfiles in its include directory but skips `*.dpkg-tmp`.
        assert!(name.ends_with(".dpkg-tmp"), "{name}");
    }
}
