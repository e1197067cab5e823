//! A user's crontab as text, and the edits Steward makes to it.
//!
//! The table is kept as its lines, byte for byte; only the lines of an entry Steward owns
//! are ever rewritten. An owned entry is a tag line `# steward: NAME` directly above a job
//! line; a disabled entry is the same job line with a `#` in front, the tag unchanged.
//! Everything else (variables, MAILTO, comments, blank lines, other jobs) is passed
//! through untouched and in order.

use steward_cron::Schedule;

/// The tag line's prefix: `# steward: NAME` sits directly above the entry it names.
pub const TAG_PREFIX: &str = "# steward: ";

/// The PATH Debian's cron gives jobs of user crontabs (compiled into /usr/sbin/cron).
pub const CRON_DEFAULT_PATH: &str = "/usr/bin:/bin";

/// Why an edit or an entry was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TableError {
    #[error("invalid entry name `{name}`: {reason}")]
    BadName { name: String, reason: String },
    #[error("invalid schedule `{expr}`: {reason}")]
    BadSchedule { expr: String, reason: String },
    #[error("invalid command: {0}")]
    BadCommand(String),
    #[error(
        "an entry named `{0}` already exists with another schedule or command; remove it first"
    )]
    Duplicate(String),
    #[error("no entry named `{0}` (entries are tagged `# steward: NAME`)")]
    NoSuchEntry(String),
    #[error("line {line}: {reason}: {text}")]
    BadLine {
        line: usize,
        reason: String,
        text: String,
    },
}

/// A job line split into its schedule and its command (the command as cron sees it,
/// `%` escapes included).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobLine {
    pub schedule: String,
    pub command: String,
}

/// One entry of the table: an owned (tagged) one or another job line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The tag's name; `None` for a job line Steward does not own.
    pub name: Option<String>,
    pub job: JobLine,
    pub enabled: bool,
    /// 0-based index of the job line in [`Table::lines`].
    pub line: usize,
}

/// A crontab's text as lines (without their `\n`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Table {
    lines: Vec<String>,
}

/// What an edit did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Edit {
    /// The table already says this; nothing to write.
    Unchanged,
    /// The new text to install.
    Changed(String),
}

/// Checks an entry name: letters, digits, `.`, `_` and `-` (a name also names an include
/// file section, `[cron:NAME]`, so it follows supervisord's name rule and more).
pub fn check_name(name: &str) -> Result<(), TableError> {
    let bad = |reason: &str| TableError::BadName {
        name: name.to_string(),
        reason: reason.to_string(),
    };
    if name.is_empty() {
        return Err(bad("empty"));
    }
    if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')))
    {
        return Err(bad(&format!(
            "character `{}` is not allowed (use letters, digits, `.`, `_`, `-`)",
            c.escape_default()
        )));
    }
    Ok(())
}

/// Checks a schedule as Debian's cron reads it: five fields or one `@` name, in the
/// common dialect of Steward's parser and cron (no seconds, no `@every`, no `L`, `W`,
/// `#`, which cron does not know).
pub fn check_cron_schedule(expr: &str) -> Result<Schedule, TableError> {
    let bad = |reason: String| TableError::BadSchedule {
        expr: expr.to_string(),
        reason,
    };
    let fields: Vec<&str> = expr.split_whitespace().collect();
    if let Some(first) = fields.first().filter(|f| f.starts_with('@')) {
        const NAMES: [&str; 8] = [
            "@reboot",
            "@yearly",
            "@annually",
            "@monthly",
            "@weekly",
            "@daily",
            "@midnight",
            "@hourly",
        ];
        if fields.len() != 1 || !NAMES.contains(&first.to_ascii_lowercase().as_str()) {
            return Err(bad(format!(
                "cron knows only {} (`@every` is Steward's own)",
                NAMES.join(", ")
            )));
        }
    } else {
        if fields.len() != 5 {
            return Err(bad(format!(
                "cron needs 5 fields (minute hour day-of-month month day-of-week), got {}",
                fields.len()
            )));
        }
        if fields[2].contains(['L', 'l', 'W', 'w']) || fields[4].contains(['L', 'l', '#']) {
            return Err(bad(
                "`L`, `W` and `#` are Steward extensions that cron does not know".into(),
            ));
        }
    }
    Schedule::parse(expr).map_err(|e| bad(format!("{}: {}", e.field, e.message)))
}

