//! Every node at once: one polling task per node, the latest [`NodeView`] of each in a
//! `watch` channel.
//!
//! A node's task calls [`NodeClient::processes`] (bounded by the node's timeout), then
//! writes that node's slot of the shared view and sleeps out the rest of the interval.
//! Tasks never wait on one another, so a dead node (refused at once) or a frozen one
//! (SIGSTOP, a half-open TCP peer: the call runs into its timeout) delays only its own
//! slot. The first failed poll makes a node `unreachable` with the time of that failure;
//! the first good poll after it makes it `ok` again, with nothing to reset by hand.
//! Dropping the [`Fleet`] stops its tasks.

use crate::client::{NodeClient, NodeProcess};
use crate::spec::NodeSpec;
use crate::NodeError;
use serde::Serialize;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// The default time between two polls of one node.
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(1);

/// Whether a node answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "lowercase")]
pub enum NodeStatus {
    /// Not asked yet.
    Pending,
    Ok,
    Unreachable {
        /// When the node stopped answering (RFC 3339, UTC).
        since: String,
        /// Why the latest call failed.
        error: String,
    },
}

/// What is known about one node: no credentials, only what may be shown.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NodeView {
    pub name: String,
    pub url: String,
    #[serde(flatten)]
    pub status: NodeStatus,
    /// When the node was last asked (RFC 3339, UTC).
    pub checked_at: Option<String>,
    /// How long its latest good answer took.
    pub latency_ms: Option<u64>,
    /// Its processes as of the latest good answer; empty while it is unreachable (a
    /// stale list would pass for the present).
    pub processes: Vec<NodeProcess>,
}

impl NodeView {
    fn pending(spec: &NodeSpec) -> NodeView {
        NodeView {
            name: spec.name.clone(),
            url: spec.url.clone(),
            status: NodeStatus::Pending,
            checked_at: None,
            latency_ms: None,
            processes: Vec::new(),
        }
    }

    pub fn is_ok(&self) -> bool {
        self.status == NodeStatus::Ok
    }

    /// The view after one poll that ended with `result` after `took`.
    fn after(&self, result: Result<Vec<NodeProcess>, NodeError>, took: Duration) -> NodeView {
        let now = now_rfc3339();
        match result {
            Ok(processes) => NodeView {
                status: NodeStatus::Ok,
                checked_at: Some(now),
                latency_ms: Some(took.as_millis() as u64),
                processes,
                ..self.clone()
            },
            Err(e) => {
                let since = match &self.status {
                    NodeStatus::Unreachable { since, .. } => since.clone(),
                    _ => now.clone(),
                };
                NodeView {
                    status: NodeStatus::Unreachable {
                        since,
                        error: e.to_string(),
                    },
                    checked_at: Some(now),
                    latency_ms: None,
                    processes: Vec::new(),
                    ..self.clone()
                }
            }
        }
    }
}

fn now_rfc3339() -> String {
    let now = jiff::Timestamp::now();
    now.round(jiff::Unit::Millisecond)
        .unwrap_or(now)
        .to_string()
}

/// The nodes, their clients, and (once started) their polling tasks.
pub struct Fleet {
    clients: Vec<Arc<NodeClient>>,
    views: Arc<watch::Sender<Vec<Arc<NodeView>>>>,
    tasks: Mutex<Vec<JoinHandle<()>>>,
}

