//! `steward service install|uninstall`: run Steward under systemd.
//!
//! Data flow: [`ConfigPlace::detect_in`] picks the configuration (`/etc/supervisor` when it is
//! there, otherwise `/etc/steward/steward.conf` + `conf.d/`, created with a default
//! config on first install) → the config is loaded by Steward's loader (a broken config
//! gets no unit) → [`render_unit`] computes the unit from it (`TimeoutStopSec` from the
//! largest `stopwaitsecs`, `LimitNOFILE` from `minfds`) → the unit is written with
//! [`crate::atomic::write_atomic`] under the managed header, so a second install with
//! the same config writes nothing. A unit file without Steward's header is never
//! overwritten, and a managed one whose content would change is rewritten only with
//! `--update` (the config changed: recompute).
//!
//! Every path is under a `root` (normally `/`), so tests and package builds can install
//! into a directory.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use crate::atomic::{write_atomic, WriteOutcome};
use crate::managed::{header, is_owned_by, owner_of, CommentStyle, Owner};

/// systemd's own stop timeout is 90 s; Steward's unit allows the slowest program's
/// `stopwaitsecs` plus this margin, so a long drain is never SIGKILLed by systemd.
pub const STOP_MARGIN_SECS: u64 = 30;
/// The lowest `LimitNOFILE` the unit sets (raised to `minfds` when that is higher).
pub const MIN_NOFILE: u64 = 65536;

#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error(transparent)]
    Io(#[from] crate::PathIoError),
    #[error(transparent)]
    Write(#[from] crate::atomic::AtomicWriteError),
    #[error("{config}: the configuration does not load, so no unit was written:\n{errors}")]
    BadConfig { config: PathBuf, errors: String },
    #[error("{0} exists and was not written by steward; remove it or pass --force")]
    NotOurs(PathBuf),
    #[error(
        "{0} is out of date with the configuration (e.g. stopwaitsecs changed); run `steward service install --update` to rewrite it"
    )]
    Outdated(PathBuf),
    #[error("--replace-supervisor needs {0} (the Debian supervisor package's config)")]
    NoSupervisorConfig(PathBuf),
}

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> ServiceError + '_ {
    |e| ServiceError::Io(crate::io_at(path)(e))
}

/// Which configuration the service runs and where its programs go (paths as seen on the
/// target system, i.e. without the install root). Unlike [`crate::layout::Layout`], which
/// reads a given config, this picks the config file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigPlace {
    pub config: PathBuf,
    pub include_dir: PathBuf,
    /// True when an existing supervisor layout is reused.
    pub supervisor: bool,
}

const SUPERVISOR_CONF: &str = "/etc/supervisor/supervisord.conf";

impl ConfigPlace {
    /// [`ConfigPlace::detect_in`] on the live system.
    pub fn detect() -> ConfigPlace {
        ConfigPlace::detect_in(Path::new("/"))
    }

    /// `/etc/supervisor/supervisord.conf` + `conf.d` when that file exists under
    /// `root`, otherwise `/etc/steward/steward.conf` + `conf.d`.
    pub fn detect_in(root: &Path) -> ConfigPlace {
        if under(root, Path::new(SUPERVISOR_CONF)).is_file() {
            ConfigPlace {
                config: SUPERVISOR_CONF.into(),
                include_dir: "/etc/supervisor/conf.d".into(),
                supervisor: true,
            }
        } else {
            ConfigPlace {
                config: "/etc/steward/steward.conf".into(),
                include_dir: "/etc/steward/conf.d".into(),
                supervisor: false,
            }
        }
    }
}

/// `path` (absolute, on the target system) under the install root.
pub fn under(root: &Path, path: &Path) -> PathBuf {
    root.join(path.strip_prefix("/").unwrap_or(path))
}

/// The configuration a fresh install gets (also shipped by the Debian package): the
/// control socket root-only, logs under /var/log/steward, programs in conf.d.
pub fn default_config(include_dir: &Path) -> String {
    format!(
        "; Steward's main configuration (supervisord format). Programs go in {inc}/*.conf.\n\
         [unix_http_server]\n\
         file = /run/steward.sock\n\
         chmod = 0700\n\
         \n\
         [supervisord]\n\
         logfile = /var/log/steward/steward.log\n\
         pidfile = /run/steward.pid\n\
         childlogdir = /var/log/steward\n\
         \n\
         [rpcinterface:supervisor]\n\
         supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface\n\
         \n\
         [supervisorctl]\n\
         serverurl = unix:///run/steward.sock\n\
         \n\
         [include]\n\
         files = {inc}/*.conf\n",
        inc = include_dir.display()
    )
}