/// Splits a line into schedule and command if it has the shape of a job line (five
/// fields or an `@` name, then a command). The fields are not validated here.
pub fn split_job(line: &str) -> Option<JobLine> {
    let rest = line.trim_start_matches([' ', '\t']);
    if rest.is_empty() || rest.starts_with('#') || is_env_line(rest) {
        return None;
    }
    let count = if rest.starts_with('@') { 1 } else { 5 };
    let mut fields = Vec::with_capacity(count);
    let mut cur = rest;
    for _ in 0..count {
        let end = cur.find([' ', '\t'])?;
        fields.push(&cur[..end]);
        cur = cur[end..].trim_start_matches([' ', '\t']);
    }
    if cur.is_empty() {
        return None;
    }
    Some(JobLine {
        schedule: fields.join(" "),
        command: cur.to_string(),
    })
}

/// Whether a line sets a variable (`NAME=value`, spaces allowed around `=`), as cron's
/// own reader decides it before trying a job line.
pub fn is_env_line(line: &str) -> bool {
    env_assignment(line).is_some()
}

/// `(name, value)` of a variable line, quotes around the value removed.
pub fn env_assignment(line: &str) -> Option<(String, String)> {
    let line = line.trim_start_matches([' ', '\t']);
    if line.starts_with('#') {
        return None;
    }
    let end = line.find(['=', ' ', '\t'])?;
    let name = &line[..end];
    let after = line[end..].trim_start_matches([' ', '\t']);
    let value = after.strip_prefix('=')?.trim_matches([' ', '\t']);
    if name.is_empty() {
        return None;
    }
    let value = ['"', '\'']
        .iter()
        .find_map(|q| value.strip_prefix(*q).and_then(|v| v.strip_suffix(*q)))
        .unwrap_or(value);
    Some((
        name.trim_matches(['"', '\'']).to_string(),
        value.to_string(),
    ))
}

/// Makes a command safe for a crontab line: a bare `%` (cron turns it into a newline and
/// feeds the rest to stdin, silently cutting the command) becomes `\%`; an already
/// escaped `\%` is kept; carriage returns are dropped. A newline is refused.
pub fn escape_command(command: &str) -> Result<String, TableError> {
    let command = command.replace('\r', "");
    if command.contains('\n') {
        return Err(TableError::BadCommand(
            "a crontab command is one line; it contains a newline".into(),
        ));
    }
    if command.trim().is_empty() {
        return Err(TableError::BadCommand("empty command".into()));
    }
    let mut out = String::with_capacity(command.len() + 4);
    let mut prev = '\0';
    for c in command.chars() {
        if c == '%' && prev != '\\' {
            out.push('\\');
        }
        out.push(c);
        prev = c;
    }
    Ok(out)
}

/// The warning for a command whose program cron will not find: the first word (after
/// variable assignments) is not a shell builtin, has no `/`, and is on none of the PATH
/// directories cron uses for this table.
pub fn path_warning(command: &str, path: &str) -> Option<String> {
    const BUILTINS: [&str; 24] = [
        "cd", "export", "test", "[", "if", "for", "while", "until", "case", "exec", "set", "unset",
        ".", ":", "true", "false", "echo", "printf", "eval", "umask", "ulimit", "{", "(", "!",
    ];
    let word = command
        .split_whitespace()
        .find(|w| !w.contains('=') || w.starts_with('='))?;
    if BUILTINS.contains(&word) || word.starts_with('(') {
        return None;
    }
    if word.contains('/') {
        return (!std::path::Path::new(word).exists())
            .then(|| format!("warning: `{word}` does not exist"));
    }
    let found = path
        .split(':')
        .any(|dir| std::path::Path::new(dir).join(word).is_file());
    (!found).then(|| {
        format!(
            "warning: `{word}` is not on cron's PATH ({path}); use its full path or set PATH= in the crontab"
        )
    })
}

impl Table {
    /// Reads a crontab's text. A missing final newline is not kept (every rendered
    /// table ends with one, as `crontab` requires).
    pub fn parse(text: &str) -> Table {
        let mut lines: Vec<String> = text.split('\n').map(str::to_string).collect();
        if lines.last().is_some_and(String::is_empty) {
            lines.pop();
        }
        Table { lines }
    }

    /// The lines, without their newlines.
    pub fn lines(&self) -> &[String] {
        &self.lines
    }

    /// The text to install: every line followed by `\n` (empty for an empty table).
    pub fn render(&self) -> String {
        let mut s = String::new();
        for l in &self.lines {
            s.push_str(l);
            s.push('\n');
        }
        s
    }

    fn tag_at(&self, i: usize) -> Option<&str> {
        self.lines
            .get(i)?
            .strip_prefix(TAG_PREFIX)
            .map(|n| n.trim_end_matches([' ', '\t', '\r']))
            .filter(|n| check_name(n).is_ok())
    }

