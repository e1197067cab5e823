//! `steward service install|uninstall`: the command line over `steward_ops::service`
//! (which owns the layout, the unit's content and the idempotent write); this file adds
//! the calls to `systemctl` and `systemd-analyze` that only make sense on a live system.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context};
use steward_ops::atomic::WriteOutcome;
use steward_ops::service::{self, InstallOptions};

#[derive(clap::Subcommand, Debug)]
pub enum ServiceCommand {
    /// Write the systemd unit (steward.service, or supervisor.service with
    /// --replace-supervisor). Installing twice changes nothing.
    Install {
        /// Install under this directory instead of / (package builds, tests).
        #[arg(long, value_name = "DIR", default_value = "/")]
        root: PathBuf,
        /// The steward binary the unit runs; default /usr/bin/steward if present, else
        /// this binary.
        #[arg(long, value_name = "PATH")]
        binary: Option<PathBuf>,
        /// The configuration; default /etc/supervisor/supervisord.conf if present, else
        /// /etc/steward/steward.conf (created with conf.d/ when missing).
        #[arg(short = 'c', long = "configuration", value_name = "FILE")]
        configuration: Option<PathBuf>,
        #[arg(long, value_name = "DIR", default_value = "/etc/systemd/system")]
        unit_dir: PathBuf,
        /// Rewrite the unit when the configuration changed (TimeoutStopSec, LimitNOFILE).
        #[arg(long)]
        update: bool,
        /// Overwrite a unit file that Steward did not write.
        #[arg(long)]
        force: bool,
        /// Take over the Debian supervisor package's unit name and configuration.
        #[arg(long)]
        replace_supervisor: bool,
        /// Then run `systemctl daemon-reload` and start the service (`enable --now`, or
        /// `restart` when replacing supervisor).
        #[arg(long)]
        enable: bool,
    },
    /// Remove the unit file Steward wrote (the configuration stays).
    Uninstall {
        #[arg(long, value_name = "DIR", default_value = "/")]
        root: PathBuf,
        #[arg(long, value_name = "DIR", default_value = "/etc/systemd/system")]
        unit_dir: PathBuf,
        #[arg(long)]
        replace_supervisor: bool,
        /// First run `systemctl disable --now` on the unit.
        #[arg(long)]
        disable: bool,
    },
}

/// Runs the command; returns the exit status.
pub fn run(cmd: &ServiceCommand) -> i32 {
    match run_inner(cmd) {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("steward service: {e:#}");
            1
        }
    }
}

fn systemctl(args: &[&str]) -> anyhow::Result<()> {
    let st = Command::new("systemctl")
        .args(args)
        .status()
        .with_context(|| format!("run systemctl {}", args.join(" ")))?;
    if !st.success() {
        bail!("systemctl {} failed ({st})", args.join(" "));
    }
    Ok(())
}

fn default_binary(root: &Path) -> anyhow::Result<PathBuf> {
    let packaged = Path::new("/usr/bin/steward");
    if service::under(root, packaged).exists() {
        return Ok(packaged.to_path_buf());
    }
    std::env::current_exe().context("find the steward binary")
}

fn run_inner(cmd: &ServiceCommand) -> anyhow::Result<()> {
    match cmd {
        ServiceCommand::Install {
            root,
            binary,
            configuration,
            unit_dir,
            update,
            force,
            replace_supervisor,
            enable,
        } => {
            let binary = match binary {
                Some(b) => b.clone(),
                None => default_binary(root)?,
            };
            let done = service::install(&InstallOptions {
                root: root.clone(),
                binary,
                config: configuration.clone(),
                unit_dir: unit_dir.clone(),
                update: *update,
                force: *force,
                replace_supervisor: *replace_supervisor,
            })?;
            if done.created_config {
                println!(
                    "created {} (programs go in its conf.d/)",
                    done.config.display()
                );
            }
            let what = match done.outcome {
                WriteOutcome::Unchanged => "unchanged",
                WriteOutcome::Created => "written",
                WriteOutcome::Replaced => "updated",
            };
            println!(
                "{}: {what} (config {})",
                done.unit_path.display(),
                done.config.display()
            );
            let on_live_system = root == Path::new("/");
            if on_live_system && Path::new("/usr/bin/systemd-analyze").exists() {
                let out = Command::new("systemd-analyze")
                    .arg("verify")
                    .arg(&done.unit_path)
                    .output();
                if let Ok(out) = out {
                    let text = String::from_utf8_lossy(&out.stderr);
                    if !out.status.success() || !text.trim().is_empty() {
                        eprintln!("systemd-analyze verify: {}", text.trim_end());
                    }
                }
            }
            if *enable && on_live_system {
                systemctl(&["daemon-reload"])?;
                if *replace_supervisor {
                    systemctl(&["enable", &done.unit_name])?;
                    systemctl(&["restart", &done.unit_name])?;
                } else {
                    systemctl(&["enable", "--now", &done.unit_name])?;
                }
            } else if done.outcome != WriteOutcome::Unchanged {
                println!(
                    "next: systemctl daemon-reload && systemctl enable --now {}",
                    done.unit_name
                );
            }
            Ok(())
        }
        ServiceCommand::Uninstall {
            root,
            unit_dir,
            replace_supervisor,
            disable,
        } => {
            let name = service::unit_name(*replace_supervisor);
            if *disable && root == Path::new("/") {
                systemctl(&["disable", "--now", name])?;
            }
            match service::uninstall(root, unit_dir, *replace_supervisor)? {
                Some(p) => {
                    println!("{}: removed", p.display());
                    if root == Path::new("/") {
                        println!("next: systemctl daemon-reload");
                    }
                }
                None => println!("{name}: not installed"),
            }
            Ok(())
        }
    }
}
