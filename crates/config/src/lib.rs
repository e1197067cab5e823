//! supervisord.conf dialect → typed [`Config`].
//!
//! Public surface that other crates rely on: [`load`], [`load_ctl`], [`LoadOptions`],
//! [`ConfigErrors`], [`search_paths`], [`split_command`], the value parsers
//! ([`parse_signal`], [`signal_name`], [`parse_byte_size`], [`parse_bool`]),
//! [`check::render`], the model types in [`model`] and the access-control values in
//! [`access`].
//!
//! Data flow: [`load`] reads the main file and its `[include]`s as text ([`loader`]), lexes
//! them into one merged [`ini::Ini`] (configparser rules), then the [`sections`] parsers
//! interpolate ([`interpolate`]) and type ([`values`]) every option, collecting every
//! error as a [`Diagnostic`]; the result is the plain-data [`Config`] of [`model`].

pub mod access;
pub mod check;
pub mod ini;
pub mod interpolate;
mod loader;
pub mod model;
pub mod sections;
pub mod values;

pub use loader::MemoryTree;
pub use model::*;
pub use values::{parse_bool, parse_byte_size, split_command};

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Inputs of parsing that come from the outside world, so tests can pin them.
#[derive(Debug, Clone)]
pub struct LoadOptions {
    /// The daemon's environment (for `%(ENV_X)s`).
    pub env: BTreeMap<String, String>,
    /// `%(host_node_name)s`.
    pub host_node_name: String,
    /// When false, checks against the live system (user exists, log dir exists) are skipped.
    pub check_system: bool,
}

impl LoadOptions {
    /// The real process environment and host name.
    pub fn from_system() -> LoadOptions {
        LoadOptions {
            env: std::env::vars().collect(),
            host_node_name: nix::unistd::gethostname()
                .map(|h| h.to_string_lossy().into_owned())
                .unwrap_or_default(),
            check_system: true,
        }
    }
}

/// Every error found in a configuration, in file order.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ConfigErrors(pub Vec<Diagnostic>);

impl std::fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, d) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{d}")?;
        }
        Ok(())
    }
}

/// Reads, interpolates and validates a supervisord.conf and its includes.
pub fn load(path: &Path, opts: &LoadOptions) -> Result<Config, ConfigErrors> {
    loader::load(path, opts)
}

/// [`load`] on an in-memory tree of files instead of the disk (same rules; `path` and
/// `[include]` patterns are looked up in `tree`). For fuzzing and tests.
pub fn load_from_tree(
    tree: &MemoryTree,
    path: &Path,
    opts: &LoadOptions,
) -> Result<Config, ConfigErrors> {
    loader::load_from_tree(tree, path, opts)
}

/// Reads the `[supervisorctl]` side of a config file (no includes). `None`: the defaults
/// (`http://localhost:9001`, prompt `supervisor`). A given file must contain
/// `[supervisorctl]` (`.ini file does not include supervisorctl section`).
pub fn load_ctl(path: Option<&Path>, opts: &LoadOptions) -> Result<CtlSection, ConfigErrors> {
    loader::load_ctl(path, opts)
}

/// supervisord's default config search order (plus Steward's own names), given the
/// directory of the running binary.
///
/// Order: `<bindir>/../etc/supervisord.conf`, `<bindir>/../supervisord.conf`,
/// `./supervisord.conf`, `./etc/supervisord.conf`, `/etc/supervisord.conf`,
/// `/etc/supervisor/supervisord.conf` (supervisord's list), then Steward's equivalents
/// `./steward.conf` and `/etc/steward/steward.conf`.
pub fn search_paths(bindir: Option<&Path>) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Some(b) = bindir {
        let parent = b.join("..");
        out.push(parent.join("etc").join("supervisord.conf"));
        out.push(parent.join("supervisord.conf"));
    }
    for p in [
        "supervisord.conf",
        "etc/supervisord.conf",
        "/etc/supervisord.conf",
        "/etc/supervisor/supervisord.conf",
        "steward.conf",
        "/etc/steward/steward.conf",
    ] {
        out.push(PathBuf::from(p));
    }
    out
}

/// `TERM`, `sigterm`, `15` → 15. Error text as supervisord: `value 'X' is not a valid signal name`.
pub fn parse_signal(value: &str) -> Result<i32, String> {
    values::parse_signal(value)
}

/// 15 → `TERM` (without the SIG prefix).
pub fn signal_name(signo: i32) -> Option<&'static str> {
    values::signal_name(signo)
}

/// `group:name` (or `name` when the group has the same name), as supervisorctl shows it.
pub fn namespec(group: &str, process: &str) -> String {
    if group == process {
        process.to_string()
    } else {
        format!("{group}:{process}")
    }
}

impl Config {
    /// Looks a process up by namespec: `group:name`, or `name` for a process whose group
    /// has the same name.
    pub fn process(&self, namespec: &str) -> Option<(&GroupConfig, &ProcessConfig)> {
        let (g, p) = match namespec.split_once(':') {
            Some((g, p)) => (g, p),
            None => (namespec, namespec),
        };
        let group = self.groups.iter().find(|x| x.name == g)?;
        let proc_ = group.processes.iter().find(|x| x.name == p)?;
        Some((group, proc_))
    }

    /// This daemon's name as a node: `[steward] node`, else `[cluster] node`, else the
    /// host name (the name cluster cron already uses), else `localhost`.
    pub fn local_node_name(&self) -> String {
        self.steward
            .node
            .clone()
            .or_else(|| self.cluster.as_ref().and_then(|c| c.node.clone()))
            .or_else(|| {
                nix::unistd::gethostname()
                    .ok()
                    .and_then(|h| h.into_string().ok())
                    .filter(|h| !h.is_empty())
            })
            .unwrap_or_else(|| "localhost".into())
    }

    /// A group by name.
    pub fn group(&self, name: &str) -> Option<&GroupConfig> {
        self.groups.iter().find(|g| g.name == name).map(|g| &**g)
    }

    /// Every process with its group, in start order (groups by priority, then name).
    pub fn processes(&self) -> impl Iterator<Item = (&GroupConfig, &ProcessConfig)> {
        self.groups
            .iter()
            .flat_map(|g| g.processes.iter().map(move |p| (&**g, &**p)))
    }
}