/// What the unit depends on, read from the loaded configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnitInputs {
    pub binary: PathBuf,
    pub config: PathBuf,
    pub max_stopwaitsecs: u64,
    pub minfds: u64,
    pub description: String,
}

impl UnitInputs {
    /// Reads `max(stopwaitsecs)` and `minfds` from `cfg`.
    pub fn from_config(cfg: &steward_config::Config, binary: &Path, config: &Path) -> UnitInputs {
        let max_stopwaitsecs = cfg
            .groups
            .iter()
            .flat_map(|g| g.processes.iter())
            .map(|p| p.stopwaitsecs)
            .max()
            .unwrap_or(10);
        UnitInputs {
            binary: binary.to_path_buf(),
            config: config.to_path_buf(),
            max_stopwaitsecs,
            minfds: cfg.supervisord.minfds,
            description: "Steward process supervisor and cron (supervisord-compatible)".into(),
        }
    }
}

/// The owner tag of the unit file.
pub fn owner() -> Owner {
    Owner::new("service", None)
}

/// The unit file's text.
pub fn render_unit(i: &UnitInputs) -> String {
    let bin = i.binary.display();
    let conf = i.config.display();
    format!(
        "{header}\
         [Unit]\n\
         Description={desc}\n\
         Documentation=file:///usr/share/doc/steward/service.md\n\
         After=network.target\n\
         \n\
         [Service]\n\
         # READY=1 comes once the configuration is loaded and the sockets answer.\n\
         Type=notify\n\
         NotifyAccess=main\n\
         ExecStart={bin} daemon -n -c {conf}\n\
         # reread + update: only changed programs restart (not `reload`, which restarts all).\n\
         ExecReload={bin} ctl -c {conf} update\n\
         # SIGTERM to Steward, which stops the children in priority order; SIGKILL to\n\
         # whatever is left of the cgroup only after Steward has exited.\n\
         KillMode=mixed\n\
         # The slowest program's stopwaitsecs ({wait}) + {margin} s.\n\
         TimeoutStopSec={stop}\n\
         Restart=on-failure\n\
         RestartSec=5s\n\
         LimitNOFILE={nofile}\n\
         \n\
         [Install]\n\
         WantedBy=multi-user.target\n",
        header = header(CommentStyle::Hash, &owner()),
        desc = i.description,
        wait = i.max_stopwaitsecs,
        margin = STOP_MARGIN_SECS,
        stop = i.max_stopwaitsecs + STOP_MARGIN_SECS,
        nofile = i.minfds.max(MIN_NOFILE),
    )
}

/// What `install` is asked to do.
#[derive(Debug, Clone)]
pub struct InstallOptions {
    pub root: PathBuf,
    /// The steward binary the unit runs (a path on the target system).
    pub binary: PathBuf,
    /// Override the detected configuration.
    pub config: Option<PathBuf>,
    /// Unit directory on the target system (default /etc/systemd/system).
    pub unit_dir: PathBuf,
    /// Rewrite a managed unit whose content changed.
    pub update: bool,
    /// Overwrite a unit file that Steward did not write.
    pub force: bool,
    /// Take over the Debian `supervisor` unit's name and config.
    pub replace_supervisor: bool,
}

/// What `install` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Installed {
    pub unit_name: String,
    /// The unit file's path under the root.
    pub unit_path: PathBuf,
    pub outcome: WriteOutcome,
    pub config: PathBuf,
    /// The default config was written (a fresh `/etc/steward`).
    pub created_config: bool,
}

/// The unit's name: `supervisor.service` when replacing supervisor, else `steward.service`.
pub fn unit_name(replace_supervisor: bool) -> &'static str {
    if replace_supervisor {
        "supervisor.service"
    } else {
        "steward.service"
    }
}

