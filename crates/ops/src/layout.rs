//! What an operator tool needs to know about a daemon's configuration: the include
//! directory its `[include] files=` names (where program files go), its pidfile (what a
//! logrotate `postrotate` signals) and how `supervisorctl` would reach it.
//!
//! Only the main file is read (lexed by `steward_config`'s configparser, values
//! interpolated like the loader does): a half-edited file elsewhere in `conf.d` must not
//! stop a tool from finding its way, and the daemon re-reads the full tree itself when
//! the tool asks it to (`reloadConfig`).

use std::path::{Path, PathBuf};

use steward_config::ini::{Entry, Ini};
use steward_config::interpolate::{expand, Expansions, Val};
use steward_config::LoadOptions;

/// Where files go and how to reach the daemon.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    /// The main configuration file, when one was found.
    pub config: Option<PathBuf>,
    /// The directory of the first `[include] files=` pattern.
    pub include_dir: Option<PathBuf>,
    /// The file-name part of that pattern (`*.conf`), to check our names against.
    pub include_glob: Option<String>,
    /// `[supervisord] pidfile`, when set.
    pub pidfile: Option<PathBuf>,
    pub serverurl: String,
    pub username: Option<String>,
    pub password: Option<String>,
}

/// A configuration that cannot be read.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct LayoutError(pub String);

impl Layout {
    /// What a machine without any configuration file looks like (Debian's defaults).
    pub fn defaults() -> Layout {
        Layout {
            config: None,
            include_dir: None,
            include_glob: None,
            pidfile: None,
            serverurl: "http://localhost:9001".into(),
            username: None,
            password: None,
        }
    }

    /// Reads `config` (the main file only).
    pub fn read(config: &Path) -> Result<Layout, LayoutError> {
        let opts = LoadOptions::from_system();
        // A config without [supervisorctl] (a daemon reached with -s) gets the defaults.
        let ctl = match steward_config::load_ctl(Some(config), &opts) {
            Ok(ctl) => ctl,
            Err(e)
                if e.0.len() == 1
                    && e.0[0]
                        .reason
                        .contains("does not include supervisorctl section") =>
            {
                steward_config::load_ctl(None, &opts).map_err(|e| LayoutError(e.to_string()))?
            }
            Err(e) => return Err(LayoutError(e.to_string())),
        };
        let text = std::fs::read_to_string(config)
            .map_err(|e| LayoutError(format!("{}: {e}", config.display())))?;
        let mut ini = Ini::default();
        if let Some(e) = ini.read(&text, config).into_iter().next() {
            return Err(LayoutError(format!(
                "{}:{}: {}",
                e.file.display(),
                e.line,
                e.reason
            )));
        }
        let here = config
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from("."));
        let mut exp: Expansions = opts
            .env
            .iter()
            .map(|(k, v)| (format!("ENV_{k}"), Val::Str(v.clone())))
            .collect();
        exp.insert("here".into(), Val::Str(here.display().to_string()));
        exp.insert(
            "host_node_name".into(),
            Val::Str(opts.host_node_name.clone()),
        );
        let value = |section: &str, key: &str| -> Result<Option<String>, LayoutError> {
            let Some(sec) = ini.section(section) else {
                return Ok(None);
            };
            let Some(Entry { value, .. }) = ini.get(sec, key) else {
                return Ok(None);
            };
            expand(value, &exp, &format!("{section}.{key}"))
                .map(Some)
                .map_err(|m| LayoutError(format!("{}: {m}", config.display())))
        };
        let (include_dir, include_glob) = match value("include", "files")? {
            Some(files) => match files.split_whitespace().next() {
                Some(first) => {
                    let pattern = here.join(first);
                    let dir = pattern.parent().map(Path::to_path_buf);
                    let glob = pattern
                        .file_name()
                        .map(|n| n.to_string_lossy().into_owned());
                    if dir
                        .as_ref()
                        .is_some_and(|d| d.to_string_lossy().contains(['*', '?', '[']))
                    {
                        return Err(LayoutError(format!(
                            "{}: [include] files = {first}: the directory part has a wildcard; give the directory with --include-dir",
                            config.display()
                        )));
                    }
                    (dir, glob)
                }
                None => (None, None),
            },
            None => (None, None),
        };
        let pidfile = value("supervisord", "pidfile")?.map(|p| here.join(p));
        Ok(Layout {
            config: Some(config.to_path_buf()),
            include_dir,
            include_glob,
            pidfile,
            serverurl: ctl.serverurl,
            username: ctl.username,
            password: ctl.password,
        })
    }

    /// Whether a file named `name` in the include directory is picked up by the pattern.
    pub fn include_matches(&self, name: &str) -> bool {
        match &self.include_glob {
            Some(g) => glob::Pattern::new(g).is_ok_and(|p| p.matches(name)),
            None => true,
        }
    }
}

/// The configuration file a tool reads: the explicit one, else the first that exists of
/// supervisord's search paths, else none.
pub fn find_config(explicit: Option<&Path>) -> Option<PathBuf> {
    if let Some(p) = explicit {
        return Some(std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf()));
    }
    let bindir = std::env::current_exe()
        .ok()
        .and_then(|p| p.parent().map(Path::to_path_buf));
    steward_config::search_paths(bindir.as_deref())
        .into_iter()
        .find(|c| c.exists())
        .map(|c| std::path::absolute(&c).unwrap_or(c))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_include_dir_pidfile_and_server() {
        let dir = tempfile::tempdir().unwrap();
        let conf = dir.path().join("supervisord.conf");
        std::fs::write(
            &conf,
            "[supervisord]\npidfile=%(here)s/run/s.pid\n[include]\nfiles = conf.d/*.conf other/*.ini\n\
             [supervisorctl]\nserverurl=unix://%(here)s/s.sock\n",
        )
        .unwrap();
        let l = Layout::read(&conf).unwrap();
        assert_eq!(l.include_dir, Some(dir.path().join("conf.d")));
        assert_eq!(l.pidfile, Some(dir.path().join("run/s.pid")));
        assert_eq!(
            l.serverurl,
            format!("unix://{}/s.sock", dir.path().display())
        );
        assert!(l.include_matches("w.conf"));
        assert!(!l.include_matches("w.ini"));
        std::fs::write(&conf, "[supervisord]\n").unwrap();
        let l = Layout::read(&conf).unwrap();
        assert_eq!(l.serverurl, "http://localhost:9001");
        assert_eq!(l.include_dir, None);
    }
}
