//! Run history of `[cron:x]` jobs, persisted in an embedded database (redb) at
//! `<state_dir>/history.redb` so it survives daemon restarts.
//!
//! - [`History`] — the store: [`History::begin`] records a run as it starts (returning its
//!   id; [`History::begin_on`] adds the cluster node and fence token),
//!   [`History::skip`] records a fire that was not run and why, [`History::finish`] completes it (end, exit status, timed-out flag, error, the
//!   first and last 4 KiB of output) and prunes the job to its `keep` newest runs;
//!   [`History::recent`] / [`History::last`] read it back, newest first;
//!   [`History::last_scheduled`] remembers the latest scheduled fire time per job, for
//!   catch-up after downtime.
//! - [`LazyHistory`] — what the engine holds: when the state directory is missing,
//!   unwritable or corrupt, every call returns a clear [`HistoryError`] (the engine logs
//!   it and keeps running jobs) and `open` is retried at most every few seconds, so history
//!   resumes by itself once the problem is fixed.
//! - [`OutputTap`] — collects the first and last 4 KiB of a run's output as it streams.
//!
//! All calls block on disk I/O (each write is one fsync'd redb transaction); from async
//! code call them through `spawn_blocking` or accept a short stall per run.
//!
//! Layout (private, versioned by table names): `runs_v1: (job, id) → (meta JSON, head,
//! tail)`, `run_job_v1: id → job`, `last_scheduled_v1: job → RFC 3339`, `meta_v1:
//! "next_id" → u64`. Ids are global and strictly increasing, so a job's runs sort
//! oldest→newest by key.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use jiff::Timestamp;
use redb::{Database, ReadableTable, TableDefinition};
use serde::{Deserialize, Serialize};

/// Size of each of the head and tail captures.
pub const OUTPUT_CAPTURE: usize = 4096;
/// Runs kept per job when the job sets no `history=`.
pub const DEFAULT_KEEP: u32 = 100;
/// File name of the database inside the state directory.
pub const DB_FILE: &str = "history.redb";
/// How often [`LazyHistory`] retries a failed open, by default.
pub const DEFAULT_RETRY: Duration = Duration::from_secs(30);

/// A run's key (job, id) and value (meta JSON, output head, output tail).
type RunKey = (&'static str, u64);
type RunValue = (&'static str, &'static [u8], &'static [u8]);
const RUNS: TableDefinition<RunKey, RunValue> = TableDefinition::new("runs_v1");
const RUN_JOB: TableDefinition<u64, &str> = TableDefinition::new("run_job_v1");
const LAST_SCHEDULED: TableDefinition<&str, &str> = TableDefinition::new("last_scheduled_v1");
const META: TableDefinition<&str, u64> = TableDefinition::new("meta_v1");

/// Text stored in [`RunRecord::error`] for runs that were still in progress when the
/// daemon stopped (found unfinished by [`History::open`]).
pub const INTERRUPTED: &str = "interrupted: the daemon stopped before the run finished";

/// Why a run started.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Trigger {
    /// A fire time of the schedule.
    Schedule,
    /// `steward cron run`, `start`, or `supervisor.startProcess`.
    Manual,
    /// A fire time missed while the daemon was down (`catchup=`).
    Catchup,
}

impl Trigger {
    /// `schedule`, `manual` or `catchup` (the XML-RPC spelling).
    pub fn as_str(self) -> &'static str {
        match self {
            Trigger::Schedule => "schedule",
            Trigger::Manual => "manual",
            Trigger::Catchup => "catchup",
        }
    }
}

impl std::fmt::Display for Trigger {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One run of a cron job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunRecord {
    pub id: u64,
    pub job: String,
    /// The fire time this run belongs to (`None` for manual runs).
    pub scheduled: Option<Timestamp>,
    pub started: Timestamp,
    /// `None` while running (or if the daemon stopped mid-run: see [`INTERRUPTED`]).
    pub ended: Option<Timestamp>,
    /// The exit code; `-1` = killed by a signal; `None` = never ran to an exit
    /// (running, spawn error).
    pub exit_status: Option<i32>,
    pub trigger: Trigger,
    pub timed_out: bool,
    /// Why the run failed without an exit status, e.g. the spawn error text.
    pub error: Option<String>,
    /// The first [`OUTPUT_CAPTURE`] bytes of output.
    pub output_head: Vec<u8>,
    /// The last bytes of output that are not in `output_head` (at most
    /// [`OUTPUT_CAPTURE`]); empty when the whole output fits in the head.
    pub output_tail: Vec<u8>,
    /// Total bytes of output (so a reader knows whether bytes were left out between
    /// head and tail).
    pub output_total: u64,
    /// The node that ran (or skipped) the fire; `None` in rows written before clusters.
    pub node: Option<String>,
    /// The run's fence token (`STEWARD_FENCE_TOKEN`) when it ran under a cluster lock.
    pub fence: Option<u64>,
    /// Why the fire was not run (`lock-unavailable: …`, `running on node …`); such a
    /// row has no start of a process (`started` = when the skip was decided).
    pub skipped: Option<String>,
}

/// Where a run ran: its node and, under a cluster lock, its fence token.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunPlace {
    pub node: Option<String>,
    pub fence: Option<u64>,
}

impl RunRecord {
    /// `ended - started`, once the run has ended.
    pub fn duration(&self) -> Option<Duration> {
        let ended = self.ended?;
        let d = ended.duration_since(self.started);
        Some(Duration::try_from(d).unwrap_or(Duration::ZERO))
    }

    /// Still in progress (neither ended nor marked interrupted).
    pub fn is_running(&self) -> bool {
        self.ended.is_none() && self.error.is_none()
    }

    /// Bytes of output between head and tail that were not kept.
    pub fn output_omitted(&self) -> u64 {
        self.output_total
            .saturating_sub((self.output_head.len() + self.output_tail.len()) as u64)
    }

    /// The result in the words of `steward.cronList`'s `last_status`: `ok`, `exit N`,
    /// `killed`, `timed out`, `spawn error: …`, `running`, or `interrupted`.
    pub fn status_text(&self) -> String {
        if let Some(why) = &self.skipped {
            return format!("skipped: {why}");
        }
        match (self.ended, &self.error) {
            (None, Some(_)) if !self.timed_out => "interrupted".into(),
            (None, None) if !self.timed_out => "running".into(),
            _ => end_status_text(self.exit_status, self.timed_out, self.error.as_deref()),
        }
    }
}

/// The words for how a finished run ended: `timed out`, `spawn error: …`, `ok`,
/// `killed` (by a signal), `exit N`, or `unknown`.
pub fn end_status_text(exit_status: Option<i32>, timed_out: bool, error: Option<&str>) -> String {
    if timed_out {
        return "timed out".into();
    }
    if let Some(e) = error {
        return if e.starts_with("spawn error") {
            e.to_string()
        } else {
            format!("spawn error: {e}")
        };
    }
    match exit_status {
        Some(0) => "ok".into(),
        Some(-1) => "killed".into(),
        Some(n) => format!("exit {n}"),
        None => "unknown".into(),
    }
}

