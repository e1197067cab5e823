//! Section parsers: typed reading of one INI section at a time.
//!
//! Data flow: the loader hands a [`Ctx`] (the merged [`Ini`], the load options, the
//! `%(ENV_X)s` expansions and the diagnostic sinks) to the per-section-type modules
//! ([`daemon`] for `[supervisord]`, servers, `[supervisorctl]`, `[steward]`,
//! `[rpcinterface:x]`; [`nodes`] for `[node:NAME]`; [`programs`] for every process-group type, with [`health`] for
//! Steward's dependency and health keys; [`users`] for `[user:NAME]`). Each builds a [`Reader`]
//! for its section, which looks values up (falling back to `[DEFAULT]`), interpolates them
//! with the right expansions (`here` = the directory of the file the value came from),
//! types them, and on failure records a [`Diagnostic`] and substitutes the default so that
//! every error in the file is collected in one pass.

pub mod commands;
pub mod daemon;
pub mod health;
pub mod nodes;
pub mod notify;
pub mod programs;
pub mod users;

use crate::ini::{Entry, Ini, Section};
use crate::interpolate::{expand_layered, Expansions, Val};
use crate::model::{Diagnostic, Location};
use crate::LoadOptions;
use std::path::{Path, PathBuf};

/// Shared state of one load.
pub struct Ctx<'a> {
    pub ini: &'a Ini,
    pub opts: &'a LoadOptions,
    pub errors: Vec<Diagnostic>,
    pub warnings: Vec<Diagnostic>,
    /// `ENV_X` for every variable of the environment (plus `[supervisord] environment`).
    pub env_exp: Expansions,
    /// `$HOME` for `~` expansion (from the pinned environment when present).
    pub home: Option<String>,
    /// Steward: `[supervisord] kill_orphans`, the default of every program's own key.
    pub kill_orphans_default: bool,
}

impl<'a> Ctx<'a> {
    pub fn new(ini: &'a Ini, opts: &'a LoadOptions) -> Ctx<'a> {
        let env_exp = opts
            .env
            .iter()
            .map(|(k, v)| (format!("ENV_{k}"), Val::Str(v.clone())))
            .collect();
        Ctx {
            ini,
            opts,
            errors: Vec::new(),
            warnings: Vec::new(),
            env_exp,
            home: opts.env.get("HOME").cloned(),
            kill_orphans_default: false,
        }
    }

    pub fn location(sec: &Section, key: &str, entry: Option<&Entry>) -> Location {
        match entry {
            Some(e) => Location {
                file: e.file.to_path_buf(),
                line: e.line,
                section: sec.name.clone(),
                key: key.to_string(),
                value: e.value.clone(),
            },
            None => Location {
                file: sec.file.to_path_buf(),
                line: sec.line,
                section: sec.name.clone(),
                key: key.to_string(),
                value: String::new(),
            },
        }
    }

    pub fn error(&mut self, sec: &Section, key: &str, entry: Option<&Entry>, reason: String) {
        self.errors.push(Diagnostic {
            location: Self::location(sec, key, entry),
            reason,
        });
    }

    pub fn warn(&mut self, sec: &Section, key: &str, entry: Option<&Entry>, reason: String) {
        self.warnings.push(Diagnostic {
            location: Self::location(sec, key, entry),
            reason,
        });
    }

    /// Warns about keys of `sec` that are not in `known` (supervisord ignores them).
    pub fn warn_unknown_keys(&mut self, sec: &Section, known: &[&str]) {
        for e in &sec.entries {
            if !known.contains(&e.key.as_str()) {
                self.warnings.push(Diagnostic {
                    location: Self::location(sec, &e.key, Some(e)),
                    reason: "unknown option (ignored)".into(),
                });
            }
        }
    }
}

/// The directory of a file, for `%(here)s`.
pub fn here_of(file: &Path) -> String {
    file.parent()
        .map(|p| p.to_string_lossy().into_owned())
        .unwrap_or_else(|| ".".into())
}

/// Reads the options of one section.
pub struct Reader<'c, 'a> {
    pub ctx: &'c mut Ctx<'a>,
    pub sec: &'a Section,
    /// Expansions common to the whole section (besides `here` and `ENV_X`).
    pub base: Expansions,
    /// Whether to include `ENV_X` names.
    pub with_env: bool,
    /// Set when any option of this section failed.
    pub failed: bool,
}

