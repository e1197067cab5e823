//! Issue 13: schemathesis (from PyPI, in the test venv) fuzzes every route of
//! `/api/v1/openapi.json` against a real daemon, with all its checks: no 5xx, no
//! undocumented status or content type, schema-valid requests accepted and
//! schema-violating ones refused, replies matching the document. The streams (`events`,
//! `log/follow`) never end, so they are left to the API tests.
mod support;
use std::process::Command;
use support::*;

const PROGRAMS: &str = "
[inet_http_server]
port=127.0.0.1:{port}
username=admin
password=s3cret

[steward]
state_dir={dir}/state

[program:web]
command=sleep 1000
startsecs=0
stopwaitsecs=2

[program:worker]
command=sleep 1000
startsecs=0
stopwaitsecs=2
numprocs=2
process_name=%(program_name)s_%(process_num)02d

[cron:tick]
schedule=*/5 * * * *
command=true

[command:hello]
command=echo hi
timeout=5
";

#[test]
fn schemathesis_finds_nothing() {
    let schemathesis = venv().join("bin/schemathesis");
    assert!(
        schemathesis.exists(),
        "{} is missing: run `bash scripts/test.sh` (it installs schemathesis in the venv)",
        schemathesis.display()
    );
    let d = Daemon::start_steward(Conf::new(PROGRAMS));
    let out = run_with_timeout(
        Command::new(steward_bin())
            .args(["token", "create", "fuzz", "--role", "admin", "-c"])
            .arg(&d.conf.path),
        secs(30.0),
    );
    let token = out
        .stdout
        .split_whitespace()
        .find(|w| w.starts_with("stw_"))
        .unwrap_or_else(|| panic!("no token: {out}"))
        .to_string();
    let out = run_with_timeout(
        Command::new(&schemathesis)
            .arg("run")
            .arg(format!(
                "http://127.0.0.1:{}/api/v1/openapi.json",
                d.conf.port
            ))
            .args(["-H", &format!("Authorization: Bearer {token}")])
            // An action answers once the process is in its new state, which may take up to
            // stopwaitsecs + startsecs on a loaded machine: a generous bound, not a cost.
            .args(["--max-examples", "10", "--request-timeout", "30"])
            .args(["--exclude-path-regex", "(events|follow)$"])
            // Its cache directory goes to the test's temp dir, not into the checkout.
            .current_dir(&d.conf.dir)
            .env("SCHEMATHESIS_TELEMETRY", "false")
            .env("NO_COLOR", "1"),
        secs(600.0),
    );
    assert_eq!(out.code, 0, "schemathesis found failures:\n{out}");
    assert!(out.stdout.contains(" passed"), "{out}");
}
