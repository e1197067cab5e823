//! `AUTO` child log files and their start-time cleanup.
//!
//! Owns the naming rule supervisord gets from `tempfile.mkstemp(suffix='.log',
//! prefix='<process>-<channel>---<identifier>-', dir=childlogdir)`: the file
//! `<dir>/<process>-<stdout|stderr>---<identifier>-XXXXXXXX.log`, where the 8
//! characters come from mkstemp's alphabet `[a-z0-9_]`, created with
//! `O_CREAT|O_EXCL` and mode 0600, then closed (the channel reopens it for
//! appending). Tools search for these names, so they must match exactly.
//!
//! Data flow: the process manager names each `AUTO` file with [`auto_log_name`] when a
//! group is added, and creates it with [`create_auto_log_renaming`] the first time the process's
//! log opens, in the same `open` that the log then appends through. Files of processes
//! that did not start in the pass that added them are created before the pass publishes
//! the group, so no client ever sees a name without its file. A name found taken at
//! creation is replaced by [`renamed_auto_log`], mkstemp's retry. At daemon start
//! (unless `nocleanup`) [`cleanup_auto_logs`] deletes every file whose name matches
//! supervisord's `re.match` of `.+?---<identifier>-\S+\.log\.{0,1}\d{0,4}` (rotated
//! `.N` backups included). supervisord interpolates the identifier into the regex
//! unescaped; here it is matched literally.
//!
//! Creating the files at first open rather than while the configuration is applied is
//! Steward's: it halves the file system calls per program and lets the first programs
//! start while later ones are still being read (see docs/decisions.md).
//!
//! When a pass of the loop is about to start many processes with `AUTO` logs, an
//! [`AutoLogBatch`] creates their files on a helper thread, in the order the spawns will
//! ask for them, so that creating files on a real disk (≈ 13 µs each on a quiet ext4, up
//! to a millisecond after mass deletions, two per program) overlaps the spawns instead of
//! preceding each one. A spawn gives its log an [`AutoLogTicket`]: the log takes the file
//! at its first write, waiting for the helper only if the child wrote before its file was
//! made. The pass waits for the whole batch, hands the remaining files to their logs (and
//! learns any renamed path) before it publishes, so which files exist, and that a client never sees a name without its
//! file, are unchanged.

use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex};

use rand::Rng;

/// Which output channel of a process.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Channel {
    Stdout,
    Stderr,
}

impl Channel {
    /// `"stdout"` or `"stderr"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Stdout => "stdout",
            Channel::Stderr => "stderr",
        }
    }
}

impl std::fmt::Display for Channel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Python's `tempfile._RandomNameSequence.characters`.
const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789_";
/// Python's `os.TMP_MAX` on Linux: attempts before giving up.
const TMP_MAX: u32 = 238_328;

/// A fresh `AUTO` log name in `dir` for this process and channel; nothing is created.
pub fn auto_log_name(
    dir: &Path,
    process_name: &str,
    channel: Channel,
    identifier: &str,
) -> PathBuf {
    let prefix = format!("{process_name}-{}---{identifier}-", channel.as_str());
    dir.join(random_name(&prefix))
}

/// `path` with new random characters: the next name to try when `path` is taken.
fn renamed_auto_log(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    // Every AUTO name ends in 8 random characters and ".log".
    let prefix = name.get(..name.len().saturating_sub(12)).unwrap_or("");
    path.with_file_name(random_name(prefix))
}

fn random_name(prefix: &str) -> String {
    let mut rng = rand::thread_rng();
    let mut name = String::with_capacity(prefix.len() + 12);
    name.push_str(prefix);
    for _ in 0..8 {
        name.push(ALPHABET[rng.gen_range(0..ALPHABET.len())] as char);
    }
    name.push_str(".log");
    name
}

/// Creates the `AUTO` file at `path` as mkstemp does (new, mode 0600, never through a
/// symlink), open for appending. `AlreadyExists` means the name is taken: try
/// [`renamed_auto_log`].
fn create_auto_log(path: &Path) -> io::Result<File> {
    OpenOptions::new()
        .append(true)
        .create_new(true)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)
}

/// Creates the `AUTO` file at `*path`, renaming it on collision as mkstemp would; gives
/// up after `TMP_MAX` taken names.
pub fn create_auto_log_renaming(path: &mut PathBuf) -> io::Result<File> {
    for _ in 0..TMP_MAX {
        match create_auto_log(path) {
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => *path = renamed_auto_log(path),
            other => return other,
        }
    }
    Err(io::Error::new(
        io::ErrorKind::AlreadyExists,
        "no usable temporary file name found",
    ))
}