impl<'c, 'a> Reader<'c, 'a> {
    pub fn new(ctx: &'c mut Ctx<'a>, sec: &'a Section) -> Reader<'c, 'a> {
        Reader {
            ctx,
            sec,
            base: Expansions::new(),
            with_env: true,
            failed: false,
        }
    }

    pub fn entry(&self, key: &str) -> Option<&'a Entry> {
        self.ctx.ini.get(self.sec, key)
    }

    pub fn error(&mut self, key: &str, reason: String) {
        let e = self.entry(key);
        self.failed = true;
        self.ctx.error(self.sec, key, e, reason);
    }

    pub fn warn(&mut self, key: &str, reason: String) {
        let e = self.entry(key);
        self.ctx.warn(self.sec, key, e, reason);
    }

    /// Interpolates `raw` (the value of `key`, from `entry`'s file) with `extra` on top of
    /// the section's expansions.
    pub fn expand_value(
        &mut self,
        key: &str,
        raw: &str,
        entry: Option<&Entry>,
        extra: &Expansions,
    ) -> Option<String> {
        if !raw.contains('%') {
            return Some(raw.to_string());
        }
        let file: &Path = match entry {
            Some(e) => &e.file,
            None => &self.sec.file,
        };
        let mut here = Expansions::new();
        here.insert("here".into(), Val::Str(here_of(file)));
        let empty = Expansions::new();
        let env = if self.with_env {
            &self.ctx.env_exp
        } else {
            &empty
        };
        let layers = [env, &self.base, extra, &here];
        match expand_layered(raw, &layers, &format!("{}.{}", self.sec.name, key)) {
            Ok(v) => Some(v),
            Err(m) => {
                self.failed = true;
                self.ctx.error(self.sec, key, entry, m);
                None
            }
        }
    }

    /// The interpolated value of `key`, or `None` when absent (or broken: then an error
    /// has been recorded).
    pub fn get(&mut self, key: &str, extra: &Expansions) -> Option<String> {
        let e = self.entry(key)?;
        self.expand_value(key, &e.value, Some(e), extra)
    }

    /// The value of `key` without interpolation.
    pub fn raw(&self, key: &str) -> Option<String> {
        self.entry(key).map(|e| e.value.clone())
    }

    /// A typed option: absent → `default`; unparsable → error recorded, `default`.
    pub fn typed<T>(
        &mut self,
        key: &str,
        default: T,
        extra: &Expansions,
        parse: impl FnOnce(&str) -> Result<T, String>,
    ) -> T {
        let Some(v) = self.get(key, extra) else {
            return default;
        };
        match parse(&v) {
            Ok(t) => t,
            Err(m) => {
                self.error(key, m);
                default
            }
        }
    }

    /// A typed option whose default is itself a string to parse (and interpolate, like
    /// supervisord does with e.g. `process_name`'s `%(program_name)s`).
    pub fn typed_default_str<T>(
        &mut self,
        key: &str,
        default: &str,
        extra: &Expansions,
        parse: impl Fn(&str) -> Result<T, String>,
    ) -> Option<T> {
        let entry = self.entry(key);
        let raw = entry
            .map(|e| e.value.clone())
            .unwrap_or_else(|| default.to_string());
        let v = self.expand_value(key, &raw, entry, extra)?;
        match parse(&v) {
            Ok(t) => Some(t),
            Err(m) => {
                self.error(key, m);
                None
            }
        }
    }

    pub fn home(&self) -> Option<String> {
        self.ctx.home.clone()
    }

    pub fn check_system(&self) -> bool {
        self.ctx.opts.check_system
    }
}

/// Makes a path absolute against the current directory (without touching the disk).
pub fn absolute(p: PathBuf) -> PathBuf {
    if p.is_absolute() {
        normalize(&p)
    } else {
        match std::env::current_dir() {
            Ok(cwd) => normalize(&cwd.join(p)),
            Err(_) => p,
        }
    }
}

/// `os.path.normpath` for absolute paths: removes `.`, `..` and duplicate slashes.
pub fn normalize(p: &Path) -> PathBuf {
    use std::path::Component;
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::ParentDir => {
                if !out.pop() {
                    out.push("..");
                }
            }
            Component::CurDir => {}
            other => out.push(other.as_os_str()),
        }
    }
    out
}
