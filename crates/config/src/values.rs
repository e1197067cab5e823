//! Value types of supervisord's `datatypes.py`: booleans, integers, byte sizes, octal,
//! signals, exit codes, autorestart, log levels, log file names, user lookups, inet
//! addresses, `environment=` lists and shlex command splitting.
//!
//! Data flow: pure `&str → Result<T, String>` functions; the `String` error is the reason
//! text (supervisord's wording where it has one). Section parsers attach the location.

use crate::interpolate::py_repr;
use crate::model::{AutoRestart, LogLevel};
use std::path::{Path, PathBuf};

/// Python's `int()` for a decimal string: surrounding whitespace, a sign and `_` between
/// digits are accepted.
pub fn parse_int(value: &str) -> Result<i64, String> {
    let err = || format!("invalid literal for int() with base 10: {}", py_repr(value));
    let t = value.trim();
    let (neg, digits) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    if digits.is_empty()
        || digits.starts_with('_')
        || digits.ends_with('_')
        || digits.contains("__")
        || !digits.chars().all(|c| c.is_ascii_digit() || c == '_')
    {
        return Err(err());
    }
    let clean: String = digits.chars().filter(|&c| c != '_').collect();
    let n: i64 = clean
        .parse()
        .map_err(|_| format!("integer {} is too large", py_repr(value)))?;
    Ok(if neg { -n } else { n })
}

/// An integer in `lo..=hi`.
pub fn parse_int_range(value: &str, lo: i64, hi: i64) -> Result<i64, String> {
    let n = parse_int(value)?;
    if n < lo {
        return Err(format!("{n} is below lower bound ({lo})"));
    }
    if n > hi {
        return Err(format!("{n} is above upper bound ({hi})"));
    }
    Ok(n)
}

/// `true/yes/on/1`, `false/no/off/0`, case-insensitive.
pub fn parse_bool(value: &str) -> Result<bool, String> {
    match value.to_lowercase().as_str() {
        "yes" | "true" | "on" | "1" => Ok(true),
        "no" | "false" | "off" | "0" => Ok(false),
        _ => Err(format!("not a valid boolean value: {}", py_repr(value))),
    }
}

/// `<int>`, `<int>KB`, `<int>MB`, `<int>GB` (1024-based, case-insensitive).
pub fn parse_byte_size(value: &str) -> Result<u64, String> {
    let v = value.to_lowercase();
    let (num, mult) = if let Some(n) = v.strip_suffix("kb") {
        (n, 1024u64)
    } else if let Some(n) = v.strip_suffix("mb") {
        (n, 1024 * 1024)
    } else if let Some(n) = v.strip_suffix("gb") {
        (n, 1024 * 1024 * 1024)
    } else {
        (v.as_str(), 1)
    };
    let n = parse_int(num).map_err(|_| {
        format!(
            "invalid literal for int() with base 10: {} (not a valid byte size)",
            py_repr(num)
        )
    })?;
    if n < 0 {
        return Err(format!("byte size {} must not be negative", py_repr(value)));
    }
    (n as u64)
        .checked_mul(mult)
        .ok_or_else(|| format!("byte size {} is too large", py_repr(value)))
}

/// `int(x, 8)`: `022`, `0o22`, `22`.
pub fn parse_octal(value: &str) -> Result<u32, String> {
    let err = || format!("{value} can not be converted to an octal type");
    let t = value.trim();
    let (neg, t) = match t.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, t.strip_prefix('+').unwrap_or(t)),
    };
    let t = t
        .strip_prefix("0o")
        .or_else(|| t.strip_prefix("0O"))
        .unwrap_or(t);
    let clean: String = t.chars().filter(|&c| c != '_').collect();
    if neg || clean.is_empty() || t.starts_with('_') || t.ends_with('_') {
        return Err(err());
    }
    u32::from_str_radix(&clean, 8).map_err(|_| err())
}

