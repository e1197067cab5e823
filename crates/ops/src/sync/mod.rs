//! `steward sync`: seed 002's `supervisor-sync.sh` done right. A Deployer inventory
//! becomes one program file and one logrotate file per program; files of programs no
//! longer listed are removed; the daemon is told about exactly the groups involved.
//!
//! Data flow: [`inventory::parse`] (every entry checked) → [`build`] renders every file in
//! memory ([`render`]), refuses to overwrite files that are not this domain's, checks the
//! program files with Steward's loader, compares with the disk and finds orphans (prefix
//! **and** this domain's header) → a [`Plan`]. Nothing is touched before the plan is
//! complete, so one bad entry changes 0 files. [`apply`] then writes only files whose
//! bytes differ (atomically), stops and removes each orphan group before deleting its
//! files, and runs a targeted update of the inventory's groups; [`Plan::diff`] is the
//! `--dry-run` view. [`Outcome::to_yaml`] is the result file of the contract.

pub mod inventory;
pub mod render;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

pub use inventory::{Entry, InventoryError};
pub use render::Settings;

use crate::atomic::{temp_path_for, write_atomic_batch, AtomicWriteError, BatchItem};
use crate::daemon::{Daemon, DaemonError};
use crate::managed;

/// Which of a program's two files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    Program,
    Logrotate,
}

/// A file the inventory wants, with what is on disk now.
#[derive(Debug, Clone)]
pub struct Wanted {
    pub path: PathBuf,
    pub kind: FileKind,
    pub group: String,
    pub old: Option<String>,
    pub new: String,
}

impl Wanted {
    pub fn unchanged(&self) -> bool {
        self.old.as_deref() == Some(self.new.as_str())
    }
}

/// A managed file of this domain that the inventory no longer lists.
#[derive(Debug, Clone)]
pub struct Orphan {
    pub path: PathBuf,
    pub kind: FileKind,
    /// The groups a program file defines (stopped and removed before deletion).
    pub groups: Vec<String>,
    pub old: String,
}

/// Everything a sync will do, computed before anything is done.
#[derive(Debug, Clone)]
pub struct Plan {
    pub files: Vec<Wanted>,
    pub orphans: Vec<Orphan>,
    /// The inventory's groups, in inventory order.
    pub groups: Vec<String>,
}

/// Why a sync stopped, worded as seed 002's script words it (the first line), with the
/// cause on the following lines.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error("Error: {}", .0)]
    Inventory(InventoryError),
    #[error("{}", .0.iter().map(|e| format!("Error: {e}")).collect::<Vec<_>>().join("\n"))]
    Invalid(Vec<String>),
    #[error("Error: Failed to write {path}\n{detail}", path = .0.display(), detail = .1)]
    Write(PathBuf, String),
    #[error("Failed to remove {path}\n{detail}", path = .0.display(), detail = .1)]
    Remove(PathBuf, String),
    #[error("Error: Failed to reread supervisor configs\n{0}")]
    Reread(String),
    #[error("Error: Failed to update supervisor\n{0}")]
    Update(String),
}

impl From<InventoryError> for SyncError {
    /// One `Error: ` line per bad entry.
    fn from(e: InventoryError) -> SyncError {
        match e {
            InventoryError::BadEntries(lines) => SyncError::Invalid(lines),
            other => SyncError::Inventory(other),
        }
    }
}

fn read_opt(path: &Path) -> Result<Option<String>, String> {
    match std::fs::read(path) {
        Ok(b) => Ok(Some(String::from_utf8_lossy(&b).into_owned())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(format!("{}: {e}", path.display())),
    }
}

/// Files of `dir` named `<prefix>*.conf`, sorted (a missing directory has none).
fn prefixed(dir: &Path, prefix: &str) -> Result<Vec<PathBuf>, String> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(format!("{}: {e}", dir.display())),
    };
    let mut out: Vec<PathBuf> = entries
        .flatten()
        .filter(|e| {
            let n = e.file_name().to_string_lossy().into_owned();
            n.starts_with(prefix) && n.ends_with(".conf")
        })
        .map(|e| e.path())
        .collect();
    out.sort();
    Ok(out)
}

