//! End-to-end tests of steward-server: real listeners (temp UNIX sockets, 127.0.0.1:0), a
//! stub Backend, raw-socket clients reproducing supervisorctl's bytes, and the real Python
//! clients (`xmlrpc.client`, `supervisor.http_client`) when a Python is available.

use std::collections::HashMap;
use std::future::Future;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine;
use steward_config::model::{InetHttpServer, UnixHttpServer};
use steward_server::{Backend, ServerOptions, Servers, StatusRow};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpStream, UnixStream};
use tokio::time::{timeout, Instant};

const DEADLINE: Duration = Duration::from_secs(10);

#[derive(Default)]
struct TestBackend {
    rpc_calls: AtomicUsize,
    logs: Mutex<HashMap<(String, bool), PathBuf>>,
    main_log: Mutex<Option<PathBuf>>,
    rows: Mutex<Vec<StatusRow>>,
}

impl Backend for TestBackend {
    fn rpc(&self, body: bytes::Bytes) -> Pin<Box<dyn Future<Output = Result<String, u16>> + Send>> {
        self.rpc_calls.fetch_add(1, Ordering::SeqCst);
        Box::pin(async move {
            let text = String::from_utf8_lossy(&body).into_owned();
            if text.contains("badxml") {
                return Err(400);
            }
            if text.contains("slowCall") {
                tokio::time::sleep(Duration::from_millis(1500)).await;
            }
            Ok(format!(
                "<?xml version='1.0'?>\n<methodResponse>\n<params>\n<param>\n\
                 <value><string>got {} bytes</string></value>\n</param>\n</params>\n\
                 </methodResponse>\n",
                body.len()
            ))
        })
    }
    fn process_log_path(&self, namespec: &str, stderr: bool) -> Option<PathBuf> {
        self.logs
            .lock()
            .unwrap()
            .get(&(namespec.to_string(), stderr))
            .cloned()
    }
    fn main_log_path(&self) -> Option<PathBuf> {
        self.main_log.lock().unwrap().clone()
    }
    fn status_rows(&self) -> Vec<StatusRow> {
        self.rows.lock().unwrap().clone()
    }
    fn version(&self) -> String {
        "4.3.0-test".into()
    }
}

fn unix_cfg(path: &Path, auth: Option<(&str, &str)>) -> UnixHttpServer {
    UnixHttpServer {
        section: "unix_http_server".into(),
        file: path.to_path_buf(),
        chmod: 0o700,
        chown: None,
        username: auth.map(|a| a.0.to_string()),
        password: auth.map(|a| a.1.to_string()),
    }
}

fn inet_cfg(auth: Option<(&str, &str)>) -> InetHttpServer {
    InetHttpServer {
        section: "inet_http_server".into(),
        host: "127.0.0.1".into(),
        port: 0,
        username: auth.map(|a| a.0.to_string()),
        password: auth.map(|a| a.1.to_string()),
        base_path: None,
    }
}

fn test_options() -> ServerOptions {
    ServerOptions {
        header_read_timeout: Duration::from_millis(800),
        idle_timeout: Duration::from_secs(20),
        max_body_size: 8 * 1024 * 1024,
        ..ServerOptions::default()
    }
}

async fn start_tcp(backend: Arc<TestBackend>, auth: Option<(&str, &str)>) -> (Servers, String) {
    let s = steward_server::start_with(&[], &[inet_cfg(auth)], backend, test_options())
        .await
        .unwrap();
    let addr = s.local_addrs()[0].to_string();
    (s, addr)
}

fn basic(user: &str, pass: &str) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}"))
    )
}

/// Reads into `buf` until `pred` holds; false on EOF, error or deadline.
async fn read_until<S: AsyncRead + Unpin>(
    s: &mut S,
    buf: &mut Vec<u8>,
    pred: impl Fn(&[u8]) -> bool,
) -> bool {
    let end = Instant::now() + DEADLINE;
    let mut chunk = [0u8; 8192];
    while !pred(buf) {
        match tokio::time::timeout_at(end, s.read(&mut chunk)).await {
            Ok(Ok(0)) | Ok(Err(_)) | Err(_) => return pred(buf),
            Ok(Ok(n)) => buf.extend_from_slice(&chunk[..n]),
        }
    }
    true
}

