//! The web dashboard: server-rendered pages at `/`, `/index.html`, `/tail.html`,
//! `/process`, `/cron`, `/commands`, `/reload`, `/audit`, `/nodes`, `/login`, plus one script and one stylesheet
//! embedded in the binary (`/assets/*`).
//!
//! Data flow: every page reads state through the JSON API itself — each handler sends an
//! internal request to [`steward_api::router`] with the browser's own credentials (its
//! session cookie or Basic header) and the listener's [`Connection`], so the dashboard can
//! never see or do more than the API allows that caller, and every change lands in the
//! audit log the same way. The pages render as plain HTML tables and POST forms carrying a
//! CSRF token, readable in curl and usable without JavaScript; `assets/app.js` then adds
//! the filter box, in-place actions (`fetch` to the API with `X-CSRF-Token`), live rows
//! from `GET /api/v1/events` (each changed row is re-fetched as a server-rendered fragment
//! from `/partial/row`, so rows are rendered in one place) and the followed log of the
//! details page. Every response carries `Content-Security-Policy: default-src 'self'`.

mod html;
mod nodes;
mod pages;

use std::sync::Arc;

use axum::body::Body;
use axum::extract::Request;
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use base64::Engine;
use http_body_util::BodyExt;
use rand::RngCore;
use serde_json::Value;
use steward_api::access::{self as api_access, Principal};
use steward_api::access::{Connection, Listener, Role};
use steward_api::session;
use steward_api::ApiState;
use tower::ServiceExt;

/// What the pages share: the API's state (for sessions) and its router (for every read and
/// change).
pub(crate) struct Web {
    api: Arc<ApiState>,
    api_router: Router,
    /// The CSRF token of forms on listeners without credentials (no session to hold one).
    anon_csrf: String,
}

const CSP: &str = "default-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";
const APP_JS: &str = include_str!("../assets/app.js");
const APP_CSS: &str = include_str!("../assets/app.css");
const ICON_SVG: &str = include_str!("../assets/icon.svg");

/// The dashboard's routes, to merge beside [`steward_api::router`].
pub fn router(api: Arc<ApiState>) -> Router {
    let mut raw = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut raw);
    let web = Arc::new(Web {
        api_router: steward_api::router(api.clone()),
        api,
        anon_csrf: base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw),
    });
    let with = |f: fn(Arc<Web>, Request) -> pages::PageFuture| {
        let web = web.clone();
        move |req: Request| {
            let web = web.clone();
            async move { secure(f(web, req).await) }
        }
    };
    Router::new()
        .route("/", get(with(pages::dashboard)))
        .route("/index.html", get(with(pages::dashboard)))
        .route("/tail.html", get(with(pages::details)))
        .route("/process", get(with(pages::details)))
        .route("/download", get(with(pages::download)))
        .route("/partial/row", get(with(pages::row_fragment)))
        .route("/cron", get(with(pages::cron)))
        .route("/commands", get(with(pages::commands)))
        .route(
            "/reload",
            get(with(pages::reload)).post(with(pages::reload)),
        )
        .route("/audit", get(with(pages::audit)))
        .route("/nodes", get(with(nodes::page)))
        .route("/login", get(with(pages::login)).post(with(pages::login)))
        .route("/logout", post(with(pages::logout)))
        .route("/action", post(with(pages::action)))
        .route(
            "/assets/app.js",
            get(|| async { asset("text/javascript; charset=utf-8", APP_JS) }),
        )
        .route(
            "/assets/app.css",
            get(|| async { asset("text/css; charset=utf-8", APP_CSS) }),
        )
        .route(
            "/assets/icon.svg",
            get(|| async { asset("image/svg+xml", ICON_SVG) }),
        )
}

fn asset(content_type: &'static str, body: &'static str) -> Response {
    let mut r = secure(body.into_response());
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=3600"),
    );
    r
}

/// The headers every dashboard response carries.
fn secure(mut r: Response) -> Response {
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    if !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    r
}

/// The parts of a browser request the pages pass on.
pub(crate) struct Incoming {
    pub method: Method,
    pub headers: HeaderMap,
    pub query: String,
    pub conn: Connection,
    pub body: Vec<u8>,
}

impl Incoming {
    pub(crate) async fn read(req: Request) -> Incoming {
        let (parts, body) = req.into_parts();
        let conn = parts
            .extensions
            .get::<Connection>()
            .cloned()
            .unwrap_or(Connection {
                listener: Listener::TcpPublic,
                peer: None,
                basic: None,
                base_path: None,
            });
        // Forms here are a few fields; anything larger is not one of ours.
        let body = match axum::body::to_bytes(body, 64 * 1024).await {
            Ok(b) => b.to_vec(),
            Err(_) => Vec::new(),
        };
        Incoming {
            method: parts.method,
            headers: parts.headers,
            query: parts.uri.query().unwrap_or("").to_string(),
            conn,
            body,
        }
    }

    /// One query parameter.
    pub(crate) fn param(&self, name: &str) -> Option<String> {
        session::form_urlencoded_pairs(self.query.as_bytes())
            .into_iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v)
    }

    pub(crate) fn form(&self) -> Vec<(String, String)> {
        session::form_urlencoded_pairs(&self.body)
    }
}

