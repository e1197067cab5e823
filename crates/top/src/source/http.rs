//! The one HTTP client of `steward top`: plain HTTP/1.1 over a unix socket or TCP (hyper),
//! for the JSON API (`GET`/`POST` with JSON bodies), its server-sent event streams and
//! XML-RPC posts to `/RPC2`.
//!
//! Each call opens its own connection: over the local socket that costs microseconds, and
//! it keeps a slow action (a `stop` that waits for `stopwaitsecs`) from holding up the
//! reads beside it. Credentials are attached per call: a bearer token when one is given,
//! else HTTP Basic when a username is set.

use std::path::PathBuf;

use base64::Engine;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::client::conn::http1;
use hyper::Request;
use hyper_util::rt::TokioIo;

use super::SourceError;

/// Where a source listens and how to prove who is asking.
#[derive(Debug, Clone)]
pub struct Endpoint {
    target: Target,
    authorization: Option<String>,
    basic: Option<String>,
}

use steward_rpc::client::Target;

impl Endpoint {
    /// `unix:///path` or `http://host[:port]`; anything else is refused.
    pub fn new(
        serverurl: &str,
        username: Option<&str>,
        password: Option<&str>,
        token: Option<&str>,
        ca: Option<PathBuf>,
    ) -> Result<Endpoint, SourceError> {
        let target = match Target::parse_with_tls(serverurl) {
            Ok(t) => t.with_ca(ca),
            Err(e) => return Err(SourceError::BadUrl(e.to_string())),
        };
        let basic = username.map(|u| {
            let raw = format!("{u}:{}", password.unwrap_or(""));
            format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(raw)
            )
        });
        let authorization = match token {
            Some(t) => Some(format!("Bearer {t}")),
            None => basic.clone(),
        };
        Ok(Endpoint {
            target,
            authorization,
            basic,
        })
    }

    /// Whether the daemon runs on this machine, so /proc tells its children's CPU and memory.
    pub fn is_local(&self) -> bool {
        match &self.target {
            Target::Unix(_) => true,
            Target::Tcp { host, .. } | Target::Tls { host, .. } => {
                host == "localhost" || host.starts_with("127.") || host == "::1"
            }
        }
    }

    /// Whether the API would take this caller's state changes: a token, or no
    /// credentials at all (docs/security.md: Basic is for reads only).
    pub fn api_may_act(&self) -> bool {
        match &self.authorization {
            None => true,
            Some(a) => a.starts_with("Bearer "),
        }
    }

    fn host_header(&self) -> String {
        match &self.target {
            Target::Tcp { host, port } | Target::Tls { host, port, .. } => {
                format!("{host}:{port}")
            }
            Target::Unix(_) => "localhost".into(),
        }
    }

    async fn send(
        &self,
        method: &str,
        path: &str,
        content_type: Option<&str>,
        body: Vec<u8>,
        auth: Option<&str>,
    ) -> Result<hyper::Response<Incoming>, SourceError> {
        macro_rules! handshake {
            ($stream:expr) => {{
                let (sender, conn) = http1::handshake(TokioIo::new($stream))
                    .await
                    .map_err(|e| SourceError::Protocol(e.to_string()))?;
                tokio::spawn(async move {
                    let _ = conn.await;
                });
                sender
            }};
        }
        let stream = steward_rpc::client::connect(&self.target)
            .await
            .map_err(|e| {
                SourceError::Connect(match e {
                    steward_rpc::client::ClientError::Io(io) => io,
                    steward_rpc::client::ClientError::ConnRefused => {
                        std::io::ErrorKind::ConnectionRefused.into()
                    }
                    steward_rpc::client::ClientError::NoSuchFile => {
                        std::io::ErrorKind::NotFound.into()
                    }
                    other => std::io::Error::other(other.to_string()),
                })
            })?;
        let mut sender = handshake!(stream);
        let mut req = Request::builder()
            .method(method)
            .uri(path)
            .header("Host", self.host_header())
            .header("User-Agent", "steward-top")
            .header("Content-Length", body.len().to_string());
        if let Some(ct) = content_type {
            req = req.header("Content-Type", ct);
        }
        if let Some(a) = auth {
            req = req.header("Authorization", a);
        }
        let req = req
            .body(Full::new(Bytes::from(body)))
            .map_err(|e| SourceError::Protocol(e.to_string()))?;
        sender
            .send_request(req)
            .await
            .map_err(|e| SourceError::Protocol(e.to_string()))
    }

    /// A JSON API call: the decoded body of a 2xx answer, else the API's error message.
    pub async fn json(
        &self,
        method: &str,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> Result<serde_json::Value, SourceError> {
        let (ct, bytes) = match body {
            Some(b) => (Some("application/json"), b.to_string().into_bytes()),
            None => (None, Vec::new()),
        };
        let resp = self
            .send(method, path, ct, bytes, self.authorization.as_deref())
            .await?;
        let status = resp.status().as_u16();
        let data = collect(resp).await?;
        let value: serde_json::Value = serde_json::from_slice(&data).unwrap_or_default();
        if (200..300).contains(&status) {
            return Ok(value);
        }
        let message = value["error"]["message"]
            .as_str()
            .map(str::to_string)
            .unwrap_or_else(|| format!("HTTP {status}"));
        Err(SourceError::Refused { status, message })
    }

    /// A GET whose status alone matters (detection of the API).
    pub async fn status_of(&self, path: &str) -> Result<u16, SourceError> {
        let resp = self
            .send("GET", path, None, Vec::new(), self.authorization.as_deref())
            .await?;
        let status = resp.status().as_u16();
        let _ = collect(resp).await;
        Ok(status)
    }

    /// One XML-RPC call on `/RPC2` (HTTP Basic when a username is set: XML-RPC takes no
    /// tokens).
    pub async fn xmlrpc(
        &self,
        method: &str,
        params: &[steward_rpc::Value],
    ) -> Result<steward_rpc::Value, SourceError> {
        let body = steward_rpc::xml::encode_call(method, params).into_bytes();
        let resp = self
            .send(
                "POST",
                "/RPC2",
                Some("text/xml"),
                body,
                self.basic.as_deref(),
            )
            .await?;
        let status = resp.status().as_u16();
        let data = collect(resp).await?;
        if status != 200 {
            return Err(SourceError::Refused {
                status,
                message: format!("HTTP {status} from /RPC2"),
            });
        }
        match steward_rpc::xml::parse_response(&data) {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(fault)) => Err(SourceError::Fault(fault.string)),
            Err(e) => Err(SourceError::Protocol(e.to_string())),
        }
    }

    /// Opens a server-sent event stream; `on_event(event_type, data)` sees every event
    /// until the server closes the stream (an error) or `on_event` returns false.
    pub async fn sse(
        &self,
        path: &str,
        mut on_event: impl FnMut(Option<u64>, &str, &str) -> bool,
    ) -> Result<(), SourceError> {
        let resp = self
            .send("GET", path, None, Vec::new(), self.authorization.as_deref())
            .await?;
        let status = resp.status().as_u16();
        if status != 200 {
            let data = collect(resp).await.unwrap_or_default();
            let v: serde_json::Value = serde_json::from_slice(&data).unwrap_or_default();
            let message = v["error"]["message"]
                .as_str()
                .map(str::to_string)
                .unwrap_or_else(|| format!("HTTP {status}"));
            return Err(SourceError::Refused { status, message });
        }
        let mut body = resp.into_body();
        let mut parser = SseParser::default();
        while let Some(frame) = body.frame().await {
            let frame = frame.map_err(|e| SourceError::Protocol(e.to_string()))?;
            let Some(chunk) = frame.data_ref() else {
                continue;
            };
            for (id, event, data) in parser.feed(chunk) {
                if !on_event(id, &event, &data) {
                    return Ok(());
                }
            }
        }
        Err(SourceError::Protocol("the event stream ended".into()))
    }
}