/// `AUTO` files being created on a helper thread, each known by a caller's key.
pub struct AutoLogBatch<K> {
    /// The keys in the order the files are created, sorted (callers hand them in order).
    keys: Vec<K>,
    /// The path each key asked for: a key whose path changed meanwhile is not served.
    asked: Vec<Arc<Path>>,
    shared: Arc<BatchShared>,
}

/// One file of a batch, once the helper has been through it.
struct Made {
    /// Where it is (renamed if the first name was taken).
    path: PathBuf,
    /// Open for appending until a ticket takes it.
    file: Option<File>,
    /// Why it could not be created.
    error: Option<(io::ErrorKind, String)>,
}

struct BatchShared {
    /// Filled in order by the helper.
    made: Mutex<Vec<Made>>,
    progress: Condvar,
}

impl BatchShared {
    /// Waits until the helper has been through file `index`.
    fn reached(&self, index: usize) -> std::sync::MutexGuard<'_, Vec<Made>> {
        let mut made = self.made.lock().unwrap_or_else(|e| e.into_inner());
        while made.len() <= index {
            made = self.progress.wait(made).unwrap_or_else(|e| e.into_inner());
        }
        made
    }
}

/// A claim on one file of an [`AutoLogBatch`], for a log that opens before the helper
/// may have created its file: [`AutoLogTicket::redeem`] waits for it.
pub struct AutoLogTicket {
    shared: Arc<BatchShared>,
    index: usize,
}

impl std::fmt::Debug for AutoLogTicket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "AutoLogTicket({})", self.index)
    }
}

impl AutoLogTicket {
    /// True once the file exists (or failed): redeeming will not wait.
    pub fn ready(&self) -> bool {
        self.shared
            .made
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .len()
            > self.index
    }

    /// The file and where it is, waiting for the helper if it is behind.
    pub fn redeem(self) -> io::Result<(PathBuf, File)> {
        let mut made = self.shared.reached(self.index);
        let m = &mut made[self.index];
        match (m.file.take(), &m.error) {
            (Some(file), _) => Ok((m.path.clone(), file)),
            (None, Some((kind, msg))) => Err(io::Error::new(*kind, msg.clone())),
            (None, None) => Err(io::Error::other("AUTO log already taken")),
        }
    }
}

impl<K: Ord> AutoLogBatch<K> {
    /// Starts creating the files `jobs` name, in that order, on a helper thread. The keys
    /// must be in ascending order. Fails only if no thread can be started.
    pub fn start(jobs: Vec<(K, Arc<Path>)>) -> io::Result<AutoLogBatch<K>> {
        debug_assert!(jobs.windows(2).all(|w| w[0].0 < w[1].0), "keys in order");
        let (keys, asked): (Vec<K>, Vec<Arc<Path>>) = jobs.into_iter().unzip();
        let shared = Arc::new(BatchShared {
            made: Mutex::new(Vec::with_capacity(asked.len())),
            progress: Condvar::new(),
        });
        let paths = asked.clone();
        let for_thread = shared.clone();
        std::thread::Builder::new()
            .name("steward-autologs".into())
            .stack_size(64 * 1024)
            .spawn(move || {
                for path in paths {
                    let mut path = path.to_path_buf();
                    let (file, error) = match create_auto_log_renaming(&mut path) {
                        Ok(f) => (Some(f), None),
                        Err(e) => (None, Some((e.kind(), e.to_string()))),
                    };
                    let mut made = for_thread.made.lock().unwrap_or_else(|e| e.into_inner());
                    made.push(Made { path, file, error });
                    for_thread.progress.notify_all();
                }
            })?;
        Ok(AutoLogBatch {
            keys,
            asked,
            shared,
        })
    }

    /// The keys the batch makes files for, in order.
    pub fn keys(&self) -> &[K] {
        &self.keys
    }

    fn index(&self, key: &K, path: &Path) -> Option<usize> {
        let index = self.keys.binary_search(key).ok()?;
        (&*self.asked[index] == path).then_some(index)
    }

    /// The claim on the file made for `key`, if the batch has one for it at `path`.
    /// Redeem it once; a second ticket for the same file finds it taken.
    pub fn ticket(&self, key: &K, path: &Path) -> Option<AutoLogTicket> {
        Some(AutoLogTicket {
            shared: self.shared.clone(),
            index: self.index(key, path)?,
        })
    }

