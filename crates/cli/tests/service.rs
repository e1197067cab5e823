//! Issue 16: `steward service install|uninstall` and the daemon's `Type=notify` side.
//!
//! * The unit follows the configuration (TimeoutStopSec = largest stopwaitsecs + 30,
//!   LimitNOFILE ≥ minfds), passes `systemd-analyze verify` (when systemd-analyze is
//!   installed; a deliberately broken copy must fail it, so the check can fail), and a
//!   second install changes nothing (bytes and mtime).
//! * A fresh root gets `/etc/steward/steward.conf` + `conf.d/`; an existing
//!   `/etc/supervisor` is reused; `--replace-supervisor` writes `supervisor.service`.
//! * The daemon sends exactly `READY=1` to `$NOTIFY_SOCKET` (path and abstract
//!   addresses), only once its socket answers, and its children do not see the variable.
//!
//! * The unit's own `ExecStart` and `ExecReload`, run by hand as systemd would: a reload
//!   restarts only the program whose file changed.
//!
//! This sandbox has no systemd as PID 1, so `systemctl start/reload/stop` of the unit is
//! not exercised here.
mod support;
use support::*;

use std::fs;
use std::os::unix::net::UnixDatagram;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

fn steward(args: &[&str]) -> Output {
    run_with_timeout(
        Command::new(steward_bin()).args(args),
        Duration::from_secs(20),
    )
}

fn install(conf: &Path, units: &Path, extra: &[&str]) -> Output {
    let mut args = vec![
        "service",
        "install",
        "-c",
        conf.to_str().unwrap(),
        "--unit-dir",
        units.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    steward(&args)
}

fn verify(unit: &Path) -> Option<Output> {
    let tool = Path::new("/usr/bin/systemd-analyze");
    if !tool.exists() {
        eprintln!("NOTE: systemd-analyze is not installed: verify skipped");
        return None;
    }
    Some(run_with_timeout(
        Command::new(tool).arg("verify").arg(unit),
        Duration::from_secs(30),
    ))
}

#[test]
fn the_unit_follows_the_config_verifies_and_installing_twice_changes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let (conf, units, incl) = (dir.join("s.conf"), dir.join("units"), dir.join("conf.d"));
    fs::create_dir(&incl).unwrap();
    fs::write(
        &conf,
        format!(
            "[supervisord]\nlogfile={0}/s.log\npidfile={0}/s.pid\nminfds=100000\n\n[include]\nfiles = {0}/conf.d/*.conf\n",
            dir.display()
        ),
    )
    .unwrap();
    fs::write(
        incl.join("a.conf"),
        "[program:a]\ncommand=sleep 100\nstopwaitsecs=60\n",
    )
    .unwrap();
    let out = install(&conf, &units, &[]);
    assert_eq!(out.code, 0, "{out}");
    let unit = units.join("steward.service");
    let text = fs::read_to_string(&unit).unwrap();
    for line in [
        "Type=notify\n".to_string(),
        "NotifyAccess=main\n".into(),
        format!(
            "ExecStart={} daemon -n -c {}\n",
            steward_bin().display(),
            conf.display()
        ),
        format!(
            "ExecReload={} ctl -c {} update\n",
            steward_bin().display(),
            conf.display()
        ),
        "KillMode=mixed\n".into(),
        "TimeoutStopSec=90\n".into(),
        "Restart=on-failure\n".into(),
        "LimitNOFILE=100000\n".into(),
        "WantedBy=multi-user.target\n".into(),
    ] {
        assert!(text.contains(&line), "missing {line:?} in\n{text}");
    }
    if let Some(v) = verify(&unit) {
        assert_eq!(v.code, 0, "systemd-analyze verify: {v}");
        assert_eq!(v.stderr.trim(), "", "systemd-analyze verify: {v}");
        // The check can fail: a broken copy of the unit does not pass.
        let broken = dir.join("broken.service");
        fs::write(
            &broken,
            text.replace("KillMode=mixed", "KillMode=bogus").replace(
                &format!("ExecStart={}", steward_bin().display()),
                "ExecStart=/nonexistent/steward",
            ),
        )
        .unwrap();
        let v = verify(&broken).unwrap();
        assert!(
            v.code != 0 || !v.stderr.trim().is_empty(),
            "broken unit verified: {v}"
        );
    }

    // The same install again: nothing written.
    let mtime = fs::metadata(&unit).unwrap().modified().unwrap();
    let again = install(&conf, &units, &[]);
    assert_eq!(again.code, 0, "{again}");
    assert!(again.stdout.contains("unchanged"), "{again}");
    assert_eq!(fs::read_to_string(&unit).unwrap(), text);
    assert_eq!(fs::metadata(&unit).unwrap().modified().unwrap(), mtime);

    // A slower program: a plain install says the unit is out of date; --update
    // recomputes TimeoutStopSec.
    fs::write(
        incl.join("b.conf"),
        "[program:b]\ncommand=sleep 100\nstopwaitsecs=3600\n",
    )
    .unwrap();
    let stale = install(&conf, &units, &[]);
    assert_ne!(stale.code, 0, "{stale}");
    assert!(stale.stderr.contains("--update"), "{stale}");
    assert_eq!(
        fs::read_to_string(&unit).unwrap(),
        text,
        "a refused install wrote"
    );
    let upd = install(&conf, &units, &["--update"]);
    assert_eq!(upd.code, 0, "{upd}");
    assert!(fs::read_to_string(&unit)
        .unwrap()
        .contains("TimeoutStopSec=3630\n"));

    // A broken config gets no unit.
    fs::write(
        incl.join("c.conf"),
        "[program:c]\ncommand=true\nstopwaitsecs=abc\n",
    )
    .unwrap();
    let bad = install(&conf, &dir.join("units2"), &[]);
    assert_ne!(bad.code, 0, "{bad}");
    assert!(!dir.join("units2/steward.service").exists());
    fs::remove_file(incl.join("c.conf")).unwrap();

    // A unit file Steward did not write is left alone; uninstall removes ours only.
    let foreign = dir.join("foreign");
    fs::create_dir(&foreign).unwrap();
    fs::write(
        foreign.join("steward.service"),
        "[Unit]\nDescription=hand-made\n",
    )
    .unwrap();
    let out = install(&conf, &foreign, &[]);
    assert_ne!(out.code, 0, "{out}");
    assert!(out.stderr.contains("not written by steward"), "{out}");
    let un = |units: &Path| {
        steward(&[
            "service",
            "uninstall",
            "--unit-dir",
            units.to_str().unwrap(),
        ])
    };
    assert_ne!(un(&foreign).code, 0);
    assert!(foreign.join("steward.service").exists());
    let out = un(&units);
    assert_eq!(out.code, 0, "{out}");
    assert!(!unit.exists());
    let out = un(&units);
    assert_eq!(out.code, 0, "{out}");
    assert!(out.stdout.contains("not installed"), "{out}");
}

