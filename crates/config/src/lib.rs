//! supervisord.conf dialect → typed [`Config`].
//!
//! (Being written: see the crate's TODO below.) Public surface that other crates rely on:
//! [`load`], [`LoadOptions`], [`ConfigErrors`], [`search_paths`], the value parsers
//! ([`parse_signal`], [`signal_name`]) and the model types in [`model`].

pub mod model;
pub use model::*;

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
pub fn load(_path: &Path, _opts: &LoadOptions) -> Result<Config, ConfigErrors> {
    todo!("config parser")
}

/// supervisord's default config search order (plus Steward's own names), given the
/// directory of the running binary.
pub fn search_paths(_bindir: Option<&Path>) -> Vec<PathBuf> {
    todo!()
}

/// `TERM`, `sigterm`, `15` → 15. Error text as supervisord: `value 'X' is not a valid signal name`.
pub fn parse_signal(_value: &str) -> Result<i32, String> {
    todo!()
}

/// 15 → `TERM` (without the SIG prefix).
pub fn signal_name(_signo: i32) -> Option<&'static str> {
    todo!()
}