/// Sends raw bytes, reads to EOF (or deadline).
async fn exchange<S: AsyncRead + AsyncWrite + Unpin>(s: &mut S, req: &[u8]) -> String {
    s.write_all(req).await.unwrap();
    let mut buf = Vec::new();
    read_until(s, &mut buf, |_| false).await;
    String::from_utf8_lossy(&buf).into_owned()
}

async fn tcp_exchange(addr: &str, req: &str) -> String {
    let mut s = TcpStream::connect(addr).await.unwrap();
    exchange(&mut s, req.as_bytes()).await
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

/// Decodes the chunked body that follows the response head (tolerates an incomplete tail).
fn dechunk(raw: &[u8]) -> Vec<u8> {
    let start = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|p| p + 4)
        .unwrap_or(raw.len());
    let mut rest = &raw[start..];
    let mut out = Vec::new();
    while let Some(nl) = rest.windows(2).position(|w| w == b"\r\n") {
        let Ok(size) = usize::from_str_radix(std::str::from_utf8(&rest[..nl]).unwrap_or("x"), 16)
        else {
            break;
        };
        if size == 0 || rest.len() < nl + 2 + size {
            out.extend_from_slice(&rest[nl + 2..(nl + 2 + size).min(rest.len())]);
            break;
        }
        out.extend_from_slice(&rest[nl + 2..nl + 2 + size]);
        rest = &rest[(nl + 4 + size).min(rest.len())..];
    }
    out
}

fn python() -> Option<PathBuf> {
    let venv = PathBuf::from("/tmp/venv-sup/bin/python");
    if venv.exists() {
        return Some(venv);
    }
    std::process::Command::new("python3")
        .arg("-V")
        .output()
        .ok()
        .map(|_| "python3".into())
}

fn open_fds_to(path: &Path) -> usize {
    let target = std::fs::canonicalize(path).unwrap_or(path.to_path_buf());
    std::fs::read_dir("/proc/self/fd")
        .map(|d| {
            d.filter_map(|e| e.ok())
                .filter(|e| {
                    std::fs::read_link(e.path())
                        .map(|l| l == target)
                        .unwrap_or(false)
                })
                .count()
        })
        .unwrap_or(0)
}

