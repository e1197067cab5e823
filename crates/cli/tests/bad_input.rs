//! Issue 3, "Bad input, each with a test": wrong passwords, malformed / oversized / hostile
//! XML, unknown methods and wrong types, and unusable or stale socket paths. Every request
//! that must fail is followed by a check that the daemon still answers.
mod support;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::os::unix::net::{UnixListener, UnixStream};
use std::time::Duration;
use support::*;

const SLEEPER: &str = "
[program:sleeper]
command=sleep 1000
startsecs=0
";

fn b64(input: &[u8]) -> String {
    const T: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in input.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(T[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn call_body(method: &str, params: &str) -> String {
    format!(
        "<?xml version='1.0'?><methodCall><methodName>{method}</methodName><params>{params}</params></methodCall>"
    )
}

/// One HTTP/1.0 request on 127.0.0.1:port: (status code, raw head, body).
fn http_tcp(
    port: u16,
    path: &str,
    auth: Option<(&str, &str)>,
    body: &str,
) -> (u16, String, String) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let mut head = format!(
        "POST {path} HTTP/1.0\r\nHost: 127.0.0.1\r\nContent-Type: text/xml\r\nContent-Length: {}\r\n",
        body.len()
    );
    if let Some((u, p)) = auth {
        head.push_str(&format!(
            "Authorization: Basic {}\r\n",
            b64(format!("{u}:{p}").as_bytes())
        ));
    }
    head.push_str("\r\n");
    s.write_all(head.as_bytes()).unwrap();
    s.write_all(body.as_bytes()).unwrap();
    let mut raw = Vec::new();
    let _ = s.read_to_end(&mut raw);
    split_response(&raw)
}

fn split_response(raw: &[u8]) -> (u16, String, String) {
    let text = String::from_utf8_lossy(raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let code = head
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    (code, head.to_owned(), body.to_owned())
}

/// A raw request on the UNIX socket; the body may be refused before it is all sent.
fn http_unix_raw(sock: &std::path::Path, head: &str, body: &[u8]) -> (u16, String, String) {
    let mut s = UnixStream::connect(sock).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    s.set_write_timeout(Some(Duration::from_secs(20))).unwrap();
    let _ = s.write_all(head.as_bytes());
    let _ = s.write_all(body);
    // No half-close: a server may treat EOF on its read side as the client going away.
    let mut raw = Vec::new();
    let _ = s.read_to_end(&mut raw);
    split_response(&raw)
}

fn post_unix(sock: &std::path::Path, body: &[u8]) -> (u16, String, String) {
    let head = format!(
        "POST /RPC2 HTTP/1.0\r\nHost: localhost\r\nContent-Type: text/xml\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    http_unix_raw(sock, &head, body)
}

fn assert_up(d: &Daemon, after: &str) {
    assert_eq!(
        d.rpc("supervisor.getState", vec![]),
        Ok(json!({"statecode": 1, "statename": "RUNNING"})),
        "the daemon must still answer after {after}"
    );
}

fn auth_scenario(password_in_config: &str, good: &str) {
    let conf = Conf::new(&format!(
        "[inet_http_server]\nport=127.0.0.1:{{port}}\nusername=user\npassword={password_in_config}\n{SLEEPER}"
    ));
    let port = conf.port;
    let d = Daemon::start(conf);
    d.wait_state("sleeper", "RUNNING", secs(10.0));
    let pid = d.process_pid("sleeper");
    let stop = call_body(
        "supervisor.stopProcess",
        "<param><value><string>sleeper</string></value></param>",
    );
    for (label, auth) in [
        ("no credentials", None),
        ("a wrong password", Some(("user", "wrong"))),
        ("a wrong user", Some(("nobody", good))),
        (
            "the stored hash as password",
            Some(("user", password_in_config)),
        ),
    ] {
        if auth.map(|a| a.1) == Some(good) && auth.map(|a| a.0) == Some("user") {
            continue;
        }
        let (code, head, _) = http_tcp(port, "/RPC2", auth, &stop);
        assert_eq!(code, 401, "{label}: stopProcess must be refused\n{head}");
        assert!(
            head.to_ascii_lowercase()
                .contains("www-authenticate: basic realm=\"default\""),
            "{label}: 401 carries WWW-Authenticate\n{head}"
        );
        let (code, _, _) = http_tcp(port, "/logtail/sleeper", auth, "");
        assert_eq!(code, 401, "{label}: /logtail is protected too");
    }
    // Nothing was done: same process, still running.
    assert_eq!(d.state("sleeper"), "RUNNING");
    assert_eq!(d.process_pid("sleeper"), pid);
    // The right password works.
    let (code, _, body) = http_tcp(
        port,
        "/RPC2",
        Some(("user", good)),
        &call_body("supervisor.getAPIVersion", ""),
    );
    assert_eq!(code, 200);
    assert!(body.contains("<string>3.0</string>"), "{body}");
}

#[test]
fn wrong_password_gives_401_and_does_nothing() {
    auth_scenario("secret", "secret");
}

#[test]
fn wrong_password_with_a_sha_password_gives_401_and_does_nothing() {
    // sha1("secret")
    auth_scenario("{SHA}e5e9fa1ba31ecd1ae84f75caaa474f3a663f05f4", "secret");
}

#[test]
fn hostile_requests_get_errors_and_leave_the_daemon_up() {
    let d = Daemon::start(Conf::new(SLEEPER));
    d.wait_state("sleeper", "RUNNING", secs(10.0));
    let sock = d.conf.sock.clone();

    // Malformed XML → 400.
    let (code, _, _) = post_unix(&sock, b"<methodCall><methodName>supervisor.getState");
    assert_eq!(code, 400, "truncated XML");
    assert_up(&d, "truncated XML");
    let (code, _, _) = post_unix(&sock, b"\x00\xff not xml at all");
    assert_eq!(code, 400, "binary garbage");
    assert_up(&d, "binary garbage");

    // Billion laughs: entity expansion must be refused, not performed.
    let mut bomb =
        String::from("<?xml version=\"1.0\"?>\n<!DOCTYPE lolz [\n<!ENTITY lol \"lol\">\n");
    bomb.push_str("<!ENTITY lol1 \"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\">\n");
    for i in 2..10 {
        let prev = format!("&lol{};", i - 1);
        bomb.push_str(&format!("<!ENTITY lol{i} \"{}\">\n", prev.repeat(10)));
    }
    bomb.push_str("]>\n<methodCall><methodName>supervisor.getProcessInfo</methodName><params><param><value><string>&lol9;</string></value></param></params></methodCall>");
    let t = std::time::Instant::now();
    let (code, _, body) = post_unix(&sock, bomb.as_bytes());
    assert!(
        (400..500).contains(&code),
        "an XML bomb gets an HTTP error, got {code}: {body:.200}"
    );
    assert!(t.elapsed() < secs(5.0), "the bomb was not expanded");
    assert_up(&d, "an XML bomb");

    // A DOCTYPE alone (external entity) is refused too.
    let xxe = "<?xml version=\"1.0\"?><!DOCTYPE x [<!ENTITY e SYSTEM \"file:///etc/passwd\">]><methodCall><methodName>supervisor.getProcessInfo</methodName><params><param><value><string>&e;</string></value></param></params></methodCall>";
    let (code, _, body) = post_unix(&sock, xxe.as_bytes());
    assert!((400..500).contains(&code), "external entity: {code} {body}");
    assert!(!body.contains("root:"), "no file content leaks");
    assert_up(&d, "an external entity");

    // Deep nesting.
    let depth = 100_000;
    let mut deep = String::from("<?xml version=\"1.0\"?><methodCall><methodName>supervisor.getState</methodName><params><param>");
    deep.push_str(&"<value><array><data>".repeat(depth));
    deep.push_str(&"</data></array></value>".repeat(depth));
    deep.push_str("</param></params></methodCall>");
    let (code, _, body) = post_unix(&sock, deep.as_bytes());
    assert_up(&d, "deeply nested XML (before checking the status)");
    assert!(
        (400..500).contains(&code),
        "deep nesting gets an HTTP error, got {code}: {body:.200}"
    );
    assert_up(&d, "deeply nested XML");

    // Oversized body (> 8 MiB) → 413.
    let mut big = call_body("supervisor.getState", "<param><value><string>");
    big.push_str(&"x".repeat(9 * 1024 * 1024));
    big.push_str("</string></value></param></params></methodCall>");
    let (code, _, _) = post_unix(&sock, big.as_bytes());
    assert_eq!(code, 413, "a body over 8 MiB");
    assert_up(&d, "an oversized body");
    // A Content-Length over the limit is refused without waiting for the body.
    let head = "POST /RPC2 HTTP/1.0\r\nHost: localhost\r\nContent-Type: text/xml\r\nContent-Length: 1000000000\r\n\r\n";
    let (code, _, _) = http_unix_raw(&sock, head, b"<methodCall>");
    assert_eq!(code, 413, "a huge Content-Length");
    assert_up(&d, "a huge Content-Length");

    // Unknown methods and wrong types → faults.
    for m in [
        "supervisor.nosuch",
        "nosuch.getState",
        "supervisor._private",
        "a.b.c",
    ] {
        assert_eq!(
            d.rpc(m, vec![]).unwrap_err(),
            Fault {
                code: 1,
                string: "UNKNOWN_METHOD".into()
            },
            "{m}"
        );
    }
    for (m, params) in [
        ("supervisor.getProcessInfo", vec![json!(5)]),
        ("supervisor.startProcess", vec![json!(["sleeper"])]),
        ("supervisor.readLog", vec![json!("a"), json!("b")]),
        ("supervisor.getState", vec![json!(1)]),
    ] {
        let f = d.rpc(m, params.clone()).unwrap_err();
        assert_eq!(f.code, 2, "{m}({params:?}): {f:?}");
        assert!(f.string.starts_with("INCORRECT_PARAMETERS"), "{f:?}");
    }
    assert_up(&d, "unknown methods and wrong types");
    assert_eq!(d.state("sleeper"), "RUNNING");
}

fn header_with_socket(sock: &str) -> String {
    format!(
        "[unix_http_server]\nfile={sock}\n\n[supervisord]\nlogfile={{dir}}/supervisord.log\npidfile={{dir}}/supervisord.pid\nchildlogdir={{logdir}}\n\n[rpcinterface:supervisor]\nsupervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface\n{SLEEPER}"
    )
}

#[test]
fn a_socket_in_a_missing_directory_is_a_clear_startup_error() {
    let conf = Conf::raw(&header_with_socket("{dir}/missing/dir/s.sock"));
    let path = conf.dir.join("missing/dir/s.sock").display().to_string();
    let (out, _conf) = Daemon::run_to_exit(target(), conf, secs(10.0));
    assert_ne!(out.code, 0, "{out}");
    assert!(
        out.stderr.contains(&path) || out.stdout.contains(&path),
        "the message names the socket path {path}:\n{out}"
    );
}

#[test]
fn a_socket_in_use_by_a_live_daemon_is_a_clear_startup_error() {
    let first = Daemon::start(Conf::new(SLEEPER));
    first.wait_state("sleeper", "RUNNING", secs(10.0));
    let pid = first.process_pid("sleeper");
    let sock = first.conf.sock.display().to_string();
    let conf = Conf::raw(&header_with_socket(&sock));
    let (out, _conf) = Daemon::run_to_exit(target(), conf, secs(10.0));
    assert_ne!(out.code, 0, "{out}");
    // supervisord's message (Steward's too): "Another program is already listening on a
    // port that one of our HTTP servers is configured to use. …"
    let msg = format!("{}{}", out.stdout, out.stderr);
    assert!(
        msg.contains(&sock) || msg.contains("already listening"),
        "a clear message about the socket {sock}:\n{out}"
    );
    // The first daemon is unaffected: its socket still answers, its process still runs.
    assert_up(&first, "a second daemon tried its socket");
    assert!(first.conf.sock.exists());
    assert_eq!(first.process_pid("sleeper"), pid);
    assert_eq!(first.state("sleeper"), "RUNNING");
}

#[test]
fn a_stale_socket_of_a_dead_daemon_is_replaced() {
    let conf = Conf::new(SLEEPER);
    // A socket file with nothing listening (its listener is closed).
    drop(UnixListener::bind(&conf.sock).unwrap());
    assert!(conf.sock.exists());
    assert!(UnixStream::connect(&conf.sock).is_err());
    let d = Daemon::start(conf);
    d.wait_state("sleeper", "RUNNING", secs(10.0));
    assert_up(&d, "replacing a stale socket");
}

#[test]
fn a_client_that_half_closes_after_its_request_still_gets_the_answer() {
    use std::io::{Read, Write};
    let d = Daemon::start_steward(Conf::new(
        "\n[program:p]\ncommand=sleep 1000\nstartsecs=0\n",
    ));
    let body = call_body("supervisor.getState", "");
    for _ in 0..5 {
        let mut s = UnixStream::connect(&d.conf.sock).expect("connect");
        s.set_read_timeout(Some(secs(10.0))).unwrap();
        let head = format!(
            "POST /RPC2 HTTP/1.0\r\nContent-Type: text/xml\r\nContent-Length: {}\r\n\r\n",
            body.len()
        );
        s.write_all(head.as_bytes()).unwrap();
        s.write_all(body.as_bytes()).unwrap();
        s.shutdown(std::net::Shutdown::Write).unwrap();
        let mut raw = Vec::new();
        s.read_to_end(&mut raw).unwrap();
        let (status, _, text) = split_response(&raw);
        assert_eq!(status, 200, "{text}");
        assert!(text.contains("RUNNING"), "{text}");
    }
}

/// `steward ctl -h | grep -q x` and `steward check | head -1`: when the reader has gone,
/// a printing command ends by SIGPIPE like a C tool, without a panic message. (The
/// daemon keeps SIGPIPE ignored: hostile_clients.rs hangs up on it all the time.)
#[test]
fn a_command_whose_reader_has_gone_ends_quietly() {
    use std::os::fd::FromRawFd;
    use std::os::unix::process::ExitStatusExt;
    for args in [&["ctl", "-h"][..], &["--help"][..]] {
        let mut fds = [0; 2];
        // SAFETY: pipe(2) into a two-element array; both ends are owned below.
        assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
        // SAFETY: fresh descriptors from pipe(2), each owned once.
        let (read_end, write_end) = unsafe {
            (
                std::fs::File::from_raw_fd(fds[0]),
                std::fs::File::from_raw_fd(fds[1]),
            )
        };
        drop(read_end);
        let out = std::process::Command::new(steward_bin())
            .args(args)
            .stdout(write_end)
            .stderr(std::process::Stdio::piped())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        assert_eq!(
            out.status.signal(),
            Some(libc::SIGPIPE),
            "{args:?}: {:?}",
            out.status
        );
    }
}
