//! File reading and `[include]` handling, then dispatch to the section parsers.
//!
//! Data flow: read the main file (size-capped, UTF-8 checked) → lex into one [`Ini`] →
//! expand `[include] files=` (here / host_node_name / ENV) → glob each pattern relative to
//! the main file's directory, sorted per pattern, reading each match into the same [`Ini`]
//! (files already read are skipped, so self-includes and cycles are harmless; `[include]`
//! in an included file is ignored like supervisord) → `[supervisord]` (which extends the
//! ENV expansions) → servers, `[supervisorctl]`, `[steward]`, rpcinterfaces → process
//! groups → unknown-section warnings. Errors are collected, never thrown early.
//!
//! Files and globs come from a `Source`: the filesystem for [`load`], a [`MemoryTree`] for
//! [`load_from_tree`] (the fuzz target's in-memory includes).

use crate::ini::Ini;
use crate::interpolate::{expand, Expansions, Val};
use crate::model::*;
use crate::sections::{absolute, commands, daemon, here_of, programs, users, Ctx};
use crate::{ConfigErrors, LoadOptions};
use std::path::{Path, PathBuf};

/// Largest config file we accept.
pub const MAX_FILE_BYTES: u64 = 32 * 1024 * 1024;
/// Most files one `[include]` may pull in.
pub const MAX_INCLUDED_FILES: usize = 10_000;

fn file_error(file: &Path, line: usize, reason: String) -> Diagnostic {
    Diagnostic {
        location: Location {
            file: file.to_path_buf(),
            line,
            ..Location::default()
        },
        reason,
    }
}

/// Where the loader reads files and expands `[include]` globs: the real filesystem for
/// [`load`], an in-memory tree for [`load_from_tree`] (fuzzing and tests).
trait Source {
    /// The file's text (size-capped, UTF-8 checked, BOM removed).
    #[allow(clippy::result_large_err)] // one per file read; not a hot path
    fn read_text(&self, path: &Path) -> Result<String, Diagnostic>;
    /// The paths an `[include]` pattern matches (unsorted), or the pattern's error.
    fn glob(&self, pattern: &str) -> Result<Vec<PathBuf>, String>;
}

struct Filesystem;

impl Source for Filesystem {
    fn read_text(&self, path: &Path) -> Result<String, Diagnostic> {
        read_text(path)
    }
    fn glob(&self, pattern: &str) -> Result<Vec<PathBuf>, String> {
        glob::glob(pattern)
            .map(|paths| paths.filter_map(Result::ok).collect())
            .map_err(|e| e.to_string())
    }
}

/// Files held in memory, keyed by absolute path: what [`load_from_tree`] reads instead of
/// the disk. Globs match one path component per `*` like the filesystem walk does.
#[derive(Debug, Clone, Default)]
pub struct MemoryTree {
    files: std::collections::BTreeMap<PathBuf, Vec<u8>>,
}

impl MemoryTree {
    /// Adds (or replaces) the file at `path` (made absolute and normalized).
    pub fn insert(&mut self, path: impl Into<PathBuf>, contents: impl Into<Vec<u8>>) {
        self.files.insert(absolute(path.into()), contents.into());
    }
}

impl Source for MemoryTree {
    fn read_text(&self, path: &Path) -> Result<String, Diagnostic> {
        match self.files.get(path) {
            Some(bytes) => decode_text(path, bytes.clone()),
            None if self.files.keys().any(|f| f.starts_with(path)) => Err(file_error(
                path,
                0,
                format!(
                    "could not read config file {}: Is a directory",
                    path.display()
                ),
            )),
            None => Err(file_error(
                path,
                0,
                format!("could not find config file {}", path.display()),
            )),
        }
    }
    fn glob(&self, pattern: &str) -> Result<Vec<PathBuf>, String> {
        // The disk resolves `..` while walking; here the pattern is normalized first.
        let normalized = crate::sections::normalize(Path::new(pattern));
        let pat = glob::Pattern::new(&normalized.to_string_lossy()).map_err(|e| e.to_string())?;
        let opts = glob::MatchOptions {
            case_sensitive: true,
            require_literal_separator: true,
            require_literal_leading_dot: false,
        };
        Ok(self
            .files
            .keys()
            .filter(|f| pat.matches_path_with(f, opts))
            .cloned()
            .collect())
    }
}

