//! One output channel (stdout or stderr) of one process.
//!
//! Owns everything that happens to a chunk read from a child's pipe, in this
//! order (supervisord's `POutputDispatcher.record_output` / `_log`):
//!
//! 1. capture mode (only when `capture_maxbytes > 0`): [`CaptureParser`]
//!    removes `<!--XSUPERVISOR:BEGIN-->…<!--XSUPERVISOR:END-->` bodies, which
//!    come back in [`Feed::captured`] (ANSI-stripped when `strip_ansi`);
//! 2. ANSI stripping (only when `strip_ansi`): [`AnsiStripper`];
//! 3. the remaining bytes are written to the log file ([`RotatingFile`], one
//!    `write(2)` per chunk, rotation after the write), sent to syslog one line
//!    at a time as `<tag> <line>`, and appended to an in-memory tail ring;
//! 4. the same bytes are returned in [`Feed::logged`] so the caller can emit
//!    `PROCESS_LOG_*` events and the debug mirror in the activity log.
//!
//! The fast path (no capture, no strip) copies the chunk once into
//! `Feed::logged` and performs one write. Write errors (disk full, …) are
//! returned in [`Feed::error`] and never close the channel; the next feed
//! writes normally.
//!
//! Difference from supervisord: while a capture is in progress the captured
//! bytes are not returned in `Feed::logged` (supervisord also emits
//! `PROCESS_LOG` events and the debug mirror for them).

use std::collections::VecDeque;
use std::io;
use std::path::Path;
use std::sync::Arc;

use super::ansi::{strip_ansi, AnsiStripper};
use super::auto::AutoLogTicket;
use super::capture::CaptureParser;
use super::rotate::RotatingFile;
use super::syslog;

/// A new `AUTO` file handed to [`ChannelLog::open_with`].
enum Created {
    Now(std::fs::File),
    Later(AutoLogTicket),
}

/// How to build a [`ChannelLog`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChannelLogOptions {
    /// Log file; `None` = no file (`NONE`, or syslog only).
    pub path: Option<Arc<Path>>,
    /// Rotate when the file reaches this size; 0 = never.
    pub maxbytes: u64,
    /// Number of `.1`…`.N` files kept; 0 = truncate on rotation.
    pub backups: u32,
    /// Strip `ESC[`…terminator sequences.
    pub strip_ansi: bool,
    /// Capture mode buffer size; 0 = capture mode off.
    pub capture_maxbytes: u64,
    /// Also send each line to syslog as `<syslog_tag> <line>`.
    pub syslog: bool,
    /// The process name, used as the syslog prefix.
    pub syslog_tag: String,
    /// Bytes of logged data kept in memory for [`ChannelLog::tail`]; 0 = none.
    pub tail_capacity: usize,
}

/// The outcome of one [`ChannelLog::feed`].
#[derive(Debug, Default)]
pub struct Feed {
    /// Bytes that went to the log (after capture extraction and ANSI strip):
    /// the data for `PROCESS_LOG_*` events and the debug mirror. May be empty.
    pub logged: Vec<u8>,
    /// Completed capture bodies, oldest first (`PROCESS_COMMUNICATION_*`).
    pub captured: Vec<Vec<u8>>,
    /// The write or rotation error, if any. The channel stays usable.
    pub error: Option<io::Error>,
}

/// One output channel of one process: file, syslog, capture, strip, tail.
#[derive(Debug)]
pub struct ChannelLog {
    file: Option<RotatingFile>,
    strip: Option<AnsiStripper>,
    /// Boxed: capture mode is rare, and every channel would otherwise carry its size.
    capture: Option<Box<CaptureParser>>,
    syslog_tag: Option<Vec<u8>>,
    tail: VecDeque<u8>,
    tail_capacity: usize,
}

impl ChannelLog {
    /// Opens (creates, appending) the log file if there is one.
    pub fn open(opts: ChannelLogOptions) -> io::Result<ChannelLog> {
        Self::open_with(opts, None)
    }

