//! The OpenAPI 3.1 document of every route, served at `/api/v1/openapi.json`.
//!
//! Written by hand rather than derived (utoipa would need annotations on every handler
//! and types for replies that are built as JSON values); schemathesis runs against this
//! document in the test suite, so a route and its description cannot drift apart
//! silently.

use serde_json::{json, Value};

fn error_ref() -> Value {
    json!({"description": "error", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}})
}

fn ok(schema: Value) -> Value {
    json!({"description": "ok", "content": {"application/json": {"schema": schema}}})
}

fn errors(mut responses: Value, codes: &[&str]) -> Value {
    for c in codes {
        responses[*c] = error_ref();
    }
    responses
}

fn path_param(name: &str, description: &str) -> Value {
    json!({"name": name, "in": "path", "required": true, "description": description, "schema": {"type": "string", "minLength": 1}})
}

fn query_param(name: &str, schema: Value, description: &str) -> Value {
    json!({"name": name, "in": "query", "required": false, "description": description, "schema": schema})
}

fn sse(description: &str) -> Value {
    json!({"description": description, "content": {"text/event-stream": {"schema": {"type": "string"}}}})
}

fn action_enum() -> Value {
    json!({"name": "action", "in": "path", "required": true, "schema": {"type": "string", "enum": ["start", "stop", "restart"]}})
}

/// The body of a `signal` action: the signal is required there.
fn required_signal_body() -> Value {
    let mut b = signal_body();
    b["required"] = json!(true);
    b["content"]["application/json"]["schema"]["required"] = json!(["signal"]);
    b
}

/// The signals a process can be sent, by the names `signal` accepts.
const SIGNALS: &[&str] = &[
    "HUP", "INT", "QUIT", "ILL", "TRAP", "ABRT", "BUS", "FPE", "KILL", "USR1", "SEGV", "USR2",
    "PIPE", "ALRM", "TERM", "CHLD", "CONT", "STOP", "TSTP", "TTIN", "TTOU", "URG", "XCPU", "XFSZ",
    "VTALRM", "PROF", "WINCH", "IO", "PWR", "SYS",
];

fn signal_body() -> Value {
    json!({"required": false, "content": {"application/json": {"schema": {
        "type": "object",
        "properties": {"signal": {
            "description": "required for `signal`: a name or a number",
            "anyOf": [
                {"type": "string", "enum": SIGNALS},
                {"type": "integer", "minimum": 1, "maximum": 31}
            ]
        }}
    }}}})
}

/// The node routes (docs/nodes.md): status of every node, a node's processes, actions
/// proxied to a node.
fn node_paths() -> Value {
    let node = path_param("node", "a node name (this daemon's own, or a [node:x])");
    let node_status = json!({"type": "object", "required": ["name", "local", "status"], "properties": {
        "name": {"type": "string"}, "local": {"type": "boolean"},
        "status": {"type": "string", "enum": ["ok", "pending", "unreachable"]},
        "url": {"type": "string"}, "since": {"type": "string"}, "error": {"type": "string"},
        "checked_at": {"type": ["string", "null"]}, "latency_ms": {"type": ["integer", "null"]},
        "process_count": {"type": "integer"}
    }});
    json!({
        "/api/v1/nodes": {"get": {"summary": "This node and every [node:x]: ok, pending or unreachable since when (never credentials)",
            "responses": errors(json!({"200": ok(json!({"type": "object", "required": ["local", "nodes"], "properties": {
                "local": {"type": "string"}, "nodes": {"type": "array", "items": node_status}
            }}))}), &["401", "403"])}},
        "/api/v1/nodes/{node}/processes": {"get": {"summary": "A node's processes as of its latest poll (503 while it is unreachable)",
            "parameters": [node.clone()],
            "responses": errors(json!({"200": ok(json!({"type": "object", "required": ["node", "processes"], "properties": {
                "node": {"type": "string"}, "status": {"type": "string"},
                "processes": {"type": "array", "items": {"type": "object", "required": ["name", "group", "process", "state"]}}
            }}))}), &["401", "403", "404", "503"])}},
        "/api/v1/nodes/{node}/processes/{name}/{action}": {"post": {"summary": "start, stop, restart or signal a process of a node; the caller's role and groups are checked here",
            "parameters": [node, path_param("name", "`group:process`, or a bare name"),
                {"name": "action", "in": "path", "required": true, "schema": {"type": "string", "enum": ["start", "stop", "restart", "signal"]}}],
            "requestBody": signal_body(),
            "responses": errors(json!({"200": ok(json!({"type": "object", "properties": {"result": {"type": "string"}}}))}), &["400", "401", "403", "404", "409", "502", "503", "504"])}}
    })
}

