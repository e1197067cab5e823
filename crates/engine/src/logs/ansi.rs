//! ANSI escape stripping for child output (`strip_ansi = true`).
//!
//! Owns the byte-level rule supervisord 4.3 applies in
//! `dispatchers.stripEscapes`: everything from `ESC [` up to and including the
//! first byte in `H f A B C D R s u J K h l p m` is removed; everything else is
//! copied unchanged. (supervisord's rule is a hand-written scanner, not a
//! regex; the terminator list above is copied from it.)
//!
//! Data flow: [`super::ChannelLog::feed`] passes every segment destined for the
//! log through an [`AnsiStripper`], which appends the visible bytes to an
//! output buffer. Captured (`PROCESS_COMMUNICATION`) bodies go through the
//! stateless [`strip_ansi`] once they are complete.
//!
//! Deliberate difference: supervisord strips each read independently, so an
//! escape sequence split across two reads leaks its tail (`"\x1b[3" | "1m"`
//! logs `1m`). [`AnsiStripper`] keeps its state between calls, so a sequence
//! split anywhere is removed completely. A lone trailing `ESC` is held back
//! until the next byte shows whether it starts a sequence (see
//! [`AnsiStripper::finish`]).

/// Bytes that end an escape sequence, as in supervisord's `ANSI_TERMINATORS`.
const TERMINATORS: &[u8] = b"HfABCDRsuJKhlpm";
const ESC: u8 = 0x1b;

fn is_terminator(b: u8) -> bool {
    TERMINATORS.contains(&b)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum State {
    /// Copying visible text.
    #[default]
    Text,
    /// The previous chunk ended with an `ESC` that was held back.
    SawEsc,
    /// Inside `ESC [ …`, waiting for a terminator.
    InEscape,
}

/// Streaming ANSI stripper whose state survives chunk boundaries.
#[derive(Debug, Clone, Default)]
pub struct AnsiStripper {
    state: State,
}

impl AnsiStripper {
    pub fn new() -> Self {
        Self::default()
    }

    /// Strips `input`, appending the visible bytes to `out`.
    pub fn strip_into(&mut self, input: &[u8], out: &mut Vec<u8>) {
        let mut i = 0;
        let n = input.len();
        if self.state == State::SawEsc && n > 0 {
            if input[0] == b'[' {
                self.state = State::InEscape;
                i = 1;
            } else {
                out.push(ESC);
                self.state = State::Text;
            }
        }
        while i < n {
            match self.state {
                State::InEscape => match input[i..].iter().position(|&b| is_terminator(b)) {
                    Some(p) => {
                        i += p + 1;
                        self.state = State::Text;
                    }
                    None => return,
                },
                State::Text | State::SawEsc => {
                    let rest = &input[i..];
                    let Some(p) = find_escape_start(rest) else {
                        out.extend_from_slice(rest);
                        return;
                    };
                    out.extend_from_slice(&rest[..p]);
                    i += p;
                    if i + 1 == n {
                        // A trailing ESC: wait for the next chunk.
                        self.state = State::SawEsc;
                        return;
                    }
                    // find_escape_start only stops at a trailing ESC or at ESC [.
                    i += 2;
                    self.state = State::InEscape;
                }
            }
        }
    }

    /// Ends the stream: returns a held-back trailing `ESC`, if any, and resets.
    pub fn finish(&mut self) -> Option<u8> {
        let held = self.state == State::SawEsc;
        self.state = State::Text;
        held.then_some(ESC)
    }

    /// True while inside an unterminated escape sequence or holding an `ESC`.
    pub fn is_mid_sequence(&self) -> bool {
        self.state != State::Text
    }
}

/// Position of the next `ESC [` in `s`, or of a final lone `ESC`.
fn find_escape_start(s: &[u8]) -> Option<usize> {
    let mut from = 0;
    while let Some(p) = s[from..].iter().position(|&b| b == ESC) {
        let at = from + p;
        match s.get(at + 1) {
            None | Some(b'[') => return Some(at),
            Some(_) => from = at + 1,
        }
    }
    None
}

/// Stateless strip of one complete buffer, identical to supervisord's
/// `stripEscapes` (an unterminated sequence swallows the rest of the buffer;
/// a trailing lone `ESC` is kept).
pub fn strip_ansi(input: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(input.len());
    let mut s = AnsiStripper::new();
    s.strip_into(input, &mut out);
    if let Some(b) = s.finish() {
        out.push(b);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strip_cases_match_supervisord() {
        // Expectations checked against supervisor.dispatchers.stripEscapes.
        let cases: &[(&[u8], &[u8])] = &[
            (b"", b""),
            (b"plain text\n", b"plain text\n"),
            (b"\x1b[31mred\x1b[0m\n", b"red\n"),
            (b"a\x1b[1;32;40mb\x1b[Kc", b"abc"),
            (b"\x1b[2J\x1b[Hscreen", b"screen"),
            (b"x\x1b[?25hy\x1b[?25lz", b"xyz"),
            (b"keep \x1b alone", b"keep \x1b alone"),
            (b"\x1b\x1b[31mX", b"\x1bX"),
            (b"tail\x1b", b"tail\x1b"),
            (b"unterminated \x1b[123", b"unterminated "),
            (b"\x1b[", b""),
            (b"\x1b[m", b""),
            // '[' right after ESC[ is not a terminator; 'x' is not either.
            (b"\x1b[[xm!", b"!"),
            // ESC inside an escape is just skipped until a terminator.
            (b"\x1b[3\x1b[1mZ", b"Z"),
            (b"\x1b[10;20fpos\x1b[sS\x1b[uU", b"posSU"),
            (
                "h\u{e9}\x1b[0ml\u{e9}".as_bytes(),
                "h\u{e9}l\u{e9}".as_bytes(),
            ),
        ];
        for (input, want) in cases {
            assert_eq!(
                strip_ansi(input),
                want.to_vec(),
                "input {:?}",
                String::from_utf8_lossy(input)
            );
        }
    }

    #[test]
    fn split_at_every_position_strips_completely() {
        let input: &[u8] = b"a\x1b[1;31mbold red\x1b[0m b \x1b c\x1b[Kd\x1b";
        let whole = {
            let mut s = AnsiStripper::new();
            let mut out = Vec::new();
            s.strip_into(input, &mut out);
            out.extend(s.finish());
            out
        };
        assert_eq!(whole, b"abold red b \x1b cd\x1b".to_vec());
        for cut in 0..=input.len() {
            for cut2 in cut..=input.len() {
                let mut s = AnsiStripper::new();
                let mut out = Vec::new();
                s.strip_into(&input[..cut], &mut out);
                s.strip_into(&input[cut..cut2], &mut out);
                s.strip_into(&input[cut2..], &mut out);
                out.extend(s.finish());
                assert_eq!(out, whole, "cuts {cut} {cut2}");
            }
        }
    }
}