    /// Like [`open`](Self::open), for a log file the caller has just created at
    /// `opts.path` and opened for appending (a new `AUTO` file).
    pub fn open_created(opts: ChannelLogOptions, file: std::fs::File) -> io::Result<ChannelLog> {
        Self::open_with(opts, Some(Created::Now(file)))
    }

    /// Like [`open`](Self::open), for a new `AUTO` file at `opts.path` that an
    /// [`AutoLogBatch`](super::AutoLogBatch) is making: the log takes it at its first write.
    pub fn open_auto(opts: ChannelLogOptions, ticket: AutoLogTicket) -> io::Result<ChannelLog> {
        Self::open_with(opts, Some(Created::Later(ticket)))
    }

    fn open_with(opts: ChannelLogOptions, created: Option<Created>) -> io::Result<ChannelLog> {
        let file = match (&opts.path, created) {
            (Some(p), Some(Created::Now(f))) => Some(RotatingFile::from_created(
                p.clone(),
                f,
                opts.maxbytes,
                opts.backups,
            )),
            (Some(p), Some(Created::Later(t))) => Some(RotatingFile::from_ticket(
                p.clone(),
                t,
                opts.maxbytes,
                opts.backups,
            )),
            (Some(p), None) => Some(RotatingFile::open(p.clone(), opts.maxbytes, opts.backups)?),
            (None, _) => None,
        };
        let capture = (opts.capture_maxbytes > 0).then(|| {
            Box::new(CaptureParser::new(
                usize::try_from(opts.capture_maxbytes).unwrap_or(usize::MAX),
            ))
        });
        Ok(ChannelLog {
            file,
            strip: opts.strip_ansi.then(AnsiStripper::new),
            capture,
            syslog_tag: opts.syslog.then(|| {
                let mut t = opts.syslog_tag.into_bytes();
                t.push(b' ');
                t
            }),
            tail: VecDeque::new(),
            tail_capacity: opts.tail_capacity,
        })
    }

    /// Processes one chunk read from the child.
    pub fn feed(&mut self, data: &[u8]) -> Feed {
        let mut feed = Feed::default();
        if data.is_empty() {
            return feed;
        }
        feed.logged = match (&mut self.capture, &mut self.strip) {
            (None, None) => data.to_vec(),
            (None, Some(strip)) => {
                let mut out = Vec::with_capacity(data.len());
                strip.strip_into(data, &mut out);
                out
            }
            (Some(capture), strip) => {
                let mut raw = Vec::with_capacity(data.len());
                capture.feed(data, &mut raw, &mut feed.captured);
                match strip {
                    None => raw,
                    Some(strip) => {
                        for body in &mut feed.captured {
                            *body = strip_ansi(body);
                        }
                        let mut out = Vec::with_capacity(raw.len());
                        strip.strip_into(&raw, &mut out);
                        out
                    }
                }
            }
        };
        feed.error = self.emit(&feed.logged);
        feed
    }

    /// [`ChannelLog::feed`] for callers that don't need the logged bytes back (no events,
    /// no debug mirror): without capture mode or ANSI stripping the chunk goes straight
    /// to the file with no copy. Returns the write error, if any.
    pub fn feed_quiet(&mut self, data: &[u8]) -> Option<io::Error> {
        if self.capture.is_none() && self.strip.is_none() {
            return self.emit(data);
        }
        self.feed(data).error
    }

    /// True when chunks can go straight from the pipe to the file with no processing
    /// (no capture, no ANSI stripping, no syslog, a regular file): see
    /// [`ChannelLog::splice_from`]. The in-memory tail is not fed on that path.
    pub fn can_splice(&self) -> bool {
        self.capture.is_none()
            && self.strip.is_none()
            && self.syslog_tag.is_none()
            && self.file.as_ref().is_some_and(|f| f.seekable())
    }

