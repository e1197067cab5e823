//! XML-RPC client for supervisord-compatible servers (used by `steward ctl`).
//!
//! Speaks HTTP/1.1 (hyper) over TCP (`http://host[:port]`), TLS (`https://host[:port]`,
//! rustls with the system's roots or a given CA file) or a UNIX socket
//! (`unix:///path.sock`), keeps one persistent connection like supervisorctl's
//! `SupervisorTransport`, posts to `/RPC2` with `Content-Type: text/xml`, adds HTTP Basic
//! auth when a username and password are set, and maps failures onto
//! [`ClientError`] so callers can reproduce supervisorctl's messages and exit codes.
//! [`Client`] blocks (its own current-thread runtime); [`AsyncClient`] is the same
//! exchange for callers inside a runtime (the node fan-out of crates/nodes), with
//! [`AsyncClient::request`] for plain HTTP calls such as Steward's JSON API.
//! [`stream_get`] follows the chunked `/logtail/...` and `/mainlogtail` endpoints.

use crate::value::{Fault, Value};
use crate::xml;
use base64::Engine;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::{self, SendRequest};
use hyper::Request;
use hyper_util::rt::TokioIo;
use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

/// Where the server listens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    Tcp {
        host: String,
        port: u16,
    },
    /// `https://`: TLS over TCP, the certificate checked for `host`. `ca` is a PEM file
    /// of the CA(s) to trust instead of the system's roots.
    Tls {
        host: String,
        port: u16,
        ca: Option<PathBuf>,
    },
    Unix(PathBuf),
}

impl Target {
    /// Parses `http://host[:port][/...]` or `unix:///path`, as supervisorctl does:
    /// anything else (`https://` included) is refused with its wording.
    pub fn parse(url: &str) -> Result<Target, ClientError> {
        if url.starts_with("https://") {
            return Err(ClientError::BadUrl(format!(
                "Unknown protocol for serverurl {url}"
            )));
        }
        Target::parse_with_tls(url)
    }

    /// Like [`Target::parse`], and `https://host[:port][/...]` too (Steward's nodes).
    pub fn parse_with_tls(url: &str) -> Result<Target, ClientError> {
        if let Some(path) = url.strip_prefix("unix://") {
            return Ok(Target::Unix(PathBuf::from(path)));
        }
        let (rest, tls) = match (url.strip_prefix("http://"), url.strip_prefix("https://")) {
            (Some(rest), _) => (Some(rest), false),
            (None, Some(rest)) => (Some(rest), true),
            (None, None) => (None, false),
        };
        if let Some(rest) = rest {
            let netloc = rest.split(['/', '?', '#']).next().unwrap_or("");
            // drop userinfo, like urlparse's .hostname/.port
            let netloc = netloc.rsplit('@').next().unwrap_or(netloc);
            let (host, port) = if let Some(h) = netloc.strip_prefix('[') {
                // [v6]:port
                let (h, after) = h.split_once(']').unwrap_or((h, ""));
                let port = after.strip_prefix(':').unwrap_or("");
                (h.to_string(), port)
            } else {
                match netloc.rsplit_once(':') {
                    Some((h, p)) => (h.to_string(), p),
                    None => (netloc.to_string(), ""),
                }
            };
            let port = if port.is_empty() {
                if tls {
                    443
                } else {
                    80
                }
            } else {
                port.parse::<u16>().map_err(|_| {
                    ClientError::BadUrl(format!(
                        "Port could not be cast to integer value as {port:?}"
                    ))
                })?
            };
            let host = host.to_lowercase();
            return Ok(if tls {
                Target::Tls {
                    host,
                    port,
                    ca: None,
                }
            } else {
                Target::Tcp { host, port }
            });
        }
        Err(ClientError::BadUrl(format!(
            "Unknown protocol for serverurl {url}"
        )))
    }

    /// For `https://`: trust the CA(s) in this PEM file instead of the system's roots.
    /// Other targets are returned unchanged.
    pub fn with_ca(self, ca_file: Option<PathBuf>) -> Target {
        match self {
            Target::Tls { host, port, .. } => Target::Tls {
                host,
                port,
                ca: ca_file,
            },
            other => other,
        }
    }