/// How a run ended: the argument of [`History::finish`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunEnd {
    pub ended: Timestamp,
    /// Exit code, `-1` if killed by a signal, `None` if it never ran (spawn error).
    pub exit_status: Option<i32>,
    pub timed_out: bool,
    pub error: Option<String>,
    pub output_head: Vec<u8>,
    pub output_tail: Vec<u8>,
    pub output_total: u64,
}

impl RunEnd {
    /// An end with the output collected by `tap`.
    pub fn new(ended: Timestamp, exit_status: Option<i32>, tap: &OutputTap) -> RunEnd {
        RunEnd {
            ended,
            exit_status,
            timed_out: false,
            error: None,
            output_head: tap.head().to_vec(),
            output_tail: tap.tail(),
            output_total: tap.total(),
        }
    }
}

/// Everything that can go wrong with the history store. The texts name the file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HistoryError {
    /// The directory or the database could not be created or opened.
    #[error("cannot open run history at {}: {reason}", path.display())]
    Open { path: PathBuf, reason: String },
    /// A read or write of an open database failed.
    #[error("run history at {}: {reason}", path.display())]
    Db { path: PathBuf, reason: String },
    /// A stored record could not be decoded.
    #[error("run history at {}: corrupt record for job {job:?}: {reason}", path.display())]
    Corrupt {
        path: PathBuf,
        job: String,
        reason: String,
    },
}

/// The value part of a run, stored as JSON (forward compatible: unknown fields ignored).
#[derive(Serialize, Deserialize)]
struct Meta {
    scheduled: Option<String>,
    started: String,
    ended: Option<String>,
    exit_status: Option<i32>,
    trigger: Trigger,
    #[serde(default)]
    timed_out: bool,
    #[serde(default)]
    error: Option<String>,
    #[serde(default)]
    output_total: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    node: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    fence: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    skipped: Option<String>,
}

/// The run-history store. Cheap to share (`&self` everywhere; `Sync`).
pub struct History {
    db: Database,
    path: PathBuf,
    keep: Mutex<HashMap<String, u32>>,
}

impl std::fmt::Debug for History {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("History").field("path", &self.path).finish()
    }
}

fn ts_text(t: Timestamp) -> String {
    t.to_string()
}

fn unix_root() -> bool {
    nix::unistd::geteuid().is_root()
}

