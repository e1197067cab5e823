//! Operator tools: the parts of Steward that write files other programs read (program
//! files in an include directory, logrotate files, crontabs, systemd units) and then talk
//! to a running daemon over XML-RPC, so they work against a stock supervisord too.
//!
//! Every tool writes through one door, [`atomic::write_atomic`] (temp file outside any
//! include glob, fsync, rename, fsync of the directory), and marks what it owns with one
//! header rule, [`managed`]: a file without Steward's header is someone else's and is never
//! overwritten or deleted without an explicit `--force`.

pub mod atomic;
pub mod check;
pub mod daemon;
pub mod layout;
pub mod managed;
pub mod sync;
pub mod worker;
