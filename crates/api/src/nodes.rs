//! Node routes: every node's status, one node's processes, and actions on a node's
//! processes, served by the local daemon for browsers and scripts that never talk to a
//! remote node themselves (docs/nodes.md).
//!
//! Data flow: the daemon hands [`ApiState::set_nodes`] its own node name and the
//! [`steward_nodes::Fleet`] built from the config's `[node:x]` sections; the fleet's
//! tasks keep every remote node's latest view. Reads come from those views (no route
//! waits on a node); an action is checked here against the caller's role and group
//! scope, then sent to the node with the node's own credentials, which never appear in
//! an answer. The local node is answered from the engine, as `/processes` does.

use std::sync::Arc;

use axum::extract::{Path as UrlPath, State};
use axum::http::StatusCode;
use axum::{Extension, Json};
use serde_json::{json, Value};
use steward_nodes::{Action, Fleet, NodeError, NodeStatus, NodeView};

use crate::access::{self, Connection, Principal, Role};
use crate::error::{ApiError, ApiResult, OptionalJson};
use crate::ApiState;

/// This daemon's node name and the remote nodes it follows.
pub struct Nodes {
    pub local: String,
    pub fleet: Option<Arc<Fleet>>,
}

impl ApiState {
    /// Gives the API the node name of this daemon and its fleet of remote nodes (once).
    pub fn set_nodes(&self, local: String, fleet: Option<Arc<Fleet>>) {
        let _ = self.nodes.set(Nodes { local, fleet });
    }

    /// The node setup (a lone local node named `localhost` when none was given).
    pub fn nodes(&self) -> &Nodes {
        self.nodes.get_or_init(|| Nodes {
            local: "localhost".into(),
            fleet: None,
        })
    }
}

fn status_json(v: &NodeView) -> Value {
    let mut out = json!({
        "name": v.name,
        "local": false,
        "url": v.url,
        "checked_at": v.checked_at,
        "latency_ms": v.latency_ms,
        "process_count": v.processes.len(),
    });
    match &v.status {
        NodeStatus::Pending => out["status"] = json!("pending"),
        NodeStatus::Ok => out["status"] = json!("ok"),
        NodeStatus::Unreachable { since, error } => {
            out["status"] = json!("unreachable");
            out["since"] = json!(since);
            out["error"] = json!(error);
        }
    }
    out
}

/// `GET /nodes`: this node first, then every `[node:x]` in config order.
pub async fn list(
    State(st): State<Arc<ApiState>>,
    Extension(who): Extension<Principal>,
) -> ApiResult<Json<Value>> {
    access::require(&who, Role::Viewer)?;
    let nodes = st.nodes();
    let scope = who.group_scope();
    let local_count = st
        .engine
        .snapshot()
        .processes
        .iter()
        .filter(|p| scope.allows(&p.group))
        .count();
    let mut list = vec![json!({
        "name": nodes.local,
        "local": true,
        "status": "ok",
        "process_count": local_count,
    })];
    if let Some(fleet) = &nodes.fleet {
        for v in fleet.views() {
            let mut j = status_json(&v);
            j["process_count"] = json!(v
                .processes
                .iter()
                .filter(|p| scope.allows(&p.group))
                .count());
            list.push(j);
        }
    }
    Ok(Json(json!({"local": nodes.local, "nodes": list})))
}

fn remote_view(st: &ApiState, node: &str) -> ApiResult<Arc<NodeView>> {
    st.nodes()
        .fleet
        .as_ref()
        .and_then(|f| f.view(node))
        .ok_or_else(|| unknown_node(node))
}

fn unknown_node(node: &str) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "BAD_NODE",
        format!("no such node: {node}"),
    )
    .with_target(node)
}

/// `GET /nodes/{node}/processes`: the node's processes as of its latest poll.
pub async fn processes(
    State(st): State<Arc<ApiState>>,
    Extension(who): Extension<Principal>,
    UrlPath(node): UrlPath<String>,
) -> ApiResult<Json<Value>> {
    access::require(&who, Role::Viewer)?;
    if node == st.nodes().local {
        let Json(mut v) = crate::processes::list(State(st.clone()), Extension(who)).await?;
        v["node"] = json!(node);
        v["status"] = json!("ok");
        return Ok(Json(v));
    }
    let view = remote_view(&st, &node)?;
    if let NodeStatus::Unreachable { since, error } = &view.status {
        return Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "NODE_UNREACHABLE",
            format!("node {node} unreachable since {since}: {error}"),
        )
        .with_target(node));
    }
    let scope = who.group_scope();
    let list: Vec<&steward_nodes::NodeProcess> = view
        .processes
        .iter()
        .filter(|p| scope.allows(&p.group))
        .collect();
    let mut out = status_json(&view);
    out["node"] = json!(node);
    out["processes"] = json!(list);
    Ok(Json(out))
}

