//! Issue 12 §1: from the first request the socket answers, every answer comes from a
//! state that holds every configured program.
//!
//! Docker healthchecks, entrypoints and deploy scripts poll `getState()` until it says
//! RUNNING and then act on a program at once. Both tests poll with no pause at all, so a
//! window in which the daemon answers RUNNING without its programs is hit when it exists
//! (before the fix, 87 of 100 starts hit it).
mod support;
use std::time::Instant;
use support::*;

const MAIN_PROGRAMS: &str = "
[program:keep]
command=sleep 1000
startsecs=0

[include]
files = {dir}/conf.d/*.conf
";

fn include_text(generation: usize) -> String {
    format!(
        "[program:change]\ncommand=sleep {}\nstartsecs=0\n\n\
         [program:drop]\ncommand=sleep 1000\nstartsecs=0\n\n\
         [program:gen_{generation}]\ncommand=sleep 1000\nstartsecs=0\nautostart=false\n",
        1000 + generation
    )
}

fn conf() -> Conf {
    let c = Conf::new(MAIN_PROGRAMS);
    std::fs::create_dir_all(c.dir.join("conf.d")).unwrap();
    std::fs::write(c.dir.join("conf.d/progs.conf"), include_text(0)).unwrap();
    c
}

/// Polls getState without pausing until it answers RUNNING; returns false on timeout.
fn poll_until_running(d: &Daemon, deadline: Instant) -> bool {
    while Instant::now() < deadline {
        if let Ok(v) = d.rpc("supervisor.getState", vec![]) {
            if v["statename"] == "RUNNING" {
                return true;
            }
        }
    }
    false
}

/// Every program of the config is known, asked the way scripts ask right after start.
fn assert_all_known(d: &Daemon, generation: usize, what: &str) {
    for name in ["keep", "change", "drop", &format!("gen_{generation}")] {
        if let Err(f) = d.rpc("supervisor.getProcessInfo", vec![json!(name)]) {
            panic!("{what}: getState said RUNNING, then getProcessInfo({name}) failed: {f:?}");
        }
    }
}

#[test]
fn running_is_never_answered_before_the_programs_exist_at_start() {
    for round in 0..50 {
        let mut d = Daemon::spawn(target(), conf());
        let deadline = Instant::now() + START_TIMEOUT;
        assert!(
            poll_until_running(&d, deadline),
            "start {round}: never RUNNING\n{}",
            d.diagnostics()
        );
        assert_all_known(&d, 0, &format!("start {round}"));
        d.signal(libc::SIGKILL);
        d.wait_exit(secs(10.0));
    }
}

#[test]
fn running_is_never_answered_before_the_programs_exist_after_a_reload() {
    let c = conf();
    let include = c.dir.join("conf.d/progs.conf");
    let d = Daemon::start(c);
    for generation in 1..=50 {
        std::fs::write(&include, include_text(generation)).unwrap();
        d.signal(libc::SIGHUP);
        // Until the new program shows, the daemon may answer from the old state, from a
        // RESTARTING one, or not at all; whenever it says RUNNING, it holds every program
        // of the config it is running (the old or the new one).
        let deadline = Instant::now() + START_TIMEOUT;
        let mut reloaded = false;
        while !reloaded && Instant::now() < deadline {
            let Ok(v) = d.rpc("supervisor.getState", vec![]) else {
                continue;
            };
            if v["statename"] != "RUNNING" {
                continue;
            }
            let fresh = format!("gen_{generation}");
            let prior = format!("gen_{}", generation - 1);
            // A transport error is the daemon answering nothing (supervisord recreates its
            // socket during a reload): allowed. BAD_NAME is an answer from an incomplete state.
            let known = |name: &str| match d.rpc("supervisor.getProcessInfo", vec![json!(name)]) {
                Ok(_) => Some(true),
                // SHUTDOWN_STATE: the old state went on to RESTARTING after getState.
                Err(f) if f.code == -1 || f.code == 6 => None,
                Err(f) => {
                    assert_eq!(
                        f.code, 10,
                        "reload {generation}: getProcessInfo({name}): {f:?}"
                    );
                    Some(false)
                }
            };
            for name in ["keep", "change", "drop"] {
                assert_ne!(
                    known(name),
                    Some(false),
                    "reload {generation}: getState said RUNNING, then {name} was unknown"
                );
            }
            let new_seen = known(&fresh);
            let old_seen = known(&prior);
            assert!(
                new_seen != Some(false) || old_seen != Some(false) || known(&fresh) != Some(false),
                "reload {generation}: RUNNING, but neither {prior} nor {fresh} is known"
            );
            reloaded = new_seen == Some(true);
        }
        assert!(
            reloaded,
            "reload {generation}: gen_{generation} never appeared\n{}",
            d.diagnostics()
        );
    }
}
