//! Issue 20, "Faults survived, nothing lost", against the real binary: a full log
//! partition (a 2 MiB tmpfs the test mounts), descriptor exhaustion (a low `minfds` under
//! a low RLIMIT_NOFILE), fork failure (a pids cgroup at its `pids.max`) and failed writes
//! of the files Steward generates.
//!
//! Tests that need root (mount, prlimit above the hard limit) print a NOTE and pass when
//! they cannot set their scene up; every measurement is printed (`--nocapture`).
mod support;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use support::*;

/// A tmpfs mounted for one test, lazily unmounted when dropped.
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(dir: &Path, size: &str) -> Option<Tmpfs> {
        fs::create_dir_all(dir).unwrap();
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir)
            .status()
            .is_ok_and(|s| s.success());
        ok.then(|| Tmpfs(dir.to_path_buf()))
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

/// Lines of the bulk phase and their size: 40,000 × 100 bytes = 4 MB into a log
/// partition with about 0.5 MiB free.
const BULK_LINES: usize = 40_000;
const LINE_LEN: usize = 100;

#[test]
fn a_full_log_partition_drops_output_with_a_counted_marker_and_resumes() {
    let conf = Conf::new("");
    let logs = conf.file("logs");
    let Some(_mount) = Tmpfs::mount(&logs, "2m") else {
        eprintln!("NOTE: skipped: mounting a tmpfs needs root");
        return;
    };
    // Leave about half a MiB free.
    fs::write(logs.join("filler"), vec![b'f'; 1536 * 1024]).unwrap();
    // Each bulk line is exactly LINE_LEN bytes: "bulk NNNNNN " + padding + "\n".
    let pad = "x".repeat(LINE_LEN - 12 - 1);
    conf.script(
        "chatty.sh",
        &format!(
            "#!/bin/sh\ni=0\nwhile [ $i -lt {BULK_LINES} ]; do\n  printf 'bulk %06d {pad}\\n' $i\n  \
             i=$((i+1))\n  [ $((i % 1000)) -eq 0 ] && echo $i > {{dir}}/beat\ndone\necho done > {{dir}}/beat\n\
             n=0\nwhile :; do n=$((n+1)); echo \"tick $n\"; sleep 0.1; done\n"
        ),
    );
    conf.write(&format!(
        "[program:chatty]\ncommand={{dir}}/chatty.sh\nstartsecs=0\nstdout_logfile={}/chatty.log\n\
         stdout_logfile_maxbytes=0\nstderr_logfile=NONE\n",
        logs.display()
    ));
    let d = Daemon::start_steward(conf);
    d.wait_state("chatty", "RUNNING", secs(10.0));
    let pid = d.process_pid("chatty");
    // The child is never blocked on its pipe: it writes all 4 MB although only about
    // 0.5 MiB fit.
    let t = std::time::Instant::now();
    assert!(
        wait_until(secs(60.0), || d.conf.read("beat").trim() == "done"),
        "the child got stuck at line {} of {BULK_LINES}",
        d.conf.read("beat").trim()
    );
    println!(
        "MEASURED disk full: 4 MB written by the child in {:?} with the log partition full",
        t.elapsed()
    );
    assert_eq!(d.state("chatty"), "RUNNING");
    assert_eq!(
        d.process_pid("chatty"),
        pid,
        "the child kept running, not restarted"
    );
    let errors = |d: &Daemon| d.mainlog().matches("error writing log of chatty").count();
    assert!(
        wait_until(secs(10.0), || errors(&d) == 1),
        "{}",
        d.mainlog()
    );
    assert!(
        d.mainlog().contains("No space left on device"),
        "{}",
        d.mainlog()
    );
    // Still full while the ticks go on: still one error line, and the daemon answers.
    assert!(
        holds_for(secs(1.0), || errors(&d) == 1),
        "the failure is logged once\n{}",
        d.mainlog()
    );
    assert_eq!(
        d.rpc("supervisor.getState", vec![]).unwrap()["statename"],
        "RUNNING"
    );

    // Space returns: the next chunk is written after a marker that counts the loss.
    fs::remove_file(logs.join("filler")).unwrap();
    let log = logs.join("chatty.log");
    let text = || String::from_utf8_lossy(&fs::read(&log).unwrap_or_default()).into_owned();
    assert!(
        wait_until(secs(10.0), || {
            let t = text();
            t.find("bytes of output dropped here")
                .is_some_and(|at| t[at..].contains("tick "))
        }),
        "no marker followed by new output in the log:\n{}",
        &text()[text().len().saturating_sub(500)..]
    );
    assert!(
        d.mainlog().contains("log of chatty is writable again"),
        "{}",
        d.mainlog()
    );
    let t = text();
    let marker_at = t.find("[steward: ").unwrap();
    let dropped: u64 = t[marker_at + 10..]
        .split_whitespace()
        .next()
        .unwrap()
        .parse()
        .unwrap();
    // Everything before the marker is bulk output that made it to disk (a short write
    // may have ended it mid-line).
    let bulk_kept = t.find("\n[steward: ").unwrap() as u64;
    let bulk_total = (BULK_LINES * LINE_LEN) as u64;
    println!(
        "MEASURED disk full: {bulk_kept} bytes kept, {dropped} bytes counted as dropped, of {bulk_total}"
    );
    // Every byte is either in the log or counted (a chunk whose write failed part-way
    // counts whole), and nothing beyond the bulk and the few ticks is counted.
    assert!(
        bulk_kept + dropped >= bulk_total,
        "bytes vanished uncounted"
    );
    assert!(
        dropped <= bulk_total + 128 * 1024 + 64 * 1024,
        "dropped {dropped}"
    );
    assert_eq!(
        t.matches("[steward: ").count(),
        1,
        "one marker for one outage"
    );
    assert_eq!(errors(&d), 1);
    assert_eq!(d.process_pid("chatty"), pid);
}

