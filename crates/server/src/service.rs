//! One HTTP request → one response: authentication, then routing.
//!
//! Routes (the same on every server, as in supervisord):
//! - `POST /RPC2…` → [`Backend::rpc`]; GET etc. → 400, no `Content-Length` (also a chunked
//!   body, which medusa cannot read either) → 411, larger than `max_body_size` → 413;
//! - `GET /logtail/<namespec>[/stdout|/stderr]`, `GET /mainlogtail` → [`crate::tail`];
//!   other methods → 400;
//! - `/ok.html` → `OK`;
//! - with an API router (the daemon's): the JSON API and the dashboard's paths
//!   ([`is_router_path`]: `/`, `/index.html`, `/tail.html`, `/login`, `/assets/…`, `/api/…`)
//!   → that router, which authenticates by itself; without one, `/` and `/index.html` →
//!   the plain status page ([`crate::page`]);
//! - anything else → 404.
//!
//! When the server has a username, every route first requires HTTP Basic credentials; a
//! failure answers 401 (`WWW-Authenticate: Basic realm="default"`, `Connection: close`)
//! without touching the backend, once the request's body has been read (bounded). The connection's [`ActiveGuard`] rides inside the response
//! body so the connection counts as busy until the body is fully sent or dropped.

use std::convert::Infallible;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body_util::{combinators::UnsyncBoxBody, BodyExt, Full, Limited};
use hyper::body::{Body, Frame, Incoming, SizeHint};
use hyper::header::{self, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};

use crate::auth::Auth;
use crate::conn::{ActiveGuard, PeerProbe};
use crate::{page, tail, Backend, ServerOptions};

/// Per-server state shared by all its connections.
pub(crate) struct Ctx {
    pub(crate) backend: Arc<dyn Backend>,
    pub(crate) auth: Option<Arc<Auth>>,
    pub(crate) options: ServerOptions,
    /// What kind of listener this is (for the API's access rules).
    pub(crate) listener: steward_api::access::Listener,
    /// Requests in service on every listener (a shutdown drains them first).
    pub(crate) inflight: Arc<crate::conn::InFlight>,
    /// Every open connection of the server set, capped.
    pub(crate) conns: Arc<crate::conn::ConnTable>,
    /// The listener's supervisord credentials as the API checks them.
    pub(crate) api_basic: Option<steward_api::access::BasicCheck>,
    /// `base_path` of an `[inet_http_server]` behind a reverse proxy: requests may carry
    /// it (a proxy that passes the whole path) or not (one that strips it).
    pub(crate) base_path: Option<Arc<str>>,
}

/// Response body: the payload plus the guard that marks the request as in service.
pub(crate) struct RespBody {
    inner: UnsyncBoxBody<Bytes, io::Error>,
    _guard: Option<ActiveGuard>,
}

impl Body for RespBody {
    type Data = Bytes;
    type Error = io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, io::Error>>> {
        Pin::new(&mut self.inner).poll_frame(cx)
    }
    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }
    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

type Resp = Response<RespBody>;

fn full(body: impl Into<Bytes>) -> UnsyncBoxBody<Bytes, io::Error> {
    Full::new(body.into())
        .map_err(|never: Infallible| match never {})
        .boxed_unsync()
}

fn respond(status: StatusCode, content_type: &'static str, body: impl Into<Bytes>) -> Resp {
    let mut r = Response::new(RespBody {
        inner: full(body),
        _guard: None,
    });
    *r.status_mut() = status;
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    r
}

/// medusa's error page.
fn error(status: StatusCode) -> Resp {
    let body = format!(
        "<head>\r\n<title>Error response</title>\r\n</head>\r\n<body>\r\n<h1>Error response</h1>\r\n\
         <p>Error code {}.\r\n<p>Message: {}.\r\n</body>\r\n",
        status.as_u16(),
        status.canonical_reason().unwrap_or("Error")
    );
    respond(status, "text/html", body)
}

fn error_close(status: StatusCode) -> Resp {
    let mut r = error(status);
    r.headers_mut()
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
    r
}

pub(crate) async fn handle(
    mut req: Request<Incoming>,
    ctx: Arc<Ctx>,
    probe: PeerProbe,
    guard: ActiveGuard,
    peer: Option<Arc<str>>,
) -> Result<Resp, Infallible> {
    if let Some(base) = &ctx.base_path {
        match strip_base_path(req.uri(), base) {
            BasePath::Outside => {}
            BasePath::Stripped(uri) => *req.uri_mut() = uri,
            // `/steward` → `/steward/`: the pages' relative URLs need the slash.
            BasePath::AddSlash => {
                let mut r = respond(StatusCode::PERMANENT_REDIRECT, "text/plain", "");
                if let Ok(v) = HeaderValue::from_str(&format!("{base}/")) {
                    r.headers_mut().insert(header::LOCATION, v);
                }
                r.body_mut()._guard = Some(guard);
                return Ok(r);
            }
        }
    }
    let api = if is_router_path(req.uri().path()) {
        ctx.backend.api()
    } else {
        None
    };
    let mut resp = match api {
        Some(api) => api_call(api, req, &ctx, peer).await,
        None => route(req, &ctx, probe).await,
    };
    resp.body_mut()._guard = Some(guard);
    Ok(resp)
}

