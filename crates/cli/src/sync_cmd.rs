//! `steward sync`: seed 002's `supervisor-sync.sh` contract over `steward_ops::sync`.
//!
//! Inputs: `DEPLOYER_OUTPUT_FILE`, `DEPLOYER_DISTRO`, `DEPLOYER_PERMS`,
//! `DEPLOYER_SITE_DOMAIN`, `DEPLOYER_SUPERVISORS` (a flag of the same name, e.g.
//! `--site-domain`, wins over the variable); the directories are flags with the seed's
//! paths as defaults. Errors go to stderr in the seed's words, exit 1; success writes the
//! YAML result to the output file, exit 0. `--dry-run` prints a unified diff and what
//! would restart, and changes nothing but the output file.

use std::collections::BTreeSet;
use std::path::PathBuf;

use steward_ops::atomic::write_atomic;
use steward_ops::daemon::Daemon;
use steward_ops::layout::{find_config, Layout};
use steward_ops::sync::{self, Settings, SyncError};

use crate::cron_cmd::ConnArgs;

#[derive(clap::Args, Debug, Clone, Default)]
pub struct SyncArgs {
    /// Where the YAML result goes [env: DEPLOYER_OUTPUT_FILE].
    #[arg(long, value_name = "FILE")]
    pub output_file: Option<String>,
    /// `ubuntu` or `debian` [env: DEPLOYER_DISTRO].
    #[arg(long)]
    pub distro: Option<String>,
    /// `root`, `sudo` or `none` [env: DEPLOYER_PERMS].
    #[arg(long)]
    pub perms: Option<String>,
    /// The site's domain: program names and file names start with it
    /// [env: DEPLOYER_SITE_DOMAIN].
    #[arg(long)]
    pub site_domain: Option<String>,
    /// The inventory, a JSON array [env: DEPLOYER_SUPERVISORS].
    #[arg(long, value_name = "JSON")]
    pub supervisors: Option<String>,
    /// Program files directory.
    #[arg(long, value_name = "DIR", default_value = "/etc/supervisor/conf.d")]
    pub conf_dir: PathBuf,
    /// logrotate files directory.
    #[arg(long, value_name = "DIR", default_value = "/etc/logrotate.d")]
    pub logrotate_dir: PathBuf,
    /// Sites root: a site lives in DIR/<domain> (runner.sh, current/).
    #[arg(long, value_name = "DIR", default_value = "/home/deployer/sites")]
    pub sites_dir: PathBuf,
    /// Directory of the programs' logs.
    #[arg(long, value_name = "DIR", default_value = "/var/log/supervisor")]
    pub log_dir: PathBuf,
    /// User the programs run as.
    #[arg(long, default_value = "deployer")]
    pub user: String,
    /// The daemon's pidfile, signalled by logrotate's postrotate (default: the
    /// configuration's pidfile, else /var/run/supervisord.pid).
    #[arg(long, value_name = "FILE")]
    pub pidfile: Option<PathBuf>,
    /// Print a unified diff and what would restart; change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Render seed 002's own file bodies (stderr_logfile on the stdout file,
    /// copytruncate), hazards included.
    #[arg(long)]
    pub seed_exact: bool,
    /// Replace files with these names that are not managed by this sync.
    #[arg(long)]
    pub force: bool,
    /// Write the files only; do not tell the daemon.
    #[arg(long)]
    pub no_apply: bool,
    #[command(flatten)]
    pub conn: ConnArgs,
}

/// The flag, else the variable; empty counts as missing (as the script's `-z` test).
fn input(flag: &Option<String>, var: &str) -> Result<String, String> {
    flag.clone()
        .or_else(|| std::env::var(var).ok())
        .filter(|v| !v.is_empty())
        .ok_or_else(|| format!("Error: {var} required"))
}

pub fn run(args: &SyncArgs) -> i32 {
    match sync_main(args) {
        Ok(()) => 0,
        Err(message) => {
            eprintln!("{message}");
            1
        }
    }
}

