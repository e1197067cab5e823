//! Issue 13: the JSON API on the daemon's own listeners, driven with curl as any client
//! would: routes, the error shape, the access rules of each listener kind, bearer tokens,
//! the live event stream and the audit log.
mod support;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use support::*;

const PROGRAMS: &str = "
[inet_http_server]
port=127.0.0.1:{port}
username=admin
password=s3cret

[steward]
state_dir={dir}/state

[program:web]
command=sh -c 'echo web-started; exec sleep 1000'
startsecs=0
environment=APP_KEY=\"hunter2\",HOME=\"/tmp\"

[program:worker]
command=sleep 1000
startsecs=0
numprocs=2
process_name=%(program_name)s_%(process_num)02d
";

struct Reply {
    status: u16,
    body: String,
}

impl Reply {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.body))
    }
}

/// One request with curl: over the unix socket when `sock` is given, else to `url`.
fn curl(sock: Option<&std::path::Path>, method: &str, url: &str, headers: &[&str]) -> Reply {
    let mut cmd = Command::new("curl");
    cmd.args([
        "-s",
        "-o",
        "-",
        "-w",
        "\n%{http_code}",
        "-X",
        method,
        "--max-time",
        "20",
    ]);
    if let Some(s) = sock {
        cmd.arg("--unix-socket").arg(s);
    }
    for h in headers {
        cmd.args(["-H", h]);
    }
    cmd.arg(url);
    let out = run_with_timeout(&mut cmd, secs(30.0));
    let (body, code) = out.stdout.rsplit_once('\n').unwrap_or(("", "0"));
    Reply {
        status: code.trim().parse().unwrap_or(0),
        body: body.to_string(),
    }
}

fn unix(d: &Daemon, method: &str, path: &str) -> Reply {
    curl(
        Some(&d.conf.sock),
        method,
        &format!("http://localhost{path}"),
        &[],
    )
}

fn tcp(d: &Daemon, method: &str, path: &str, headers: &[&str]) -> Reply {
    curl(
        None,
        method,
        &format!("http://127.0.0.1:{}{path}", d.conf.port),
        headers,
    )
}

fn basic() -> String {
    // admin:s3cret
    "Authorization: Basic YWRtaW46czNjcmV0".to_string()
}

fn token(d: &Daemon, name: &str, role: &str) -> String {
    let out = run_with_timeout(
        Command::new(steward_bin())
            .args(["token", "create", name, "--role", role, "-c"])
            .arg(&d.conf.path),
        secs(30.0),
    );
    assert_eq!(out.code, 0, "{out}");
    let t = out
        .stdout
        .split_whitespace()
        .find(|w| w.starts_with("stw_"))
        .unwrap_or_else(|| panic!("no token printed: {out}"))
        .to_string();
    format!("Authorization: Bearer {t}")
}

fn start() -> Daemon {
    Daemon::start_steward(Conf::new(PROGRAMS))
}

