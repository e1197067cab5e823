//! supervisord's XML-RPC fault codes (`supervisor/xmlrpc.py` `Faults`) and the
//! `NAME` / `NAME: extra` fault strings built from them.

use crate::value::Fault;

pub const UNKNOWN_METHOD: i32 = 1;
pub const INCORRECT_PARAMETERS: i32 = 2;
pub const BAD_ARGUMENTS: i32 = 3;
pub const SIGNATURE_UNSUPPORTED: i32 = 4;
pub const SHUTDOWN_STATE: i32 = 6;
pub const BAD_NAME: i32 = 10;
pub const BAD_SIGNAL: i32 = 11;
pub const NO_FILE: i32 = 20;
pub const NOT_EXECUTABLE: i32 = 21;
pub const FAILED: i32 = 30;
pub const ABNORMAL_TERMINATION: i32 = 40;
pub const SPAWN_ERROR: i32 = 50;
pub const ALREADY_STARTED: i32 = 60;
pub const NOT_RUNNING: i32 = 70;
pub const SUCCESS: i32 = 80;
pub const ALREADY_ADDED: i32 = 90;
pub const STILL_RUNNING: i32 = 91;
pub const CANT_REREAD: i32 = 92;

/// Every (code, name) pair.
pub const ALL: &[(i32, &str)] = &[
    (UNKNOWN_METHOD, "UNKNOWN_METHOD"),
    (INCORRECT_PARAMETERS, "INCORRECT_PARAMETERS"),
    (BAD_ARGUMENTS, "BAD_ARGUMENTS"),
    (SIGNATURE_UNSUPPORTED, "SIGNATURE_UNSUPPORTED"),
    (SHUTDOWN_STATE, "SHUTDOWN_STATE"),
    (BAD_NAME, "BAD_NAME"),
    (BAD_SIGNAL, "BAD_SIGNAL"),
    (NO_FILE, "NO_FILE"),
    (NOT_EXECUTABLE, "NOT_EXECUTABLE"),
    (FAILED, "FAILED"),
    (ABNORMAL_TERMINATION, "ABNORMAL_TERMINATION"),
    (SPAWN_ERROR, "SPAWN_ERROR"),
    (ALREADY_STARTED, "ALREADY_STARTED"),
    (NOT_RUNNING, "NOT_RUNNING"),
    (SUCCESS, "SUCCESS"),
    (ALREADY_ADDED, "ALREADY_ADDED"),
    (STILL_RUNNING, "STILL_RUNNING"),
    (CANT_REREAD, "CANT_REREAD"),
];

/// The symbolic name of a code; `UNKNOWN` for codes supervisord doesn't define
/// (as its `getFaultDescription`).
pub fn name(code: i32) -> &'static str {
    ALL.iter()
        .find(|(c, _)| *c == code)
        .map(|(_, n)| *n)
        .unwrap_or("UNKNOWN")
}

/// `NAME` or `NAME: extra`, as supervisord's `RPCError`.
pub fn fault(code: i32, extra: Option<&str>) -> Fault {
    let string = match extra {
        Some(e) => format!("{}: {}", name(code), e),
        None => name(code).to_string(),
    };
    Fault { code, string }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings() {
        assert_eq!(fault(BAD_NAME, Some("foo")).string, "BAD_NAME: foo");
        assert_eq!(fault(SHUTDOWN_STATE, None).string, "SHUTDOWN_STATE");
        assert_eq!(fault(SHUTDOWN_STATE, None).code, 6);
        assert_eq!(name(12345), "UNKNOWN");
        assert_eq!(ALL.len(), 18);
    }
}
