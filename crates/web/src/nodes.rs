//! The nodes page (`/nodes`): a switcher over this daemon and its `[node:x]` nodes, and
//! one node's processes or every node's at once ("all nodes").
//!
//! Data flow: like every page, it reads through the JSON API as the browser's user —
//! `GET /api/v1/nodes` for the statuses, `GET /api/v1/nodes/{node}/processes` for each
//! node shown — so the browser only ever talks to this daemon, sees no node credentials,
//! and gets exactly the processes its role and groups allow. Action buttons post to
//! `/action` with `kind=node`, which forwards them to
//! `POST /api/v1/nodes/{node}/processes/{name}/{action}`. `assets/app.js` re-fetches the
//! view every two seconds; without JavaScript it is a plain page.

use std::sync::Arc;

use axum::extract::Request;
use axum::http::Method;
use serde_json::Value;
use steward_api::access::Role;

use crate::html::{self, esc, state_cell, url, Nav};
use crate::pages::{load, message_html, page_for, PageFuture};
use crate::{may, Caller, Incoming, Web};

/// The page's address for one node (`all` for every node).
fn href(node: &str) -> String {
    format!("nodes?node={}", url(node))
}

/// The node links: "All nodes", then each node with its status.
pub(crate) fn switcher(nodes: &[Value], current: Option<&str>) -> String {
    let link = |target: &str, label: String| {
        let cur = if current == Some(target) {
            " aria-current=\"page\""
        } else {
            ""
        };
        format!("<a href=\"{}\"{cur}>{label}</a>", esc(&href(target)))
    };
    let mut out = String::from("<nav class=\"nodes-switch\" aria-label=\"Nodes\">");
    out.push_str(&link("all", "All nodes".into()));
    for n in nodes {
        let name = n["name"].as_str().unwrap_or("");
        let status = n["status"].as_str().unwrap_or("pending");
        let this = if n["local"] == true {
            " (this node)"
        } else {
            ""
        };
        out.push_str(&link(
            name,
            format!(
                "{}{this} <span class=\"nstatus n-{s}\">{s}</span>",
                esc(name),
                s = esc(status)
            ),
        ));
    }
    out.push_str("</nav>");
    out
}

fn row(web: &Web, caller: &Caller, node: &str, p: &Value) -> String {
    let name = p["name"].as_str().unwrap_or("");
    let state = p["state"].as_str().unwrap_or("UNKNOWN");
    let mut acts = String::new();
    if may(caller, Role::Operator) {
        let list: &[&str] = match state {
            "RUNNING" | "STARTING" => &["stop", "restart"],
            "BACKOFF" => &["start", "stop"],
            "STOPPING" => &[],
            _ => &["start"],
        };
        for a in list {
            acts.push_str(&html::action_form(
                web.csrf_of(caller),
                &[
                    ("kind", "node"),
                    ("node", node),
                    ("name", name),
                    ("action", a),
                    ("back", &href(node)),
                ],
                a,
                &format!("{a} {name} on {node}"),
                "act",
            ));
        }
    }
    format!(
        "<tr data-node=\"{nd}\" data-name=\"{n}\" data-state=\"{s}\">{cell}<td class=\"node\">{nd}</td>\
         <td class=\"name\">{n}</td><td class=\"num\">{pid}</td><td class=\"num\">{up}</td><td>{d}</td>\
         <td class=\"actions\">{acts}</td></tr>",
        nd = esc(node),
        n = esc(name),
        s = esc(state),
        cell = state_cell(state),
        pid = p["pid"].as_i64().map(|v| v.to_string()).unwrap_or_default(),
        up = p["uptime_s"].as_u64().map(html::duration).unwrap_or_default(),
        d = esc(p["description"].as_str().unwrap_or("")),
    )
}

/// One node's section: its status line and its processes.
async fn section(web: &Web, inc: &Incoming, caller: &Caller, n: &Value) -> String {
    let name = n["name"].as_str().unwrap_or("");
    let status = n["status"].as_str().unwrap_or("pending");
    let mut out = format!(
        "<section class=\"node\" data-node=\"{ne}\" data-status=\"{se}\" aria-label=\"Node {ne}\">\
         <h2>{ne} <span class=\"nstatus n-{se}\">{se}</span>{lat}</h2>",
        ne = esc(name),
        se = esc(status),
        lat = n["latency_ms"]
            .as_u64()
            .map(|ms| format!(" <small>{ms} ms</small>"))
            .unwrap_or_default(),
    );
    match status {
        "unreachable" => {
            out.push_str(&format!(
                "<p class=\"status error\">unreachable since {}: {}</p>",
                esc(n["since"].as_str().unwrap_or("")),
                esc(n["error"].as_str().unwrap_or(""))
            ));
        }
        "pending" => out.push_str("<p class=\"empty\">Not asked yet</p>"),
        _ => {
            let reply = web
                .api(
                    inc,
                    Method::GET,
                    &format!("/api/v1/nodes/{}/processes", url(name)),
                    None,
                )
                .await;
            let procs = reply.json["processes"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            if !reply.ok() {
                out.push_str(&format!(
                    "<p class=\"status error\">{}</p>",
                    esc(&reply.message())
                ));
            } else if procs.is_empty() {
                out.push_str("<p class=\"empty\">No programs to manage</p>");
            } else {
                out.push_str(
                    "<div class=\"wrap\" role=\"region\" tabindex=\"0\"><table class=\"nodeprocs\"><thead><tr>\
                     <th scope=\"col\">State</th><th scope=\"col\">Node</th><th scope=\"col\">Name</th>\
                     <th scope=\"col\">PID</th><th scope=\"col\">Uptime</th><th scope=\"col\">Description</th>\
                     <th scope=\"col\">Actions</th></tr></thead><tbody>",
                );
                for p in &procs {
                    out.push_str(&row(web, caller, name, p));
                }
                out.push_str("</tbody></table></div>");
            }
        }
    }
    out.push_str("</section>");
    out
}

pub(crate) fn page(web: Arc<Web>, req: Request) -> PageFuture {
    Box::pin(async move {
        let (inc, caller, reply) = match load(&web, req, |_| "/api/v1/nodes".to_string()).await {
            Ok(v) => v,
            Err(r) => return *r,
        };
        let nodes = reply.json["nodes"].as_array().cloned().unwrap_or_default();
        let wanted = inc.param("node").unwrap_or_else(|| "all".into());
        let shown: Vec<&Value> = nodes
            .iter()
            .filter(|n| wanted == "all" || n["name"] == wanted.as_str())
            .collect();
        let mut body = message_html(&inc);
        body.push_str(&switcher(&nodes, Some(&wanted)));
        body.push_str("<div id=\"nodes-view\" data-refresh=\"2000\">");
        if shown.is_empty() {
            body.push_str(&format!(
                "<p class=\"status error\">no such node: {}</p>",
                esc(&wanted)
            ));
        }
        for n in shown {
            body.push_str(&section(&web, &inc, &caller, n).await);
        }
        body.push_str("</div>");
        let title = if wanted == "all" {
            "All nodes".to_string()
        } else {
            format!("Node {wanted}")
        };
        page_for(&web, &inc, &caller, &title, Nav::Nodes, &body)
    })
}
