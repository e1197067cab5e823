//! Issue 2 §4–§6: the child side of a spawn (environment, stdin pipe, fds ≥ 3 closed,
//! directory, umask), priority order on start and reverse order on shutdown, SIGTERM → exit 0,
//! and reaping of orphans.
mod support;
use support::*;

fn env_of(text: &str) -> std::collections::BTreeMap<String, String> {
    text.lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

#[test]
fn child_environment_has_supervisor_vars_and_merged_environment() {
    let conf = Conf::with_supervisord(
        "environment=GLOBAL_ONLY=\"g\",SHARED=\"from-global\"",
        "
[program:envy]
command=sh -c 'env > {dir}/envy.tmp; mv {dir}/envy.tmp {dir}/envy.env; exec sleep 1000'
environment=PROGRAM_ONLY=\"p\",SHARED=\"from-program\"
startsecs=0

[program:member]
command=sh -c 'env > {dir}/member.tmp; mv {dir}/member.tmp {dir}/member.env; exec sleep 1000'
startsecs=0

[group:team]
programs=member
",
    );
    let d = Daemon::start(conf);
    assert!(wait_until(secs(10.0), || d
        .conf
        .read("envy.env")
        .contains("SUPERVISOR_ENABLED")));
    assert!(wait_until(secs(10.0), || d
        .conf
        .read("member.env")
        .contains("SUPERVISOR_ENABLED")));
    let env = env_of(&d.conf.read("envy.env"));
    let sock_url = format!("unix://{}", d.conf.sock.display());
    assert_eq!(env.get("SUPERVISOR_ENABLED").map(String::as_str), Some("1"));
    assert_eq!(
        env.get("SUPERVISOR_PROCESS_NAME").map(String::as_str),
        Some("envy")
    );
    assert_eq!(
        env.get("SUPERVISOR_GROUP_NAME").map(String::as_str),
        Some("envy")
    );
    assert_eq!(env.get("SUPERVISOR_SERVER_URL"), Some(&sock_url));
    assert_eq!(env.get("GLOBAL_ONLY").map(String::as_str), Some("g"));
    assert_eq!(env.get("PROGRAM_ONLY").map(String::as_str), Some("p"));
    assert_eq!(
        env.get("SHARED").map(String::as_str),
        Some("from-program"),
        "program env wins"
    );
    // The daemon's own environment is passed down.
    assert_eq!(
        env.get("STEWARD_TEST_INHERITED").map(String::as_str),
        Some("inherited-from-daemon")
    );
    assert!(!env.contains_key("SUPERVISOR_USERNAME"));
    let member = env_of(&d.conf.read("member.env"));
    assert_eq!(
        member.get("SUPERVISOR_PROCESS_NAME").map(String::as_str),
        Some("member")
    );
    assert_eq!(
        member.get("SUPERVISOR_GROUP_NAME").map(String::as_str),
        Some("team")
    );
    assert_eq!(member.get("GLOBAL_ONLY").map(String::as_str), Some("g"));
    assert_eq!(
        member.get("SHARED").map(String::as_str),
        Some("from-global")
    );
    assert!(!member.contains_key("PROGRAM_ONLY"));
}

#[test]
fn server_url_is_the_unix_socket_even_with_an_inet_server() {
    let conf = Conf::with_supervisord(
        "",
        "
[inet_http_server]
port=127.0.0.1:{port}

[program:envy]
command=sh -c 'env > {dir}/envy.tmp; mv {dir}/envy.tmp {dir}/envy.env; exec sleep 1000'
startsecs=0
",
    );
    let port = conf.port;
    let d = Daemon::start(conf);
    assert!(wait_until(secs(10.0), || d
        .conf
        .read("envy.env")
        .contains("SUPERVISOR_ENABLED")));
    let env = env_of(&d.conf.read("envy.env"));
    // The reference prefers the UNIX socket when both servers are configured.
    assert_eq!(
        env.get("SUPERVISOR_SERVER_URL"),
        Some(&format!("unix://{}", d.conf.sock.display()))
    );
    // ...and the inet server answers too.
    assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_ok());
}

#[test]
fn stdin_is_an_open_pipe_fed_by_send_process_stdin() {
    let conf = Conf::new(
        "
[program:catter]
command=sh -c 'readlink /proc/self/fd/0 > {dir}/stdin.kind; exec cat > {dir}/stdin.data'
startsecs=1
",
    );
    let d = Daemon::start(conf);
    // cat would exit at once on /dev/null or a closed stdin, and never reach RUNNING.
    d.wait_state("catter", "RUNNING", secs(10.0));
    assert!(
        d.conf.read("stdin.kind").starts_with("pipe:"),
        "stdin is {:?}",
        d.conf.read("stdin.kind")
    );
    d.call(
        "supervisor.sendProcessStdin",
        vec![json!("catter"), json!("hello stdin\n")],
    );
    assert!(wait_until(secs(5.0), || d.conf.read("stdin.data") == "hello stdin\n"));
}

