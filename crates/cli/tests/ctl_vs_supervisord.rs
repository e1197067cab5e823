//! Black-box comparison of `steward ctl` with the real supervisorctl 4.3.0, both talking
//! to a real supervisord 4.3.0 started from the test venv (STEWARD_TEST_VENV, else
//! `<repo>/.venv`, else /tmp/venv-sup). Each scenario runs the same command lines with
//! both clients and requires identical stdout (pids, uptimes and stop times masked)
//! and exit codes. Skipped (with a note) when no venv with supervisor is found.

mod refclient;
use refclient::{venv, PROGRAMS};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

struct Daemon {
    child: Child,
    dir: tempfile::TempDir,
    venv: PathBuf,
}

impl Daemon {
    fn start(venv: &Path) -> Daemon {
        let dir = tempfile::Builder::new().prefix("ctlvs").tempdir().unwrap();
        let d = dir.path().display().to_string();
        let conf = format!(
            "[unix_http_server]\nfile={d}/s.sock\n[supervisord]\nlogfile={d}/sd.log\npidfile={d}/sd.pid\nchildlogdir={d}\nnodaemon=true\n\
             [rpcinterface:supervisor]\nsupervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface\n\
             [supervisorctl]\nserverurl=unix://{d}/s.sock\n{PROGRAMS}"
        );
        std::fs::write(dir.path().join("sup.conf"), conf).unwrap();
        let child = Command::new(venv.join("bin/supervisord"))
            .arg("-c")
            .arg(dir.path().join("sup.conf"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let daemon = Daemon {
            child,
            dir,
            venv: venv.to_path_buf(),
        };
        daemon.wait_ready();
        daemon
    }

    fn conf(&self) -> String {
        self.dir.path().join("sup.conf").display().to_string()
    }

    /// Until sleeper, trapper and grp:ga are RUNNING (deadline 20 s).
    fn wait_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let (out, _) = run_real(self, &["status"]);
            let running = out.lines().filter(|l| l.contains(" RUNNING ")).count();
            if running >= 3 {
                return;
            }
            assert!(Instant::now() < deadline, "supervisord not ready: {out}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let pid = nix::unistd::Pid::from_raw(self.child.id() as i32);
        let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            if let Ok(Some(_)) = self.child.try_wait() {
                break;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                let _ = self.child.wait();
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

fn run(mut cmd: Command, conf: &str, args: &[&str]) -> (String, i32) {
    cmd.arg("-c").arg(conf).args(args);
    cmd.stdin(Stdio::null());
    let out = cmd.output().unwrap();
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        out.status.code().unwrap_or(-1),
    )
}

fn run_real(d: &Daemon, args: &[&str]) -> (String, i32) {
    run(
        Command::new(d.venv.join("bin/supervisorctl")),
        &d.conf(),
        args,
    )
}

fn run_ours(d: &Daemon, args: &[&str]) -> (String, i32) {
    let mut c = Command::new(env!("CARGO_BIN_EXE_steward"));
    c.arg("ctl");
    run(c, &d.conf(), args)
}

/// Masks what legitimately differs between two runs: pids, uptimes, stop times.
fn mask(s: &str) -> String {
    let mut out = String::new();
    for line in s.split_inclusive('\n') {
        let mut l = line.to_string();
        // "pid 123, uptime 0:00:01"
        while let Some(i) = l.find("pid ") {
            let rest = &l[i + 4..];
            let end = rest
                .find(|c: char| !c.is_ascii_digit())
                .unwrap_or(rest.len());
            if end == 0 {
                break;
            }
            l = format!("{}PID#{}", &l[..i], &rest[end..]);
        }
        if let Some(i) = l.find("uptime ") {
            let rest = &l[i + 7..];
            let end = rest
                .find(|c: char| {
                    !(c.is_ascii_digit()
                        || c == ':'
                        || c == ','
                        || c == ' '
                        || c.is_ascii_alphabetic())
                })
                .unwrap_or(rest.len());
            l = format!("{}UPTIME{}", &l[..i], &rest[end..]);
        }
        // a line that is just a number (pid command)
        if l.trim_end().chars().all(|c| c.is_ascii_digit()) && !l.trim_end().is_empty() {
            l = format!("N{}", if l.ends_with('\n') { "\n" } else { "" });
        }
        // "Nov 23 03:18 AM"
        for m in [" AM", " PM"] {
            if let Some(i) = l.find(m) {
                if i >= 12 {
                    l = format!("{}STOPTIME{}", &l[..i - 12], &l[i + 3..]);
                }
            }
        }
        // file/line of Python tracebacks
        if let Some(i) = l.find(": file: ") {
            l = format!("{}: file: F\n", &l[..i]);
        }
        out.push_str(&l);
    }
    out
}

/// Runs every command line with the real client, then with ours, and compares.
fn compare_each(d: &Daemon, cmds: &[&str]) -> Vec<String> {
    let mut failures = Vec::new();
    for c in cmds {
        let args: Vec<&str> = c.split_whitespace().collect();
        let (ro, rc) = run_real(d, &args);
        let (so, sc) = run_ours(d, &args);
        if mask(&ro) != mask(&so) || rc != sc {
            failures.push(format!(
                "[{c}] real rc={rc} ours rc={sc}\n--- real\n{ro}--- ours\n{so}"
            ));
        }
    }
    failures
}

/// Runs the whole sequence with the real client, then the whole sequence with ours
/// (for command sequences that change state and restore it).
fn compare_sequence(d: &Daemon, cmds: &[&str]) -> Vec<String> {
    let real: Vec<(String, i32)> = cmds
        .iter()
        .map(|c| run_real(d, &c.split_whitespace().collect::<Vec<_>>()))
        .collect();
    let ours: Vec<(String, i32)> = cmds
        .iter()
        .map(|c| run_ours(d, &c.split_whitespace().collect::<Vec<_>>()))
        .collect();
    let mut failures = Vec::new();
    for ((c, r), s) in cmds.iter().zip(real).zip(ours) {
        if mask(&r.0) != mask(&s.0) || r.1 != s.1 {
            failures.push(format!(
                "[{c}] real rc={} ours rc={}\n--- real\n{}--- ours\n{}",
                r.1, s.1, r.0, s.0
            ));
        }
    }
    failures
}

fn check(failures: Vec<String>) {
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn ctl_matches_supervisorctl() {
    let Some(venv) = venv() else {
        eprintln!("skipping: no supervisor 4.3 venv (set STEWARD_TEST_VENV)");
        return;
    };
    let d = Daemon::start(&venv);

    // Commands that don't change state.
    check(compare_each(
        &d,
        &[
            "status",
            "status sleeper",
            "status nope",
            "status grp:*",
            "status nope:*",
            "status grp:zz",
            "status sleeper nope missing",
            "pid",
            "pid sleeper",
            "pid missing",
            "pid nope",
            "pid all",
            "version",
            "version x",
            "avail",
            "avail x",
            "reread",
            "reread x",
            "help",
            "help status",
            "help help",
            "help foo",
            "help maintail",
            "help tail",
            "help restart",
            "help update",
            "help EOF",
            "foo",
            "foo bar",
            "tail",
            "tail a b c d",
            "tail sleeper",
            "tail -x sleeper",
            "tail sleeper bad",
            "tail nope",
            "tail nope stderr",
            "maintail -x",
            "maintail x",
            "maintail a b",
            "start",
            "stop",
            "signal",
            "signal HUP",
            "clear",
            "restart",
            "fg",
            "fg a b",
            "fg nope",
            "fg missing",
            "shutdown x",
            "reload x",
            "open foo://x",
            "add",
            "remove",
            "start sleeper",
            "start nope",
            "start nope:*",
            "start missing",
            "stop nope",
            "stop nope:*",
            "stop missing",
            "signal HUP nope",
            "signal BOGUS sleeper",
            "signal HUP missing",
            "signal HUP trapper",
            "signal HUP nope:*",
            "clear sleeper",
            "clear nope",
            "clear sleeper nope",
            "add nope",
            "add sleeper",
            "remove nope",
            "remove sleeper",
            "update",
            "update nope",
            "update all",
            "EOF",
            "quit",
        ],
    ));

    // quick exits with 3 before startsecs: same result every time.
    check(compare_each(
        &d,
        &[
            "start quick",
            "tail quick",
            "tail quick stderr",
            "tail -5 quick",
            "tail -0 quick",
        ],
    ));
    check(compare_each(&d, &["maintail -30"]));

    // State-changing sequences that end where they began.
    check(compare_sequence(
        &d,
        &[
            "stop sleeper",
            "status sleeper",
            "pid sleeper",
            "start sleeper",
            "restart sleeper",
            "stop grp:*",
            "start grp:*",
            "stop grp:gb",
            "restart grp:ga sleeper",
        ],
    ));
    check(compare_sequence(
        &d,
        &[
            "stop grp:*",
            "remove grp",
            "add grp",
            "remove grp",
            "reread",
            "update",
        ],
    ));
    // update/reread with a config change, restored at the end of each half.
    let conf = d.conf();
    let original = std::fs::read_to_string(&conf).unwrap();
    std::fs::write(
        &conf,
        format!("{original}\n[program:newp]\ncommand=sleep 1000\nstartsecs=0\n"),
    )
    .unwrap();
    check(compare_sequence(
        &d,
        &[
            "reread",
            "update nope",
            "update newp",
            "avail",
            "stop newp",
            "remove newp",
        ],
    ));
    std::fs::write(&conf, &original).unwrap();
    check(compare_each(&d, &["reread"]));
}

#[test]
fn ctl_connection_errors_match() {
    let Some(venv) = venv() else {
        eprintln!("skipping: no supervisor 4.3 venv (set STEWARD_TEST_VENV)");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("c.conf");
    let sock = dir.path().join("missing.sock");
    std::fs::write(
        &conf,
        format!("[supervisorctl]\nserverurl=unix://{}\n", sock.display()),
    )
    .unwrap();
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    drop(l);
    let refused = format!("http://127.0.0.1:{port}");
    let conf = conf.display().to_string();
    let mut failures = Vec::new();
    for args in [
        vec!["status"],
        vec!["start", "x"],
        vec!["pid"],
        vec!["version"],
        vec!["avail"],
        vec!["shutdown"],
        vec!["tail", "-f", "x"],
        vec!["-s", &refused, "status"],
        vec!["-s", &refused, "stop", "x"],
        vec!["-s", &refused, "reread"],
        vec!["-s", &refused, "shutdown"],
        vec!["-s", "https://x", "status"],
        vec!["-s", "foo", "status"],
        vec!["-x"],
        vec!["--bogus"],
        vec!["-s", "a", "-s", "b", "status"],
        vec!["-h"],
        vec!["--help=3"],
        vec!["-c", "/nonexistent/steward.conf", "status"],
    ] {
        let (ro, rc) = run(Command::new(venv.join("bin/supervisorctl")), &conf, &args);
        let mut c = Command::new(env!("CARGO_BIN_EXE_steward"));
        c.arg("ctl");
        let (so, sc) = run(c, &conf, &args);
        // -h prints the program name
        let ro = ro.replace(
            &venv.join("bin/supervisorctl").display().to_string(),
            "PROG",
        );
        let so = so.replace(env!("CARGO_BIN_EXE_steward"), "PROG");
        if mask(&ro) != mask(&so) || rc != sc {
            failures.push(format!(
                "{args:?} real rc={rc} ours rc={sc}\n--- real\n{ro}--- ours\n{so}"
            ));
        }
    }
    check(failures);
}

#[test]
fn ctl_shutdown_and_reload_match() {
    let Some(venv) = venv() else {
        eprintln!("skipping: no supervisor 4.3 venv (set STEWARD_TEST_VENV)");
        return;
    };
    for cmd in ["reload", "shutdown"] {
        let real_d = Daemon::start(&venv);
        let real = run_real(&real_d, &[cmd]);
        let ours_d = Daemon::start(&venv);
        let ours = run_ours(&ours_d, &[cmd]);
        assert_eq!(real, ours, "{cmd}");
    }
}