    /// Where the file for `key` ended up, or why it could not be created; waits for the
    /// helper to reach it. None when the batch has no file for `key` at `path`.
    pub fn outcome(&self, key: &K, path: &Path) -> Option<Result<PathBuf, String>> {
        let index = self.index(key, path)?;
        let made = self.shared.reached(index);
        let m = &made[index];
        Some(match &m.error {
            None => Ok(m.path.clone()),
            Some((_, msg)) => Err(msg.clone()),
        })
    }
}

/// Whether `name` matches supervisord's cleanup regex
/// `.+?---<identifier>-\S+\.log\.{0,1}\d{0,4}` with `re.match` semantics
/// (anchored at the start only, so anything may follow `.log`).
pub fn is_auto_log_name(name: &str, identifier: &str) -> bool {
    let marker = format!("---{identifier}-");
    let mut search_from = 0;
    while let Some(p) = name[search_from..].find(&marker) {
        let at = search_from + p;
        search_from = at + 1;
        // `.+?` : at least one character, none of them a newline.
        if at == 0 || name[..at].contains('\n') {
            continue;
        }
        // `\S+\.log` : a non-empty run of non-whitespace followed by `.log`.
        let rest = &name[at + marker.len()..];
        let run_end = rest.find(char::is_whitespace).unwrap_or(rest.len());
        let run = &rest[..run_end];
        // `.log` must start at index >= 1 and lie entirely inside the run
        // (it contains no whitespace itself).
        if run.get(1..).is_some_and(|r| r.contains(".log")) {
            return true;
        }
    }
    false
}

