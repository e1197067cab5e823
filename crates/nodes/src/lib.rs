//! Many supervisors seen as one: the nodes of `[node:NAME]` sections and `--node` flags.
//!
//! Data flow: [`spec`] turns the config's `[node:x]` sections and `--node NAME=URL`
//! flags into a list of [`NodeSpec`]s (name, address, credentials, timeout). A
//! [`NodeClient`] per spec ([`client`]) talks to that node — XML-RPC on `/RPC2`, which
//! both Steward and a stock supervisord 4.3 answer, or Steward's JSON API when the node
//! is given a bearer token — and bounds every call by the node's timeout. A [`Fleet`]
//! ([`fleet`]) owns one client per node and one polling task per node, so a dead or
//! frozen node only ever delays its own row; each task publishes the node's
//! [`NodeView`] (status `ok`, or `unreachable` since when and why, plus the last
//! process list) into one `watch` channel that readers (the API, the dashboard,
//! `steward top`) borrow without waiting on any node.
//!
//! The small API other crates use:
//! - [`node_specs`] (config + flags → specs), [`parse_node_flag`];
//! - [`NodeClient::new`], [`NodeClient::processes`], [`NodeClient::act`],
//!   [`NodeClient::call`] (any XML-RPC method);
//! - [`Fleet::new`], [`Fleet::start`] (the polling tasks), [`Fleet::views`] /
//!   [`Fleet::subscribe`], [`Fleet::client`].
//!
//! Credentials live only in [`NodeAuth`], whose `Debug` hides them; nothing here puts
//! them in a [`NodeView`] or any other value meant to be shown.

pub mod client;
pub mod fleet;
pub mod spec;

pub use client::{Action, NodeClient, NodeProcess};
pub use fleet::{Fleet, NodeStatus, NodeView};
pub use spec::{node_specs, parse_node_flag, NodeAuth, NodeSpec};

/// What can go wrong with a node or its description.
#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    /// A `--node` flag or a spec that cannot be used.
    #[error("{0}")]
    BadSpec(String),
    /// The node did not answer within its timeout.
    #[error("no answer within {0:?}")]
    Timeout(std::time::Duration),
    /// Connecting or talking to the node failed.
    #[error("{0}")]
    Client(#[from] steward_rpc::client::ClientError),
    /// The node answered, but with an error of its own (a fault, an HTTP error).
    #[error("{0}")]
    Remote(String),
    /// A Steward node's JSON API refused the request (its status, error code, message).
    #[error("HTTP {status}: {message}")]
    Refused {
        status: u16,
        code: String,
        message: String,
    },
    /// No node of that name.
    #[error("no node named {0:?}")]
    UnknownNode(String),
}
