//! Many nodes (docs/nodes.md), with real daemons on 127.0.0.1: several Steward daemons
//! and one supervisord 4.3 from the venv. `steward ctl --node …` on one and every node;
//! the fleet poller of crates/nodes over 20 nodes × 100 processes, with one daemon
//! killed and one frozen (SIGSTOP) while it runs.

mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};
use steward_nodes::{Fleet, NodeSpec, NodeStatus, NodeView};
use support::*;

const WORKERS: &str = "
[program:app]
command=sleep 100000
process_name=worker_%(process_num)02d
numprocs={n}
startsecs=0
";

/// A daemon with `n` workers, listening on its unix socket and, with `inet`, on
/// 127.0.0.1:{port} with Basic credentials ops/s3cret.
fn node_conf(n: usize, inet: bool, extra: &str) -> Conf {
    let inet = if inet {
        "[inet_http_server]\nport=127.0.0.1:{port}\nusername=ops\npassword=s3cret\n\n"
    } else {
        ""
    };
    let c = Conf::new("");
    let text = format!(
        "{inet}{}{}{extra}",
        c.text(),
        WORKERS.replace("{n}", &n.to_string())
    );
    c.write_raw(&text);
    c
}

fn wait_all_running(d: &Daemon, n: usize) {
    let ok = wait_until(secs(60.0), || {
        d.rpc("supervisor.getAllProcessInfo", vec![])
            .map(|v| {
                let a = v.as_array().cloned().unwrap_or_default();
                a.len() == n && a.iter().all(|p| p["statename"] == "RUNNING")
            })
            .unwrap_or(false)
    });
    assert!(ok, "{} did not start its {n} workers", d.target.name());
}

fn sock_url(d: &Daemon) -> String {
    format!("unix://{}", d.conf.sock.display())
}

#[test]
fn ctl_node_runs_one_command_on_one_or_every_node() {
    let web1 = Daemon::start_steward(node_conf(2, true, ""));
    let old = Daemon::start_supervisord(node_conf(1, false, ""));
    let local = Daemon::start_steward(node_conf(
        1,
        false,
        &format!(
            "\n[steward]\nnode = here\n\
             [node:web1]\nserverurl = http://127.0.0.1:{}\nusername = ops\npassword = s3cret\n\
             [node:old]\nserverurl = {}\n\
             [node:here]\nserverurl = unix:///nonexistent/is-this-daemon.sock\n",
            web1.conf.port,
            sock_url(&old)
        ),
    ));
    for d in [&web1, &old, &local] {
        wait_all_running(d, if std::ptr::eq(d, &web1) { 2 } else { 1 });
    }

    let out = local.steward_ctl(&["--node", "all", "status"]);
    assert_eq!(out.code, 0, "{out}");
    let lines: Vec<&str> = out.stdout.lines().collect();
    for (prefix, name) in [
        ("here: ", "app:worker_00"),
        ("web1: ", "app:worker_00"),
        ("web1: ", "app:worker_01"),
        ("old: ", "app:worker_00"),
    ] {
        assert!(
            lines
                .iter()
                .any(|l| l.starts_with(&format!("{prefix}{name} ")) && l.contains("RUNNING")),
            "no {prefix}{name} RUNNING line in\n{out}"
        );
    }
    // The [node:here] entry is this daemon itself (same file on every server): run once.
    assert_eq!(lines.iter().filter(|l| l.starts_with("here: ")).count(), 1);
    assert!(!out.stdout.contains("s3cret") && !out.stderr.contains("s3cret"));

    // One node: the action happens there and only there.
    let out = local.steward_ctl(&["--node", "web1", "stop", "app:worker_01"]);
    assert_eq!(out.code, 0, "{out}");
    assert_eq!(out.stdout, "web1: app:worker_01: stopped\n");
    assert_eq!(web1.state("app:worker_01"), "STOPPED");
    assert_eq!(local.state("app:worker_00"), "RUNNING");

    // The exit status is the worst of the nodes: status is 3 where a process is stopped.
    let out = local.steward_ctl(&["--node", "all", "status"]);
    assert_eq!(out.code, 3, "{out}");

    // A node given on the command line, and an unknown one.
    let out = local.steward_ctl(&[
        "--node",
        &format!("extra={}", sock_url(&old)),
        "pid",
    ]);
    assert_eq!(out.code, 0, "{out}");
    assert!(out.stdout.starts_with("extra: ") && out.stdout.trim_end().split(": ").nth(1).unwrap().parse::<u32>().is_ok(), "{out}");
    let out = local.steward_ctl(&["--node", "nosuch", "status"]);
    assert_eq!(out.code, 2, "{out}");
    assert!(out.stderr.contains("no node named \"nosuch\" (known: here, web1, old, all)"), "{out}");

    // A frozen node is reported within its timeout; the others answer as usual.
    web1.signal(libc::SIGSTOP);
    let t0 = Instant::now();
    let out = local.steward_ctl(&["--node", "all", "status"]);
    let took = t0.elapsed();
    web1.signal(libc::SIGCONT);
    assert!(took < secs(5.0), "took {took:?}\n{out}");
    assert_eq!(out.code, 1, "{out}");
    assert!(out.stdout.contains("web1: unreachable: no answer within 1s"), "{out}");
    assert!(out.stdout.contains("old: app:worker_00"), "{out}");
    assert!(out.stdout.contains("here: app:worker_00"), "{out}");
}