/// Who a browser is, and the CSRF token its forms and script send (`None` without a
/// session: Basic credentials, or a listener without credentials).
#[derive(Clone)]
pub(crate) struct Caller {
    pub principal: Principal,
    pub csrf: Option<String>,
}

/// The result of an internal API call.
pub(crate) struct ApiReply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub json: Value,
}

impl ApiReply {
    pub(crate) fn ok(&self) -> bool {
        self.status.is_success()
    }

    /// The API's error message, or the status.
    pub(crate) fn message(&self) -> String {
        self.json["error"]["message"]
            .as_str()
            .map(str::to_string)
            .unwrap_or_else(|| self.status.to_string())
    }
}

impl Web {
    /// Sends `method path` to the API as the browser (its cookie or Basic header), with the
    /// CSRF token when the page supplies one.
    pub(crate) async fn api(
        &self,
        inc: &Incoming,
        method: Method,
        path: &str,
        csrf: Option<&str>,
    ) -> ApiReply {
        self.send(inc, method, path, csrf, None).await
    }

    /// [`Web::api`] with a request body (`(content type, bytes)`).
    pub(crate) async fn send(
        &self,
        inc: &Incoming,
        method: Method,
        path: &str,
        csrf: Option<&str>,
        body: Option<(&str, Vec<u8>)>,
    ) -> ApiReply {
        let mut req = Request::builder().method(method).uri(path);
        for name in [
            header::COOKIE,
            header::AUTHORIZATION,
            header::HOST,
            header::ORIGIN,
        ] {
            for v in inc.headers.get_all(&name) {
                req = req.header(&name, v);
            }
        }
        if let Some(v) = inc.headers.get("x-forwarded-proto") {
            req = req.header("x-forwarded-proto", v);
        }
        if let Some(t) = csrf {
            req = req.header("x-csrf-token", t);
        }
        let body = match body {
            Some((content_type, bytes)) => {
                req = req.header(header::CONTENT_TYPE, content_type);
                Body::from(bytes)
            }
            None => Body::empty(),
        };
        let mut req = match req.body(body) {
            Ok(r) => r,
            Err(_) => {
                return ApiReply {
                    status: StatusCode::BAD_REQUEST,
                    headers: HeaderMap::new(),
                    json: Value::Null,
                }
            }
        };
        req.extensions_mut().insert(inc.conn.clone());
        let resp = match self.api_router.clone().oneshot(req).await {
            Ok(r) => r,
            Err(never) => match never {},
        };
        let status = resp.status();
        let headers = resp.headers().clone();
        let bytes = resp
            .into_body()
            .collect()
            .await
            .map(|c| c.to_bytes())
            .unwrap_or_default();
        ApiReply {
            status,
            headers,
            json: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        }
    }

    /// Who the browser is, by the API's rules: the session cookie when there is no
    /// `Authorization` header, else Basic or a token. With `form_token`, the request is an
    /// unsafe one and must also pass the CSRF and Origin rules (the session's token, or the
    /// anonymous one of a listener without credentials).
    fn resolve(&self, inc: &Incoming, form_token: Option<&str>) -> Result<Caller, String> {
        if !inc.headers.contains_key(header::AUTHORIZATION) {
            if let Some((_, principal, csrf)) = session::from_cookie(&self.api, &inc.headers) {
                if let Some(token) = form_token {
                    session::check_unsafe(&inc.headers, &csrf, Some(token))
                        .map_err(|e| e.message)?;
                }
                return Ok(Caller {
                    principal,
                    csrf: Some(csrf),
                });
            }
        }
        let method = if form_token.is_some() {
            Method::POST
        } else {
            Method::GET
        };
        let principal =
            api_access::authenticate(&self.api.credentials, &inc.conn, &inc.headers, &method)
                .map_err(|e| e.message)?;
        if let Some(token) = form_token {
            session::check_unsafe(&inc.headers, &self.anon_csrf, Some(token))
                .map_err(|e| e.message)?;
        }
        Ok(Caller {
            principal,
            csrf: None,
        })
    }

    /// Who the browser is (safe methods), or `None` when it must log in.
    pub(crate) fn caller(&self, inc: &Incoming) -> Option<Caller> {
        self.resolve(inc, None).ok()
    }

    /// Who sent this form, after its CSRF token and its Origin were checked.
    pub(crate) fn form_caller(&self, inc: &Incoming, token: &str) -> Result<Caller, String> {
        self.resolve(inc, Some(token))
    }

    /// The CSRF token forms of this caller carry.
    pub(crate) fn csrf_of<'a>(&'a self, caller: &'a Caller) -> &'a str {
        caller.csrf.as_deref().unwrap_or(&self.anon_csrf)
    }

    /// Whether the listener asks for credentials at all (else there is no login).
    pub(crate) fn has_login(&self, inc: &Incoming) -> bool {
        inc.conn.basic.is_some()
    }
}

pub(crate) fn may(caller: &Caller, role: Role) -> bool {
    caller.principal.role.allows(role)
}