const SIGNALS: &[(&str, i32)] = &[
    ("HUP", libc::SIGHUP),
    ("INT", libc::SIGINT),
    ("QUIT", libc::SIGQUIT),
    ("ILL", libc::SIGILL),
    ("TRAP", libc::SIGTRAP),
    ("ABRT", libc::SIGABRT),
    ("IOT", libc::SIGIOT),
    ("BUS", libc::SIGBUS),
    ("FPE", libc::SIGFPE),
    ("KILL", libc::SIGKILL),
    ("USR1", libc::SIGUSR1),
    ("SEGV", libc::SIGSEGV),
    ("USR2", libc::SIGUSR2),
    ("PIPE", libc::SIGPIPE),
    ("ALRM", libc::SIGALRM),
    ("TERM", libc::SIGTERM),
    #[cfg(any(target_os = "linux", target_os = "android"))]
    ("STKFLT", libc::SIGSTKFLT),
    ("CHLD", libc::SIGCHLD),
    #[cfg(any(target_os = "linux", target_os = "android"))]
    ("CLD", libc::SIGCHLD),
    ("CONT", libc::SIGCONT),
    ("STOP", libc::SIGSTOP),
    ("TSTP", libc::SIGTSTP),
    ("TTIN", libc::SIGTTIN),
    ("TTOU", libc::SIGTTOU),
    ("URG", libc::SIGURG),
    ("XCPU", libc::SIGXCPU),
    ("XFSZ", libc::SIGXFSZ),
    ("VTALRM", libc::SIGVTALRM),
    ("PROF", libc::SIGPROF),
    ("WINCH", libc::SIGWINCH),
    ("IO", libc::SIGIO),
    #[cfg(any(target_os = "linux", target_os = "android"))]
    ("POLL", libc::SIGPOLL),
    #[cfg(any(target_os = "linux", target_os = "android"))]
    ("PWR", libc::SIGPWR),
    ("SYS", libc::SIGSYS),
];

/// `TERM`, `sigterm`, `15` → 15.
pub fn parse_signal(value: &str) -> Result<i32, String> {
    let num = match parse_int(value) {
        Ok(n) => n,
        Err(_) => {
            let name = value.trim().to_uppercase();
            let name = name.strip_prefix("SIG").unwrap_or(&name);
            match SIGNALS.iter().find(|(n, _)| *n == name) {
                Some((_, n)) => return Ok(*n),
                None => {
                    return Err(format!(
                        "value {} is not a valid signal name",
                        py_repr(value)
                    ));
                }
            }
        }
    };
    if SIGNALS.iter().any(|(_, n)| i64::from(*n) == num) {
        Ok(num as i32)
    } else {
        Err(format!(
            "value {} is not a valid signal number",
            py_repr(value)
        ))
    }
}

/// 15 → `TERM`.
pub fn signal_name(signo: i32) -> Option<&'static str> {
    SIGNALS
        .iter()
        .find(|(_, n)| *n == signo)
        .map(|(name, _)| *name)
}

/// Comma-separated exit codes 0..=255; empty → empty list.
pub fn parse_exitcodes(value: &str) -> Result<Vec<i32>, String> {
    if value.is_empty() {
        return Ok(Vec::new());
    }
    let mut out = Vec::new();
    for part in value.split(',') {
        match parse_int(part) {
            Ok(n) if (0..=255).contains(&n) => out.push(n as i32),
            _ => {
                return Err(format!(
                    "not a valid list of exit codes: {}",
                    py_repr(value)
                ))
            }
        }
    }
    Ok(out)
}

pub fn parse_autorestart(value: &str) -> Result<AutoRestart, String> {
    let v = value.to_lowercase();
    if v == "unexpected" {
        return Ok(AutoRestart::Unexpected);
    }
    match parse_bool(&v) {
        Ok(true) => Ok(AutoRestart::Always),
        Ok(false) => Ok(AutoRestart::Never),
        Err(_) => Err(format!("invalid 'autorestart' value {}", py_repr(value))),
    }
}

pub fn parse_loglevel(value: &str) -> Result<LogLevel, String> {
    Ok(match value.to_lowercase().as_str() {
        "critical" => LogLevel::Critical,
        "error" => LogLevel::Error,
        "warn" => LogLevel::Warn,
        "info" => LogLevel::Info,
        "debug" => LogLevel::Debug,
        "trace" => LogLevel::Trace,
        "blather" => LogLevel::Blather,
        _ => return Err(format!("bad logging level name {}", py_repr(value))),
    })
}

