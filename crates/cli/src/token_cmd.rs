//! `steward token create|list|revoke`: manage the API's bearer tokens in the token file
//! that the configuration names (`[steward] token_file`, else `<state_dir>/tokens.json`).
//!
//! Data flow: load the config (for the file's path) → `steward_auth::TokenStore` does the
//! locked read-modify-atomic-write → a running daemon re-reads the file within 250 ms, so
//! nothing has to be restarted or signalled. `create` prints the token once, on stdout
//! alone (so `TOKEN=$(steward token create …)` works); only its SHA-256 is stored. Creating
//! and revoking are also recorded in the audit log (`<state_dir>/audit.jsonl`), with the
//! local user as the actor and `cli` as the source.
//!
//! Exit status: 0 done; 1 the operation failed (name taken, no such token, file not
//! writable or corrupt: the file is left as it was); 2 bad usage or a bad config file.

use std::path::{Path, PathBuf};

use steward_auth::{
    audit_file_for, parse_expiry, parse_group_globs, token_file_for, AuditEntry, AuditLog, Role,
    TokenStore,
};

#[derive(clap::Subcommand, Debug, Clone)]
pub enum TokenCommand {
    /// Create a token and print it (shown only this once).
    Create(CreateArgs),
    /// List tokens (never their values).
    List(ListArgs),
    /// Revoke a token; a running daemon stops accepting it within a second.
    Revoke(RevokeArgs),
}

#[derive(clap::Args, Debug, Clone)]
pub struct ConfigArg {
    /// Configuration file (searched for if not given).
    #[arg(short = 'c', long = "configuration", value_name = "FILENAME")]
    pub configuration: Option<PathBuf>,
}

#[derive(clap::Args, Debug, Clone)]
pub struct CreateArgs {
    /// The token's name (letters, digits, '.', '_', '-'), shown as the actor in the audit log.
    pub name: String,
    /// viewer, logs, operator or admin.
    #[arg(long, value_parser = parse_role)]
    pub role: Role,
    /// Only these groups: comma-separated globs, e.g. `web*,worker`.
    #[arg(long, value_name = "GLOBS")]
    pub groups: Option<String>,
    /// Expiry: a span (30d, 12h, 2w), a date (2027-01-01, 00:00 UTC) or an RFC 3339 time.
    #[arg(long, value_name = "WHEN")]
    pub expires: Option<String>,
    #[command(flatten)]
    pub config: ConfigArg,
}

#[derive(clap::Args, Debug, Clone)]
pub struct ListArgs {
    /// Print JSON (one array) instead of a table.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub config: ConfigArg,
}

#[derive(clap::Args, Debug, Clone)]
pub struct RevokeArgs {
    /// The token's name.
    pub name: String,
    #[command(flatten)]
    pub config: ConfigArg,
}

fn parse_role(s: &str) -> Result<Role, String> {
    s.parse::<Role>().map_err(|e| e.to_string())
}

/// The files the config points the token commands at.
struct Paths {
    tokens: PathBuf,
    audit: PathBuf,
}

fn paths(configuration: Option<&Path>) -> Result<Paths, String> {
    let path = crate::daemon::find_config(configuration).map_err(|e| e.to_string())?;
    let cfg = steward_config::load(&path, &steward_config::LoadOptions::from_system())
        .map_err(|e| format!("{e}\n{}: {} error(s)", path.display(), e.0.len()))?;
    let default_state = steward_engine::history::History::default_state_dir();
    Ok(Paths {
        tokens: token_file_for(&cfg.steward, &default_state),
        audit: audit_file_for(&cfg.steward, &default_state),
    })
}