fn sync_main(args: &SyncArgs) -> Result<(), String> {
    let output_file = input(&args.output_file, "DEPLOYER_OUTPUT_FILE")?;
    // Accepted for the contract; Steward writes the same files on every distribution
    // and runs with whatever rights it was started with.
    let _distro = input(&args.distro, "DEPLOYER_DISTRO")?;
    let _perms = input(&args.perms, "DEPLOYER_PERMS")?;
    let domain = input(&args.site_domain, "DEPLOYER_SITE_DOMAIN")?;
    let supervisors = input(&args.supervisors, "DEPLOYER_SUPERVISORS")?;
    let entries =
        sync::inventory::parse(&supervisors).map_err(|e| SyncError::from(e).to_string())?;

    let mut layout = match find_config(args.conn.configuration.as_deref()) {
        Some(path) => Layout::read(&path).map_err(|e| format!("Error: {e}"))?,
        None => Layout::defaults(),
    };
    if let Some(url) = &args.conn.serverurl {
        layout.serverurl = url.clone();
    }
    if args.conn.username.is_some() {
        layout.username = args.conn.username.clone();
    }
    if args.conn.password.is_some() {
        layout.password = args.conn.password.clone();
    }
    // Paths end up in command= and in logrotate files, read from other directories.
    let abs = |p: &PathBuf| std::path::absolute(p).unwrap_or_else(|_| p.clone());
    let settings = Settings {
        domain,
        conf_dir: abs(&args.conf_dir),
        logrotate_dir: abs(&args.logrotate_dir),
        sites_dir: abs(&args.sites_dir),
        log_dir: abs(&args.log_dir),
        user: args.user.clone(),
        pidfile: args
            .pidfile
            .as_ref()
            .map(abs)
            .or_else(|| layout.pidfile.clone())
            .unwrap_or_else(|| PathBuf::from("/var/run/supervisord.pid")),
        seed_exact: args.seed_exact,
    };
    let plan = sync::build(&settings, &entries, args.force).map_err(|e| e.to_string())?;
    let mut daemon = if args.no_apply {
        None
    } else {
        Some(
            Daemon::new(
                &layout.serverurl,
                layout.username.as_deref(),
                layout.password.as_deref(),
            )
            .map_err(|e| SyncError::Reread(e.to_string()).to_string())?,
        )
    };
    let outcome = if args.dry_run {
        print!("{}", plan.diff());
        let loaded: Option<BTreeSet<String>> = daemon
            .as_mut()
            .and_then(|d| d.processes().ok())
            .map(|ps| ps.into_iter().map(|p| p.group).collect());
        let o = sync::dry_run(&plan, loaded.as_ref());
        println!(
            "would restart: {}",
            if o.restarted.is_empty() {
                "nothing".into()
            } else {
                o.restarted.join(" ")
            }
        );
        println!(
            "would add: {}",
            if o.added.is_empty() {
                "nothing".into()
            } else {
                o.added.join(" ")
            }
        );
        println!(
            "would remove: {}",
            if o.removed_groups.is_empty() {
                "nothing".into()
            } else {
                o.removed_groups.join(" ")
            }
        );
        o
    } else {
        sync::apply(&plan, daemon.as_mut()).map_err(|e| e.to_string())?
    };
    write_atomic(
        std::path::Path::new(&output_file),
        outcome.to_yaml().as_bytes(),
        0o644,
    )
    .map_err(|e| format!("Error: Failed to write output file\n{e}"))?;
    if !args.dry_run {
        println!(
            "{} program(s): {} file(s) written, {} unchanged, {} removed; restarted: {}; added: {}",
            outcome.synced,
            outcome.written.len(),
            outcome.unchanged.len(),
            outcome.removed.len(),
            if outcome.restarted.is_empty() {
                "none".into()
            } else {
                outcome.restarted.join(" ")
            },
            if outcome.added.is_empty() {
                "none".into()
            } else {
                outcome.added.join(" ")
            },
        );
    }
    Ok(())
}