    async fn connect(&self) -> Result<Stream, ClientError> {
        match self {
            Target::Tcp { host, port } => {
                let s = tokio::net::TcpStream::connect((host.as_str(), *port))
                    .await
                    .map_err(ClientError::from_connect)?;
                let _ = s.set_nodelay(true);
                Ok(Stream::Tcp(s))
            }
            Target::Tls { host, port, ca } => {
                let config = tls_config(ca.as_deref())?;
                let name = rustls::pki_types::ServerName::try_from(host.clone())
                    .map_err(|e| ClientError::Tls(format!("bad server name {host:?}: {e}")))?;
                let s = tokio::net::TcpStream::connect((host.as_str(), *port))
                    .await
                    .map_err(ClientError::from_connect)?;
                let _ = s.set_nodelay(true);
                let s = tokio_rustls::TlsConnector::from(config)
                    .connect(name, s)
                    .await
                    .map_err(|e| ClientError::Tls(e.to_string()))?;
                Ok(Stream::Tls(Box::new(s)))
            }
            Target::Unix(p) => {
                let s = tokio::net::UnixStream::connect(p)
                    .await
                    .map_err(ClientError::from_connect)?;
                Ok(Stream::Unix(s))
            }
        }
    }
}

/// A connected byte stream to a [`Target`], whatever its transport.
pub trait Io: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send {}
impl<T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send> Io for T {}

/// Connects to `target` (TCP, TLS over TCP, or a UNIX socket) for a client that speaks
/// HTTP itself (`steward top`'s JSON API client).
pub async fn connect(target: &Target) -> Result<Box<dyn Io>, ClientError> {
    Ok(match target.connect().await? {
        Stream::Tcp(s) => Box::new(s),
        Stream::Tls(s) => Box::new(s),
        Stream::Unix(s) => Box::new(s),
    })
}

enum Stream {
    Tcp(tokio::net::TcpStream),
    Tls(Box<tokio_rustls::client::TlsStream<tokio::net::TcpStream>>),
    Unix(tokio::net::UnixStream),
}

/// The rustls client settings for one trust choice (system roots, or one CA file),
/// built once per process: reading the system's roots costs milliseconds.
fn tls_config(ca_file: Option<&Path>) -> Result<Arc<rustls::ClientConfig>, ClientError> {
    static CONFIGS: OnceLock<Mutex<HashMap<Option<PathBuf>, Arc<rustls::ClientConfig>>>> =
        OnceLock::new();
    let key = ca_file.map(Path::to_path_buf);
    let cache = CONFIGS.get_or_init(Default::default);
    if let Some(c) = cache.lock().unwrap_or_else(|p| p.into_inner()).get(&key) {
        return Ok(c.clone());
    }
    // rustls needs a process-wide crypto provider; ring is the workspace's. A second
    // install reports the first and is harmless.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut roots = rustls::RootCertStore::empty();
    match ca_file {
        Some(path) => {
            let pem = std::fs::read(path).map_err(|e| {
                ClientError::Tls(format!("cannot read CA file {}: {e}", path.display()))
            })?;
            let mut added = 0;
            for cert in rustls_pemfile_certs(&pem) {
                if roots.add(cert).is_ok() {
                    added += 1;
                }
            }
            if added == 0 {
                return Err(ClientError::Tls(format!(
                    "no certificate in CA file {}",
                    path.display()
                )));
            }
        }
        None => {
            let found = rustls_native_certs::load_native_certs();
            for cert in found.certs {
                let _ = roots.add(cert);
            }
        }
    }
    let config = Arc::new(
        rustls::ClientConfig::builder()
            .with_root_certificates(roots)
            .with_no_client_auth(),
    );
    cache
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .insert(key, config.clone());
    Ok(config)
}

/// The certificates of a PEM file (other blocks are skipped).
fn rustls_pemfile_certs(pem: &[u8]) -> Vec<rustls::pki_types::CertificateDer<'static>> {
    use rustls::pki_types::pem::PemObject;
    rustls::pki_types::CertificateDer::pem_slice_iter(pem)
        .filter_map(Result::ok)
        .collect()
}

/// Everything that can go wrong with a call.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// ECONNREFUSED while connecting.
    #[error("connection refused")]
    ConnRefused,
    /// ENOENT while connecting (the UNIX socket does not exist).
    #[error("no such file")]
    NoSuchFile,
    /// Any other socket error.
    #[error("{0}")]
    Io(#[from] io::Error),
    /// HTTP 401.
    #[error("Server requires authentication")]
    Unauthorized,
    /// Any other non-200 status (code, reason phrase).
    #[error("HTTP status {0} {1}")]
    Status(u16, String),
    /// The server answered with an XML-RPC fault.
    #[error("<Fault {}: {:?}>", .0.code, .0.string)]
    Fault(Fault),
    /// The response could not be decoded, or the HTTP exchange broke.
    #[error("protocol error: {0}")]
    Protocol(String),
    /// The server URL is not `http://`, `https://` or `unix://`.
    #[error("{0}")]
    BadUrl(String),
    /// The TLS handshake failed (untrusted certificate, wrong name, not TLS at all).
    #[error("TLS: {0}")]
    Tls(String),
}

