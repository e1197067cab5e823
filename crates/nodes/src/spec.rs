//! Which nodes there are: [`NodeSpec`]s from `[node:NAME]` sections and `--node
//! NAME=URL` flags.
//!
//! A config may list every node of a fleet, this one included (the same file deployed
//! to each server): a `[node:x]` named like the local daemon
//! (`Config::local_node_name`) is that daemon, so [`node_specs`] leaves it out. Flags
//! carry no credentials (argv is visible to every local user in `ps`); a node that
//! needs them is described in the config file.

use crate::NodeError;
use std::path::PathBuf;
use std::time::Duration;
use steward_config::sections::nodes::{check_node_name, check_node_url};
use steward_config::{Config, NodeConfig};

/// How a client proves itself to a node.
#[derive(Clone, PartialEq, Eq)]
pub enum NodeAuth {
    None,
    /// HTTP Basic, what `/RPC2` accepts on Steward and supervisord alike.
    Basic {
        username: String,
        password: String,
    },
    /// A Steward API bearer token (the node is then reached through its JSON API).
    Token(String),
}

impl std::fmt::Debug for NodeAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NodeAuth::None => f.write_str("None"),
            NodeAuth::Basic { username, .. } => write!(f, "Basic({username}, <redacted>)"),
            NodeAuth::Token(_) => f.write_str("Token(<redacted>)"),
        }
    }
}

/// One node: its name, where it listens and how to log in there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeSpec {
    pub name: String,
    /// `http://…`, `https://…` or `unix://…`, without credentials.
    pub url: String,
    pub auth: NodeAuth,
    /// Every call (connection included) gives up after this long.
    pub timeout: Duration,
    /// For `https://`: the CA file to trust instead of the system's roots.
    pub ca: Option<PathBuf>,
}

/// The per-call timeout of a node that does not set one.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(1);

impl NodeSpec {
    /// A node without credentials.
    pub fn new(name: &str, url: &str) -> Result<NodeSpec, NodeError> {
        Ok(NodeSpec {
            name: check_node_name(name).map_err(NodeError::BadSpec)?,
            url: check_node_url(url).map_err(NodeError::BadSpec)?,
            auth: NodeAuth::None,
            timeout: DEFAULT_TIMEOUT,
            ca: None,
        })
    }

    /// The spec of a `[node:x]` section; reads its token file.
    pub fn from_config(node: &NodeConfig) -> Result<NodeSpec, NodeError> {
        let auth = match (&node.username, &node.password, &node.token_file) {
            (_, _, Some(path)) => {
                let token = std::fs::read_to_string(path).map_err(|e| {
                    NodeError::BadSpec(format!(
                        "node {}: cannot read token_file {}: {e}",
                        node.name,
                        path.display()
                    ))
                })?;
                NodeAuth::Token(token.trim().to_string())
            }
            (Some(u), Some(p), None) => NodeAuth::Basic {
                username: u.clone(),
                password: p.clone(),
            },
            _ => NodeAuth::None,
        };
        Ok(NodeSpec {
            name: node.name.clone(),
            url: node.serverurl.clone(),
            auth,
            timeout: node.timeout,
            ca: node.ca.clone(),
        })
    }
}

/// `--node NAME=URL` (no credentials: see the module doc).
pub fn parse_node_flag(flag: &str) -> Result<NodeSpec, NodeError> {
    let (name, url) = flag.split_once('=').ok_or_else(|| {
        NodeError::BadSpec(format!(
            "--node {flag}: expected NAME=URL (e.g. web1=http://10.0.0.1:9001)"
        ))
    })?;
    NodeSpec::new(name, url).map_err(|e| NodeError::BadSpec(format!("--node {flag}: {e}")))
}

/// Every remote node: the config's `[node:x]` sections in file order (less the one
/// named like this daemon), then the `--node` flags. A name given twice is an error.
pub fn node_specs(config: Option<&Config>, flags: &[String]) -> Result<Vec<NodeSpec>, NodeError> {
    let mut out: Vec<NodeSpec> = Vec::new();
    if let Some(cfg) = config {
        let local = cfg.local_node_name();
        for n in cfg.nodes.iter().filter(|n| n.name != local) {
            out.push(NodeSpec::from_config(n)?);
        }
    }
    for f in flags {
        let spec = parse_node_flag(f)?;
        if out.iter().any(|s| s.name == spec.name) {
            return Err(NodeError::BadSpec(format!(
                "--node {f}: a node named {} is already defined",
                spec.name
            )));
        }
        out.push(spec);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_parse_and_refuse_credentials() {
        let s = parse_node_flag("web1=http://127.0.0.1:9001").unwrap();
        assert_eq!(s.name, "web1");
        assert_eq!(s.url, "http://127.0.0.1:9001");
        assert_eq!(s.auth, NodeAuth::None);
        assert!(parse_node_flag("web1").is_err());
        assert!(parse_node_flag("all=http://x:1").is_err());
        let e = parse_node_flag("w=http://u:p@x:1").unwrap_err().to_string();
        assert!(e.contains("credentials go in username/password"), "{e}");
    }

    #[test]
    fn debug_hides_secrets() {
        let a = NodeAuth::Basic {
            username: "ops".into(),
            password: "s3cret".into(),
        };
        assert!(!format!("{a:?}").contains("s3cret"));
        assert!(!format!("{:?}", NodeAuth::Token("stw_x".into())).contains("stw_x"));
    }

    #[test]
    fn duplicates_are_refused() {
        let flags = vec!["a=http://x:1".to_string(), "a=http://x:2".to_string()];
        assert!(node_specs(None, &flags).is_err());
    }
}
