//! `steward worker templates|add|remove|list`: the command line over
//! `steward_ops::worker` (rendering, checks, files) and `steward_ops::daemon` (applying
//! one group over XML-RPC, to Steward or supervisord alike).
//!
//! The include directory is `--include-dir`, else the directory of the configuration's
//! first `[include] files=` pattern, else `/etc/supervisor/conf.d`; the daemon is reached
//! as `steward ctl` would reach it (`-c`, `-s`, `-u`, `-p`).
//!
//! Exit status: 0 done (or nothing to do); 1 a check, a write or the daemon failed; 2 a
//! usage or configuration error.

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use steward_ops::atomic::WriteOutcome;
use steward_ops::daemon::Daemon;
use steward_ops::layout::{find_config, Layout};
use steward_ops::worker::{self, Fallback, LinePrompter, Prompter, Template, TEMPLATES};

use crate::cron_cmd::ConnArgs;

const DEFAULT_INCLUDE_DIR: &str = "/etc/supervisor/conf.d";

/// Where the files are and which daemon to tell.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct WhereArgs {
    #[command(flatten)]
    pub conn: ConnArgs,
    /// Directory for worker files (default: the configuration's [include] directory,
    /// else /etc/supervisor/conf.d).
    #[arg(long, value_name = "DIR")]
    pub include_dir: Option<PathBuf>,
}

/// Every template value, as a flag (`steward worker templates` says which apply).
#[derive(clap::Args, Debug, Clone, Default)]
pub struct ValueArgs {
    /// Laravel project root (contains `artisan`).
    #[arg(long)]
    pub path: Option<String>,
    /// Working directory of the program.
    #[arg(long)]
    pub directory: Option<String>,
    /// Application: `module:attr` (uvicorn, gunicorn) or the `-A` value (celery).
    #[arg(long)]
    pub app: Option<String>,
    /// The program's binary (php, uvicorn, gunicorn, celery, rq), a name on PATH or a path.
    #[arg(long)]
    pub bin: Option<String>,
    /// Laravel queue connection.
    #[arg(long)]
    pub connection: Option<String>,
    /// Queue names (comma-separated).
    #[arg(long)]
    pub queue: Option<String>,
    #[arg(long)]
    pub numprocs: Option<String>,
    /// User the program runs as.
    #[arg(long)]
    pub user: Option<String>,
    #[arg(long)]
    pub sleep: Option<String>,
    #[arg(long)]
    pub tries: Option<String>,
    #[arg(long)]
    pub max_time: Option<String>,
    /// Seconds a Laravel job may run (`--timeout`).
    #[arg(long)]
    pub timeout: Option<String>,
    #[arg(long)]
    pub stopwaitsecs: Option<String>,
    /// laravel-scheduler: `cron` (a [cron:] job running schedule:run) or `work`.
    #[arg(long)]
    pub mode: Option<String>,
    #[arg(long)]
    pub host: Option<String>,
    #[arg(long)]
    pub port: Option<String>,
    #[arg(long)]
    pub bind: Option<String>,
    #[arg(long)]
    pub workers: Option<String>,
    #[arg(long)]
    pub graceful_timeout: Option<String>,
    #[arg(long)]
    pub loglevel: Option<String>,
    /// celery-beat schedule database.
    #[arg(long)]
    pub schedule: Option<String>,
    /// rq Redis URL.
    #[arg(long)]
    pub url: Option<String>,
    /// generic: the command line.
    #[arg(long)]
    pub command: Option<String>,
    /// generic: the stop signal.
    #[arg(long)]
    pub stopsignal: Option<String>,
    /// Directory of the worker's log file.
    #[arg(long)]
    pub log_dir: Option<String>,
}

