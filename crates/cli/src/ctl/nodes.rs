//! `steward ctl --node NAME|all|NAME=URL …`: one ctl command on one or many nodes.
//!
//! Data flow: [`split_node_args`] takes the `--node` options out of ctl's argv (the
//! rest is supervisorctl's own). [`run`] resolves the selection against the config's
//! `[node:x]` sections, the `NAME=URL` flags and the local daemon (named by
//! `Config::local_node_name`, reached the way plain `steward ctl` reaches it), then asks
//! every selected node `supervisor.getState` at the same time, bounded by the node's
//! timeout: a node that does not answer (frozen, half-open) is reported as unreachable
//! and skipped, so it never holds the others up. Each reachable node then runs the
//! command in a child `steward ctl` of its own, all in parallel; the parent prefixes
//! every line of their stdout and stderr with the node's name and exits with the worst
//! (highest) of their statuses.
//!
//! A remote node's address and credentials reach its child through a `[supervisorctl]`
//! file (mode 0600, in a private temp dir, removed afterwards), never through argv or
//! the environment; its `ca` through `SSL_CERT_FILE`, which the client's trust store
//! honours.

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use steward_nodes::{NodeAuth, NodeClient, NodeError, NodeSpec};

/// Set for the child ctl of an `https://` node: supervisorctl refuses `https://`
/// serverurls, so plain `steward ctl` does too; a node child accepts them.
pub const ALLOW_HTTPS_ENV: &str = "STEWARD_CTL_NODE_HTTPS";

/// The `--node` values found in ctl's argv, and the argv without them.
pub struct NodeArgs {
    pub selected: Vec<String>,
    pub rest: Vec<String>,
}

/// Options of supervisorctl that take a value (so their value is not an action word).
const VALUE_OPTIONS: &[&str] = &[
    "configuration",
    "serverurl",
    "username",
    "password",
    "history_file",
];

/// Takes every `--node X` / `--node=X` out of the options part of `argv` (before the
/// first action word, where getopt stops).
pub fn split_node_args(argv: &[String]) -> Result<NodeArgs, String> {
    let mut selected = Vec::new();
    let mut rest = Vec::new();
    let mut i = 0;
    while i < argv.len() {
        let a = &argv[i];
        if a == "--node" {
            let v = argv
                .get(i + 1)
                .ok_or("option --node requires argument (NAME, all or NAME=URL)")?;
            selected.push(v.clone());
            i += 2;
            continue;
        }
        if let Some(v) = a.strip_prefix("--node=") {
            selected.push(v.to_string());
            i += 1;
            continue;
        }
        if a == "--" || !a.starts_with('-') || a == "-" {
            rest.extend(argv[i..].iter().cloned());
            break;
        }
        rest.push(a.clone());
        let takes_value = if let Some(long) = a.strip_prefix("--") {
            !long.contains('=')
                && !long.is_empty()
                && VALUE_OPTIONS.iter().any(|o| o.starts_with(long))
        } else {
            // -s URL, but not -sURL; the value-taking letter ends a cluster like -is.
            a.len() >= 2 && a[1..].ends_with(['c', 's', 'u', 'p', 'r']) && {
                let letters = &a[1..];
                let first_value = letters.find(['c', 's', 'u', 'p', 'r']);
                first_value == Some(letters.len() - 1)
            }
        };
        if takes_value {
            if let Some(v) = argv.get(i + 1) {
                rest.push(v.clone());
            }
            i += 2;
        } else {
            i += 1;
        }
    }
    Ok(NodeArgs { selected, rest })
}

/// One node the command runs on.
struct Target {
    name: String,
    /// How the child ctl is started: `None` for the local daemon (the parent's own
    /// options), or the node's spec.
    spec: Option<NodeSpec>,
    probe: NodeSpec,
}

/// Runs `opts.args` on every selected node; returns the worst exit status.
pub fn run(node: NodeArgs, opts: &super::CtlOptions) -> i32 {
    match run_inner(node, opts) {
        Ok(code) => code,
        Err(msg) => {
            eprintln!("Error: {msg}");
            2
        }
    }
}

