//! The log file writer shared by child logs and the activity log.
//!
//! Owns one open file descriptor for a log path plus supervisord's
//! `RotatingFileHandler` rules: the file is opened in append mode; after each
//! write, when the size reaches `maxbytes` (> 0), `.N-1→.N … .1→.2`,
//! `base→.1` are renamed and a fresh base file is opened, leaving exactly
//! `backups` old files; with `backups = 0` the base file is truncated instead.
//!
//! Data flow: callers hand complete chunks to [`RotatingFile::write`], which
//! issues one `write(2)` per chunk (plus retries for short writes), adds the
//! bytes to a locally tracked size and rotates *after* the chunk is written,
//! so nothing is dropped by rotation (a file may exceed `maxbytes` by one
//! chunk, as in supervisord).
//!
//! Differences from supervisord, all deliberate:
//! * Non-seekable targets (FIFOs, character devices such as `/dev/stdout` or
//!   `/dev/null`, sockets), detected with `fstat`, are never rotated and never
//!   unlinked by [`RotatingFile::clear`], whatever `maxbytes` says
//!   (supervisord dies with `Illegal seek`, issue #1224).
//! * Paths under `/dev/` and `/proc/` (e.g. `/dev/stdout` redirected to a
//!   regular file, or `/proc/self/fd/N`) are treated like non-seekable
//!   targets: renaming or unlinking them would damage the system. `/dev/shm`,
//!   a tmpfs for ordinary files, is the exception: its logs rotate.
//! * The size is tracked locally instead of calling `tell()`; before rotating
//!   it is confirmed with `fstat`, so an external `copytruncate` does not cause
//!   a spurious rotation.
//! * If the fresh base file can't be opened, the old descriptor is kept (the
//!   data then lands in `.1`) and the rotation is retried after the next write.
//! * A failed write is reported to the caller and the bytes are dropped; the
//!   next write proceeds normally.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::FileTypeExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::auto::AutoLogTicket;

#[derive(Debug)]
pub(crate) struct RotatingFile {
    /// Shared with the process record that names this file (one copy per path).
    path: Arc<Path>,
    file: Option<File>,
    /// An `AUTO` file a batch is still making: taken (waiting if need be) at first use.
    pending: Option<AutoLogTicket>,
    /// That file could not be created: the channel logs nowhere, as when supervisord
    /// cannot create an `AUTO` file (the engine reports it).
    nowhere: bool,
    /// A second, non-append descriptor of the same file for `splice(2)`, which refuses
    /// O_APPEND targets. Dropped whenever `file` is replaced (rotation, reopen, clear).
    splice_file: Option<File>,
    seekable: bool,
    maxbytes: u64,
    backups: u32,
    size: u64,
}

/// Paths that must never be renamed or unlinked whatever they point to.
fn is_special_path(path: &Path) -> bool {
    (path.starts_with("/dev") && !path.starts_with("/dev/shm")) || path.starts_with("/proc")
}

fn open_append(path: &Path) -> io::Result<(File, bool, u64)> {
    let file = OpenOptions::new().append(true).create(true).open(path)?;
    let meta = file.metadata()?;
    let ft = meta.file_type();
    let seekable =
        !(ft.is_fifo() || ft.is_char_device() || ft.is_socket() || is_special_path(path));
    let size = if seekable { meta.len() } else { 0 };
    Ok((file, seekable, size))
}

fn rename_ignoring_missing(from: &Path, to: &Path) -> io::Result<()> {
    match std::fs::rename(from, to) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        r => r,
    }
}

pub(crate) fn numbered(path: &Path, n: u32) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(format!(".{n}"));
    PathBuf::from(s)
}

impl RotatingFile {
    pub(crate) fn open(path: Arc<Path>, maxbytes: u64, backups: u32) -> io::Result<Self> {
        let (file, seekable, size) = open_append(&path)?;
        Ok(RotatingFile {
            path,
            file: Some(file),
            pending: None,
            nowhere: false,
            splice_file: None,
            seekable,
            maxbytes,
            backups,
            size,
        })
    }

    /// Logs into the `AUTO` file `ticket` will hand over, asked for at `path`.
    pub(crate) fn from_ticket(
        path: Arc<Path>,
        ticket: AutoLogTicket,
        maxbytes: u64,
        backups: u32,
    ) -> Self {
        RotatingFile {
            path,
            file: None,
            pending: Some(ticket),
            nowhere: false,
            splice_file: None,
            seekable: true,
            maxbytes,
            backups,
            size: 0,
        }
    }

    /// Takes the pending `AUTO` file, if any (waiting for the batch to make it). False
    /// when the channel logs nowhere.
    pub(crate) fn settle(&mut self) -> bool {
        if let Some(ticket) = self.pending.take() {
            match ticket.redeem() {
                Ok((path, file)) => {
                    if *self.path != *path {
                        self.path = Arc::from(path.as_path());
                    }
                    self.file = Some(file);
                }
                Err(_) => self.nowhere = true,
            }
        }
        !self.nowhere
    }