impl ValueArgs {
    fn given(&self, name: Option<&String>) -> BTreeMap<String, String> {
        let pairs: [(&str, &Option<String>); 26] = [
            ("path", &self.path),
            ("directory", &self.directory),
            ("app", &self.app),
            ("bin", &self.bin),
            ("connection", &self.connection),
            ("queue", &self.queue),
            ("numprocs", &self.numprocs),
            ("user", &self.user),
            ("sleep", &self.sleep),
            ("tries", &self.tries),
            ("max-time", &self.max_time),
            ("timeout", &self.timeout),
            ("stopwaitsecs", &self.stopwaitsecs),
            ("mode", &self.mode),
            ("host", &self.host),
            ("port", &self.port),
            ("bind", &self.bind),
            ("workers", &self.workers),
            ("graceful-timeout", &self.graceful_timeout),
            ("loglevel", &self.loglevel),
            ("schedule", &self.schedule),
            ("url", &self.url),
            ("command", &self.command),
            ("stopsignal", &self.stopsignal),
            ("log-dir", &self.log_dir),
            ("name", &name.cloned()),
        ];
        pairs
            .into_iter()
            .filter_map(|(k, v)| v.clone().map(|v| (k.to_string(), v)))
            .collect()
    }
}

/// `steward worker add`.
#[derive(clap::Args, Debug, Clone)]
pub struct AddArgs {
    /// The template (`steward worker templates` lists them).
    pub template: String,
    /// The worker's name (program name and file name).
    pub name: Option<String>,
    #[command(flatten)]
    pub values: ValueArgs,
    /// Ask for every value not given as a flag (reading answers from stdin even when it
    /// is not a terminal).
    #[arg(long, conflicts_with = "no_input")]
    pub interactive: bool,
    /// Never prompt, even on a terminal.
    #[arg(long)]
    pub no_input: bool,
    /// Replace a file that exists without Steward's header.
    #[arg(long)]
    pub force: bool,
    /// Write the file only; do not tell the daemon.
    #[arg(long)]
    pub no_apply: bool,
    #[command(flatten)]
    pub place: WhereArgs,
}

/// `steward worker remove`.
#[derive(clap::Args, Debug, Clone)]
pub struct RemoveArgs {
    pub name: String,
    /// Remove a file that has no Steward header.
    #[arg(long)]
    pub force: bool,
    /// Delete the file only; do not stop or remove the group in the daemon.
    #[arg(long)]
    pub no_apply: bool,
    #[command(flatten)]
    pub place: WhereArgs,
}

/// `steward worker list`.
#[derive(clap::Args, Debug, Clone)]
pub struct ListArgs {
    #[command(flatten)]
    pub place: WhereArgs,
}

#[derive(clap::Subcommand, Debug, Clone)]
pub enum WorkerCommand {
    /// List the templates and the values each takes.
    Templates,
    /// Write a worker's program file from a template and start it (that group only).
    Add(Box<AddArgs>),
    /// Stop a worker, remove its group and delete its file.
    Remove(RemoveArgs),
    /// The program files of the include directory with their live state.
    List(ListArgs),
}

struct Resolved {
    layout: Layout,
    include_dir: PathBuf,
}

fn resolve(place: &WhereArgs) -> Result<Resolved, String> {
    let mut layout = match find_config(place.conn.configuration.as_deref()) {
        Some(path) => Layout::read(&path).map_err(|e| e.to_string())?,
        None => Layout::defaults(),
    };
    if let Some(url) = &place.conn.serverurl {
        layout.serverurl = url.clone();
    }
    if place.conn.username.is_some() {
        layout.username = place.conn.username.clone();
    }
    if place.conn.password.is_some() {
        layout.password = place.conn.password.clone();
    }
    let include_dir = place
        .include_dir
        .as_ref()
        .map(|d| std::path::absolute(d).unwrap_or_else(|_| d.clone()))
        .or_else(|| layout.include_dir.clone())
        .unwrap_or_else(|| PathBuf::from(DEFAULT_INCLUDE_DIR));
    Ok(Resolved {
        layout,
        include_dir,
    })
}

