//! One node's client: its process list and actions on its processes, each call bounded
//! by the node's timeout.
//!
//! Nodes with a username/password (or none) are reached over XML-RPC on `/RPC2`
//! (`supervisor.getAllProcessInfo`, `startProcess`, …), which Steward and supervisord
//! 4.3 both answer; nodes with a bearer token through Steward's JSON API
//! (`/api/v1/processes…`), since `/RPC2` takes only Basic credentials. Either way a
//! process comes back as the same [`NodeProcess`], the JSON API's summary shape.
//!
//! Polls keep one connection open; every action gets a connection of its own, so a
//! `start` that waits for `startsecs` never holds up the node's next poll.

use crate::spec::{NodeAuth, NodeSpec};
use crate::NodeError;
use bytes::Bytes;
use serde::{Deserialize, Serialize};
use std::future::Future;
use std::time::Duration;
use steward_rpc::client::{AsyncClient, ClientError, Target};
use steward_rpc::{faults, Value};

/// How long an action may take: a start waits for `startsecs`, a stop for `stopwaitsecs`.
pub const ACTION_TIMEOUT: Duration = Duration::from_secs(30);

/// One process of a node, in the JSON API's summary shape (`GET /api/v1/processes`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NodeProcess {
    /// The namespec (`group:name`, or `name` when both are the same).
    pub name: String,
    pub group: String,
    pub process: String,
    /// `RUNNING`, `STOPPED`, `FATAL`, …
    pub state: String,
    pub pid: Option<i64>,
    #[serde(default)]
    pub uptime_s: Option<u64>,
    #[serde(default)]
    pub exit_status: Option<i64>,
    #[serde(default)]
    pub description: String,
}

/// What can be done to one process of a node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    Start,
    Stop,
    Restart,
    /// A signal by name or number (`HUP`, `15`).
    Signal(String),
}

impl Action {
    /// `start`, `stop`, `restart` or `signal` (with `signal` set).
    pub fn parse(action: &str, signal: Option<&str>) -> Option<Action> {
        Some(match (action, signal) {
            ("start", _) => Action::Start,
            ("stop", _) => Action::Stop,
            ("restart", _) => Action::Restart,
            ("signal", Some(s)) => Action::Signal(s.to_string()),
            _ => return None,
        })
    }

    pub fn verb(&self) -> &'static str {
        match self {
            Action::Start => "start",
            Action::Stop => "stop",
            Action::Restart => "restart",
            Action::Signal(_) => "signal",
        }
    }
}

/// The client of one node.
pub struct NodeClient {
    spec: NodeSpec,
    target: Target,
    poller: AsyncClient,
}

impl NodeClient {
    /// A client for `spec`; connects lazily.
    pub fn new(spec: NodeSpec) -> Result<NodeClient, NodeError> {
        let target = Target::parse_with_tls(&spec.url)?.with_ca(spec.ca.clone());
        let poller = AsyncClient::new(target.clone(), authorization(&spec.auth));
        Ok(NodeClient {
            spec,
            target,
            poller,
        })
    }

    pub fn spec(&self) -> &NodeSpec {
        &self.spec
    }

    pub fn name(&self) -> &str {
        &self.spec.name
    }

    fn uses_json_api(&self) -> bool {
        matches!(self.spec.auth, NodeAuth::Token(_))
    }

    /// Every process of the node, within the node's timeout.
    pub async fn processes(&self) -> Result<Vec<NodeProcess>, NodeError> {
        bounded(self.spec.timeout, async {
            if self.uses_json_api() {
                let reply = self
                    .poller
                    .request("GET", "/api/v1/processes", None, Bytes::new())
                    .await?;
                let body = json_reply(reply.status, &reply.body)?;
                #[derive(Deserialize)]
                struct List {
                    processes: Vec<NodeProcess>,
                }
                let list: List = serde_json::from_value(body)
                    .map_err(|e| NodeError::Remote(format!("unexpected process list: {e}")))?;
                Ok(list.processes)
            } else {
                let v = self
                    .poller
                    .call("supervisor.getAllProcessInfo", &[])
                    .await?;
                let infos = v.as_array().ok_or_else(|| {
                    NodeError::Remote("getAllProcessInfo did not return a list".into())
                })?;
                Ok(infos.iter().map(from_process_info).collect())
            }
        })
        .await
    }

    /// Any XML-RPC method on the node (for callers that need more than the process
    /// list, such as `steward top`), within the node's timeout, on the poll connection.
    pub async fn call(&self, method: &str, params: &[Value]) -> Result<Value, NodeError> {
        bounded(self.spec.timeout, async {
            Ok(self.poller.call(method, params).await?)
        })
        .await
    }

