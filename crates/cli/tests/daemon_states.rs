//! Issue 2 §4: the process state machine — crash loop → BACKOFF → FATAL with startretries,
//! autorestart true/false/unexpected with exitcodes, stopsignal, stopwaitsecs → SIGKILL,
//! stopasgroup/killasgroup, spawn errors (missing command, missing directory).
mod support;
use support::*;

#[test]
fn crash_loop_backoff_then_fatal_after_startretries() {
    let conf = Conf::new(
        "
[program:crasher]
command=sh -c 'echo spawn >> {dir}/spawns; exit 3'
startsecs=1
startretries=2
",
    );
    let d = Daemon::start(conf);
    let t0 = std::time::Instant::now();
    let states = d.record_states("crasher", &["FATAL"], secs(20.0));
    let elapsed = t0.elapsed();
    assert!(states.contains(&"BACKOFF".to_owned()), "{states:?}");
    assert!(!states.contains(&"RUNNING".to_owned()), "{states:?}");
    // startretries=2: 3 attempts, with linear backoff waits of 1 s then 2 s in between.
    assert_eq!(
        d.conf.lines("spawns").len(),
        3,
        "spawns: {:?}",
        d.conf.lines("spawns")
    );
    assert!(
        elapsed >= secs(2.5),
        "FATAL after {elapsed:?}: the backoff delays (1 s, 2 s) were not respected"
    );
    let out = d.ctl(&["status", "crasher"]);
    assert!(
        out.stdout
            .contains("FATAL     Exited too quickly (process log may have details)"),
        "{out}"
    );
    // FATAL is final: no more spawns.
    assert!(holds_for(secs(2.5), || d.conf.lines("spawns").len() == 3
        && d.state("crasher") == "FATAL"));
    // ...until an explicit start, which fails with a spawn error (exit 7).
    let out = d.ctl(&["start", "crasher"]);
    assert_eq!(out.stdout, "crasher: ERROR (spawn error)\n", "{out}");
    assert_eq!(out.code, 7);
}

#[test]
fn startretries_zero_is_fatal_after_the_first_failure() {
    let conf = Conf::new(
        "
[program:once]
command=sh -c 'echo spawn >> {dir}/spawns; exit 1'
startsecs=1
startretries=0
",
    );
    let d = Daemon::start(conf);
    d.record_states("once", &["FATAL"], secs(10.0));
    assert!(holds_for(secs(1.5), || d.conf.lines("spawns").len() == 1));
}

#[test]
fn crash_loop_status_matches_the_reference() {
    let programs = "
[program:crasher]
command=sh -c 'exit 3'
startsecs=1
startretries=1

[program:nocmd]
command=/nonexistent/dir/nocmd
startretries=0

[program:bare]
command=no_such_command_zz
startretries=0
";
    compare_with_reference(
        || Conf::new(programs),
        |d, t| {
            for n in ["crasher", "nocmd", "bare"] {
                d.wait_state(n, "FATAL", secs(15.0));
            }
            t.ctl(d, &["status"]);
            t.ctl(d, &["start", "nocmd"]);
            t.ctl(d, &["status", "nocmd"]);
            t.ctl(d, &["stop", "crasher"]);
        },
    );
}

#[test]
fn missing_command_is_fatal_with_the_reference_spawnerr() {
    let conf = Conf::new(
        "
[program:ghost]
command=/nonexistent/dir/x
startretries=0

[program:alive]
command=sleep 1000
startsecs=0
",
    );
    let d = Daemon::start(conf);
    d.wait_state("ghost", "FATAL", secs(10.0));
    assert_eq!(
        d.info("ghost")["spawnerr"],
        "can't find command '/nonexistent/dir/x'"
    );
    assert_eq!(
        d.info("ghost")["description"],
        "can't find command '/nonexistent/dir/x'"
    );
    let out = d.ctl(&["start", "ghost"]);
    assert_eq!(
        (out.stdout.as_str(), out.code),
        ("ghost: ERROR (no such file)\n", 1),
        "{out}"
    );
    // The daemon stays up and keeps the others running.
    d.wait_state("alive", "RUNNING", secs(10.0));
}

#[test]
fn missing_directory_fails_the_spawn_with_the_reference_text() {
    let conf = Conf::new(
        "
[program:nodir]
command=sleep 1000
directory={dir}/does-not-exist
startsecs=1
startretries=0
stderr_logfile={dir}/nodir.err
",
    );
    let d = Daemon::start(conf);
    d.wait_state("nodir", "FATAL", secs(10.0));
    // The child reports the failure on its stderr (so it lands in the stderr log) and exits 127.
    let dir = d.dir().display().to_string();
    assert!(wait_until(secs(5.0), || d
        .conf
        .read("nodir.err")
        .contains("supervisor: couldn't chdir to")));
    assert_eq!(
        d.conf.read("nodir.err"),
        format!("supervisor: couldn't chdir to {dir}/does-not-exist: ENOENT\nsupervisor: child process was not spawned\n")
    );
    assert_eq!(
        d.info("nodir")["description"],
        "Exited too quickly (process log may have details)"
    );
}