#[test]
fn descriptor_exhaustion_gives_spawn_errors_backoff_fatal_and_the_daemon_keeps_serving() {
    let has_prlimit = Command::new("prlimit").arg("--version").output().is_ok();
    if !has_prlimit {
        eprintln!("NOTE: skipped: prlimit (util-linux) is missing");
        return;
    }
    // 40 descriptors in all: the daemon's own files, sockets and epoll sets take most;
    // every program needs two pipes (four descriptors) and a log file per channel.
    let mut programs = String::new();
    for i in 0..12 {
        programs.push_str(&format!(
            "[program:p{i}]\ncommand=sleep 1000\nstartsecs=0\nstartretries=2\nautostart=true\n"
        ));
    }
    let conf = Conf::with_supervisord("minfds=40", &programs);
    let d = Daemon::start_wrapped(Target::Steward, conf, &["prlimit", "--nofile=40:40", "--"]);
    // prlimit execs the daemon: same pid.
    let daemon = d.pid;
    let limits = fs::read_to_string(format!("/proc/{daemon}/limits")).unwrap_or_default();
    println!(
        "MEASURED emfile: daemon limits {:?}",
        limits.lines().find(|l| l.starts_with("Max open files"))
    );
    // Some programs run; the rest end FATAL after their retries, with the reason.
    let states = || -> Vec<(String, String, String)> {
        let all = d.call("supervisor.getAllProcessInfo", vec![]);
        all.as_array()
            .unwrap()
            .iter()
            .map(|p| {
                (
                    p["name"].as_str().unwrap().to_string(),
                    p["statename"].as_str().unwrap().to_string(),
                    p["spawnerr"].as_str().unwrap_or("").to_string(),
                )
            })
            .collect()
    };
    assert!(
        wait_until(secs(30.0), || states()
            .iter()
            .all(|(_, st, _)| st == "RUNNING" || st == "FATAL")),
        "{:?}",
        states()
    );
    let all = states();
    println!("MEASURED emfile: {all:?}");
    let fatal: Vec<_> = all.iter().filter(|(_, st, _)| st == "FATAL").collect();
    assert!(
        !fatal.is_empty(),
        "with 40 descriptors some programs cannot start: {all:?}"
    );
    assert!(all.iter().any(|(_, st, _)| st == "RUNNING"), "{all:?}");
    for (name, _, err) in &fatal {
        assert!(
            err.to_ascii_lowercase().contains("too many open files"),
            "{name}: spawnerr names the cause: {err:?}"
        );
    }
    let log = d.mainlog();
    let first = &fatal[0].0;
    assert!(
        log.contains(&format!(
            "gave up: {first} entered FATAL state, too many start retries too quickly"
        )),
        "{log}"
    );
    assert!(
        log.contains(&format!("spawnerr: too many open files to spawn '{first}'")),
        "{log}"
    );
    // The daemon keeps serving, over the socket and with the real supervisorctl.
    let out = d.ctl(&["status"]);
    assert!(
        out.stdout.contains("FATAL") && out.stdout.contains("RUNNING"),
        "{out}"
    );
}