/// `service install --root ROOT` for a packaged binary (/usr/bin/steward).
fn install_packaged(root: &str, extra: &[&str]) -> Output {
    let mut args = vec![
        "service",
        "install",
        "--root",
        root,
        "--binary",
        "/usr/bin/steward",
    ];
    args.extend_from_slice(extra);
    steward(&args)
}

#[test]
fn layouts_fresh_root_existing_supervisor_and_replace_supervisor() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("fresh");
    let r = root.to_str().unwrap();
    let out = install_packaged(r, &[]);
    assert_eq!(out.code, 0, "{out}");
    let conf = root.join("etc/steward/steward.conf");
    assert!(root.join("etc/steward/conf.d").is_dir());
    let text = fs::read_to_string(&conf).unwrap();
    assert!(
        text.contains("files = /etc/steward/conf.d/*.conf"),
        "{text}"
    );
    let unit = fs::read_to_string(root.join("etc/systemd/system/steward.service")).unwrap();
    assert!(
        unit.contains("ExecStart=/usr/bin/steward daemon -n -c /etc/steward/steward.conf\n"),
        "{unit}"
    );
    // The default config is a valid one: its only complaints here are about this
    // machine's /var/log/steward, which the package (or install on /) creates.
    let check = steward(&["check", "-c", conf.to_str().unwrap()]);
    for line in check.stderr.lines().filter(|l| !l.ends_with("error(s)")) {
        assert!(line.contains("/var/log/steward"), "{check}");
    }
    // Installing again keeps the operator's config as it is.
    fs::write(&conf, format!("{text}; edited by the operator\n")).unwrap();
    let out = install_packaged(r, &[]);
    assert_eq!(out.code, 0, "{out}");
    assert!(fs::read_to_string(&conf)
        .unwrap()
        .ends_with("; edited by the operator\n"));

    // An existing /etc/supervisor is reused; --replace-supervisor takes its unit's name.
    let sup = tmp.path().join("sup");
    let s = sup.to_str().unwrap();
    let no = steward(&["service", "install", "--root", s, "--replace-supervisor"]);
    assert_ne!(no.code, 0, "without /etc/supervisor: {no}");
    fs::create_dir_all(sup.join("etc/supervisor/conf.d")).unwrap();
    fs::write(
        sup.join("etc/supervisor/supervisord.conf"),
        "[supervisord]\nlogfile=/var/log/supervisor/supervisord.log\n\n[include]\nfiles = /etc/supervisor/conf.d/*.conf\n",
    )
    .unwrap();
    let out = install_packaged(s, &["--replace-supervisor"]);
    assert_eq!(out.code, 0, "{out}");
    let unit = fs::read_to_string(sup.join("etc/systemd/system/supervisor.service")).unwrap();
    assert!(
        unit.contains("-c /etc/supervisor/supervisord.conf\n"),
        "{unit}"
    );
    assert!(
        !sup.join("etc/steward").exists(),
        "no second config next to supervisor's"
    );
}

