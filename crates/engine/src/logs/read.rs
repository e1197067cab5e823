//! Reading log files for the XML-RPC API.
//!
//! Owns the offset/length rules of supervisord's `options.readFile`
//! (`readLog`, `readProcessStdoutLog`, `readProcessStderrLog`) and
//! `options.tailFile` (`tailProcessStdoutLog`, `tailProcessStderrLog`).
//! Data flow: the RPC layer passes the log path and the client's integers;
//! the file is opened, read once with a bounded read, and the bytes are
//! decoded.
//!
//! Decoding is lenient: supervisord decodes strictly as UTF-8, so a range
//! that starts or ends inside a multibyte character (or any invalid UTF-8 in
//! the file) makes it fail with HTTP 500. Here every invalid sequence, in
//! particular a character cut by the range, is replaced by U+FFFD.
//!
//! Only regular files are read: the file is opened with `O_NONBLOCK` (so a
//! FIFO can't hang the caller) and anything else (a log configured as
//! `/dev/stdout`, a FIFO) is `FAILED` / `("", offset, false)`; supervisord
//! would block reading the terminal or fail with `Illegal seek`.
//!
//! `tail_range` computes with 128-bit integers, so client values near the
//! i64 limits behave like Python's unbounded ints.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

/// Why a [`read_range`] failed; maps to the XML-RPC faults of the same name.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ReadError {
    /// `BAD_ARGUMENTS` (3): negative offset with non-zero length, or
    /// negative length.
    #[error("BAD_ARGUMENTS")]
    BadArguments,
    /// `NO_FILE` (20): the log file does not exist.
    #[error("NO_FILE")]
    NoFile,
    /// `FAILED` (30): any other I/O error.
    #[error("FAILED: {0}")]
    Failed(String),
}

/// Lenient UTF-8 decoding: a character cut at the start of the range (up to
/// three leading continuation bytes) becomes one U+FFFD, a character cut at
/// the end becomes one U+FFFD, and any other invalid sequence is replaced as
/// by `String::from_utf8_lossy`.
fn lossy(data: Vec<u8>) -> String {
    let data = match String::from_utf8(data) {
        Ok(s) => return s,
        Err(e) => e.into_bytes(),
    };
    let cut = data
        .iter()
        .take(3)
        .take_while(|&&b| (0x80..=0xbf).contains(&b))
        .count();
    let mut out = String::with_capacity(data.len() + 3);
    if cut > 0 {
        out.push(char::REPLACEMENT_CHARACTER);
    }
    out.push_str(&String::from_utf8_lossy(&data[cut..]));
    out
}

/// Opens `path` for reading without blocking on FIFOs; only regular files.
fn open_regular(path: &Path) -> io::Result<File> {
    let f = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)?;
    if f.metadata()?.is_file() {
        Ok(f)
    } else {
        Err(io::Error::other("not a regular file"))
    }
}

fn read_at(f: &mut File, pos: u64, len: Option<u64>) -> io::Result<Vec<u8>> {
    f.seek(SeekFrom::Start(pos))?;
    let mut data = Vec::new();
    match len {
        Some(n) => {
            f.take(n).read_to_end(&mut data)?;
        }
        None => {
            f.read_to_end(&mut data)?;
        }
    }
    Ok(data)
}

/// supervisord's `readFile` behind `readLog`/`readProcess*Log`:
///
/// * `offset < 0`, `length == 0`: the last `|offset|` bytes (or the whole
///   file if shorter);
/// * `offset < 0`, `length != 0`: [`ReadError::BadArguments`];
/// * `offset >= 0`, `length < 0`: [`ReadError::BadArguments`];
/// * `length == 0`: from `offset` to EOF;
/// * otherwise up to `length` bytes from `offset` (empty past EOF).
///
/// A missing file is [`ReadError::NoFile`] (checked first, as the RPC layer
/// does), other I/O errors [`ReadError::Failed`].
pub fn read_range(path: &Path, offset: i64, length: i64) -> Result<String, ReadError> {
    let mut f = match open_regular(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Err(ReadError::NoFile),
        Err(e) => return Err(ReadError::Failed(e.to_string())),
    };
    let failed = |e: io::Error| ReadError::Failed(e.to_string());
    let data = if offset < 0 {
        if length != 0 {
            return Err(ReadError::BadArguments);
        }
        let abs = offset.unsigned_abs();
        let size = f.seek(SeekFrom::End(0)).map_err(failed)?;
        read_at(&mut f, size.saturating_sub(abs), Some(abs)).map_err(failed)?
    } else {
        if length < 0 {
            return Err(ReadError::BadArguments);
        }
        let len = (length != 0).then_some(length as u64);
        read_at(&mut f, offset as u64, len).map_err(failed)?
    };
    Ok(lossy(data))
}

/// supervisord's `tailFile` behind `tailProcess*Log`: returns
/// `(bytes, new_offset, overflow)`.
///
/// If the file is larger than `offset + length`, `overflow` is true and only
/// the last `length` bytes are returned; otherwise the bytes from `offset`
/// (at most `length`). The returned offset is the file size. When the file
/// can't be opened or read the result is `("", offset, false)`.
pub fn tail_range(path: &Path, offset: i64, length: i64) -> (String, i64, bool) {
    let Ok(mut f) = open_regular(path) else {
        return (String::new(), offset, false);
    };
    let Ok(sz) = f.seek(SeekFrom::End(0)) else {
        return (String::new(), offset, false);
    };
    let sz = i128::from(sz);
    let mut offset = i128::from(offset);
    let mut length = i128::from(length);
    let mut overflow = false;
    if sz > offset + length {
        overflow = true;
        offset = sz - 1;
    }
    if offset + length > sz {
        if offset > sz - 1 {
            length = 0;
        }
        offset = sz - length;
    }
    offset = offset.max(0);
    length = length.max(0);
    let data = if length == 0 {
        Vec::new()
    } else {
        let clamp = |v: i128| u64::try_from(v).unwrap_or(u64::MAX);
        match read_at(&mut f, clamp(offset), Some(clamp(length))) {
            Ok(d) => d,
            Err(_) => {
                let off = i64::try_from(offset).unwrap_or(i64::MAX);
                return (String::new(), off, false);
            }
        }
    };
    (lossy(data), i64::try_from(sz).unwrap_or(i64::MAX), overflow)
}