/// Deletes old `AUTO` logs of this `identifier` in `dir`; returns how many
/// were removed. Files that can't be removed are skipped (supervisord logs a
/// warning for each and goes on); an unreadable directory is an error.
pub fn cleanup_auto_logs(dir: &Path, identifier: &str) -> io::Result<usize> {
    let mut removed = 0;
    for entry in std::fs::read_dir(dir)? {
        let Ok(entry) = entry else { continue };
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if is_auto_log_name(&name, identifier) && std::fs::remove_file(entry.path()).is_ok() {
            removed += 1;
        }
    }
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn auto_names() {
        let dir = tempfile::tempdir().unwrap();
        let mut p = auto_log_name(dir.path(), "web_01", Channel::Stderr, "supervisor");
        assert!(!p.exists(), "naming creates nothing");
        create_auto_log_renaming(&mut p).unwrap();
        let name = p.file_name().unwrap().to_str().unwrap().to_owned();
        assert!(name.starts_with("web_01-stderr---supervisor-"), "{name}");
        assert!(name.ends_with(".log"));
        let rand = &name["web_01-stderr---supervisor-".len()..name.len() - 4];
        assert_eq!(rand.len(), 8);
        assert!(rand.bytes().all(|b| ALPHABET.contains(&b)));
        let meta = std::fs::metadata(&p).unwrap();
        assert_eq!(meta.len(), 0);
        assert_eq!(meta.permissions().mode() & 0o777, 0o600);
        assert!(is_auto_log_name(&name, "supervisor"));
        let q = auto_log_name(dir.path(), "web_01", Channel::Stderr, "supervisor");
        assert_ne!(p, q);
        assert_eq!(Channel::Stdout.as_str(), "stdout");
    }

    #[test]
    fn a_taken_name_is_replaced_and_never_followed() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("victim");
        std::fs::write(&target, "keep").unwrap();
        let taken = auto_log_name(dir.path(), "web", Channel::Stdout, "supervisor");
        std::os::unix::fs::symlink(&target, &taken).unwrap();
        let err = create_auto_log(&taken).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::AlreadyExists);
        let mut path = taken.clone();
        let mut file = create_auto_log_renaming(&mut path).unwrap();
        assert_ne!(path, taken);
        let name = path.file_name().unwrap().to_str().unwrap();
        assert!(name.starts_with("web-stdout---supervisor-"), "{name}");
        assert_eq!(name.len(), taken.file_name().unwrap().len());
        std::io::Write::write_all(&mut file, b"line\n").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "line\n");
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "keep");
    }

    #[test]
    fn a_batch_creates_every_file_and_hands_each_out_once() {
        let dir = tempfile::tempdir().unwrap();
        let jobs: Vec<(usize, Arc<Path>)> = (0..50)
            .map(|k| {
                let name = format!("p{k}");
                let path = auto_log_name(dir.path(), &name, Channel::Stdout, "supervisor");
                (k * 2, Arc::from(path.as_path()))
            })
            .collect();
        // One name is taken already: the batch renames it, as mkstemp would.
        std::fs::write(&jobs[7].1, "someone else's").unwrap();
        let batch = AutoLogBatch::start(jobs.clone()).unwrap();
        assert!(batch.ticket(&1, &jobs[0].1).is_none(), "no such key");
        assert!(
            batch.ticket(&0, &jobs[1].1).is_none(),
            "a key whose path changed is not served"
        );
        // Out of order, as spawns and the end of the pass may ask.
        for (key, asked) in jobs.iter().rev() {
            let ticket = batch.ticket(key, asked).expect("in the batch");
            let (path, mut file) = ticket.redeem().unwrap();
            assert_eq!(batch.outcome(key, asked), Some(Ok(path.clone())));
            if *key == 14 {
                assert_ne!(&path, &**asked);
                assert_eq!(std::fs::read_to_string(&**asked).unwrap(), "someone else's");
            } else {
                assert_eq!(&path, &**asked);
            }
            std::io::Write::write_all(&mut file, b"x").unwrap();
            assert_eq!(std::fs::read(&path).unwrap(), b"x");
            assert_eq!(
                std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
                0o600
            );
            let again = batch.ticket(key, asked).unwrap();
            assert!(again.ready());
            assert!(again.redeem().is_err(), "handed out once");
        }
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 51);
    }

    #[test]
    fn a_batch_reports_files_it_could_not_create() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("no-such-dir");
        let path: Arc<Path> =
            Arc::from(auto_log_name(&missing, "p", Channel::Stderr, "supervisor").as_path());
        let batch = AutoLogBatch::start(vec![(0u8, path.clone())]).unwrap();
        assert!(matches!(batch.outcome(&0, &path), Some(Err(_))));
        let err = batch.ticket(&0, &path).unwrap().redeem().unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::NotFound);
    }

    #[test]
    fn cleanup_regex() {
        // Expectations checked against Python's
        // re.match(r'.+?---%s-\S+\.log\.{0,1}\d{0,4}' % 'supervisor', name).
        let yes = [
            "cat-stdout---supervisor-abcd1234.log",
            "cat-stderr---supervisor-abcd1234.log.1",
            "cat-stderr---supervisor-abcd1234.log.10",
            "x---supervisor-y.log",
            "x---supervisor-y.logger",
            "a---supervisor-b---supervisor-c.log",
            "a---supervisor- ---supervisor-c.log",
            "a b---supervisor-cc.log",
            "cat-stdout---supervisor-abc.d.log.5.tmp",
        ];
        let no = [
            "---supervisor-abcd.log",
            "cat-stdout---supervisor-.log",
            "cat-stdout---other-abcd.log",
            "cat-stdout---supervisor-abcd.txt",
            "cat-stdout--supervisor-abcd.log",
            "x---supervisor-a .log",
            "x---supervisor-a b.log.log",
            "a\nb---supervisor-cc.log",
            "supervisord.log",
        ];
        for n in yes {
            assert!(is_auto_log_name(n, "supervisor"), "{n:?} should match");
        }
        for n in no {
            assert!(!is_auto_log_name(n, "supervisor"), "{n:?} should not match");
        }
    }

    #[test]
    fn cleanup_removes_matching_files_only() {
        let dir = tempfile::tempdir().unwrap();
        let mut a = auto_log_name(dir.path(), "a", Channel::Stdout, "supervisor");
        create_auto_log_renaming(&mut a).unwrap();
        let mut b = auto_log_name(dir.path(), "b", Channel::Stderr, "supervisor");
        create_auto_log_renaming(&mut b).unwrap();
        let mut a1 = a.as_os_str().to_owned();
        a1.push(".1");
        std::fs::write(&a1, b"old").unwrap();
        let mut other = auto_log_name(dir.path(), "c", Channel::Stdout, "other");
        create_auto_log_renaming(&mut other).unwrap();
        let keep = dir.path().join("supervisord.log");
        std::fs::write(&keep, b"x").unwrap();
        assert_eq!(cleanup_auto_logs(dir.path(), "supervisor").unwrap(), 3);
        assert!(!a.exists() && !b.exists() && !Path::new(&a1).exists());
        assert!(other.exists() && keep.exists());
        assert!(cleanup_auto_logs(&dir.path().join("missing"), "supervisor").is_err());
    }
}