fn run_inner(node: NodeArgs, opts: &super::CtlOptions) -> Result<i32, String> {
    let config = match &opts.configfile {
        Some(path) => Some(
            steward_config::load(
                std::path::Path::new(path),
                &steward_config::LoadOptions::from_system(),
            )
            .map_err(|e| e.to_string())?,
        ),
        None => None,
    };
    let local_name = config
        .as_ref()
        .map(|c| c.local_node_name())
        .unwrap_or_else(|| {
            nix::unistd::gethostname()
                .ok()
                .and_then(|h| h.into_string().ok())
                .unwrap_or_else(|| "localhost".into())
        });
    let flags: Vec<String> = node
        .selected
        .iter()
        .filter(|s| s.contains('='))
        .cloned()
        .collect();
    let remote = steward_nodes::node_specs(config.as_ref(), &flags).map_err(|e| e.to_string())?;
    let local_probe = NodeSpec {
        name: local_name.clone(),
        url: opts.serverurl.clone(),
        auth: match (&opts.username, &opts.password) {
            (Some(u), Some(p)) => NodeAuth::Basic {
                username: u.clone(),
                password: p.clone(),
            },
            _ => NodeAuth::None,
        },
        timeout: steward_nodes::spec::DEFAULT_TIMEOUT,
        ca: None,
    };
    let mut targets: Vec<Target> = Vec::new();
    let add = |t: Target, targets: &mut Vec<Target>| {
        if !targets.iter().any(|x| x.name == t.name) {
            targets.push(t);
        }
    };
    for sel in &node.selected {
        let name = sel.split_once('=').map_or(sel.as_str(), |(n, _)| n);
        if name == "all" {
            add(
                Target {
                    name: local_name.clone(),
                    spec: None,
                    probe: local_probe.clone(),
                },
                &mut targets,
            );
            for s in &remote {
                add(remote_target(s)?, &mut targets);
            }
        } else if name == local_name {
            add(
                Target {
                    name: local_name.clone(),
                    spec: None,
                    probe: local_probe.clone(),
                },
                &mut targets,
            );
        } else {
            let spec = remote.iter().find(|s| s.name == name).ok_or_else(|| {
                let mut known: Vec<&str> = vec![local_name.as_str()];
                known.extend(remote.iter().map(|s| s.name.as_str()));
                format!("no node named {name:?} (known: {}, all)", known.join(", "))
            })?;
            add(remote_target(spec)?, &mut targets);
        }
    }
    if opts.interactive && targets.len() != 1 {
        return Err("--node with several nodes needs a command (no interactive shell)".into());
    }
    let reachable = probe_all(&targets);
    let tmp = tempfile_dir()?;
    let single = targets.len() == 1;
    let mut children = Vec::new();
    let mut worst = 0;
    for (t, probe) in targets.iter().zip(reachable) {
        if let Err(e) = probe {
            let out = std::io::stdout();
            let _ = writeln!(out.lock(), "{}: unreachable: {e}", t.name);
            worst = worst.max(super::controller::exit::GENERIC);
            continue;
        }
        let mut cmd = Command::new(std::env::current_exe().map_err(|e| e.to_string())?);
        cmd.arg("ctl");
        match &t.spec {
            None => {
                cmd.args(&node.rest);
            }
            Some(spec) => {
                let conf = tmp.path().join(format!("{}.conf", spec.name));
                write_ctl_file(&conf, spec)?;
                cmd.arg("-c").arg(&conf);
                if let Some(ca) = &spec.ca {
                    cmd.env("SSL_CERT_FILE", ca);
                }
                if spec.url.starts_with("https://") {
                    cmd.env(ALLOW_HTTPS_ENV, "1");
                }
                cmd.args(&opts.args);
            }
        }
        if single && opts.interactive {
            // The shell talks to the terminal itself: no prefix, nothing in between.
            let status = cmd.status().map_err(|e| e.to_string())?;
            return Ok(status.code().unwrap_or(1));
        }
        cmd.stdin(if single {
            Stdio::inherit()
        } else {
            Stdio::null()
        });
        cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
        let mut child = cmd.spawn().map_err(|e| format!("cannot start ctl: {e}"))?;
        let out = prefix_lines(t.name.clone(), child.stdout.take(), false);
        let err = prefix_lines(t.name.clone(), child.stderr.take(), true);
        children.push((child, out, err));
    }
    for (mut child, out, err) in children {
        let status = child.wait().map_err(|e| e.to_string())?;
        let _ = out.join();
        let _ = err.join();
        worst = worst.max(status.code().unwrap_or(1));
    }
    Ok(worst)
}