/// Renders and checks everything; `force` allows replacing files that are not ours.
pub fn build(s: &Settings, entries: &[Entry], force: bool) -> Result<Plan, SyncError> {
    let mut errors = Vec::new();
    if let Err(e) = crate::worker::validate::check_name(&s.domain) {
        errors.push(format!("DEPLOYER_SITE_DOMAIN: {e}"));
    }
    if s.pidfile.to_string_lossy().contains(['\'', '\n']) {
        errors.push(format!(
            "pidfile {:?}: quotes and line breaks are not allowed",
            s.pidfile
        ));
    }
    if !errors.is_empty() {
        return Err(SyncError::Invalid(errors));
    }
    if !entries.is_empty() && !s.runner().is_file() {
        errors.push(format!(
            "{} does not exist: deploy the site first (site-deploy.sh creates it)",
            s.runner().display()
        ));
    }
    let owner = s.owner();
    let mut files = Vec::new();
    for e in entries {
        let group = s.group(&e.program);
        for (kind, path, new) in [
            (
                FileKind::Program,
                s.program_path(&e.program),
                render::program(s, e),
            ),
            (
                FileKind::Logrotate,
                s.logrotate_path(&e.program),
                render::logrotate(s, e),
            ),
        ] {
            let old = match read_opt(&path) {
                Ok(o) => o,
                Err(m) => {
                    errors.push(m);
                    None
                }
            };
            if let Some(text) = &old {
                if !force && !managed::is_owned_by(text, &owner) {
                    errors.push(format!(
                        "{} exists and is not managed by steward sync for {}; refusing to overwrite it (use --force)",
                        path.display(),
                        s.domain
                    ));
                }
            }
            files.push(Wanted {
                path,
                kind,
                group: group.clone(),
                old,
                new,
            });
        }
    }
    let candidates: Vec<crate::check::Candidate<'_>> = files
        .iter()
        .filter(|f| f.kind == FileKind::Program)
        .map(|f| crate::check::Candidate {
            destination: &f.path,
            text: &f.new,
        })
        .collect();
    if !candidates.is_empty() {
        if let Err(e) = crate::check::check_program_files(&candidates, true) {
            errors.extend(e);
        }
    }
    let wanted: BTreeSet<&Path> = files.iter().map(|f| f.path.as_path()).collect();
    let mut orphans = Vec::new();
    for (dir, prefix, kind) in [
        (&s.conf_dir, s.program_prefix(), FileKind::Program),
        (&s.logrotate_dir, s.logrotate_prefix(), FileKind::Logrotate),
    ] {
        let found = match prefixed(dir, &prefix) {
            Ok(f) => f,
            Err(m) => {
                errors.push(m);
                continue;
            }
        };
        for path in found {
            if wanted.contains(path.as_path()) {
                continue;
            }
            match read_opt(&path) {
                Ok(Some(old)) if managed::is_owned_by(&old, &owner) => orphans.push(Orphan {
                    groups: match kind {
                        FileKind::Program => crate::worker::groups_of(&old),
                        FileKind::Logrotate => Vec::new(),
                    },
                    path,
                    kind,
                    old,
                }),
                Ok(_) => {}
                Err(m) => errors.push(m),
            }
        }
    }
    if !errors.is_empty() {
        return Err(SyncError::Invalid(errors));
    }
    Ok(Plan {
        files,
        orphans,
        groups: entries.iter().map(|e| s.group(&e.program)).collect(),
    })
}

impl Plan {
    /// Program groups whose file changes (or appears): candidates for a restart.
    pub fn touched_groups(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for f in &self.files {
            if f.kind == FileKind::Program && !f.unchanged() && !out.contains(&f.group) {
                out.push(f.group.clone());
            }
        }
        out
    }

    /// A unified diff of every file that would be written or deleted.
    pub fn diff(&self) -> String {
        let mut out = String::new();
        let mut one = |path: &Path, old: &str, new: &str, gone: bool| {
            let a = if old.is_empty() {
                "/dev/null".to_string()
            } else {
                format!("a{}", path.display())
            };
            let b = if gone {
                "/dev/null".to_string()
            } else {
                format!("b{}", path.display())
            };
            let d = similar::TextDiff::from_lines(old, new);
            out.push_str(
                &d.unified_diff()
                    .context_radius(3)
                    .header(&a, &b)
                    .to_string(),
            );
        };
        for f in self.files.iter().filter(|f| !f.unchanged()) {
            one(&f.path, f.old.as_deref().unwrap_or(""), &f.new, false);
        }
        for o in &self.orphans {
            one(&o.path, &o.old, "", true);
        }
        out
    }
}

/// What a sync did (or, for a dry run, would do).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Outcome {
    pub synced: usize,
    pub dry_run: bool,
    pub written: Vec<PathBuf>,
    pub unchanged: Vec<PathBuf>,
    pub removed: Vec<PathBuf>,
    /// Groups stopped and started again with their new configuration.
    pub restarted: Vec<String>,
    /// Groups added to the daemon.
    pub added: Vec<String>,
    /// Orphan groups stopped and removed.
    pub removed_groups: Vec<String>,
}

