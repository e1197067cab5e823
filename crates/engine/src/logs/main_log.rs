//! The daemon's activity log (`[supervisord] logfile`).
//!
//! Owns the formatting and the targets of activity log lines. Data flow:
//! any thread calls [`MainLog::log`]; a cheap level check (no lock) rejects
//! disabled levels; enabled lines are formatted as
//! `YYYY-mm-dd HH:MM:SS,mmm LEVL message\n` (local time, milliseconds
//! truncated, `LEVL` = [`LogLevel::code`]) and, under one internal mutex,
//! written to the file ([`RotatingFile`]: rotation as for child logs, none for
//! non-seekable targets), echoed to stdout when asked, and sent to syslog one
//! message per line when asked (each line carries the same timestamp/level
//! prefix, as supervisord's `SyslogHandler` does).
//!
//! Errors while writing are reported once per failure streak on stderr and
//! otherwise ignored (supervisord prints a traceback to stderr): logging must
//! never take the daemon down.

use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use steward_config::LogLevel;

use super::rotate::RotatingFile;
use super::syslog;

#[derive(Debug)]
struct Inner {
    file: Option<RotatingFile>,
    failing: bool,
}

/// The activity log. Shareable (`&self` methods; wrap in `Arc`).
#[derive(Debug)]
pub struct MainLog {
    level: LogLevel,
    path: Option<PathBuf>,
    syslog: bool,
    echo: bool,
    inner: Mutex<Inner>,
}

/// Formats one activity log line (with its trailing newline) at the current
/// local time.
pub fn format_line(level: LogLevel, msg: &str) -> String {
    let now = jiff::Timestamp::now().to_zoned(crate::text::local_zone());
    format_line_at(&now, level, msg)
}

fn format_line_at(t: &jiff::Zoned, level: LogLevel, msg: &str) -> String {
    let mut s = String::with_capacity(msg.len() + 30);
    use std::fmt::Write as _;
    let _ = writeln!(
        s,
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02},{:03} {} {}",
        t.year(),
        t.month(),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.millisecond(),
        level.code(),
        msg
    );
    s
}