/// The lower-case name of a log level as written in config files.
pub fn loglevel_name(l: LogLevel) -> &'static str {
    match l {
        LogLevel::Critical => "critical",
        LogLevel::Error => "error",
        LogLevel::Warn => "warn",
        LogLevel::Info => "info",
        LogLevel::Debug => "debug",
        LogLevel::Trace => "trace",
        LogLevel::Blather => "blather",
    }
}

/// `~` and `~user` expansion (path-typed options only).
pub fn expand_user(value: &str, home: Option<&str>) -> String {
    if value == "~" || value.starts_with("~/") {
        if let Some(h) = home {
            return format!("{}{}", h.trim_end_matches('/'), &value[1..]);
        }
        if let Ok(Some(u)) = nix::unistd::User::from_uid(nix::unistd::getuid()) {
            let h = u.dir.to_string_lossy().into_owned();
            return format!("{}{}", h.trim_end_matches('/'), &value[1..]);
        }
        return value.to_string();
    }
    if let Some(rest) = value.strip_prefix('~') {
        let (name, tail) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, ""),
        };
        if let Ok(Some(u)) = nix::unistd::User::from_name(name) {
            return format!("{}{}", u.dir.to_string_lossy().trim_end_matches('/'), tail);
        }
    }
    value.to_string()
}

/// `existing_dirpath`: the parent directory of the path must exist (when `check`).
pub fn existing_dirpath(value: &str, home: Option<&str>, check: bool) -> Result<PathBuf, String> {
    let nv = expand_user(value, home);
    let p = PathBuf::from(&nv);
    if !check {
        return Ok(p);
    }
    match p.parent() {
        Some(d) if !d.as_os_str().is_empty() => {
            if d.is_dir() {
                Ok(p)
            } else {
                Err(format!(
                    "The directory named as part of the path {value} does not exist"
                ))
            }
        }
        _ => Ok(p),
    }
}

/// `existing_directory`.
pub fn existing_directory(value: &str, home: Option<&str>, check: bool) -> Result<PathBuf, String> {
    let nv = expand_user(value, home);
    if !check || Path::new(&nv).is_dir() {
        Ok(PathBuf::from(nv))
    } else {
        Err(format!("{value} is not an existing directory"))
    }
}

/// `name_to_uid`: a user name or numeric uid that must exist.
pub fn name_to_uid(name: &str) -> Result<u32, String> {
    match parse_int(name) {
        Ok(n) => {
            let uid = u32::try_from(n).map_err(|_| format!("Invalid user id {name}"))?;
            match nix::unistd::User::from_uid(uid.into()) {
                Ok(Some(_)) => Ok(uid),
                _ => Err(format!("Invalid user id {name}")),
            }
        }
        Err(_) => match nix::unistd::User::from_name(name) {
            Ok(Some(u)) => Ok(u.uid.as_raw()),
            _ => Err(format!("Invalid user name {name}")),
        },
    }
}

/// `name_to_gid`.
pub fn name_to_gid(name: &str) -> Result<u32, String> {
    match parse_int(name) {
        Ok(n) => {
            let gid = u32::try_from(n).map_err(|_| format!("Invalid group id {name}"))?;
            match nix::unistd::Group::from_gid(gid.into()) {
                Ok(Some(_)) => Ok(gid),
                _ => Err(format!("Invalid group id {name}")),
            }
        }
        Err(_) => match nix::unistd::Group::from_name(name) {
            Ok(Some(g)) => Ok(g.gid.as_raw()),
            _ => Err(format!("Invalid group name {name}")),
        },
    }
}

/// `user` or `user:group`, both must exist.
pub fn check_user_group(value: &str) -> Result<(), String> {
    let mut parts = value.splitn(2, ':');
    let user = parts.next().unwrap_or("");
    name_to_uid(user)?;
    if let Some(g) = parts.next() {
        name_to_gid(g)?;
    }
    Ok(())
}

/// `process_or_group_name`: stripped, no space, `:` or `/`.
pub fn process_or_group_name(name: &str) -> Result<String, String> {
    let s = name.trim();
    for c in [' ', ':', '/'] {
        if s.contains(c) {
            return Err(format!(
                "Invalid name: {} because of character: {}",
                py_repr(name),
                py_repr(&c.to_string())
            ));
        }
    }
    Ok(s.to_string())
}

