//! The dashboard without JavaScript, driven with curl against a real daemon: the login
//! form, the server-rendered table, supervisord's old `?action=` links, the POST forms with
//! their CSRF token, and the confirmation page of an "all" action. (The session routes of
//! the API itself are tested in api.rs.) Last, the same pages behind Debian's nginx on a
//! sub-path (`base_path`): login, an action, the event stream and logout through the proxy.
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

    /// The CSRF token of a page (its `csrf-token` meta tag).
    fn csrf(&self) -> String {
        self.body
            .split("name=\"csrf-token\" content=\"")
            .nth(1)
            .and_then(|s| s.split('"').next())
            .expect("a csrf-token meta tag")
            .to_string()
    }

    /// `steward_session=…` from Set-Cookie.
    fn cookie(&self) -> String {
        let sc = self.header("set-cookie").expect("a Set-Cookie header");
        sc.split(';').next().unwrap().to_string()
    }
}

fn curl(d: &Daemon, method: &str, path: &str, headers: &[&str], body: Option<&str>) -> Reply {
    curl_url(
        &format!("http://127.0.0.1:{}{path}", d.conf.port),
        method,
        headers,
        body,
    )
}

fn curl_url(url: &str, method: &str, headers: &[&str], body: Option<&str>) -> Reply {
    let mut cmd = Command::new("curl");
    cmd.args(["-s", "-i", "-X", method, "--max-time", "20"]);
    for h in headers {
        cmd.args(["-H", h]);
    }
    if let Some(b) = body {
        cmd.args(["--data-raw", b]);
    }
    cmd.arg(url);
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
    let csrf = dash.csrf();

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

/// nginx in the foreground on `port`, with everything it writes in `dir`; killed on drop.
struct Nginx {
    child: std::process::Child,
}

impl Drop for Nginx {
    fn drop(&mut self) {
        // SIGTERM: the master stops its worker first (a SIGKILLed master leaves it behind).
        kill(self.child.id() as i32, 15);
        if !wait_until(secs(10.0), || matches!(self.child.try_wait(), Ok(Some(_)))) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn nginx_bin() -> std::path::PathBuf {
    for c in ["/usr/sbin/nginx", "/usr/bin/nginx"] {
        if std::path::Path::new(c).exists() {
            return c.into();
        }
    }
    panic!("nginx is not installed: run `bash scripts/test.sh` (it installs Debian's nginx)");
}

fn start_nginx(dir: &std::path::Path, port: u16, upstream: u16) -> Nginx {
    let d = dir.display();
    // The docs/panel.md example, twice: /steward/ passes the whole path (Steward strips its
    // base_path), /stripped/ strips the prefix itself.
    let proxy = "proxy_set_header Host $http_host;
            proxy_set_header X-Forwarded-Proto $scheme;
            proxy_buffering off;
            proxy_read_timeout 1h;";
    let conf = format!(
        "daemon off;
worker_processes 1;
pid {d}/nginx.pid;
error_log {d}/nginx-error.log;
events {{ worker_connections 64; }}
http {{
    access_log {d}/nginx-access.log;
    client_body_temp_path {d}/nginx-body;
    proxy_temp_path {d}/nginx-proxy;
    fastcgi_temp_path {d}/nginx-fastcgi;
    uwsgi_temp_path {d}/nginx-uwsgi;
    scgi_temp_path {d}/nginx-scgi;
    server {{
        listen 127.0.0.1:{port};
        location /steward/ {{
            proxy_pass http://127.0.0.1:{upstream};
            {proxy}
        }}
        location /stripped/ {{
            proxy_pass http://127.0.0.1:{upstream}/;
            {proxy}
        }}
    }}
}}
"
    );
    let path = dir.join("nginx.conf");
    std::fs::write(&path, conf).unwrap();
    let child = Command::new(nginx_bin())
        .arg("-p")
        .arg(dir)
        .arg("-c")
        .arg(&path)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start nginx");
    let nginx = Nginx { child };
    assert!(
        wait_until(secs(10.0), || std::net::TcpStream::connect((
            "127.0.0.1",
            port
        ))
        .is_ok()),
        "nginx did not listen on {port}: {}",
        std::fs::read_to_string(dir.join("nginx-error.log")).unwrap_or_default()
    );
    nginx
}

#[test]
fn the_dashboard_works_behind_nginx_on_a_sub_path() {
    let d = Daemon::start_steward(Conf::new(
        &PROGRAMS.replace("password=s3cret", "password=s3cret\nbase_path=/steward/"),
    ));
    d.wait_state("web", "RUNNING", secs(10.0));
    let port = free_port();
    let _nginx = start_nginx(&d.conf.dir, port, d.conf.port);
    let base = format!("http://127.0.0.1:{port}/steward/");
    let origin = format!("Origin: http://127.0.0.1:{port}");

    // The base path without its slash gets one (relative URLs need it).
    let bare = curl(&d, "GET", "/steward", &[], None);
    assert_eq!(bare.status, 308, "{}", bare.headers);
    assert_eq!(bare.header("location").as_deref(), Some("/steward/"));

    let anon = curl_url(&base, "GET", &[], None);
    assert_eq!(anon.status, 303, "{}", anon.headers);
    assert_eq!(anon.header("location").as_deref(), Some("login"));

    let login = curl_url(
        &format!("{base}login"),
        "POST",
        &[&origin],
        Some("username=admin&password=s3cret"),
    );
    assert_eq!(login.status, 303, "{}{}", login.headers, login.body);
    assert_eq!(login.header("location").as_deref(), Some("./"));
    let set_cookie = login.header("set-cookie").unwrap();
    assert!(set_cookie.contains("; Path=/steward/;"), "{set_cookie}");
    let cookie = format!("Cookie: {}", login.cookie());

    let dash = curl_url(&base, "GET", &[&cookie], None);
    assert_eq!(dash.status, 200, "{}", dash.body);
    assert!(dash.body.contains(">web</a>"), "{}", dash.body);
    for absolute in ["href=\"/", "src=\"/", "action=\"/"] {
        assert!(
            !dash.body.contains(absolute),
            "an absolute URL ({absolute}) would leave the sub-path:\n{}",
            dash.body
        );
    }
    let script = curl_url(&format!("{base}assets/app.js"), "GET", &[], None);
    assert_eq!(script.status, 200);
    assert!(script.body.contains("EventSource(\"api/v1/events\")"));
    let csrf = dash.csrf();

    // An action through the proxy, with the browser's Origin.
    let stop = curl_url(
        &format!("{base}action"),
        "POST",
        &[&cookie, &origin],
        Some(&format!(
            "kind=process&name=web&action=stop&back=./&csrf_token={csrf}"
        )),
    );
    assert_eq!(stop.status, 303, "{}{}", stop.headers, stop.body);
    assert!(
        stop.header("location").unwrap().starts_with("./?ok=1"),
        "{}",
        stop.headers
    );
    assert_eq!(d.state("web"), "STOPPED");

    // The event stream passes through unbuffered.
    let mut cmd = Command::new("curl");
    cmd.args(["-s", "-N", "--max-time", "2", "-H", &cookie])
        .arg(format!("{base}api/v1/events"));
    let events = run_with_timeout(&mut cmd, secs(10.0));
    assert!(events.stdout.contains(": connected"), "{events}");

    // A proxy that strips the prefix itself reaches the same daemon.
    let stripped = curl_url(
        &format!("http://127.0.0.1:{port}/stripped/api/v1/processes/web"),
        "GET",
        &[&cookie],
        None,
    );
    assert_eq!(stripped.status, 200, "{}", stripped.body);
    assert!(stripped.body.contains("\"STOPPED\""), "{}", stripped.body);

    let logout = curl_url(
        &format!("{base}logout"),
        "POST",
        &[&cookie, &origin],
        Some(&format!("csrf_token={csrf}")),
    );
    assert_eq!(logout.status, 303, "{}", logout.body);
    assert_eq!(logout.header("location").as_deref(), Some("login"));
    assert!(logout
        .header("set-cookie")
        .unwrap()
        .contains("Path=/steward/; Max-Age=0"));
    let after = curl_url(&base, "GET", &[&cookie], None);
    assert_eq!(after.status, 303, "the session ended: {}", after.headers);
}

/// A group longer than a block of the list (50 rows) continues in the next block under
/// its name; every process is listed once, and the group's count and actions are in its
/// first section only.
#[test]
fn a_group_of_120_spans_three_blocks_with_every_row_once() {
    let programs = format!(
        "{PROGRAMS}\n[program:many]\ncommand=sleep 1000\nnumprocs=120\n\
         process_name=%(program_name)s_%(process_num)03d\nstartsecs=0\n"
    );
    let d = Daemon::start_steward(Conf::new(&programs));
    d.wait_state("many:many_119", "RUNNING", secs(20.0));
    let form = ["Content-Type: application/x-www-form-urlencoded"];
    let origin = format!("Origin: http://127.0.0.1:{}", d.conf.port);
    let login = curl(
        &d,
        "POST",
        "/login",
        &[form[0], &origin],
        Some("username=admin&password=s3cret"),
    );
    assert_eq!(login.status, 303, "{}{}", login.headers, login.body);
    let cookie = format!("Cookie: {}", login.cookie());
    let dash = curl(&d, "GET", "/", &[&cookie], None);
    assert_eq!(dash.status, 200);
    let body = &dash.body;
    for i in 0..120 {
        let row = format!("data-name=\"many:many_{i:03}\"");
        assert_eq!(body.matches(&row).count(), 1, "{row}");
    }
    assert_eq!(
        body.matches("Group many (continued)").count(),
        2,
        "120 rows: 50 + 50 + 20"
    );
    assert_eq!(body.matches("120 of 120 running").count(), 1);
    assert_eq!(
        body.matches("restart group many (asks to confirm)").count(),
        1
    );
    // Every block is a whole table with its own header row.
    let blocks = body.matches("<div class=\"block\"><table><thead>").count();
    assert_eq!(blocks, body.matches("</table></div>").count());
    assert!(blocks >= 3, "{blocks} blocks");
}