async fn wait_for(mut cond: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + DEADLINE;
    while Instant::now() < end {
        if cond() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    cond()
}

/// supervisorctl's `tail -f` request as http_client.py sends it over unix://: empty Host,
/// no Authorization when the password is empty, and the extra CRLF.
fn supervisorctl_tail_request(path: &str, auth: Option<&str>) -> Vec<u8> {
    let mut r = format!(
        "GET {path} HTTP/1.1\r\nHost: \r\nAccept-Encoding: chunked\r\nAccept: */*\r\n\
         User-agent: Supervisor HTTP Client\r\n"
    );
    if let Some(a) = auth {
        r.push_str(&format!("Authorization: {a}\r\n"));
    }
    r.push_str("\r\n\r\n");
    r.into_bytes()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn supervisorctl_tail_bytes_follow_append_truncate_rotate() {
    let dir = tempfile::tempdir().unwrap();
    let sock = dir.path().join("s.sock");
    let log = dir.path().join("foo.log");
    let initial: Vec<u8> = (0..3000u32).map(|i| b'a' + (i % 26) as u8).collect();
    std::fs::write(&log, &initial).unwrap();
    let backend = Arc::new(TestBackend::default());
    backend
        .logs
        .lock()
        .unwrap()
        .insert(("grp:foo".into(), false), log.clone());
    let servers = steward_server::start_with(
        &[unix_cfg(&sock, Some(("user", "pw")))],
        &[],
        backend.clone(),
        test_options(),
    )
    .await
    .unwrap();

    let mut s = UnixStream::connect(&sock).await.unwrap();
    s.write_all(&supervisorctl_tail_request(
        "/logtail/grp%3Afoo",
        Some(&basic("user", "pw")),
    ))
    .await
    .unwrap();
    let mut buf = Vec::new();
    let last = initial[initial.len() - 1024..].to_vec();
    assert!(
        read_until(&mut s, &mut buf, |b| dechunk(b) == last).await,
        "{:?}",
        String::from_utf8_lossy(&buf)
    );
    let head = String::from_utf8_lossy(&buf).to_ascii_lowercase();
    assert!(head.starts_with("http/1.1 200"), "{head}");
    assert!(head.contains("transfer-encoding: chunked"));
    assert!(!head.contains("content-length"));
    assert!(head.contains("content-type: text/plain;charset=utf-8"));
    assert!(head.contains("x-accel-buffering: no"));
    assert!(head.contains("last-modified: "));

    // Growth.
    std::fs::OpenOptions::new()
        .append(true)
        .open(&log)
        .unwrap()
        .write_all(b"NEWLINE\n")
        .unwrap();
    let mut want = last.clone();
    want.extend_from_slice(b"NEWLINE\n");
    assert!(read_until(&mut s, &mut buf, |b| dechunk(b) == want).await);

    // Truncation.
    std::fs::write(&log, b"").unwrap();
    want.extend_from_slice(b"==> File truncated <==\n");
    assert!(read_until(&mut s, &mut buf, |b| dechunk(b) == want).await);
    std::fs::OpenOptions::new()
        .append(true)
        .open(&log)
        .unwrap()
        .write_all(b"after\n")
        .unwrap();
    want.extend_from_slice(b"after\n");
    assert!(read_until(&mut s, &mut buf, |b| dechunk(b) == want).await);

    // Rotation: the path now names a new file.
    std::fs::rename(&log, dir.path().join("foo.log.1")).unwrap();
    std::fs::write(&log, b"rotated\n").unwrap();
    want.extend_from_slice(b"rotated\n");
    assert!(
        read_until(&mut s, &mut buf, |b| dechunk(b) == want).await,
        "{:?}",
        String::from_utf8_lossy(&dechunk(&buf))
    );

    // The client goes away → the follower stops (no descriptor left on the log).
    assert_eq!(open_fds_to(&log), 1);
    drop(s);
    assert!(
        wait_for(|| open_fds_to(&log) == 0).await,
        "tail stream still open"
    );

    servers.shutdown().await;
    assert!(!sock.exists(), "socket not unlinked on shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn logtail_routes_and_errors() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("err.log");
    let main = dir.path().join("main.log");
    std::fs::write(&log, b"small stderr\n").unwrap();
    std::fs::write(&main, b"main log line\n").unwrap();
    let backend = Arc::new(TestBackend::default());
    backend
        .logs
        .lock()
        .unwrap()
        .insert(("foo".into(), true), log.clone());
    backend
        .logs
        .lock()
        .unwrap()
        .insert(("gone".into(), false), dir.path().join("missing.log"));
    *backend.main_log.lock().unwrap() = Some(main.clone());
    let (servers, addr) = start_tcp(backend.clone(), None).await;

    let mut s = TcpStream::connect(&addr).await.unwrap();
    s.write_all(b"GET /logtail/foo/stderr HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut buf = Vec::new();
    assert!(read_until(&mut s, &mut buf, |b| dechunk(b) == b"small stderr\n").await);
    drop(s);

    let mut s = TcpStream::connect(&addr).await.unwrap();
    s.write_all(b"GET /mainlogtail HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut buf = Vec::new();
    assert!(read_until(&mut s, &mut buf, |b| dechunk(b) == b"main log line\n").await);
    drop(s);

    for (req, status) in [
        ("GET /logtail/foo HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", "404"),
        ("GET /logtail/nope/stderr HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", "404"),
        ("GET /logtail/foo/bogus HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", "404"),
        ("GET /logtail/gone HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", "404"),
        ("POST /logtail/foo/stderr HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", "400"),
        ("POST /mainlogtail HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", "400"),
        ("GET /nothing.html HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", "404"),
    ] {
        let resp = tcp_exchange(&addr, req).await;
        assert!(resp.starts_with(&format!("HTTP/1.1 {status}")), "{req:?} → {resp}");
    }
    *backend.main_log.lock().unwrap() = None;
    let resp = tcp_exchange(
        &addr,
        "GET /mainlogtail HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert!(resp.starts_with("HTTP/1.1 404"), "{resp}");
    servers.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn real_supervisor_http_client_tails_over_unix_socket() {
    let Some(py) = python() else { return };
    let check = std::process::Command::new(&py)
        .args(["-c", "import supervisor.http_client"])
        .output();
    if !matches!(check, Ok(ref o) if o.status.success()) {
        eprintln!("supervisor not importable; skipping");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let sock = dir.path().join("s.sock");
    let log = dir.path().join("foo.log");
    std::fs::write(&log, b"hello from the log\n").unwrap();
    let backend = Arc::new(TestBackend::default());
    backend
        .logs
        .lock()
        .unwrap()
        .insert(("foo".into(), false), log.clone());
    let servers = steward_server::start_with(
        &[unix_cfg(
            &sock,
            Some(("user", "{SHA}82ab876d1387bfafe46cc1c8a2ef074eae50cb1d")),
        )],
        &[],
        backend.clone(),
        test_options(),
    )
    .await
    .unwrap();
    let script = "import sys\n\
        from supervisor import http_client\n\
        from supervisor.medusa import asyncore_25 as asyncore\n\
        h = http_client.HTTPHandler(http_client.Listener(), 'user', 'thepassword')\n\
        h.get('unix://' + sys.argv[1], '/logtail/foo')\n\
        asyncore.loop()\n";
    let mut child = tokio::process::Command::new(&py)
        .args(["-u", "-c", script, sock.to_str().unwrap()])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut out = child.stdout.take().unwrap();
    let mut buf = Vec::new();
    assert!(
        read_until(&mut out, &mut buf, |b| contains(b, b"hello from the log\n")).await,
        "{:?}",
        String::from_utf8_lossy(&buf)
    );
    std::fs::OpenOptions::new()
        .append(true)
        .open(&log)
        .unwrap()
        .write_all(b"second line\n")
        .unwrap();
    assert!(read_until(&mut out, &mut buf, |b| contains(b, b"second line\n")).await);
    child.kill().await.unwrap();
    assert!(
        wait_for(|| open_fds_to(&log) == 0).await,
        "tail stream still open after client died"
    );
    servers.shutdown().await;
}

async fn python_xmlrpc(url: &str) -> (bool, String) {
    let py = python().expect("python needed");
    let script = "import sys, xmlrpc.client\n\
        p = xmlrpc.client.ServerProxy(sys.argv[1])\n\
        try:\n    print(p.supervisor.getState()); print(p.system.listMethods())\n\
        except xmlrpc.client.ProtocolError as e:\n    print('PROTOCOL', e.errcode, e.errmsg); sys.exit(3)\n";
    let out = timeout(
        DEADLINE,
        tokio::process::Command::new(py)
            .args(["-c", script, url])
            .output(),
    )
    .await
    .unwrap()
    .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn python_xmlrpc_client_over_tcp_with_auth() {
    if python().is_none() {
        return;
    }
    let backend = Arc::new(TestBackend::default());
    let (servers, addr) = start_tcp(backend.clone(), Some(("user", "s3cret"))).await;
    let (ok, out) = python_xmlrpc(&format!("http://user:s3cret@{addr}/RPC2")).await;
    assert!(ok, "{out}");
    assert!(out.contains("got "), "{out}");
    assert_eq!(
        backend.rpc_calls.load(Ordering::SeqCst),
        2,
        "two calls on one keep-alive connection"
    );

    let (ok, out) = python_xmlrpc(&format!("http://user:wrong@{addr}/RPC2")).await;
    assert!(!ok);
    assert!(out.contains("PROTOCOL 401"), "{out}");
    assert_eq!(
        backend.rpc_calls.load(Ordering::SeqCst),
        2,
        "rpc must not run without auth"
    );
    servers.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sha_password_and_401_details() {
    let backend = Arc::new(TestBackend::default());
    let (servers, addr) = start_tcp(
        backend.clone(),
        Some(("user", "{SHA}82ab876d1387bfafe46cc1c8a2ef074eae50cb1d")),
    )
    .await;
    let body = "<?xml version='1.0'?><methodCall><methodName>supervisor.getState</methodName></methodCall>";
    let req = |auth: &str| {
        format!(
            "POST /RPC2 HTTP/1.1\r\nHost: x\r\nContent-Type: text/xml\r\n{auth}Content-Length: {}\r\n\r\n{body}",
            body.len()
        )
    };
    for bad in [
        "".to_string(),
        format!("Authorization: {}\r\n", basic("user", "nope")),
        format!(
            "Authorization: {}\r\n",
            basic("user", "{SHA}82ab876d1387bfafe46cc1c8a2ef074eae50cb1d")
        ),
    ] {
        let resp = tcp_exchange(&addr, &req(&bad)).await;
        assert!(resp.starts_with("HTTP/1.1 401"), "{resp}");
        let lower = resp.to_ascii_lowercase();
        assert!(
            lower.contains("www-authenticate: basic realm=\"default\""),
            "{resp}"
        );
        assert!(lower.contains("connection: close"), "{resp}");
    }
    // Every route is protected.
    for path in ["/", "/ok.html", "/logtail/foo", "/mainlogtail", "/whatever"] {
        let resp = tcp_exchange(&addr, &format!("GET {path} HTTP/1.1\r\nHost: x\r\n\r\n")).await;
        assert!(resp.starts_with("HTTP/1.1 401"), "{path}: {resp}");
    }
    assert_eq!(backend.rpc_calls.load(Ordering::SeqCst), 0);

    let good = format!(
        "Authorization: {}\r\nConnection: close\r\n",
        basic("user", "thepassword")
    );
    let resp = tcp_exchange(&addr, &req(&good)).await;
    assert!(resp.starts_with("HTTP/1.1 200"), "{resp}");
    assert!(resp.to_ascii_lowercase().contains("content-type: text/xml"));
    assert!(resp.contains(&format!("got {} bytes", body.len())));
    assert_eq!(backend.rpc_calls.load(Ordering::SeqCst), 1);
    servers.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn rpc_transport_errors() {
    let backend = Arc::new(TestBackend::default());
    let (servers, addr) = start_tcp(backend.clone(), None).await;
    let resp = tcp_exchange(
        &addr,
        "GET /RPC2 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert!(resp.starts_with("HTTP/1.1 400"), "{resp}");
    let resp = tcp_exchange(&addr, "POST /RPC2 HTTP/1.1\r\nHost: x\r\n\r\n").await;
    assert!(resp.starts_with("HTTP/1.1 411"), "{resp}");
    let resp = tcp_exchange(
        &addr,
        "POST /RPC2 HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
    )
    .await;
    assert!(resp.starts_with("HTTP/1.1 411"), "{resp}");
    let resp = tcp_exchange(
        &addr,
        "POST /RPC2 HTTP/1.1\r\nHost: x\r\nContent-Length: 9437184\r\n\r\n<methodCall>",
    )
    .await;
    assert!(resp.starts_with("HTTP/1.1 413"), "{resp}");
    let resp = tcp_exchange(
        &addr,
        "POST /RPC2 HTTP/1.1\r\nHost: x\r\nContent-Length: 6\r\nConnection: close\r\n\r\nbadxml",
    )
    .await;
    assert!(resp.starts_with("HTTP/1.1 400"), "{resp}");
    // Any URI starting with /RPC2 is the RPC endpoint.
    let resp = tcp_exchange(
        &addr,
        "POST /RPC2/x HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok",
    )
    .await;
    assert!(
        resp.starts_with("HTTP/1.1 200") && resp.contains("got 2 bytes"),
        "{resp}"
    );
    assert_eq!(backend.rpc_calls.load(Ordering::SeqCst), 2);
    servers.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn slow_header_client_does_not_block_others_and_times_out() {
    let backend = Arc::new(TestBackend::default());
    let (servers, addr) = start_tcp(backend.clone(), None).await;
    let mut slow = TcpStream::connect(&addr).await.unwrap();
    let started = Instant::now();
    // Dribble a header byte by byte while other clients are served.
    let dribble =
        b"GET /ok.html HTTP/1.1\r\nHost: x\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    let mut closed = false;
    for (i, b) in dribble.iter().enumerate() {
        if slow.write_all(&[*b]).await.is_err() {
            closed = true;
            break;
        }
        if i % 5 == 0 {
            let t = Instant::now();
            let resp = tcp_exchange(
                &addr,
                "GET /ok.html HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
            )
            .await;
            assert!(
                resp.starts_with("HTTP/1.1 200") && resp.ends_with("OK"),
                "{resp}"
            );
            assert!(t.elapsed() < Duration::from_secs(2));
        }
        tokio::time::sleep(Duration::from_millis(40)).await;
    }
    // The header read timeout (0.8 s in these tests) closes the slow connection.
    if !closed {
        let mut buf = Vec::new();
        read_until(&mut slow, &mut buf, |_| false).await;
    }
    assert!(
        started.elapsed() < Duration::from_secs(6),
        "slow client was never cut off"
    );

    // A client that connects and says nothing is cut off by the same timeout.
    let mut silent = TcpStream::connect(&addr).await.unwrap();
    let t = Instant::now();
    let mut buf = Vec::new();
    read_until(&mut silent, &mut buf, |_| false).await;
    assert!(t.elapsed() < Duration::from_secs(5) && buf.is_empty());
    servers.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn keep_alive_idle_and_long_poll_survive_header_timeout() {
    let backend = Arc::new(TestBackend::default());
    let (servers, addr) = start_tcp(backend.clone(), None).await;
    let mut s = TcpStream::connect(&addr).await.unwrap();
    let slow = "slowCall";
    let req = format!(
        "POST /RPC2 HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n{slow}",
        slow.len()
    );
    s.write_all(req.as_bytes()).await.unwrap();
    let mut buf = Vec::new();
    // Takes 1.5 s, longer than the 0.8 s header timeout.
    assert!(read_until(&mut s, &mut buf, |b| contains(b, b"</methodResponse>\n")).await);
    // Idle longer than the header timeout, then reuse the same connection.
    tokio::time::sleep(Duration::from_millis(1200)).await;
    buf.clear();
    s.write_all(b"GET /ok.html HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    assert!(
        read_until(&mut s, &mut buf, |b| b.ends_with(b"OK")).await,
        "{:?}",
        String::from_utf8_lossy(&buf)
    );
    servers.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn status_page_and_ok() {
    let backend = Arc::new(TestBackend::default());
    let dir = tempfile::tempdir().unwrap();
    let sock = dir.path().join("s.sock");
    let servers = steward_server::start_with(
        &[unix_cfg(&sock, None)],
        &[],
        backend.clone(),
        test_options(),
    )
    .await
    .unwrap();
    let get = |path: &'static str| {
        let sock = sock.clone();
        async move {
            let mut s = UnixStream::connect(&sock).await.unwrap();
            exchange(&mut s, format!("GET {path} HTTP/1.0\r\n\r\n").as_bytes()).await
        }
    };
    let resp = get("/").await;
    assert!(resp.starts_with("HTTP/1.0 200"), "{resp}");
    assert!(resp.contains("No programs to manage") && resp.contains("4.3.0-test"));
    backend.rows.lock().unwrap().push(StatusRow {
        namespec: "web:web_00".into(),
        statename: "RUNNING".into(),
        description: "pid 42, uptime 0:01:00".into(),
    });
    let resp = get("/index.html").await;
    assert!(
        resp.contains("web:web_00")
            && resp.contains(">running<")
            && resp.contains("pid 42, uptime 0:01:00"),
        "{resp}"
    );
    let resp = get("/ok.html").await;
    assert!(
        resp.starts_with("HTTP/1.0 200") && resp.ends_with("OK"),
        "{resp}"
    );
    let mode =
        std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&sock).unwrap().permissions());
    assert_eq!(mode & 0o777, 0o700);
    servers.shutdown().await;
    assert!(!sock.exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn unix_socket_binding_rules() {
    let dir = tempfile::tempdir().unwrap();
    let sock = dir.path().join("s.sock");
    let backend = Arc::new(TestBackend::default());

    // A stale socket (file left behind, nobody listening) is replaced.
    drop(std::os::unix::net::UnixListener::bind(&sock).unwrap());
    assert!(sock.exists());
    let mut cfg = unix_cfg(&sock, None);
    cfg.chmod = 0o770;
    let bound = steward_server::bind(&[cfg.clone()], &[], test_options()).unwrap();
    assert!(bound
        .notices()
        .iter()
        .any(|n| n.message.contains("Unlinking stale socket")));
    let servers = bound.serve(backend.clone()).unwrap();
    let mode =
        std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&sock).unwrap().permissions());
    assert_eq!(mode & 0o777, 0o770);
    // No `<file>.<pid>` left behind.
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);

    // A live socket → the supervisord error, and the live server keeps its socket.
    let err = match steward_server::bind(&[cfg.clone()], &[], test_options()) {
        Ok(_) => panic!("bound over a live socket"),
        Err(e) => e.to_string(),
    };
    assert_eq!(
        err,
        "Another program is already listening on a port that one of our HTTP servers is \
         configured to use.  Shut this program down first before starting supervisord."
    );
    let mut s = UnixStream::connect(&sock).await.unwrap();
    let resp = exchange(&mut s, b"GET /ok.html HTTP/1.0\r\n\r\n").await;
    assert!(resp.ends_with("OK"));

    // A socket in a missing directory.
    let missing = dir.path().join("no/such/dir/s.sock");
    let err = match steward_server::bind(&[unix_cfg(&missing, None)], &[], test_options()) {
        Ok(_) => panic!("bound in a missing directory"),
        Err(e) => e.to_string(),
    };
    assert!(
        err.contains(missing.to_str().unwrap()) && err.contains("ENOENT"),
        "{err}"
    );

    // A regular file at the path is not deleted.
    let file = dir.path().join("plain");
    std::fs::write(&file, b"x").unwrap();
    assert!(steward_server::bind(&[unix_cfg(&file, None)], &[], test_options()).is_err());
    assert_eq!(std::fs::read(&file).unwrap(), b"x");

    servers.shutdown().await;
    assert!(!sock.exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn tcp_port_in_use_and_all_interfaces() {
    let backend = Arc::new(TestBackend::default());
    let (servers, addr) = start_tcp(backend.clone(), None).await;
    let port: u16 = addr.rsplit(':').next().unwrap().parse().unwrap();
    let mut cfg = inet_cfg(None);
    cfg.port = port;
    let err = steward_server::bind(&[], &[cfg], test_options())
        .err()
        .expect("port in use");
    assert!(
        err.to_string()
            .starts_with("Another program is already listening"),
        "{err}"
    );
    servers.shutdown().await;

    let mut all = inet_cfg(None);
    all.host = "*".into();
    let bound = steward_server::bind(&[], &[all], test_options()).unwrap();
    assert!(bound.local_addrs()[0].ip().is_unspecified());
    assert!(bound.notices().iter().any(|n| n.message
        == "Server 'inet_http_server' running without any HTTP authentication checking"));
    let servers = bound.serve(backend).unwrap();
    let port = servers.local_addrs()[0].port();
    let resp = tcp_exchange(
        &format!("127.0.0.1:{port}"),
        "GET /ok.html HTTP/1.0\r\n\r\n",
    )
    .await;
    assert!(resp.ends_with("OK"), "{resp}");
    servers.shutdown().await;

    let mut v6 = inet_cfg(None);
    v6.host = "[::1]".into();
    if let Ok(bound) = steward_server::bind(&[], &[v6], test_options()) {
        assert!(bound.local_addrs()[0].is_ipv6());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn unix_socket_chown() {
    let dir = tempfile::tempdir().unwrap();
    let sock = dir.path().join("s.sock");
    let me = nix::unistd::User::from_uid(nix::unistd::geteuid())
        .unwrap()
        .unwrap();
    let mut cfg = unix_cfg(&sock, None);
    cfg.chown = Some(me.name.clone());
    let bound = steward_server::bind(&[cfg.clone()], &[], test_options()).unwrap();
    let meta = std::fs::metadata(&sock).unwrap();
    assert_eq!(std::os::unix::fs::MetadataExt::uid(&meta), me.uid.as_raw());
    assert_eq!(std::os::unix::fs::MetadataExt::gid(&meta), me.gid.as_raw());
    drop(bound);
    assert!(!sock.exists(), "dropping BoundServers unlinks its sockets");

    cfg.chown = Some("no-such-user-steward".into());
    let err = steward_server::bind(&[cfg], &[], test_options())
        .err()
        .expect("unknown user");
    assert!(err.to_string().contains("no-such-user-steward"), "{err}");
    assert!(!sock.exists());
}
