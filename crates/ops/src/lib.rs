//! Operator tools: the parts of Steward that write files other programs read (program
//! files in an include directory, logrotate files, crontabs, systemd units) and then talk
//! to a running daemon over XML-RPC, so they work against a stock supervisord too.
//!
//! Every tool writes through one door, [`atomic::write_atomic`] (temp file outside any
//! include glob, fsync, rename, fsync of the directory), and marks what it owns with one
//! header rule, [`managed`]: a file without Steward's header is someone else's and is never
//! overwritten or deleted without an explicit `--force`.
//!
//! A tool renders its files in memory, has [`check`] load program files with Steward's
//! own config loader, writes what differs, and applies only the groups it touched with
//! [`daemon::Daemon::update_groups`]; [`layout`] finds the include directory, pidfile and
//! server URL from the main config. [`worker`] (`steward worker`) and [`sync`]
//! (`steward sync`) are built this way. [`crontab`] (`steward crontab`) edits a user's
//! crontab through the real `crontab` program, and [`service`] (`steward service`) writes
//! the systemd unit.

pub mod atomic;
pub mod check;
pub mod crontab;
pub mod daemon;
pub mod layout;
pub mod managed;
pub mod service;
pub mod sync;
pub mod worker;

use std::path::{Path, PathBuf};

/// An I/O error with the path it happened on (the tools' errors wrap it).
#[derive(Debug, thiserror::Error)]
#[error("{path}: {source}")]
pub struct PathIoError {
    pub path: PathBuf,
    #[source]
    pub source: std::io::Error,
}

/// `map_err(io_at(path))`: attaches `path` to an I/O error.
pub fn io_at(path: &Path) -> impl FnOnce(std::io::Error) -> PathIoError + '_ {
    move |source| PathIoError {
        path: path.to_path_buf(),
        source,
    }
}
