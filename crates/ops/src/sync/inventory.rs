//! The Deployer inventory: `DEPLOYER_SUPERVISORS`, a JSON array of
//! `{program, script, autostart, autorestart, stopwaitsecs, numprocs}` (seed 002's
//! `SupervisorDTO`), parsed and checked entry by entry so that one bad entry stops the
//! whole sync before any file is touched.

use serde_json::Value;

/// One program of the inventory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub program: String,
    pub script: String,
    pub autostart: bool,
    pub autorestart: bool,
    pub stopwaitsecs: u64,
    pub numprocs: u64,
}

/// Why the inventory was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InventoryError {
    /// Not JSON, or not an array (seed 002's message).
    #[error("Invalid DEPLOYER_SUPERVISORS JSON")]
    InvalidJson,
    /// Entries that are JSON but not a valid program, one message each.
    #[error("{}", .0.join("\n"))]
    BadEntries(Vec<String>),
}

const KNOWN: &[&str] = &[
    "program",
    "script",
    "autostart",
    "autorestart",
    "stopwaitsecs",
    "numprocs",
];

/// A name that can be part of a program name and a file name.
fn check_program(p: &str) -> Result<(), String> {
    crate::worker::validate::check_name(p)
}

/// `script` runs as `<site>/runner.sh .deployer/supervisors/<script>`: it must stay a
/// relative path inside that directory, one word, and not be `%`-interpolated.
fn check_script(s: &str) -> Result<(), String> {
    if s.is_empty() {
        return Err("script is empty".into());
    }
    if s.starts_with('/') {
        return Err(format!(
            "script {s:?} is an absolute path; give a path relative to .deployer/supervisors"
        ));
    }
    if s.contains("..") {
        return Err(format!(
            "script {s:?} contains \"..\"; it must stay inside .deployer/supervisors"
        ));
    }
    if let Some(c) = s
        .chars()
        .find(|c| c.is_whitespace() || c.is_control() || matches!(c, '%' | '\'' | '"' | '\\'))
    {
        return Err(format!("script {s:?} contains {c:?}"));
    }
    Ok(())
}

fn field_u64(obj: &serde_json::Map<String, Value>, key: &str, default: u64) -> Result<u64, String> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(default),
        Some(Value::Number(n)) => n
            .as_u64()
            .ok_or_else(|| format!("{key} must be a whole number ≥ 0, not {n}")),
        // PHP DTOs sometimes serialise numbers as strings.
        Some(Value::String(s)) => s
            .parse()
            .map_err(|_| format!("{key} must be a whole number, not {s:?}")),
        Some(other) => Err(format!("{key} must be a number, not {other}")),
    }
}

fn field_bool(
    obj: &serde_json::Map<String, Value>,
    key: &str,
    default: bool,
) -> Result<bool, String> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(default),
        Some(Value::Bool(b)) => Ok(*b),
        Some(other) => Err(format!("{key} must be true or false, not {other}")),
    }
}

/// Parses and checks the inventory; every bad entry is reported.
pub fn parse(json: &str) -> Result<Vec<Entry>, InventoryError> {
    let value: Value = serde_json::from_str(json).map_err(|_| InventoryError::InvalidJson)?;
    let Value::Array(items) = value else {
        return Err(InventoryError::InvalidJson);
    };
    let mut entries = Vec::new();
    let mut errors = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let label = |program: Option<&str>| match program {
            Some(p) => format!("entry {} (program {p:?})", i + 1),
            None => format!("entry {}", i + 1),
        };
        let Value::Object(obj) = item else {
            errors.push(format!("{}: not an object", label(None)));
            continue;
        };
        let program = obj.get("program").and_then(Value::as_str);
        let mut problems = Vec::new();
        if let Some(k) = obj.keys().find(|k| !KNOWN.contains(&k.as_str())) {
            problems.push(format!("unknown field {k:?} (known: {})", KNOWN.join(", ")));
        }
        match program {
            None => problems.push("program is missing or not a string".into()),
            Some(p) => {
                if let Err(e) = check_program(p) {
                    problems.push(format!("program: {e}"));
                }
            }
        }
        let script = obj.get("script").and_then(Value::as_str);
        match script {
            None => problems.push("script is missing or not a string".into()),
            Some(s) => {
                if let Err(e) = check_script(s) {
                    problems.push(e);
                }
            }
        }
        let autostart = field_bool(obj, "autostart", true).map_err(|e| problems.push(e));
        let autorestart = field_bool(obj, "autorestart", true).map_err(|e| problems.push(e));
        let stopwaitsecs = field_u64(obj, "stopwaitsecs", 10).map_err(|e| problems.push(e));
        let numprocs = match field_u64(obj, "numprocs", 1) {
            Ok(0) => {
                problems.push("numprocs must be at least 1".into());
                Err(())
            }
            r => r.map_err(|e| problems.push(e)),
        };
        if let Some(p) = program {
            if entries.iter().any(|e: &Entry| e.program == p) {
                problems.push("program is listed twice".into());
            }
        }
        if !problems.is_empty() {
            for p in problems {
                errors.push(format!("{}: {p}", label(program)));
            }
            continue;
        }
        entries.push(Entry {
            program: program.expect("checked").to_string(),
            script: script.expect("checked").to_string(),
            autostart: autostart.expect("checked"),
            autorestart: autorestart.expect("checked"),
            stopwaitsecs: stopwaitsecs.expect("checked"),
            numprocs: numprocs.expect("checked"),
        });
    }
    if errors.is_empty() {
        Ok(entries)
    } else {
        Err(InventoryError::BadEntries(errors))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_seed_example() {
        let e = parse(
            r#"[{"program":"queue-worker","script":"queue-worker.sh","autostart":true,
                "autorestart":true,"stopwaitsecs":3600,"numprocs":1}]"#,
        )
        .unwrap();
        assert_eq!(
            e,
            vec![Entry {
                program: "queue-worker".into(),
                script: "queue-worker.sh".into(),
                autostart: true,
                autorestart: true,
                stopwaitsecs: 3600,
                numprocs: 1
            }]
        );
        assert_eq!(parse("[]").unwrap(), vec![]);
    }

    #[test]
    fn refuses_bad_json_and_bad_entries() {
        assert_eq!(parse("{").unwrap_err(), InventoryError::InvalidJson);
        assert_eq!(parse("{}").unwrap_err(), InventoryError::InvalidJson);
        for (json, needle) in [
            (r#"[{"program":"a","script":"../x.sh"}]"#, "\"..\""),
            (r#"[{"program":"a","script":"/bin/sh"}]"#, "absolute"),
            (r#"[{"program":"a b","script":"x.sh"}]"#, "character: ' '"),
            (
                r#"[{"program":"a","script":"x.sh","numprocs":0}]"#,
                "at least 1",
            ),
            (
                r#"[{"program":"a","script":"x.sh","stopwaitsecs":-1}]"#,
                "whole number",
            ),
            (
                r#"[{"program":"a","script":"x.sh","autostart":"yes"}]"#,
                "true or false",
            ),
            (
                r#"[{"program":"a","script":"x.sh","nmprocs":2}]"#,
                "unknown field",
            ),
            (
                r#"[{"program":"a","script":"x.sh"},{"program":"a","script":"y.sh"}]"#,
                "twice",
            ),
        ] {
            let e = parse(json).unwrap_err().to_string();
            assert!(e.contains(needle), "{json}: {e}");
        }
    }
}
