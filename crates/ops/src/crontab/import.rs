//! `steward crontab import`: a user's crontab entries → `[cron:NAME]` sections in one
//! managed file of the include directory, so Steward's scheduler runs them instead.
//!
//! Each job becomes `command = <SHELL> -c '<command>'` with cron's environment (PATH,
//! SHELL, HOME, LOGNAME and the table's own variables), `user =` the crontab's owner,
//! `directory =` its home, and `overlap = allow` (cron never skips a run because the last
//! one is still going). What cannot be carried over is reported and left out: a bare `%`
//! (cron's stdin feed), a schedule Steward's parser rejects, text supervisord's INI reader
//! would cut (` ;`, ` #`). What changes meaning is carried over with a note: `@reboot`
//! (daemon start, not boot), `CRON_TZ` (a `timezone`), `MAILTO` (Steward mails nothing).
//! The rendered file is loaded by Steward's config loader before it is written, and every
//! command must come back exactly as intended.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use super::table::{env_assignment, Table, CRON_DEFAULT_PATH};
use crate::check::{check_program_files, Candidate};
use crate::managed::{header, CommentStyle, Owner};

/// The result of rendering an import.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Import {
    /// The include file's text (managed header first).
    pub text: String,
    /// Names of the sections written.
    pub imported: Vec<String>,
    /// `(job line index, section name)` of every imported entry, for `--disable-source`.
    pub source_lines: Vec<(usize, String)>,
    /// One line per entry left out or imported with a change of meaning.
    pub notes: Vec<String>,
    /// `(job line index, section name, command)`: what each section's command must read
    /// back as.
    pub commands: Vec<(usize, String, String)>,
}

/// Facts about the crontab's owner that cron gives each job.
#[derive(Debug, Clone)]
pub struct Account {
    pub user: String,
    pub home: String,
}

/// The owner tag of import files: `crontab: USER`.
pub fn owner(user: &str) -> Owner {
    Owner::new("crontab", Some(user))
}

fn single_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r#"'"'"'"#))
}

/// Cron's `\%` is a literal `%`; a bare `%` starts stdin. `None` if a bare one is there.
fn unescape_percent(cmd: &str) -> Option<String> {
    let mut out = String::with_capacity(cmd.len());
    let mut chars = cmd.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.peek() == Some(&'%') => {
                out.push('%');
                chars.next();
            }
            '%' => return None,
            c => out.push(c),
        }
    }
    Some(out)
}

/// Renders the include file for `table`. Pure: validation against the loader is
/// [`validate`].
pub fn render(table: &Table, account: &Account) -> Import {
    render_skipping(table, account, &[])
}

fn render_skipping(table: &Table, account: &Account, skip_lines: &[usize]) -> Import {
    let mut text = header(CommentStyle::Semicolon, &owner(&account.user));
    let _ = writeln!(
        text,
        "; Imported from the crontab of {}; `steward crontab import` rewrites this file.",
        account.user
    );
    let mut imported = Vec::new();
    let mut source_lines = Vec::new();
    let mut notes = Vec::new();
    let mut commands = Vec::new();
    let entries = table.entries();
    let mut next_entry = entries.iter().peekable();
    let mut env: BTreeMap<String, String> = BTreeMap::new();
    let mut tz: Option<String> = None;
    let mut unnamed = 0;
    for (i, line) in table.lines().iter().enumerate() {
        if let Some((k, v)) = env_assignment(line) {
            match k.as_str() {
                "MAILTO" => {
                    if !v.is_empty() {
                        notes.push(format!(
                            "line {}: MAILTO={v}: Steward does not mail job output; it goes to the job's log",
                            i + 1
                        ));
                    }
                }
                "CRON_TZ" => {
                    notes.push(format!(
                        "line {}: CRON_TZ={v}: imported as `timezone = {v}` on the entries below it",
                        i + 1
                    ));
                    tz = Some(v);
                }
                _ => {
                    env.insert(k, v);
                }
            }
            continue;
        }
        let Some(entry) = next_entry.next_if(|e| e.line == i) else {
            continue;
        };
        let name = match &entry.name {
            Some(n) => n.clone(),
            None => {
                unnamed += 1;
                format!("cron-{}-{unnamed}", account.user)
            }
        };
        if skip_lines.contains(&i) {
            continue;
        }
        let skip = |why: String| format!("line {}: `{name}` not imported: {why}", i + 1);
        let sched = &entry.job.schedule;
        if let Err(e) = steward_cron::Schedule::parse(sched) {
            notes.push(skip(format!("schedule `{sched}`: {e}")));
            continue;
        }
        if sched.eq_ignore_ascii_case("@reboot") {
            notes.push(format!(
                "line {}: `{name}`: @reboot now runs when the Steward daemon starts, not at boot",
                i + 1
            ));
        }
        let Some(cmd) = unescape_percent(&entry.job.command) else {
            notes.push(skip(
                "a bare `%` feeds the rest of the line to stdin, which [cron:] cannot do".into(),
            ));
            continue;
        };
        let mut job_env = BTreeMap::new();
        job_env.insert("PATH".to_string(), CRON_DEFAULT_PATH.to_string());
        job_env.insert("SHELL".to_string(), "/bin/sh".to_string());
        job_env.insert("HOME".to_string(), account.home.clone());
        job_env.insert("LOGNAME".to_string(), account.user.clone());
        job_env.extend(env.clone());
        if let Some((k, _)) = job_env.iter().find(|(_, v)| v.contains('"')) {
            notes.push(skip(format!(
                "variable {k} contains `\"`, which an `environment=` value cannot hold"
            )));
            continue;
        }
        let shell = job_env["SHELL"].clone();
        let command = format!("{shell} -c {}", single_quote(&cmd));
        let environment = job_env
            .iter()
            .map(|(k, v)| format!("{k}=\"{}\"", v.replace('%', "%%")))
            .collect::<Vec<_>>()
            .join(",");
        let _ = writeln!(text, "\n[cron:{name}]");
        let _ = writeln!(text, "schedule = {sched}");
        if let Some(tz) = &tz {
            let _ = writeln!(text, "timezone = {tz}");
        }
        let _ = writeln!(text, "command = {}", command.replace('%', "%%"));
        let _ = writeln!(text, "user = {}", account.user);
        let _ = writeln!(text, "directory = {}", job_env["HOME"]);
        let _ = writeln!(text, "environment = {environment}");
        let _ = writeln!(text, "overlap = allow");
        if !entry.enabled {
            let _ = writeln!(text, "enabled = false");
        }
        imported.push(name.clone());
        commands.push((entry.line, name.clone(), command));
        source_lines.push((entry.line, name));
    }
    Import {
        text,
        imported,
        source_lines,
        notes,
        commands,
    }
}