fn yaml_list(out: &mut String, key: &str, items: impl Iterator<Item = String>) {
    let items: Vec<String> = items.collect();
    if items.is_empty() {
        out.push_str(&format!("{key}: []\n"));
        return;
    }
    out.push_str(&format!("{key}:\n"));
    for i in items {
        // A JSON string is a valid YAML double-quoted scalar.
        out.push_str(&format!(
            "  - {}\n",
            serde_json::to_string(&i).expect("strings serialise")
        ));
    }
}

impl Outcome {
    /// The contract's result: `status: success`, `supervisors_synced: N`, then the lists.
    pub fn to_yaml(&self) -> String {
        let mut out = format!("status: success\nsupervisors_synced: {}\n", self.synced);
        if self.dry_run {
            out.push_str("dry_run: true\n");
        }
        let paths = |v: &Vec<PathBuf>| {
            v.iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .into_iter()
        };
        yaml_list(&mut out, "written", paths(&self.written));
        yaml_list(&mut out, "unchanged", paths(&self.unchanged));
        yaml_list(&mut out, "removed", paths(&self.removed));
        yaml_list(&mut out, "restarted", self.restarted.iter().cloned());
        yaml_list(&mut out, "added", self.added.iter().cloned());
        yaml_list(
            &mut out,
            "removed_groups",
            self.removed_groups.iter().cloned(),
        );
        out
    }
}

/// What a dry run reports: the plan's file lists, and the groups that would restart
/// (a changed file of a group the daemon runs) or be added, when the daemon is known.
pub fn dry_run(plan: &Plan, loaded_groups: Option<&BTreeSet<String>>) -> Outcome {
    let mut o = Outcome {
        synced: plan.groups.len(),
        dry_run: true,
        ..Outcome::default()
    };
    for f in &plan.files {
        if f.unchanged() {
            o.unchanged.push(f.path.clone());
        } else {
            o.written.push(f.path.clone());
        }
    }
    for orphan in &plan.orphans {
        o.removed.push(orphan.path.clone());
        o.removed_groups.extend(orphan.groups.iter().cloned());
    }
    for g in plan.touched_groups() {
        match loaded_groups {
            Some(loaded) if loaded.contains(&g) => o.restarted.push(g),
            _ => o.added.push(g),
        }
    }
    o
}

fn daemon_detail(e: DaemonError) -> SyncError {
    match e {
        DaemonError::Reread(m) => SyncError::Reread(m),
        e @ (DaemonError::Refused { .. } | DaemonError::NoSocket { .. }) => {
            SyncError::Reread(e.to_string())
        }
        e => SyncError::Update(e.to_string()),
    }
}

/// Carries the plan out. Without a daemon only the files change (`--no-apply`).
pub fn apply(plan: &Plan, mut daemon: Option<&mut Daemon>) -> Result<Outcome, SyncError> {
    if let Some(d) = daemon.as_deref_mut() {
        // Reach the daemon before changing anything: a sync that cannot apply should
        // not leave files behind that the next unrelated `update` would pick up.
        d.ping().map_err(daemon_detail)?;
    }
    let mut o = Outcome {
        synced: plan.groups.len(),
        ..Outcome::default()
    };
    let changed: Vec<&Wanted> = plan.files.iter().filter(|f| !f.unchanged()).collect();
    let batch: Vec<BatchItem<'_>> = changed
        .iter()
        .map(|f| (f.path.as_path(), f.new.as_bytes(), 0o644))
        .collect();
    if let Err(e) = write_atomic_batch(&batch) {
        // Name the target, as the seed does, even when its temp file failed.
        let failed = match &e {
            AtomicWriteError::Io { path, .. } | AtomicWriteError::NoParent(path) => path,
        };
        let target = changed
            .iter()
            .find(|f| &f.path == failed || temp_path_for(&f.path).as_ref() == Some(failed))
            .map_or_else(|| failed.clone(), |f| f.path.clone());
        return Err(SyncError::Write(target, e.to_string()));
    }
    for f in &plan.files {
        if f.unchanged() {
            o.unchanged.push(f.path.clone());
        } else {
            o.written.push(f.path.clone());
        }
    }
    for orphan in &plan.orphans {
        if let Some(d) = daemon.as_deref_mut() {
            for g in &orphan.groups {
                if d.stop_and_remove(g).map_err(daemon_detail)? {
                    o.removed_groups.push(g.clone());
                }
            }
        }
        std::fs::remove_file(&orphan.path)
            .map_err(|e| SyncError::Remove(orphan.path.clone(), e.to_string()))?;
        o.removed.push(orphan.path.clone());
    }
    if let Some(d) = daemon {
        let r = d.update_groups(&plan.groups).map_err(daemon_detail)?;
        o.restarted = r.changed;
        o.added = r.added;
        o.removed_groups.extend(r.removed);
    }
    Ok(o)
}
