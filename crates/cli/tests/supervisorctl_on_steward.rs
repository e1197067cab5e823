//! The real supervisorctl 4.3.0 against Steward, compared with the same supervisorctl
//! against a real supervisord 4.3.0. Both daemons are started by the test on the same
//! configuration (each in its own temp dir), the same command lines run against each
//! (in parallel), and masked stdout and exit codes must be identical. Nothing is typed
//! by hand: supervisord's answers are the golden outputs. Masked: pids, uptimes, dates,
//! the temp dir, the inet port and the random part of AUTO log names.
//!
//! The venv is STEWARD_TEST_VENV, else `<repo>/.venv`, else /tmp/venv-sup; the tests
//! are skipped (with a note) when none holds supervisord and supervisorctl.

mod refclient;
use refclient::{venv, PROGRAMS};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Programs RUNNING once a fresh daemon has started.
const AUTOSTARTED: &[&str] = &["sleeper", "trapper", "grp:ga", "talker"];

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    Supervisord,
    Steward,
}

struct Daemon {
    kind: Kind,
    child: Option<Child>,
    dir: tempfile::TempDir,
    venv: PathBuf,
    port: u16,
}

fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

impl Daemon {
    /// Writes the config and spawns the daemon without waiting for it.
    fn spawn(kind: Kind, venv: &Path) -> Daemon {
        let dir = tempfile::Builder::new().prefix("sctl").tempdir().unwrap();
        let d = dir.path().display().to_string();
        let port = free_port();
        let conf = format!(
            "[unix_http_server]\nfile={d}/s.sock\n\
             [inet_http_server]\nport=127.0.0.1:{port}\nusername=user\npassword=123\n\
             [supervisord]\nlogfile={d}/sd.log\npidfile={d}/sd.pid\nchildlogdir={d}\nnodaemon=true\n\
             [rpcinterface:supervisor]\nsupervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface\n\
             [supervisorctl]\nserverurl=unix://{d}/s.sock\n{PROGRAMS}"
        );
        std::fs::write(dir.path().join("sup.conf"), conf).unwrap();
        let mut cmd = match kind {
            Kind::Supervisord => {
                let mut c = Command::new(venv.join("bin/supervisord"));
                c.arg("-c");
                c
            }
            Kind::Steward => {
                let mut c = Command::new(env!("CARGO_BIN_EXE_steward"));
                c.args(["daemon", "-n", "-c"]);
                c
            }
        };
        let child = cmd
            .arg(dir.path().join("sup.conf"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        Daemon {
            kind,
            child: Some(child),
            dir,
            venv: venv.to_path_buf(),
            port,
        }
    }

    fn conf(&self) -> String {
        self.dir.path().join("sup.conf").display().to_string()
    }

    fn dir(&self) -> String {
        self.dir.path().display().to_string()
    }

    /// Until every autostarted program is RUNNING (deadline 20 s).
    fn wait_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let (out, _) = self.ctl(&["status"]);
            let ready = AUTOSTARTED.iter().all(|n| {
                out.lines()
                    .any(|l| l.starts_with(&format!("{n} ")) && l.contains(" RUNNING "))
            });
            if ready {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{:?} not ready: {out}",
                self.kind
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Until the daemon process has exited (deadline 20 s).
    fn wait_exit(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(20);
        let child = self.child.as_mut().unwrap();
        loop {
            if let Ok(Some(_)) = child.try_wait() {
                self.child = None;
                return;
            }
            assert!(Instant::now() < deadline, "{:?} did not exit", self.kind);
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// A supervisorctl command line: `{DIR}` and `{PORT}` are this daemon's.
    fn args(&self, line: &str) -> Vec<String> {
        line.split_whitespace()
            .map(|a| {
                a.replace("{DIR}", &self.dir())
                    .replace("{PORT}", &self.port.to_string())
            })
            .collect()
    }

    fn ctl_cmd(&self) -> Command {
        let mut c = Command::new(self.venv.join("bin/supervisorctl"));
        c.arg("-c").arg(self.conf());
        c
    }

    fn ctl<S: AsRef<std::ffi::OsStr>>(&self, args: &[S]) -> (String, i32) {
        let out = self
            .ctl_cmd()
            .args(args)
            .stdin(Stdio::null())
            .output()
            .unwrap();
        (
            String::from_utf8_lossy(&out.stdout).into_owned(),
            out.status.code().unwrap_or(-1),
        )
    }

    /// Runs supervisorctl with `input` on stdin (the interactive shell).
    fn ctl_stdin(&self, input: &str) -> (String, i32) {
        let mut child = self
            .ctl_cmd()
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
        wait_output(child, Duration::from_secs(20))
    }

    /// Runs a following command (`tail -f`, `maintail -f`, `fg`) with an open stdin until
    /// it exits by itself or its stdout holds `until` (a deadline of 10 s; 4 s when there
    /// is nothing to wait for), then sends SIGINT as Ctrl-C does and collects the rest.
    fn ctl_follow(&self, line: &str, until: Option<&str>) -> (String, i32) {
        let mut child = self
            .ctl_cmd()
            .args(self.args(line))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let buf = Arc::new(Mutex::new(Vec::new()));
        let mut stdout = child.stdout.take().unwrap();
        let b = buf.clone();
        let reader = std::thread::spawn(move || {
            let mut chunk = [0u8; 4096];
            while let Ok(n) = stdout.read(&mut chunk) {
                if n == 0 {
                    break;
                }
                b.lock().unwrap().extend_from_slice(&chunk[..n]);
            }
        });
        let mut guard = KillOnDrop(child);
        let child = &mut guard.0;
        // Commands that end by themselves are given a generous bound, not a short one: on
        // a loaded machine supervisorctl's own start-up can take seconds (issue 12 §4).
        let limit = Duration::from_secs(if until.is_some() { 10 } else { 20 });
        let deadline = Instant::now() + limit;
        let mut exited = None;
        while Instant::now() < deadline {
            if let Ok(Some(st)) = child.try_wait() {
                exited = Some(st.code().unwrap_or(-1));
                break;
            }
            if until.is_some_and(|u| String::from_utf8_lossy(&buf.lock().unwrap()).contains(u)) {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let rc = match exited {
            Some(rc) => rc,
            None => {
                let pid = nix::unistd::Pid::from_raw(child.id() as i32);
                let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGINT);
                wait_deadline(child, Duration::from_secs(10))
            }
        };
        let _ = reader.join();
        let out = String::from_utf8_lossy(&buf.lock().unwrap()).into_owned();
        (out, rc)
    }

    /// This daemon's output with its own paths and port masked, then the common masks.
    fn mask(&self, s: &str) -> String {
        let s = s
            .replace(&self.dir(), "DIR")
            .replace(&self.port.to_string(), "PORT");
        mask(&s)
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        let pid = nix::unistd::Pid::from_raw(child.id() as i32);
        let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            if let Ok(Some(_)) = child.try_wait() {
                break;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Exit code of `child`, killing it when it has not exited within `limit` (-1 then).
fn wait_deadline(child: &mut Child, limit: Duration) -> i32 {
    let deadline = Instant::now() + limit;
    loop {
        if let Ok(Some(st)) = child.try_wait() {
            return st.code().unwrap_or(-1);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            return -1;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn wait_output(mut child: Child, limit: Duration) -> (String, i32) {
    let mut stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = stdout.read_to_end(&mut v);
        v
    });
    let rc = wait_deadline(&mut child, limit);
    let out = reader.join().unwrap();
    (String::from_utf8_lossy(&out).into_owned(), rc)
}

/// The two daemons of a test, started in parallel on the same configuration.
struct Pair {
    sup: Daemon,
    ours: Daemon,
}

impl Pair {
    fn start(venv: &Path) -> Pair {
        let sup = Daemon::spawn(Kind::Supervisord, venv);
        let ours = Daemon::spawn(Kind::Steward, venv);
        std::thread::scope(|s| {
            s.spawn(|| sup.wait_ready());
            ours.wait_ready();
        });
        Pair { sup, ours }
    }

    /// Runs `f` against both daemons at once; returns (supervisord's, Steward's).
    fn both<T: Send>(&self, f: impl Fn(&Daemon) -> T + Sync) -> (T, T) {
        std::thread::scope(|s| {
            let h = s.spawn(|| f(&self.sup));
            let o = f(&self.ours);
            (h.join().unwrap(), o)
        })
    }

    /// Runs the command lines, in order, against each daemon and compares each result.
    /// A leading `~` compares the output lines as a set: the order in which concurrent
    /// starts or stops finish is a race in supervisord too.
    fn compare(&self, cmds: &[&str]) -> Vec<String> {
        let (real, ours) = self.both(|d| {
            cmds.iter()
                .map(|c| d.ctl(&d.args(c.trim_start_matches('~'))))
                .collect::<Vec<_>>()
        });
        let mut failures = Vec::new();
        for ((c, mut r), mut o) in cmds.iter().zip(real).zip(ours) {
            if c.starts_with('~') {
                r.0 = sorted_lines(&r.0);
                o.0 = sorted_lines(&o.0);
            }
            if c.starts_with("maintail -") && !c.starts_with("maintail -0") {
                r.0 = drop_first_line(&r.0);
                o.0 = drop_first_line(&o.0);
            }
            self.diff(c, &r, &o, &mut failures);
        }
        failures
    }

    fn diff(&self, what: &str, r: &(String, i32), o: &(String, i32), failures: &mut Vec<String>) {
        let (rm, om) = (self.sup.mask(&r.0), self.ours.mask(&o.0));
        if rm != om || r.1 != o.1 {
            failures.push(format!(
                "[{what}] supervisord rc={} steward rc={}\n--- supervisord\n{rm}--- steward\n{om}",
                r.1, o.1
            ));
        }
    }
}

/// For commands marked `~`: supervisord reports the processes a `stop` (or the stop half
/// of a `restart`) waited for in the order it happened to reap them (make_allfunc appends
/// each result when its callback first sees the process stopped, and stopProcess reaps
/// right after signalling), so the order of those lines is a race in the reference.
fn sorted_lines(s: &str) -> String {
    let mut v: Vec<&str> = s.lines().collect();
    v.sort_unstable();
    v.iter().map(|l| format!("{l}\n")).collect()
}

/// `maintail -N` starts N bytes from the end, mid-line; pids of other widths move that cut.
fn drop_first_line(s: &str) -> String {
    s.split_once('\n').map(|x| x.1).unwrap_or("").to_string()
}

/// Masks what legitimately differs between two runs: pids, uptimes, dates, AUTO names.
fn mask(s: &str) -> String {
    let mut out = String::new();
    for line in s.split_inclusive('\n') {
        let mut l = line.to_string();
        // "pid 123, uptime 0:00:01", "with pid 123"
        let mut from = 0;
        while let Some(i) = l[from..].find("pid ").map(|i| i + from) {
            let rest = &l[i + 4..];
            let end = rest
                .find(|c: char| !c.is_ascii_digit())
                .unwrap_or(rest.len());
            from = i + 4;
            if end > 0 {
                l = format!("{}pid N{}", &l[..i], &rest[end..]);
            }
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
        // "Nov 23 03:18 AM" (stop time)
        for m in [" AM", " PM"] {
            if let Some(i) = l.find(m) {
                if i >= 12 {
                    l = format!("{}STOPTIME{}", &l[..i - 12], &l[i + 3..]);
                }
            }
        }
        // "2025-01-02 03:04:05,678" (log lines)
        l = mask_log_dates(&l);
        // AUTO log names: "name-stdout---supervisor-abc123.log"
        let mut from = 0;
        while let Some(i) = l[from..].find("---supervisor-").map(|i| i + from) {
            let start = i + "---supervisor-".len();
            let rest = &l[start..];
            let end = rest
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(rest.len());
            l = format!("{}RAND{}", &l[..start], &rest[end..]);
            from = start;
        }
        out.push_str(&l);
    }
    out
}

fn mask_log_dates(l: &str) -> String {
    let b = l.as_bytes();
    let pat = b"dddd-dd-dd dd:dd:dd,ddd";
    let mut out = String::new();
    let mut i = 0;
    while i < b.len() {
        let fits = i + pat.len() <= b.len()
            && pat.iter().zip(&b[i..]).all(|(p, c)| {
                if *p == b'd' {
                    c.is_ascii_digit()
                } else {
                    p == c
                }
            });
        if fits {
            out.push_str("DATE");
            i += pat.len();
        } else {
            let ch = l[i..].chars().next().unwrap();
            out.push(ch);
            i += ch.len_utf8();
        }
    }
    out
}

fn check(failures: Vec<String>) {
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

macro_rules! need_venv {
    () => {
        match venv() {
            Some(v) => v,
            None => {
                eprintln!("skipping: no supervisor 4.3 venv (set STEWARD_TEST_VENV)");
                return;
            }
        }
    };
}

#[test]
fn read_only_commands_match() {
    let venv = need_venv!();
    let p = Pair::start(&venv);
    let mut failures = p.compare(&[
        "status",
        "status all",
        "status sleeper",
        "status sleeper talker",
        "status nope",
        "status grp:*",
        "status grp:ga",
        "status nope:*",
        "status grp:zz",
        "status sleeper nope missing",
        "status missing",
        "pid",
        "pid sleeper",
        "pid grp:ga",
        "pid missing",
        "pid nope",
        "pid all",
        "pid sleeper talker",
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
        "help fg",
        "help open",
        "help EOF",
        "foo",
        "foo bar",
        "tail",
        "tail a b c d",
        "tail sleeper",
        "tail talker",
        "tail talker stdout",
        "tail talker stderr",
        "tail -4 talker",
        "tail -4 talker stderr",
        "tail -0 talker",
        "tail -100000 talker",
        "tail -x sleeper",
        "tail sleeper bad",
        "tail nope",
        "tail nope stderr",
        "tail grp:ga",
        "tail grp:*",
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
        "fg grp:*",
        "shutdown x",
        "reload x",
        "open foo://x",
        "open unix://{DIR}/s.sock",
        "open unix://{DIR}/none.sock",
        "open http://127.0.0.1:{PORT}",
        "-u user -p 123 open http://127.0.0.1:{PORT}",
        "-s http://127.0.0.1:{PORT} -u user -p 123 status",
        "-s http://127.0.0.1:{PORT} -u user -p bad status",
        "-s http://127.0.0.1:{PORT} status",
        "-s http://127.0.0.1:{PORT} -u user -p 123 tail talker",
        "add",
        "remove",
        "start sleeper",
        "start nope",
        "start nope:*",
        "start missing",
        "stop nope",
        "stop nope:*",
        "stop missing",
        "restart nope",
        "signal HUP nope",
        "signal BOGUS sleeper",
        "signal HUP missing",
        "signal HUP nope:*",
        "clear nope",
        "add nope",
        "add sleeper",
        "remove nope",
        "remove sleeper",
        "update",
        "update nope",
        "update all",
        "update grp",
        "EOF",
        "quit",
        "exit",
    ]);

    // The interactive shell, fed from a pipe.
    let (r, o) = p.both(|d| {
        d.ctl_stdin("status sleeper\nstatus nope\npid missing\nhelp version\nversion\nbogus\n\n")
    });
    p.diff("interactive shell", &r, &o, &mut failures);
    check(failures);
}

#[test]
fn state_changes_match() {
    let venv = need_venv!();
    let p = Pair::start(&venv);
    let mut failures = Vec::new();
    // quick exits with 3 before startsecs: the same result every time.
    failures.extend(p.compare(&[
        "start quick",
        "tail quick",
        "tail quick stderr",
        "tail -5 quick",
        "status quick",
        "start missing",
        "status missing",
        "tail missing",
        "tail missing stderr",
    ]));
    failures.extend(p.compare(&[
        "stop sleeper",
        "status sleeper",
        "pid sleeper",
        "stop sleeper",
        "fg sleeper",
        "start sleeper",
        "start sleeper",
        "restart sleeper",
        "~stop grp:*",
        "status grp:*",
        "start grp:*",
        "start grp:*",
        "stop grp:gb",
        "restart grp:ga sleeper",
        "~restart grp:*",
        "restart sleeper nope talker",
        "stop sleeper nope",
        "start sleeper nope",
        "signal HUP trapper",
        "signal 1 trapper",
        "signal SIGHUP trapper",
        "signal hup trapper",
        "status trapper",
        "signal USR1 grp:*",
        "status grp:*",
        "start grp:*",
        "signal HUP sleeper",
        "status sleeper",
        "start sleeper",
        "signal HUP all",
        "status",
        // quick fails when its exit is reaped, the others turn RUNNING on the next pass:
        // which comes first is timing, in either daemon.
        "~start all",
        "status",
        "~stop all",
        "status",
        "~stop all",
        "~start all",
        "~restart all",
        "status",
        "signal TERM all",
        "status",
        "start sleeper trapper grp:ga talker",
        "clear sleeper",
        "clear talker",
        "tail talker",
        "tail talker stderr",
        "clear sleeper nope",
        "clear grp:*",
        "clear all",
        "tail talker",
        "status",
    ]));

    // Config changes: reread, update (all / group), add, remove, avail.
    let originals: Vec<String> = [&p.sup, &p.ours]
        .iter()
        .map(|d| std::fs::read_to_string(d.conf()).unwrap())
        .collect();
    let edit = |f: &dyn Fn(&str) -> String| {
        for (d, orig) in [&p.sup, &p.ours].iter().zip(&originals) {
            std::fs::write(d.conf(), f(orig)).unwrap();
        }
    };
    // newp added, sleeper changed, trapper removed.
    edit(&|o: &str| {
        o.replace("command=sleep 1000\nstartsecs=0\n[program:trapper]", "command=sleep 999\nstartsecs=0\n[program:trapper]")
            .replace("[program:trapper]", "[program:trapper-gone]")
            + "\n[program:newp]\ncommand=sleep 1000\nstartsecs=0\n[group:g2]\nprograms=n1\n[program:n1]\ncommand=sleep 1000\nstartsecs=0\n"
    });
    failures.extend(p.compare(&[
        "avail",
        "reread",
        "reread",
        "avail",
        "update nope",
        "update newp",
        "status newp",
        "avail",
        "add g2",
        "add g2",
        "status g2:*",
        "remove g2",
        "stop g2:*",
        "remove g2",
        "status",
        "update sleeper",
        "status sleeper",
        "update",
        "status",
        "update",
        "avail",
        "stop newp",
        "remove newp",
    ]));
    // Back to the original: update all restores it.
    edit(&|o: &str| o.to_string());
    failures.extend(p.compare(&["reread", "update all", "status", "avail"]));
    // A changed group: only it is restarted.
    edit(&|o: &str| o.replace("programs=ga,gb", "programs=ga"));
    failures.extend(p.compare(&["reread", "update grp", "status", "update", "avail"]));
    check(failures);
}

#[test]
fn follow_commands_match() {
    let venv = need_venv!();
    let p = Pair::start(&venv);
    let mut failures = Vec::new();
    for (line, until) in [
        ("tail -f talker", Some("talk-out\n")),
        ("tail -f talker stderr", Some("talk-err\n")),
        ("tail -f talker stdout", Some("talk-out\n")),
        (
            "-s http://127.0.0.1:{PORT} -u user -p 123 tail -f talker",
            Some("talk-out\n"),
        ),
        // These end by themselves.
        (
            "-s http://127.0.0.1:{PORT} -u user -p bad tail -f talker",
            None,
        ),
        ("tail -f nope", None),
        ("tail -f", None),
        ("tail -f a b c", None),
        ("fg", None),
        ("fg nope", None),
        ("fg missing", None),
        // Never started: supervisord has no log file yet (404, supervisorctl exits).
        ("tail -f missing", None),
    ] {
        let (r, o) = p.both(|d| d.ctl_follow(line, until));
        p.diff(line, &r, &o, &mut failures);
    }
    // fg on a running process: stdin at EOF ends it ("Exiting foreground").
    let (r, o) = p.both(|d| {
        let child = d
            .ctl_cmd()
            .args(["fg", "sleeper"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        wait_output(child, Duration::from_secs(10))
    });
    // The real client itself sometimes dies in asyncore after "Exiting foreground" (an
    // AttributeError, exit -1), whichever daemon it talks to: compare up to that line.
    let upto = |out: &(String, i32)| {
        let text = out
            .0
            .split_inclusive('\n')
            .take_while(|l| !l.starts_with("error: <class"))
            .collect::<String>();
        (text, 0)
    };
    p.diff(
        "fg sleeper (stdin at EOF)",
        &upto(&r),
        &upto(&o),
        &mut failures,
    );
    check(failures);
}

#[test]
fn maintail_matches() {
    let venv = need_venv!();
    let p = Pair::start(&venv);
    // The tail of the log after a failed start (what precedes it: see the ignored test).
    check(p.compare(&["start quick", "maintail -300", "maintail -100"]));
}

/// Differences found and reported (outside this test's files): the order and count of
/// the start-up lines of the main log ("RPC interface 'supervisor' initialized" once per
/// HTTP server, before the "running without any HTTP authentication" line and before
/// "supervisord started") and the text of CANT_REREAD faults (supervisord's ValueError
/// text, not Steward's file:line diagnostic). Both fixed; kept as a regression test.
#[test]
fn main_log_and_config_error_texts_match() {
    let venv = need_venv!();
    let p = Pair::start(&venv);
    let mut failures = p.compare(&["maintail", "maintail -0"]);
    let until =
        "trapper entered RUNNING state, process has stayed up for > than 0 seconds (startsecs)\n";
    let (r, o) = p.both(|d| d.ctl_follow("maintail -f", Some(until)));
    // Drop the "Press Ctrl-C" banner and the first log line, which the last-1024-bytes
    // window cuts at a different place in each log.
    let cut = |t: &str| drop_first_line(&drop_first_line(t));
    let (r, o) = ((cut(&r.0), r.1), (cut(&o.0), o.1));
    p.diff("maintail -f", &r, &o, &mut failures);
    failures.extend(p.compare(&["stop talker", "start talker", "maintail -300"]));
    for d in [&p.sup, &p.ours] {
        let c = std::fs::read_to_string(d.conf()).unwrap();
        std::fs::write(d.conf(), format!("{c}\n[program:bad]\n")).unwrap();
    }
    failures.extend(p.compare(&["reread", "update"]));
    check(failures);
}

#[test]
fn reload_shutdown_and_connection_errors_match() {
    let venv = need_venv!();
    let mut p = Pair::start(&venv);
    let mut failures = p.compare(&["stop sleeper", "reload"]);
    std::thread::scope(|s| {
        s.spawn(|| p.sup.wait_ready());
        p.ours.wait_ready();
    });
    failures.extend(p.compare(&["status", "shutdown"]));
    p.sup.wait_exit();
    p.ours.wait_exit();
    failures.extend(p.compare(&[
        "status",
        "pid",
        "tail -f talker",
        "shutdown",
        "-s http://127.0.0.1:{PORT} status",
        "-s http://127.0.0.1:{PORT} stop all",
        "-s unix://{DIR}/sup.conf status",
        "version",
    ]));
    check(failures);
}
