//! Minimal syslog output (`*_syslog = true` and `logfile = syslog`).
//!
//! Owns the call into `libc::syslog` with facility `LOG_USER` and priority
//! `LOG_INFO` (Python's `syslog.syslog()` defaults; the ident is libc's
//! default, the program name). Callers split their data into lines first
//! with [`lines`] (supervisord: `message.rstrip('\n').split('\n')`) and send
//! one message per line.

/// Sends one message. NUL bytes (which C strings can't carry, and which make
/// Python's `syslog.syslog` raise) are dropped.
pub(crate) fn send(parts: &[&[u8]]) {
    let len: usize = parts.iter().map(|p| p.len()).sum();
    let mut buf = Vec::with_capacity(len + 1);
    for p in parts {
        buf.extend(p.iter().copied().filter(|&b| b != 0));
    }
    buf.push(0);
    // SAFETY: the format is a static NUL-terminated "%s" and `buf` is a
    // NUL-terminated byte string without interior NULs that outlives the call.
    unsafe {
        libc::syslog(
            libc::LOG_USER | libc::LOG_INFO,
            c"%s".as_ptr(),
            buf.as_ptr() as *const libc::c_char,
        );
    }
}

/// The lines supervisord's `SyslogHandler` sends for one message: trailing
/// newlines are stripped, then the rest is split on `\n` (so `"\n"` yields a
/// single empty line).
pub(crate) fn lines(data: &[u8]) -> impl Iterator<Item = &[u8]> {
    let end = data.iter().rposition(|&b| b != b'\n').map_or(0, |p| p + 1);
    data[..end].split(|&b| b == b'\n')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_splitting_like_supervisord() {
        let v: Vec<&[u8]> = lines(b"a\nb\n\n").collect();
        assert_eq!(v, vec![&b"a"[..], &b"b"[..]]);
        let v: Vec<&[u8]> = lines(b"\n").collect();
        assert_eq!(v, vec![&b""[..]]);
        let v: Vec<&[u8]> = lines(b"x\n\ny").collect();
        assert_eq!(v, vec![&b"x"[..], &b""[..], &b"y"[..]]);
    }
}
