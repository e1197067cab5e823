//! Capture mode parser (`*_capture_maxbytes > 0`, `PROCESS_COMMUNICATION`).
//!
//! Owns the `<!--XSUPERVISOR:BEGIN-->` / `<!--XSUPERVISOR:END-->` state
//! machine of supervisord's `POutputDispatcher.record_output`.
//!
//! Data flow: raw child output enters [`CaptureParser::feed`]. Bytes outside
//! the tokens are appended to the caller's "log" buffer (they go on to the
//! ANSI stripper and the log file); bytes between the tokens go to an internal
//! capture buffer bounded by `capture_maxbytes` (the oldest bytes are dropped
//! when it overflows); each END token completes one body, which is pushed to
//! the caller's `captured` list (it becomes a `PROCESS_COMMUNICATION_*`
//! event). The tokens themselves are never logged.
//!
//! Tokens split across reads: when a chunk ends with a proper prefix of the
//! token currently searched for, that prefix is held back and re-examined with
//! the next chunk (supervisord's `find_prefix_at_end`). Unlike supervisord we
//! do not additionally hold back whole chunks shorter than the token (it
//! returns early when its buffer is `<= len(token)` bytes, so a short final
//! line like `ok\n` stays unlogged until more output arrives); held-back bytes
//! are released by [`CaptureParser::finish`] at end of stream.
//!
//! The bound keeps exactly the newest `capture_maxbytes` bytes (supervisord's
//! `BoundIO` drops `len(new write)` bytes from the front, which can exceed or
//! undershoot the bound slightly).

use std::collections::VecDeque;

pub const BEGIN_TOKEN: &[u8] = b"<!--XSUPERVISOR:BEGIN-->";
pub const END_TOKEN: &[u8] = b"<!--XSUPERVISOR:END-->";

/// Incremental BEGIN/END token scanner with a bounded capture buffer.
#[derive(Debug, Clone)]
pub struct CaptureParser {
    maxbytes: usize,
    capturing: bool,
    /// A proper prefix of the current token seen at the end of the last chunk.
    pending: Vec<u8>,
    body: VecDeque<u8>,
}

impl CaptureParser {
    /// `maxbytes` must be > 0 (0 means capture mode is off: don't build one).
    pub fn new(maxbytes: usize) -> Self {
        CaptureParser {
            maxbytes: maxbytes.max(1),
            capturing: false,
            pending: Vec::new(),
            body: VecDeque::new(),
        }
    }

    /// True between a BEGIN and its END.
    pub fn capturing(&self) -> bool {
        self.capturing
    }

    /// Scans `data`; appends loggable bytes to `log`, completed bodies to
    /// `captured`.
    pub fn feed(&mut self, data: &[u8], log: &mut Vec<u8>, captured: &mut Vec<Vec<u8>>) {
        if self.pending.is_empty() {
            self.scan(data, log, captured);
        } else {
            let mut joined = std::mem::take(&mut self.pending);
            joined.extend_from_slice(data);
            self.scan(&joined, log, captured);
        }
    }

    fn scan(&mut self, mut rest: &[u8], log: &mut Vec<u8>, captured: &mut Vec<Vec<u8>>) {
        loop {
            let token = if self.capturing {
                END_TOKEN
            } else {
                BEGIN_TOKEN
            };
            match find(rest, token) {
                Some(at) => {
                    self.emit(&rest[..at], log);
                    rest = &rest[at + token.len()..];
                    self.capturing = !self.capturing;
                    if !self.capturing {
                        let body: Vec<u8> = self.body.drain(..).collect();
                        captured.push(body);
                    }
                }
                None => {
                    let keep = prefix_at_end(rest, token);
                    let (now, later) = rest.split_at(rest.len() - keep);
                    self.emit(now, log);
                    self.pending.extend_from_slice(later);
                    return;
                }
            }
        }
    }

    fn emit(&mut self, bytes: &[u8], log: &mut Vec<u8>) {
        if bytes.is_empty() {
            return;
        }
        if !self.capturing {
            log.extend_from_slice(bytes);
            return;
        }
        if bytes.len() >= self.maxbytes {
            self.body.clear();
            self.body.extend(&bytes[bytes.len() - self.maxbytes..]);
            return;
        }
        let over = (self.body.len() + bytes.len()).saturating_sub(self.maxbytes);
        self.body.drain(..over);
        self.body.extend(bytes);
    }

    /// End of stream: releases a held-back partial token. Outside capture it
    /// is appended to `log`; inside an unterminated capture the partial body
    /// is discarded, as supervisord never emits an event for it.
    pub fn finish(&mut self, log: &mut Vec<u8>) {
        let pending = std::mem::take(&mut self.pending);
        if !self.capturing {
            log.extend_from_slice(&pending);
        }
        self.capturing = false;
        self.body.clear();
    }

    /// Number of bytes currently in the capture buffer.
    pub fn buffered(&self) -> usize {
        self.body.len()
    }
}

/// First occurrence of `needle` (non-empty) in `hay`.
pub(crate) fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    let first = needle[0];
    let mut from = 0;
    while from + needle.len() <= hay.len() {
        let p = hay[from..=hay.len() - needle.len()]
            .iter()
            .position(|&b| b == first)?;
        let at = from + p;
        if &hay[at..at + needle.len()] == needle {
            return Some(at);
        }
        from = at + 1;
    }
    None
}

