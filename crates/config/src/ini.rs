//! The INI lexer: Python `configparser.RawConfigParser(inline_comment_prefixes=(';','#'),
//! strict=False)` rules, reimplemented.
//!
//! Data flow: `loader` reads each file's text and calls [`Ini::read`] on one shared [`Ini`],
//! so sections and keys merge across files exactly like configparser (duplicates allowed,
//! last value wins, section order = first appearance). Each stored value remembers the file
//! and line it came from (for diagnostics and for `%(here)s`). Nothing is interpolated here.

use std::path::{Path, PathBuf};
use std::sync::Arc;

/// One `key = value` as stored (the last assignment wins).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Lowercased key.
    pub key: String,
    /// Value with continuation lines joined by `\n`, trailing whitespace removed.
    pub value: String,
    pub file: Arc<PathBuf>,
    pub line: usize,
}

/// One section: name as written (case-sensitive), where it was first declared, entries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Section {
    pub name: String,
    pub file: Arc<PathBuf>,
    pub line: usize,
    pub entries: Vec<Entry>,
}

impl Section {
    fn set(&mut self, e: Entry) -> usize {
        if let Some(i) = self.entries.iter().position(|x| x.key == e.key) {
            self.entries[i] = e;
            i
        } else {
            self.entries.push(e);
            self.entries.len() - 1
        }
    }
}

/// A lexing error: file, line and the offending line text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LexError {
    pub file: PathBuf,
    pub line: usize,
    pub text: String,
    pub reason: String,
}

/// The merged contents of every file read so far.
#[derive(Debug, Default, Clone)]
pub struct Ini {
    pub sections: Vec<Section>,
    /// Index by name for speed (10,000 sections must stay fast).
    index: std::collections::HashMap<String, usize>,
    /// The `[DEFAULT]` section.
    pub defaults: Vec<Entry>,
}

impl Ini {
    pub fn section(&self, name: &str) -> Option<&Section> {
        self.index.get(name).map(|&i| &self.sections[i])
    }

    pub fn has_section(&self, name: &str) -> bool {
        self.index.contains_key(name)
    }

    /// Looks a key up in a section, falling back to `[DEFAULT]`.
    pub fn get<'a>(&'a self, section: &'a Section, key: &str) -> Option<&'a Entry> {
        section
            .entries
            .iter()
            .find(|e| e.key == key)
            .or_else(|| self.defaults.iter().find(|e| e.key == key))
    }

    /// Parses `text` (the contents of `file`) into this document, merging with what is
    /// already there. Returns every line that could not be parsed.
    pub fn read(&mut self, text: &str, file: &Path) -> Vec<LexError> {
        let file = Arc::new(file.to_path_buf());
        let mut errors = Vec::new();
        // Current target: None (before the first header), Some(None) = DEFAULT,
        // Some(Some(i)) = sections[i].
        let mut cur: Option<Option<usize>> = None;
        // The option being built: (entry index in the current section, value lines).
        let mut cur_opt: Option<(usize, Vec<String>)> = None;
        let mut indent_level = usize::MAX;

        let mut lines = Vec::new();
        // Python universal newlines: \r\n, \r and \n all end a line.
        let mut rest = text;
        while !rest.is_empty() {
            match rest.find(['\n', '\r']) {
                Some(i) => {
                    lines.push(&rest[..i]);
                    let skip = if rest[i..].starts_with("\r\n") { 2 } else { 1 };
                    rest = &rest[i + skip..];
                }
                None => {
                    lines.push(rest);
                    rest = "";
                }
            }
        }

        for (lineno0, line) in lines.iter().enumerate() {
            let lineno = lineno0 + 1;
            let comment_start = comment_start(line);
            let value = match comment_start {
                Some(c) => line[..c].trim(),
                None => line.trim(),
            };
            if value.is_empty() {
                // empty_lines_in_values: a truly blank line (not a comment) inside a
                // multi-line value adds an empty line to it.
                if comment_start.is_none() {
                    if let Some((_, v)) = cur_opt.as_mut() {
                        v.push(String::new());
                    }
                }
                continue;
            }
            let cur_indent = line
                .char_indices()
                .find(|(_, c)| !c.is_whitespace())
                .map(|(i, _)| i)
                .unwrap_or(0);
            if cur.is_some() && cur_opt.is_some() && cur_indent > indent_level {
                if let Some((_, v)) = cur_opt.as_mut() {
                    v.push(value.to_string());
                }
                continue;
            }
            // A new statement: flush the previous option.
            self.flush(cur, cur_opt.take());
            indent_level = cur_indent;
            if let Some(header) = section_header(value) {
                if header == "DEFAULT" {
                    cur = Some(None);
                } else if let Some(&i) = self.index.get(header) {
                    cur = Some(Some(i));
                } else {
                    self.index.insert(header.to_string(), self.sections.len());
                    self.sections.push(Section {
                        name: header.to_string(),
                        file: file.clone(),
                        line: lineno,
                        entries: Vec::new(),
                    });
                    cur = Some(Some(self.sections.len() - 1));
                }
                continue;
            }
            let Some(target) = cur else {
                errors.push(LexError {
                    file: file.to_path_buf(),
                    line: lineno,
                    text: line.to_string(),
                    reason: "File contains no section headers.".into(),
                });
                // configparser stops at this error; so do we.
                return errors;
            };
            match split_option(value) {
                Some((k, v)) => {
                    let entry = Entry {
                        key: k,
                        value: String::new(),
                        file: file.clone(),
                        line: lineno,
                    };
                    let idx = match target {
                        None => {
                            if let Some(i) = self.defaults.iter().position(|e| e.key == entry.key) {
                                self.defaults[i] = entry;
                                i
                            } else {
                                self.defaults.push(entry);
                                self.defaults.len() - 1
                            }
                        }
                        Some(s) => self.sections[s].set(entry),
                    };
                    cur_opt = Some((idx, vec![v]));
                }
                None => {
                    errors.push(LexError {
                        file: file.to_path_buf(),
                        line: lineno,
                        text: line.to_string(),
                        reason: "Source contains parsing errors".into(),
                    });
                }
            }
        }
        self.flush(cur, cur_opt.take());
        errors
    }

