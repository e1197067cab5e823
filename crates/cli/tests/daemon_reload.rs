//! Issue 2 §6: SIGHUP reloads the config from disk and restarts everything (same daemon
//! pid); a broken config on SIGHUP keeps the running config (a Steward improvement: the
//! reference exits).
mod support;
use support::*;

const BEFORE: &str = "
[program:kept]
command=sleep 1000
startsecs=0

[program:manual]
command=sleep 1000
startsecs=0
";

const AFTER: &str = "
[program:kept]
command=sleep 1000
startsecs=0

[program:manual]
command=sleep 1000
startsecs=0

[program:added]
command=sleep 1000
startsecs=0
";

#[test]
fn sighup_rereads_the_config_and_restarts_everything_in_the_same_pid() {
    let mut d = Daemon::start(Conf::new(BEFORE));
    d.wait_state("kept", "RUNNING", secs(10.0));
    d.wait_state("manual", "RUNNING", secs(10.0));
    let old_pid = d.process_pid("kept");
    let out = d.ctl(&["stop", "manual"]);
    assert_eq!(out.stdout, "manual: stopped\n", "{out}");
    d.conf.write(AFTER);
    d.signal(libc::SIGHUP);
    assert!(
        wait_until(secs(15.0), || d.state("added") == "RUNNING"),
        "the new program never ran after SIGHUP"
    );
    d.wait_state("kept", "RUNNING", secs(10.0));
    assert_ne!(
        d.process_pid("kept"),
        old_pid,
        "SIGHUP restarts every process"
    );
    assert!(!pid_alive(old_pid), "the old child was not stopped");
    // Manually stopped processes come back (autostart), as in the reference.
    d.wait_state("manual", "RUNNING", secs(10.0));
    assert!(d.is_running(), "the daemon must survive a SIGHUP");
    assert_eq!(
        d.call("supervisor.getPID", vec![]),
        json!(d.pid),
        "same daemon pid"
    );
}

#[test]
fn broken_config_on_sighup_keeps_the_running_config() {
    let mut d = Daemon::start(Conf::new(BEFORE));
    d.wait_state("kept", "RUNNING", secs(10.0));
    let pid = d.process_pid("kept");
    d.conf
        .write("\n[program:kept]\ncommand=sleep 1000\nautostart=maybe\n");
    d.signal(libc::SIGHUP);
    if d.target == Target::Supervisord {
        // The reference gives up: it stops everything and exits.
        assert!(
            d.wait_exit(secs(15.0)).is_some(),
            "supervisord was expected to exit"
        );
        return;
    }
    // Steward logs why and carries on with the old config, touching nothing.
    assert!(
        holds_for(secs(3.0), || d.is_running()),
        "steward exited on a broken reload"
    );
    assert_eq!(d.state("kept"), "RUNNING");
    assert_eq!(
        d.process_pid("kept"),
        pid,
        "a refused reload must not restart anything"
    );
    assert_eq!(d.state("manual"), "RUNNING");
    let out = d.ctl(&["status"]);
    assert_eq!(out.code, 0, "{out}");
    let log = d.mainlog() + &d.stdout() + &d.stderr();
    assert!(
        log.contains("maybe"),
        "the reason is logged (naming the value):\n{log}"
    );
}