impl History {
    /// Opens `state_dir/history.redb`, creating the directory (mode 0700 as created by
    /// the daemon's umask) and the database as needed. Runs found unfinished (the daemon
    /// stopped mid-run) are marked [`INTERRUPTED`]. Errors read
    /// `cannot open run history at /x/history.redb: …`.
    pub fn open(state_dir: &Path) -> Result<History, HistoryError> {
        let path = state_dir.join(DB_FILE);
        let open_err = |reason: String| HistoryError::Open {
            path: path.clone(),
            reason,
        };
        if let Err(e) = std::fs::create_dir_all(state_dir) {
            return Err(open_err(format!(
                "cannot create directory {}: {e}",
                state_dir.display()
            )));
        }
        match std::fs::metadata(state_dir) {
            Ok(m) if !m.is_dir() => {
                return Err(open_err(format!(
                    "{} is not a directory",
                    state_dir.display()
                )))
            }
            Err(e) => return Err(open_err(format!("{}: {e}", state_dir.display()))),
            Ok(_) => {}
        }
        if path.is_dir() {
            return Err(open_err("is a directory".into()));
        }
        let db = Database::create(&path).map_err(|e| open_err(describe_db_error(e)))?;
        let h = History {
            db,
            path: path.clone(),
            keep: Mutex::new(HashMap::new()),
        };
        // Create the tables so readers never see "table does not exist", and check that
        // the file is writable now rather than at the first run.
        h.write(|tx| {
            tx.open_table(RUNS)?;
            tx.open_table(RUN_JOB)?;
            tx.open_table(LAST_SCHEDULED)?;
            tx.open_table(META)?;
            Ok(())
        })
        .map_err(|e| open_err(e.reason()))?;
        h.mark_interrupted().map_err(|e| open_err(e.reason()))?;
        Ok(h)
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The default state directory: `/var/lib/steward` as root, else
    /// `$XDG_STATE_HOME/steward` (when absolute) or `~/.local/state/steward`.
    pub fn default_state_dir() -> PathBuf {
        default_state_dir_for(
            unix_root(),
            std::env::var_os("XDG_STATE_HOME").map(PathBuf::from),
            std::env::var_os("HOME").map(PathBuf::from),
        )
    }

    /// Records the start of a run and returns its id.
    pub fn begin(
        &self,
        job: &str,
        scheduled: Option<Timestamp>,
        started: Timestamp,
        trigger: Trigger,
    ) -> Result<u64, HistoryError> {
        self.begin_on(job, scheduled, started, trigger, &RunPlace::default())
    }

    /// [`History::begin`] of a run on `place` (its node and fence token).
    pub fn begin_on(
        &self,
        job: &str,
        scheduled: Option<Timestamp>,
        started: Timestamp,
        trigger: Trigger,
        place: &RunPlace,
    ) -> Result<u64, HistoryError> {
        let meta = Meta {
            scheduled: scheduled.map(ts_text),
            started: ts_text(started),
            ended: None,
            exit_status: None,
            trigger,
            timed_out: false,
            error: None,
            output_total: 0,
            node: place.node.clone(),
            fence: place.fence,
            skipped: None,
        };
        self.insert(job, &meta, false)
    }

    /// Records that the fire of `job` at `scheduled` was not run on `place`, and why;
    /// prunes the job like a finished run.
    pub fn skip(
        &self,
        job: &str,
        scheduled: Option<Timestamp>,
        at: Timestamp,
        trigger: Trigger,
        place: &RunPlace,
        reason: &str,
    ) -> Result<u64, HistoryError> {
        let meta = Meta {
            scheduled: scheduled.map(ts_text),
            started: ts_text(at),
            ended: Some(ts_text(at)),
            exit_status: None,
            trigger,
            timed_out: false,
            error: None,
            output_total: 0,
            node: place.node.clone(),
            fence: None,
            skipped: Some(reason.to_string()),
        };
        self.insert(job, &meta, true)
    }

    fn insert(&self, job: &str, meta: &Meta, prune: bool) -> Result<u64, HistoryError> {
        let json = serde_json::to_string(meta).expect("meta serializes");
        self.write(|tx| {
            let mut m = tx.open_table(META)?;
            let id = m.get("next_id")?.map(|v| v.value()).unwrap_or(1);
            m.insert("next_id", id + 1)?;
            tx.open_table(RUNS)?
                .insert((job, id), (json.as_str(), &[][..], &[][..]))?;
            tx.open_table(RUN_JOB)?.insert(id, job)?;
            if prune {
                self.prune(tx, job)?;
            }
            Ok(id)
        })
    }

    /// Completes run `id` and prunes its job to the `keep` newest runs. A run that is no
    /// longer stored (pruned meanwhile) is ignored.
    pub fn finish(&self, id: u64, end: RunEnd) -> Result<(), HistoryError> {
        let path = self.path.clone();
        self.write(|tx| {
            let Some(job) = tx
                .open_table(RUN_JOB)?
                .get(id)?
                .map(|v| v.value().to_string())
            else {
                return Ok(());
            };
            let mut runs = tx.open_table(RUNS)?;
            let old = runs
                .get((job.as_str(), id))?
                .map(|v| v.value().0.to_string());
            let Some(old) = old else {
                return Ok(());
            };
            let mut meta: Meta = serde_json::from_str(&old).map_err(|e| {
                TxError::Corrupt(HistoryError::Corrupt {
                    path: path.clone(),
                    job: job.clone(),
                    reason: e.to_string(),
                })
            })?;
            meta.ended = Some(ts_text(end.ended));
            meta.exit_status = end.exit_status;
            meta.timed_out = end.timed_out;
            meta.error = end.error.clone();
            meta.output_total = end.output_total;
            let json = serde_json::to_string(&meta).expect("meta serializes");
            let head = &end.output_head[..end.output_head.len().min(OUTPUT_CAPTURE)];
            let tail_from = end.output_tail.len().saturating_sub(OUTPUT_CAPTURE);
            let tail = &end.output_tail[tail_from..];
            runs.insert((job.as_str(), id), (json.as_str(), head, tail))?;
            drop(runs);
            self.prune(tx, &job)?;
            Ok(())
        })
    }

    /// Up to `limit` runs of `job`, newest first.
    pub fn recent(&self, job: &str, limit: usize) -> Result<Vec<RunRecord>, HistoryError> {
        let rows = self.read(|tx| {
            let t = tx.open_table(RUNS)?;
            let mut out = Vec::new();
            for row in t.range((job, 0)..=(job, u64::MAX))?.rev() {
                if out.len() >= limit {
                    break;
                }
                let (k, v) = row?;
                let (meta, head, tail) = v.value();
                out.push((k.value().1, meta.to_string(), head.to_vec(), tail.to_vec()));
            }
            Ok(out)
        })?;
        rows.into_iter()
            .map(|(id, meta, head, tail)| self.decode(job, id, &meta, head, tail))
            .collect()
    }

    /// The newest run of `job`.
    pub fn last(&self, job: &str) -> Result<Option<RunRecord>, HistoryError> {
        Ok(self.recent(job, 1)?.into_iter().next())
    }

    /// The latest scheduled fire time recorded for `job` (for catch-up after downtime).
    pub fn last_scheduled(&self, job: &str) -> Result<Option<Timestamp>, HistoryError> {
        let text = self.read(|tx| {
            Ok(tx
                .open_table(LAST_SCHEDULED)?
                .get(job)?
                .map(|v| v.value().to_string()))
        })?;
        match text {
            None => Ok(None),
            Some(t) => t
                .parse()
                .map(Some)
                .map_err(|e: jiff::Error| HistoryError::Corrupt {
                    path: self.path.clone(),
                    job: job.to_string(),
                    reason: format!("last scheduled time {t:?}: {e}"),
                }),
        }
    }

    /// Records `t` as the latest fire time handled for `job`.
    pub fn set_last_scheduled(&self, job: &str, t: Timestamp) -> Result<(), HistoryError> {
        let text = ts_text(t);
        self.write(|tx| {
            tx.open_table(LAST_SCHEDULED)?.insert(job, text.as_str())?;
            Ok(())
        })
    }

    /// How many runs of `job` to keep (`history=`; default [`DEFAULT_KEEP`]). `0` is
    /// read as 1, so the last result is always known. Applied at the next `finish`.
    pub fn set_keep(&self, job: &str, keep: u32) {
        self.keep
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(job.to_string(), keep.max(1));
    }

    /// Deletes every record of `job` (a job removed from the configuration).
    pub fn forget(&self, job: &str) -> Result<(), HistoryError> {
        self.write(|tx| {
            let mut runs = tx.open_table(RUNS)?;
            let ids: Vec<u64> = runs
                .range((job, 0)..=(job, u64::MAX))?
                .map(|r| r.map(|(k, _)| k.value().1))
                .collect::<Result<_, _>>()?;
            let mut rj = tx.open_table(RUN_JOB)?;
            for id in ids {
                runs.remove((job, id))?;
                rj.remove(id)?;
            }
            tx.open_table(LAST_SCHEDULED)?.remove(job)?;
            Ok(())
        })
    }

    fn keep_for(&self, job: &str) -> usize {
        self.keep
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(job)
            .copied()
            .unwrap_or(DEFAULT_KEEP) as usize
    }

    fn prune(&self, tx: &redb::WriteTransaction, job: &str) -> Result<(), TxError> {
        let keep = self.keep_for(job);
        let mut runs = tx.open_table(RUNS)?;
        let ids: Vec<u64> = runs
            .range((job, 0)..=(job, u64::MAX))?
            .map(|r| r.map(|(k, _)| k.value().1))
            .collect::<Result<_, _>>()?;
        if ids.len() <= keep {
            return Ok(());
        }
        let mut rj = tx.open_table(RUN_JOB)?;
        for id in &ids[..ids.len() - keep] {
            runs.remove((job, *id))?;
            rj.remove(*id)?;
        }
        Ok(())
    }

    /// Marks every unfinished run as [`INTERRUPTED`] (called by `open`: nothing can be
    /// running in a daemon that just started).
    fn mark_interrupted(&self) -> Result<usize, HistoryError> {
        self.write(|tx| {
            let mut runs = tx.open_table(RUNS)?;
            let mut fix = Vec::new();
            for row in runs.iter()? {
                let (k, v) = row?;
                let (meta, head, tail) = v.value();
                if let Ok(mut m) = serde_json::from_str::<Meta>(meta) {
                    if m.ended.is_none() && m.error.is_none() {
                        m.error = Some(INTERRUPTED.into());
                        let (job, id) = k.value();
                        fix.push((
                            job.to_string(),
                            id,
                            serde_json::to_string(&m).expect("meta serializes"),
                            head.to_vec(),
                            tail.to_vec(),
                        ));
                    }
                }
            }
            for (job, id, meta, head, tail) in &fix {
                runs.insert((job.as_str(), *id), (meta.as_str(), &head[..], &tail[..]))?;
            }
            Ok(fix.len())
        })
    }

    fn decode(
        &self,
        job: &str,
        id: u64,
        meta: &str,
        head: Vec<u8>,
        tail: Vec<u8>,
    ) -> Result<RunRecord, HistoryError> {
        let corrupt = |reason: String| HistoryError::Corrupt {
            path: self.path.clone(),
            job: job.to_string(),
            reason: format!("run {id}: {reason}"),
        };
        let m: Meta = serde_json::from_str(meta).map_err(|e| corrupt(e.to_string()))?;
        let ts = |s: &str| -> Result<Timestamp, HistoryError> {
            s.parse::<Timestamp>()
                .map_err(|e| corrupt(format!("time {s:?}: {e}")))
        };
        Ok(RunRecord {
            id,
            job: job.to_string(),
            scheduled: m.scheduled.as_deref().map(ts).transpose()?,
            started: ts(&m.started)?,
            ended: m.ended.as_deref().map(ts).transpose()?,
            exit_status: m.exit_status,
            trigger: m.trigger,
            timed_out: m.timed_out,
            error: m.error,
            output_head: head,
            output_tail: tail,
            output_total: m.output_total,
            node: m.node,
            fence: m.fence,
            skipped: m.skipped,
        })
    }

    fn write<T>(
        &self,
        f: impl FnOnce(&redb::WriteTransaction) -> Result<T, TxError>,
    ) -> Result<T, HistoryError> {
        let run = || -> Result<T, TxError> {
            let tx = self.db.begin_write()?;
            let out = f(&tx)?;
            tx.commit()?;
            Ok(out)
        };
        run().map_err(|e| e.into_history(&self.path))
    }

    fn read<T>(
        &self,
        f: impl FnOnce(&redb::ReadTransaction) -> Result<T, TxError>,
    ) -> Result<T, HistoryError> {
        let run = || -> Result<T, TxError> {
            let tx = self.db.begin_read()?;
            f(&tx)
        };
        run().map_err(|e| e.into_history(&self.path))
    }
}

impl HistoryError {
    /// The text after the path.
    fn reason(&self) -> String {
        match self {
            HistoryError::Open { reason, .. } | HistoryError::Db { reason, .. } => reason.clone(),
            HistoryError::Corrupt { job, reason, .. } => {
                format!("corrupt record for job {job:?}: {reason}")
            }
        }
    }