#[test]
fn file_descriptors_above_2_are_closed_in_the_child() {
    let conf = Conf::new(
        "
[program:fds]
command={python} {dir}/fds.py
startsecs=0
",
    );
    conf.script(
        "fds.py",
        "import os\nopen_fds = []\nfor fd in range(3, 4096):\n    try:\n        os.fstat(fd)\n        open_fds.append(fd)\n    except OSError:\n        pass\nwith open('{dir}/fds.tmp', 'w') as f:\n    f.write(repr(open_fds))\nos.rename('{dir}/fds.tmp', '{dir}/fds.txt')\nos.execvp('sleep', ['sleep', '1000'])\n",
    );
    let d = Daemon::start(conf);
    assert!(wait_until(secs(10.0), || !d
        .conf
        .read("fds.txt")
        .is_empty()));
    // The daemon itself was started with an inherited fd 9 (see the harness): gone too.
    assert_eq!(
        d.conf.read("fds.txt"),
        "[]",
        "fds open in the child besides 0, 1, 2"
    );
}

/// The pipe inodes behind `pid`'s descriptors (`pipe:[123]`), one entry per descriptor.
fn pipes_of(pid: i32) -> Vec<String> {
    let Ok(dir) = std::fs::read_dir(format!("/proc/{pid}/fd")) else {
        return vec![];
    };
    dir.filter_map(|e| std::fs::read_link(e.ok()?.path()).ok())
        .map(|t| t.display().to_string())
        .filter(|t| t.starts_with("pipe:"))
        .collect()
}

#[test]
fn the_daemon_keeps_only_its_own_end_of_each_child_pipe() {
    // A child's stdio is staged in descriptor slots of the daemon's until the child has
    // exec'd. A copy left there would keep the child's end of its output pipe open after
    // the child exits, and its log reader would never see the end.
    let conf = Conf::new(
        "
[program:quiet]
command=sleep 1000
startsecs=0
numprocs=3
process_name=%(program_name)s_%(process_num)s
",
    );
    let d = Daemon::start(conf);
    let mut child_pipes = vec![];
    for n in 0..3 {
        let name = format!("quiet:quiet_{n}");
        d.wait_state(&name, "RUNNING", secs(10.0));
        let pid = d.info(&name)["pid"].as_i64().unwrap() as i32;
        let mut pipes = vec![];
        for fd in 0..3 {
            let target = std::fs::read_link(format!("/proc/{pid}/fd/{fd}")).unwrap();
            pipes.push(target.display().to_string());
        }
        assert!(pipes.iter().all(|p| p.starts_with("pipe:")), "{pipes:?}");
        child_pipes.extend(pipes);
    }
    child_pipes.sort();
    child_pipes.dedup();
    let daemon_holds = |pipe: &String| pipes_of(d.pid).iter().filter(|p| *p == pipe).count();
    assert!(
        wait_until(secs(5.0), || child_pipes
            .iter()
            .all(|p| daemon_holds(p) == 1)),
        "the daemon's descriptors on the children's pipes: {:?}",
        child_pipes
            .iter()
            .map(|p| (p, daemon_holds(p)))
            .collect::<Vec<_>>()
    );
}

#[test]
fn children_start_with_default_signal_dispositions_and_nothing_blocked() {
    // The daemon ignores SIGPIPE (Rust does) and handles SIGCHLD, SIGTERM, SIGHUP...; its
    // children must start from a clean slate, as supervisord's do after exec.
    let conf = Conf::new(
        "
[program:sigs]
command=sh -c 'grep -E \"^Sig(Ign|Blk|Cgt):\" /proc/self/status > {dir}/sigs.tmp; mv {dir}/sigs.tmp {dir}/sigs; exec sleep 1000'
startsecs=0
",
    );
    let d = Daemon::start(conf);
    assert!(wait_until(secs(10.0), || !d.conf.read("sigs").is_empty()));
    let sigs = d.conf.read("sigs");
    for line in sigs.lines() {
        let (name, mask) = line.split_once(':').expect("Sig line");
        if name == "SigCgt" {
            continue; // the shell's own handlers
        }
        assert_eq!(
            mask.trim(),
            "0000000000000000",
            "{name} of the child is not empty: {sigs}"
        );
    }
}

