//! `steward worker`: one program file per worker in the daemon's include directory,
//! rendered from a template, checked, written atomically, and applied to that group only.
//!
//! Data flow of `add`: flags (and, on a terminal, answers to prompts) → [`resolve_values`]
//! (every field of the [`Template`] gets a value or its default) → [`prepare`] (name and
//! value checks, [`Template::render`], stop-budget and machine checks, the managed
//! header, then Steward's own loader on the finished text) → [`write`] (refuses a file
//! that is not ours without `force`; same bytes = untouched) → the caller applies it with
//! [`crate::daemon::Daemon::update_groups`]. `remove` and `list` read the directory back
//! with [`scan`].

pub mod templates;
pub mod validate;

use std::collections::BTreeMap;
use std::io::{self, BufRead, Write};
use std::path::{Path, PathBuf};

pub use templates::{Fallback, Field, Template, TemplateInfo, Values, TEMPLATES};

use crate::atomic::{write_atomic, WriteOutcome};
use crate::managed::{self, CommentStyle, Owner};

/// The owner written into every worker file's header.
pub fn owner() -> Owner {
    Owner::new("worker", None)
}

const TEMPLATE_LINE: &str = "; template: ";

/// Asks for one value; an empty answer takes the default.
pub trait Prompter {
    fn ask(&mut self, field: &Field, default: Option<&str>) -> io::Result<String>;
}

/// Prompts on `out`, reads answers line by line from `input` (seed 000's flow).
pub struct LinePrompter<R, W> {
    pub input: R,
    pub out: W,
}

impl<R: BufRead, W: Write> Prompter for LinePrompter<R, W> {
    fn ask(&mut self, field: &Field, default: Option<&str>) -> io::Result<String> {
        match (default, field.fallback) {
            (Some(d), _) => write!(self.out, "{} [{d}]: ", field.label)?,
            (None, Fallback::Unset(hint)) => write!(self.out, "{} [{hint}]: ", field.label)?,
            (None, _) => write!(self.out, "{}: ", field.label)?,
        }
        self.out.flush()?;
        let mut line = String::new();
        if self.input.read_line(&mut line)? == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!("no answer for {:?} (end of input)", field.label),
            ));
        }
        Ok(line.trim().to_string())
    }
}

/// Fills every field of `template`: a given value, else (with a prompter) the answer,
/// else the default. A required field without a value is an error naming its flag.
pub fn resolve_values(
    template: Template,
    given: &BTreeMap<String, String>,
    mut prompter: Option<&mut dyn Prompter>,
) -> Result<Values, String> {
    let fields = template.fields();
    if let Some(extra) = given.keys().find(|k| !fields.iter().any(|f| f.key == *k)) {
        return Err(format!(
            "--{extra} does not apply to the {} template (its values: {})",
            template.name(),
            fields
                .iter()
                .map(|f| format!("--{}", f.key))
                .collect::<Vec<_>>()
                .join(" ")
        ));
    }
    let mut values = Values::new();
    for field in &fields {
        if let Some(v) = given.get(field.key) {
            values.insert(field.key.into(), v.clone());
            continue;
        }
        let default = match field.fallback {
            Fallback::Value(d) => Some(d),
            _ => None,
        };
        let answer = match prompter.as_deref_mut() {
            Some(p) => loop {
                let a = p
                    .ask(field, default)
                    .map_err(|e| format!("--{}: {e}", field.key))?;
                if !a.is_empty() || field.fallback != Fallback::Required {
                    break a;
                }
            },
            None => String::new(),
        };
        match (answer.is_empty(), default, field.fallback) {
            (false, _, _) => {
                values.insert(field.key.into(), answer);
            }
            (true, Some(d), _) => {
                values.insert(field.key.into(), d.into());
            }
            (true, None, Fallback::Required) => {
                return Err(format!(
                    "--{} is required by the {} template ({})",
                    field.key,
                    template.name(),
                    field.label
                ))
            }
            (true, None, _) => {}
        }
    }
    Ok(values)
}

/// A worker file ready to be written.
#[derive(Debug, Clone)]
pub struct WorkerFile {
    pub name: String,
    pub template: Template,
    pub path: PathBuf,
    pub text: String,
    pub is_cron: bool,
    pub warnings: Vec<String>,
}