enum BasePath {
    /// Not under the base path: served as it is (a proxy that strips the prefix).
    Outside,
    /// Under it: the same request without the prefix.
    Stripped(hyper::Uri),
    /// Exactly the base path, without its trailing slash.
    AddSlash,
}

fn strip_base_path(uri: &hyper::Uri, base: &str) -> BasePath {
    let path = uri.path();
    let Some(rest) = path.strip_prefix(base) else {
        return BasePath::Outside;
    };
    if rest.is_empty() {
        return BasePath::AddSlash;
    }
    if !rest.starts_with('/') {
        return BasePath::Outside;
    }
    let rebuilt = match uri.query() {
        Some(q) => format!("{rest}?{q}"),
        None => rest.to_string(),
    };
    match rebuilt.parse() {
        Ok(u) => BasePath::Stripped(u),
        Err(_) => BasePath::Outside,
    }
}

/// Paths the axum router answers: the JSON API (it does its own authentication:
/// `/healthz` needs none, bearer tokens and sessions are accepted beside the listener's
/// Basic credentials) and the dashboard (crates/web), which sends a browser without
/// credentials to its login page. supervisord's `/RPC2`, `/logtail`, `/mainlogtail` and
/// `/ok.html` stay here.
fn is_router_path(path: &str) -> bool {
    matches!(
        path,
        "/" | "/index.html"
            | "/tail.html"
            | "/login"
            | "/logout"
            | "/process"
            | "/download"
            | "/cron"
            | "/commands"
            | "/reload"
            | "/audit"
            | "/nodes"
            | "/action"
            | "/healthz"
            | "/metrics"
            | "/api"
    ) || path.starts_with("/api/")
        || path.starts_with("/assets/")
        || path.starts_with("/partial/")
}

async fn api_call(
    api: axum::Router,
    mut req: Request<Incoming>,
    ctx: &Ctx,
    peer: Option<Arc<str>>,
) -> Resp {
    use tower::ServiceExt;
    req.extensions_mut()
        .insert(steward_api::access::Connection {
            listener: ctx.listener,
            peer: peer.map(|p| p.to_string()),
            basic: ctx.api_basic.clone(),
            base_path: ctx.base_path.clone(),
        });
    let resp = match api.oneshot(req).await {
        Ok(r) => r,
        Err(never) => match never {},
    };
    resp.map(|body| RespBody {
        inner: body.map_err(io::Error::other).boxed_unsync(),
        _guard: None,
    })
}

async fn route(req: Request<Incoming>, ctx: &Ctx, probe: PeerProbe) -> Resp {
    if let Some(auth) = &ctx.auth {
        if !auth.check(
            req.headers()
                .get(header::AUTHORIZATION)
                .map(|v| v.as_bytes()),
        ) {
            discard_body(req.into_body(), ctx).await;
            let mut r = error_close(StatusCode::UNAUTHORIZED);
            r.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"default\""),
            );
            return r;
        }
    }
    let path = req.uri().path().to_string();
    if path.starts_with("/RPC2") {
        rpc(req, ctx).await
    } else if path.starts_with("/logtail") {
        if req.method() != Method::GET {
            return error(StatusCode::BAD_REQUEST);
        }
        match parse_logtail(&path) {
            Some((name, stderr)) => match ctx.backend.process_log_path(&name, stderr) {
                Some(file) => tail_response(&file, ctx, probe),
                None => error(StatusCode::NOT_FOUND),
            },
            None => error(StatusCode::NOT_FOUND),
        }
    } else if path.starts_with("/mainlogtail") {
        if req.method() != Method::GET {
            return error(StatusCode::BAD_REQUEST);
        }
        match ctx.backend.main_log_path() {
            Some(file) => tail_response(&file, ctx, probe),
            None => error(StatusCode::NOT_FOUND),
        }
    } else if path == "/" || path == "/index.html" {
        let html = page::render(&ctx.backend.status_rows(), &ctx.backend.version());
        respond(StatusCode::OK, "text/html;charset=utf-8", html)
    } else if path == "/ok.html" {
        respond(StatusCode::OK, "text/html", "OK")
    } else {
        error(StatusCode::NOT_FOUND)
    }
}