fn slice_of(sched: &str) -> String {
    sched
        .lines()
        .find(|l| l.starts_with("se.slice"))
        .and_then(|l| l.split(':').nth(1))
        .map(|v| v.trim().to_owned())
        .unwrap_or_else(|| panic!("no se.slice in {sched}"))
}

#[test]
fn children_get_the_default_scheduler_slice_not_the_daemons_short_one() {
    // The daemon's threads ask for the shortest slice (spawn::favor_latency); a child
    // must start with the kernel's default, like any process its parent did not tune.
    let conf = Conf::new(
        "
[program:sliced]
command=sh -c 'cat /proc/self/sched > {dir}/sched.tmp; mv {dir}/sched.tmp {dir}/sched; exec sleep 1000'
startsecs=0
",
    );
    let d = Daemon::start(conf);
    assert!(wait_until(secs(10.0), || !d.conf.read("sched").is_empty()));
    let own = std::fs::read_to_string("/proc/self/sched").expect("/proc/self/sched");
    assert_eq!(slice_of(&d.conf.read("sched")), slice_of(&own));
    let pid = d.pid;
    let daemon_threads: Vec<String> = std::fs::read_dir(format!("/proc/{pid}/task"))
        .unwrap()
        .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("sched")).ok())
        .map(|s| slice_of(&s))
        .collect();
    assert!(
        daemon_threads.iter().any(|s| s == "100000"),
        "no daemon thread runs with the short slice: {daemon_threads:?}"
    );
}

#[test]
fn directory_and_umask_apply_to_the_child() {
    let conf = Conf::new(
        "
[program:placed]
command=sh -c 'pwd > {dir}/cwd; touch {dir}/probe; umask > {dir}/umask.tmp; mv {dir}/umask.tmp {dir}/umask; exec sleep 1000'
directory={dir}/work
umask=027
startsecs=0
",
    );
    std::fs::create_dir(conf.file("work")).unwrap();
    let d = Daemon::start(conf);
    assert!(wait_until(secs(10.0), || !d.conf.read("umask").is_empty()));
    assert_eq!(
        d.conf.read("cwd").trim(),
        d.dir().join("work").display().to_string()
    );
    assert_eq!(d.conf.read("umask").trim(), "0027");
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(d.conf.file("probe"))
        .unwrap()
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(mode, 0o640);
}

const ORDERED: &str = "
[program:p_last]
command=sh {dir}/order.sh p_last
priority=999
startsecs=0
stopwaitsecs=5

[program:p_first]
command=sh {dir}/order.sh p_first
priority=1
startsecs=0
stopwaitsecs=5

[program:p_middle]
command=sh {dir}/order.sh p_middle
priority=50
startsecs=0
stopwaitsecs=5
";

const ORDER_SH: &str = "echo \"start $1\" >> {dir}/order
trap 'sleep 0.2; echo \"stop $1\" >> {dir}/order; exit 0' TERM
while :; do sleep 0.1; done
";

#[test]
fn priority_order_on_start_and_reverse_on_sigterm_shutdown_exit_0() {
    let conf = Conf::new(ORDERED);
    conf.script("order.sh", ORDER_SH);
    let mut d = Daemon::start(conf);
    let names = ["p_first", "p_middle", "p_last"];
    for n in names {
        d.wait_state(n, "RUNNING", secs(10.0));
    }
    // Spawned in ascending priority, in one pass: the pids are in that order.
    let pids: Vec<i32> = names.iter().map(|n| d.process_pid(n)).collect();
    let mut sorted = pids.clone();
    sorted.sort();
    assert_eq!(
        pids, sorted,
        "spawn order (by pid) is not the priority order"
    );
    assert!(wait_until(secs(5.0), || d.conf.lines("order").len() == 3));

    d.signal(libc::SIGTERM);
    let st = d
        .wait_exit(secs(20.0))
        .expect("the daemon did not exit after SIGTERM");
    assert_eq!(st.code(), Some(0), "exit status after SIGTERM: {st}");
    let stops: Vec<String> = d
        .conf
        .lines("order")
        .into_iter()
        .filter(|l| l.starts_with("stop"))
        .collect();
    // One group at a time, highest priority number first.
    assert_eq!(stops, ["stop p_last", "stop p_middle", "stop p_first"]);
    for p in pids {
        assert!(!pid_alive(p), "child {p} survived the shutdown");
    }
    assert!(
        d.descendants().is_empty(),
        "left behind: {:?}",
        d.descendants()
    );
    assert!(
        !d.conf.file("supervisord.pid").exists(),
        "the pidfile is removed at exit"
    );
}