pub fn run(cmd: &TokenCommand) -> i32 {
    let configuration = match cmd {
        TokenCommand::Create(a) => &a.config,
        TokenCommand::List(a) => &a.config,
        TokenCommand::Revoke(a) => &a.config,
    };
    let paths = match paths(configuration.configuration.as_deref()) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("Error: {e}");
            return 2;
        }
    };
    let store = match TokenStore::open(&paths.tokens) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("Error: {e}");
            return 1;
        }
    };
    match cmd {
        TokenCommand::Create(a) => create(&store, &paths, a),
        TokenCommand::List(a) => list(&store, a),
        TokenCommand::Revoke(a) => match store.revoke(&a.name) {
            Ok(()) => {
                audit(&paths, "token.revoke", &a.name);
                println!("token '{}' revoked", a.name);
                0
            }
            Err(e) => {
                eprintln!("Error: {e}");
                1
            }
        },
    }
}

fn create(store: &TokenStore, paths: &Paths, a: &CreateArgs) -> i32 {
    let groups = match a.groups.as_deref().map(parse_group_globs).transpose() {
        Ok(g) => g,
        Err(e) => {
            eprintln!("Error: --groups: {e}");
            return 2;
        }
    };
    let expires = match a.expires.as_deref() {
        None => None,
        Some(v) => match parse_expiry(v, jiff::Timestamp::now()) {
            Ok(t) => Some(t),
            Err(e) => {
                eprintln!("Error: --expires: {e}");
                return 2;
            }
        },
    };
    match store.create(&a.name, a.role, groups, expires) {
        Ok(token) => {
            audit(paths, "token.create", &a.name);
            println!("{token}");
            eprintln!(
                "token '{}' ({}) created in {}; it is shown only this once",
                a.name,
                a.role,
                store.path().display()
            );
            0
        }
        Err(e) => {
            eprintln!("Error: {e}");
            1
        }
    }
}

fn list(store: &TokenStore, a: &ListArgs) -> i32 {
    let tokens = match store.list() {
        Ok(t) => t,
        Err(e) => {
            eprintln!("Error: {e}");
            return 1;
        }
    };
    if a.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&tokens).expect("token list serializes")
        );
        return 0;
    }
    let now = jiff::Timestamp::now();
    let rows: Vec<[String; 6]> = tokens
        .iter()
        .map(|t| {
            let expires = match t.expires {
                None => "never".to_string(),
                Some(e) if t.is_expired(now) => format!("{} (expired)", when(e)),
                Some(e) => when(e),
            };
            [
                t.name.clone(),
                t.role.to_string(),
                t.groups
                    .as_ref()
                    .map(|g| g.join(","))
                    .unwrap_or_else(|| "*".into()),
                when(t.created),
                expires,
                t.last_used.map(when).unwrap_or_else(|| "never".into()),
            ]
        })
        .collect();
    let header = ["NAME", "ROLE", "GROUPS", "CREATED", "EXPIRES", "LAST USED"].map(String::from);
    let mut widths = header.clone().map(|h| h.len());
    for r in &rows {
        for (w, c) in widths.iter_mut().zip(r) {
            *w = (*w).max(c.len());
        }
    }
    for r in std::iter::once(&header).chain(&rows) {
        let line: Vec<String> = r
            .iter()
            .zip(widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        println!("{}", line.join("  ").trim_end());
    }
    0
}

fn when(t: jiff::Timestamp) -> String {
    t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// Records a token change; a failure is reported but does not undo the change.
fn audit(paths: &Paths, action: &str, target: &str) {
    let actor = nix::unistd::User::from_uid(nix::unistd::geteuid())
        .ok()
        .flatten()
        .map(|u| u.name)
        .unwrap_or_else(|| format!("uid {}", nix::unistd::geteuid()));
    let entry = AuditEntry {
        actor,
        source: "cli".into(),
        action: action.into(),
        target: target.into(),
        result: "ok".into(),
    };
    if let Err(e) = AuditLog::open(&paths.audit, steward_auth::audit::DEFAULT_MAX_RECORDS)
        .and_then(|log| log.append(entry))
    {
        eprintln!("Warning: could not write the audit record: {e}");
    }
}