#[test]
fn unix_socket_routes_actions_and_error_shape() {
    let d = start();
    d.wait_state("web", "RUNNING", secs(10.0));
    let r = unix(&d, "GET", "/api/v1/processes");
    assert_eq!(r.status, 200, "{}", r.body);
    let names: Vec<String> = r.json()["processes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(names, ["web", "worker:worker_00", "worker:worker_01"]);

    // One process: resources and config, the secret-named variable redacted.
    let web = unix(&d, "GET", "/api/v1/processes/web").json();
    assert_eq!(web["state"], "RUNNING");
    assert!(web["rss_bytes"].as_u64().unwrap() > 0, "{web}");
    assert_eq!(
        web["config"]["environment"]["APP_KEY"], "<redacted>",
        "{web}"
    );
    assert_eq!(web["config"]["environment"]["HOME"], "/tmp", "{web}");
    assert!(!unix(&d, "GET", "/api/v1/processes/web")
        .body
        .contains("hunter2"));

    // Actions reply with the new state; wrong state and unknown names have one shape.
    let r = unix(&d, "POST", "/api/v1/processes/web/stop");
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["process"]["state"], "STOPPED");
    assert_eq!(
        d.state("web"),
        "STOPPED",
        "the API and XML-RPC see one engine"
    );
    let r = unix(&d, "POST", "/api/v1/processes/web/stop");
    assert_eq!(r.status, 409, "{}", r.body);
    assert_eq!(r.json()["error"]["code"], "NOT_RUNNING");
    assert_eq!(r.json()["error"]["target"], "web");
    let r = unix(&d, "POST", "/api/v1/processes/nosuch/start");
    assert_eq!(r.status, 404, "{}", r.body);
    assert_eq!(r.json()["error"]["code"], "BAD_NAME");
    assert_eq!(
        unix(&d, "POST", "/api/v1/processes/web/start").json()["process"]["state"],
        "RUNNING"
    );
    let r = unix(&d, "POST", "/api/v1/processes/web/explode");
    assert_eq!(r.status, 404, "{}", r.body);

    // GET never changes state.
    let r = unix(&d, "GET", "/api/v1/processes/web/stop");
    assert_eq!(r.status, 405, "{}", r.body);
    assert_eq!(d.state("web"), "RUNNING");

    // A group in one call, per-process results.
    let r = unix(&d, "POST", "/api/v1/groups/worker/stop").json();
    let results = r["results"].as_array().unwrap();
    assert_eq!(results.len(), 2, "{r}");
    assert!(
        results
            .iter()
            .all(|m| m["result"] == "ok" && m["state"] == "STOPPED"),
        "{r}"
    );
    assert_eq!(d.state("worker:worker_01"), "STOPPED");
    let r = unix(&d, "POST", "/api/v1/all/start").json();
    assert!(
        r["results"]
            .as_array()
            .unwrap()
            .iter()
            .all(|m| m["state"] == "RUNNING"),
        "{r}"
    );

    // Signals: a bad one is a 400, a good one reaches the process.
    let r = curl(
        Some(&d.conf.sock),
        "POST",
        "http://localhost/api/v1/processes/web/signal",
        &["Content-Type: application/json"],
    );
    assert_eq!(r.status, 400, "{}", r.body);

    // The log.
    let log = unix(&d, "GET", "/api/v1/processes/web/log?lines=5").json();
    assert!(
        log["lines"]
            .as_array()
            .unwrap()
            .iter()
            .any(|l| l == "web-started"),
        "{log}"
    );
    assert_eq!(
        unix(&d, "GET", "/api/v1/processes/web/log?stream=nope").status,
        400
    );

    // Reload preview, health, metrics, the document.
    let r = unix(&d, "POST", "/api/v1/reload?dry_run=true").json();
    assert_eq!(r["added"], json!([]), "{r}");
    assert_eq!(unix(&d, "GET", "/healthz").json()["status"], "ok");
    let m = unix(&d, "GET", "/metrics").body;
    assert!(
        m.contains("steward_process_state{group=\"web\",process=\"web\",state=\"RUNNING\"} 1"),
        "{m}"
    );
    let doc = unix(&d, "GET", "/api/v1/openapi.json").json();
    assert_eq!(doc["openapi"], "3.1.0");
    assert!(doc["paths"]["/api/v1/processes/{name}/{action}"]["post"].is_object());
}