impl ClientError {
    fn from_connect(e: io::Error) -> ClientError {
        match e.raw_os_error() {
            Some(libc_errno) if libc_errno == ECONNREFUSED => ClientError::ConnRefused,
            Some(libc_errno) if libc_errno == ENOENT => ClientError::NoSuchFile,
            _ => match e.kind() {
                io::ErrorKind::ConnectionRefused => ClientError::ConnRefused,
                io::ErrorKind::NotFound => ClientError::NoSuchFile,
                _ => ClientError::Io(e),
            },
        }
    }

    /// The fault, if this error is one.
    pub fn fault(&self) -> Option<&Fault> {
        match self {
            ClientError::Fault(f) => Some(f),
            _ => None,
        }
    }
}

const ECONNREFUSED: i32 = 111;
const ENOENT: i32 = 2;

fn basic_auth(username: &str, password: &str) -> String {
    let raw = format!("{username}:{password}");
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(raw.as_bytes())
    )
}

fn runtime() -> io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
}

/// A blocking XML-RPC client holding one persistent connection.
pub struct Client {
    target: Target,
    username: Option<String>,
    password: Option<String>,
    rt: tokio::runtime::Runtime,
    conn: Option<SendRequest<Full<Bytes>>>,
}

impl Client {
    /// A client for `serverurl` (`http://…` or `unix://…`). Connects lazily.
    pub fn new(
        serverurl: &str,
        username: Option<&str>,
        password: Option<&str>,
    ) -> Result<Client, ClientError> {
        Ok(Client {
            target: Target::parse(serverurl)?,
            username: username.map(str::to_string),
            password: password.map(str::to_string),
            rt: runtime()?,
            conn: None,
        })
    }

    /// A client for an already parsed target (an `https://` one from
    /// [`Target::parse_with_tls`], say). Connects lazily.
    pub fn with_target(
        target: Target,
        username: Option<&str>,
        password: Option<&str>,
    ) -> Result<Client, ClientError> {
        Ok(Client {
            target,
            username: username.map(str::to_string),
            password: password.map(str::to_string),
            rt: runtime()?,
            conn: None,
        })
    }

    /// The parsed target.
    pub fn target(&self) -> &Target {
        &self.target
    }

    /// Changes the credentials (supervisorctl's 401 re-prompt); drops the connection.
    pub fn set_credentials(&mut self, username: Option<&str>, password: Option<&str>) {
        self.username = username.map(str::to_string);
        self.password = password.map(str::to_string);
        self.conn = None;
    }

    /// Calls `method` with `params`; a fault comes back as [`ClientError::Fault`].
    pub fn call(&mut self, method: &str, params: &[Value]) -> Result<Value, ClientError> {
        let auth = match (&self.username, &self.password) {
            (Some(u), Some(p)) => Some(basic_auth(u, p)),
            _ => None,
        };
        let target = self.target.clone();
        let conn = &mut self.conn;
        self.rt
            .block_on(xmlrpc_call(conn, &target, auth.as_deref(), method, params))
    }
}

/// One HTTP answer: the status and the whole body.
#[derive(Debug, Clone)]
pub struct HttpReply {
    pub status: u16,
    pub body: Bytes,
}

/// The async twin of [`Client`], for callers inside a tokio runtime: one persistent
/// connection, reused by calls in turn (a call waits for the previous one), any
/// `Authorization` value (Basic from a username and password, or a bearer token).
pub struct AsyncClient {
    target: Target,
    authorization: Option<String>,
    conn: tokio::sync::Mutex<Option<SendRequest<Full<Bytes>>>>,
}

impl AsyncClient {
    /// A client for `target` sending `authorization` (the whole header value) with every
    /// request. Connects lazily.
    pub fn new(target: Target, authorization: Option<String>) -> AsyncClient {
        AsyncClient {
            target,
            authorization,
            conn: tokio::sync::Mutex::new(None),
        }
    }

    /// The `Authorization` value of HTTP Basic auth.
    pub fn basic(username: &str, password: &str) -> String {
        basic_auth(username, password)
    }

    pub fn target(&self) -> &Target {
        &self.target
    }

    /// Calls `method` with `params` over XML-RPC; a fault is [`ClientError::Fault`].
    pub async fn call(&self, method: &str, params: &[Value]) -> Result<Value, ClientError> {
        let mut conn = self.conn.lock().await;
        xmlrpc_call(
            &mut conn,
            &self.target,
            self.authorization.as_deref(),
            method,
            params,
        )
        .await
    }