#[test]
fn exec_failure_is_logged_as_the_childs_stderr_and_exits_127() {
    // The file exists and is executable, so the pre-spawn checks pass; execve itself
    // fails (its interpreter is missing), as it would in supervisord's forked child.
    let conf = Conf::new(
        "
[program:badinterp]
command={dir}/script.sh
startsecs=1
startretries=0
stderr_logfile={dir}/badinterp.err
",
    );
    let script = conf.file("script.sh");
    std::fs::write(&script, "#!/nonexistent/interpreter\necho never\n").unwrap();
    std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let d = Daemon::start(conf);
    d.wait_state("badinterp", "FATAL", secs(10.0));
    let shown = script.display().to_string();
    assert_eq!(
        d.conf.read("badinterp.err"),
        format!("supervisor: couldn't exec {shown}: ENOENT\nsupervisor: child process was not spawned\n")
    );
    // supervisord 4.3 shows exactly this once it has given up (exitstatus 0, too).
    let info = d.info("badinterp");
    assert_eq!(
        info["description"],
        "Exited too quickly (process log may have details)"
    );
    assert_eq!(info["exitstatus"], 0);
}

fn run_program(name: &str, code: i32, autorestart: &str) -> String {
    format!(
        "
[program:{name}]
command=sh -c 'echo spawn >> {{dir}}/{name}.spawns; sleep 0.3; exit {code}'
startsecs=0
autorestart={autorestart}
exitcodes=0,2
"
    )
}

#[test]
fn autorestart_true_false_unexpected_with_exitcodes() {
    let programs = [
        run_program("always", 0, "true"),
        run_program("never", 1, "false"),
        run_program("unexp_expected", 2, "unexpected"),
        run_program("unexp_unexpected", 3, "unexpected"),
    ]
    .concat();
    let d = Daemon::start(Conf::new(&programs));
    let spawns = |n: &str| d.conf.lines(&format!("{n}.spawns")).len();
    // autorestart=true restarts after every exit, even an expected one, without backoff.
    assert!(
        wait_until(secs(10.0), || spawns("always") >= 3),
        "always: {} spawns",
        spawns("always")
    );
    // autorestart=unexpected restarts on an exit code not in exitcodes.
    assert!(wait_until(secs(10.0), || spawns("unexp_unexpected") >= 3));
    // autorestart=false never restarts; unexpected + an exit code in exitcodes neither.
    d.wait_state("never", "EXITED", secs(5.0));
    d.wait_state("unexp_expected", "EXITED", secs(5.0));
    assert!(holds_for(secs(1.5), || spawns("never") == 1
        && spawns("unexp_expected") == 1));
    assert_eq!(d.info("never")["exitstatus"], 1);
    assert_eq!(d.info("never")["spawnerr"], "Bad exit code 1");
    assert_eq!(d.info("unexp_expected")["exitstatus"], 2);
    let out = d.ctl(&["status", "never", "unexp_expected"]);
    assert_eq!(out.code, 3, "{out}");
    assert!(out.stdout.contains("EXITED"), "{out}");
}

#[test]
fn exited_status_matches_the_reference() {
    let programs = [
        run_program("never", 1, "false"),
        run_program("expected", 0, "false"),
    ]
    .concat();
    compare_with_reference(
        || Conf::new(&programs),
        |d, t| {
            d.wait_state("never", "EXITED", secs(10.0));
            d.wait_state("expected", "EXITED", secs(10.0));
            t.ctl(d, &["status"]);
            t.ctl(d, &["stop", "never"]);
            t.ctl(d, &["start", "never"]);
            d.wait_state("never", "EXITED", secs(10.0));
            t.ctl(d, &["status", "never"]);
        },
    );
}

