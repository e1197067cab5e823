//! XML-RPC client for supervisord-compatible servers (used by `steward ctl`).
//!
//! Speaks HTTP/1.1 (hyper) over TCP (`http://host[:port]`) or a UNIX socket
//! (`unix:///path.sock`), keeps one persistent connection like supervisorctl's
//! `SupervisorTransport`, posts to `/RPC2` with `Content-Type: text/xml`, adds HTTP Basic
//! auth when a username and password are set, and maps failures onto
//! [`ClientError`] so callers can reproduce supervisorctl's messages and exit codes.
//! [`stream_get`] follows the chunked `/logtail/...` and `/mainlogtail` endpoints.

use crate::value::{Fault, Value};
use crate::xml;
use base64::Engine;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::{self, SendRequest};
use hyper::Request;
use hyper_util::rt::TokioIo;
use std::future::Future;
use std::io;
use std::path::PathBuf;

/// Where the server listens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    Tcp { host: String, port: u16 },
    Unix(PathBuf),
}

impl Target {
    /// Parses `http://host[:port][/...]` or `unix:///path`. Anything else is refused
    /// with supervisorctl's wording.
    pub fn parse(url: &str) -> Result<Target, ClientError> {
        if let Some(path) = url.strip_prefix("unix://") {
            return Ok(Target::Unix(PathBuf::from(path)));
        }
        if let Some(rest) = url.strip_prefix("http://") {
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
                80
            } else {
                port.parse::<u16>().map_err(|_| {
                    ClientError::BadUrl(format!(
                        "Port could not be cast to integer value as {port:?}"
                    ))
                })?
            };
            return Ok(Target::Tcp {
                host: host.to_lowercase(),
                port,
            });
        }
        Err(ClientError::BadUrl(format!(
            "Unknown protocol for serverurl {url}"
        )))
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
            Target::Unix(p) => {
                let s = tokio::net::UnixStream::connect(p)
                    .await
                    .map_err(ClientError::from_connect)?;
                Ok(Stream::Unix(s))
            }
        }
    }
}

enum Stream {
    Tcp(tokio::net::TcpStream),
    Unix(tokio::net::UnixStream),
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
    /// The server URL is not `http://` or `unix://`.
    #[error("{0}")]
    BadUrl(String),
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
        let body = xml::encode_call(method, params);
        let auth = match (&self.username, &self.password) {
            (Some(u), Some(p)) => Some(basic_auth(u, p)),
            _ => None,
        };
        let target = self.target.clone();
        let mut conn = self.conn.take();
        let result = self.rt.block_on(async {
            // A reused keep-alive connection may have been closed by the server: retry
            // once on a fresh one, as http.client does.
            for attempt in 0..2 {
                let reused = conn.is_some();
                let mut sender = match conn.take() {
                    Some(s) if !s.is_closed() => s,
                    _ => open(&target).await?,
                };
                if sender.ready().await.is_err() {
                    if reused && attempt == 0 {
                        continue;
                    }
                    return Err(ClientError::Protocol("connection closed".into()));
                }
                let mut req = Request::builder()
                    .method("POST")
                    .uri("/RPC2")
                    .header("Host", host_header(&target))
                    .header("User-Agent", "Python-xmlrpc/3.11")
                    .header("Content-Type", "text/xml")
                    .header("Accept", "text/xml")
                    .header("Content-Length", body.len().to_string());
                if let Some(a) = &auth {
                    req = req.header("Authorization", a.as_str());
                }
                let req = req
                    .body(Full::new(Bytes::from(body.clone())))
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
                let status = resp.status();
                let data = resp
                    .into_body()
                    .collect()
                    .await
                    .map_err(|e| ClientError::Protocol(e.to_string()))?
                    .to_bytes();
                if status.as_u16() == 401 {
                    return Err(ClientError::Unauthorized);
                }
                if status.as_u16() != 200 {
                    return Err(ClientError::Status(
                        status.as_u16(),
                        status.canonical_reason().unwrap_or("").to_string(),
                    ));
                }
                return match xml::parse_response(&data) {
                    Ok(r) => Ok((r, sender)),
                    Err(e) => Err(ClientError::Protocol(e.to_string())),
                };
            }
            Err(ClientError::Protocol("connection closed".into()))
        });
        match result {
            Ok((r, sender)) => {
                self.conn = Some(sender);
                r.map_err(ClientError::Fault)
            }
            Err(e) => {
                // supervisorctl closes the connection on any non-200 reply
                self.conn = None;
                Err(e)
            }
        }
    }
}

fn host_header(target: &Target) -> String {
    match target {
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
        assert!(Target::parse("https://x").is_err());
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