    /// One plain HTTP request (`content_type` and `body` for a POST); any status comes
    /// back as an [`HttpReply`]. A dropped future drops the connection with it.
    pub async fn request(
        &self,
        method: &str,
        path: &str,
        content_type: Option<&str>,
        body: Bytes,
    ) -> Result<HttpReply, ClientError> {
        let mut conn = self.conn.lock().await;
        let mut headers: Vec<(&str, &str)> = vec![("Accept", "application/json")];
        if let Some(ct) = content_type {
            headers.push(("Content-Type", ct));
        }
        if let Some(a) = &self.authorization {
            headers.push(("Authorization", a.as_str()));
        }
        exchange(&mut conn, &self.target, method, path, &headers, body).await
    }
}

/// One XML-RPC call on `conn` (opened or reopened as needed).
async fn xmlrpc_call(
    conn: &mut Option<SendRequest<Full<Bytes>>>,
    target: &Target,
    authorization: Option<&str>,
    method: &str,
    params: &[Value],
) -> Result<Value, ClientError> {
    let body = Bytes::from(xml::encode_call(method, params));
    let mut headers: Vec<(&str, &str)> = vec![
        ("User-Agent", "Python-xmlrpc/3.11"),
        ("Content-Type", "text/xml"),
        ("Accept", "text/xml"),
    ];
    if let Some(a) = authorization {
        headers.push(("Authorization", a));
    }
    let reply = exchange(conn, target, "POST", "/RPC2", &headers, body).await?;
    if reply.status == 401 {
        // supervisorctl closes the connection on any non-200 reply
        *conn = None;
        return Err(ClientError::Unauthorized);
    }
    if reply.status != 200 {
        *conn = None;
        return Err(ClientError::Status(
            reply.status,
            hyper::StatusCode::from_u16(reply.status)
                .ok()
                .and_then(|s| s.canonical_reason())
                .unwrap_or("")
                .to_string(),
        ));
    }
    match xml::parse_response(&reply.body) {
        Ok(r) => r.map_err(ClientError::Fault),
        Err(e) => {
            *conn = None;
            Err(ClientError::Protocol(e.to_string()))
        }
    }
}

/// Sends one request on the kept connection and reads the whole answer. A reused
/// keep-alive connection may have been closed by the server: the request is retried
/// once on a fresh one, as http.client does. On any failure the connection is dropped.
async fn exchange(
    conn: &mut Option<SendRequest<Full<Bytes>>>,
    target: &Target,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Bytes,
) -> Result<HttpReply, ClientError> {
    for attempt in 0..2 {
        let reused = conn.is_some();
        let mut sender = match conn.take() {
            Some(s) if !s.is_closed() => s,
            _ => open(target).await?,
        };
        if sender.ready().await.is_err() {
            if reused && attempt == 0 {
                continue;
            }
            return Err(ClientError::Protocol("connection closed".into()));
        }
        let mut req = Request::builder()
            .method(method)
            .uri(path)
            .header("Host", host_header(target))
            .header("Content-Length", body.len().to_string());
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let req = req
            .body(Full::new(body.clone()))
            .map_err(|e| ClientError::Protocol(e.to_string()))?;
        let resp = match sender.send_request(req).await {
            Ok(r) => r,
            Err(e) => {
                if reused && attempt == 0 {
                    continue;
                }
                return Err(ClientError::Protocol(e.to_string()));
            }
        };
        let status = resp.status().as_u16();
        let data = resp
            .into_body()
            .collect()
            .await
            .map_err(|e| ClientError::Protocol(e.to_string()))?
            .to_bytes();
        *conn = Some(sender);
        return Ok(HttpReply { status, body: data });
    }
    Err(ClientError::Protocol("connection closed".into()))
}

fn host_header(target: &Target) -> String {
    match target {
        Target::Tls { host, port, .. } => {
            if *port == 443 {
                host.clone()
            } else {
                format!("{host}:{port}")
            }
        }
        Target::Tcp { host, port } => {
            if *port == 80 {
                host.clone()
            } else {
                format!("{host}:{port}")
            }
        }
        Target::Unix(_) => "localhost".into(),
    }
}

async fn open(target: &Target) -> Result<SendRequest<Full<Bytes>>, ClientError> {
    let stream = target.connect().await?;
    macro_rules! hs {
        ($s:expr) => {{
            let (sender, conn) = http1::handshake(TokioIo::new($s))
                .await
                .map_err(|e| ClientError::Protocol(e.to_string()))?;
            tokio::spawn(async move {
                let _ = conn.await;
            });
            sender
        }};
    }
    Ok(match stream {
        Stream::Tcp(s) => hs!(s),
        Stream::Tls(s) => hs!(s),
        Stream::Unix(s) => hs!(s),
    })
}