    /// Does `action` to the process `name` (a namespec) and waits for it to settle, on
    /// a connection of its own, within [`ACTION_TIMEOUT`].
    pub async fn act(&self, name: &str, action: &Action) -> Result<(), NodeError> {
        let client = AsyncClient::new(self.target.clone(), authorization(&self.spec.auth));
        bounded(ACTION_TIMEOUT.max(self.spec.timeout), async {
            if self.uses_json_api() {
                let path = format!(
                    "/api/v1/processes/{}/{}",
                    percent_encoding::utf8_percent_encode(name, PATH_SEGMENT),
                    action.verb()
                );
                let body = match action {
                    Action::Signal(s) => serde_json::json!({ "signal": s }).to_string(),
                    _ => String::new(),
                };
                let reply = client
                    .request("POST", &path, Some("application/json"), Bytes::from(body))
                    .await?;
                json_reply(reply.status, &reply.body)?;
                return Ok(());
            }
            let name_v = Value::String(name.to_string());
            let wait = Value::Bool(true);
            match action {
                Action::Start => {
                    client
                        .call("supervisor.startProcess", &[name_v, wait])
                        .await?;
                }
                Action::Stop => {
                    client
                        .call("supervisor.stopProcess", &[name_v, wait])
                        .await?;
                }
                Action::Restart => {
                    // supervisorctl's restart: stop (not running is fine), then start.
                    match client
                        .call("supervisor.stopProcess", &[name_v.clone(), wait.clone()])
                        .await
                    {
                        Ok(_) => {}
                        Err(ClientError::Fault(f)) if f.code == faults::NOT_RUNNING => {}
                        Err(e) => return Err(e.into()),
                    }
                    client
                        .call("supervisor.startProcess", &[name_v, wait])
                        .await?;
                }
                Action::Signal(sig) => {
                    client
                        .call(
                            "supervisor.signalProcess",
                            &[name_v, Value::String(sig.clone())],
                        )
                        .await?;
                }
            }
            Ok(())
        })
        .await
    }
}

impl NodeError {
    /// The XML-RPC fault behind this error, if it is one (code, text).
    pub fn fault(&self) -> Option<(i32, &str)> {
        match self {
            NodeError::Client(ClientError::Fault(f)) => Some((f.code, f.string.as_str())),
            _ => None,
        }
    }
}

/// Characters left as they are in one path segment (a namespec's `:` included).
const PATH_SEGMENT: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~')
    .remove(b':');

fn authorization(auth: &NodeAuth) -> Option<String> {
    match auth {
        NodeAuth::None => None,
        NodeAuth::Basic { username, password } => Some(AsyncClient::basic(username, password)),
        NodeAuth::Token(t) => Some(format!("Bearer {t}")),
    }
}

async fn bounded<T>(
    limit: Duration,
    work: impl Future<Output = Result<T, NodeError>>,
) -> Result<T, NodeError> {
    match tokio::time::timeout(limit, work).await {
        Ok(r) => r,
        Err(_) => Err(NodeError::Timeout(limit)),
    }
}

/// A JSON API answer: the body of a 2xx, else the API's error message.
fn json_reply(status: u16, body: &[u8]) -> Result<serde_json::Value, NodeError> {
    let v: serde_json::Value = serde_json::from_slice(body).unwrap_or(serde_json::Value::Null);
    if (200..300).contains(&status) {
        return Ok(v);
    }
    let field = |k: &str| {
        v.pointer(&format!("/error/{k}"))
            .and_then(|m| m.as_str())
            .unwrap_or("")
            .to_string()
    };
    let message = field("message");
    Err(NodeError::Refused {
        status,
        code: field("code"),
        message: if message.is_empty() {
            "no message".into()
        } else {
            message
        },
    })
}

fn namespec(group: &str, name: &str) -> String {
    if group == name {
        name.to_string()
    } else {
        format!("{group}:{name}")
    }
}

/// A `getProcessInfo` struct as a [`NodeProcess`], the way the JSON API summarises one.
fn from_process_info(v: &Value) -> NodeProcess {
    let s = |k: &str| v.get(k).and_then(Value::as_str).unwrap_or("").to_string();
    let i = |k: &str| v.get(k).and_then(Value::as_int).unwrap_or(0) as i64;
    let (group, process) = (s("group"), s("name"));
    let state = s("statename");
    let running = matches!(state.as_str(), "RUNNING" | "STARTING" | "STOPPING");
    let exited = matches!(state.as_str(), "EXITED" | "STOPPED") && i("start") > 0;
    NodeProcess {
        name: namespec(&group, &process),
        group,
        process,
        pid: Some(i("pid")).filter(|p| *p > 0),
        uptime_s: (running && i("start") > 0).then(|| (i("now") - i("start")).max(0) as u64),
        exit_status: exited.then(|| i("exitstatus")),
        description: s("description"),
        state,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(members: &[(&str, Value)]) -> Value {
        Value::Struct(
            members
                .iter()
                .map(|(k, v)| (k.to_string(), v.clone()))
                .collect(),
        )
    }

    #[test]
    fn process_info_becomes_the_api_summary() {
        let p = from_process_info(&info(&[
            ("name", Value::String("worker_00".into())),
            ("group", Value::String("app".into())),
            ("statename", Value::String("RUNNING".into())),
            ("pid", Value::Int(4242)),
            ("start", Value::Int(1000)),
            ("now", Value::Int(1065)),
            ("exitstatus", Value::Int(0)),
            (
                "description",
                Value::String("pid 4242, uptime 0:01:05".into()),
            ),
        ]));
        assert_eq!(p.name, "app:worker_00");
        assert_eq!(p.pid, Some(4242));
        assert_eq!(p.uptime_s, Some(65));
        assert_eq!(p.exit_status, None);
        let q = from_process_info(&info(&[
            ("name", Value::String("web".into())),
            ("group", Value::String("web".into())),
            ("statename", Value::String("EXITED".into())),
            ("pid", Value::Int(0)),
            ("start", Value::Int(1000)),
            ("exitstatus", Value::Int(3)),
        ]));
        assert_eq!(
            (q.name.as_str(), q.pid, q.exit_status),
            ("web", None, Some(3))
        );
    }

    #[test]
    fn api_errors_carry_their_message() {
        let e = json_reply(403, br#"{"error":{"code":"FORBIDDEN","message":"nope"}}"#)
            .unwrap_err()
            .to_string();
        assert_eq!(e, "HTTP 403: nope");
    }
}