fn remote_target(spec: &NodeSpec) -> Result<Target, String> {
    if matches!(spec.auth, NodeAuth::Token(_)) {
        return Err(format!(
            "node {} has a token_file: ctl speaks XML-RPC, which takes username/password",
            spec.name
        ));
    }
    Ok(Target {
        name: spec.name.clone(),
        spec: Some(spec.clone()),
        probe: spec.clone(),
    })
}

/// `supervisor.getState` on every target at once, each within its node's timeout.
fn probe_all(targets: &[Target]) -> Vec<Result<(), NodeError>> {
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            return targets
                .iter()
                .map(|_| Err(NodeError::Remote(e.to_string())))
                .collect()
        }
    };
    rt.block_on(async {
        let probes = targets.iter().map(|t| async {
            let client = NodeClient::new(t.probe.clone())?;
            match client.call("supervisor.getState", &[]).await {
                // Answers in any form (a fault, a 401) come from a live node: the
                // child reports them in supervisorctl's words.
                Ok(_) | Err(NodeError::Client(_)) => Ok(()),
                Err(e) => Err(e),
            }
        });
        futures_util::future::join_all(probes).await
    })
}

/// A private directory for the nodes' `[supervisorctl]` files, removed on drop.
fn tempfile_dir() -> Result<tempfile::TempDir, String> {
    tempfile::Builder::new()
        .prefix("steward-ctl-nodes-")
        .tempdir()
        .map_err(|e| format!("cannot create a temp dir: {e}"))
}

fn write_ctl_file(path: &std::path::Path, spec: &NodeSpec) -> Result<(), String> {
    use std::os::unix::fs::OpenOptionsExt;
    // `%` starts an interpolation in supervisorctl's config; `%%` is a literal one.
    let esc = |s: &str| s.replace('%', "%%");
    let mut text = format!("[supervisorctl]\nserverurl = {}\n", esc(&spec.url));
    if let NodeAuth::Basic { username, password } = &spec.auth {
        text.push_str(&format!(
            "username = {}\npassword = {}\n",
            esc(username),
            esc(password)
        ));
    }
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    f.write_all(text.as_bytes())
        .map_err(|e| format!("cannot write {}: {e}", path.display()))
}

/// Copies `pipe` to our stdout (or stderr), each line prefixed by `name: `.
fn prefix_lines<R: std::io::Read + Send + 'static>(
    name: String,
    pipe: Option<R>,
    to_stderr: bool,
) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let Some(pipe) = pipe else { return };
        let mut reader = BufReader::new(pipe);
        let mut line = Vec::new();
        loop {
            line.clear();
            match reader.read_until(b'\n', &mut line) {
                Ok(0) | Err(_) => break,
                Ok(_) => {}
            }
            if !line.ends_with(b"\n") {
                line.push(b'\n');
            }
            let mut buf = Vec::with_capacity(name.len() + 2 + line.len());
            buf.extend_from_slice(name.as_bytes());
            buf.extend_from_slice(b": ");
            buf.extend_from_slice(&line);
            if to_stderr {
                let _ = std::io::stderr().lock().write_all(&buf);
            } else {
                let mut out = std::io::stdout().lock();
                let _ = out.write_all(&buf);
                let _ = out.flush();
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &[&str]) -> Vec<String> {
        s.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn node_options_come_out_of_the_options_part_only() {
        let a =
            split_node_args(&v(&["-c", "x.conf", "--node", "all", "status", "--node"])).unwrap();
        assert_eq!(a.selected, ["all"]);
        assert_eq!(a.rest, v(&["-c", "x.conf", "status", "--node"]));
        let a = split_node_args(&v(&[
            "--node=web1",
            "-s",
            "http://x",
            "--node",
            "w2=http://y:1",
            "stop",
            "all",
        ]))
        .unwrap();
        assert_eq!(a.selected, ["web1", "w2=http://y:1"]);
        assert_eq!(a.rest, v(&["-s", "http://x", "stop", "all"]));
        // the value of -u is not an action word, even when it looks like one
        let a =
            split_node_args(&v(&["-u", "status", "--node", "a", "--conf", "f", "tail"])).unwrap();
        assert_eq!(a.selected, ["a"]);
        assert_eq!(a.rest, v(&["-u", "status", "--conf", "f", "tail"]));
        assert!(split_node_args(&v(&["--node"])).is_err());
    }
}