#[test]
fn sigint_and_sigquit_also_shut_down_with_exit_0() {
    for sig in [libc::SIGINT, libc::SIGQUIT] {
        let mut d = Daemon::start(Conf::new(
            "\n[program:s]\ncommand=sleep 1000\nstartsecs=0\n",
        ));
        d.wait_state("s", "RUNNING", secs(10.0));
        let pid = d.process_pid("s");
        d.signal(sig);
        let st = d.wait_exit(secs(15.0)).expect("the daemon did not exit");
        assert_eq!(st.code(), Some(0), "signal {sig}: {st}");
        assert!(!pid_alive(pid));
    }
}

#[test]
fn orphans_are_reaped_no_zombie_left_under_the_daemon() {
    let conf = Conf::new(
        "
[program:forker]
command=sh {dir}/forker.sh
startsecs=0
",
    );
    conf.script("forker.sh", "( sh {dir}/gc.sh & )\nexec sleep 1000\n");
    conf.script(
        "gc.sh",
        "sleep 0.5\ncut -d' ' -f4 /proc/$$/stat > {dir}/gc.ppid\necho $$ > {dir}/gc.pid\nsleep 0.3\nexit 0\n",
    );
    let d = Daemon::start(conf);
    d.wait_state("forker", "RUNNING", secs(10.0));
    assert!(wait_until(secs(10.0), || !d.conf.read("gc.pid").is_empty()));
    let gc: i32 = d.conf.read("gc.pid").trim().parse().unwrap();
    assert!(wait_until(secs(5.0), || match proc_stat(gc) {
        None => true,
        Some(s) => s.ppid != d.pid || s.state == 'Z',
    }));
    if d.target == Target::Steward {
        // Steward is a child subreaper (PR_SET_CHILD_SUBREAPER): the orphan was adopted by it.
        assert_eq!(
            d.conf.read("gc.ppid").trim(),
            d.pid.to_string(),
            "orphan not adopted by steward"
        );
    }
    // Whoever adopted it, no zombie may stay under the daemon.
    assert!(
        wait_until(secs(5.0), || d.children().iter().all(|c| c.state != 'Z')),
        "zombies under the daemon: {:?}",
        d.children()
    );
    assert_eq!(d.state("forker"), "RUNNING");
}

#[test]
fn orphans_are_reaped_when_the_daemon_is_pid_1() {
    // As a container's PID 1 (here: a new pid namespace), every orphan is adopted by the
    // daemon, which must reap it (the reference reaps unknown pids too).
    let ok = std::process::Command::new("unshare")
        .args(["--pid", "--fork", "true"])
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        eprintln!("skipped: `unshare --pid --fork` is not available here");
        return;
    }
    let conf = Conf::new(
        "
[program:forker]
command=sh {dir}/forker.sh
startsecs=0
",
    );
    conf.script("forker.sh", "( {python} {dir}/gc.py & )\nexec sleep 1000\n");
    conf.script(
        "gc.py",
        "import os, time\ntime.sleep(0.5)\nopen('{dir}/gc.tmp', 'w').write('%d %d' % (os.getpid(), os.getppid()))\nos.rename('{dir}/gc.tmp', '{dir}/gc.txt')\ntime.sleep(0.3)\n",
    );
    let d = Daemon::start_wrapped(target(), conf, &["unshare", "--pid", "--fork"]);
    d.wait_state("forker", "RUNNING", secs(10.0));
    assert!(wait_until(secs(10.0), || !d.conf.read("gc.txt").is_empty()));
    let ppid = d.conf.read("gc.txt").split(' ').nth(1).unwrap().to_owned();
    assert_eq!(ppid, "1", "the orphan was adopted by PID 1 (the daemon)");
    // The daemon, seen from outside: the wrapper's child.
    let daemon = d
        .children()
        .first()
        .map(|p| p.pid)
        .expect("the daemon under unshare");
    let zombies = || -> Vec<ProcStat> {
        processes()
            .into_iter()
            .filter(|p| p.ppid == daemon && p.state == 'Z')
            .collect()
    };
    // gc.py exits 0.3 s after writing: wait until it is no longer running, then nothing
    // may stay a zombie under the daemon.
    let gc_running = || {
        processes()
            .iter()
            .any(|p| p.ppid == daemon && p.comm.starts_with("python") && p.state != 'Z')
    };
    assert!(wait_until(secs(5.0), || !gc_running()), "gc.py never ended");
    assert!(
        wait_until(secs(5.0), || zombies().is_empty()),
        "zombies under the daemon: {:?}",
        zombies()
    );
    assert!(
        holds_for(secs(1.0), || zombies().is_empty()),
        "zombies under the daemon: {:?}",
        zombies()
    );
    assert_eq!(d.state("forker"), "RUNNING");
}