/// Length of the longest proper prefix of `needle` that `hay` ends with
/// (supervisord's medusa `find_prefix_at_end`).
pub(crate) fn prefix_at_end(hay: &[u8], needle: &[u8]) -> usize {
    let mut l = needle.len() - 1;
    while l > 0 && !hay.ends_with(&needle[..l]) {
        l -= 1;
    }
    l
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(chunks: &[&[u8]], maxbytes: usize) -> (Vec<u8>, Vec<Vec<u8>>) {
        let mut p = CaptureParser::new(maxbytes);
        let mut log = Vec::new();
        let mut cap = Vec::new();
        for c in chunks {
            p.feed(c, &mut log, &mut cap);
        }
        p.finish(&mut log);
        (log, cap)
    }

    #[test]
    fn basic_capture() {
        let input = b"before\n<!--XSUPERVISOR:BEGIN-->hello world<!--XSUPERVISOR:END-->after\n";
        let (log, cap) = run(&[input], 1000);
        assert_eq!(log, b"before\nafter\n");
        assert_eq!(cap, vec![b"hello world".to_vec()]);
    }

    #[test]
    fn multiple_and_empty_bodies() {
        let input = b"a<!--XSUPERVISOR:BEGIN--><!--XSUPERVISOR:END-->b<!--XSUPERVISOR:BEGIN-->x<!--XSUPERVISOR:END--><!--XSUPERVISOR:BEGIN-->y<!--XSUPERVISOR:END-->c";
        let (log, cap) = run(&[input], 1000);
        assert_eq!(log, b"abc");
        assert_eq!(cap, vec![b"".to_vec(), b"x".to_vec(), b"y".to_vec()]);
    }

    #[test]
    fn tokens_split_at_every_position() {
        let input: &[u8] =
            b"pre <!--XSUPERVISOR:BEGIN-->body <!--XSUPER not end--> more<!--XSUPERVISOR:END--> post <!-- x";
        let (want_log, want_cap) = run(&[input], 1000);
        assert_eq!(want_log, b"pre  post <!-- x".to_vec());
        assert_eq!(want_cap, vec![b"body <!--XSUPER not end--> more".to_vec()]);
        for a in 0..=input.len() {
            let (log, cap) = run(&[&input[..a], &input[a..]], 1000);
            assert_eq!((&log, &cap), (&want_log, &want_cap), "split at {a}");
            for b in a..=input.len() {
                let (log, cap) = run(&[&input[..a], &input[a..b], &input[b..]], 1000);
                assert_eq!((&log, &cap), (&want_log, &want_cap), "split at {a},{b}");
            }
        }
        // Byte by byte.
        let chunks: Vec<&[u8]> = input.chunks(1).collect();
        assert_eq!(run(&chunks, 1000), (want_log, want_cap));
    }

    #[test]
    fn partial_token_is_held_then_released() {
        let mut p = CaptureParser::new(100);
        let mut log = Vec::new();
        let mut cap = Vec::new();
        p.feed(b"line\n<!--XSUP", &mut log, &mut cap);
        assert_eq!(log, b"line\n");
        p.feed(b"ERVISED\n", &mut log, &mut cap);
        assert_eq!(log, b"line\n<!--XSUPERVISED\n");
        p.feed(b"x<", &mut log, &mut cap);
        assert_eq!(log, b"line\n<!--XSUPERVISED\nx");
        p.finish(&mut log);
        assert_eq!(log, b"line\n<!--XSUPERVISED\nx<");
        assert!(cap.is_empty());
    }

    #[test]
    fn bound_drops_oldest() {
        let (log, cap) = run(
            &[
                b"<!--XSUPERVISOR:BEGIN-->0123",
                b"456789",
                b"abc<!--XSUPERVISOR:END-->",
            ],
            5,
        );
        assert!(log.is_empty());
        assert_eq!(cap, vec![b"89abc".to_vec()]);
        let (_, cap) = run(
            &[b"<!--XSUPERVISOR:BEGIN-->0123456789<!--XSUPERVISOR:END-->"],
            4,
        );
        assert_eq!(cap, vec![b"6789".to_vec()]);
    }

    #[test]
    fn unterminated_capture_is_discarded_at_finish() {
        let (log, cap) = run(
            &[b"x<!--XSUPERVISOR:BEGIN-->never ends<!--XSUPERVISOR:E"],
            100,
        );
        assert_eq!(log, b"x");
        assert!(cap.is_empty());
    }

    #[test]
    fn helpers() {
        assert_eq!(find(b"abcabc", b"ca"), Some(2));
        assert_eq!(find(b"ab", b"abc"), None);
        assert_eq!(find(b"", b"a"), None);
        assert_eq!(prefix_at_end(b"xx<!--", BEGIN_TOKEN), 4);
        assert_eq!(prefix_at_end(b"xx", BEGIN_TOKEN), 0);
        assert_eq!(prefix_at_end(b"<!--XSUPERVISOR:BEGIN--", BEGIN_TOKEN), 23);
    }
}
