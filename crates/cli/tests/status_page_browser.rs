//! Issue 3 §4: a browser pointed at the inet port sees the processes. Real headless
//! Chromium (Debian's `chromium`, installed by scripts/test.sh) loads the status page from
//! a running Steward and the rendered DOM must list every process with its state and
//! description.
mod support;
use support::*;

fn chromium() -> std::path::PathBuf {
    for c in ["/usr/bin/chromium", "/usr/bin/chromium-browser"] {
        if std::path::Path::new(c).exists() {
            return c.into();
        }
    }
    panic!("chromium is not installed: run `bash scripts/test.sh` (it installs Debian's chromium)");
}

#[test]
fn a_browser_sees_every_process_on_the_status_page() {
    let d = Daemon::start_steward(Conf::new(
        "
[inet_http_server]
port=127.0.0.1:{port}

[program:web]
command=sleep 1000
startsecs=0

[program:broken]
command=sh -c 'exit 1'
startretries=0
",
    ));
    d.wait_state("web", "RUNNING", secs(10.0));
    d.wait_state("broken", "FATAL", secs(10.0));
    let profile = tempfile::tempdir().unwrap();
    let mut cmd = std::process::Command::new(chromium());
    cmd.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
    ])
    .arg(format!("--user-data-dir={}", profile.path().display()))
    .arg("--dump-dom")
    .arg(format!("http://127.0.0.1:{}/", d.conf.port));
    let out = run_with_timeout(&mut cmd, secs(60.0));
    assert_eq!(out.code, 0, "{out}");
    let dom = out.stdout;
    for needle in [
        ">web<",
        ">broken<",
        "running",
        "fatal",
        "Exited too quickly (process log may have details)",
        "pid ",
    ] {
        assert!(dom.contains(needle), "the page lacks {needle:?}:\n{dom}");
    }
}