/// A pids cgroup (v2 `pids.max` where the unified hierarchy is mounted, else the v1 `pids`
/// controller) created for one test, removed when dropped: its tasks move back to the root.
struct PidsCgroup {
    dir: PathBuf,
    root: PathBuf,
}

impl PidsCgroup {
    fn create(name: &str) -> Option<PidsCgroup> {
        let candidates = [
            PathBuf::from("/sys/fs/cgroup/pids"),
            PathBuf::from("/sys/fs/cgroup/unified"),
            PathBuf::from("/sys/fs/cgroup"),
        ];
        for root in candidates {
            let dir = root.join(name);
            if fs::create_dir(&dir).is_ok() {
                if dir.join("pids.max").exists() {
                    return Some(PidsCgroup { dir, root });
                }
                let _ = fs::remove_dir(&dir);
            }
        }
        None
    }

    fn set_max(&self, max: &str) {
        fs::write(self.dir.join("pids.max"), max).unwrap();
    }

    fn current(&self) -> usize {
        fs::read_to_string(self.dir.join("pids.current"))
            .unwrap()
            .trim()
            .parse()
            .unwrap()
    }
}

impl Drop for PidsCgroup {
    fn drop(&mut self) {
        let _ = fs::write(self.dir.join("pids.max"), "max");
        if let Ok(procs) = fs::read_to_string(self.dir.join("cgroup.procs")) {
            for pid in procs.split_whitespace() {
                let _ = fs::write(self.root.join("cgroup.procs"), pid);
            }
        }
        let _ = fs::remove_dir(&self.dir);
    }
}