    /// Whether the database itself failed (I/O, corruption), so reopening may help.
    fn is_storage(&self) -> bool {
        !matches!(self, HistoryError::Corrupt { .. })
    }
}

/// Any redb error inside a transaction, or a decode failure.
enum TxError {
    Db(Box<redb::Error>),
    Corrupt(HistoryError),
}

impl<E: Into<redb::Error>> From<E> for TxError {
    fn from(e: E) -> TxError {
        TxError::Db(Box::new(e.into()))
    }
}

impl TxError {
    fn into_history(self, path: &Path) -> HistoryError {
        match self {
            TxError::Db(e) => HistoryError::Db {
                path: path.to_path_buf(),
                reason: describe_db_error(*e),
            },
            TxError::Corrupt(e) => e,
        }
    }
}

/// redb's message, with a hint for the cases a user can act on.
fn describe_db_error(e: impl Into<redb::Error>) -> String {
    const HINT: &str =
        "not a usable run-history database; move the file aside to start a new history";
    let e: redb::Error = e.into();
    match &e {
        redb::Error::DatabaseAlreadyOpen => "the database is in use by another process (is \
                                             another steward daemon using the same state_dir?)"
            .into(),
        redb::Error::Corrupted(_) | redb::Error::UpgradeRequired(_) => format!("{e} ({HINT})"),
        redb::Error::Io(io) if io.kind() == std::io::ErrorKind::InvalidData => {
            format!("{io} ({HINT})")
        }
        redb::Error::Io(io) => io.to_string(),
        _ => e.to_string(),
    }
}

fn default_state_dir_for(root: bool, xdg: Option<PathBuf>, home: Option<PathBuf>) -> PathBuf {
    if root {
        return PathBuf::from("/var/lib/steward");
    }
    if let Some(x) = xdg.filter(|x| x.is_absolute()) {
        return x.join("steward");
    }
    match home.filter(|h| h.is_absolute()) {
        Some(h) => h.join(".local").join("state").join("steward"),
        None => std::env::temp_dir().join(format!("steward-{}", nix::unistd::geteuid())),
    }
}

enum LazyState {
    Open(Arc<History>),
    Failed {
        error: HistoryError,
        next_try: Instant,
    },
}

/// A [`History`] that may not be open yet. Every call first makes sure the store is open,
/// retrying [`History::open`] at most once per retry interval; while it cannot be opened
/// the call fails fast with the last open error. A storage error on an open store closes
/// it, so the next attempt reopens it (e.g. after the disk was remounted).
pub struct LazyHistory {
    dir: PathBuf,
    retry: Duration,
    state: Mutex<LazyState>,
    keep: Mutex<HashMap<String, u32>>,
}

impl std::fmt::Debug for LazyHistory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LazyHistory")
            .field("dir", &self.dir)
            .field("error", &self.error())
            .finish()
    }
}

impl LazyHistory {
    /// Tries to open `state_dir` now; retries every [`DEFAULT_RETRY`] on use if it fails.
    /// Check [`LazyHistory::error`] to log the first failure at startup.
    pub fn new(state_dir: &Path) -> LazyHistory {
        LazyHistory::with_retry(state_dir, DEFAULT_RETRY)
    }

    /// As [`LazyHistory::new`], retrying at most every `retry`.
    pub fn with_retry(state_dir: &Path, retry: Duration) -> LazyHistory {
        let state = match History::open(state_dir) {
            Ok(h) => LazyState::Open(Arc::new(h)),
            Err(error) => LazyState::Failed {
                error,
                next_try: Instant::now() + retry,
            },
        };
        LazyHistory {
            dir: state_dir.to_path_buf(),
            retry,
            state: Mutex::new(state),
            keep: Mutex::new(HashMap::new()),
        }
    }

    /// The state directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The current failure, if the store is not open.
    pub fn error(&self) -> Option<HistoryError> {
        match &*self.state.lock().unwrap_or_else(|p| p.into_inner()) {
            LazyState::Open(_) => None,
            LazyState::Failed { error, .. } => Some(error.clone()),
        }
    }

    /// Whether the store is open.
    pub fn is_open(&self) -> bool {
        self.error().is_none()
    }

    fn get(&self) -> Result<Arc<History>, HistoryError> {
        let mut st = self.state.lock().unwrap_or_else(|p| p.into_inner());
        match &*st {
            LazyState::Open(h) => return Ok(h.clone()),
            LazyState::Failed { error, next_try } if Instant::now() < *next_try => {
                return Err(error.clone())
            }
            LazyState::Failed { .. } => {}
        }
        match History::open(&self.dir) {
            Ok(h) => {
                for (job, keep) in self.keep.lock().unwrap_or_else(|p| p.into_inner()).iter() {
                    h.set_keep(job, *keep);
                }
                let h = Arc::new(h);
                *st = LazyState::Open(h.clone());
                Ok(h)
            }
            Err(error) => {
                *st = LazyState::Failed {
                    error: error.clone(),
                    next_try: Instant::now() + self.retry,
                };
                Err(error)
            }
        }
    }