fn daemon(layout: &Layout) -> Result<Daemon, String> {
    Daemon::new(
        &layout.serverurl,
        layout.username.as_deref(),
        layout.password.as_deref(),
    )
    .map_err(|e| e.to_string())
}

pub fn run(cmd: &WorkerCommand) -> i32 {
    match cmd {
        WorkerCommand::Templates => templates(),
        WorkerCommand::Add(a) => add(a),
        WorkerCommand::Remove(a) => remove(a),
        WorkerCommand::List(a) => list(a),
    }
}

fn templates() -> i32 {
    for info in TEMPLATES {
        println!("{}  {}", info.name, info.summary);
        println!("    ({})", info.source);
        for field in info.template.fields() {
            let default = match field.fallback {
                Fallback::Required => "required".to_string(),
                Fallback::Value(v) => format!("default {v}"),
                Fallback::Unset(hint) => format!("default: {hint}"),
            };
            println!("    --{:<18} {} ({default})", field.key, field.label);
        }
    }
    0
}

fn add(args: &AddArgs) -> i32 {
    let Some(template) = Template::by_name(&args.template) else {
        eprintln!(
            "Error: no template {:?}; one of: {}",
            args.template,
            TEMPLATES
                .iter()
                .map(|t| t.name)
                .collect::<Vec<_>>()
                .join(", ")
        );
        return 2;
    };
    let place = match resolve(&args.place) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("Error: {e}");
            return 2;
        }
    };
    let given = args.values.given(args.name.as_ref());
    let missing_required = template
        .fields()
        .iter()
        .any(|f| f.fallback == Fallback::Required && !given.contains_key(f.key));
    let ask =
        args.interactive || (!args.no_input && missing_required && std::io::stdin().is_terminal());
    let stdin = std::io::stdin();
    let mut prompter = LinePrompter {
        input: stdin.lock(),
        out: std::io::stderr(),
    };
    let values = match worker::resolve_values(
        template,
        &given,
        ask.then_some(&mut prompter as &mut dyn Prompter),
    ) {
        Ok(v) => v,
        Err(e) => {
            eprintln!("Error: {e}");
            return 2;
        }
    };
    let file = match worker::prepare(template, &values, &place.include_dir, true) {
        Ok(f) => f,
        Err(errors) => {
            for e in errors {
                eprintln!("Error: {e}");
            }
            eprintln!("Nothing was written.");
            return 1;
        }
    };
    let file_name = format!("{}.conf", file.name);
    if !place.layout.include_matches(&file_name) {
        eprintln!(
            "Error: {} would not be read: the configuration includes only {}",
            file.path.display(),
            place.layout.include_glob.as_deref().unwrap_or("?")
        );
        return 1;
    }
    let mut others: Vec<PathBuf> = place.layout.config.iter().cloned().collect();
    if let Ok(found) = worker::scan(&place.include_dir, |n| place.layout.include_matches(n)) {
        others.extend(found.into_iter().map(|f| f.path));
    }
    if let Some(other) = worker::defined_elsewhere(&file.name, &file.path, &others) {
        eprintln!(
            "Error: {} is already defined in {}; choose another name",
            file.name,
            other.display()
        );
        return 1;
    }
    for w in &file.warnings {
        eprintln!("Warning: {w}");
    }
    let outcome = match worker::write(&file, args.force) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("Error: {e}");
            return 1;
        }
    };
    let verb = match outcome {
        WriteOutcome::Created => "created",
        WriteOutcome::Replaced => "updated",
        WriteOutcome::Unchanged => "unchanged",
    };
    println!("{}: {verb} {}", file.name, file.path.display());
    if args.no_apply {
        return 0;
    }
    apply_one(&place.layout, &file.name, file.is_cron)
}