/// Loads the rendered file with Steward's config loader ([`crate::check`], as if it were
/// at `destination`) and checks that every section's command reads back as intended.
/// Entries that do not survive are left out (with a note) and the rest is checked again.
/// Errs when the file as a whole does not load.
pub fn validate(
    import: &mut Import,
    table: &Table,
    account: &Account,
    destination: &Path,
) -> Result<(), String> {
    let mut skip: Vec<usize> = Vec::new();
    loop {
        let cfg = check_program_files(
            &[Candidate {
                destination,
                text: &import.text,
            }],
            true,
        )
        .map_err(|errors| errors.join("\n"))?;
        let bad: Vec<(usize, String)> = import
            .commands
            .iter()
            .filter(|(_, name, want)| {
                let got = cfg
                    .groups
                    .iter()
                    .find(|g| &g.name == name)
                    .and_then(|g| g.processes.first())
                    .map(|p| p.command.as_str());
                got != Some(want.as_str())
            })
            .map(|(line, name, _)| (*line, name.clone()))
            .collect();
        if bad.is_empty() {
            return Ok(());
        }
        if bad.iter().all(|(l, _)| skip.contains(l)) {
            return Err("the imported file does not read back as intended".into());
        }
        skip.extend(bad.iter().map(|(l, _)| *l));
        let earlier = std::mem::take(&mut import.notes);
        *import = render_skipping(table, account, &skip);
        let mut notes: Vec<String> = earlier
            .into_iter()
            .filter(|n| !import.notes.contains(n))
            .collect();
        notes.append(&mut import.notes);
        for (line, name) in &bad {
            notes.push(format!(
                "line {}: `{name}` not imported: its command does not survive supervisord's INI reader (` ;` and ` #` start a comment there)",
                line + 1
            ));
        }
        import.notes = notes;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn account() -> Account {
        Account {
            user: "root".into(),
            home: "/root".into(),
        }
    }

    #[test]
    fn entries_become_cron_sections_with_notes() {
        let table = Table::parse(
            "MAILTO=ops@example.com\nFOO=bar\n# steward: report\n30 2 * * * date +\\%F >> /tmp/r.log\n# steward: off\n#@hourly true\n* * * * * echo a%b\n@reboot /bin/true\n",
        );
        let imp = render(&table, &account());
        assert_eq!(imp.imported, vec!["report", "off", "cron-root-2"]);
        assert!(imp.text.starts_with("; managed by steward (crontab: root)"));
        assert!(
            imp.text
                .contains("command = /bin/sh -c 'date +%%F >> /tmp/r.log'"),
            "{}",
            imp.text
        );
        assert!(imp.text.contains("FOO=\"bar\""), "{}", imp.text);
        assert!(imp.text.contains("[cron:off]\nschedule = @hourly"));
        assert!(imp.text.contains("enabled = false"));
        let notes = imp.notes.join("\n");
        assert!(notes.contains("MAILTO"), "{notes}");
        assert!(notes.contains("bare `%`"), "{notes}");
        assert!(notes.contains("@reboot"), "{notes}");
    }

    #[test]
    fn validation_drops_commands_the_ini_reader_would_cut() {
        let table = Table::parse("* * * * * echo a ; echo b\n0 * * * * date\n");
        let mut imp = render(&table, &account());
        validate(
            &mut imp,
            &table,
            &account(),
            Path::new("/etc/x/crontab-root.conf"),
        )
        .unwrap();
        assert_eq!(imp.imported, vec!["cron-root-2"], "{}", imp.text);
        assert!(imp.text.contains("schedule = 0 * * * *"));
        assert!(
            imp.notes.iter().any(|n| n.contains("INI reader")),
            "{:?}",
            imp.notes
        );
    }
}
