//! Issue 20, grandchildren left behind: a program whose shell starts a background `sleep`
//! and waits, stopped with `stopasgroup=false` (the shell gets SIGTERM, the sleep does
//! not). Without `kill_orphans` the daemon log names the sleep and the sleep lives on
//! (the test kills it); with `kill_orphans` (per program, or the `[supervisord]` default
//! as PID 1 of a pid namespace) the daemon SIGKILLs it and reaps it.
mod support;
use support::*;

/// The shell records its background sleep's pid, then waits for it.
const PROGRAM: &str = "[program:web]\n\
    command=/bin/sh -c 'sleep 1000 & echo $! > {dir}/bg.pid; wait'\n\
    startsecs=0\nstopasgroup=false\nstopwaitsecs=5\n";

/// Kills the background sleep at the end of a test whatever happened.
struct Reap(i32);
impl Drop for Reap {
    fn drop(&mut self) {
        if self.0 > 1 {
            kill(self.0, libc::SIGKILL);
        }
    }
}

fn background_pid(conf: &Conf) -> i32 {
    let path = conf.file("bg.pid");
    let mut pid = 0;
    assert!(
        wait_until(secs(10.0), || {
            pid = std::fs::read_to_string(&path)
                .ok()
                .and_then(|s| s.trim().parse().ok())
                .unwrap_or(0);
            pid > 0
        }),
        "the program never wrote bg.pid"
    );
    pid
}

fn log_of(d: &Daemon) -> String {
    std::fs::read_to_string(d.conf.file("supervisord.log")).unwrap_or_default()
}

fn stop_web_and_wait_for_line(d: &Daemon, line: &str) -> String {
    let out = d.ctl(&["stop", "web"]);
    assert!(out.stdout.contains("web: stopped"), "{out}");
    let mut log = String::new();
    assert!(
        wait_until(secs(10.0), || {
            log = log_of(d);
            log.contains(line)
        }),
        "{line:?} not in the daemon log:\n{log}"
    );
    log
}

#[test]
fn a_stopped_program_lists_what_it_left_behind_and_leaves_it_alone() {
    let d = Daemon::start_steward(Conf::new(PROGRAM));
    d.wait_state("web", "RUNNING", secs(10.0));
    let bg = background_pid(&d.conf);
    let _reap = Reap(bg);
    let log = stop_web_and_wait_for_line(
        &d,
        &format!("program 'web' left 1 process behind: {bg} (sleep)"),
    );
    assert!(!log.contains("kill_orphans"), "{log}");
    assert!(
        holds_for(secs(0.5), || pid_alive(bg)),
        "without kill_orphans the sleep must live on"
    );
    // The stop's pid group is the old shell's pid: the sleep is still in it.
    let st = proc_stat(bg).expect("the sleep");
    assert_eq!(st.comm, "sleep");
    assert_ne!(st.pgrp, d.pid);
}

#[test]
fn kill_orphans_sigkills_what_the_stopped_program_left_behind() {
    let d = Daemon::start_steward(Conf::new(&format!("{PROGRAM}kill_orphans=true\n")));
    d.wait_state("web", "RUNNING", secs(10.0));
    let bg = background_pid(&d.conf);
    let _reap = Reap(bg);
    let log = stop_web_and_wait_for_line(
        &d,
        &format!("kill_orphans: sent SIGKILL to 1 process of 'web': {bg} (sleep)"),
    );
    assert!(
        log.contains(&format!(
            "program 'web' left 1 process behind: {bg} (sleep)"
        )),
        "{log}"
    );
    assert!(
        wait_until(secs(5.0), || !pid_alive(bg)),
        "the sleep {bg} is still alive"
    );
    // Adopted by the daemon (a child subreaper) and reaped: no zombie left.
    assert!(
        wait_until(secs(5.0), || proc_stat(bg).is_none()),
        "the sleep {bg} was not reaped"
    );
}

#[test]
fn kill_orphans_default_as_pid_1_kills_and_reaps_the_orphan() {
    let ok = std::process::Command::new("unshare")
        .args(["--pid", "--fork", "--mount-proc", "true"])
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        eprintln!("NOTE: skipped: `unshare --pid --fork --mount-proc` needs root");
        return;
    }
    let conf = Conf::with_supervisord("kill_orphans=true", PROGRAM);
    let d = Daemon::start_wrapped(
        Target::Steward,
        conf,
        &["unshare", "--pid", "--fork", "--mount-proc"],
    );
    d.wait_state("web", "RUNNING", secs(10.0));
    // A pid inside the namespace: only the daemon's log can speak about it.
    let bg = background_pid(&d.conf);
    let log = stop_web_and_wait_for_line(&d, &format!("reaped unknown pid {bg} "));
    assert!(
        log.contains(&format!(
            "kill_orphans: sent SIGKILL to 1 process of 'web': {bg} (sleep)"
        )),
        "{log}"
    );
    // Nothing of the program is left in the namespace: the daemon (PID 1) has no
    // descendants but itself.
    let daemon = d.children().first().map(|p| p.pid).expect("PID 1");
    assert!(
        wait_until(secs(5.0), || !processes().iter().any(|p| p.ppid == daemon)),
        "PID 1 still has children"
    );
}

#[test]
fn a_program_that_exits_on_its_own_lists_and_with_kill_orphans_kills_its_leftovers() {
    let d = Daemon::start_steward(Conf::new(
        "[program:launcher]\n\
         command=/bin/sh -c 'sleep 1000 & echo $! > {dir}/bg.pid'\n\
         startsecs=0\nautorestart=false\nkill_orphans=true\n",
    ));
    let bg = background_pid(&d.conf);
    let _reap = Reap(bg);
    d.wait_state("launcher", "EXITED", secs(10.0));
    let mut log = String::new();
    let killed = format!("kill_orphans: sent SIGKILL to 1 process of 'launcher': {bg} (sleep)");
    assert!(
        wait_until(secs(10.0), || {
            log = log_of(&d);
            log.contains(&killed)
        }),
        "{killed:?} not in\n{log}"
    );
    assert!(log.contains(&format!(
        "program 'launcher' left 1 process behind: {bg} (sleep)"
    )));
    assert!(wait_until(secs(5.0), || !pid_alive(bg)));
}