impl MainLog {
    /// Opens the log. `file = None` means no file (e.g. `logfile = syslog`);
    /// `syslog` sends every line to syslog; `echo_to_stdout` is for
    /// `nodaemon` without `silent` (the caller decides).
    pub fn new(
        file: Option<PathBuf>,
        syslog: bool,
        maxbytes: u64,
        backups: u32,
        level: LogLevel,
        echo_to_stdout: bool,
    ) -> io::Result<MainLog> {
        let rf = match &file {
            Some(p) => Some(RotatingFile::open(p.as_path().into(), maxbytes, backups)?),
            None => None,
        };
        Ok(MainLog {
            level,
            path: file,
            syslog,
            echo: echo_to_stdout,
            inner: Mutex::new(Inner {
                file: rf,
                failing: false,
            }),
        })
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The configured threshold.
    pub fn level(&self) -> LogLevel {
        self.level
    }

    /// Whether a message at `level` would be written.
    pub fn enabled(&self, level: LogLevel) -> bool {
        level >= self.level
    }

    /// The log file, if there is one.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// Writes one message (which may contain newlines) if `level` is enabled.
    pub fn log(&self, level: LogLevel, msg: &str) {
        if !self.enabled(level) {
            return;
        }
        let now = jiff::Timestamp::now().to_zoned(crate::text::local_zone());
        let line = format_line_at(&now, level, msg);
        let mut guard = self.lock();
        let inner = &mut *guard;
        if self.echo {
            let mut out = io::stdout().lock();
            let _ = out.write_all(line.as_bytes());
            let _ = out.flush();
        }
        if let Some(f) = &mut inner.file {
            match f.write(line.as_bytes()) {
                Ok(()) => inner.failing = false,
                Err(e) => {
                    if !inner.failing {
                        inner.failing = true;
                        let _ = writeln!(
                            io::stderr(),
                            "steward: cannot write activity log {}: {e}",
                            f.path().display()
                        );
                    }
                }
            }
        }
        if self.syslog {
            // Same prefix on every line, as supervisord's SyslogHandler.
            let prefix_len = line.len() - msg.len() - 1;
            let prefix = &line.as_bytes()[..prefix_len];
            for l in syslog::lines(msg.as_bytes()) {
                syslog::send(&[prefix, l]);
            }
        }
    }

    /// Reopens the file (SIGUSR2). No-op without a file.
    pub fn reopen(&self) -> io::Result<()> {
        match &mut self.lock().file {
            Some(f) => f.reopen(),
            None => Ok(()),
        }
    }

    /// `supervisor.clearLog`: unlinks the file and reopens it (a
    /// non-seekable target is only reopened). Errors with `NotFound` when
    /// there is no file. supervisord logs `reopening log file` at INFO just
    /// before reopening, which lands in the unlinked file (and on stdout);
    /// callers wanting that line log it themselves before calling this.
    pub fn clear(&self) -> io::Result<()> {
        match &mut self.lock().file {
            Some(f) => f.clear(),
            None => Err(io::Error::new(
                io::ErrorKind::NotFound,
                "the activity log has no file",
            )),
        }
    }

    /// Current size of the log file as written by us (0 without a file).
    pub fn size(&self) -> u64 {
        self.lock().file.as_ref().map_or(0, RotatingFile::size)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_format() {
        let t: jiff::Zoned = "2024-03-05T07:08:09.0456789[UTC]".parse().unwrap();
        assert_eq!(
            format_line_at(&t, LogLevel::Info, "spawned: 'x' with pid 42"),
            "2024-03-05 07:08:09,045 INFO spawned: 'x' with pid 42\n"
        );
        assert_eq!(
            format_line_at(&t, LogLevel::Debug, "a\nb"),
            "2024-03-05 07:08:09,045 DEBG a\nb\n"
        );
    }

    #[test]
    fn levels_and_rotation() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("supervisord.log");
        let log = MainLog::new(Some(path.clone()), false, 200, 2, LogLevel::Info, false).unwrap();
        assert!(log.enabled(LogLevel::Critical));
        assert!(log.enabled(LogLevel::Info));
        assert!(!log.enabled(LogLevel::Debug));
        log.log(LogLevel::Debug, "hidden");
        assert_eq!(std::fs::read(&path).unwrap().len(), 0);
        for i in 0..32 {
            log.log(LogLevel::Info, &format!("message number {i}"));
        }
        assert!(path.exists());
        assert!(super::super::rotate::numbered(&path, 1).exists());
        assert!(super::super::rotate::numbered(&path, 2).exists());
        assert!(!super::super::rotate::numbered(&path, 3).exists());
        let last = std::fs::read_to_string(&path).unwrap();
        assert!(last.ends_with(" INFO message number 31\n"), "{last}");
        // Each line has the exact layout.
        for l in last.lines() {
            let b = l.as_bytes();
            assert_eq!(b[4], b'-');
            assert_eq!(b[10], b' ');
            assert_eq!(b[19], b',');
            assert_eq!(&l[23..29], " INFO ");
        }
        log.clear().unwrap();
        assert_eq!(std::fs::read(&path).unwrap().len(), 0);
        log.log(LogLevel::Warn, "after clear");
        let s = std::fs::read_to_string(&path).unwrap();
        assert!(s.ends_with(" WARN after clear\n"));
        assert_eq!(log.size(), s.len() as u64);
    }

    #[test]
    fn shared_between_threads() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.log");
        let log = std::sync::Arc::new(
            MainLog::new(Some(path.clone()), false, 0, 0, LogLevel::Blather, false).unwrap(),
        );
        let hs: Vec<_> = (0..4)
            .map(|t| {
                let log = log.clone();
                std::thread::spawn(move || {
                    for i in 0..250 {
                        log.log(LogLevel::Trace, &format!("t{t} {i}"));
                    }
                })
            })
            .collect();
        for h in hs {
            h.join().unwrap();
        }
        let s = std::fs::read_to_string(&path).unwrap();
        assert_eq!(s.lines().count(), 1000);
        assert!(s.lines().all(|l| l.contains(" TRAC t")));
    }
}
