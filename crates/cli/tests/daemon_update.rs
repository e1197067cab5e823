//! Issue 3 §6: `reread` / `update` / `avail` / `add` / `remove` with supervisord's
//! semantics — update stops and re-adds only the changed groups, adds the new ones,
//! removes the vanished ones, and no other process is touched (its pid stays).
//! Issue 2 §6: daemonized mode (fork, setsid, pidfile) as well.
mod support;
use support::*;

const BEFORE: &str = "
[program:same]
command=sleep 1000
startsecs=0

[program:changes]
command=sleep 1000
startsecs=0

[program:goes]
command=sleep 1000
startsecs=0

[program:w]
command=sleep 1000
startsecs=0
numprocs=2
process_name=%(program_name)s_%(process_num)d
";

const AFTER: &str = "
[program:same]
command=sleep 1000
startsecs=0

[program:changes]
command=sleep 1001
startsecs=0

[program:w]
command=sleep 1000
startsecs=0
numprocs=2
process_name=%(program_name)s_%(process_num)d

[program:new]
command=sleep 1000
startsecs=0
";

#[test]
fn update_touches_only_changed_added_and_removed_groups() {
    let d = Daemon::start(Conf::new(BEFORE));
    for p in ["same", "changes", "goes", "w:w_0", "w:w_1"] {
        d.wait_state(p, "RUNNING", secs(10.0));
    }
    let same = d.process_pid("same");
    let w0 = d.process_pid("w:w_0");
    let changes = d.process_pid("changes");
    d.conf.write(AFTER);

    let out = d.ctl(&["reread"]);
    assert_eq!(
        out.stdout, "changes: changed\ngoes: disappeared\nnew: available\n",
        "{out}"
    );
    let out = d.ctl(&["avail"]);
    assert!(out.stdout.contains("new"), "{out}");
    assert!(out.stdout.contains("avail"), "{out}");

    let out = d.ctl(&["update"]);
    assert_eq!(out.code, 0, "{out}");
    assert!(
        out.stdout
            .contains("goes: stopped\ngoes: removed process group\n"),
        "{out}"
    );
    assert!(
        out.stdout
            .contains("changes: stopped\nchanges: updated process group\n"),
        "{out}"
    );
    assert!(out.stdout.contains("new: added process group\n"), "{out}");

    d.wait_state("new", "RUNNING", secs(10.0));
    d.wait_state("changes", "RUNNING", secs(10.0));
    assert_ne!(
        d.process_pid("changes"),
        changes,
        "the changed group restarted"
    );
    assert_eq!(
        d.process_pid("same"),
        same,
        "an unchanged program keeps its pid"
    );
    assert_eq!(
        d.process_pid("w:w_0"),
        w0,
        "an unchanged group keeps its pids"
    );
    assert!(d
        .rpc("supervisor.getProcessInfo", vec![serde_json::json!("goes")])
        .is_err());

    // Nothing left to do: a second update prints nothing.
    let out = d.ctl(&["update"]);
    assert_eq!(out.stdout, "", "{out}");
    assert_eq!(out.code, 0, "{out}");

    // remove needs a stopped group; add brings it back.
    let out = d.ctl(&["remove", "new"]);
    assert_eq!(
        out.stdout, "ERROR: process/group still running: new\n",
        "{out}"
    );
    d.ctl(&["stop", "new"]);
    let out = d.ctl(&["remove", "new"]);
    assert_eq!(out.stdout, "new: removed process group\n", "{out}");
    let out = d.ctl(&["add", "new"]);
    assert_eq!(out.stdout, "new: added process group\n", "{out}");
    d.wait_state("new", "RUNNING", secs(10.0));
    assert_eq!(d.process_pid("same"), same);
}

#[test]
fn daemonized_mode_forks_writes_the_pidfile_and_stops_on_sigterm() {
    if is_reference() {
        return;
    }
    let conf = Conf::with_supervisord(
        "nodaemon=false\n",
        "\n[program:bg]\ncommand=sleep 1000\nstartsecs=0\n",
    );
    let pidfile = conf.file("supervisord.pid");
    let text = conf.text();
    assert!(
        text.contains("pidfile"),
        "the harness config names a pidfile:\n{text}"
    );
    // Without -n the parent exits 0 once the daemon is detached.
    let mut cmd = std::process::Command::new(steward_bin());
    cmd.arg("daemon")
        .arg("-c")
        .arg(&conf.path)
        .current_dir(&conf.dir);
    let out = run_with_timeout(&mut cmd, secs(10.0));
    assert_eq!(out.code, 0, "{out}");
    let mut daemon_pid = 0;
    assert!(wait_until(secs(10.0), || {
        daemon_pid = std::fs::read_to_string(&pidfile)
            .ok()
            .and_then(|t| t.trim().parse().ok())
            .unwrap_or(0);
        daemon_pid > 0
    }));
    assert!(pid_alive(daemon_pid));
    let _guard = Reap(daemon_pid);
    let ctl = |args: &[&str]| {
        let mut c = std::process::Command::new(venv().join("bin/supervisorctl"));
        c.arg("-c").arg(&conf.path).args(args);
        run_with_timeout(&mut c, secs(10.0))
    };
    assert!(wait_until(secs(10.0), || ctl(&["status", "bg"])
        .stdout
        .contains("RUNNING")));
    let stat = proc_stat(daemon_pid).expect("daemon in /proc");
    assert_eq!(
        stat.session, daemon_pid,
        "the daemon leads its own session (setsid)"
    );
    kill(daemon_pid, libc::SIGTERM);
    assert!(wait_until(secs(10.0), || !pid_alive(daemon_pid)));
    assert!(!pidfile.exists(), "the pidfile is removed at exit");
}

/// Stops a detached daemon (and whatever it still has) if the test fails half-way.
struct Reap(i32);

impl Drop for Reap {
    fn drop(&mut self) {
        if !pid_alive(self.0) {
            return;
        }
        kill(self.0, libc::SIGTERM);
        if !wait_until(secs(10.0), || !pid_alive(self.0)) {
            for p in processes().into_iter().filter(|p| p.ppid == self.0) {
                kill(p.pid, libc::SIGKILL);
            }
            kill(self.0, libc::SIGKILL);
        }
    }
}
