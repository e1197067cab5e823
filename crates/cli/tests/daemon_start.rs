//! Issue 2 §4: autostart, status output, startsecs (STARTING → RUNNING), numprocs naming.
mod support;
use support::*;

const STATUS_PROGRAMS: &str = "
[program:alpha]
command=sleep 1000
startsecs=0

[program:manual]
command=sleep 1000
autostart=false

[program:a_very_long_program_name_over_thirty_chars]
command=sleep 1000
startsecs=0

[program:grouped1]
command=sleep 1000
startsecs=0

[program:grouped2]
command=sleep 1000
startsecs=0

[group:grp]
programs=grouped1,grouped2
";

#[test]
fn autostart_and_status_output_match_the_reference() {
    let (_, t) = compare_with_reference(
        || Conf::new(STATUS_PROGRAMS),
        |d, t| {
            for name in [
                "alpha",
                "a_very_long_program_name_over_thirty_chars",
                "grp:grouped1",
                "grp:grouped2",
            ] {
                d.wait_state(name, "RUNNING", secs(10.0));
            }
            t.ctl(d, &["status"]);
            t.ctl(d, &["status", "alpha"]);
            t.ctl(d, &["status", "grp:*"]);
            t.ctl(d, &["status", "alpha", "grp:grouped1"]);
            t.ctl(d, &["status", "nosuch"]);
            t.ctl(d, &["status", "nosuchgroup:*"]);
            t.ctl(d, &["status", "manual"]);
            t.ctl(d, &["pid", "alpha"]);
            t.ctl(d, &["pid", "manual"]);
            t.ctl(d, &["avail"]);
        },
    );
    // Concrete checks on the daemon under test, so the test is not only a comparison.
    let all = t.step("supervisorctl status");
    assert_eq!(
        all.code, 3,
        "something is STOPPED, so status exits 3:\n{all}"
    );
    let alpha = all
        .stdout
        .lines()
        .find(|l| l.starts_with("alpha "))
        .expect("alpha listed");
    // Column width: max(30, longest name) + 3.
    let w = "a_very_long_program_name_over_thirty_chars".len() + 3;
    assert_eq!(
        alpha,
        format!("{:<w$}{:<10}pid <PID>, uptime <UPTIME>", "alpha", "RUNNING")
    );
    assert!(
        all.stdout
            .contains(&format!("{:<w$}{:<10}Not started", "manual", "STOPPED")),
        "{all}"
    );
    assert!(all.stdout.contains("grp:grouped1 "), "{all}");
    assert_eq!(t.step("supervisorctl status alpha").code, 0);
    assert_eq!(t.step("supervisorctl status nosuch").code, 4);
    assert_eq!(
        t.step("supervisorctl status nosuch").stdout,
        "nosuch: ERROR (no such process)\n"
    );
    assert_eq!(t.step("supervisorctl pid manual").code, 7);
}

#[test]
fn autostart_false_is_not_started_and_autostart_true_is() {
    let conf = Conf::new(
        "
[program:on]
command=sleep 1000
startsecs=0

[program:off]
command=sleep 1000
autostart=false
",
    );
    let d = Daemon::start(conf);
    d.wait_state("on", "RUNNING", secs(10.0));
    let pid = d.process_pid("on");
    assert!(
        pid_alive(pid),
        "the RUNNING pid {pid} must be a live process"
    );
    assert_eq!(
        proc_stat(pid).unwrap().pgrp,
        pid,
        "each child leads its own process group"
    );
    assert!(holds_for(secs(1.5), || d.state("off") == "STOPPED"));
    let out = d.ctl(&["start", "off"]);
    assert_eq!(
        (out.stdout.as_str(), out.code),
        ("off: started\n", 0),
        "{out}"
    );
    assert_eq!(d.state("off"), "RUNNING");
    let out = d.ctl(&["start", "off"]);
    assert_eq!(
        (out.stdout.as_str(), out.code),
        ("off: ERROR (already started)\n", 0),
        "{out}"
    );
}

#[test]
fn startsecs_starting_then_running_after_startsecs() {
    let conf = Conf::new(
        "
[program:slow]
command=sleep 1000
startsecs=2
",
    );
    let d = Daemon::start(conf);
    assert!(
        wait_until(secs(5.0), || d.state("slow") == "STARTING"),
        "never STARTING: {}",
        d.state("slow")
    );
    let t0 = std::time::Instant::now();
    let states = d.record_states("slow", &["RUNNING"], secs(10.0));
    let elapsed = t0.elapsed();
    assert_eq!(states, ["STARTING", "RUNNING"]);
    assert!(
        elapsed >= secs(1.5),
        "RUNNING after {elapsed:?}, before startsecs=2 elapsed"
    );
    assert!(
        elapsed <= secs(4.5),
        "RUNNING only after {elapsed:?} with startsecs=2"
    );
}

#[test]
fn exit_before_startsecs_is_backoff_whatever_the_exit_code() {
    let conf = Conf::new(
        "
[program:quick]
command=sh -c 'sleep 0.3; exit 0'
startsecs=2
startretries=0
",
    );
    let d = Daemon::start(conf);
    let states = d.record_states("quick", &["FATAL", "EXITED", "RUNNING"], secs(10.0));
    assert_eq!(states.last().unwrap(), "FATAL", "{states:?}");
    assert!(!states.contains(&"RUNNING".to_owned()), "{states:?}");
    let out = d.ctl(&["status", "quick"]);
    assert!(
        out.stdout
            .contains("FATAL     Exited too quickly (process log may have details)"),
        "{out}"
    );
    assert_eq!(out.code, 3);
}

#[test]
fn numprocs_names_and_groups_match_the_reference() {
    let programs = "
[program:worker]
command=sh -c 'echo \"$SUPERVISOR_GROUP_NAME $SUPERVISOR_PROCESS_NAME\" > {dir}/%(process_num)02d.name; exec sleep 1000'
process_name=%(program_name)s_%(process_num)02d
numprocs=3
numprocs_start=1
startsecs=0
";
    let (_, t) = compare_with_reference(
        || Conf::new(programs),
        |d, t| {
            for n in ["worker:worker_01", "worker:worker_02", "worker:worker_03"] {
                d.wait_state(n, "RUNNING", secs(10.0));
            }
            t.ctl(d, &["status"]);
            t.ctl(d, &["status", "worker:*"]);
            t.ctl(d, &["stop", "worker:worker_02"]);
            t.ctl(d, &["status"]);
            t.ctl(d, &["avail"]);
            assert!(wait_until(secs(5.0), || d.conf.read("03.name") == "worker worker_03\n"));
            t.note(
                d,
                "names",
                &(d.conf.read("01.name") + &d.conf.read("02.name") + &d.conf.read("03.name")),
            );
        },
    );
    let st = t.step("supervisorctl status");
    let names: Vec<&str> = st
        .stdout
        .lines()
        .map(|l| l.split_whitespace().next().unwrap())
        .collect();
    assert_eq!(
        names,
        ["worker:worker_01", "worker:worker_02", "worker:worker_03"]
    );
    assert_eq!(
        t.step("names").stdout,
        "worker worker_01\nworker worker_02\nworker worker_03\n"
    );
}