/// Renders and checks a worker; every problem is reported at once, nothing is written.
pub fn prepare(
    template: Template,
    values: &Values,
    include_dir: &Path,
    check_system: bool,
) -> Result<WorkerFile, Vec<String>> {
    let name = values.get("name").cloned().unwrap_or_default();
    let mut errors: Vec<String> = Vec::new();
    if let Err(e) = validate::check_name(&name) {
        errors.push(e);
    }
    for (k, v) in values {
        if let Err(e) = validate::check_value(k, v) {
            errors.push(e);
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let rendered = template.render(values).map_err(|e| vec![e])?;
    errors.extend(validate::check_rendered(&rendered, check_system));
    if !errors.is_empty() {
        return Err(errors);
    }
    let path = include_dir.join(format!("{name}.conf"));
    let text = format!(
        "{}{TEMPLATE_LINE}{}\n{}",
        managed::header(CommentStyle::Semicolon, &owner()),
        template.name(),
        rendered.body
    );
    crate::check::check_program_files(
        &[crate::check::Candidate {
            destination: &path,
            text: &text,
        }],
        check_system,
    )?;
    Ok(WorkerFile {
        name,
        template,
        path,
        text,
        is_cron: rendered.is_cron,
        warnings: rendered.warnings,
    })
}

/// Why a worker file was not written or removed.
#[derive(Debug, thiserror::Error)]
pub enum WorkerError {
    #[error("{0} exists and is not managed by steward (no header); use --force to replace it")]
    NotOurs(PathBuf),
    #[error("no worker {name}: {path} does not exist")]
    Missing { name: String, path: PathBuf },
    #[error(transparent)]
    Write(#[from] crate::atomic::AtomicWriteError),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

fn read_existing(path: &Path) -> Result<Option<String>, WorkerError> {
    match std::fs::read(path) {
        Ok(b) => Ok(Some(String::from_utf8_lossy(&b).into_owned())),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(WorkerError::Io {
            path: path.into(),
            source,
        }),
    }
}

/// Writes the file unless someone else's file is there (`force` overrides).
pub fn write(file: &WorkerFile, force: bool) -> Result<WriteOutcome, WorkerError> {
    if let Some(old) = read_existing(&file.path)? {
        if !force && !managed::is_owned_by(&old, &owner()) {
            return Err(WorkerError::NotOurs(file.path.clone()));
        }
    }
    Ok(write_atomic(&file.path, file.text.as_bytes(), 0o644)?)
}

/// A program file found in the include directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FoundFile {
    pub path: PathBuf,
    pub managed: bool,
    pub template: Option<String>,
    /// The process groups its sections define.
    pub groups: Vec<String>,
}

/// The groups a file's sections define (`[program:x]`, `[cron:x]`, `[group:g]`, ...):
/// a `[group:g]` hides the programs it lists.
pub fn groups_of(text: &str) -> Vec<String> {
    let mut groups = Vec::new();
    let mut grouped: Vec<String> = Vec::new();
    let mut in_group = false;
    for line in text.lines() {
        let t = line.trim();
        if let Some(sec) = t.strip_prefix('[').and_then(|s| s.strip_suffix(']')) {
            in_group = false;
            if let Some((kind, name)) = sec.split_once(':') {
                match kind {
                    "program" | "fcgi-program" | "eventlistener" | "cron" => {
                        groups.push(name.to_string())
                    }
                    "group" => {
                        in_group = true;
                        groups.push(name.to_string());
                    }
                    _ => {}
                }
            }
        } else if in_group {
            if let Some(list) = t
                .strip_prefix("programs")
                .and_then(|r| r.trim_start().strip_prefix(['=', ':']))
            {
                grouped.extend(list.split(',').map(|p| p.trim().to_string()));
            }
        }
    }
    groups.retain(|g| !grouped.contains(g));
    groups
}

/// Every file of `dir` the include glob picks up (`matches`), sorted by name.
pub fn scan(dir: &Path, matches: impl Fn(&str) -> bool) -> Result<Vec<FoundFile>, WorkerError> {
    let entries = std::fs::read_dir(dir).map_err(|source| WorkerError::Io {
        path: dir.into(),
        source,
    })?;
    let mut found = Vec::new();
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') || !matches(&name) || !entry.path().is_file() {
            continue;
        }
        let Some(text) = read_existing(&entry.path())? else {
            continue;
        };
        let managed = managed::is_owned_by(&text, &owner());
        let template = text
            .lines()
            .nth(1)
            .and_then(|l| l.strip_prefix(TEMPLATE_LINE))
            .filter(|_| managed)
            .map(str::to_string);
        found.push(FoundFile {
            path: entry.path(),
            managed,
            template,
            groups: groups_of(&text),
        });
    }
    found.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(found)
}

/// Another file that already has a section named `name` (`[program:name]`,
/// `[cron:name]`, `[group:name]`...): the daemon's parser would merge the two sections
/// into one program, so `add` refuses. `others` are the files to look in.
pub fn defined_elsewhere(name: &str, ours: &Path, others: &[PathBuf]) -> Option<PathBuf> {
    let kinds = ["program", "fcgi-program", "eventlistener", "cron", "group"];
    others
        .iter()
        .filter(|p| p.as_path() != ours)
        .find(|p| {
            std::fs::read_to_string(p).is_ok_and(|text| {
                text.lines().any(|l| {
                    l.trim()
                        .strip_prefix('[')
                        .and_then(|r| r.strip_suffix(']'))
                        .and_then(|sec| sec.split_once(':'))
                        .is_some_and(|(kind, n)| n == name && kinds.contains(&kind))
                })
            })
        })
        .cloned()
}

/// The file of worker `name`, which must exist and be ours (unless `force`).
pub fn removable(include_dir: &Path, name: &str, force: bool) -> Result<FoundFile, WorkerError> {
    let path = include_dir.join(format!("{name}.conf"));
    let Some(text) = read_existing(&path)? else {
        return Err(WorkerError::Missing {
            name: name.into(),
            path,
        });
    };
    let managed = managed::is_owned_by(&text, &owner());
    if !managed && !force {
        return Err(WorkerError::NotOurs(path));
    }
    Ok(FoundFile {
        path,
        managed,
        template: None,
        groups: groups_of(&text),
    })
}

/// Deletes a worker's file (after its groups were taken out of the daemon).
pub fn delete(file: &FoundFile) -> Result<(), WorkerError> {
    std::fs::remove_file(&file.path).map_err(|source| WorkerError::Io {
        path: file.path.clone(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prompts_and_flags_give_the_same_values() {
        let mut given = BTreeMap::new();
        given.insert("name".to_string(), "myapp-email".to_string());
        given.insert("path".to_string(), "/var/www/myapp".to_string());
        let from_flags = resolve_values(Template::LaravelQueue, &given, None).unwrap();
        // Seed 000's flow: name, path, then Enter for every default.
        let answers = "myapp-email\n/var/www/myapp\n\n\n\n\n\n\n\n\n\n\n\n";
        let mut out = Vec::new();
        let mut p = LinePrompter {
            input: answers.as_bytes(),
            out: &mut out,
        };
        let from_prompts =
            resolve_values(Template::LaravelQueue, &BTreeMap::new(), Some(&mut p)).unwrap();
        assert_eq!(from_flags, from_prompts);
        let shown = String::from_utf8(out).unwrap();
        assert!(shown.contains("Queue connection [database]: "), "{shown}");
        assert!(shown.contains("Number of processes [1]: "), "{shown}");
    }

    #[test]
    fn missing_and_foreign_values_are_errors() {
        let e = resolve_values(Template::LaravelQueue, &BTreeMap::new(), None).unwrap_err();
        assert!(e.contains("--name is required"), "{e}");
        let mut given = BTreeMap::new();
        given.insert("bind".to_string(), "x".to_string());
        let e = resolve_values(Template::LaravelQueue, &given, None).unwrap_err();
        assert!(e.contains("--bind does not apply"), "{e}");
    }

    #[test]
    fn group_sections_hide_their_programs() {
        let text = "[program:a]\n[program:b]\n[group:g]\nprograms=a, b\n[cron:c]\n";
        assert_eq!(groups_of(text), vec!["g".to_string(), "c".to_string()]);
    }
}