#[test]
fn tcp_listener_with_credentials_basic_reads_tokens_act() {
    let d = start();
    d.wait_state("web", "RUNNING", secs(10.0));
    // No credentials: only /healthz answers, and it says nothing else.
    let r = tcp(&d, "GET", "/healthz", &[]);
    assert_eq!((r.status, r.body.as_str()), (200, "{\"status\":\"ok\"}"));
    for path in ["/api/v1/processes", "/metrics", "/api/v1/cron"] {
        let r = tcp(&d, "GET", path, &[]);
        assert_eq!(r.status, 401, "{path}: {}", r.body);
        assert_eq!(r.json()["error"]["code"], "UNAUTHORIZED");
    }
    assert_eq!(
        tcp(
            &d,
            "GET",
            "/api/v1/processes",
            &["Authorization: Basic YWRtaW46d3Jvbmc="]
        )
        .status,
        401
    );
    // Basic: reads yes, state changes no (and nothing changes).
    assert_eq!(tcp(&d, "GET", "/api/v1/processes", &[&basic()]).status, 200);
    let r = tcp(&d, "POST", "/api/v1/processes/web/stop", &[&basic()]);
    assert_eq!(r.status, 403, "{}", r.body);
    assert_eq!(r.json()["error"]["code"], "BASIC_AUTH_READ_ONLY");
    assert_eq!(d.state("web"), "RUNNING");

    // A viewer token reads but may not act; an operator token acts; an admin reloads.
    let viewer = token(&d, "dash", "viewer");
    let operator = token(&d, "deploy", "operator");
    assert_eq!(tcp(&d, "GET", "/api/v1/processes", &[&viewer]).status, 200);
    assert_eq!(
        tcp(&d, "GET", "/api/v1/processes/web/log", &[&viewer]).status,
        403
    );
    let r = tcp(&d, "POST", "/api/v1/processes/web/stop", &[&viewer]);
    assert_eq!(r.status, 403, "{}", r.body);
    assert_eq!(d.state("web"), "RUNNING");
    assert_eq!(tcp(&d, "POST", "/api/v1/reload", &[&operator]).status, 403);
    let r = tcp(&d, "POST", "/api/v1/processes/web/stop", &[&operator]);
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(d.state("web"), "STOPPED");

    // Revoked: refused within a second, no restart.
    let out = run_with_timeout(
        Command::new(steward_bin())
            .args(["token", "revoke", "deploy", "-c"])
            .arg(&d.conf.path),
        secs(30.0),
    );
    assert_eq!(out.code, 0, "{out}");
    let revoked = Instant::now();
    assert!(
        wait_until(secs(1.5), || tcp(
            &d,
            "GET",
            "/api/v1/processes",
            &[&operator]
        )
        .status
            == 401),
        "the revoked token still works"
    );
    assert!(revoked.elapsed() < secs(1.5));
    assert_eq!(
        tcp(&d, "POST", "/api/v1/processes/web/start", &[&operator]).status,
        401
    );
    assert_eq!(d.state("web"), "STOPPED");

    // The real supervisorctl still works on the same listener.
    let out = d.ctl(&[
        "-s",
        &format!("http://127.0.0.1:{}", d.conf.port),
        "-u",
        "admin",
        "-p",
        "s3cret",
        "start",
        "web",
    ]);
    assert!(out.stdout.contains("web: started"), "{out}");

    // Every state change above is in the audit log, API and XML-RPC alike.
    let admin = token(&d, "root", "admin");
    let mut records = Value::Null;
    let found = wait_until(secs(5.0), || {
        records = tcp(&d, "GET", "/api/v1/audit?limit=50", &[&admin]).json();
        let text = records.to_string();
        text.contains("api: stop") && text.contains("xmlrpc: supervisor.startProcess")
    });
    assert!(found, "{records}");
    assert_eq!(tcp(&d, "GET", "/api/v1/audit", &[&viewer]).status, 403);
}

