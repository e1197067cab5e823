//! Issue 2 items 4 and 8: `user=` (reference spec §1.9, §2.4) and `[supervisord] user=`
//! (§1.5), black-box, with real uids.
//!
//! * As root, `[program:x] user=nobody` (or `user=65534`) runs the child as nobody's uid and
//!   gid with nobody's supplementary groups only (root's group 0 dropped), and HOME/USER
//!   are inherited from the daemon unchanged (supervisord does not set them).
//! * A daemon that is not root (started through `setpriv`) cannot switch to `user=root`:
//!   the child writes `supervisor: couldn't setuid to 0: Can't drop privilege as nonroot
//!   user` to its stderr log and exits 127, the process ends FATAL after its retries and the
//!   daemon keeps running. Compared with real supervisord 4.3 on the same config.
//! * As root, `[supervisord] user=nobody` drops the daemon's own privileges.
//!
//! The tests need root; as another user they print a note and pass.
mod support;
use support::*;

use std::path::Path;
use std::process::Command;

const NOBODY: u32 = 65534;

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

fn skip_unless_root(test: &str) -> bool {
    if is_root() {
        return false;
    }
    eprintln!("NOTE: {test} skipped: it needs root (setuid/setpriv)");
    true
}

/// Give the whole temp dir to nobody:nogroup so an unprivileged daemon can write its
/// socket, logs and pidfile there.
fn give_to_nobody(dir: &Path) {
    let st = Command::new("chown")
        .arg("-R")
        .arg(format!("{NOBODY}:{NOBODY}"))
        .arg(dir)
        .status()
        .expect("run chown");
    assert!(st.success(), "chown -R nobody {}", dir.display());
}

/// `Uid:`, `Gid:` and `Groups:` lines of /proc/PID/status, whitespace-normalised.
fn creds(pid: i32) -> (String, String, String) {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let get = |k: &str| {
        s.lines()
            .find_map(|l| l.strip_prefix(k))
            .map(|v| v.split_whitespace().collect::<Vec<_>>().join(" "))
            .unwrap_or_default()
    };
    (get("Uid:"), get("Gid:"), get("Groups:"))
}

/// What a child running as `user` reports about itself: its `id` output, HOME and USER
/// (from its stdout log, written by the daemon) and its /proc credentials.
fn child_identity(t: Target, user: &str) -> (String, String, (String, String, String)) {
    let conf = Conf::new(&format!(
        "
[program:who]
command=sh -c 'id; echo \"HOME=${{HOME-<unset>}}\"; echo \"USER=${{USER-<unset>}}\"; echo done; exec sleep 1000'
user={user}
startsecs=0
autorestart=false
stdout_logfile={{dir}}/who.out
stderr_logfile={{dir}}/who.err
"
    ));
    let d = Daemon::start_target(t, conf);
    d.wait_state("who", "RUNNING", secs(10.0));
    assert!(
        wait_until(secs(10.0), || d.conf.read("who.out").contains("done\n")),
        "{}: the child wrote no `id` output; stdout log: {:?}, stderr log: {:?}",
        t.name(),
        d.conf.read("who.out"),
        d.conf.read("who.err")
    );
    let pid = d.process_pid("who");
    let creds = creds(pid);
    let out = d.conf.read("who.out");
    let env = out
        .lines()
        .filter(|l| l.starts_with("HOME=") || l.starts_with("USER="))
        .collect::<Vec<_>>()
        .join("\n");
    let id = out.lines().next().unwrap_or("").to_owned();
    (id, env, creds)
}

fn expected_env() -> String {
    let v = |k: &str| std::env::var(k).unwrap_or_else(|_| "<unset>".to_owned());
    format!("HOME={}\nUSER={}", v("HOME"), v("USER"))
}

#[test]
fn program_user_nobody_runs_as_nobody_with_its_groups_and_unchanged_home() {
    if skip_unless_root("program_user_nobody_runs_as_nobody") {
        return;
    }
    let (reference, tested) = both(|t| child_identity(t, "nobody"));
    let (id, env, (uid, gid, groups)) = &tested;
    assert_eq!(
        id, "uid=65534(nobody) gid=65534(nogroup) groups=65534(nogroup)",
        "`id` of the child"
    );
    assert_eq!(uid, "65534 65534 65534 65534");
    assert_eq!(gid, "65534 65534 65534 65534");
    // nobody's groups only: root's group 0 must be gone (setgroups/initgroups).
    assert_eq!(groups, "65534");
    // supervisord does not set HOME/USER for user=: they are the daemon's.
    assert_eq!(env, &expected_env());
    assert_eq!(&reference, &tested, "reference vs {}", target().name());
}

#[test]
fn program_user_numeric_uid_works() {
    if skip_unless_root("program_user_numeric_uid_works") {
        return;
    }
    let (reference, tested) = both(|t| child_identity(t, "65534"));
    let (id, env, (uid, gid, groups)) = &tested;
    assert_eq!(
        id,
        "uid=65534(nobody) gid=65534(nogroup) groups=65534(nogroup)"
    );
    assert_eq!(uid, "65534 65534 65534 65534");
    assert_eq!(gid, "65534 65534 65534 65534");
    assert_eq!(groups, "65534");
    assert_eq!(env, &expected_env());
    assert_eq!(&reference, &tested, "reference vs {}", target().name());
}

const SETPRIV_NOBODY: &[&str] = &[
    "setpriv",
    "--reuid=nobody",
    "--regid=nogroup",
    "--clear-groups",
];

const SETUID_LINE: &str =
    "supervisor: couldn't setuid to 0: Can't drop privilege as nonroot user\n\
                           supervisor: child process was not spawned\n";