/// How a [`stream_get`] ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StreamEnd {
    /// The server finished the body.
    Eof,
    /// The `cancel` future completed first (e.g. Ctrl-C).
    Cancelled,
}

/// GETs `path` (`/logtail/<ns>/<channel>`, `/mainlogtail`) and hands every body chunk
/// to `on_data` until the server closes, or `cancel` completes. Like supervisorctl's
/// streaming client, credentials are sent only when `password` is non-empty. A
/// non-200 reply is [`ClientError::Status`] (401 included).
pub fn stream_get<F, C>(
    serverurl: &str,
    username: Option<&str>,
    password: Option<&str>,
    path: &str,
    on_data: F,
    cancel: C,
) -> Result<StreamEnd, ClientError>
where
    F: FnMut(&[u8]),
    C: Future<Output = ()>,
{
    let target = Target::parse(serverurl)?;
    let rt = runtime()?;
    rt.block_on(stream_get_async(
        &target, username, password, path, on_data, cancel,
    ))
}

/// The async core of [`stream_get`], for callers already inside a runtime.
pub async fn stream_get_async<F, C>(
    target: &Target,
    username: Option<&str>,
    password: Option<&str>,
    path: &str,
    mut on_data: F,
    cancel: C,
) -> Result<StreamEnd, ClientError>
where
    F: FnMut(&[u8]),
    C: Future<Output = ()>,
{
    tokio::pin!(cancel);
    let work = async {
        let mut sender = open(target).await?;
        let mut req = Request::builder()
            .method("GET")
            .uri(path)
            .header("Host", host_header(target))
            .header("Accept-Encoding", "chunked")
            .header("Accept", "*/*")
            .header("User-agent", "Supervisor HTTP Client");
        if let Some(p) = password.filter(|p| !p.is_empty()) {
            req = req.header("Authorization", basic_auth(username.unwrap_or(""), p));
        }
        let req = req
            .body(Full::new(Bytes::new()))
            .map_err(|e| ClientError::Protocol(e.to_string()))?;
        let resp = sender
            .send_request(req)
            .await
            .map_err(|e| ClientError::Protocol(e.to_string()))?;
        let status = resp.status().as_u16();
        if status != 200 {
            return Err(ClientError::Status(
                status,
                resp.status().canonical_reason().unwrap_or("").to_string(),
            ));
        }
        let mut body = resp.into_body();
        while let Some(frame) = body.frame().await {
            let frame = frame.map_err(|e| ClientError::Protocol(e.to_string()))?;
            if let Some(d) = frame.data_ref() {
                on_data(d);
            }
        }
        Ok(StreamEnd::Eof)
    };
    tokio::select! {
        r = work => r,
        _ = &mut cancel => Ok(StreamEnd::Cancelled),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_targets() {
        assert_eq!(
            Target::parse("http://localhost:9001").unwrap(),
            Target::Tcp {
                host: "localhost".into(),
                port: 9001
            }
        );
        assert_eq!(
            Target::parse("http://127.0.0.1").unwrap(),
            Target::Tcp {
                host: "127.0.0.1".into(),
                port: 80
            }
        );
        assert_eq!(
            Target::parse("unix:///tmp/x.sock").unwrap(),
            Target::Unix("/tmp/x.sock".into())
        );
        assert!(
            Target::parse("https://x").is_err(),
            "supervisorctl refuses https"
        );
        assert_eq!(
            Target::parse_with_tls("https://Web1.example:8443/RPC2").unwrap(),
            Target::Tls {
                host: "web1.example".into(),
                port: 8443,
                ca: None
            }
        );
        assert!(matches!(
            Target::parse_with_tls("https://x").unwrap(),
            Target::Tls { port: 443, .. }
        ));
        assert!(Target::parse("ftp://x").is_err());
    }

    #[test]
    fn connect_errors_are_typed() {
        let dir = std::env::temp_dir().join(format!("steward-rpc-client-{}", std::process::id()));
        let sock = dir.join("missing.sock");
        let mut c = Client::new(&format!("unix://{}", sock.display()), None, None).unwrap();
        assert!(matches!(
            c.call("supervisor.getVersion", &[]),
            Err(ClientError::NoSuchFile)
        ));
        // a port nobody listens on
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        drop(l);
        let mut c = Client::new(&format!("http://127.0.0.1:{port}"), None, None).unwrap();
        assert!(matches!(
            c.call("supervisor.getVersion", &[]),
            Err(ClientError::ConnRefused)
        ));
    }
}