/// Starts a daemon with NOTIFY_SOCKET=`addr` and returns it with the first datagram
/// received on `sock`.
fn start_notified(sock: &UnixDatagram, addr: &str) -> (Daemon, String) {
    let conf = Conf::new(
        "[program:envdump]\ncommand=sh -c 'env > {dir}/child.env; exec sleep 100'\nstartsecs=0\n",
    );
    start_notified_conf(sock, addr, conf)
}

/// [`start_notified`] for a given config.
fn start_notified_conf(sock: &UnixDatagram, addr: &str, conf: Conf) -> (Daemon, String) {
    let env = format!("NOTIFY_SOCKET={addr}");
    let d = Daemon::spawn_wrapped(Target::Steward, conf, &["env", &env], &[]);
    sock.set_read_timeout(Some(Duration::from_secs(15)))
        .unwrap();
    let mut buf = [0u8; 256];
    let n = sock.recv(&mut buf).expect("READY=1 within 15 s");
    let msg = String::from_utf8_lossy(&buf[..n]).into_owned();
    (d, msg)
}

#[test]
fn the_daemon_notifies_ready_once_its_socket_answers() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("notify.sock");
    let sock = UnixDatagram::bind(&path).unwrap();
    let (d, msg) = start_notified(&sock, path.to_str().unwrap());
    assert_eq!(msg, "READY=1");
    // At READY the control socket already answers.
    let state = d.rpc("supervisor.getState", vec![]);
    assert!(state.is_ok(), "getState right after READY=1: {state:?}");
    d.wait_state("envdump", "RUNNING", secs(10.0));
    assert!(wait_until(secs(5.0), || d
        .conf
        .read("child.env")
        .contains("PATH=")));
    assert!(
        !d.conf.read("child.env").contains("NOTIFY_SOCKET"),
        "children must not inherit NOTIFY_SOCKET"
    );

    // The abstract namespace (`@name`), as systemd may hand it out.
    let name = format!("steward-test-notify-{}", std::process::id());
    let addr = {
        use std::os::linux::net::SocketAddrExt;
        std::os::unix::net::SocketAddr::from_abstract_name(name.as_bytes()).unwrap()
    };
    let sock = UnixDatagram::bind_addr(&addr).unwrap();
    let (_d2, msg) = start_notified(&sock, &format!("@{name}"));
    assert_eq!(msg, "READY=1");
}

/// What systemd would do with the unit, done by hand: start the daemon with the unit's
/// `ExecStart` (and a NOTIFY_SOCKET), wait for READY=1, then run its `ExecReload` after
/// a program file changed: only that program restarts, every other pid is kept (the
/// Debian supervisor unit's `reload` restarts them all).
#[test]
fn the_units_exec_reload_restarts_only_what_changed() {
    let conf = Conf::new("[include]\nfiles = {dir}/conf.d/*.conf\n");
    let incl = conf.file("conf.d");
    fs::create_dir(&incl).unwrap();
    fs::write(
        incl.join("a.conf"),
        "[program:a]\ncommand=sleep 1000\nstartsecs=0\n",
    )
    .unwrap();
    fs::write(
        incl.join("b.conf"),
        "[program:b]\ncommand=sleep 1000\nstartsecs=0\n",
    )
    .unwrap();
    let units = conf.file("units");
    let out = install(&conf.path, &units, &[]);
    assert_eq!(out.code, 0, "{out}");
    let unit = fs::read_to_string(units.join("steward.service")).unwrap();
    let argv = |key: &str| -> Vec<String> {
        unit.lines()
            .find_map(|l| l.strip_prefix(key))
            .unwrap_or_else(|| panic!("no {key} in\n{unit}"))
            .split_whitespace()
            .map(str::to_string)
            .collect()
    };
    // ExecStart is exactly what the harness runs: `steward daemon -n -c CONF`.
    let conf_path = conf.path.display().to_string();
    let bin = steward_bin().display().to_string();
    assert_eq!(
        argv("ExecStart="),
        [bin.as_str(), "daemon", "-n", "-c", &conf_path]
    );
    let notify = conf.file("notify.sock");
    let sock = UnixDatagram::bind(&notify).unwrap();
    let (d, msg) = start_notified_conf(&sock, notify.to_str().unwrap(), conf);
    assert_eq!(msg, "READY=1");
    d.wait_state("a", "RUNNING", secs(10.0));
    d.wait_state("b", "RUNNING", secs(10.0));
    let (a, b) = (d.process_pid("a"), d.process_pid("b"));
    fs::write(
        incl.join("b.conf"),
        "[program:b]\ncommand=sleep 1001\nstartsecs=0\n",
    )
    .unwrap();
    let reload = argv("ExecReload=");
    let out = run_with_timeout(
        Command::new(&reload[0]).args(&reload[1..]),
        Duration::from_secs(30),
    );
    assert_eq!(out.code, 0, "ExecReload: {out}");
    d.wait_state("b", "RUNNING", secs(10.0));
    assert_eq!(d.process_pid("a"), a, "an unchanged program was restarted");
    assert_ne!(
        d.process_pid("b"),
        b,
        "the changed program kept its old process"
    );
}