fn apply_one(layout: &Layout, name: &str, is_cron: bool) -> i32 {
    let mut d = match daemon(layout) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("Error: {e}");
            return 2;
        }
    };
    if is_cron && !d.is_steward() {
        eprintln!(
            "Warning: {name} is a [cron:] job and the daemon at {} is not Steward: it ignores [cron:] sections (use --mode work)",
            layout.serverurl
        );
    }
    match d.update_groups(&[name.to_string()]) {
        Ok(r) => {
            for g in &r.added {
                println!("{g}: added process group");
            }
            for g in &r.changed {
                println!("{g}: updated process group");
            }
            for g in &r.removed {
                println!("{g}: removed process group");
            }
            0
        }
        Err(e) => {
            eprintln!("Error: {e}");
            eprintln!("The file is written; apply it later with `steward ctl update {name}`.");
            1
        }
    }
}

fn remove(args: &RemoveArgs) -> i32 {
    let place = match resolve(&args.place) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("Error: {e}");
            return 2;
        }
    };
    let found = match worker::removable(&place.include_dir, &args.name, args.force) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("Error: {e}");
            return 1;
        }
    };
    if !args.no_apply {
        let mut d = match daemon(&place.layout) {
            Ok(d) => d,
            Err(e) => {
                eprintln!("Error: {e}");
                return 2;
            }
        };
        for g in &found.groups {
            match d.stop_and_remove(g) {
                Ok(true) => {
                    println!("{g}: stopped");
                    println!("{g}: removed process group");
                }
                Ok(false) => println!("{g}: was not loaded in the daemon"),
                Err(e) => {
                    eprintln!("Error: {e}");
                    eprintln!("{} was kept.", found.path.display());
                    return 1;
                }
            }
        }
    }
    if let Err(e) = worker::delete(&found) {
        eprintln!("Error: {e}");
        return 1;
    }
    println!("{}: removed {}", args.name, found.path.display());
    0
}

fn list(args: &ListArgs) -> i32 {
    let place = match resolve(&args.place) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("Error: {e}");
            return 2;
        }
    };
    let files = match worker::scan(&place.include_dir, |n| place.layout.include_matches(n)) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("Error: {e}");
            return 1;
        }
    };
    let live = daemon(&place.layout).and_then(|mut d| d.processes().map_err(|e| e.to_string()));
    if let Err(e) = &live {
        eprintln!("Warning: no live state: {e}");
    }
    let mut rows: Vec<[String; 4]> = vec![[
        "NAME".into(),
        "TEMPLATE".into(),
        "STATE".into(),
        "FILE".into(),
    ]];
    for f in &files {
        for g in &f.groups {
            let state = match &live {
                Ok(procs) => summarize(procs.iter().filter(|p| &p.group == g)),
                Err(_) => "?".into(),
            };
            let template = match (&f.template, f.managed) {
                (Some(t), _) => t.clone(),
                (None, true) => "-".into(),
                (None, false) => "(unmanaged)".into(),
            };
            rows.push([g.clone(), template, state, display(&f.path)]);
        }
    }
    let widths: Vec<usize> = (0..3)
        .map(|i| rows.iter().map(|r| r[i].len()).max().unwrap_or(0))
        .collect();
    for r in &rows {
        println!(
            "{:<w0$}  {:<w1$}  {:<w2$}  {}",
            r[0],
            r[1],
            r[2],
            r[3],
            w0 = widths[0],
            w1 = widths[1],
            w2 = widths[2]
        );
    }
    0
}

fn display(p: &Path) -> String {
    p.display().to_string()
}

/// `RUNNING 3/3`, `RUNNING 2/3, FATAL 1/3`, or `not loaded` (the file is not applied).
fn summarize<'a>(procs: impl Iterator<Item = &'a steward_ops::daemon::ProcessInfo>) -> String {
    let procs: Vec<_> = procs.collect();
    if procs.is_empty() {
        return "not loaded".into();
    }
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for p in &procs {
        *counts.entry(p.state.as_str()).or_default() += 1;
    }
    counts
        .iter()
        .map(|(s, n)| format!("{s} {n}/{}", procs.len()))
        .collect::<Vec<_>>()
        .join(", ")
}