#[test]
fn nonroot_daemon_cannot_switch_to_user_root() {
    if skip_unless_root("nonroot_daemon_cannot_switch_to_user_root") {
        return;
    }
    let scenario = |t: Target| {
        let conf = Conf::new(
            "
[program:rooty]
command=sleep 1000
user=root
startsecs=1
startretries=2
stdout_logfile={dir}/rooty.out
stderr_logfile={dir}/rooty.err

[program:same]
command=sleep 1000
user=nobody
startsecs=0
stdout_logfile={dir}/same.out
stderr_logfile={dir}/same.err
",
        );
        give_to_nobody(&conf.dir);
        let mut d = Daemon::start_wrapped(t, conf, SETPRIV_NOBODY);
        // The daemon itself runs as nobody.
        assert_eq!(creds(d.pid).0, "65534 65534 65534 65534", "{}", t.name());
        // user= naming the daemon's own uid is allowed.
        d.wait_state("same", "RUNNING", secs(10.0));
        assert_eq!(creds(d.process_pid("same")).0, "65534 65534 65534 65534");
        // user=root: 1 try + 2 retries, each exiting 127 at once, then FATAL.
        let states = d.record_states("rooty", &["FATAL", "RUNNING"], secs(20.0));
        assert_eq!(
            states.last().map(String::as_str),
            Some("FATAL"),
            "{states:?}"
        );
        let info = d.info("rooty");
        // The exit status 127 shows in the main log; getProcessInfo reports 0 because the
        // reference clears exitstatus on an exit before startsecs (BACKOFF).
        assert_eq!(info["exitstatus"], json!(0), "{info}");
        assert_eq!(
            d.mainlog()
                .matches("exited: rooty (exit status 127; not expected)")
                .count(),
            3,
            "{}",
            t.name()
        );
        assert_eq!(
            info["description"],
            json!("Exited too quickly (process log may have details)")
        );
        assert!(
            wait_until(secs(5.0), || d.conf.read("rooty.err")
                == SETUID_LINE.repeat(3)),
            "{}: stderr log of rooty: {:?}",
            t.name(),
            d.conf.read("rooty.err")
        );
        assert_eq!(d.conf.read("rooty.out"), "");
        // The daemon keeps running and answering.
        assert!(d.is_running());
        assert_eq!(
            d.call("supervisor.getState", vec![])["statename"],
            json!("RUNNING")
        );
        let status = d.ctl(&["status"]);
        let masked = d.mask(&status.stdout);
        (masked, status.code, info["spawnerr"].clone())
    };
    let (reference, tested) = both(scenario);
    assert!(
        tested.0.contains("rooty                            FATAL     Exited too quickly (process log may have details)"),
        "{}",
        tested.0
    );
    assert_eq!(
        reference, tested,
        "supervisorctl status: reference vs tested"
    );
}

#[test]
fn supervisord_user_nobody_drops_the_daemons_privileges() {
    if skip_unless_root("supervisord_user_nobody_drops_the_daemons_privileges") {
        return;
    }
    let scenario = |t: Target| {
        let conf = Conf::with_supervisord(
            "user=nobody",
            "
[program:child]
command=sh -c 'id; echo done; exec sleep 1000'
startsecs=0
stdout_logfile={dir}/child.out
",
        );
        give_to_nobody(&conf.dir);
        let d = Daemon::start_target(t, conf);
        let daemon = creds(d.pid);
        d.wait_state("child", "RUNNING", secs(10.0));
        let child = creds(d.process_pid("child"));
        assert!(
            wait_until(secs(10.0), || d.conf.read("child.out").contains("done\n")),
            "{}: {:?}",
            t.name(),
            d.conf.read("child.out")
        );
        let id = d
            .conf
            .read("child.out")
            .lines()
            .next()
            .unwrap_or("")
            .to_owned();
        // The files the daemon created after dropping privileges belong to nobody.
        let owner = |rel: &str| {
            use std::os::unix::fs::MetadataExt;
            std::fs::metadata(d.conf.file(rel)).map(|m| m.uid()).ok()
        };
        let files = (owner("supervisor.sock"), owner("supervisord.log"));
        (daemon, child, id, files)
    };
    let (reference, tested) = both(scenario);
    let (daemon, child, id, files) = &tested;
    assert_eq!(daemon.0, "65534 65534 65534 65534", "daemon Uid");
    assert_eq!(daemon.1, "65534 65534 65534 65534", "daemon Gid");
    assert_eq!(daemon.2, "65534", "daemon Groups");
    assert_eq!(child.0, "65534 65534 65534 65534", "child Uid");
    assert_eq!(
        id,
        "uid=65534(nobody) gid=65534(nogroup) groups=65534(nogroup)"
    );
    assert_eq!(files, &(Some(NOBODY), Some(NOBODY)));
    assert_eq!(&reference, &tested, "reference vs {}", target().name());
}

#[test]
fn program_user_child_starts_with_default_signal_dispositions() {
    // user= takes the fork path (not the vfork-style clone): its children must start from
    // the same clean slate, even for signals the daemon's own parent left ignored.
    if skip_unless_root("program_user_child_starts_with_default_signal_dispositions") {
        return;
    }
    let conf = Conf::new(
        "
[program:sigs]
command=sleep 1000
user=nobody
startsecs=0
",
    );
    let d = Daemon::start(conf);
    d.wait_state("sigs", "RUNNING", secs(10.0));
    let status =
        std::fs::read_to_string(format!("/proc/{}/status", d.process_pid("sigs"))).unwrap();
    for field in ["SigIgn:", "SigBlk:"] {
        let mask = status
            .lines()
            .find_map(|l| l.strip_prefix(field))
            .map(str::trim)
            .unwrap_or("missing");
        assert_eq!(mask, "0000000000000000", "{field} of the child: {status}");
    }
}