    fn call<T>(
        &self,
        f: impl FnOnce(&History) -> Result<T, HistoryError>,
    ) -> Result<T, HistoryError> {
        let h = self.get()?;
        let r = f(&h);
        if let Err(e) = &r {
            if e.is_storage() {
                let mut st = self.state.lock().unwrap_or_else(|p| p.into_inner());
                if matches!(&*st, LazyState::Open(cur) if Arc::ptr_eq(cur, &h)) {
                    *st = LazyState::Failed {
                        error: e.clone(),
                        next_try: Instant::now() + self.retry,
                    };
                }
            }
        }
        r
    }

    /// [`History::begin`].
    pub fn begin(
        &self,
        job: &str,
        scheduled: Option<Timestamp>,
        started: Timestamp,
        trigger: Trigger,
    ) -> Result<u64, HistoryError> {
        self.call(|h| h.begin(job, scheduled, started, trigger))
    }

    /// [`History::begin_on`].
    pub fn begin_on(
        &self,
        job: &str,
        scheduled: Option<Timestamp>,
        started: Timestamp,
        trigger: Trigger,
        place: &RunPlace,
    ) -> Result<u64, HistoryError> {
        self.call(|h| h.begin_on(job, scheduled, started, trigger, place))
    }

    /// [`History::skip`].
    pub fn skip(
        &self,
        job: &str,
        scheduled: Option<Timestamp>,
        at: Timestamp,
        trigger: Trigger,
        place: &RunPlace,
        reason: &str,
    ) -> Result<u64, HistoryError> {
        self.call(|h| h.skip(job, scheduled, at, trigger, place, reason))
    }

    /// [`History::finish`].
    pub fn finish(&self, id: u64, end: RunEnd) -> Result<(), HistoryError> {
        self.call(|h| h.finish(id, end))
    }

    /// [`History::recent`].
    pub fn recent(&self, job: &str, limit: usize) -> Result<Vec<RunRecord>, HistoryError> {
        self.call(|h| h.recent(job, limit))
    }

    /// [`History::last`].
    pub fn last(&self, job: &str) -> Result<Option<RunRecord>, HistoryError> {
        self.call(|h| h.last(job))
    }

    /// [`History::last_scheduled`].
    pub fn last_scheduled(&self, job: &str) -> Result<Option<Timestamp>, HistoryError> {
        self.call(|h| h.last_scheduled(job))
    }

    /// [`History::set_last_scheduled`].
    pub fn set_last_scheduled(&self, job: &str, t: Timestamp) -> Result<(), HistoryError> {
        self.call(|h| h.set_last_scheduled(job, t))
    }

    /// [`History::forget`].
    pub fn forget(&self, job: &str) -> Result<(), HistoryError> {
        self.call(|h| h.forget(job))
    }

    /// [`History::set_keep`]; remembered and applied again whenever the store (re)opens.
    pub fn set_keep(&self, job: &str, keep: u32) {
        self.keep
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(job.to_string(), keep);
        if let LazyState::Open(h) = &*self.state.lock().unwrap_or_else(|p| p.into_inner()) {
            h.set_keep(job, keep);
        }
    }
}

/// Collects the first and last 4 KiB of a run's output as it streams: fixed buffers, no
/// allocation after [`OutputTap::new`]. The tail holds only bytes after the head (no
/// overlap), so head + tail is the whole output when it is at most 8 KiB.
#[derive(Clone)]
pub struct OutputTap {
    head: Vec<u8>,
    ring: Box<[u8; OUTPUT_CAPTURE]>,
    /// Next write position in `ring`.
    pos: usize,
    /// Bytes written to `ring` in total (capped reads use `min(OUTPUT_CAPTURE)`).
    ring_len: u64,
    total: u64,
    /// The last [`STDERR_TAIL`] bytes of the stderr pipe alone (what a `ping_url` sends).
    /// Trimmed at twice that, so it never reallocates.
    stderr: Vec<u8>,
}

/// How much of a run's stderr is kept apart: what Healthchecks.io stores of a ping body.
pub const STDERR_TAIL: usize = 10_000;

impl std::fmt::Debug for OutputTap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OutputTap")
            .field("head", &self.head.len())
            .field("tail", &self.ring_len.min(OUTPUT_CAPTURE as u64))
            .field("total", &self.total)
            .finish()
    }
}

impl Default for OutputTap {
    fn default() -> Self {
        OutputTap::new()
    }
}

impl OutputTap {
    pub fn new() -> Self {
        OutputTap {
            head: Vec::with_capacity(OUTPUT_CAPTURE),
            ring: Box::new([0; OUTPUT_CAPTURE]),
            pos: 0,
            ring_len: 0,
            total: 0,
            stderr: Vec::with_capacity(2 * STDERR_TAIL),
        }
    }

    /// Feeds the next bytes read from the stderr pipe: into the output like [`push`], and
    /// into the stderr tail.
    ///
    /// [`push`]: OutputTap::push
    pub fn push_stderr(&mut self, data: &[u8]) {
        self.push(data);
        let data = &data[data.len().saturating_sub(STDERR_TAIL)..];
        if self.stderr.len() + data.len() > 2 * STDERR_TAIL {
            let keep = STDERR_TAIL - data.len();
            self.stderr.drain(..self.stderr.len().saturating_sub(keep));
        }
        self.stderr.extend_from_slice(data);
    }

    /// The last [`STDERR_TAIL`] bytes of stderr (empty when stderr is redirected to
    /// stdout: there is no stderr pipe then).
    pub fn stderr_tail(&self) -> &[u8] {
        &self.stderr[self.stderr.len().saturating_sub(STDERR_TAIL)..]
    }

    /// Feeds the next bytes of output.
    pub fn push(&mut self, mut data: &[u8]) {
        self.total += data.len() as u64;
        let room = OUTPUT_CAPTURE - self.head.len();
        if room > 0 {
            let n = room.min(data.len());
            self.head.extend_from_slice(&data[..n]);
            data = &data[n..];
        }
        if data.is_empty() {
            return;
        }
        self.ring_len += data.len() as u64;
        if data.len() >= OUTPUT_CAPTURE {
            self.ring
                .copy_from_slice(&data[data.len() - OUTPUT_CAPTURE..]);
            self.pos = 0;
            return;
        }
        let first = (OUTPUT_CAPTURE - self.pos).min(data.len());
        self.ring[self.pos..self.pos + first].copy_from_slice(&data[..first]);
        let rest = data.len() - first;
        self.ring[..rest].copy_from_slice(&data[first..]);
        self.pos = (self.pos + data.len()) % OUTPUT_CAPTURE;
    }

    /// The end of the output: everything when head and tail hold it all, else the tail.
    pub fn end(&self) -> Vec<u8> {
        if self.total <= self.head.len() as u64 + self.ring_len.min(OUTPUT_CAPTURE as u64) {
            let mut out = self.head.clone();
            out.extend_from_slice(&self.tail());
            out
        } else {
            self.tail()
        }
    }

