//! Applying written files to a running daemon, Steward or supervisord, over XML-RPC only.
//!
//! [`Daemon::update_groups`] is supervisorctl's `update NAME...`: `reloadConfig` tells
//! which groups the files on disk add, change or remove, and only the named groups are
//! acted on (stop, remove, add), so someone's half-finished edit of another file stays
//! pending. [`Daemon::stop_and_remove`] takes a group out before its file is deleted.

use steward_rpc::client::{Client, ClientError};
use steward_rpc::{faults, Value};

/// A failed exchange with the daemon, worded for an operator.
#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    #[error("{url} refused connection")]
    Refused { url: String },
    #[error("{url} no such file")]
    NoSocket { url: String },
    #[error("{url}: {source}")]
    Other {
        url: String,
        #[source]
        source: ClientError,
    },
    /// `reloadConfig` refused the files on disk (the daemon keeps its running config).
    #[error("the daemon could not re-read its configuration: {0}")]
    Reread(String),
    #[error("{group}: {what}")]
    Group { group: String, what: String },
}

/// What an update did to the groups it was asked about.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UpdateReport {
    pub added: Vec<String>,
    pub changed: Vec<String>,
    pub removed: Vec<String>,
}

/// One process as `getAllProcessInfo` reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcessInfo {
    pub group: String,
    pub name: String,
    pub state: String,
    pub pid: i32,
    pub description: String,
}

/// A connection to a daemon's XML-RPC interface.
pub struct Daemon {
    client: Client,
    url: String,
}

fn text(v: &Value, key: &str) -> String {
    v.get(key)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

fn names(v: Option<&Value>) -> Vec<String> {
    v.and_then(Value::as_array)
        .unwrap_or(&[])
        .iter()
        .filter_map(|n| n.as_str().map(str::to_string))
        .collect()
}

impl Daemon {
    /// A client for `serverurl`; connects on the first call.
    pub fn new(
        serverurl: &str,
        username: Option<&str>,
        password: Option<&str>,
    ) -> Result<Daemon, DaemonError> {
        let client =
            Client::new(serverurl, username, password).map_err(|source| DaemonError::Other {
                url: serverurl.into(),
                source,
            })?;
        Ok(Daemon {
            client,
            url: serverurl.into(),
        })
    }

    fn call(&mut self, method: &str, params: &[Value]) -> Result<Value, DaemonError> {
        self.client.call(method, params).map_err(|e| match e {
            ClientError::ConnRefused => DaemonError::Refused {
                url: self.url.clone(),
            },
            ClientError::NoSuchFile => DaemonError::NoSocket {
                url: self.url.clone(),
            },
            source => DaemonError::Other {
                url: self.url.clone(),
                source,
            },
        })
    }

    /// Fails unless the daemon answers (`getState`).
    pub fn ping(&mut self) -> Result<(), DaemonError> {
        self.call("supervisor.getState", &[]).map(|_| ())
    }

    /// Whether the daemon is Steward (it has the `steward.*` methods, e.g. for `[cron:x]`).
    pub fn is_steward(&mut self) -> bool {
        self.call("system.listMethods", &[])
            .map(|v| names(Some(&v)).iter().any(|m| m.starts_with("steward.")))
            .unwrap_or(false)
    }

    /// Every process the daemon runs.
    pub fn processes(&mut self) -> Result<Vec<ProcessInfo>, DaemonError> {
        let all = self.call("supervisor.getAllProcessInfo", &[])?;
        Ok(all
            .as_array()
            .unwrap_or(&[])
            .iter()
            .map(|p| ProcessInfo {
                group: text(p, "group"),
                name: text(p, "name"),
                state: text(p, "statename"),
                pid: p.get("pid").and_then(Value::as_int).unwrap_or(0),
                description: text(p, "description"),
            })
            .collect())
    }

    /// `reloadConfig`: the groups the files on disk add, change and remove.
    pub fn reload_config(&mut self) -> Result<UpdateReport, DaemonError> {
        let v = match self.call("supervisor.reloadConfig", &[]) {
            Ok(v) => v,
            Err(DaemonError::Other { source, .. }) if source.fault().is_some() => {
                let f = source.fault().expect("checked");
                return Err(DaemonError::Reread(f.string.clone()));
            }
            Err(e) => return Err(e),
        };
        let lists = v
            .as_array()
            .and_then(|a| a.first())
            .and_then(Value::as_array)
            .unwrap_or(&[]);
        Ok(UpdateReport {
            added: names(lists.first()),
            changed: names(lists.get(1)),
            removed: names(lists.get(2)),
        })
    }

    /// supervisorctl's `update G1 G2 ...`: re-read the files, then add, restart with the
    /// new config, or remove each named group as needed; other groups are left alone.
    pub fn update_groups(&mut self, groups: &[String]) -> Result<UpdateReport, DaemonError> {
        let diff = self.reload_config()?;
        let wanted = |g: &String| groups.contains(g);
        let mut done = UpdateReport::default();
        for g in diff.removed.iter().filter(|g| wanted(g)) {
            self.stop_and_remove(g)?;
            done.removed.push(g.clone());
        }
        for g in diff.changed.iter().filter(|g| wanted(g)) {
            self.stop_group(g)?;
            self.call("supervisor.removeProcessGroup", &[g.as_str().into()])
                .map_err(|e| group_error(g, e))?;
            self.call("supervisor.addProcessGroup", &[g.as_str().into()])
                .map_err(|e| group_error(g, e))?;
            done.changed.push(g.clone());
        }
        for g in diff.added.iter().filter(|g| wanted(g)) {
            self.call("supervisor.addProcessGroup", &[g.as_str().into()])
                .map_err(|e| group_error(g, e))?;
            done.added.push(g.clone());
        }
        Ok(done)
    }

    fn stop_group(&mut self, group: &str) -> Result<(), DaemonError> {
        let results = self
            .call("supervisor.stopProcessGroup", &[group.into()])
            .map_err(|e| group_error(group, e))?;
        let failed: Vec<String> = results
            .as_array()
            .unwrap_or(&[])
            .iter()
            .filter(|r| r.get("status").and_then(Value::as_int) == Some(faults::FAILED))
            .map(|r| format!("{} ({})", text(r, "name"), text(r, "description")))
            .collect();
        if failed.is_empty() {
            Ok(())
        } else {
            Err(DaemonError::Group {
                group: group.into(),
                what: format!("could not be stopped: {}", failed.join(", ")),
            })
        }
    }

    /// Stops every process of `group` (waiting for each, within its stopwaitsecs) and
    /// removes the group. `Ok(false)`: the daemon has no such group.
    pub fn stop_and_remove(&mut self, group: &str) -> Result<bool, DaemonError> {
        match self.stop_group(group) {
            Err(DaemonError::Group { what, .. }) if what.starts_with("BAD_NAME") => {
                return Ok(false)
            }
            r => r?,
        }
        self.call("supervisor.removeProcessGroup", &[group.into()])
            .map_err(|e| group_error(group, e))?;
        Ok(true)
    }
}

fn group_error(group: &str, e: DaemonError) -> DaemonError {
    match e {
        DaemonError::Other { source, .. } if source.fault().is_some() => {
            let f = source.fault().expect("checked");
            DaemonError::Group {
                group: group.into(),
                what: f.string.clone(),
            }
        }
        other => other,
    }
}
