//! Authentication, authorisation and audit building blocks for Steward's HTTP listeners.
//!
//! This crate owns no sockets and no HTTP: it turns credentials into a [`Principal`] and
//! records what principals did. The API layer wires it up per request:
//!
//! 1. Credentials → principal: an `Authorization: Basic` header goes to [`Users`] (the
//!    listener's own `username`/`password`, which is `admin`, plus the `[user:NAME]`
//!    sections); `Authorization: Bearer stw_…` goes to [`TokenStore::verify`] (a file of
//!    hashed tokens the daemon follows live); a session cookie goes to
//!    [`SessionStore::lookup`] (login attempts limited by [`LoginLimiter`]). With no
//!    credentials configured on a listener, [`Listener::anonymous`] says who the caller is.
//! 2. Principal → permission: [`Role::allows`] (`viewer < logs < operator < admin`) and
//!    [`Principal::may_touch_group`] (optional group globs).
//! 3. What a viewer sees: [`redact`] hides secret-named values and URL passwords.
//! 4. Every state-changing request: one [`AuditEntry`] appended to the [`AuditLog`]
//!    (`<state_dir>/audit.jsonl`), served back newest first by [`AuditLog::recent`].
//!
//! Files live under the daemon's state directory unless the config names them:
//! `tokens.json` (mode 0600, `[steward] token_file`) and `audit.jsonl` (mode 0600).
//! The user-facing description is docs/security.md.

pub mod audit;
pub mod password;
pub mod redact;
pub mod role;
pub mod session;
pub mod tokens;
pub mod users;

pub use audit::{audit_file_for, AuditEntry, AuditError, AuditLog, AuditRecord};
pub use password::{hash_password, parse_basic, parse_bearer, StoredPassword};
pub use redact::{is_secret_name, redact_env, redact_url_credentials, REDACTED};
pub use role::{parse_group_globs, GroupScope, Listener, Principal, Role, UnknownRole, Via};
pub use session::{
    clear_session_cookie, same_origin, session_cookie, session_id_from_cookies, LoginLimiter,
    SessionPolicy, SessionStore, SESSION_COOKIE,
};
pub use tokens::{parse_expiry, token_file_for, TokenError, TokenInfo, TokenStore};
pub use users::{UserAccount, Users};