    /// The first bytes (at most 4 KiB).
    pub fn head(&self) -> &[u8] {
        &self.head
    }

    /// The last bytes after the head (at most 4 KiB).
    pub fn tail(&self) -> Vec<u8> {
        if self.ring_len >= OUTPUT_CAPTURE as u64 {
            let mut out = Vec::with_capacity(OUTPUT_CAPTURE);
            out.extend_from_slice(&self.ring[self.pos..]);
            out.extend_from_slice(&self.ring[..self.pos]);
            out
        } else {
            self.ring[..self.ring_len as usize].to_vec()
        }
    }

    /// Total bytes pushed.
    pub fn total(&self) -> u64 {
        self.total
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn end(at: &str, status: i32, out: &[u8]) -> RunEnd {
        let mut tap = OutputTap::new();
        tap.push(out);
        RunEnd::new(t(at), Some(status), &tap)
    }

    #[test]
    fn round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let h = History::open(&dir.path().join("state")).unwrap();
        assert!(h.last("backup").unwrap().is_none());
        let id = h
            .begin(
                "backup",
                Some(t("2025-01-01T02:00:00Z")),
                t("2025-01-01T02:00:00.012Z"),
                Trigger::Schedule,
            )
            .unwrap();
        let running = h.last("backup").unwrap().unwrap();
        assert!(running.is_running());
        assert_eq!(running.status_text(), "running");
        assert_eq!(running.duration(), None);
        h.finish(id, end("2025-01-01T02:00:03.512Z", 0, b"hello\n"))
            .unwrap();
        let r = h.last("backup").unwrap().unwrap();
        assert_eq!(r.id, id);
        assert_eq!(r.job, "backup");
        assert_eq!(r.scheduled, Some(t("2025-01-01T02:00:00Z")));
        assert_eq!(r.started, t("2025-01-01T02:00:00.012Z"));
        assert_eq!(r.ended, Some(t("2025-01-01T02:00:03.512Z")));
        assert_eq!(r.duration(), Some(Duration::from_millis(3500)));
        assert_eq!(r.exit_status, Some(0));
        assert_eq!(r.trigger, Trigger::Schedule);
        assert!(!r.timed_out);
        assert_eq!(r.output_head, b"hello\n");
        assert!(r.output_tail.is_empty());
        assert_eq!(r.output_total, 6);
        assert_eq!(r.status_text(), "ok");

        // other jobs (including one whose name is a prefix) are separate
        let id2 = h
            .begin("backu", None, t("2025-01-01T03:00:00Z"), Trigger::Manual)
            .unwrap();
        assert!(id2 > id);
        let mut e = end("2025-01-01T03:00:01Z", 0, b"");
        e.exit_status = None;
        e.error = Some("spawn error: can't find command 'nope'".into());
        h.finish(id2, e).unwrap();
        assert_eq!(h.recent("backup", 10).unwrap().len(), 1);
        let r2 = h.last("backu").unwrap().unwrap();
        assert_eq!(r2.trigger, Trigger::Manual);
        assert_eq!(r2.scheduled, None);
        assert_eq!(r2.status_text(), "spawn error: can't find command 'nope'");

        let id3 = h
            .begin("backup", None, t("2025-01-02T00:00:00Z"), Trigger::Catchup)
            .unwrap();
        let mut e = end("2025-01-02T00:01:00Z", -1, b"x");
        e.timed_out = true;
        h.finish(id3, e).unwrap();
        let recent = h.recent("backup", 10).unwrap();
        assert_eq!(
            recent.iter().map(|r| r.id).collect::<Vec<_>>(),
            vec![id3, id]
        );
        assert_eq!(recent[0].status_text(), "timed out");
        assert_eq!(recent[0].trigger, Trigger::Catchup);
        assert_eq!(h.recent("backup", 1).unwrap().len(), 1);
        assert_eq!(h.recent("nobody", 10).unwrap(), vec![]);
        // finishing an unknown id is a no-op
        h.finish(9999, end("2025-01-02T00:01:00Z", 0, b"")).unwrap();
    }

    #[test]
    fn cluster_runs_and_skips_keep_their_node_and_reason() {
        let dir = tempfile::tempdir().unwrap();
        let h = History::open(&dir.path().join("state")).unwrap();
        h.set_keep("tick", 2);
        let place = RunPlace {
            node: Some("web-2".into()),
            fence: Some(41),
        };
        let id = h
            .begin_on(
                "tick",
                Some(t("2025-01-01T00:00:01Z")),
                t("2025-01-01T00:00:01.004Z"),
                Trigger::Schedule,
                &place,
            )
            .unwrap();
        h.finish(id, end("2025-01-01T00:00:01.020Z", 0, b""))
            .unwrap();
        for s in 2..5 {
            h.skip(
                "tick",
                Some(t(&format!("2025-01-01T00:00:0{s}Z"))),
                t(&format!("2025-01-01T00:00:0{s}.001Z")),
                Trigger::Schedule,
                &RunPlace {
                    node: Some("web-1".into()),
                    fence: None,
                },
                "lock-unavailable: lock service down",
            )
            .unwrap();
        }
        // Skips are pruned like runs: the 2 newest rows are the last two skips.
        let rows = h.recent("tick", 10).unwrap();
        assert_eq!(rows.len(), 2);
        let r = &rows[0];
        assert_eq!(r.node.as_deref(), Some("web-1"));
        assert_eq!(r.fence, None);
        assert_eq!(r.scheduled, Some(t("2025-01-01T00:00:04Z")));
        assert_eq!(
            r.status_text(),
            "skipped: lock-unavailable: lock service down"
        );
        assert!(!r.is_running());
        // A run row keeps its node and token (checked before it was pruned).
        let dir = tempfile::tempdir().unwrap();
        let h = History::open(&dir.path().join("state")).unwrap();
        let id = h
            .begin_on(
                "tick",
                None,
                t("2025-01-01T00:00:01Z"),
                Trigger::Manual,
                &place,
            )
            .unwrap();
        h.finish(id, end("2025-01-01T00:00:02Z", 0, b"")).unwrap();
        let r = h.last("tick").unwrap().unwrap();
        assert_eq!((r.node.as_deref(), r.fence), (Some("web-2"), Some(41)));
        assert_eq!(r.skipped, None);
        assert_eq!(r.status_text(), "ok");
    }

    #[test]
    fn status_texts() {
        let mut r = RunRecord {
            id: 1,
            job: "j".into(),
            scheduled: None,
            started: t("2025-01-01T00:00:00Z"),
            ended: Some(t("2025-01-01T00:00:01Z")),
            exit_status: Some(3),
            trigger: Trigger::Schedule,
            timed_out: false,
            error: None,
            output_head: vec![],
            output_tail: vec![],
            output_total: 0,
            node: None,
            fence: None,
            skipped: None,
        };
        assert_eq!(r.status_text(), "exit 3");
        r.exit_status = Some(-1);
        assert_eq!(r.status_text(), "killed");
        r.exit_status = None;
        r.error = Some("No such file or directory".into());
        assert_eq!(r.status_text(), "spawn error: No such file or directory");
        r.ended = None;
        r.error = Some(INTERRUPTED.into());
        assert_eq!(r.status_text(), "interrupted");
        assert!(!r.is_running());
    }