    /// Moves up to `max` bytes from the pipe to the file without copying them through
    /// user space (only when [`ChannelLog::can_splice`]). `Ok(0)` at end of file,
    /// `WouldBlock` when the pipe is empty.
    pub fn splice_from(&mut self, pipe: std::os::fd::RawFd, max: usize) -> io::Result<usize> {
        match &mut self.file {
            Some(f) => f.splice_from(pipe, max),
            None => Err(io::Error::from(io::ErrorKind::Unsupported)),
        }
    }

    /// End of stream (the pipe closed): logs bytes held back while waiting
    /// for more input (a partial capture token, a trailing `ESC`). An
    /// unterminated capture is discarded, as in supervisord.
    pub fn finish(&mut self) -> Feed {
        let mut feed = Feed::default();
        let mut raw = Vec::new();
        if let Some(c) = &mut self.capture {
            c.finish(&mut raw);
        }
        if let Some(s) = &mut self.strip {
            let mut out = Vec::with_capacity(raw.len() + 1);
            s.strip_into(&raw, &mut out);
            out.extend(s.finish());
            raw = out;
        }
        feed.error = self.emit(&raw);
        feed.logged = raw;
        feed
    }

    fn emit(&mut self, bytes: &[u8]) -> Option<io::Error> {
        if bytes.is_empty() {
            return None;
        }
        let error = match &mut self.file {
            Some(f) => f.write(bytes).err(),
            None => None,
        };
        if let Some(tag) = &self.syslog_tag {
            for line in syslog::lines(bytes) {
                syslog::send(&[tag, line]);
            }
        }
        self.push_tail(bytes);
        error
    }

    fn push_tail(&mut self, bytes: &[u8]) {
        let cap = self.tail_capacity;
        if cap == 0 {
            return;
        }
        if bytes.len() >= cap {
            self.tail.clear();
            self.tail.extend(&bytes[bytes.len() - cap..]);
        } else {
            let over = (self.tail.len() + bytes.len()).saturating_sub(cap);
            self.tail.drain(..over);
            self.tail.extend(bytes);
        }
    }

    /// Takes the `AUTO` file an [`open_auto`](Self::open_auto) log is waiting for, if it
    /// has not yet, so that nothing keeps the batch that made it alive.
    pub fn settle_auto(&mut self) {
        if let Some(f) = &mut self.file {
            f.settle();
        }
    }

    /// Reopens the base file (SIGUSR2). No-op without a file.
    pub fn reopen(&mut self) -> io::Result<()> {
        match &mut self.file {
            Some(f) => f.reopen(),
            None => Ok(()),
        }
    }

    /// `clearProcessLogs`: unlinks the base file (backups stay) and reopens
    /// it; also empties the in-memory tail. A non-seekable target is only
    /// reopened.
    pub fn clear(&mut self) -> io::Result<()> {
        self.tail.clear();
        match &mut self.file {
            Some(f) => f.clear(),
            None => Ok(()),
        }
    }

    /// The log file path, if logging to a file.
    pub fn path(&self) -> Option<&Path> {
        self.file.as_ref().map(RotatingFile::path)
    }

    /// The last `tail_capacity` bytes of logged data.
    pub fn tail(&self) -> Vec<u8> {
        let (a, b) = self.tail.as_slices();
        let mut v = Vec::with_capacity(a.len() + b.len());
        v.extend_from_slice(a);
        v.extend_from_slice(b);
        v
    }

    /// Size of the current base log file as written by us (0 without a file
    /// or for a non-seekable target).
    pub fn size(&self) -> u64 {
        self.file.as_ref().map_or(0, RotatingFile::size)
    }

    /// False when the target is a pipe, FIFO, character device or socket
    /// (never rotated). True without a file.
    pub fn seekable(&self) -> bool {
        self.file.as_ref().is_none_or(RotatingFile::seekable)
    }

    /// True between a capture BEGIN and END token.
    pub fn capturing(&self) -> bool {
        self.capture
            .as_deref()
            .is_some_and(CaptureParser::capturing)
    }
}