/// Reads a file as UTF-8 text with clean errors.
#[allow(clippy::result_large_err)] // one per file read; not a hot path
fn read_text(path: &Path) -> Result<String, Diagnostic> {
    let meta = std::fs::metadata(path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            file_error(
                path,
                0,
                format!("could not find config file {}", path.display()),
            )
        } else {
            file_error(
                path,
                0,
                format!("could not read config file {}: {e}", path.display()),
            )
        }
    })?;
    if meta.is_dir() {
        return Err(file_error(
            path,
            0,
            format!(
                "could not read config file {}: Is a directory",
                path.display()
            ),
        ));
    }
    if meta.len() > MAX_FILE_BYTES {
        return Err(file_error(
            path,
            0,
            format!(
                "config file is too large ({} bytes; the limit is {} bytes)",
                meta.len(),
                MAX_FILE_BYTES
            ),
        ));
    }
    let mut bytes = Vec::new();
    {
        use std::io::Read;
        let f = std::fs::File::open(path).map_err(|e| {
            file_error(
                path,
                0,
                format!("could not read config file {}: {e}", path.display()),
            )
        })?;
        // Guard against files that grow (or lie about their size, like /dev/zero).
        f.take(MAX_FILE_BYTES + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| {
                file_error(
                    path,
                    0,
                    format!("could not read config file {}: {e}", path.display()),
                )
            })?;
    }
    decode_text(path, bytes)
}

/// UTF-8 text of a file's bytes (without a leading BOM), or where the first bad byte is.
#[allow(clippy::result_large_err)] // one per file read; not a hot path
fn decode_text(path: &Path, bytes: Vec<u8>) -> Result<String, Diagnostic> {
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(file_error(
            path,
            0,
            format!("config file is too large (more than {MAX_FILE_BYTES} bytes)"),
        ));
    }
    match String::from_utf8(bytes) {
        Ok(mut s) => {
            if s.starts_with('\u{feff}') {
                s.drain(..3);
            }
            Ok(s)
        }
        Err(e) => {
            let upto = e.utf8_error().valid_up_to();
            let bytes = e.as_bytes();
            let line = bytes[..upto].iter().filter(|&&b| b == b'\n').count() + 1;
            Err(file_error(
                path,
                line,
                format!(
                    "'utf-8' codec can't decode byte 0x{:02x} in position {upto}: invalid UTF-8",
                    bytes[upto]
                ),
            ))
        }
    }
}

fn lex_into(ini: &mut Ini, text: &str, path: &Path, errors: &mut Vec<Diagnostic>) {
    for e in ini.read(text, path) {
        errors.push(Diagnostic {
            location: Location {
                file: e.file,
                line: e.line,
                value: e.text.clone(),
                ..Location::default()
            },
            reason: format!("{}: {}", e.reason, crate::interpolate::py_repr(&e.text)),
        });
    }
}

pub fn load(path: &Path, opts: &LoadOptions) -> Result<Config, ConfigErrors> {
    load_with(&Filesystem, path, opts)
}

/// [`load`] on files held in memory: the same rules, with `path` and every `[include]`
/// looked up in `tree`.
pub fn load_from_tree(
    tree: &MemoryTree,
    path: &Path,
    opts: &LoadOptions,
) -> Result<Config, ConfigErrors> {
    load_with(tree, path, opts)
}