/// Fork failure: the daemon runs in a pids cgroup whose `pids.max` is lowered to what it
/// already holds once three programs run. A start then fails in clone(2) with EAGAIN:
/// supervisord's spawnerr ("Too many processes in process table"), BACKOFF, then FATAL
/// after startretries, a SPAWN_ERROR fault for the caller; meanwhile the daemon answers
/// RPC, reads logs and serves supervisorctl. With the limit lifted the same program starts.
#[test]
fn fork_failure_under_a_pids_limit_backs_off_to_fatal_and_the_daemon_keeps_serving() {
    let Some(cg) = PidsCgroup::create(&format!("steward-test-{}", std::process::id())) else {
        eprintln!("NOTE: skipped: no writable pids cgroup (needs root and a pids controller)");
        return;
    };
    let mut programs = String::new();
    for i in 0..3 {
        programs.push_str(&format!(
            "[program:up{i}]\ncommand=sh -c 'echo up{i} ready; exec sleep 1000'\nstartsecs=0\n"
        ));
    }
    programs.push_str(
        "[program:late]\ncommand=sleep 1000\nstartsecs=0\nstartretries=2\nautostart=false\n",
    );
    let conf = Conf::new(&programs);
    let procs = cg.dir.join("cgroup.procs");
    let join = format!("echo $$ > {} && exec \"$@\"", procs.display());
    let d = Daemon::start_wrapped(target(), conf, &["sh", "-c", &join, "sh"]);
    for i in 0..3 {
        d.wait_state(&format!("up{i}"), "RUNNING", secs(10.0));
    }
    let held = cg.current();
    cg.set_max(&held.to_string());
    println!(
        "MEASURED pids: pids.max lowered to the {held} tasks the daemon and its children hold"
    );

    let fault = d
        .rpc("supervisor.startProcess", vec![Value::from("late")])
        .expect_err("a start that cannot fork fails");
    println!("MEASURED pids: startProcess → {fault:?}");
    assert_eq!(fault.code, 50, "SPAWN_ERROR: {fault:?}");
    // Two more tries after 1 s and 2 s of backoff, then FATAL.
    d.wait_state("late", "FATAL", secs(15.0));
    let info = d.info("late");
    assert_eq!(
        info["spawnerr"], "Too many processes in process table to spawn 'late'",
        "{info}"
    );
    let log = d.mainlog();
    assert!(
        log.contains("spawnerr: Too many processes in process table to spawn 'late'"),
        "{log}"
    );
    assert!(
        log.contains("gave up: late entered FATAL state, too many start retries too quickly"),
        "{log}"
    );
    // Still serving while at the limit: state, a log read, the real supervisorctl.
    assert_eq!(
        d.call("supervisor.getState", vec![])["statename"],
        "RUNNING"
    );
    let tail = d.call(
        "supervisor.readProcessStdoutLog",
        vec![Value::from("up0"), Value::from(0), Value::from(0)],
    );
    assert!(tail.as_str().unwrap().contains("up0 ready"), "{tail}");
    let out = d.ctl(&["status"]);
    assert!(
        out.stdout.contains("late") && out.stdout.contains("FATAL"),
        "{out}"
    );
    assert_eq!(cg.current(), held, "no task was added or lost at the limit");

    cg.set_max("max");
    d.call("supervisor.startProcess", vec![Value::from("late")]);
    assert_eq!(d.state("late"), "RUNNING");
}

/// `steward worker add` (config generation through `steward_ops::atomic`) when the new
/// file cannot be written: the include directory is a 256 KiB tmpfs, filled up after the
/// first `add`. The second `add` (a changed value) fails with a clear error, the old file
/// is byte for byte the same, no temp file is left, and the running group is untouched.
/// Tokens have the same test in token_cli.rs (RLIMIT_FSIZE).
#[test]
fn a_failed_config_generation_write_keeps_the_old_file_and_the_running_group() {
    let c = Conf::new("[include]\nfiles = conf.d/*.conf\n");
    let Some(_mount) = Tmpfs::mount(&c.dir.join("conf.d"), "256k") else {
        eprintln!("NOTE: skipped: mounting a tmpfs needs root");
        return;
    };
    let app = c.dir.join("app");
    fs::create_dir_all(&app).unwrap();
    fs::write(app.join("artisan"), "<?php\n").unwrap();
    let php = c.script("php", "#!/bin/sh\nwhile true; do sleep 1; done\n");
    let d = Daemon::start_steward(c);
    let worker = |tries: &str| {
        let mut cmd = Command::new(steward_bin());
        cmd.args(["worker", "add", "laravel-queue", "emails", "-c"])
            .arg(&d.conf.path)
            .arg("--path")
            .arg(&app)
            .arg("--bin")
            .arg(&php)
            .arg("--log-dir")
            .arg(d.conf.dir.join("childlogs"))
            .args(["--user", "root", "--tries", tries]);
        run_with_timeout(&mut cmd, CTL_TIMEOUT)
    };
    let out = worker("3");
    assert_eq!(out.code, 0, "{out}");
    d.wait_state("emails:emails_00", "RUNNING", secs(10.0));
    let pid = d.process_pid("emails:emails_00");
    let dir = d.conf.dir.join("conf.d");
    let file = dir.join("emails.conf");
    let before = fs::read(&file).unwrap();
    // Fill the include directory's filesystem to the last byte (a hidden name, so the
    // include glob does not see it).
    {
        use std::io::Write;
        let mut filler = fs::File::create(dir.join(".filler")).unwrap();
        let block = vec![0u8; 4096];
        while filler.write_all(&block).is_ok() {}
        while filler.write_all(&block[..1]).is_ok() {}
    }

    let out = worker("5");
    println!(
        "MEASURED failed config write: exit {} {:?}",
        out.code,
        out.stderr.trim()
    );
    assert_ne!(out.code, 0, "a failed write is an error\n{out}");
    assert!(
        out.stderr.contains("No space left on device"),
        "the error names the cause\n{out}"
    );
    assert!(
        out.stderr.contains("emails.conf"),
        "the error names the file\n{out}"
    );
    assert_eq!(fs::read(&file).unwrap(), before, "the old file is intact");
    let mut names: Vec<String> = fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [".filler", "emails.conf"],
        "no temp file left behind"
    );
    assert_eq!(
        d.process_pid("emails:emails_00"),
        pid,
        "the group was not restarted"
    );
    assert_eq!(d.state("emails:emails_00"), "RUNNING");
}

