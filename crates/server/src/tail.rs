//! The `tail -f` stream behind `/logtail` and `/mainlogtail` (supervisord's
//! `tail_f_producer`), as an HTTP body with no length, so hyper sends it chunked.
//!
//! On open: remember the file's inode and start 1024 bytes before the end (at 0 for smaller
//! files). Every poll interval: if the path now names another inode (rotation), reopen it
//! and start at 0; if the open file shrank, emit `==> File truncated <==\n` and restart at
//! 0; if it grew, emit the new bytes (in pieces of at most [`MAX_CHUNK`], without waiting
//! between pieces). The body never ends by itself: it stops when hyper drops it (write
//! failed, connection closed, server shut down) or when [`PeerProbe`] sees the client hang
//! up.

use std::fs::File;
use std::io;
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use hyper::body::{Body, Frame};
use tokio::time::{Interval, MissedTickBehavior};

use crate::conn::PeerProbe;

/// How much of the file is sent on open.
const HEAD: u64 = 1024;
/// Largest single chunk.
const MAX_CHUNK: u64 = 256 * 1024;

pub(crate) struct TailBody {
    path: PathBuf,
    file: File,
    id: (u64, u64),
    pos: u64,
    interval: Interval,
    probe: PeerProbe,
    /// More bytes are known to be waiting: do not wait for the next tick.
    more: bool,
}

impl TailBody {
    /// Opens the file; also returns its mtime (seconds) for `Last-Modified`.
    pub(crate) fn open(
        path: &Path,
        poll: Duration,
        probe: PeerProbe,
    ) -> io::Result<(TailBody, i64)> {
        let file = File::open(path)?;
        let meta = file.metadata()?;
        if meta.is_dir() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "is a directory",
            ));
        }
        let mut interval = tokio::time::interval(poll);
        interval.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let body = TailBody {
            path: path.to_path_buf(),
            file,
            id: (meta.dev(), meta.ino()),
            pos: meta.len().saturating_sub(HEAD),
            interval,
            probe,
            more: false,
        };
        Ok((body, meta.mtime()))
    }

    /// One look at the file: `Some(bytes)` to send, or `None` for nothing new.
    fn step(&mut self) -> io::Result<Option<Bytes>> {
        if let Ok(meta) = std::fs::metadata(&self.path) {
            if (meta.dev(), meta.ino()) != self.id {
                if let Ok(f) = File::open(&self.path) {
                    let m = f.metadata()?;
                    self.file = f;
                    self.id = (m.dev(), m.ino());
                    self.pos = 0;
                }
            }
        }
        let size = self.file.metadata()?.len();
        if size < self.pos {
            self.pos = 0;
            return Ok(Some(Bytes::from_static(b"==> File truncated <==\n")));
        }
        if size == self.pos {
            return Ok(None);
        }
        let want = (size - self.pos).min(MAX_CHUNK) as usize;
        let mut buf = vec![0u8; want];
        let mut got = 0;
        while got < want {
            match self.file.read_at(&mut buf[got..], self.pos + got as u64) {
                Ok(0) => break,
                Ok(n) => got += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        buf.truncate(got);
        self.pos += got as u64;
        self.more = got > 0 && size > self.pos;
        Ok((got > 0).then(|| Bytes::from(buf)))
    }
}

impl Body for TailBody {
    type Data = Bytes;
    type Error = io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, io::Error>>> {
        let this = &mut *self;
        loop {
            if !std::mem::take(&mut this.more) {
                ready!(this.interval.poll_tick(cx));
            }
            if this.probe.peer_closed() {
                return Poll::Ready(Some(Err(io::Error::new(
                    io::ErrorKind::BrokenPipe,
                    "client went away",
                ))));
            }
            match this.step() {
                Ok(Some(b)) => return Poll::Ready(Some(Ok(Frame::data(b)))),
                Ok(None) => continue,
                Err(e) => return Poll::Ready(Some(Err(e))),
            }
        }
    }
}