#[test]
fn stopsignal_is_sent_and_a_clean_exit_is_fast() {
    let conf = Conf::new(
        "
[program:inty]
command=sh {dir}/inty.sh
stopsignal=INT
stopwaitsecs=10
startsecs=0
",
    );
    conf.script(
        "inty.sh",
        "trap 'echo got INT >> {dir}/signals; exit 0' INT\ntrap 'echo got TERM >> {dir}/signals; exit 0' TERM\necho ready > {dir}/ready\nwhile :; do sleep 0.1; done\n",
    );
    let d = Daemon::start(conf);
    d.wait_state("inty", "RUNNING", secs(10.0));
    assert!(wait_until(secs(5.0), || d.conf.read("ready") == "ready\n"));
    let t0 = std::time::Instant::now();
    let out = d.ctl(&["stop", "inty"]);
    assert_eq!(
        (out.stdout.as_str(), out.code),
        ("inty: stopped\n", 0),
        "{out}"
    );
    assert!(t0.elapsed() < secs(5.0), "stop took {:?}", t0.elapsed());
    assert_eq!(d.conf.read("signals"), "got INT\n");
    assert_eq!(d.state("inty"), "STOPPED");
    let out = d.ctl(&["stop", "inty"]);
    assert_eq!(
        (out.stdout.as_str(), out.code),
        ("inty: ERROR (not running)\n", 0),
        "{out}"
    );
}

#[test]
fn stopwaitsecs_then_sigkill_for_a_program_that_ignores_term() {
    let conf = Conf::new(
        "
[program:stubborn]
command=sh {dir}/stubborn.sh
stopwaitsecs=1
startsecs=0
",
    );
    conf.script(
        "stubborn.sh",
        "trap 'echo got TERM >> {dir}/signals' TERM\necho ready > {dir}/ready\nwhile :; do sleep 0.1; done\n",
    );
    let d = Daemon::start(conf);
    d.wait_state("stubborn", "RUNNING", secs(10.0));
    assert!(wait_until(secs(5.0), || d.conf.read("ready") == "ready\n"));
    let pid = d.process_pid("stubborn");
    let t0 = std::time::Instant::now();
    let out = d.ctl(&["stop", "stubborn"]);
    let took = t0.elapsed();
    assert_eq!(
        (out.stdout.as_str(), out.code),
        ("stubborn: stopped\n", 0),
        "{out}"
    );
    assert!(
        took >= secs(0.9),
        "stopped after {took:?}, before stopwaitsecs=1"
    );
    assert!(took < secs(6.0), "stop took {took:?}");
    assert!(
        d.conf.read("signals").starts_with("got TERM\n"),
        "TERM first: {:?}",
        d.conf.read("signals")
    );
    assert!(!pid_alive(pid), "the program survived the SIGKILL");
    assert_eq!(d.info("stubborn")["state"], 0);
}

/// A program (sh) that starts a grandchild (sleep) in its process group and writes its pid.
fn family(name: &str, opts: &str, ignore_term: bool) -> String {
    let trap = if ignore_term { "trap '' TERM; " } else { "" };
    format!(
        "
[program:{name}]
command=sh -c \"{trap}sleep 1000 & echo $! > {{dir}}/{name}.gc; wait\"
startsecs=0
stopwaitsecs=1
{opts}
"
    )
}

#[test]
fn stopasgroup_and_killasgroup_reach_grandchildren() {
    let programs = [
        family("plain", "", false),
        family("asgroup", "stopasgroup=true", false),
        family("killgroup", "killasgroup=true", true),
    ]
    .concat();
    let d = Daemon::start(Conf::new(&programs));
    let mut gc = std::collections::HashMap::new();
    for n in ["plain", "asgroup", "killgroup"] {
        d.wait_state(n, "RUNNING", secs(10.0));
        assert!(wait_until(secs(5.0), || !d
            .conf
            .read(&format!("{n}.gc"))
            .is_empty()));
        let g: i32 = d.conf.read(&format!("{n}.gc")).trim().parse().unwrap();
        assert!(pid_alive(g));
        assert_eq!(
            proc_stat(g).unwrap().pgrp,
            d.process_pid(n),
            "grandchild in the program's group"
        );
        gc.insert(n, g);
    }
    for n in ["plain", "asgroup", "killgroup"] {
        let out = d.ctl(&["stop", n]);
        assert_eq!(out.stdout, format!("{n}: stopped\n"), "{out}");
    }
    // Without the flags only the program's own pid is signalled: the grandchild survives.
    assert!(
        pid_alive(gc["plain"]),
        "plain: the grandchild must survive (only the pid is signalled)"
    );
    // stopasgroup: TERM went to the whole group.
    assert!(
        wait_until(secs(3.0), || !pid_alive(gc["asgroup"])),
        "stopasgroup left the grandchild alive"
    );
    // killasgroup: the grandchild ignores TERM too; the SIGKILL after stopwaitsecs went to the group.
    assert!(
        wait_until(secs(3.0), || !pid_alive(gc["killgroup"])),
        "killasgroup left the grandchild alive"
    );
    kill(gc["plain"], libc::SIGKILL);
}
