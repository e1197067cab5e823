//! The dashboard without JavaScript, driven with curl against a real daemon: the login
//! form, the server-rendered table, supervisord's old `?action=` links, the POST forms with
//! their CSRF token, and the confirmation page of an "all" action. (The session routes of
//! the API itself are tested in api.rs.)
mod support;
use std::process::Command;
use support::*;

const PROGRAMS: &str = "
[inet_http_server]
port=127.0.0.1:{port}
username=admin
password=s3cret

[program:web]
command=sleep 1000
startsecs=0

[command:hello]
command=sh -c 'echo hello from a command'
description=Says hello
";

struct Reply {
    status: u16,
    headers: String,
    body: String,
}

impl Reply {
    fn header(&self, name: &str) -> Option<String> {
        self.headers.lines().find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.trim()
                .eq_ignore_ascii_case(name)
                .then(|| v.trim().to_string())
        })
    }

    /// `steward_session=…` from Set-Cookie.
    fn cookie(&self) -> String {
        let sc = self.header("set-cookie").expect("a Set-Cookie header");
        sc.split(';').next().unwrap().to_string()
    }
}

fn curl(d: &Daemon, method: &str, path: &str, headers: &[&str], body: Option<&str>) -> Reply {
    let mut cmd = Command::new("curl");
    cmd.args(["-s", "-i", "-X", method, "--max-time", "20"]);
    for h in headers {
        cmd.args(["-H", h]);
    }
    if let Some(b) = body {
        cmd.args(["--data-raw", b]);
    }
    cmd.arg(format!("http://127.0.0.1:{}{path}", d.conf.port));
    let out = run_with_timeout(&mut cmd, secs(30.0));
    assert_eq!(out.code, 0, "curl failed: {out}");
    let (head, body) = out
        .stdout
        .split_once("\r\n\r\n")
        .unwrap_or((&out.stdout, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    Reply {
        status,
        headers: head.to_string(),
        body: body.to_string(),
    }
}

#[test]
fn the_dashboard_works_in_curl_without_javascript() {
    let d = Daemon::start_steward(Conf::new(PROGRAMS));
    d.wait_state("web", "RUNNING", secs(10.0));
    let anon = curl(&d, "GET", "/", &[], None);
    assert_eq!(
        (anon.status, anon.header("location").as_deref()),
        (303, Some("login"))
    );
    let page = curl(&d, "GET", "/login", &[], None);
    let csp = page.header("content-security-policy").unwrap();
    assert!(csp.starts_with("default-src 'self'"), "{csp}");
    assert!(!page.body.contains("<script>"), "no inline script");

    let form = ["Content-Type: application/x-www-form-urlencoded"];
    let wrong = curl(
        &d,
        "POST",
        "/login",
        &form,
        Some("username=admin&password=x"),
    );
    assert_eq!(wrong.status, 401);
    assert!(
        wrong.body.contains("wrong username or password"),
        "{}",
        wrong.body
    );
    let ok = curl(
        &d,
        "POST",
        "/login",
        &form,
        Some("username=admin&password=s3cret"),
    );
    assert_eq!(
        (ok.status, ok.header("location").as_deref()),
        (303, Some("./"))
    );
    let cookie = format!("Cookie: {}", ok.cookie());

    // The old supervisord GET links change nothing; the table is readable as text.
    let dash = curl(
        &d,
        "GET",
        "/index.html?processname=web&action=stop",
        &[&cookie],
        None,
    );
    assert_eq!(dash.status, 200);
    assert!(
        dash.body.contains(">web</a>") && dash.body.contains("RUNNING"),
        "{}",
        dash.body
    );
    assert_eq!(d.state("web"), "RUNNING");
    let csrf = dash
        .body
        .split("name=\"csrf-token\" content=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .unwrap()
        .to_string();

    let forged = curl(
        &d,
        "POST",
        "/action",
        &[&cookie, form[0]],
        Some("kind=process&name=web&action=stop&back=./&csrf_token=guess"),
    );
    assert_eq!(forged.status, 403, "{}", forged.body);
    assert_eq!(d.state("web"), "RUNNING");

    let stop = curl(
        &d,
        "POST",
        "/action",
        &[&cookie, form[0]],
        Some(&format!(
            "kind=process&name=web&action=stop&back=./&csrf_token={csrf}"
        )),
    );
    assert_eq!(stop.status, 303, "{}", stop.body);
    assert!(
        stop.header("location").unwrap().starts_with("./?ok=1"),
        "{}",
        stop.headers
    );
    assert_eq!(d.state("web"), "STOPPED");

    // A group action first says what it affects.
    let confirm = curl(
        &d,
        "POST",
        "/action",
        &[&cookie, form[0]],
        Some(&format!(
            "kind=all&name=*&action=start&back=./&csrf_token={csrf}"
        )),
    );
    assert_eq!(confirm.status, 200);
    assert!(
        confirm.body.contains("all 1 processes") && confirm.body.contains("<li>web (STOPPED)</li>"),
        "{}",
        confirm.body
    );
    assert_eq!(
        d.state("web"),
        "STOPPED",
        "nothing runs before the confirmation"
    );

    // Commands: listed, run from a form, the output on the command's page.
    let list = curl(&d, "GET", "/commands", &[&cookie], None);
    assert!(
        list.body.contains(">hello</a>") && list.body.contains("Says hello"),
        "{}",
        list.body
    );
    let run = curl(
        &d,
        "POST",
        "/action",
        &[&cookie, form[0]],
        Some(&format!(
            "kind=command&name=hello&action=run&back=commands%3Fname%3Dhello&csrf_token={csrf}"
        )),
    );
    assert_eq!(run.status, 303, "{}", run.body);
    let location = run.header("location").unwrap();
    assert!(
        location.starts_with("commands?name=hello&ok=1"),
        "{location}"
    );
    let runs = curl(&d, "GET", "/commands?name=hello", &[&cookie], None);
    assert!(runs.body.contains("hello from a command"), "{}", runs.body);
}