/// SIGKILL of the daemon while cron runs start and finish every second (each one an
/// fsync'd redb transaction), three times at different moments: each restart opens the
/// history cleanly (no "run history unavailable"), every record decodes, and the runs
/// that were in flight at the kill are marked interrupted.
#[test]
fn sigkill_during_cron_history_writes_leaves_a_clean_history_with_interrupted_runs() {
    let state = tempfile::Builder::new()
        .prefix("stw-state")
        .tempdir_in("/tmp")
        .unwrap();
    let jobs = format!(
        "[steward]\nstate_dir={}\n\n\
         [cron:long]\nschedule = * * * * * *\ncommand = sleep 30\n\n\
         [cron:quick]\nschedule = * * * * * *\ncommand = sh -c 'seq 1 2000'\n",
        state.path().display()
    );
    let history = |d: &Daemon, job: &str| -> Vec<Value> {
        match d.rpc("steward.cronHistory", vec![json!(job), json!(1000)]) {
            Ok(Value::Array(v)) => v,
            other => panic!(
                "cronHistory({job}) after a SIGKILL: {other:?}\n{}",
                d.mainlog()
            ),
        }
    };
    let interrupted = |runs: &[Value]| {
        runs.iter()
            .filter(|r| {
                r["error"]
                    .as_str()
                    .is_some_and(|e| e.starts_with("interrupted"))
            })
            .count()
    };
    let mut kills = 0;
    for delay in [1.3, 2.05, 2.7] {
        let mut d = Daemon::start_steward(Conf::new(&jobs));
        assert!(
            !d.mainlog().contains("run history unavailable"),
            "restart {kills}: {}",
            d.mainlog()
        );
        let long = history(&d, "long");
        let quick = history(&d, "quick");
        assert!(interrupted(&long) >= kills, "restart {kills}: {long:?}");
        for r in long.iter().chain(&quick) {
            assert!(
                r["ended"] != "" || r["error"] != "" || r["started"] != "",
                "a record without start, end or error: {r:?}"
            );
        }
        // Runs begin and end while the kill comes.
        assert!(wait_until(secs(10.0), || history(&d, "quick")
            .iter()
            .any(|r| r["ended"] != "")));
        std::thread::sleep(secs(delay));
        kill(d.pid, libc::SIGKILL);
        assert!(d.wait_exit(secs(10.0)).is_some());
        kills += 1;
        println!(
            "MEASURED sigkill {kills}: {} long and {} quick runs recorded before the kill",
            long.len(),
            quick.len()
        );
    }
    let d = Daemon::start_steward(Conf::new(&jobs));
    assert!(
        !d.mainlog().contains("run history unavailable"),
        "{}",
        d.mainlog()
    );
    let long = history(&d, "long");
    let quick = history(&d, "quick");
    println!(
        "MEASURED sigkill: after {kills} kills, {} long runs ({} interrupted), {} quick runs ({} interrupted)",
        long.len(),
        interrupted(&long),
        quick.len(),
        interrupted(&quick)
    );
    assert!(interrupted(&long) >= kills, "{long:?}");
    // Nothing is left "running" from a dead daemon: only this daemon's own run may be.
    let running = long
        .iter()
        .chain(&quick)
        .filter(|r| r["ended"] == "" && r["error"] == "" && r["skipped"] == "")
        .count();
    assert!(
        running <= 2,
        "runs of dead daemons still look running: {long:?}"
    );
}