    #[test]
    fn pruning_to_keep() {
        let dir = tempfile::tempdir().unwrap();
        let h = History::open(dir.path()).unwrap();
        h.set_keep("j", 3);
        let mut ids = Vec::new();
        for i in 0..7 {
            let id = h
                .begin("j", None, t("2025-01-01T00:00:00Z"), Trigger::Schedule)
                .unwrap();
            h.finish(id, end("2025-01-01T00:00:01Z", i, b"")).unwrap();
            ids.push(id);
            // other job untouched by j's pruning
            if i == 0 {
                let o = h
                    .begin("other", None, t("2025-01-01T00:00:00Z"), Trigger::Schedule)
                    .unwrap();
                h.finish(o, end("2025-01-01T00:00:01Z", 0, b"")).unwrap();
            }
        }
        let kept: Vec<u64> = h.recent("j", 100).unwrap().iter().map(|r| r.id).collect();
        assert_eq!(kept, vec![ids[6], ids[5], ids[4]]);
        assert_eq!(h.recent("other", 100).unwrap().len(), 1);
        // default keep is 100; 0 means 1
        h.set_keep("j", 0);
        let id = h
            .begin("j", None, t("2025-01-01T00:00:00Z"), Trigger::Schedule)
            .unwrap();
        h.finish(id, end("2025-01-01T00:00:01Z", 0, b"")).unwrap();
        let kept: Vec<u64> = h.recent("j", 100).unwrap().iter().map(|r| r.id).collect();
        assert_eq!(kept, vec![id]);
        for _ in 0..105 {
            let id = h
                .begin("d", None, t("2025-01-01T00:00:00Z"), Trigger::Schedule)
                .unwrap();
            h.finish(id, end("2025-01-01T00:00:01Z", 0, b"")).unwrap();
        }
        assert_eq!(h.recent("d", 1000).unwrap().len(), 100);
    }

    #[test]
    fn last_scheduled_and_persistence() {
        let dir = tempfile::tempdir().unwrap();
        let (id, open_id);
        {
            let h = History::open(dir.path()).unwrap();
            assert_eq!(h.last_scheduled("j").unwrap(), None);
            h.set_last_scheduled("j", t("2025-03-30T01:00:00Z"))
                .unwrap();
            h.set_last_scheduled("j", t("2025-03-30T02:00:00Z"))
                .unwrap();
            assert_eq!(
                h.last_scheduled("j").unwrap(),
                Some(t("2025-03-30T02:00:00Z"))
            );
            id = h
                .begin("j", None, t("2025-03-30T02:00:00Z"), Trigger::Manual)
                .unwrap();
            h.finish(id, end("2025-03-30T02:00:05Z", 2, b"out"))
                .unwrap();
            // left running when the "daemon" stops
            open_id = h
                .begin("j", None, t("2025-03-30T03:00:00Z"), Trigger::Schedule)
                .unwrap();
        }
        let h = History::open(dir.path()).unwrap();
        assert_eq!(
            h.last_scheduled("j").unwrap(),
            Some(t("2025-03-30T02:00:00Z"))
        );
        assert_eq!(h.last_scheduled("k").unwrap(), None);
        let runs = h.recent("j", 10).unwrap();
        assert_eq!(runs.len(), 2);
        assert_eq!(runs[0].id, open_id);
        assert_eq!(runs[0].error.as_deref(), Some(INTERRUPTED));
        assert_eq!(runs[0].status_text(), "interrupted");
        assert_eq!(runs[1].id, id);
        assert_eq!(runs[1].status_text(), "exit 2");
        assert_eq!(runs[1].output_head, b"out");
        // ids keep increasing after a restart
        let next = h
            .begin("j", None, t("2025-03-30T04:00:00Z"), Trigger::Schedule)
            .unwrap();
        assert!(next > open_id);
        h.forget("j").unwrap();
        assert!(h.recent("j", 10).unwrap().is_empty());
        assert_eq!(h.last_scheduled("j").unwrap(), None);
    }

    #[test]
    fn output_is_stored_capped() {
        let dir = tempfile::tempdir().unwrap();
        let h = History::open(dir.path()).unwrap();
        let data: Vec<u8> = (0..20_000u32).map(|i| (i % 251) as u8).collect();
        let id = h
            .begin("j", None, t("2025-01-01T00:00:00Z"), Trigger::Schedule)
            .unwrap();
        h.finish(id, end("2025-01-01T00:00:01Z", 0, &data)).unwrap();
        let r = h.last("j").unwrap().unwrap();
        assert_eq!(r.output_head, &data[..4096]);
        assert_eq!(r.output_tail, &data[20_000 - 4096..]);
        assert_eq!(r.output_total, 20_000);
        assert_eq!(r.output_omitted(), 20_000 - 8192);
    }

    #[test]
    fn the_output_end_is_whole_while_it_fits_and_the_tail_after() {
        let mut tap = OutputTap::new();
        tap.push(b"out\n");
        tap.push_stderr(b"err\n");
        assert_eq!(tap.end(), b"out\nerr\n");
        assert_eq!(tap.stderr_tail(), b"err\n");
        for n in 0..5000 {
            tap.push_stderr(format!("line {n}\n").as_bytes());
        }
        let tail = tap.stderr_tail();
        assert_eq!(tail.len(), STDERR_TAIL);
        assert!(tail.ends_with(b"line 4999\n"));
        assert!(tap.stderr.capacity() <= 2 * STDERR_TAIL);
        let mut tap = OutputTap::new();
        tap.push(b"short\n");
        assert_eq!(tap.end(), b"short\n");
        let data: Vec<u8> = (0..6_000u32).map(|i| (i % 251) as u8).collect();
        let mut tap = OutputTap::new();
        tap.push(&data);
        assert_eq!(tap.end(), data);
        let data: Vec<u8> = (0..20_000u32).map(|i| (i % 251) as u8).collect();
        let mut tap = OutputTap::new();
        tap.push(&data);
        assert_eq!(tap.end(), &data[20_000 - 4096..]);
    }

