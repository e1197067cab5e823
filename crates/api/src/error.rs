//! The API's one error shape: `{"error": {"code", "message", "target"}}` with the status
//! that fits (404 unknown name, 409 wrong state, 400 bad input, 401, 403, 503 while the
//! daemon shuts down). A user's mistake is never a 500.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use steward_engine::ActionError;

/// An error answer.
#[derive(Debug, Clone)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub target: Option<String>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            code,
            message: message.into(),
            target: None,
        }
    }

    pub fn with_target(mut self, target: impl Into<String>) -> ApiError {
        self.target = Some(target.into());
        self
    }

    pub fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, "BAD_REQUEST", message)
    }

    pub fn not_found(what: &str, name: &str) -> ApiError {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "BAD_NAME",
            format!("no such {what}: {name}"),
        )
        .with_target(name)
    }

    /// An engine refusal, named after supervisord's fault, about `target`.
    pub fn from_action(e: &ActionError, target: &str) -> ApiError {
        use ActionError as E;
        let (status, code, message) = match e {
            E::BadName => (
                StatusCode::NOT_FOUND,
                "BAD_NAME",
                format!("no such process or group: {target}"),
            ),
            E::NoFile(m) => (StatusCode::CONFLICT, "NO_FILE", m.clone()),
            E::NotExecutable(m) => (StatusCode::CONFLICT, "NOT_EXECUTABLE", m.clone()),
            E::AlreadyStarted => (
                StatusCode::CONFLICT,
                "ALREADY_STARTED",
                format!("{target} is already started"),
            ),
            E::NotRunning => (
                StatusCode::CONFLICT,
                "NOT_RUNNING",
                format!("{target} is not running"),
            ),
            E::SpawnError => (
                StatusCode::CONFLICT,
                "SPAWN_ERROR",
                format!("{target} could not be spawned"),
            ),
            E::AbnormalTermination => (
                StatusCode::CONFLICT,
                "ABNORMAL_TERMINATION",
                format!("{target} exited before it was running"),
            ),
            E::Failed(m) => (StatusCode::CONFLICT, "FAILED", m.clone()),
            E::ShutdownState => (
                StatusCode::SERVICE_UNAVAILABLE,
                "SHUTDOWN_STATE",
                "the daemon is shutting down or restarting".to_string(),
            ),
            E::AlreadyAdded => (
                StatusCode::CONFLICT,
                "ALREADY_ADDED",
                format!("{target} is already added"),
            ),
            E::StillRunning => (
                StatusCode::CONFLICT,
                "STILL_RUNNING",
                format!("{target} is still running"),
            ),
            E::CantReread(m) => (StatusCode::BAD_REQUEST, "CANT_REREAD", m.clone()),
        };
        ApiError {
            status,
            code,
            message,
            target: Some(target.to_string()),
        }
    }

    /// The JSON value of this error (also used inside per-member results).
    pub fn body(&self) -> serde_json::Value {
        json!({"error": {"code": self.code, "message": self.message, "target": self.target}})
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut r = (self.status, axum::Json(self.body())).into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            r.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"steward\""),
            );
        }
        r
    }
}

pub type ApiResult<T> = Result<T, ApiError>;

/// A count from the query string (`limit`, `lines`): `default` when absent, else a number
/// from 1 to `max`, or a 400 naming the parameter and the range.
pub fn count_param(
    value: Option<&str>,
    name: &str,
    default: usize,
    max: usize,
) -> ApiResult<usize> {
    match value {
        None => Ok(default),
        Some(v) => v
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=max).contains(n))
            .ok_or_else(|| {
                ApiError::bad_request(format!("{name} must be a number from 1 to {max}"))
            }),
    }
}

/// A query string as `T`, or the API's 400 (axum's own rejection is plain text).
pub struct JsonQuery<T>(pub T);

impl<T, S> axum::extract::FromRequestParts<S> for JsonQuery<T>
where
    T: serde::de::DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _state: &S,
    ) -> Result<Self, Self::Rejection> {
        axum::extract::Query::<T>::try_from_uri(&parts.uri)
            .map(|q| JsonQuery(q.0))
            .map_err(|e| ApiError::bad_request(format!("bad query string: {}", e.body_text())))
    }
}

/// An optional JSON body (absent or empty is `None`), or the API's 400.
pub struct OptionalJson(pub Option<serde_json::Value>);

impl<S> axum::extract::FromRequest<S> for OptionalJson
where
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: axum::extract::Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = axum::body::Bytes::from_request(req, state)
            .await
            .map_err(|e| ApiError::bad_request(format!("unreadable body: {}", e.body_text())))?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(OptionalJson(None));
        }
        let v: serde_json::Value = serde_json::from_slice(&bytes)
            .map_err(|e| ApiError::bad_request(format!("the body is not JSON: {e}")))?;
        if !v.is_object() {
            return Err(ApiError::bad_request("the body must be a JSON object"));
        }
        if let Some(sig) = v.get("signal") {
            let text = match sig {
                serde_json::Value::String(s) => s.clone(),
                // JSON Schema counts 30.0 as an integer, so accept it as one.
                serde_json::Value::Number(n) => match n.as_f64() {
                    Some(f) if f.fract() == 0.0 && (0.0..=64.0).contains(&f) => {
                        (f as u64).to_string()
                    }
                    _ => String::new(),
                },
                _ => String::new(),
            };
            let known = steward_config::parse_signal(&text).is_ok_and(|n| (1..=31).contains(&n));
            if !known {
                return Err(ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "BAD_SIGNAL",
                    "`signal` must be a signal name (\"HUP\") or number (1-31)",
                ));
            }
        }
        Ok(OptionalJson(Some(v)))
    }
}
