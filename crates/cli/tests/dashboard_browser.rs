//! Issue 14: the web dashboard in real headless Chromium. A real daemon runs seed 001's two
//! programs (`Alsernet-scheduler`, `Alsernet-queue`, with harmless commands), a chatty
//! program whose log has ANSI colours and an `<img>` tag, a program named like an `<img>`
//! tag (form feeds for the blanks a name may not hold), a `[cron:backup]` job and a
//! `[command:cache-clear]`; `crates/cli/tests/browser/dashboard.js` (Playwright's
//! `playwright-core` driving Debian's `chromium`, axe-core for accessibility; both from
//! npm, installed by scripts/test.sh with `npm ci`) then logs in, acts, follows a log, runs
//! the job, pauses and resumes it, runs the command, previews and applies a reload, checks a viewer and forged requests, takes the
//! screenshots of docs/panel.md and logs out. It prints `ok - …` per check.
mod support;
use std::path::{Path, PathBuf};
use support::*;

fn browser_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser")
}

fn chromium() -> PathBuf {
    for c in ["/usr/bin/chromium", "/usr/bin/chromium-browser"] {
        if Path::new(c).exists() {
            return c.into();
        }
    }
    panic!("chromium is not installed: run `bash scripts/test.sh` (it installs Debian's chromium)");
}

fn node_modules_ready() -> PathBuf {
    let dir = browser_dir();
    assert!(
        dir.join("node_modules/playwright-core").is_dir()
            && dir.join("node_modules/axe-core").is_dir(),
        "playwright-core and axe-core are missing: run `npm ci` in {} (scripts/test.sh does)",
        dir.display()
    );
    dir
}

const CONFIG: &str = r#"
[inet_http_server]
port=127.0.0.1:{port}
username=admin
password=secret

[user:viewer]
password=viewpass
role=viewer

[steward]
; the run history of this daemon alone (the default, /var/lib/steward as root, may be
; held by another daemon on the machine)
state_dir={dir}/state

[program:Alsernet-scheduler]
process_name=%(program_name)s_%(process_num)02d
command=sh -c 'while true; do echo "schedule:run $(date +%%s%%N)"; sleep 1; done'
autostart=true
autorestart=true
numprocs=1
redirect_stderr=true
stdout_logfile={dir}/supervisor-schedule.log
stopwaitsecs=5
startsecs=0
environment=PATH="/usr/local/bin:/usr/bin:/bin",HOME="{dir}"

[program:Alsernet-queue]
process_name=%(program_name)s_%(process_num)02d
command=sh -c 'while true; do echo "queue:work processed job"; sleep 2; done'
autostart=true
autorestart=true
numprocs=1
redirect_stderr=true
stdout_logfile={dir}/supervisor-queue.log
stopwaitsecs=5
startsecs=0

[program:chatty]
command=sh -c 'printf "\033[31mred alert\033[0m plain <img src=x onerror=alert(1)>\n"; while true; do echo "line $(date +%%s%%N)"; sleep 0.3; done'
startsecs=0
stdout_logfile={dir}/chatty.log
environment=API_TOKEN="hunter2",DATABASE_URL="postgres://app:hunter2@db/app",GREETING="<img src=x onerror=alert(1)>"

[program:<img{ff}src=x{ff}onerror=alert(1)>]
command=sleep 1000
startsecs=0

[cron:backup]
schedule = 0 3 * * *
command = sh -c 'echo backup done'

[command:cache-clear]
command = sh -c 'echo Application cache cleared'
description = php artisan cache:clear
"#;

#[test]
fn the_dashboard_in_a_real_browser() {
    let dir = node_modules_ready();
    let d = Daemon::start_steward(Conf::new(&CONFIG.replace("{ff}", "\x0c")));
    for p in [
        "Alsernet-scheduler:Alsernet-scheduler_00",
        "Alsernet-queue:Alsernet-queue_00",
        "chatty",
    ] {
        d.wait_state(p, "RUNNING", secs(15.0));
    }
    // Screenshots go to the test's temp dir; `STEWARD_SCREENSHOTS=1` writes the ones of
    // docs/panel.md instead (a test run must not change the checkout).
    let shots = if std::env::var_os("STEWARD_SCREENSHOTS").is_some() {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../docs")
            .canonicalize()
            .unwrap()
    } else {
        d.conf.dir.clone()
    };
    let mut cmd = std::process::Command::new("node");
    cmd.arg(dir.join("dashboard.js"))
        .current_dir(&dir)
        .env("BASE", format!("http://127.0.0.1:{}/", d.conf.port))
        .env("CONF", &d.conf.path)
        .env("STEWARD", steward_bin())
        .env("CHROMIUM", chromium())
        .env("SHOTS", &shots);
    let out = run_with_timeout(&mut cmd, secs(240.0));
    assert!(
        out.code == 0 && out.stdout.contains("ALL OK"),
        "the browser checks failed:\n{out}"
    );
}