    fn flush(&mut self, cur: Option<Option<usize>>, opt: Option<(usize, Vec<String>)>) {
        let (Some(target), Some((idx, lines))) = (cur, opt) else {
            return;
        };
        let joined = lines.join("\n");
        let joined = joined.trim_end().to_string();
        match target {
            None => self.defaults[idx].value = joined,
            Some(s) => self.sections[s].entries[idx].value = joined,
        }
    }
}

/// Python's inline/full-line comment detection (including its round-by-round quirk).
fn comment_start(line: &str) -> Option<usize> {
    let bytes = line.as_bytes();
    let mut found: Option<usize> = None;
    // (prefix, last index searched) per prefix; a round looks for each prefix's next
    // occurrence and stops as soon as any of them qualifies.
    let mut state: Vec<(u8, Option<usize>)> = vec![(b';', None), (b'#', None)];
    while found.is_none() && !state.is_empty() {
        let mut next = Vec::new();
        for (p, last) in &state {
            let from = last.map(|i| i + 1).unwrap_or(0);
            let Some(rel) = bytes
                .get(from..)
                .and_then(|b| b.iter().position(|c| c == p))
            else {
                continue;
            };
            let idx = from + rel;
            next.push((*p, Some(idx)));
            let qualifies = idx == 0
                || line[..idx]
                    .chars()
                    .next_back()
                    .is_some_and(|c| c.is_whitespace());
            if qualifies {
                found = Some(found.map_or(idx, |f: usize| f.min(idx)));
            }
        }
        state = next;
    }
    let t = line.trim();
    if t.starts_with('#') || t.starts_with(';') {
        return Some(0);
    }
    found
}

/// `[name]...` → name (configparser's `\[(?P<header>.+)\]`, greedy, not anchored at the end).
fn section_header(value: &str) -> Option<&str> {
    let rest = value.strip_prefix('[')?;
    let end = rest.rfind(']')?;
    if end == 0 {
        return None;
    }
    Some(&rest[..end])
}

/// `key = value` or `key: value` → (lowercased key, value). configparser's OPTCRE takes the
/// first `=` or `:`.
fn split_option(value: &str) -> Option<(String, String)> {
    let i = value.find(['=', ':'])?;
    let key = value[..i].trim_end();
    if key.is_empty() {
        return None;
    }
    Some((key.to_lowercase(), value[i + 1..].trim().to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Ini {
        let mut ini = Ini::default();
        let errs = ini.read(text, Path::new("/t.conf"));
        assert!(errs.is_empty(), "{errs:?}");
        ini
    }

    fn val(ini: &Ini, s: &str, k: &str) -> Option<String> {
        let sec = ini.section(s)?;
        ini.get(sec, k).map(|e| e.value.clone())
    }

    #[test]
    fn inline_comments_need_whitespace() {
        let ini = parse("[a]\nx=b ;c\ny=b;c\nz=b #c\nw=b#c\nq=bash -c 'x ; y'\n");
        assert_eq!(val(&ini, "a", "x").unwrap(), "b");
        assert_eq!(val(&ini, "a", "y").unwrap(), "b;c");
        assert_eq!(val(&ini, "a", "z").unwrap(), "b");
        assert_eq!(val(&ini, "a", "w").unwrap(), "b#c");
        assert_eq!(val(&ini, "a", "q").unwrap(), "bash -c 'x");
    }

    #[test]
    fn python_round_quirk() {
        // ';' at 6 qualifies, but '#' at 9 qualifies in the first round: Python keeps 9.
        assert_eq!(comment_start("a=x;y ;p #q"), Some(9));
        assert_eq!(comment_start("  ; full"), Some(0));
        assert_eq!(comment_start("a=b"), None);
    }

    #[test]
    fn continuation_and_keys() {
        let ini = parse("[s]\nKey = a\n  b\n\n  c\nother: v\n");
        assert_eq!(val(&ini, "s", "key").unwrap(), "a\nb\n\nc");
        assert_eq!(val(&ini, "s", "other").unwrap(), "v");
    }

    #[test]
    fn duplicates_last_wins_and_default() {
        let ini = parse("[DEFAULT]\nd=1\n[s]\nk=1\n[t]\n[s]\nk=2\n");
        assert_eq!(val(&ini, "s", "k").unwrap(), "2");
        assert_eq!(val(&ini, "t", "d").unwrap(), "1");
        assert_eq!(ini.sections.len(), 2);
        assert!(!ini.has_section("DEFAULT"));
    }

    #[test]
    fn errors() {
        let mut ini = Ini::default();
        let e = ini.read("k=v\n", Path::new("/x"));
        assert_eq!(e[0].line, 1);
        let mut ini = Ini::default();
        let e = ini.read("[a]\nnovalue\n=x\nok=1\n", Path::new("/x"));
        assert_eq!(e.len(), 2);
        assert_eq!(val(&ini, "a", "ok").unwrap(), "1");
    }

    #[test]
    fn header_greedy_and_crlf() {
        let ini = parse("[program:a] trailing\r\ncommand=x\r\n");
        assert_eq!(val(&ini, "program:a", "command").unwrap(), "x");
    }
}