async fn collect(resp: hyper::Response<Incoming>) -> Result<Bytes, SourceError> {
    Ok(resp
        .into_body()
        .collect()
        .await
        .map_err(|e| SourceError::Protocol(e.to_string()))?
        .to_bytes())
}

/// The text/event-stream framing: `field: value` lines, events end at a blank line,
/// `:` lines are comments (heartbeats).
#[derive(Default)]
pub struct SseParser {
    pending: Vec<u8>,
    id: Option<u64>,
    event: String,
    data: Vec<String>,
}

impl SseParser {
    /// Feeds bytes; returns the events they complete as (id, type, data).
    pub fn feed(&mut self, chunk: &[u8]) -> Vec<(Option<u64>, String, String)> {
        self.pending.extend_from_slice(chunk);
        let mut out = Vec::new();
        while let Some(nl) = self.pending.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = self.pending.drain(..=nl).collect();
            let line = String::from_utf8_lossy(&line);
            let line = line.trim_end_matches(['\n', '\r']);
            if line.is_empty() {
                if !self.data.is_empty() || !self.event.is_empty() {
                    let event = if self.event.is_empty() {
                        "message".to_string()
                    } else {
                        std::mem::take(&mut self.event)
                    };
                    out.push((self.id, event, self.data.join("\n")));
                    self.data.clear();
                }
                continue;
            }
            if line.starts_with(':') {
                continue;
            }
            let (field, value) = match line.split_once(':') {
                Some((f, v)) => (f, v.strip_prefix(' ').unwrap_or(v)),
                None => (line, ""),
            };
            match field {
                "event" => self.event = value.to_string(),
                "data" => self.data.push(value.to_string()),
                "id" => self.id = value.parse().ok(),
                _ => {}
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sse_events_split_across_chunks() {
        let mut p = SseParser::default();
        assert!(p
            .feed(b": connected\n\nid: 3\nevent: process_state\nda")
            .is_empty());
        let evs = p.feed(b"ta: {\"a\":1}\n\nevent: line\ndata: x\ndata: y\n\n");
        assert_eq!(
            evs,
            vec![
                (Some(3), "process_state".into(), "{\"a\":1}".into()),
                (Some(3), "line".into(), "x\ny".into()),
            ]
        );
    }

    #[test]
    fn credentials_decide_where_actions_go() {
        let sock = Endpoint::new("unix:///tmp/x.sock", None, None, None, None).unwrap();
        assert!(sock.api_may_act() && sock.is_local());
        let basic =
            Endpoint::new("http://10.0.0.5:9001", Some("u"), Some("p"), None, None).unwrap();
        assert!(!basic.api_may_act() && !basic.is_local());
        let token = Endpoint::new(
            "http://127.0.0.1:9001",
            Some("u"),
            Some("p"),
            Some("t"),
            None,
        )
        .unwrap();
        assert!(token.api_may_act() && token.is_local());
        assert!(Endpoint::new("ftp://x", None, None, None, None).is_err());
    }
}