/// `inet_address`: `host:port`, `:port`, `*:port`, `port`. `[v6]:port` is accepted too.
pub fn inet_address(value: &str) -> Result<(String, u16), String> {
    if let Some((host, port)) = value.rsplit_once(':') {
        if port.is_empty() {
            return Err(format!("no port number specified in {}", py_repr(port)));
        }
        let port = parse_int_range(port, 1, 65535)?;
        let mut host = host.to_lowercase();
        if host == "*" {
            host.clear();
        }
        Ok((host, port as u16))
    } else {
        let port = parse_int_range(value, 1, 65535)
            .map_err(|_| format!("not a valid port number: {} ", py_repr(value)))?;
        Ok((String::new(), port as u16))
    }
}

/// `url`: needs a scheme and a netloc or path.
pub fn parse_url(value: &str) -> Result<String, String> {
    if let Some((scheme, rest)) = value.split_once(':') {
        let scheme_ok = !scheme.is_empty()
            && scheme
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_alphabetic())
            && scheme
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c));
        if scheme_ok && !rest.trim_start_matches('/').is_empty() {
            return Ok(value.to_string());
        }
    }
    Err(format!("value {} is not a URL", py_repr(value)))
}

/// A tiny Python `shlex.shlex` (both the legacy non-POSIX mode used by 4.3.0's
/// `environment=` parser and the POSIX mode of `shlex.split`).
struct Shlex {
    chars: Vec<char>,
    pos: usize,
    posix: bool,
    whitespace_split: bool,
    comments: bool,
    extra_wordchars: &'static str,
}

impl Shlex {
    fn next_char(&mut self) -> Option<char> {
        let c = self.chars.get(self.pos).copied();
        if c.is_some() {
            self.pos += 1;
        }
        c
    }

    fn is_word(&self, c: char) -> bool {
        c.is_ascii_alphanumeric() || c == '_' || self.extra_wordchars.contains(c)
    }

    fn skip_line(&mut self) {
        while let Some(c) = self.next_char() {
            if c == '\n' {
                break;
            }
        }
    }

    fn next_token(&mut self) -> Result<Option<String>, String> {
        let ws = |c: char| matches!(c, ' ' | '\t' | '\r' | '\n');
        let mut token = String::new();
        let mut quoted = false;
        // ' ' = between tokens, 'a' = in a word, '\'' / '"' = in quotes.
        let mut state = ' ';
        loop {
            let Some(c) = self.next_char() else {
                if state == '\'' || state == '"' {
                    return Err("No closing quotation".into());
                }
                return Ok(if !token.is_empty() || (self.posix && quoted) {
                    Some(token)
                } else {
                    None
                });
            };
            match state {
                ' ' => {
                    if ws(c) {
                        continue;
                    } else if self.comments && c == '#' {
                        self.skip_line();
                    } else if self.posix && c == '\\' {
                        match self.next_char() {
                            Some(n) => token.push(n),
                            None => return Err("No escaped character".into()),
                        }
                        state = 'a';
                    } else if self.is_word(c) {
                        token.push(c);
                        state = 'a';
                    } else if c == '\'' || c == '"' {
                        if !self.posix {
                            token.push(c);
                        }
                        state = c;
                    } else if self.whitespace_split {
                        token.push(c);
                        state = 'a';
                    } else {
                        token.push(c);
                        return Ok(Some(token));
                    }
                }
                '\'' | '"' => {
                    quoted = true;
                    if c == state {
                        if !self.posix {
                            token.push(c);
                            return Ok(Some(token));
                        }
                        state = 'a';
                    } else if self.posix && c == '\\' && state == '"' {
                        match self.next_char() {
                            Some(n) => {
                                if n != '\\' && n != '"' {
                                    token.push('\\');
                                }
                                token.push(n);
                            }
                            None => return Err("No escaped character".into()),
                        }
                    } else {
                        token.push(c);
                    }
                }
                _ => {
                    if ws(c) {
                        if !token.is_empty() || (self.posix && quoted) {
                            return Ok(Some(token));
                        }
                        state = ' ';
                    } else if self.comments && c == '#' {
                        self.skip_line();
                        if self.posix {
                            if !token.is_empty() || quoted {
                                return Ok(Some(token));
                            }
                            state = ' ';
                        }
                    } else if self.posix && (c == '\'' || c == '"') {
                        state = c;
                    } else if self.posix && c == '\\' {
                        match self.next_char() {
                            Some(n) => token.push(n),
                            None => return Err("No escaped character".into()),
                        }
                    } else if self.is_word(c) || c == '\'' || c == '"' || self.whitespace_split {
                        token.push(c);
                    } else {
                        // Push back: a punctuation char ends the word.
                        self.pos -= 1;
                        return Ok(Some(token));
                    }
                }
            }
        }
    }
}