#[test]
fn event_stream_shows_changes_and_resumes_after_an_id() {
    let d = start();
    d.wait_state("web", "RUNNING", secs(10.0));
    let mut child = Command::new("curl")
        .args(["-s", "-N", "--max-time", "30", "--unix-socket"])
        .arg(&d.conf.sock)
        .arg("http://localhost/api/v1/events")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    // The stream is live once its first line (the `: connected` comment) arrives.
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut lines = Vec::new();
    let mut stopped_id = None;
    let mut acted = false;
    while Instant::now() < deadline && stopped_id.is_none() {
        if !acted && !lines.is_empty() {
            unix(&d, "POST", "/api/v1/processes/web/stop");
            acted = true;
        }
        if let Ok(l) = rx.recv_timeout(Duration::from_millis(200)) {
            lines.push(l.clone());
            if l.contains("\"to\":\"STOPPED\"") && l.contains("\"name\":\"web\"") {
                let id_line = lines.iter().rev().find(|x| x.starts_with("id:")).cloned();
                stopped_id = id_line.map(|x| x[3..].trim().parse::<u64>().unwrap());
            }
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    let id = stopped_id.unwrap_or_else(|| panic!("no STOPPED event for web: {lines:?}"));
    // A reconnect with Last-Event-ID one before gets that very event again.
    let out = run_with_timeout(
        Command::new("curl")
            .args(["-s", "-N", "--max-time", "2", "--unix-socket"])
            .arg(&d.conf.sock)
            .args(["-H", &format!("Last-Event-ID: {}", id - 1)])
            .arg("http://localhost/api/v1/events"),
        secs(10.0),
    );
    assert!(
        out.stdout.contains(&format!("id: {id}\n")) || out.stdout.contains(&format!("id:{id}\n")),
        "{out}"
    );
    assert!(out.stdout.contains("\"to\":\"STOPPED\""), "{out}");
}

/// `curl` with the response headers included (`-i`).
fn tcp_with_headers(
    d: &Daemon,
    method: &str,
    path: &str,
    headers: &[&str],
    body: Option<&str>,
) -> (u16, String) {
    let mut cmd = Command::new("curl");
    cmd.args(["-s", "-i", "-X", method, "--max-time", "20"]);
    for h in headers {
        cmd.args(["-H", h]);
    }
    if let Some(b) = body {
        cmd.args(["--data-binary", b]);
    }
    cmd.arg(format!("http://127.0.0.1:{}{path}", d.conf.port));
    let out = run_with_timeout(&mut cmd, secs(30.0));
    let status = out
        .stdout
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (status, out.stdout)
}

#[test]
fn browser_sessions_need_csrf_and_the_same_origin() {
    let d = start();
    d.wait_state("web", "RUNNING", secs(10.0));
    let json = "Content-Type: application/json";
    let login = |password: &str| {
        let body = format!(r#"{{"username":"admin","password":"{password}"}}"#);
        tcp_with_headers(&d, "POST", "/api/v1/session", &[json], Some(&body))
    };
    // Wrong password: 401, and after five attempts a minute, 429 with Retry-After.
    let (status, _) = login("nope");
    assert_eq!(status, 401);
    // Right password (the listener's own user is an admin).
    let (status, text) = login("s3cret");
    assert_eq!(status, 200, "{text}");
    let lower = text.to_ascii_lowercase();
    let cookie_line = lower
        .lines()
        .find(|l| l.starts_with("set-cookie:"))
        .unwrap_or_else(|| panic!("{text}"));
    assert!(
        cookie_line.contains("httponly") && cookie_line.contains("samesite=strict"),
        "{cookie_line}"
    );
    let cookie = text
        .lines()
        .find(|l| l.to_ascii_lowercase().starts_with("set-cookie:"))
        .unwrap()
        .split_once(':')
        .unwrap()
        .1
        .split(';')
        .next()
        .unwrap()
        .trim()
        .to_string();
    let body: Value = serde_json::from_str(text.rsplit("\r\n\r\n").next().unwrap()).unwrap();
    assert_eq!(body["role"], "admin");
    let csrf = body["csrf_token"].as_str().unwrap().to_string();
    let cookie_h = format!("Cookie: {cookie}");
    let csrf_h = format!("X-CSRF-Token: {csrf}");
    // Reads with the cookie alone; a change needs the token, and never from elsewhere.
    assert_eq!(
        tcp(&d, "GET", "/api/v1/processes", &[&cookie_h]).status,
        200
    );
    let r = tcp(&d, "POST", "/api/v1/processes/web/stop", &[&cookie_h]);
    assert_eq!(
        (r.status, r.json()["error"]["code"].clone()),
        (403, json!("CSRF"))
    );
    let r = tcp(
        &d,
        "POST",
        "/api/v1/processes/web/stop",
        &[&cookie_h, &csrf_h, "Origin: http://evil.example"],
    );
    assert_eq!(
        (r.status, r.json()["error"]["code"].clone()),
        (403, json!("CROSS_ORIGIN"))
    );
    assert_eq!(d.state("web"), "RUNNING", "a refused call changed nothing");
    let origin = format!("Origin: http://127.0.0.1:{}", d.conf.port);
    let r = tcp(
        &d,
        "POST",
        "/api/v1/processes/web/stop",
        &[&cookie_h, &csrf_h, &origin],
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(d.state("web"), "STOPPED");
    // Logout ends the session.
    assert_eq!(
        tcp(&d, "DELETE", "/api/v1/session", &[&cookie_h, &csrf_h]).status,
        200
    );
    assert_eq!(
        tcp(&d, "GET", "/api/v1/processes", &[&cookie_h]).status,
        401
    );
    // The limiter (a successful login cleared it): five wrong attempts, then 429.
    for _ in 0..5 {
        login("nope");
    }
    let (status, text) = login("s3cret");
    assert_eq!(status, 429, "{text}");
    assert!(text.to_ascii_lowercase().contains("retry-after:"), "{text}");
}

#[test]
fn declared_commands_run_with_output_timeout_and_roles() {
    let conf = Conf::new(&format!(
        "{PROGRAMS}
[command:hello]
command=echo \"hello $GREETING\"; echo oops >&2; exit 3
environment=GREETING=\"world\"
directory={{dir}}
description=Say hello

[command:slow]
command=sleep 30
timeout=1
"
    ));
    let d = Daemon::start_steward(conf);
    let list = unix(&d, "GET", "/api/v1/commands").json();
    let names: Vec<&str> = list["commands"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["hello", "slow"], "{list}");
    assert_eq!(list["commands"][0]["description"], "Say hello");

    let r = unix(&d, "POST", "/api/v1/commands/hello/run");
    assert_eq!(r.status, 200, "{}", r.body);
    let run = r.json();
    assert_eq!(run["exit_code"], 3, "{run}");
    assert_eq!(run["result"], "failed");
    let out = run["output_head"].as_str().unwrap();
    assert!(out.contains("hello world") && out.contains("oops"), "{run}");

    let started = Instant::now();
    let run = unix(&d, "POST", "/api/v1/commands/slow/run").json();
    assert_eq!(run["timed_out"], true, "{run}");
    assert!(
        started.elapsed() < secs(10.0),
        "the timeout (1 s) was not enforced"
    );

    assert_eq!(unix(&d, "POST", "/api/v1/commands/rm-rf/run").status, 404);
    let runs = unix(&d, "GET", "/api/v1/commands/hello/runs").json();
    assert_eq!(runs["runs"][0]["actor"], "anonymous", "{runs}");

    // A viewer lists and reads runs without output, and may not run.
    let viewer = token(&d, "v", "viewer");
    assert_eq!(
        tcp(&d, "POST", "/api/v1/commands/hello/run", &[&viewer]).status,
        403
    );
    let runs = tcp(&d, "GET", "/api/v1/commands/hello/runs", &[&viewer]).json();
    assert!(runs["runs"][0].get("output_head").is_none(), "{runs}");
    // No zombie left behind by the killed command.
    let slow_left = || {
        d.descendants().iter().any(|p| {
            std::fs::read(format!("/proc/{}/cmdline", p.pid)).is_ok_and(|c| c == b"sleep\x0030\x00")
        })
    };
    assert!(
        wait_until(secs(5.0), || !slow_left()),
        "the timed-out command still runs: {:?}",
        d.descendants()
    );
}

#[test]
fn cron_jobs_pause_resume_and_run_now() {
    let conf = Conf::new(&format!(
        "{PROGRAMS}
[cron:tick]
schedule=* * * * * *
command=sh -c 'echo tick >> {{dir}}/ticks'
"
    ));
    let d = Daemon::start_steward(conf);
    let ticks = || d.conf.lines("ticks").len();
    assert!(wait_until(secs(10.0), || ticks() >= 1), "never fired");
    let job = unix(&d, "GET", "/api/v1/cron/tick").json();
    assert_eq!(job["next_runs"].as_array().unwrap().len(), 5, "{job}");
    let r = unix(&d, "POST", "/api/v1/cron/tick/disable").json();
    assert_eq!(r["job"]["enabled"], false, "{r}");
    // Paused: no scheduled fire for 2.5 s (one in flight may still finish).
    std::thread::sleep(Duration::from_millis(300));
    let paused_at = ticks();
    assert!(
        holds_for(secs(2.5), || ticks() == paused_at),
        "fired while paused"
    );
    // Run now still works while paused, and it is recorded as manual.
    assert_eq!(unix(&d, "POST", "/api/v1/cron/tick/run").status, 200);
    assert!(wait_until(secs(10.0), || ticks() == paused_at + 1));
    let runs = unix(&d, "GET", "/api/v1/cron/tick/runs?limit=1").json();
    assert_eq!(runs["runs"][0]["trigger"], "manual", "{runs}");
    assert!(runs["next_cursor"].is_string(), "{runs}");
    let r = unix(&d, "POST", "/api/v1/cron/tick/enable").json();
    assert_eq!(r["job"]["enabled"], true, "{r}");
    assert!(
        wait_until(secs(10.0), || ticks() >= paused_at + 3),
        "did not resume"
    );
    assert_eq!(unix(&d, "POST", "/api/v1/cron/nosuch/run").status, 404);
    // Every finished run is counted by result in /metrics.
    let runs_ok = || -> u64 {
        unix(&d, "GET", "/metrics")
            .body
            .lines()
            .find(|l| l.starts_with("steward_cron_runs_total{job=\"tick\",result=\"ok\"}"))
            .and_then(|l| l.rsplit(' ').next()?.parse().ok())
            .unwrap_or(0)
    };
    assert!(
        wait_until(secs(5.0), || runs_ok() >= 3),
        "{}",
        unix(&d, "GET", "/metrics").body
    );
}

#[test]
fn a_page_on_another_site_cannot_drive_a_loopback_listener_without_credentials() {
    // A listener without credentials on 127.0.0.1 trusts local users, not every web page
    // a local browser opens: the browser says where a request comes from.
    let d = Daemon::start_steward(Conf::new(
        "
[inet_http_server]
port=127.0.0.1:{port}

[program:web]
command=sleep 1000
startsecs=0
",
    ));
    d.wait_state("web", "RUNNING", secs(10.0));
    for forged in [
        "Origin: http://evil.example",
        "Sec-Fetch-Site: cross-site",
        "Origin: null",
    ] {
        let r = tcp(&d, "POST", "/api/v1/processes/web/stop", &[forged]);
        assert_eq!(r.status, 403, "{forged}: {}", r.body);
        assert_eq!(r.json()["error"]["code"], "CROSS_ORIGIN", "{forged}");
        let r = tcp(
            &d,
            "POST",
            "/api/v1/session",
            &[forged, "Content-Type: application/json"],
        );
        assert_eq!(r.status, 403, "login {forged}: {}", r.body);
    }
    assert_eq!(d.state("web"), "RUNNING");
    // The same call from a script (no Origin) or from the listener's own page is fine.
    let origin = format!("Origin: http://127.0.0.1:{}", d.conf.port);
    assert_eq!(
        tcp(&d, "POST", "/api/v1/processes/web/stop", &[&origin]).status,
        200
    );
    assert_eq!(
        tcp(&d, "POST", "/api/v1/processes/web/start", &[]).status,
        200
    );
}
