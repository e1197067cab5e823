//! What `steward top` shows, independent of where it came from: processes, cron jobs and
//! declared commands of one source, in the shape both the JSON API and supervisord's
//! XML-RPC can fill. Sources produce these values; the app stores and sorts them; the UI
//! formats them. Times are Unix seconds so the UI can say "how long ago" against any clock
//! (tests use a fixed one).

/// Which daemon a source turned out to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavor {
    /// Steward: the JSON API and its event stream.
    Steward,
    /// A stock supervisord (or anything else speaking only XML-RPC): polled.
    Supervisord,
}

/// Whether a source answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reach {
    Connecting,
    Up(Flavor),
    /// The last attempt failed; `since` is when the source stopped answering.
    Unreachable {
        since: i64,
        error: String,
    },
}

/// A row of the process list: a program's process or a cron job.
#[derive(Debug, Clone, PartialEq)]
pub struct Proc {
    /// `group:process`, or the bare name of a program with one process.
    pub name: String,
    pub group: String,
    pub state: String,
    pub pid: Option<i32>,
    /// When the current run started, while it runs.
    pub started_at: Option<i64>,
    /// Unknown on supervisord, which does not count them.
    pub restarts: Option<u32>,
    pub health: Option<String>,
    pub exit_status: Option<i32>,
    /// Percent of one core over the last sample period.
    pub cpu: Option<f64>,
    pub rss_bytes: Option<u64>,
    /// Cron jobs only: the next scheduled fire.
    pub next_run: Option<i64>,
    pub is_cron: bool,
    pub description: String,
}

impl Proc {
    /// A row with a name and state and nothing else known yet.
    pub fn new(name: &str, group: &str, state: &str) -> Proc {
        Proc {
            name: name.into(),
            group: group.into(),
            state: state.into(),
            pid: None,
            started_at: None,
            restarts: None,
            health: None,
            exit_status: None,
            cpu: None,
            rss_bytes: None,
            next_run: None,
            is_cron: false,
            description: String::new(),
        }
    }
}

/// A `[cron:x]` job.
#[derive(Debug, Clone, PartialEq)]
pub struct CronJob {
    pub name: String,
    pub schedule: String,
    pub schedule_words: String,
    pub enabled: bool,
    pub running: bool,
    pub next_run: Option<i64>,
    pub last_result: Option<String>,
}

/// A declared `[command:x]`.
#[derive(Debug, Clone, PartialEq)]
pub struct CommandInfo {
    pub name: String,
    pub description: String,
}

/// What a reload would do (or did): groups added, changed, removed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReloadDiff {
    pub added: Vec<String>,
    pub changed: Vec<String>,
    pub removed: Vec<String>,
}

impl ReloadDiff {
    pub fn is_empty(&self) -> bool {
        self.added.is_empty() && self.changed.is_empty() && self.removed.is_empty()
    }
}

/// Parses an RFC 3339 time into Unix seconds.
pub fn parse_time(s: &str) -> Option<i64> {
    s.parse::<jiff::Timestamp>().ok().map(|t| t.as_second())
}

/// Unix seconds now.
pub fn now() -> i64 {
    jiff::Timestamp::now().as_second()
}
