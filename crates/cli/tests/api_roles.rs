//! Issue 13: every route × every role. A role below a route's need gets 403 and the
//! daemon's state is exactly what it was; a role at or above it gets past the check.
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

[cron:tick]
schedule=0 0 1 1 *
command=true

[command:hello]
command=echo hi
";

/// (method, path, the least role that may call it).
const ROUTES: &[(&str, &str, &str)] = &[
    ("GET", "/api/v1/processes", "viewer"),
    ("GET", "/api/v1/processes/web", "viewer"),
    ("GET", "/api/v1/processes/web/log", "logs"),
    ("GET", "/api/v1/cron", "viewer"),
    ("GET", "/api/v1/cron/tick", "viewer"),
    ("GET", "/api/v1/cron/tick/runs", "viewer"),
    ("GET", "/api/v1/commands", "viewer"),
    ("GET", "/api/v1/commands/hello/runs", "viewer"),
    ("GET", "/api/v1/session", "viewer"),
    ("GET", "/metrics", "viewer"),
    ("GET", "/api/v1/audit", "admin"),
    ("POST", "/api/v1/processes/web/restart", "operator"),
    ("POST", "/api/v1/groups/web/restart", "operator"),
    ("POST", "/api/v1/all/restart", "operator"),
    ("POST", "/api/v1/cron/tick/disable", "operator"),
    ("POST", "/api/v1/cron/tick/run", "operator"),
    ("POST", "/api/v1/commands/hello/run", "operator"),
    ("POST", "/api/v1/reload", "admin"),
];

const ROLES: &[&str] = &["viewer", "logs", "operator", "admin"];

fn rank(role: &str) -> usize {
    ROLES.iter().position(|r| *r == role).unwrap()
}

fn call(d: &Daemon, method: &str, path: &str, token: &str) -> u16 {
    let out = run_with_timeout(
        Command::new("curl")
            .args([
                "-s",
                "-o",
                "/dev/null",
                "-w",
                "%{http_code}",
                "-X",
                method,
                "--max-time",
                "20",
            ])
            .args(["-H", &format!("Authorization: Bearer {token}")])
            .arg(format!("http://127.0.0.1:{}{path}", d.conf.port)),
        secs(30.0),
    );
    out.stdout.trim().parse().unwrap_or(0)
}

/// `GET path` as the admin, parsed (`null` when it is not JSON).
fn get_json(d: &Daemon, path: &str, admin: &str) -> Value {
    let out = run_with_timeout(
        Command::new("curl")
            .args(["-s", "--max-time", "20", "-H"])
            .arg(format!("Authorization: Bearer {admin}"))
            .arg(format!("http://127.0.0.1:{}{path}", d.conf.port)),
        secs(30.0),
    );
    serde_json::from_str(&out.stdout).unwrap_or(Value::Null)
}

/// What a forbidden call must not change: every process's pid and state, cron jobs'
/// enabled flags and run counts, command runs.
fn fingerprint(d: &Daemon, admin: &str) -> String {
    let procs = d.call("supervisor.getAllProcessInfo", vec![]);
    let procs: Vec<String> = procs
        .as_array()
        .unwrap()
        .iter()
        .map(|p| format!("{}:{}:{}", p["name"], p["statename"], p["pid"]))
        .collect();
    let runs = get_json(d, "/api/v1/cron/tick/runs", admin);
    let job = get_json(d, "/api/v1/cron/tick", admin);
    let cmd = get_json(d, "/api/v1/commands/hello/runs", admin);
    format!(
        "{procs:?} cron_enabled={} cron_runs={} command_runs={}",
        job["enabled"],
        runs["runs"].as_array().map_or(0, Vec::len),
        cmd["runs"].as_array().map_or(0, Vec::len)
    )
}

#[test]
fn every_route_and_role() {
    let d = Daemon::start_steward(Conf::new(PROGRAMS));
    d.wait_state("web", "RUNNING", secs(10.0));
    let token = |name: &str, role: &str| {
        let out = run_with_timeout(
            Command::new(steward_bin())
                .args(["token", "create", name, "--role", role, "-c"])
                .arg(&d.conf.path),
            secs(30.0),
        );
        assert_eq!(out.code, 0, "{out}");
        out.stdout
            .split_whitespace()
            .find(|w| w.starts_with("stw_"))
            .unwrap()
            .to_string()
    };
    let tokens: Vec<(&str, String)> = ROLES
        .iter()
        .map(|r| (*r, token(&format!("t-{r}"), r)))
        .collect();
    let admin = tokens[3].1.clone();

    let mut failures = Vec::new();
    for (method, path, need) in ROUTES {
        for (role, tok) in &tokens {
            let allowed = rank(role) >= rank(need);
            let before = (*method == "POST").then(|| fingerprint(&d, &admin));
            let status = call(&d, method, path, tok);
            if allowed {
                if status == 401 || status == 403 || status >= 500 {
                    failures.push(format!(
                        "{role} {method} {path}: {status}, expected to be allowed"
                    ));
                }
                if *path == "/api/v1/cron/tick/disable" {
                    call(&d, "POST", "/api/v1/cron/tick/enable", &admin);
                }
            } else {
                if status != 403 {
                    failures.push(format!("{role} {method} {path}: {status}, expected 403"));
                }
                if let Some(before) = before {
                    let after = fingerprint(&d, &admin);
                    if before != after {
                        failures.push(format!(
                            "{role} {method} {path} changed state:\n  {before}\n  {after}"
                        ));
                    }
                }
            }
        }
    }
    // No credentials at all: 401 everywhere but /healthz.
    for (method, path, _) in ROUTES {
        let out = run_with_timeout(
            Command::new("curl")
                .args([
                    "-s",
                    "-o",
                    "/dev/null",
                    "-w",
                    "%{http_code}",
                    "-X",
                    method,
                    "--max-time",
                    "20",
                ])
                .arg(format!("http://127.0.0.1:{}{path}", d.conf.port)),
            secs(30.0),
        );
        if out.stdout.trim() != "401" {
            failures.push(format!("anonymous {method} {path}: {}", out.stdout));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