fn load_with(source: &dyn Source, path: &Path, opts: &LoadOptions) -> Result<Config, ConfigErrors> {
    let main = absolute(path.to_path_buf());
    let mut errors = Vec::new();
    let mut warnings = Vec::new();
    let text = source.read_text(&main).map_err(|d| ConfigErrors(vec![d]))?;
    let mut ini = Ini::default();
    lex_into(&mut ini, &text, &main, &mut errors);
    let mut files = vec![main.clone()];

    if let Some(inc) = ini.section("include").cloned() {
        match ini.get(&inc, "files").cloned() {
            None => errors.push(Diagnostic {
                location: Ctx::location(&inc, "files", None),
                reason: ".ini file has [include] section, but no files setting".into(),
            }),
            Some(entry) => {
                let mut exp: Expansions = opts
                    .env
                    .iter()
                    .map(|(k, v)| (format!("ENV_{k}"), Val::Str(v.clone())))
                    .collect();
                exp.insert("here".into(), Val::Str(here_of(&entry.file)));
                exp.insert(
                    "host_node_name".into(),
                    Val::Str(opts.host_node_name.clone()),
                );
                match expand(&entry.value, &exp, "include.files") {
                    Err(m) => errors.push(Diagnostic {
                        location: Ctx::location(&inc, "files", Some(&entry)),
                        reason: m,
                    }),
                    Ok(list) => {
                        let base = PathBuf::from(here_of(&main));
                        'patterns: for pat in list.split_whitespace() {
                            let full = base.join(pat);
                            let full_s = full.to_string_lossy().into_owned();
                            let mut matches: Vec<PathBuf> = match source.glob(&full_s) {
                                Ok(paths) => paths,
                                Err(e) => {
                                    errors.push(Diagnostic {
                                        location: Ctx::location(&inc, "files", Some(&entry)),
                                        reason: format!("bad include pattern \"{full_s}\": {e}"),
                                    });
                                    continue;
                                }
                            };
                            if matches.is_empty() {
                                warnings.push(Diagnostic {
                                    location: Ctx::location(&inc, "files", Some(&entry)),
                                    reason: format!("No file matches via include \"{full_s}\""),
                                });
                                continue;
                            }
                            matches.sort();
                            for m in matches {
                                let m = absolute(m);
                                if files.contains(&m) {
                                    warnings.push(Diagnostic {
                                        location: Ctx::location(&inc, "files", Some(&entry)),
                                        reason: format!(
                                            "file \"{}\" is already included; skipped (include cycle)",
                                            m.display()
                                        ),
                                    });
                                    continue;
                                }
                                if files.len() > MAX_INCLUDED_FILES {
                                    errors.push(Diagnostic {
                                        location: Ctx::location(&inc, "files", Some(&entry)),
                                        reason: format!(
                                            "too many included files (more than {MAX_INCLUDED_FILES})"
                                        ),
                                    });
                                    break 'patterns;
                                }
                                match source.read_text(&m) {
                                    Ok(t) => {
                                        lex_into(&mut ini, &t, &m, &mut errors);
                                        files.push(m.clone());
                                        if let Some(s) = ini.section("include") {
                                            if let Some(e) = s.entries.iter().find(|e| *e.file == m)
                                            {
                                                // Not followed (as supervisord), but a nested
                                                // include that points back at a file already
                                                // read is a cycle: refuse it.
                                                let here = PathBuf::from(here_of(&m));
                                                let back: Vec<PathBuf> = e
                                                    .value
                                                    .split_whitespace()
                                                    .filter_map(|p| {
                                                        source
                                                            .glob(&here.join(p).to_string_lossy())
                                                            .ok()
                                                    })
                                                    .flatten()
                                                    .map(absolute)
                                                    .filter(|p| files.contains(p))
                                                    .collect();
                                                if let Some(first) = back.first() {
                                                    errors.push(Diagnostic {
                                                        location: Ctx::location(s, &e.key, Some(e)),
                                                        reason: format!(
                                                            "include cycle: {} includes {}, which is already included",
                                                            m.display(),
                                                            first.display()
                                                        ),
                                                    });
                                                } else {
                                                    warnings.push(Diagnostic {
                                                        location: Ctx::location(s, &e.key, Some(e)),
                                                        reason: "[include] inside an included file is ignored".into(),
                                                    });
                                                }
                                            }
                                        }
                                    }
                                    Err(d) => errors.push(d),
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    let empty = crate::ini::Section {
        name: "supervisord".into(),
        file: std::sync::Arc::new(main.clone()),
        line: 0,
        entries: Vec::new(),
    };
    let mut ctx = Ctx::new(&ini, opts);
    ctx.errors = errors;
    ctx.warnings = warnings;

    let supervisord = match ini.section("supervisord") {
        Some(s) => daemon::supervisord(&mut ctx, s),
        None => {
            ctx.errors.push(file_error(
                &main,
                0,
                ".ini file does not include supervisord section".into(),
            ));
            // Defaults, so that the rest of the file is still checked.
            daemon::supervisord(&mut ctx, &empty)
        }
    };

    let mut unix_http_servers = Vec::new();
    let mut inet_http_servers = Vec::new();
    let mut supervisorctl = None;
    let mut steward = StewardSection::default();
    let mut cluster = None;
    let mut rpcinterfaces = Vec::new();
    let mut notifiers = Vec::new();
    let mut nodes = Vec::new();
    for sec in &ini.sections {
        let name = sec.name.as_str();
        if name.starts_with("inet_http_server") {
            if let Some(s) = daemon::inet_server(&mut ctx, sec) {
                inet_http_servers.push(s);
            }
        } else if name.starts_with("unix_http_server") {
            if let Some(s) = daemon::unix_server(&mut ctx, sec) {
                unix_http_servers.push(s);
            }
        } else if name == "supervisorctl" {
            supervisorctl = Some(daemon::supervisorctl(&mut ctx, sec));
        } else if name == "steward" {
            steward = daemon::steward(&mut ctx, sec);
        } else if name.starts_with("notify:") {
            notifiers.extend(crate::sections::notify::notify(&mut ctx, sec));
        } else if name.starts_with("node:") {
            nodes.extend(crate::sections::nodes::node(&mut ctx, sec));
        } else if name == "cluster" {
            cluster = Some(daemon::cluster(&mut ctx, sec));
        } else if name.starts_with("rpcinterface:") {
            if let Some(r) = daemon::rpcinterface(&mut ctx, sec) {
                rpcinterfaces.push(r);
            }
        } else if name == "supervisord" || name == "include" || name.starts_with("ctlplugin:") {
        } else if let Some((t, _)) = name.split_once(':') {
            if !matches!(
                t,
                "program"
                    | "group"
                    | "eventlistener"
                    | "fcgi-program"
                    | "cron"
                    | "user"
                    | "command"
            ) {
                ctx.warn(sec, "", None, "unknown section type (ignored)".into());
            }
        } else {
            ctx.warn(sec, "", None, "unknown section (ignored)".into());
        }
    }

    let groups = programs::groups(&mut ctx);
    let users = users::users(&mut ctx);
    let commands = commands::commands(&mut ctx);

    let Ctx {
        errors, warnings, ..
    } = ctx;
    if !errors.is_empty() {
        return Err(ConfigErrors(errors));
    }
    Ok(Config {
        source: main,
        files,
        supervisord,
        unix_http_servers,
        inet_http_servers,
        supervisorctl,
        steward,
        cluster,
        // Not `into_iter().map(..).collect()`: that would reuse the `Vec<GroupConfig>`'s
        // buffer in place, and its 24 times larger capacity (190 KB at 1,000 programs)
        // would stay allocated as long as the config.
        groups: {
            let mut shared = Vec::with_capacity(groups.len());
            shared.extend(groups.into_iter().map(std::sync::Arc::new));
            shared
        },
        rpcinterfaces,
        users,
        commands,
        warnings,
        notifiers,
        nodes,
    })
}

pub fn load_ctl(path: Option<&Path>, opts: &LoadOptions) -> Result<CtlSection, ConfigErrors> {
    let Some(path) = path else {
        return Ok(daemon::default_ctl());
    };
    let main = absolute(path.to_path_buf());
    let text = read_text(&main).map_err(|d| ConfigErrors(vec![d]))?;
    let mut ini = Ini::default();
    let mut errors = Vec::new();
    lex_into(&mut ini, &text, &main, &mut errors);
    let mut ctx = Ctx::new(&ini, opts);
    ctx.errors = errors;
    let ctl = match ini.section("supervisorctl") {
        Some(s) => daemon::supervisorctl(&mut ctx, s),
        None => {
            ctx.errors.push(file_error(
                &main,
                0,
                ".ini file does not include supervisorctl section".into(),
            ));
            daemon::default_ctl()
        }
    };
    if ctx.errors.is_empty() {
        Ok(ctl)
    } else {
        Err(ConfigErrors(ctx.errors))
    }
}
