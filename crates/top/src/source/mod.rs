//! Data sources: each daemon `steward top` watches, named, with its own URL and credentials.
//!
//! [`start`] runs every source as a task on one background thread (a current-thread tokio
//! runtime). A task first asks what it talks to (`GET /api/v1/openapi.json` answers only on
//! Steward), then runs [`steward`] (the JSON API, live from `GET /api/v1/events`) or
//! [`supervisord`] (XML-RPC `getAllProcessInfo` polled every second). Either way it sends
//! [`Update`]s through the `sink` the caller gave and takes [`Request`]s (actions, log
//! follow, details, reload) from its own channel. When a daemon stops answering the task
//! reports [`Reach::Unreachable`] and tries again every second, so a daemon that comes
//! back reappears by itself and one dead source never holds up another.
//!
//! Where actions go (docs/decisions.md, "steward top: where actions go"): through the API
//! when the caller has a bearer token or no credentials (the unix socket); with HTTP Basic
//! credentials, which the API takes for reads only, through XML-RPC, which has no cron
//! pause or `[command:x]` runs: those then say they need `--token-file`.

pub mod http;
pub mod procfs;
pub mod steward;
pub mod supervisord;

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;

use crate::model::{CommandInfo, CronJob, Flavor, Proc, Reach, ReloadDiff};
use http::Endpoint;

/// One daemon to watch: the nodes list of a config, `--node NAME=URL` flags, or the
/// `[supervisorctl]` section's server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceSpec {
    pub name: String,
    pub serverurl: String,
    pub username: Option<String>,
    pub password: Option<String>,
    /// A bearer token for the API (read from `--token-file`).
    pub token: Option<String>,
    /// For `https://`: the CA file to trust instead of the system's roots.
    pub ca: Option<std::path::PathBuf>,
}

impl SourceSpec {
    pub fn new(name: &str, serverurl: &str) -> SourceSpec {
        SourceSpec {
            name: name.into(),
            serverurl: serverurl.into(),
            username: None,
            password: None,
            token: None,
            ca: None,
        }
    }
}

/// Why a call to a source failed.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("{0}")]
    BadUrl(String),
    #[error("cannot connect: {0}")]
    Connect(std::io::Error),
    #[error("{0}")]
    Protocol(String),
    /// The daemon answered with an error status.
    #[error("{message}")]
    Refused { status: u16, message: String },
    /// An XML-RPC fault.
    #[error("{0}")]
    Fault(String),
    #[error("{0}")]
    Unsupported(String),
}

/// What a source tells the app.
#[derive(Debug, Clone, PartialEq)]
pub enum Update {
    Reach(Reach),
    /// The whole process list (replaces the previous one).
    Processes(Vec<Proc>),
    /// CPU percent and resident bytes by pid, for daemons on this machine.
    Resources(Vec<(i32, f64, u64)>),
    Cron(Vec<CronJob>),
    Commands(Vec<CommandInfo>),
    /// New lines of the followed log (`reset`: the start of a new follow).
    LogLines {
        name: String,
        lines: Vec<String>,
        reset: bool,
    },
    Details {
        name: String,
        fields: Vec<(String, String)>,
    },
    CronRuns {
        job: String,
        lines: Vec<String>,
    },
    /// A reload's preview (`applied` false) or its outcome.
    Reload {
        result: Result<ReloadDiff, String>,
        applied: bool,
    },
    /// One line for the status bar: the outcome of an action.
    Message(String),
}

/// A process action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    Start,
    Stop,
    Restart,
    Signal(String),
}

impl Action {
    pub fn verb(&self) -> String {
        match self {
            Action::Start => "start".into(),
            Action::Stop => "stop".into(),
            Action::Restart => "restart".into(),
            Action::Signal(s) => format!("signal {s}"),
        }
    }
}

/// A cron job action.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CronAction {
    Run,
    Enable,
    Disable,
}

impl CronAction {
    fn path(self) -> &'static str {
        match self {
            CronAction::Run => "run",
            CronAction::Enable => "enable",
            CronAction::Disable => "disable",
        }
    }
}

/// What the app asks of a source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    Act {
        names: Vec<String>,
        action: Action,
    },
    /// Follow this process's log (stdout), or stop following.
    Follow(Option<String>),
    Details(String),
    CronRuns(String),
    Cron {
        job: String,
        action: CronAction,
    },
    RunCommand(String),
    Reload {
        apply: bool,
    },
}

