//! The real `crontab` program, driven with `LC_ALL=C` so its messages can be matched:
//! `crontab [-u USER] -l` to read, `crontab [-u USER] -` (always with `-`) to install,
//! `crontab [-u USER] -r` only to restore a "no crontab" backup, `crontab -n FILE`
//! (Debian) or `crontab -T FILE` (cronie) to check a file before a restore installs it.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use super::CrontabError;

/// A user's crontab as `crontab -l` shows it: no crontab at all is a state of its own
/// (rc 1, `no crontab for USER`), distinct from an empty one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Current {
    None,
    Text(String),
}

impl Current {
    /// The text, "no crontab" reading as empty.
    pub fn text(&self) -> &str {
        match self {
            Current::None => "",
            Current::Text(t) => t,
        }
    }
}

/// One user's crontab, through the `crontab` program.
#[derive(Debug, Clone)]
pub struct CrontabBinary {
    /// The program (default `crontab` on PATH).
    pub program: PathBuf,
    /// `-u USER`; `None` = the invoking user.
    pub user: Option<String>,
}

impl CrontabBinary {
    pub fn new(program: Option<&Path>, user: Option<&str>) -> CrontabBinary {
        CrontabBinary {
            program: program.map_or_else(|| PathBuf::from("crontab"), Path::to_path_buf),
            user: user.map(str::to_string),
        }
    }

    /// The user's name, for messages and backup file names.
    pub fn user_name(&self) -> String {
        self.user.clone().unwrap_or_else(|| {
            nix::unistd::User::from_uid(nix::unistd::geteuid())
                .ok()
                .flatten()
                .map_or_else(|| nix::unistd::geteuid().to_string(), |u| u.name)
        })
    }

    fn command(&self) -> Command {
        let mut c = Command::new(&self.program);
        c.env("LC_ALL", "C");
        if let Some(u) = &self.user {
            c.arg("-u").arg(u);
        }
        c
    }

    fn run(
        &self,
        args: &[&str],
        stdin: Option<&str>,
    ) -> Result<(i32, String, String), CrontabError> {
        let mut cmd = self.command();
        cmd.args(args)
            .stdin(if stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let spawn_err = |e: std::io::Error| CrontabError::Spawn {
            program: self.program.clone(),
            source: e,
        };
        let mut child = cmd.spawn().map_err(spawn_err)?;
        if let Some(input) = stdin {
            let mut pipe = child.stdin.take().expect("stdin is piped");
            // A crontab that refuses the input may exit before reading it all.
            let _ = pipe.write_all(input.as_bytes());
        }
        let out = child.wait_with_output().map_err(spawn_err)?;
        Ok((
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).trim_end().to_string(),
        ))
    }

    fn failed(&self, action: &str, rc: i32, stderr: String) -> CrontabError {
        CrontabError::Failed {
            action: format!(
                "{} {}{action}",
                self.program.display(),
                self.user
                    .as_ref()
                    .map_or(String::new(), |u| format!("-u {u} "))
            ),
            rc,
            stderr,
        }
    }

    /// `crontab -l`.
    pub fn read(&self) -> Result<Current, CrontabError> {
        let (rc, out, err) = self.run(&["-l"], None)?;
        if rc == 0 {
            return Ok(Current::Text(out));
        }
        if rc == 1 && err.starts_with("no crontab for ") {
            return Ok(Current::None);
        }
        Err(self.failed("-l", rc, err))
    }

    /// `crontab -` with `text` on stdin.
    pub fn install(&self, text: &str) -> Result<(), CrontabError> {
        let (rc, _, err) = self.run(&["-"], Some(text))?;
        if rc == 0 {
            Ok(())
        } else {
            Err(self.failed("-", rc, err))
        }
    }

    /// `crontab -r`.
    pub fn remove(&self) -> Result<(), CrontabError> {
        let (rc, _, err) = self.run(&["-r"], None)?;
        if rc == 0 || err.starts_with("no crontab for ") {
            Ok(())
        } else {
            Err(self.failed("-r", rc, err))
        }
    }

    /// Asks the program to check `file` without installing it, with the flag its usage
    /// text offers: `-T FILE` (cronie ≥ 1.5.6) or `-n FILE` when described as a dry run
    /// (Debian). Never a bare guess: cronie's own `-n HOST` sets the cluster host.
    /// `Ok(false)` when it offers neither.
    pub fn check_file(&self, file: &Path) -> Result<bool, CrontabError> {
        let (_, out, err) = self.run(&["-h"], None)?;
        let usage = format!("{out}{err}");
        let flag = if usage.contains("-T") {
            "-T"
        } else if usage.contains("dry run") {
            "-n"
        } else {
            return Ok(false);
        };
        let path = file.to_string_lossy();
        let (rc, _, err) = self.run(&[flag, &path], None)?;
        if rc == 0 {
            Ok(true)
        } else {
            Err(self.failed(&format!("{flag} {path}"), rc, err))
        }
    }
}