/// `POST /nodes/{node}/processes/{name}/{action}`: start, stop, restart or signal a
/// process of the node, with the caller's role and groups checked here.
pub async fn act(
    State(st): State<Arc<ApiState>>,
    Extension(who): Extension<Principal>,
    Extension(conn): Extension<Connection>,
    UrlPath((node, name, action)): UrlPath<(String, String, String)>,
    body: OptionalJson,
) -> ApiResult<Json<Value>> {
    access::require(&who, Role::Operator)?;
    if node == st.nodes().local {
        return crate::processes::act(
            State(st),
            Extension(who),
            Extension(conn),
            UrlPath((name, action)),
            body,
        )
        .await;
    }
    let client = st
        .nodes()
        .fleet
        .as_ref()
        .and_then(|f| f.client(&node))
        .ok_or_else(|| unknown_node(&node))?;
    let group = name.split_once(':').map_or(name.as_str(), |(g, _)| g);
    access::require_group(&who, group)?;
    let signal = match body.0.as_ref().and_then(|b| b.get("signal")) {
        Some(Value::String(s)) => Some(s.clone()),
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => None,
    };
    let Some(act) = Action::parse(&action, signal.as_deref()) else {
        return Err(if action == "signal" {
            ApiError::bad_request("expected a JSON body {\"signal\": \"HUP\"}")
        } else {
            ApiError::new(
                StatusCode::NOT_FOUND,
                "NOT_FOUND",
                format!("no action `{action}` (start, stop, restart, signal)"),
            )
        });
    };
    let result = client
        .act(&name, &act)
        .await
        .map_err(|e| remote_error(&e, &node, &name));
    st.audit(
        &who,
        &conn,
        &format!("node {node}: {action}"),
        &name,
        result.as_ref().err().cloned(),
    );
    result?;
    Ok(Json(json!({"result": "ok", "node": node, "process": name})))
}

/// A node's refusal or silence as an API error (never a 500: the node, not this
/// daemon, failed).
fn remote_error(e: &NodeError, node: &str, name: &str) -> ApiError {
    use steward_rpc::faults;
    if let Some((code, text)) = e.fault() {
        let (status, api_code) = match code {
            faults::BAD_NAME => (StatusCode::NOT_FOUND, "BAD_NAME"),
            faults::ALREADY_STARTED => (StatusCode::CONFLICT, "ALREADY_STARTED"),
            faults::NOT_RUNNING => (StatusCode::CONFLICT, "NOT_RUNNING"),
            faults::BAD_SIGNAL => (StatusCode::BAD_REQUEST, "BAD_SIGNAL"),
            faults::SPAWN_ERROR => (StatusCode::CONFLICT, "SPAWN_ERROR"),
            _ => (StatusCode::BAD_GATEWAY, "NODE_FAULT"),
        };
        return ApiError::new(status, api_code, format!("node {node}: {text}")).with_target(name);
    }
    if let NodeError::Refused {
        status,
        code,
        message,
    } = e
    {
        // The node's own refusal (404 no such process, 409 wrong state…) keeps its
        // status; its credentials being refused there is the node's problem, not the
        // caller's (502, not 401).
        let status = match *status {
            400 | 404 | 409 => StatusCode::from_u16(*status).unwrap_or(StatusCode::BAD_GATEWAY),
            _ => StatusCode::BAD_GATEWAY,
        };
        let api_code = match code.as_str() {
            "BAD_NAME" => "BAD_NAME",
            "NOT_RUNNING" => "NOT_RUNNING",
            "ALREADY_STARTED" => "ALREADY_STARTED",
            "BAD_SIGNAL" => "BAD_SIGNAL",
            _ => "NODE_REFUSED",
        };
        return ApiError::new(status, api_code, format!("node {node}: {message}"))
            .with_target(name);
    }
    let (status, code) = match e {
        NodeError::Timeout(_) => (StatusCode::GATEWAY_TIMEOUT, "NODE_TIMEOUT"),
        _ => (StatusCode::BAD_GATEWAY, "NODE_UNREACHABLE"),
    };
    ApiError::new(status, code, format!("node {node}: {e}")).with_target(name)
}