impl Fleet {
    /// A client per spec; nothing is contacted until [`Fleet::start`] or
    /// [`Fleet::poll_once`].
    pub fn new(specs: Vec<NodeSpec>) -> Result<Fleet, NodeError> {
        let views = specs
            .iter()
            .map(|s| Arc::new(NodeView::pending(s)))
            .collect();
        let clients = specs
            .into_iter()
            .map(|s| NodeClient::new(s).map(Arc::new))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Fleet {
            clients,
            views: Arc::new(watch::channel(views).0),
            tasks: Mutex::new(Vec::new()),
        })
    }

    /// Starts one polling task per node (on the current tokio runtime), each asking its
    /// node every `interval`. Calling it again restarts them.
    pub fn start(&self, interval: Duration) {
        let mut tasks = self.tasks.lock().unwrap_or_else(|p| p.into_inner());
        for t in tasks.drain(..) {
            t.abort();
        }
        for (slot, client) in self.clients.iter().enumerate() {
            let client = client.clone();
            let views = self.views.clone();
            tasks.push(tokio::spawn(async move {
                loop {
                    let began = Instant::now();
                    poll_into(&client, slot, &views).await;
                    tokio::time::sleep_until((began + interval).into()).await;
                }
            }));
        }
    }

    /// Asks every node once, all at the same time, and returns when each has answered
    /// or run into its timeout.
    pub async fn poll_once(&self) -> Vec<Arc<NodeView>> {
        futures_util::future::join_all(
            self.clients
                .iter()
                .enumerate()
                .map(|(slot, c)| poll_into(c, slot, &self.views)),
        )
        .await;
        self.views()
    }

    /// The latest view of every node, in spec order.
    pub fn views(&self) -> Vec<Arc<NodeView>> {
        self.views.borrow().clone()
    }

    /// The latest view of one node.
    pub fn view(&self, name: &str) -> Option<Arc<NodeView>> {
        self.views.borrow().iter().find(|v| v.name == name).cloned()
    }

    /// A receiver that wakes on every change of any node's view.
    pub fn subscribe(&self) -> watch::Receiver<Vec<Arc<NodeView>>> {
        self.views.subscribe()
    }

    /// The client of the node `name`.
    pub fn client(&self, name: &str) -> Option<Arc<NodeClient>> {
        self.clients.iter().find(|c| c.name() == name).cloned()
    }

    pub fn clients(&self) -> &[Arc<NodeClient>] {
        &self.clients
    }

    pub fn is_empty(&self) -> bool {
        self.clients.is_empty()
    }
}

impl Drop for Fleet {
    fn drop(&mut self) {
        for t in self
            .tasks
            .get_mut()
            .unwrap_or_else(|p| p.into_inner())
            .drain(..)
        {
            t.abort();
        }
    }
}

async fn poll_into(client: &NodeClient, slot: usize, views: &watch::Sender<Vec<Arc<NodeView>>>) {
    let began = Instant::now();
    let result = client.processes().await;
    let took = began.elapsed();
    views.send_modify(|all| {
        if let Some(v) = all.get_mut(slot) {
            *v = Arc::new(v.after(result, took));
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unreachable_keeps_its_first_time_and_recovers() {
        let spec = NodeSpec::new("a", "http://127.0.0.1:1").unwrap();
        let v = NodeView::pending(&spec);
        let down = v.after(Err(NodeError::Remote("x".into())), Duration::ZERO);
        let NodeStatus::Unreachable { since, .. } = &down.status else {
            panic!("{down:?}")
        };
        let still = down.after(Err(NodeError::Remote("y".into())), Duration::ZERO);
        assert!(
            matches!(&still.status, NodeStatus::Unreachable { since: s, error } if s == since && error == "y")
        );
        let back = still.after(Ok(Vec::new()), Duration::from_millis(3));
        assert_eq!(back.status, NodeStatus::Ok);
        assert_eq!(back.latency_ms, Some(3));
    }

    #[test]
    fn views_serialize_without_credentials() {
        let mut spec = NodeSpec::new("a", "http://127.0.0.1:1").unwrap();
        spec.auth = crate::NodeAuth::Basic {
            username: "u".into(),
            password: "s3cret".into(),
        };
        let fleet = Fleet::new(vec![spec]).unwrap();
        let json = serde_json::to_string(&*fleet.views()[0]).unwrap();
        assert!(json.contains(r#""status":"pending""#), "{json}");
        assert!(!json.contains("s3cret"));
    }
}