/// Where updates go: `(source index, update)`.
pub type Sink = Arc<dyn Fn(usize, Update) + Send + Sync>;

/// The running sources: one request channel each, in the order of the specs.
pub struct Sources {
    senders: Vec<mpsc::UnboundedSender<Request>>,
}

impl Sources {
    /// Sends `req` to source `index` (a source that is gone ignores it).
    pub fn send(&self, index: usize, req: Request) {
        if let Some(s) = self.senders.get(index) {
            let _ = s.send(req);
        }
    }
}

/// Starts every source on one background thread.
pub fn start(specs: Vec<SourceSpec>, sink: Sink) -> std::io::Result<Sources> {
    let mut senders = Vec::new();
    let mut receivers = Vec::new();
    for _ in &specs {
        let (tx, rx) = mpsc::unbounded_channel();
        senders.push(tx);
        receivers.push(rx);
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    std::thread::Builder::new()
        .name("top-sources".into())
        .spawn(move || {
            rt.block_on(async move {
                let mut tasks = tokio::task::JoinSet::new();
                for (index, (spec, rx)) in specs.into_iter().zip(receivers).enumerate() {
                    tasks.spawn(run_source(index, spec, sink.clone(), rx));
                }
                while tasks.join_next().await.is_some() {}
            })
        })?;
    Ok(Sources { senders })
}

/// How long to wait before asking a daemon that stopped answering again.
const RETRY: Duration = Duration::from_secs(1);

async fn run_source(
    index: usize,
    spec: SourceSpec,
    sink: Sink,
    mut rx: mpsc::UnboundedReceiver<Request>,
) {
    let endpoint = match Endpoint::new(
        &spec.serverurl,
        spec.username.as_deref(),
        spec.password.as_deref(),
        spec.token.as_deref(),
        spec.ca.clone(),
    ) {
        Ok(e) => e,
        Err(e) => {
            sink(
                index,
                Update::Reach(Reach::Unreachable {
                    since: crate::model::now(),
                    error: e.to_string(),
                }),
            );
            return;
        }
    };
    let ctx = Ctx {
        index,
        endpoint,
        sink,
    };
    let mut down_since: Option<i64> = None;
    loop {
        let error = match detect(&ctx.endpoint).await {
            Ok(flavor) => {
                down_since = None;
                ctx.send(Update::Reach(Reach::Up(flavor)));
                match flavor {
                    Flavor::Steward => steward::run(&ctx, &mut rx).await,
                    Flavor::Supervisord => supervisord::run(&ctx, &mut rx).await,
                }
            }
            Err(e) => e,
        };
        let since = *down_since.get_or_insert_with(crate::model::now);
        ctx.send(Update::Reach(Reach::Unreachable {
            since,
            error: error.to_string(),
        }));
        let retry_at = tokio::time::Instant::now() + RETRY;
        loop {
            tokio::select! {
                _ = tokio::time::sleep_until(retry_at) => break,
                req = rx.recv() => match req {
                    None => return,
                    Some(Request::Follow(_)) => {}
                    Some(_) => ctx.send(Update::Message(format!("{}: not reachable", spec.name))),
                },
            }
        }
    }
}

/// Steward answers `/api/v1/openapi.json`; supervisord has no such page. When the page
/// is refused (credentials the API does not take), XML-RPC says it: only Steward has
/// `steward.*` methods.
async fn detect(endpoint: &Endpoint) -> Result<Flavor, SourceError> {
    if endpoint.status_of("/api/v1/openapi.json").await? == 200 {
        return Ok(Flavor::Steward);
    }
    let methods = endpoint.xmlrpc("system.listMethods", &[]).await?;
    let steward = methods
        .as_array()
        .unwrap_or(&[])
        .iter()
        .any(|m| m.as_str().is_some_and(|m| m.starts_with("steward.")));
    Ok(if steward {
        Flavor::Steward
    } else {
        Flavor::Supervisord
    })
}

/// What a source task carries around.
#[derive(Clone)]
pub(crate) struct Ctx {
    pub index: usize,
    pub endpoint: Endpoint,
    pub sink: Sink,
}

impl Ctx {
    pub fn send(&self, update: Update) {
        (self.sink)(self.index, update)
    }
}

/// Says how a batch of actions went, in one status line.
pub(crate) fn summarize(verb: &str, results: &[(String, Result<(), String>)]) -> String {
    let failed: Vec<String> = results
        .iter()
        .filter_map(|(n, r)| r.as_ref().err().map(|e| format!("{n}: {e}")))
        .collect();
    match (results.len(), failed.len()) {
        (1, 0) => format!("{verb} {}: ok", results[0].0),
        (n, 0) => format!("{verb} {n} processes: ok"),
        (_, _) => format!("{verb}: {}", failed.join("; ")),
    }
}

/// XML-RPC's `update`: re-read the files, then remove, replace and add groups as
/// `supervisorctl update` does. `apply` false stops after the re-read (the preview).
pub(crate) async fn xmlrpc_reload(
    endpoint: &Endpoint,
    apply: bool,
) -> Result<ReloadDiff, SourceError> {
    use steward_rpc::Value;
    let v = endpoint.xmlrpc("supervisor.reloadConfig", &[]).await?;
    let lists = v
        .as_array()
        .and_then(|a| a.first())
        .and_then(Value::as_array)
        .unwrap_or(&[]);
    let names = |i: usize| -> Vec<String> {
        lists
            .get(i)
            .and_then(Value::as_array)
            .unwrap_or(&[])
            .iter()
            .filter_map(|n| n.as_str().map(str::to_string))
            .collect()
    };
    let diff = ReloadDiff {
        added: names(0),
        changed: names(1),
        removed: names(2),
    };
    if !apply {
        return Ok(diff);
    }
    for g in diff.removed.iter().chain(&diff.changed) {
        endpoint
            .xmlrpc("supervisor.stopProcessGroup", &[g.as_str().into()])
            .await?;
        endpoint
            .xmlrpc("supervisor.removeProcessGroup", &[g.as_str().into()])
            .await?;
    }
    for g in diff.changed.iter().chain(&diff.added) {
        endpoint
            .xmlrpc("supervisor.addProcessGroup", &[g.as_str().into()])
            .await?;
    }
    Ok(diff)
}

/// One process action over XML-RPC (waiting, as supervisorctl does).
pub(crate) async fn xmlrpc_act(
    endpoint: &Endpoint,
    name: &str,
    action: &Action,
) -> Result<(), SourceError> {
    let n = steward_rpc::Value::from(name);
    match action {
        Action::Start => endpoint
            .xmlrpc("supervisor.startProcess", &[n, true.into()])
            .await
            .map(drop),
        Action::Stop => endpoint
            .xmlrpc("supervisor.stopProcess", &[n, true.into()])
            .await
            .map(drop),
        Action::Restart => {
            match endpoint
                .xmlrpc("supervisor.stopProcess", &[n.clone(), true.into()])
                .await
            {
                Ok(_) => {}
                Err(SourceError::Fault(f)) if f.starts_with("NOT_RUNNING") => {}
                Err(e) => return Err(e),
            }
            endpoint
                .xmlrpc("supervisor.startProcess", &[n, true.into()])
                .await
                .map(drop)
        }
        Action::Signal(sig) => endpoint
            .xmlrpc("supervisor.signalProcess", &[n, sig.as_str().into()])
            .await
            .map(drop),
    }
}

/// Runs the same action on several processes at once and reports one line.
pub(crate) fn spawn_actions<F, Fut>(ctx: &Ctx, names: Vec<String>, action: Action, one: F)
where
    F: Fn(Endpoint, String, Action) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = Result<(), SourceError>> + Send + 'static,
{
    let ctx = ctx.clone();
    tokio::spawn(async move {
        let mut set = tokio::task::JoinSet::new();
        for name in names {
            let fut = one(ctx.endpoint.clone(), name.clone(), action.clone());
            set.spawn(async move { (name, fut.await.map_err(|e| e.to_string())) });
        }
        let mut results = Vec::new();
        while let Some(r) = set.join_next().await {
            if let Ok(r) = r {
                results.push(r);
            }
        }
        results.sort_by(|a, b| a.0.cmp(&b.0));
        ctx.send(Update::Message(summarize(&action.verb(), &results)));
    });
}