    #[test]
    fn corrupt_database_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join(DB_FILE);
        std::fs::write(
            &file,
            b"this is not a database, just garbage bytes\x00\xff\x13".repeat(200),
        )
        .unwrap();
        let err = History::open(dir.path()).unwrap_err();
        let text = err.to_string();
        assert!(
            text.starts_with(&format!("cannot open run history at {}: ", file.display())),
            "{text}"
        );
        assert!(matches!(err, HistoryError::Open { .. }));
        assert!(text.contains("move the file aside"), "{text}");
    }

    #[test]
    fn unusable_directory_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("plainfile");
        std::fs::write(&file, b"x").unwrap();
        // a path under a regular file: ENOTDIR even as root
        let state = file.join("state");
        let err = History::open(&state).unwrap_err();
        let text = err.to_string();
        assert!(
            text.starts_with(&format!(
                "cannot open run history at {}/history.redb: cannot create directory {}: ",
                state.display(),
                state.display()
            )),
            "{text}"
        );
        assert!(text.contains("Not a directory"), "{text}");
        // the state dir itself being a file
        let err = History::open(&file).unwrap_err().to_string();
        assert!(err.starts_with("cannot open run history at "), "{err}");
        // the database path being a directory
        let d2 = dir.path().join("d2");
        std::fs::create_dir_all(d2.join(DB_FILE)).unwrap();
        let err = History::open(&d2).unwrap_err().to_string();
        assert!(err.ends_with("history.redb: is a directory"), "{err}");
    }

    #[test]
    fn lazy_history_recovers_when_fixed() {
        let dir = tempfile::tempdir().unwrap();
        let blocker = dir.path().join("state");
        std::fs::write(&blocker, b"in the way").unwrap();
        let state = blocker.join("inner");
        let lazy = LazyHistory::with_retry(&state, Duration::from_millis(50));
        assert!(!lazy.is_open());
        lazy.set_keep("j", 2);
        let e = lazy
            .begin("j", None, t("2025-01-01T00:00:00Z"), Trigger::Schedule)
            .unwrap_err();
        assert!(
            e.to_string().starts_with("cannot open run history at "),
            "{e}"
        );
        assert!(lazy.last("j").is_err());
        // fix the problem: still failing until the retry interval passed
        std::fs::remove_file(&blocker).unwrap();
        assert!(lazy.last("j").is_err());
        std::thread::sleep(Duration::from_millis(80));
        assert_eq!(lazy.last("j").unwrap(), None);
        assert!(lazy.is_open());
        for i in 0..4 {
            let id = lazy
                .begin("j", None, t("2025-01-01T00:00:00Z"), Trigger::Schedule)
                .unwrap();
            lazy.finish(id, end("2025-01-01T00:00:01Z", i, b""))
                .unwrap();
        }
        // the keep set while closed applies after the reopen
        assert_eq!(lazy.recent("j", 10).unwrap().len(), 2);
        lazy.set_last_scheduled("j", t("2025-01-01T00:00:00Z"))
            .unwrap();
        assert_eq!(
            lazy.last_scheduled("j").unwrap(),
            Some(t("2025-01-01T00:00:00Z"))
        );
    }

    #[test]
    fn lazy_history_on_corrupt_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join(DB_FILE);
        std::fs::write(&file, vec![0xAB; 8192]).unwrap();
        let lazy = LazyHistory::with_retry(dir.path(), Duration::ZERO);
        assert!(lazy.error().is_some());
        assert!(lazy.recent("j", 5).is_err());
        std::fs::rename(&file, dir.path().join("history.redb.bad")).unwrap();
        assert_eq!(lazy.recent("j", 5).unwrap(), vec![]);
    }

    #[test]
    fn second_open_is_refused_clearly() {
        let dir = tempfile::tempdir().unwrap();
        let _h = History::open(dir.path()).unwrap();
        let err = History::open(dir.path()).unwrap_err().to_string();
        assert!(err.contains("in use by another process"), "{err}");
    }

    #[test]
    fn default_state_dirs() {
        assert_eq!(
            default_state_dir_for(true, Some("/x".into()), Some("/home/a".into())),
            PathBuf::from("/var/lib/steward")
        );
        assert_eq!(
            default_state_dir_for(false, Some("/x/state".into()), Some("/home/a".into())),
            PathBuf::from("/x/state/steward")
        );
        assert_eq!(
            default_state_dir_for(false, Some("rel".into()), Some("/home/a".into())),
            PathBuf::from("/home/a/.local/state/steward")
        );
        assert_eq!(
            default_state_dir_for(false, None, Some("/home/a".into())),
            PathBuf::from("/home/a/.local/state/steward")
        );
        assert!(History::default_state_dir().is_absolute());
    }

    fn tap_of(chunks: &[&[u8]]) -> OutputTap {
        let mut tap = OutputTap::new();
        for c in chunks {
            tap.push(c);
        }
        tap
    }

    #[test]
    fn tap_small_and_exact() {
        let tap = tap_of(&[b"abc", b"", b"def"]);
        assert_eq!(tap.head(), b"abcdef");
        assert!(tap.tail().is_empty());
        assert_eq!(tap.total(), 6);

        let data = vec![7u8; OUTPUT_CAPTURE];
        let tap = tap_of(&[&data]);
        assert_eq!(tap.head(), &data[..]);
        assert!(tap.tail().is_empty());

        let data: Vec<u8> = (0..OUTPUT_CAPTURE + 1).map(|i| i as u8).collect();
        let tap = tap_of(&[&data]);
        assert_eq!(tap.head(), &data[..OUTPUT_CAPTURE]);
        assert_eq!(tap.tail(), vec![data[OUTPUT_CAPTURE]]);

        // exactly 8 KiB: head and tail together are the whole output
        let data: Vec<u8> = (0..2 * OUTPUT_CAPTURE).map(|i| (i / 7) as u8).collect();
        let tap = tap_of(&[&data]);
        assert_eq!(tap.head(), &data[..OUTPUT_CAPTURE]);
        assert_eq!(tap.tail(), &data[OUTPUT_CAPTURE..]);
    }

    #[test]
    fn tap_large_and_many_small_pushes() {
        let data: Vec<u8> = (0..30_001u32).map(|i| (i * 31 % 253) as u8).collect();
        let want_head = &data[..OUTPUT_CAPTURE];
        let want_tail = &data[data.len() - OUTPUT_CAPTURE..];
        // one push
        let tap = tap_of(&[&data]);
        assert_eq!(tap.head(), want_head);
        assert_eq!(tap.tail(), want_tail);
        assert_eq!(tap.total(), 30_001);
        // for several chunk sizes, including ones that straddle the head boundary and
        // wrap the ring
        for size in [1usize, 2, 3, 100, 4095, 4096, 4097, 5000, 8191, 8193] {
            let mut tap = OutputTap::new();
            for c in data.chunks(size) {
                tap.push(c);
            }
            assert_eq!(tap.head(), want_head, "chunk {size}");
            assert_eq!(tap.tail(), want_tail, "chunk {size}");
            assert_eq!(tap.total(), data.len() as u64);
        }
        // between 4 and 8 KiB in small pushes: tail is everything after the head
        let mid = &data[..6000];
        let mut tap = OutputTap::new();
        for c in mid.chunks(13) {
            tap.push(c);
        }
        assert_eq!(tap.tail(), &mid[OUTPUT_CAPTURE..]);
    }
}