    /// Every job line, owned or not, in order. A tag line followed by anything but a
    /// job line (or a commented job line) owns nothing and counts as a comment.
    pub fn entries(&self) -> Vec<Entry> {
        let mut out = Vec::new();
        let mut i = 0;
        while i < self.lines.len() {
            if let Some(name) = self.tag_at(i) {
                if let Some(next) = self.lines.get(i + 1) {
                    let (enabled, body) = match next.strip_prefix('#') {
                        Some(b) => (false, b),
                        None => (true, next.as_str()),
                    };
                    if let Some(job) = split_job(body) {
                        out.push(Entry {
                            name: Some(name.to_string()),
                            job,
                            enabled,
                            line: i + 1,
                        });
                        i += 2;
                        continue;
                    }
                }
            } else if let Some(job) = split_job(&self.lines[i]) {
                out.push(Entry {
                    name: None,
                    job,
                    enabled: true,
                    line: i,
                });
            }
            i += 1;
        }
        out
    }

    /// The owned entry called `name`.
    pub fn find(&self, name: &str) -> Option<Entry> {
        self.entries()
            .into_iter()
            .find(|e| e.name.as_deref() == Some(name))
    }

    /// The PATH cron gives a job on line `line`: the last `PATH=` above it, else cron's
    /// default.
    pub fn path_for(&self, line: usize) -> String {
        self.lines[..line.min(self.lines.len())]
            .iter()
            .rev()
            .filter_map(|l| env_assignment(l))
            .find(|(k, _)| k == "PATH")
            .map(|(_, v)| v)
            .unwrap_or_else(|| CRON_DEFAULT_PATH.to_string())
    }

    /// Adds an owned entry at the end. The same name with the same schedule and command
    /// (enabled) is [`Edit::Unchanged`]; the same name with anything else is refused.
    /// `command` must already be escaped ([`escape_command`]).
    pub fn add(&self, name: &str, schedule: &str, command: &str) -> Result<Edit, TableError> {
        check_name(name)?;
        let schedule = check_cron_schedule(schedule)?.source().to_string();
        let line = format!("{schedule} {command}");
        if let Some(e) = self.find(name) {
            return if e.enabled && self.lines[e.line] == line {
                Ok(Edit::Unchanged)
            } else {
                Err(TableError::Duplicate(name.to_string()))
            };
        }
        let mut t = self.clone();
        t.lines.push(format!("{TAG_PREFIX}{name}"));
        t.lines.push(line);
        Ok(Edit::Changed(t.render()))
    }

    /// Removes an owned entry (its tag line and its job line).
    pub fn remove(&self, name: &str) -> Result<Edit, TableError> {
        let e = self
            .find(name)
            .ok_or_else(|| TableError::NoSuchEntry(name.to_string()))?;
        let mut t = self.clone();
        t.lines.drain(e.line - 1..=e.line);
        Ok(Edit::Changed(t.render()))
    }

    /// Comments out (`enabled == false`) or restores an owned entry's job line.
    pub fn set_enabled(&self, name: &str, enabled: bool) -> Result<Edit, TableError> {
        let e = self
            .find(name)
            .ok_or_else(|| TableError::NoSuchEntry(name.to_string()))?;
        if e.enabled == enabled {
            return Ok(Edit::Unchanged);
        }
        let mut t = self.clone();
        let line = &mut t.lines[e.line];
        *line = if enabled {
            line[1..].to_string()
        } else {
            format!("#{line}")
        };
        Ok(Edit::Changed(t.render()))
    }

    /// Comments out every job line in `lines` (0-based job line indexes), tagging the
    /// unowned ones with the names given, so that `enable NAME` can undo it.
    pub fn disable_lines(&self, targets: &[(usize, String)]) -> Edit {
        let mut t = self.clone();
        let owned: Vec<usize> = self
            .entries()
            .iter()
            .filter(|e| e.name.is_some())
            .map(|e| e.line)
            .collect();
        // From the bottom up, so inserted tag lines do not shift the indexes still to do.
        let mut targets = targets.to_vec();
        targets.sort_by_key(|t| std::cmp::Reverse(t.0));
        for (line, name) in targets {
            if t.lines[line].starts_with('#') {
                continue;
            }
            t.lines[line] = format!("#{}", t.lines[line]);
            if !owned.contains(&line) {
                t.lines.insert(line, format!("{TAG_PREFIX}{name}"));
            }
        }
        let text = t.render();
        if text == self.render() {
            Edit::Unchanged
        } else {
            Edit::Changed(text)
        }
    }

