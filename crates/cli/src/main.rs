//! The `steward` binary: a thin layer over the library crates.
//!
//! Invoked as `supervisord` or `supervisorctl` (through a symlink), it behaves as those
//! programs with their own flags; invoked as `steward`, it offers subcommands: `daemon`
//! (supervisord's flags), `ctl` (supervisorctl's), `check`, `cron next|list|history|run`,
//! `worker`, `sync`, `token create|list|revoke`, `passwd`, `crontab …` (the system crontab),
//! `top` (the terminal UI) and `service install|uninstall` (the systemd unit).

mod cron_cmd;
mod cron_next;
mod crontab_cmd;
mod ctl;
mod daemon;
mod passwd_cmd;
mod service_cmd;
mod sync_cmd;
mod token_cmd;
mod top_cmd;
mod worker_cmd;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "steward",
    version,
    about = "Process supervisor and cron, compatible with supervisord"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the daemon (accepts every supervisord flag, e.g. `-n -c FILE`).
    Daemon {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// Control a running daemon (every supervisorctl command and flag).
    #[command(disable_help_flag = true)]
    Ctl {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// Validate a configuration and print the resolved programs or every error.
    Check {
        #[arg(short = 'c', long = "configuration")]
        configuration: Option<PathBuf>,
    },
    /// Cron schedules.
    Cron {
        #[command(subcommand)]
        command: CronCommand,
    },
    /// Worker program files from templates (Laravel, Python servers, queues).
    Worker {
        #[command(subcommand)]
        command: worker_cmd::WorkerCommand,
    },
    /// Sync program and logrotate files from a Deployer inventory (seed 002's contract).
    Sync(Box<sync_cmd::SyncArgs>),
    /// API bearer tokens.
    Token {
        #[command(subcommand)]
        command: token_cmd::TokenCommand,
    },
    /// Hash a password for a [user:NAME] section (argon2id).
    Passwd(passwd_cmd::PasswdArgs),
    /// Manage entries of a user's system crontab (tagged `# steward: NAME`).
    Crontab(crontab_cmd::CrontabArgs),
    /// A live terminal view of the processes of one or more daemons.
    Top(top_cmd::TopArgs),
    /// Install or remove the systemd unit.
    Service {
        #[command(subcommand)]
        command: service_cmd::ServiceCommand,
    },
}

#[derive(Subcommand)]
enum CronCommand {
    /// Print the next fire times of an expression.
    Next(cron_next::CronNextArgs),
    #[command(flatten)]
    Client(cron_cmd::CronClientCommand),
}

fn exit(code: i32) -> ExitCode {
    ExitCode::from(code.clamp(0, 255) as u8)
}

fn check(configuration: Option<PathBuf>) -> i32 {
    let path = match daemon::find_config(configuration.as_deref()) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("Error: {e}");
            return 2;
        }
    };
    match steward_config::load(&path, &steward_config::LoadOptions::from_system()) {
        Ok(cfg) => {
            print!("{}", steward_config::check::render(&cfg));
            0
        }
        Err(errors) => {
            for d in &errors.0 {
                eprintln!("{d}");
            }
            eprintln!("{}: {} error(s)", path.display(), errors.0.len());
            1
        }
    }
}

/// The only libm function the binary uses: tokio's multi-thread scheduler calls `pow` for
/// its poll-time average. Defined here (from the pure-Rust `libm` crate) so the linker,
/// which links libraries only as needed, leaves libm.so out of the process: loading it
/// runs its IFUNC resolvers and keeps ≈ 0.5 MiB of its pages resident for one function.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[no_mangle]
pub extern "C" fn pow(x: f64, y: f64) -> f64 {
    libm::pow(x, y)
}

/// Sets SIGPIPE's disposition (the Rust runtime starts every program with it ignored).
fn sigpipe(action: libc::sighandler_t) {
    // SAFETY: signal(2) with a valid signal number and SIG_DFL/SIG_IGN.
    unsafe {
        libc::signal(libc::SIGPIPE, action);
    }
}

fn main() -> ExitCode {
    let mut argv: Vec<String> = std::env::args().collect();
    let prog = argv
        .first()
        .map(|a| {
            std::path::Path::new(a)
                .file_name()
                .map(|f| f.to_string_lossy().into_owned())
                .unwrap_or_default()
        })
        .unwrap_or_default();
    let rest: Vec<String> = argv.split_off(1.min(argv.len()));
    if prog == "supervisord" {
        return match daemon::parse_args(&prog, &rest) {
            Ok(args) => exit(daemon::run(args)),
            Err(code) => exit(code),
        };
    }
    if prog == "supervisorctl" {
        sigpipe(libc::SIG_DFL);
        return exit(ctl::main_ctl(rest));
    }
    // `steward daemon ARGS` hands ARGS to supervisord's own parser, as clap would (a
    // trailing, hyphen-accepting argument list), without running clap: parsing touches
    // ~230 KB of clap's code, which would then stay resident for the daemon's lifetime.
    // clap still handles what it would interpret itself: a leading `-h`/`--help`/`--`.
    if rest.first().map(String::as_str) == Some("daemon")
        && !matches!(
            rest.get(1).map(String::as_str),
            Some("-h" | "--help" | "--")
        )
    {
        return match daemon::parse_args("steward daemon", &rest[1..]) {
            Ok(a) => exit(daemon::run(a)),
            Err(code) => exit(code),
        };
    }
    // Commands that print (`ctl`, `check`, `cron next`, …) die quietly when their reader
    // goes away (`steward ctl status | head -1`), as C tools do; the daemon keeps the
    // runtime's SIG_IGN, since a client hanging up must never kill it.
    sigpipe(libc::SIG_DFL);
    let cli = Cli::parse();
    match cli.command {
        Command::Daemon { args } => match daemon::parse_args("steward daemon", &args) {
            Ok(a) => {
                sigpipe(libc::SIG_IGN);
                exit(daemon::run(a))
            }
            Err(code) => exit(code),
        },
        Command::Ctl { args } => exit(ctl::main_ctl(args)),
        Command::Check { configuration } => exit(check(configuration)),
        Command::Cron { command } => match command {
            CronCommand::Next(args) => exit(cron_next::run(&args)),
            CronCommand::Client(cmd) => exit(cron_cmd::run(&cmd)),
        },
        Command::Worker { command } => exit(worker_cmd::run(&command)),
        Command::Sync(args) => exit(sync_cmd::run(&args)),
        Command::Token { command } => exit(token_cmd::run(&command)),
        Command::Passwd(args) => exit(passwd_cmd::run(&args)),
        Command::Crontab(args) => exit(crontab_cmd::run(&args)),
        Command::Service { command } => exit(service_cmd::run(&command)),
        Command::Top(args) => exit(top_cmd::run(&args)),
    }
}
