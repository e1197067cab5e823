//! Issue 16, containers (seeds 003 and 004): Steward as PID 1, without tini.
//!
//! `examples/docker/steward.conf` (seed 004's FastAPI + scheduler, everything to
//! `/dev/stdout`) runs unchanged, except for its paths (`/app`, `/run/…` → a temp dir),
//! as PID 1 of a new pid namespace (`unshare --pid --fork --mount-proc`, as `docker run`
//! gives it). The programs `fastapi` and `python` are stand-ins on PATH that print a
//! known number of lines and, on SIGTERM, a "stopping"/"stopped" pair.
//!
//! On SIGTERM (what `docker stop` sends PID 1): the scheduler (priority 200) is stopped
//! before the API (priority 100) starts to stop, the daemon exits 0, and every line the
//! programs wrote reached the daemon's stdout (docker logs). Needs root for the pid
//! namespace; otherwise it prints a note and passes.
mod support;
use support::*;

use std::fs;
use std::os::unix::fs::PermissionsExt;

const LINES: usize = 300;

/// A stand-in program: LINES numbered lines, then idle until SIGTERM, which it answers
/// with "stopping", a short drain, "stopped" and exit 0.
fn stand_in(name: &str, drain: &str) -> String {
    format!(
        "#!/bin/sh\ntrap 'echo \"{name}: stopping\"; sleep {drain}; echo \"{name}: stopped\"; exit 0' TERM\n\
         i=1\nwhile [ $i -le {LINES} ]; do echo \"{name}: line $i\"; i=$((i+1)); done\n\
         echo \"{name}: ready\"\nwhile :; do sleep 0.1; done\n"
    )
}

#[test]
fn seed_004_as_pid_1_stops_in_priority_order_and_exits_0_with_all_output() {
    let ok = std::process::Command::new("unshare")
        .args(["--pid", "--fork", "--mount-proc", "true"])
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        eprintln!("NOTE: skipped: `unshare --pid --fork --mount-proc` needs root");
        return;
    }
    let example = fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../examples/docker/steward.conf"
    ))
    .unwrap();
    let template = example
        .replace("directory=/app", "directory={dir}")
        .replace("/run/steward.sock", "{sock}")
        .replace("/run/steward.pid", "{dir}/steward.pid");
    assert!(template.contains("command=fastapi run --workers 4 app/main.py"));
    assert!(template.contains("command=python scheduler.py"));
    let conf = Conf::raw(&template);
    let bin = conf.file("bin");
    fs::create_dir(&bin).unwrap();
    for (name, body) in [
        ("fastapi", stand_in("fastapi", "0.2")),
        // `python scheduler.py` → this stand-in runs scheduler.py with sh.
        ("python", "#!/bin/sh\nexec sh \"$@\"\n".to_string()),
    ] {
        let p = bin.join(name);
        fs::write(&p, body).unwrap();
        fs::set_permissions(&p, fs::Permissions::from_mode(0o755)).unwrap();
    }
    conf.script("scheduler.py", &stand_in("scheduler", "0.5"));
    let path = format!(
        "PATH={}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut d = Daemon::start_wrapped(
        Target::Steward,
        conf,
        &["unshare", "--pid", "--fork", "--mount-proc", "env", &path],
    );
    d.wait_state("fastapi", "RUNNING", secs(10.0));
    d.wait_state("scheduler", "RUNNING", secs(10.0));
    // `docker exec … steward ctl status` works the same through the socket.
    let status = d.steward_ctl(&["status"]);
    assert!(
        status.stdout.contains("fastapi") && status.stdout.contains("RUNNING"),
        "{status}"
    );
    assert!(wait_until(secs(10.0), || {
        let out = d.stdout();
        out.contains("fastapi: ready") && out.contains("scheduler: ready")
    }));
    // The daemon as seen from outside: the wrapper's only child; inside, it is PID 1.
    let daemon = d
        .children()
        .first()
        .map(|p| p.pid)
        .expect("the daemon under unshare");
    kill(daemon, libc::SIGTERM);
    let st = d
        .wait_exit(secs(30.0))
        .expect("the daemon exits after SIGTERM");
    assert_eq!(
        st.code(),
        Some(0),
        "exit status of PID 1: {st:?}\n{}",
        d.stdout()
    );
    assert!(d.drain_output(secs(5.0)));
    let out = d.stdout();
    for name in ["fastapi", "scheduler"] {
        for i in 1..=LINES {
            assert!(
                out.contains(&format!("{name}: line {i}\n")),
                "{name} line {i} missing from stdout"
            );
        }
        assert!(out.contains(&format!("{name}: stopped\n")), "{out}");
    }
    let at = |needle: &str| {
        out.find(needle)
            .unwrap_or_else(|| panic!("{needle:?} not in\n{out}"))
    };
    assert!(
        at("scheduler: stopped") < at("fastapi: stopping"),
        "the API must stop only after the scheduler (priority 200 before 100):\n{out}"
    );
    assert!(at("stopped: scheduler") < at("stopped: fastapi"), "{out}");
}
