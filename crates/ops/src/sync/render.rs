//! The two files of each inventory program: `<conf-dir>/<domain>-<program>.conf` and
//! `<logrotate-dir>/supervisor-<domain>-<program>.conf`, both opening with the managed
//! header scoped to the domain.
//!
//! By default the seed's hazards are fixed (docs/sync.md lists them): `process_name`
//! when `numprocs > 1`, one log per program through `redirect_stderr=true`, no size
//! rotation by the daemon (`stdout_logfile_maxbytes=0`) because logrotate rotates, and
//! logrotate `create` plus a `postrotate` that sends SIGUSR2 to the daemon's pidfile
//! (reopen every log) instead of `copytruncate`. `seed_exact` renders seed 002's own
//! bodies (after the header) for comparison and for hosts that depend on them.

use std::path::{Path, PathBuf};

use super::inventory::Entry;
use crate::managed::{header, CommentStyle, Owner};

/// The fixed parts of a sync: which site, where files go, who runs the programs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    pub domain: String,
    pub conf_dir: PathBuf,
    pub logrotate_dir: PathBuf,
    /// `/home/deployer/sites`: the site root is `<sites_dir>/<domain>`.
    pub sites_dir: PathBuf,
    pub log_dir: PathBuf,
    pub user: String,
    /// The daemon's pidfile, for the logrotate `postrotate` reopen.
    pub pidfile: PathBuf,
    pub seed_exact: bool,
}

impl Settings {
    pub fn owner(&self) -> Owner {
        Owner::new("sync", Some(&self.domain))
    }

    pub fn site_root(&self) -> PathBuf {
        self.sites_dir.join(&self.domain)
    }

    pub fn runner(&self) -> PathBuf {
        self.site_root().join("runner.sh")
    }

    /// `<domain>-<program>`: the program (and group) name in the daemon.
    pub fn group(&self, program: &str) -> String {
        format!("{}-{program}", self.domain)
    }

    pub fn program_path(&self, program: &str) -> PathBuf {
        self.conf_dir.join(format!("{}.conf", self.group(program)))
    }

    pub fn logrotate_path(&self, program: &str) -> PathBuf {
        self.logrotate_dir
            .join(format!("supervisor-{}.conf", self.group(program)))
    }

    pub fn log_path(&self, program: &str) -> PathBuf {
        self.log_dir.join(format!("{}.log", self.group(program)))
    }

    /// The file-name prefixes that orphan detection considers.
    pub fn program_prefix(&self) -> String {
        format!("{}-", self.domain)
    }

    pub fn logrotate_prefix(&self) -> String {
        format!("supervisor-{}-", self.domain)
    }
}

fn show(p: &Path) -> String {
    // Interpolated by the daemon's loader: a literal % must be doubled.
    p.display().to_string().replace('%', "%%")
}

/// The program file.
pub fn program(s: &Settings, e: &Entry) -> String {
    let group = s.group(&e.program);
    let root = s.site_root();
    let mut out = header(CommentStyle::Semicolon, &s.owner());
    out.push_str(&format!("[program:{group}]\n"));
    if e.numprocs > 1 && !s.seed_exact {
        out.push_str("process_name=%(program_name)s_%(process_num)02d\n");
    }
    out.push_str(&format!(
        "command={} .deployer/supervisors/{}\n\
         directory={}\n\
         user={}\n\
         autostart={}\n\
         autorestart={}\n\
         stopwaitsecs={}\n\
         numprocs={}\n",
        show(&root.join("runner.sh")),
        e.script,
        show(&root.join("current")),
        s.user,
        e.autostart,
        e.autorestart,
        e.stopwaitsecs,
        e.numprocs,
    ));
    let log = show(&s.log_path(&e.program));
    if s.seed_exact {
        out.push_str(&format!("stdout_logfile={log}\nstderr_logfile={log}\n"));
    } else {
        // The stop signal reaches the script, not only runner.sh in front of it.
        out.push_str(&format!(
            "stopasgroup=true\n\
             killasgroup=true\n\
             redirect_stderr=true\n\
             stdout_logfile={log}\n\
             stdout_logfile_maxbytes=0\n"
        ));
    }
    out
}

