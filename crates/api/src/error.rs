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