/// The document.
pub fn document() -> Value {
    let mut doc = base_document();
    if let (Some(paths), Value::Object(more)) = (doc["paths"].as_object_mut(), node_paths()) {
        paths.extend(more);
    }
    doc
}

fn base_document() -> Value {
    let proc_name = path_param("name", "`group:process`, or a bare name");
    let auth = ["401", "403"];
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Steward API",
            "version": "1",
            "description": "Process supervision and cron. Authentication: a bearer token \
                (`steward token create`), or the listener's supervisord credentials (Basic) \
                for reads. See docs/api.md and docs/security.md."
        },
        "components": {
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer"},
                "basic": {"type": "http", "scheme": "basic"}
            },
            "schemas": {
                "Error": {"type": "object", "required": ["error"], "properties": {"error": {
                    "type": "object", "required": ["code", "message"],
                    "properties": {"code": {"type": "string"}, "message": {"type": "string"}, "target": {"type": ["string", "null"]}}
                }}},
                "Process": {"type": "object", "required": ["name", "group", "process", "state", "description", "restarts"], "properties": {
                    "name": {"type": "string"}, "group": {"type": "string"}, "process": {"type": "string"},
                    "state": {"type": "string", "enum": ["STOPPED", "STARTING", "RUNNING", "BACKOFF", "STOPPING", "EXITED", "FATAL", "UNKNOWN"]},
                    "pid": {"type": ["integer", "null"]}, "started_at": {"type": ["string", "null"]},
                    "uptime_s": {"type": ["integer", "null"]}, "exit_status": {"type": ["integer", "null"]},
                    "description": {"type": "string"}, "restarts": {"type": "integer"}
                }},
                "MemberResults": {"type": "object", "required": ["results"], "properties": {"results": {"type": "array", "items": {
                    "type": "object", "required": ["name", "result", "state"],
                    "properties": {"name": {"type": "string"}, "result": {"type": "string", "enum": ["ok", "error"]}, "state": {"type": "string"}}
                }}}},
                "CronJob": {"type": "object", "required": ["name", "schedule", "timezone", "enabled", "next_runs"], "properties": {
                    "name": {"type": "string"}, "schedule": {"type": "string"}, "schedule_words": {"type": "string"},
                    "timezone": {"type": "string"}, "enabled": {"type": "boolean"}, "paused": {"type": "boolean"}, "running": {"type": "boolean"},
                    "next_runs": {"type": "array", "items": {"type": "string"}},
                    "last_run": {"type": ["object", "null"]}
                }}
            }
        },
        "security": [{"bearer": []}, {"basic": []}],
        "paths": {
            "/healthz": {"get": {"summary": "RUNNING or not; no credentials", "security": [], "responses": {
                "200": ok(json!({"type": "object", "properties": {"status": {"type": "string"}}})),
                "503": ok(json!({"type": "object"}))
            }}},
            "/metrics": {"get": {"summary": "Prometheus metrics", "responses": errors(json!({"200": {"description": "text exposition", "content": {"text/plain": {"schema": {"type": "string"}}}}}), &auth)}},
            "/api/v1/openapi.json": {"get": {"summary": "This document", "security": [], "responses": {"200": ok(json!({"type": "object"}))}}},
            "/api/v1/processes": {"get": {"summary": "Every process", "responses": errors(json!({"200": ok(json!({"type": "object", "required": ["processes"], "properties": {"processes": {"type": "array", "items": {"$ref": "#/components/schemas/Process"}}}}))}), &auth)}},
            "/api/v1/processes/{name}": {"get": {"summary": "One process, its resources and resolved config (secrets redacted)", "parameters": [proc_name.clone()],
                "responses": errors(json!({"200": ok(json!({"$ref": "#/components/schemas/Process"}))}), &["401", "403", "404"])}},
            "/api/v1/processes/{name}/{action}": {"post": {"summary": "start, stop, restart or signal one process (waits for the new state)",
                "parameters": [proc_name.clone(), action_enum()], "requestBody": signal_body(),
                "responses": errors(json!({"200": ok(json!({"type": "object", "properties": {"result": {"type": "string"}, "process": {}}}))}), &["400", "401", "403", "404", "409", "503"])}},
            "/api/v1/processes/{name}/signal": {"post": {"summary": "Send a signal to one process", "parameters": [proc_name.clone()], "requestBody": required_signal_body(),
                "responses": errors(json!({"200": ok(json!({"type": "object", "properties": {"result": {"type": "string"}, "process": {}}}))}), &["400", "401", "403", "404", "409", "503"])}},
            "/api/v1/groups/{group}/signal": {"post": {"summary": "Send a signal to every process of a group", "parameters": [path_param("group", "group name")], "requestBody": required_signal_body(),
                "responses": errors(json!({"200": ok(json!({"$ref": "#/components/schemas/MemberResults"}))}), &["400", "401", "403", "404"])}},
            "/api/v1/all/signal": {"post": {"summary": "Send a signal to every process", "requestBody": required_signal_body(),
                "responses": errors(json!({"200": ok(json!({"$ref": "#/components/schemas/MemberResults"}))}), &["400", "401", "403", "404"])}},
            "/api/v1/processes/{name}/log": {"get": {"summary": "The last lines of a log", "parameters": [
                    proc_name.clone(),
                    query_param("stream", json!({"type": "string", "enum": ["stdout", "stderr"]}), "default stdout"),
                    query_param("lines", json!({"type": "integer", "minimum": 1, "maximum": 10000}), "default 100")
                ], "responses": errors(json!({"200": ok(json!({"type": "object", "properties": {"lines": {"type": "array", "items": {"type": "string"}}}}))}), &["400", "401", "403", "404", "409"])}},
            "/api/v1/processes/{name}/log/follow": {"get": {"summary": "New log output as it is written (SSE: `lines` events, each the new lines found by one poll, one `data:` field per line)", "parameters": [
                    proc_name.clone(),
                    query_param("stream", json!({"type": "string", "enum": ["stdout", "stderr"]}), "default stdout")
                ], "responses": errors(json!({"200": sse("line events")}), &["400", "401", "403", "404"])}},
            "/api/v1/groups/{group}/{action}": {"post": {"summary": "The action on every process of a group, in parallel", "parameters": [path_param("group", "group name"), action_enum()],
                "requestBody": signal_body(),
                "responses": errors(json!({"200": ok(json!({"$ref": "#/components/schemas/MemberResults"}))}), &["400", "401", "403", "404"])}},
            "/api/v1/all/{action}": {"post": {"summary": "The action on every process, in parallel", "parameters": [action_enum()], "requestBody": signal_body(),
                "responses": errors(json!({"200": ok(json!({"$ref": "#/components/schemas/MemberResults"}))}), &["400", "401", "403", "404"])}},
            "/api/v1/reload": {"post": {"summary": "reread + update (or only reread with dry_run)", "parameters": [
                    query_param("dry_run", json!({"type": "string", "enum": ["true", "false"]}), "only show what would change")
                ], "responses": errors(json!({"200": ok(json!({"type": "object", "required": ["added", "changed", "removed"], "properties": {
                    "added": {"type": "array", "items": {"type": "string"}}, "changed": {"type": "array", "items": {"type": "string"}}, "removed": {"type": "array", "items": {"type": "string"}}
                }}))}), &["400", "401", "403", "503"])}},
            "/api/v1/cron": {"get": {"summary": "Every [cron:x] job", "responses": errors(json!({"200": ok(json!({"type": "object", "properties": {"jobs": {"type": "array", "items": {"$ref": "#/components/schemas/CronJob"}}}}))}), &auth)}},
            "/api/v1/cron/{job}": {"get": {"summary": "One job", "parameters": [path_param("job", "job name")],
                "responses": errors(json!({"200": ok(json!({"$ref": "#/components/schemas/CronJob"}))}), &["401", "403", "404"])}},
            "/api/v1/cron/{job}/{action}": {"post": {"summary": "Run now (through the overlap policy); enable/disable", "parameters": [
                    path_param("job", "job name"),
                    {"name": "action", "in": "path", "required": true, "schema": {"type": "string", "enum": ["run", "enable", "disable"]}}
                ], "responses": errors(json!({"200": ok(json!({"type": "object"}))}), &["401", "403", "404", "409", "503"])}},
            "/api/v1/cron/{job}/runs": {"get": {"summary": "Run history, newest first, paged", "parameters": [
                    path_param("job", "job name"),
                    query_param("limit", json!({"type": "integer", "minimum": 1, "maximum": 500}), "default 20"),
                    query_param("cursor", json!({"type": "string", "pattern": "^[0-9]{1,19}$"}), "next_cursor of the previous page")
                ], "responses": errors(json!({"200": ok(json!({"type": "object", "properties": {"runs": {"type": "array"}, "next_cursor": {"type": ["string", "null"]}}}))}), &["400", "401", "403", "404"])}},
            "/api/v1/session": {
                "post": {"summary": "Log in (browser session): sets the steward_session cookie, returns the CSRF token", "security": [],
                    "requestBody": {"required": true, "content": {
                        "application/json": {"schema": {"type": "object", "required": ["username", "password"], "properties": {"username": {"type": "string"}, "password": {"type": "string"}}}},
                        "application/x-www-form-urlencoded": {"schema": {"type": "object", "required": ["username", "password"], "properties": {"username": {"type": "string"}, "password": {"type": "string"}}}}
                    }},
                    "responses": errors(json!({"200": ok(json!({"type": "object", "properties": {"user": {"type": "string"}, "role": {"type": "string"}, "csrf_token": {"type": "string"}}}))}), &["400", "401", "429"])},
                "get": {"summary": "Who is asking (and the session's CSRF token)", "responses": errors(json!({"200": ok(json!({"type": "object"}))}), &auth)},
                "delete": {"summary": "Log out (needs X-CSRF-Token)", "responses": errors(json!({"200": ok(json!({"type": "object"}))}), &auth)}
            },
            "/api/v1/commands": {"get": {"summary": "The declared [command:x] commands", "responses": errors(json!({"200": ok(json!({"type": "object", "properties": {"commands": {"type": "array"}}}))}), &auth)}},
            "/api/v1/commands/{name}/run": {"post": {"summary": "Run a declared command; replies with exit code, duration and output", "parameters": [path_param("name", "command name")],
                "responses": errors(json!({"200": ok(json!({"type": "object", "properties": {"exit_code": {"type": ["integer", "null"]}, "duration_s": {"type": "number"}, "output_head": {"type": "string"}, "output_tail": {"type": "string"}}}))}), &["401", "403", "404", "409", "503"])}},
            "/api/v1/commands/{name}/runs": {"get": {"summary": "Recent runs of a command, newest first (output for logs+ roles)", "parameters": [path_param("name", "command name")],
                "responses": errors(json!({"200": ok(json!({"type": "object", "properties": {"runs": {"type": "array"}}}))}), &["401", "403", "404"])}},
            "/api/v1/events": {"get": {"summary": "Live state changes (SSE); Last-Event-ID resumes", "parameters": [
                    {"name": "Last-Event-ID", "in": "header", "required": false, "schema": {"type": "string"}}
                ], "responses": errors(json!({"200": sse("process_state, process_health, daemon, group_added, group_removed, reload, cron_*, resync events")}), &auth)}},
            "/api/v1/audit": {"get": {"summary": "Who did what, newest first (admin)", "parameters": [
                    query_param("limit", json!({"type": "integer", "minimum": 1, "maximum": 10000}), "default 100")
                ], "responses": errors(json!({"200": ok(json!({"type": "object", "properties": {"records": {"type": "array"}}}))}), &["400", "401", "403"])}},
            "/api/v1/metrics": {"get": {"summary": "Same as /metrics", "responses": errors(json!({"200": {"description": "text exposition", "content": {"text/plain": {"schema": {"type": "string"}}}}}), &auth)}}
        }
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_path_has_responses() {
        let doc = super::document();
        for (path, item) in doc["paths"].as_object().unwrap() {
            for (verb, op) in item.as_object().unwrap() {
                assert!(op["responses"].is_object(), "{verb} {path}");
            }
        }
    }
}