/// Tokenises `s` fully.
fn tokenize(
    s: &str,
    posix: bool,
    whitespace_split: bool,
    comments: bool,
    extra: &'static str,
) -> Result<Vec<String>, String> {
    let mut lx = Shlex {
        chars: s.chars().collect(),
        pos: 0,
        posix,
        whitespace_split,
        comments,
        extra_wordchars: extra,
    };
    let mut out = Vec::new();
    while let Some(t) = lx.next_token()? {
        out.push(t);
    }
    Ok(out)
}

/// POSIX `shlex.split` (no comments): `a "b c"` → `["a", "b c"]`.
pub fn split_command(s: &str) -> Result<Vec<String>, String> {
    tokenize(s, true, true, false, "")
}

/// 4.3.0's `dict_of_key_value_pairs`: `KEY="val",KEY2='v2',K3=v3`.
/// Duplicate keys keep their first position and take the last value.
pub fn parse_environment(value: &str) -> Result<Vec<(String, String)>, String> {
    let tokens = tokenize(value, false, false, true, "/.+-():")?;
    let mut out: Vec<(String, String)> = Vec::new();
    let mut i = 0;
    while i < tokens.len() {
        if tokens.len() < i + 3 || tokens[i + 1] != "=" {
            return Err(format!(
                "Unexpected end of key/value pairs in value '{value}'"
            ));
        }
        let k = tokens[i].clone();
        let v = tokens[i + 2]
            .trim_matches(|c| c == '\'' || c == '"')
            .to_string();
        if let Some(e) = out.iter_mut().find(|(ek, _)| *ek == k) {
            e.1 = v;
        } else {
            out.push((k, v));
        }
        i += 4;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ints_and_bools() {
        assert_eq!(parse_int(" 12 ").unwrap(), 12);
        assert_eq!(parse_int("-3").unwrap(), -3);
        assert_eq!(parse_int("1_000").unwrap(), 1000);
        assert!(parse_int("1.5").is_err());
        assert!(parse_int("").is_err());
        assert!(parse_int("99999999999999999999").is_err());
        assert!(parse_bool("YES").unwrap());
        assert!(!parse_bool("off").unwrap());
        assert_eq!(
            parse_bool("maybe").unwrap_err(),
            "not a valid boolean value: 'maybe'"
        );
    }

    #[test]
    fn sizes_octal() {
        assert_eq!(parse_byte_size("10MB").unwrap(), 10485760);
        assert_eq!(parse_byte_size("1kb").unwrap(), 1024);
        assert_eq!(parse_byte_size("2GB").unwrap(), 2 * 1024 * 1024 * 1024);
        assert_eq!(parse_byte_size("0").unwrap(), 0);
        assert!(parse_byte_size("10K").is_err());
        assert!(parse_byte_size("1TB").is_err());
        assert!(parse_byte_size("99999999999999GB").is_err());
        assert_eq!(parse_octal("022").unwrap(), 0o22);
        assert_eq!(parse_octal("0o22").unwrap(), 0o22);
        assert_eq!(parse_octal("22").unwrap(), 18);
        assert_eq!(
            parse_octal("9").unwrap_err(),
            "9 can not be converted to an octal type"
        );
    }

    #[test]
    fn signals() {
        assert_eq!(parse_signal("TERM").unwrap(), 15);
        assert_eq!(parse_signal("sigterm").unwrap(), 15);
        assert_eq!(parse_signal("9").unwrap(), 9);
        assert_eq!(parse_signal("usr1").unwrap(), libc::SIGUSR1);
        assert_eq!(
            parse_signal("FOO").unwrap_err(),
            "value 'FOO' is not a valid signal name"
        );
        assert_eq!(
            parse_signal("999").unwrap_err(),
            "value '999' is not a valid signal number"
        );
        assert_eq!(signal_name(15), Some("TERM"));
        assert_eq!(signal_name(1), Some("HUP"));
        assert_eq!(signal_name(0), None);
    }

    #[test]
    fn exitcodes_autorestart_levels() {
        assert_eq!(parse_exitcodes("0,2").unwrap(), vec![0, 2]);
        assert_eq!(parse_exitcodes("").unwrap(), Vec::<i32>::new());
        assert!(parse_exitcodes("256").is_err());
        assert!(parse_exitcodes("-1").is_err());
        assert_eq!(parse_autorestart("TRUE").unwrap(), AutoRestart::Always);
        assert_eq!(
            parse_autorestart("unexpected").unwrap(),
            AutoRestart::Unexpected
        );
        assert_eq!(parse_autorestart("0").unwrap(), AutoRestart::Never);
        assert!(parse_autorestart("x").is_err());
        assert_eq!(parse_loglevel("BLATHER").unwrap(), LogLevel::Blather);
        assert!(parse_loglevel("warning").is_err());
    }

    #[test]
    fn names_and_ports() {
        assert_eq!(process_or_group_name(" ab ").unwrap(), "ab");
        assert_eq!(
            process_or_group_name("a b").unwrap_err(),
            "Invalid name: 'a b' because of character: ' '"
        );
        assert!(process_or_group_name("a:b").is_err());
        assert!(process_or_group_name("a/b").is_err());
        assert_eq!(
            inet_address("127.0.0.1:9001").unwrap(),
            ("127.0.0.1".into(), 9001)
        );
        assert_eq!(inet_address("*:9001").unwrap(), ("".into(), 9001));
        assert_eq!(inet_address(":9001").unwrap(), ("".into(), 9001));
        assert_eq!(inet_address("9001").unwrap(), ("".into(), 9001));
        assert_eq!(inet_address("[::1]:9001").unwrap(), ("[::1]".into(), 9001));
        assert_eq!(
            inet_address("LocalHost:80").unwrap(),
            ("localhost".into(), 80)
        );
        assert!(inet_address("h:0").is_err());
        assert!(inet_address("h:70000").is_err());
        assert!(inet_address("h:").is_err());
        assert!(parse_url("http://localhost:9001").is_ok());
        assert!(parse_url("unix:///tmp/x.sock").is_ok());
        assert!(parse_url("localhost").is_err());
    }

    #[test]
    fn shlex_split() {
        assert_eq!(
            split_command("a 'b c' \"d e\"").unwrap(),
            vec!["a", "b c", "d e"]
        );
        assert_eq!(split_command("a\\ b").unwrap(), vec!["a b"]);
        assert_eq!(split_command("\"a\\\"b\\n\"").unwrap(), vec!["a\"b\\n"]);
        assert_eq!(split_command("x ''").unwrap(), vec!["x", ""]);
        assert_eq!(split_command("a#b c").unwrap(), vec!["a#b", "c"]);
        assert_eq!(split_command("  ").unwrap(), Vec::<String>::new());
        assert_eq!(split_command("'abc").unwrap_err(), "No closing quotation");
        assert_eq!(split_command("abc\\").unwrap_err(), "No escaped character");
        assert_eq!(split_command("a'b'c").unwrap(), vec!["abc"]);
    }

    #[test]
    fn environment_legacy() {
        assert_eq!(
            parse_environment("A=\"1,2\",B='x y',C=/usr/bin:/bin").unwrap(),
            vec![
                ("A".into(), "1,2".into()),
                ("B".into(), "x y".into()),
                ("C".into(), "/usr/bin:/bin".into())
            ]
        );
        assert_eq!(parse_environment("").unwrap(), vec![]);
        assert_eq!(
            parse_environment("A=1,A=2").unwrap(),
            vec![("A".into(), "2".into())]
        );
        // Unquoted punctuation breaks (4.3.0 behaviour).
        assert!(parse_environment("A=a@b").is_err());
        assert!(parse_environment("A=").is_err());
        assert!(parse_environment("A=\"x").is_err());
        // Multi-line values.
        assert_eq!(parse_environment("A=1,\nB=2").unwrap().len(), 2);
    }
}