/// Reads and drops a rejected request's body (at most `max_body_size` bytes, within
/// `body_read_timeout`) before the error goes out. A client writes its whole body before it
/// reads the answer, as Python's `xmlrpc.client` does; closing on it mid-body makes it fail
/// with a broken pipe instead of seeing the 401 (supervisord reads the request first).
async fn discard_body(mut body: Incoming, ctx: &Ctx) {
    let limit = ctx.options.max_body_size;
    let drain = async {
        let mut seen: u64 = 0;
        while let Some(Ok(frame)) = body.frame().await {
            seen += frame.data_ref().map_or(0, |d| d.len() as u64);
            if seen > limit {
                break;
            }
        }
    };
    let _ = tokio::time::timeout(ctx.options.body_read_timeout, drain).await;
}

/// `/logtail/<namespec>[/stdout|/stderr]` → (namespec, stderr?). %-decoding as supervisord
/// does it (the whole path, when it contains `%`).
fn parse_logtail(path: &str) -> Option<(String, bool)> {
    let decoded = if path.contains('%') {
        percent_encoding::percent_decode_str(path)
            .decode_utf8_lossy()
            .into_owned()
    } else {
        path.to_string()
    };
    let rest = decoded.trim_start_matches('/');
    let (_, spec) = rest.split_once('/')?;
    let (name, channel) = spec.split_once('/').unwrap_or((spec, "stdout"));
    let stderr = match channel {
        "stdout" => false,
        "stderr" => true,
        _ => return None,
    };
    if name.is_empty() {
        return None;
    }
    Some((name.to_string(), stderr))
}

fn tail_response(file: &std::path::Path, ctx: &Ctx, probe: PeerProbe) -> Resp {
    let Ok((body, mtime)) = tail::TailBody::open(file, ctx.options.tail_poll_interval, probe)
    else {
        return error(StatusCode::NOT_FOUND);
    };
    let mut r = Response::new(RespBody {
        inner: body.boxed_unsync(),
        _guard: None,
    });
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain;charset=utf-8"),
    );
    if let Ok(v) = HeaderValue::from_str(&http_date(mtime)) {
        h.insert(header::LAST_MODIFIED, v);
    }
    h.insert("X-Accel-Buffering", HeaderValue::from_static("no"));
    r
}

/// RFC 7231 date, e.g. `Sun, 06 Nov 1994 08:49:37 GMT`.
fn http_date(secs: i64) -> String {
    jiff::Timestamp::from_second(secs)
        .map(|t| t.strftime("%a, %d %b %Y %H:%M:%S GMT").to_string())
        .unwrap_or_default()
}

async fn rpc(req: Request<Incoming>, ctx: &Ctx) -> Resp {
    if req.method() != Method::POST {
        return error(StatusCode::BAD_REQUEST);
    }
    let len = match req.headers().get(header::CONTENT_LENGTH) {
        None => return error_close(StatusCode::LENGTH_REQUIRED),
        Some(v) => match v.to_str().ok().and_then(|s| s.trim().parse::<u64>().ok()) {
            Some(n) => n,
            None => return error_close(StatusCode::BAD_REQUEST),
        },
    };
    if len > ctx.options.max_body_size {
        return error_close(StatusCode::PAYLOAD_TOO_LARGE);
    }
    let limited = Limited::new(req.into_body(), ctx.options.max_body_size as usize);
    let body = match tokio::time::timeout(ctx.options.body_read_timeout, limited.collect()).await {
        Err(_) => return error_close(StatusCode::REQUEST_TIMEOUT),
        Ok(Err(_)) => return error_close(StatusCode::BAD_REQUEST),
        Ok(Ok(c)) => c.to_bytes(),
    };
    match ctx.backend.rpc(body).await {
        Ok(xml) => respond(StatusCode::OK, "text/xml", xml),
        Err(code) => error(StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logtail_paths() {
        assert_eq!(parse_logtail("/logtail/foo"), Some(("foo".into(), false)));
        assert_eq!(
            parse_logtail("/logtail/g:foo/stderr"),
            Some(("g:foo".into(), true))
        );
        assert_eq!(
            parse_logtail("/logtail/g%3Afoo/stdout"),
            Some(("g:foo".into(), false))
        );
        assert_eq!(
            parse_logtail("//logtail/foo%2Fstderr"),
            Some(("foo".into(), true))
        );
        assert_eq!(parse_logtail("/logtail/foo/other"), None);
        assert_eq!(parse_logtail("/logtail"), None);
        assert_eq!(parse_logtail("/logtail/"), None);
    }

    #[test]
    fn date_format() {
        assert_eq!(http_date(784111777), "Sun, 06 Nov 1994 08:49:37 GMT");
    }
}
