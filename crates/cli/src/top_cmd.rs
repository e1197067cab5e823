//! `steward top`: resolves which daemons to watch and hands them to `steward_top::run`.
//!
//! The connection flags are `steward ctl`'s (`-c`, `-s`, `-u`, `-p`, with the
//! `[supervisorctl]` section of the config behind them); `--token-file` adds a bearer
//! token so actions through the JSON API work where the listener has credentials;
//! `--node NAME=URL` (repeatable) adds more daemons, each shown with a NODE column.
//! Without `--node` the one source is the local daemon; with `--node` the local daemon is
//! added too when `-c` or `-s` names it.
//!
//! Exit status: 0 after `q` or a signal; 2 bad usage (a malformed `--node`, an unreadable
//! token file, a bad configuration file); 1 the terminal could not be used.

use std::path::PathBuf;

use anyhow::{bail, Context};
use steward_top::SourceSpec;

use crate::cron_cmd::ConnArgs;

/// `steward top`.
#[derive(clap::Args, Debug, Clone)]
pub struct TopArgs {
    #[command(flatten)]
    pub conn: ConnArgs,
    /// Show only: every start, stop, restart, signal, cron change, command run and
    /// reload is refused.
    #[arg(long)]
    pub readonly: bool,
    /// A file holding an API bearer token (`steward token create`), for actions on a
    /// listener that has credentials.
    #[arg(long, value_name = "FILE")]
    pub token_file: Option<PathBuf>,
    /// Another daemon to show, as NAME=URL (`unix:///path.sock`, `http://host:port`,
    /// `http://user:password@host:port`). Repeatable.
    #[arg(long = "node", value_name = "NAME=URL")]
    pub nodes: Vec<String>,
}

/// Runs the UI; returns the exit status.
pub fn run(args: &TopArgs) -> i32 {
    let specs = match sources(args) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("Error: {e:#}");
            return 2;
        }
    };
    match steward_top::run(
        specs,
        steward_top::Options {
            readonly: args.readonly,
        },
    ) {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("Error: {e}");
            1
        }
    }
}

fn sources(args: &TopArgs) -> anyhow::Result<Vec<SourceSpec>> {
    let token = match &args.token_file {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read the token file {}", path.display()))?;
            let token = text.trim().to_string();
            if token.is_empty() || token.contains(char::is_whitespace) {
                bail!(
                    "the token file {} must hold one token (from `steward token create`)",
                    path.display()
                );
            }
            Some(token)
        }
        None => None,
    };
    let mut specs = Vec::new();
    // The config's `[node:x]` sections (docs/nodes.md): shown beside the local daemon.
    let configured = configured_nodes(args)?;
    let explicit_local = args.conn.configuration.is_some() || args.conn.serverurl.is_some();
    if args.nodes.is_empty() || explicit_local || !configured.1.is_empty() {
        let local = crate::cron_cmd::resolve(&args.conn).map_err(anyhow::Error::msg)?;
        specs.push(SourceSpec {
            name: configured.0.clone().unwrap_or_else(|| "local".into()),
            serverurl: local.serverurl,
            username: local.username,
            password: local.password,
            token: token.clone(),
            ca: None,
        });
    }
    for node in configured.1 {
        specs.push(node);
    }
    for node in &args.nodes {
        let mut spec = parse_node(node)?;
        spec.token = token.clone();
        if specs.iter().any(|s| s.name == spec.name) {
            bail!("--node {node}: the name {} is used twice", spec.name);
        }
        specs.push(spec);
    }
    Ok(specs)
}

/// The local node's name and the remote `[node:x]` nodes of the configuration, when it
/// has any (the name is `None` without them, and the one source stays "local").
fn configured_nodes(args: &TopArgs) -> anyhow::Result<(Option<String>, Vec<SourceSpec>)> {
    let Some(path) = crate::cron_cmd::config_path(&args.conn).map_err(anyhow::Error::msg)? else {
        return Ok((None, Vec::new()));
    };
    let Ok(cfg) = steward_config::load(&path, &steward_config::LoadOptions::from_system()) else {
        // A config top cannot load still names a socket ([supervisorctl]); nodes need it whole.
        return Ok((None, Vec::new()));
    };
    if cfg.nodes.is_empty() {
        return Ok((None, Vec::new()));
    }
    let mut out = Vec::new();
    for node in steward_nodes::node_specs(Some(&cfg), &[]).map_err(|e| anyhow::anyhow!("{e}"))? {
        let mut spec = SourceSpec::new(&node.name, &node.url);
        spec.ca = node.ca.clone();
        match node.auth {
            steward_nodes::spec::NodeAuth::None => {}
            steward_nodes::spec::NodeAuth::Basic { username, password } => {
                spec.username = Some(username);
                spec.password = Some(password);
            }
            steward_nodes::spec::NodeAuth::Token(t) => spec.token = Some(t),
        }
        out.push(spec);
    }
    Ok((Some(cfg.local_node_name()), out))
}

/// `NAME=URL`, where an `http://` URL may carry `user:password@`.
fn parse_node(arg: &str) -> anyhow::Result<SourceSpec> {
    let Some((name, url)) = arg.split_once('=') else {
        bail!("--node {arg}: expected NAME=URL (e.g. web2=http://10.0.0.2:9001)");
    };
    let valid_name = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if !valid_name {
        bail!("--node {arg}: a node name is letters, digits, '-', '_' or '.'");
    }
    let mut spec = SourceSpec::new(name, url);
    if let Some(rest) = url.strip_prefix("http://") {
        let netloc_end = rest.find('/').unwrap_or(rest.len());
        if let Some((userinfo, host)) = rest[..netloc_end].rsplit_once('@') {
            let (user, password) = userinfo.split_once(':').unwrap_or((userinfo, ""));
            spec.username = Some(user.to_string());
            spec.password = Some(password.to_string());
            spec.serverurl = format!("http://{host}{}", &rest[netloc_end..]);
        }
    } else if !url.starts_with("unix://") && !url.starts_with("https://") {
        bail!("--node {arg}: the URL must start with http://, https:// or unix://");
    }
    Ok(spec)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_flags() {
        let s = parse_node("web2=http://admin:s3cret@10.0.0.2:9001").unwrap();
        assert_eq!(s.name, "web2");
        assert_eq!(s.serverurl, "http://10.0.0.2:9001");
        assert_eq!(s.username.as_deref(), Some("admin"));
        assert_eq!(s.password.as_deref(), Some("s3cret"));
        let s = parse_node("db=unix:///run/steward.sock").unwrap();
        assert_eq!(s.serverurl, "unix:///run/steward.sock");
        assert!(s.username.is_none());
        for bad in ["web2", "=http://x", "a b=http://x"] {
            assert!(parse_node(bad).is_err(), "{bad}");
        }
    }
}
