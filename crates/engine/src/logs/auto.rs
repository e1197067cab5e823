//! `AUTO` child log files and their start-time cleanup.
//!
//! Owns the naming rule supervisord gets from `tempfile.mkstemp(suffix='.log',
//! prefix='<process>-<channel>---<identifier>-', dir=childlogdir)`: the file
//! `<dir>/<process>-<stdout|stderr>---<identifier>-XXXXXXXX.log`, where the 8
//! characters come from mkstemp's alphabet `[a-z0-9_]`, created with
//! `O_CREAT|O_EXCL` and mode 0600, then closed (the channel reopens it for
//! appending). Tools search for these names, so they must match exactly.
//!
//! Data flow: the process manager calls [`auto_log_path`] when a group is
//! added and stores the returned path in the channel options; at daemon start
//! (unless `nocleanup`) it calls [`cleanup_auto_logs`], which deletes every
//! file whose name matches supervisord's `re.match` of
//! `.+?---<identifier>-\S+\.log\.{0,1}\d{0,4}` (rotated `.N` backups
//! included). supervisord interpolates the identifier into the regex
//! unescaped; here it is matched literally.

use std::fs::OpenOptions;
use std::io;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

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

/// Creates a new empty `AUTO` log file and returns its path.
pub fn auto_log_path(
    dir: &Path,
    process_name: &str,
    channel: Channel,
    identifier: &str,
) -> io::Result<PathBuf> {
    let mut rng = rand::thread_rng();
    for _ in 0..TMP_MAX {
        let mut name = format!("{process_name}-{}---{identifier}-", channel.as_str());
        for _ in 0..8 {
            name.push(ALPHABET[rng.gen_range(0..ALPHABET.len())] as char);
        }
        name.push_str(".log");
        let path = dir.join(name);
        match OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW)
            .open(&path)
        {
            Ok(_) => return Ok(path),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
    Err(io::Error::new(
        io::ErrorKind::AlreadyExists,
        "no usable temporary file name found",
    ))
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
        let p = auto_log_path(dir.path(), "web_01", Channel::Stderr, "supervisor").unwrap();
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
        let q = auto_log_path(dir.path(), "web_01", Channel::Stderr, "supervisor").unwrap();
        assert_ne!(p, q);
        assert_eq!(Channel::Stdout.as_str(), "stdout");
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
        let a = auto_log_path(dir.path(), "a", Channel::Stdout, "supervisor").unwrap();
        let b = auto_log_path(dir.path(), "b", Channel::Stderr, "supervisor").unwrap();
        let mut a1 = a.as_os_str().to_owned();
        a1.push(".1");
        std::fs::write(&a1, b"old").unwrap();
        let other = auto_log_path(dir.path(), "c", Channel::Stdout, "other").unwrap();
        let keep = dir.path().join("supervisord.log");
        std::fs::write(&keep, b"x").unwrap();
        assert_eq!(cleanup_auto_logs(dir.path(), "supervisor").unwrap(), 3);
        assert!(!a.exists() && !b.exists() && !Path::new(&a1).exists());
        assert!(other.exists() && keep.exists());
        assert!(cleanup_auto_logs(&dir.path().join("missing"), "supervisor").is_err());
    }
}