    /// Logs into `file`, which was just created empty at `path` and opened for appending.
    pub(crate) fn from_created(path: Arc<Path>, file: File, maxbytes: u64, backups: u32) -> Self {
        RotatingFile {
            path,
            file: Some(file),
            pending: None,
            nowhere: false,
            splice_file: None,
            seekable: true,
            maxbytes,
            backups,
            size: 0,
        }
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Bytes in the current base file (0 for non-seekable targets).
    pub(crate) fn size(&self) -> u64 {
        self.size
    }

    pub(crate) fn seekable(&self) -> bool {
        self.seekable
    }

    fn rotates(&self) -> bool {
        self.seekable && self.maxbytes > 0
    }

    /// Writes the whole chunk, then rotates if needed. The first error (from
    /// the write or from the rotation) is returned; the chunk is never
    /// re-sent.
    pub(crate) fn write(&mut self, data: &[u8]) -> io::Result<()> {
        if data.is_empty() || !self.settle() {
            return Ok(());
        }
        if self.file.is_none() {
            self.reopen()?;
        }
        let file = self.file.as_mut().expect("reopened above");
        let mut rest = data;
        let mut result = Ok(());
        while !rest.is_empty() {
            match file.write(rest) {
                Ok(0) => {
                    result = Err(io::Error::from(io::ErrorKind::WriteZero));
                    break;
                }
                Ok(n) => {
                    if self.seekable {
                        self.size += n as u64;
                    }
                    rest = &rest[n..];
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    result = Err(e);
                    break;
                }
            }
        }
        let rotated = self.maybe_rotate();
        result.and(rotated)
    }

    /// Moves up to `max` bytes from the (non-blocking) pipe `pipe` straight into the file
    /// with `splice(2)`: no copy through user space. The bytes go at the current end of
    /// the file (as an append would, so `copytruncate` keeps working), then the rotation
    /// rule applies as after a write. `Ok(0)`: end of file on the pipe; `WouldBlock`: the
    /// pipe is empty. Only for seekable targets.
    pub(crate) fn splice_from(
        &mut self,
        pipe: std::os::fd::RawFd,
        max: usize,
    ) -> io::Result<usize> {
        use std::os::fd::AsRawFd;
        if !self.settle() {
            // Plain reads then drop the bytes, as writes to nowhere do.
            return Err(io::Error::from(io::ErrorKind::Unsupported));
        }
        if self.file.is_none() {
            self.reopen()?;
        }
        if self.splice_file.is_none() {
            self.splice_file = Some(OpenOptions::new().write(true).open(&self.path)?);
        }
        let fd = self.splice_file.as_ref().expect("opened above").as_raw_fd();
        // SAFETY: lseek/splice on descriptors we own; `offset` outlives the call.
        let n = unsafe {
            let mut offset = libc::lseek(fd, 0, libc::SEEK_END);
            if offset < 0 {
                return Err(io::Error::last_os_error());
            }
            libc::splice(
                pipe,
                std::ptr::null_mut(),
                fd,
                &mut offset,
                max,
                libc::SPLICE_F_NONBLOCK | libc::SPLICE_F_MOVE,
            )
        };
        if n < 0 {
            return Err(io::Error::last_os_error());
        }
        let n = n as usize;
        if n > 0 {
            self.size += n as u64;
            self.maybe_rotate()?;
        }
        Ok(n)
    }

    fn maybe_rotate(&mut self) -> io::Result<()> {
        if !self.rotates() || self.size < self.maxbytes {
            return Ok(());
        }
        // Confirm with the real size (another writer or copytruncate).
        if let Some(f) = &self.file {
            if let Ok(meta) = f.metadata() {
                self.size = meta.len();
            }
        }
        if self.size < self.maxbytes {
            return Ok(());
        }
        self.rotate()
    }

    fn rotate(&mut self) -> io::Result<()> {
        if self.backups == 0 {
            let (file, seekable, _) = open_append(&self.path)?;
            file.set_len(0)?;
            self.file = Some(file);
            self.splice_file = None;
            self.seekable = seekable;
            self.size = 0;
            return Ok(());
        }
        for i in (1..self.backups).rev() {
            let src = numbered(&self.path, i);
            if src.exists() {
                rename_ignoring_missing(&src, &numbered(&self.path, i + 1))?;
            }
        }
        rename_ignoring_missing(&self.path, &numbered(&self.path, 1))?;
        let (file, seekable, size) = open_append(&self.path)?;
        self.file = Some(file);
        self.splice_file = None;
        self.seekable = seekable;
        self.size = size;
        Ok(())
    }

    /// Reopens the base path (SIGUSR2 / logrotate `create`). On failure the
    /// old descriptor stays in use.
    pub(crate) fn reopen(&mut self) -> io::Result<()> {
        if !self.settle() {
            return Ok(());
        }
        let (file, seekable, size) = open_append(&self.path)?;
        self.file = Some(file);
        self.splice_file = None;
        self.seekable = seekable;
        self.size = size;
        Ok(())
    }

    /// Unlinks the base file (backups are kept) and reopens it. A
    /// non-seekable target such as `/dev/stdout` is only reopened, never
    /// unlinked.
    pub(crate) fn clear(&mut self) -> io::Result<()> {
        if !self.settle() {
            return Ok(());
        }
        if self.seekable {
            match std::fs::remove_file(&self.path) {
                Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
                _ => {}
            }
        }
        self.reopen()
    }
}