/// Installs (or, with `update`, refreshes) the unit. Idempotent.
pub fn install(o: &InstallOptions) -> Result<Installed, ServiceError> {
    let place = ConfigPlace::detect_in(&o.root);
    if o.replace_supervisor && !place.supervisor && o.config.is_none() {
        return Err(ServiceError::NoSupervisorConfig(SUPERVISOR_CONF.into()));
    }
    let config = o.config.clone().unwrap_or(place.config.clone());
    let config_on_root = under(&o.root, &config);
    let mut created_config = false;
    if o.config.is_none() && !place.supervisor && !config_on_root.exists() {
        let inc = under(&o.root, &place.include_dir);
        fs::create_dir_all(&inc).map_err(io_err(&inc))?;
        let logs = under(&o.root, Path::new("/var/log/steward"));
        fs::create_dir_all(&logs).map_err(io_err(&logs))?;
        write_atomic(
            &config_on_root,
            default_config(&place.include_dir).as_bytes(),
            0o644,
        )?;
        created_config = true;
    }
    let mut load_opts = steward_config::LoadOptions::from_system();
    // Under another root the config's absolute paths (log dirs, users) are the target
    // system's, not this one's.
    load_opts.check_system = o.root == Path::new("/");
    let cfg =
        steward_config::load(&config_on_root, &load_opts).map_err(|e| ServiceError::BadConfig {
            config: config_on_root.clone(),
            errors: e.to_string(),
        })?;
    let text = render_unit(&UnitInputs::from_config(&cfg, &o.binary, &config));
    let name = unit_name(o.replace_supervisor);
    let unit_path = under(&o.root, &o.unit_dir.join(name));
    match fs::read_to_string(&unit_path) {
        Ok(old) if old == text => {}
        Ok(old) if !o.force && !is_owned_by(&old, &owner()) => {
            return Err(ServiceError::NotOurs(unit_path))
        }
        Ok(old) if !o.update && owner_of(&old).is_some() => {
            return Err(ServiceError::Outdated(unit_path))
        }
        Ok(_) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            let dir = unit_path.parent().expect("a unit path has a directory");
            fs::create_dir_all(dir).map_err(io_err(dir))?;
        }
        Err(e) => return Err(io_err(&unit_path)(e)),
    }
    let outcome = write_atomic(&unit_path, text.as_bytes(), 0o644)?;
    Ok(Installed {
        unit_name: name.into(),
        unit_path,
        outcome,
        config,
        created_config,
    })
}

/// Removes the unit file if Steward wrote it (the configuration is left alone: it is the
/// operator's). Returns the removed path, `None` if there was no unit.
pub fn uninstall(
    root: &Path,
    unit_dir: &Path,
    replace_supervisor: bool,
) -> Result<Option<PathBuf>, ServiceError> {
    let path = under(root, &unit_dir.join(unit_name(replace_supervisor)));
    match fs::read_to_string(&path) {
        Ok(text) if is_owned_by(&text, &owner()) => {
            fs::remove_file(&path).map_err(io_err(&path))?;
            Ok(Some(path))
        }
        Ok(_) => Err(ServiceError::NotOurs(path)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io_err(&path)(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unit_follows_the_config() {
        let i = UnitInputs {
            binary: "/usr/bin/steward".into(),
            config: "/etc/steward/steward.conf".into(),
            max_stopwaitsecs: 3600,
            minfds: 1024,
            description: "x".into(),
        };
        let u = render_unit(&i);
        assert!(u.starts_with("# managed by steward (service)"));
        for line in [
            "Type=notify\n",
            "NotifyAccess=main\n",
            "ExecStart=/usr/bin/steward daemon -n -c /etc/steward/steward.conf\n",
            "ExecReload=/usr/bin/steward ctl -c /etc/steward/steward.conf update\n",
            "KillMode=mixed\n",
            "TimeoutStopSec=3630\n",
            "Restart=on-failure\n",
            "LimitNOFILE=65536\n",
            "WantedBy=multi-user.target\n",
        ] {
            assert!(u.contains(line), "{line}");
        }
        let more = render_unit(&UnitInputs {
            minfds: 200_000,
            ..i
        });
        assert!(more.contains("LimitNOFILE=200000\n"));
    }

    #[test]
    fn layout_prefers_an_existing_supervisor() {
        let root = tempfile::tempdir().unwrap();
        assert!(!ConfigPlace::detect_in(root.path()).supervisor);
        let sup = under(root.path(), Path::new(SUPERVISOR_CONF));
        fs::create_dir_all(sup.parent().unwrap()).unwrap();
        fs::write(&sup, "[supervisord]\n").unwrap();
        let l = ConfigPlace::detect_in(root.path());
        assert!(l.supervisor);
        assert_eq!(l.include_dir, Path::new("/etc/supervisor/conf.d"));
    }
}