    /// Checks that every line is one cron can read (a comment, a blank line, a variable
    /// or a job line with a valid schedule), before a restore installs it.
    pub fn validate(&self) -> Result<(), TableError> {
        for (i, l) in self.lines.iter().enumerate() {
            let t = l.trim_start_matches([' ', '\t']);
            if t.is_empty() || t.starts_with('#') || is_env_line(t) {
                continue;
            }
            let bad = |reason: String| TableError::BadLine {
                line: i + 1,
                reason,
                text: l.clone(),
            };
            let job = split_job(t).ok_or_else(|| {
                bad("neither a comment, a variable nor a job line (schedule + command)".into())
            })?;
            check_cron_schedule(&job.schedule).map_err(|e| bad(e.to_string()))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXISTING: &str = "MAILTO=ops@example.com\n# nightly report\n\n30 2 * * * /usr/local/bin/report --all\nSHELL = /bin/bash\n";

    #[test]
    fn add_appends_tag_and_line_and_keeps_everything_else() {
        let t = Table::parse(EXISTING);
        let Edit::Changed(text) = t.add("tick", "*/5 * * * *", "date").unwrap() else {
            panic!()
        };
        assert_eq!(
            text,
            format!("{EXISTING}# steward: tick\n*/5 * * * * date\n")
        );
        let t2 = Table::parse(&text);
        assert_eq!(
            t2.add("tick", "*/5  * * * *", "date").unwrap(),
            Edit::Unchanged
        );
        assert_eq!(
            t2.add("tick", "* * * * *", "date"),
            Err(TableError::Duplicate("tick".into()))
        );
        let Edit::Changed(back) = t2.remove("tick").unwrap() else {
            panic!()
        };
        assert_eq!(back, EXISTING);
    }

    #[test]
    fn disable_then_enable_is_byte_identical() {
        let base = format!("{EXISTING}# steward: tick\n*/5 * * * * date\n");
        let t = Table::parse(&base);
        let Edit::Changed(off) = t.set_enabled("tick", false).unwrap() else {
            panic!()
        };
        assert!(
            off.ends_with("# steward: tick\n#*/5 * * * * date\n"),
            "{off}"
        );
        let t_off = Table::parse(&off);
        let e = t_off.find("tick").unwrap();
        assert!(!e.enabled);
        assert_eq!(t_off.set_enabled("tick", false).unwrap(), Edit::Unchanged);
        let Edit::Changed(on) = t_off.set_enabled("tick", true).unwrap() else {
            panic!()
        };
        assert_eq!(on, base);
    }

    #[test]
    fn entries_see_owned_and_unowned_jobs_not_variables() {
        let t = Table::parse(&format!("{EXISTING}# steward: x\n@daily  run-x\n"));
        let e = t.entries();
        assert_eq!(e.len(), 2, "{e:?}");
        assert_eq!(e[0].name, None);
        assert_eq!(e[0].job.schedule, "30 2 * * *");
        assert_eq!(e[0].job.command, "/usr/local/bin/report --all");
        assert_eq!(e[1].name.as_deref(), Some("x"));
        assert_eq!(e[1].job.schedule, "@daily");
        assert_eq!(t.path_for(e[1].line), CRON_DEFAULT_PATH);
        assert_eq!(
            env_assignment("SHELL = /bin/bash"),
            Some(("SHELL".into(), "/bin/bash".into()))
        );
        assert_eq!(
            env_assignment("MAILTO=\"\""),
            Some(("MAILTO".into(), "".into()))
        );
        assert_eq!(env_assignment("* * * * * FOO=1 x"), None);
    }

    #[test]
    fn escaping_and_schedule_dialect() {
        assert_eq!(escape_command("date +%F\r").unwrap(), "date +\\%F");
        assert_eq!(escape_command("date +\\%F").unwrap(), "date +\\%F");
        assert!(escape_command("a\nb").is_err());
        assert!(check_cron_schedule("*/5 * * * *").is_ok());
        assert!(check_cron_schedule("@hourly").is_ok());
        assert!(check_cron_schedule("0 0 * * WED").is_ok());
        for bad in [
            "@every 5m",
            "0 * * * * *",
            "0 0 L * *",
            "0 0 * * 5#2",
            "61 * * * *",
        ] {
            assert!(check_cron_schedule(bad).is_err(), "{bad}");
        }
        assert!(check_name("a:b").is_err() && check_name("a b").is_err());
    }

    #[test]
    fn validate_names_the_bad_line() {
        assert!(Table::parse(EXISTING).validate().is_ok());
        let err = Table::parse("A=1\n* * * * 9 x\n").validate().unwrap_err();
        assert!(err.to_string().starts_with("line 2: "), "{err}");
        assert!(Table::parse("hello\n").validate().is_err());
    }

    #[test]
    fn path_warning_uses_crons_path() {
        assert!(path_warning("cd /tmp && php artisan", "/usr/bin:/bin").is_none());
        assert!(path_warning("sh -c true", "/usr/bin:/bin").is_none());
        assert!(path_warning("no-such-binary-xyz --x", "/usr/bin:/bin").is_some());
        assert!(path_warning("FOO=1 /no/such/file", "/usr/bin:/bin").is_some());
    }
}