/// The logrotate file.
pub fn logrotate(s: &Settings, e: &Entry) -> String {
    let mut out = header(CommentStyle::Hash, &s.owner());
    out.push_str(&format!(
        "{} {{\n    daily\n    rotate 5\n    maxage 30\n    missingok\n    notifempty\n    compress\n    delaycompress\n",
        s.log_path(&e.program).display()
    ));
    if s.seed_exact {
        out.push_str("    copytruncate\n}\n");
    } else {
        // logrotate renames the log and creates an empty one; until the daemon reopens
        // (SIGUSR2: every log, Steward and supervisord alike) lines go on landing in the
        // renamed file, which delaycompress leaves uncompressed: nothing is lost.
        out.push_str(&format!(
            "    create\n    sharedscripts\n    postrotate\n        pid=$(cat '{}' 2>/dev/null) && kill -USR2 \"$pid\" 2>/dev/null || true\n    endscript\n}}\n",
            s.pidfile.display()
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seed_settings(seed_exact: bool) -> Settings {
        Settings {
            domain: "example.com".into(),
            conf_dir: "/etc/supervisor/conf.d".into(),
            logrotate_dir: "/etc/logrotate.d".into(),
            sites_dir: "/home/deployer/sites".into(),
            log_dir: "/var/log/supervisor".into(),
            user: "deployer".into(),
            pidfile: "/var/run/supervisord.pid".into(),
            seed_exact,
        }
    }

    fn seed_entry() -> Entry {
        Entry {
            program: "queue-worker".into(),
            script: "queue-worker.sh".into(),
            autostart: true,
            autorestart: true,
            stopwaitsecs: 3600,
            numprocs: 1,
        }
    }

    fn body(text: &str) -> &str {
        text.split_once('\n').unwrap().1
    }

    #[test]
    fn seed_exact_bodies_are_seed_002_byte_for_byte() {
        let s = seed_settings(true);
        assert_eq!(
            body(&program(&s, &seed_entry())),
            "[program:example.com-queue-worker]
command=/home/deployer/sites/example.com/runner.sh .deployer/supervisors/queue-worker.sh
directory=/home/deployer/sites/example.com/current
user=deployer
autostart=true
autorestart=true
stopwaitsecs=3600
numprocs=1
stdout_logfile=/var/log/supervisor/example.com-queue-worker.log
stderr_logfile=/var/log/supervisor/example.com-queue-worker.log
"
        );
        assert_eq!(
            body(&logrotate(&s, &seed_entry())),
            "/var/log/supervisor/example.com-queue-worker.log {
    daily
    rotate 5
    maxage 30
    missingok
    notifempty
    compress
    delaycompress
    copytruncate
}
"
        );
        assert_eq!(
            s.program_path("queue-worker"),
            Path::new("/etc/supervisor/conf.d/example.com-queue-worker.conf")
        );
        assert_eq!(
            s.logrotate_path("queue-worker"),
            Path::new("/etc/logrotate.d/supervisor-example.com-queue-worker.conf")
        );
    }

    #[test]
    fn fixed_files_have_one_log_a_process_name_and_no_copytruncate() {
        let s = seed_settings(false);
        let mut e = seed_entry();
        e.numprocs = 3;
        let p = program(&s, &e);
        assert!(p.contains("process_name=%(program_name)s_%(process_num)02d\n"));
        assert!(p.contains("redirect_stderr=true\n") && !p.contains("stderr_logfile"));
        assert!(p.contains("stdout_logfile_maxbytes=0\n"));
        let l = logrotate(&s, &e);
        assert!(!l.contains("copytruncate") && l.contains("    create\n"));
        assert!(l.contains("kill -USR2"));
    }
}