/// Steward as PID 1 of a new pid namespace (as under `docker run`): a program leaves
/// 1,000 double-forked orphans behind; each is re-parented to the daemon and reaped when
/// it exits (0 zombies left), and SIGTERM then stops everything and exits 0 within
/// `stopwaitsecs`. Needs root for the namespace; otherwise a NOTE and a pass.
#[test]
fn as_pid_1_a_thousand_orphans_are_reaped_and_sigterm_exits_0_in_time() {
    let ok = Command::new("unshare")
        .args(["--pid", "--fork", "--mount-proc", "true"])
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        eprintln!("NOTE: skipped: `unshare --pid --fork --mount-proc` needs root");
        return;
    }
    let conf = Conf::new(
        "[program:forker]\ncommand=sh -c 'i=0; while [ $i -lt 1000 ]; do (sleep 0.5 &); i=$((i+1)); done; \
         echo forked > {dir}/forked; exec sleep 1000'\nstartsecs=0\nstopwaitsecs=5\n",
    );
    let mut d = Daemon::start_wrapped(
        Target::Steward,
        conf,
        &["unshare", "--pid", "--fork", "--mount-proc"],
    );
    let daemon = d
        .children()
        .first()
        .map(|p| p.pid)
        .expect("the daemon under unshare");
    let t = std::time::Instant::now();
    assert!(wait_until(secs(60.0), || d
        .conf
        .read("forked")
        .contains("forked")));
    // The program execs `sleep 1000`: its own pid (seen from outside) is not an orphan.
    let mut program = -1;
    assert!(wait_until(secs(10.0), || {
        program = forker_outer_pid(daemon);
        program > 0
    }));
    let orphans = |zombies_only: bool| {
        processes()
            .into_iter()
            .filter(|p| p.ppid == daemon && p.pid != program)
            .filter(|p| p.state == 'Z' || (!zombies_only && p.comm == "sleep"))
            .count()
    };
    let mut most = 0;
    assert!(
        wait_until(secs(30.0), || {
            let n = orphans(false);
            most = most.max(n);
            n == 0
        }),
        "orphans left: {} ({} zombies)",
        orphans(false),
        orphans(true)
    );
    assert!(most > 0, "the orphans were seen adopted by PID 1");
    println!(
        "MEASURED pid 1: 1,000 double-forked orphans, up to {most} adopted at once, all reaped {:?} after start",
        t.elapsed()
    );
    assert!(
        d.mainlog().contains("reaped unknown pid"),
        "{}",
        d.mainlog()
    );
    let t = std::time::Instant::now();
    kill(daemon, libc::SIGTERM);
    let st = d
        .wait_exit(secs(5.0 + 5.0))
        .expect("PID 1 exits after SIGTERM");
    println!(
        "MEASURED pid 1: SIGTERM → exit {:?} in {:?}",
        st.code(),
        t.elapsed()
    );
    assert_eq!(st.code(), Some(0));
    assert!(
        t.elapsed() <= secs(5.0 + 1.0),
        "within stopwaitsecs: {:?}",
        t.elapsed()
    );
}

/// The program's pid as seen from outside the namespace: the daemon's child running
/// `sleep 1000` (the orphans run `sleep 0.5`).
fn forker_outer_pid(daemon: i32) -> i32 {
    processes()
        .into_iter()
        .filter(|p| p.ppid == daemon)
        .find(|p| {
            fs::read(format!("/proc/{}/cmdline", p.pid))
                .is_ok_and(|c| c.split(|b| *b == 0).any(|a| a == b"1000"))
        })
        .map_or(-1, |p| p.pid)
}
