//! The page handlers. Each reads what it shows from the JSON API (as the browser), renders
//! it through [`crate::html`], and sends forms back through [`action`], which forwards them
//! to the API with the form's CSRF token and redirects back with the outcome.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use axum::extract::Request;
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::Value;
use steward_api::access::Role;

use crate::html::{self, esc, page, state_cell, url, Frame, Nav};
use crate::{may, Caller, Incoming, Web};

pub(crate) type PageFuture = Pin<Box<dyn Future<Output = Response> + Send>>;

fn html_response(status: StatusCode, body: String) -> Response {
    let mut r = (status, body).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    r
}

/// A page in the frame, status 200.
pub(crate) fn page_for(
    web: &Web,
    inc: &Incoming,
    caller: &Caller,
    title: &str,
    nav: Nav,
    body: &str,
) -> Response {
    html_response(
        StatusCode::OK,
        page(title, nav, &frame(web, inc, caller), body),
    )
}

/// A refused form (bad CSRF token, another site's Origin).
fn refused(message: &str) -> Response {
    html_response(
        StatusCode::FORBIDDEN,
        format!(
            "<!DOCTYPE html><html lang=\"en\"><title>Refused</title><p>{}</p></html>",
            esc(message)
        ),
    )
}

/// One field of a form body (empty when missing).
fn field(form: &[(String, String)], name: &str) -> String {
    form.iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.clone())
        .unwrap_or_default()
}

fn redirect(location: &str) -> Response {
    let mut r = StatusCode::SEE_OTHER.into_response();
    if let Ok(v) = HeaderValue::from_str(location) {
        r.headers_mut().insert(header::LOCATION, v);
    }
    r
}

fn frame<'a>(web: &'a Web, _inc: &Incoming, caller: &'a Caller) -> Frame<'a> {
    let p = &caller.principal;
    Frame {
        user: Some((&p.name, p.role.as_str())),
        csrf: web.csrf_of(caller),
        is_admin: may(caller, Role::Admin),
        logout: caller.csrf.is_some(),
        has_nodes: web.api.nodes().fleet.is_some(),
        banner: (p.name == "anonymous" && p.role == Role::Viewer).then_some(
            "Read-only: this listener is reachable from the network and has no credentials. \
             Set username and password in [inet_http_server] to log in and act.",
        ),
    }
}

pub(crate) fn message_html(inc: &Incoming) -> String {
    let msg = inc.param("message").unwrap_or_default();
    let kind = if inc.param("ok").as_deref() == Some("0") {
        "error"
    } else {
        "ok"
    };
    format!(
        "<div id=\"status\" class=\"status {kind}\" role=\"status\" aria-live=\"polite\">{}</div>",
        esc(&msg)
    )
}

/// The actions that fit a process's state, as one form (a button per action).
fn process_actions(web: &Web, caller: &Caller, p: &Value, back: &str) -> String {
    let name = p["name"].as_str().unwrap_or("");
    let state = p["state"].as_str().unwrap_or("");
    if !may(caller, Role::Operator) {
        return String::new();
    }
    let acts: &[&str] = match state {
        "RUNNING" | "STARTING" => &["stop", "restart"],
        "BACKOFF" => &["start", "stop"],
        "STOPPING" => &[],
        _ => &["start"],
    };
    if acts.is_empty() {
        return String::new();
    }
    let buttons: Vec<(&str, String)> = acts.iter().map(|a| (*a, format!("{a} {name}"))).collect();
    // The dashboard is where a form goes back to by default (see `safe_back`).
    let mut fields = vec![("kind", "process"), ("name", name)];
    if back != "./" {
        fields.push(("back", back));
    }
    html::actions_form(web.csrf_of(caller), &fields, &buttons, "act live")
}

/// Rows per block of the dashboard's process list (see `dashboard`).
const BLOCK_ROWS: usize = 50;

/// The start of one block of the process list: a table with the fixed columns.
const PROCS_BLOCK_HEAD: &str = "<div class=\"block\"><table><thead><tr>\
    <th scope=\"col\" class=\"c-state\">State</th><th scope=\"col\" class=\"c-name\">Name</th>\
    <th scope=\"col\" class=\"c-pid\">PID</th><th scope=\"col\" class=\"c-up\">Uptime</th>\
    <th scope=\"col\" class=\"c-desc\">Description</th><th scope=\"col\" class=\"c-act\">Actions</th></tr></thead>";

pub(crate) fn row_html(web: &Web, caller: &Caller, p: &Value) -> String {
    let name = p["name"].as_str().unwrap_or("");
    let state = p["state"].as_str().unwrap_or("UNKNOWN");
    let pid = p["pid"].as_i64().map(|v| v.to_string()).unwrap_or_default();
    let uptime = p["uptime_s"]
        .as_u64()
        .map(html::duration)
        .unwrap_or_default();
    format!(
        "<tr data-name=\"{n}\" data-state=\"{s}\" data-group=\"{g}\">{cell}\
         <td class=\"name\"><a href=\"process?name={u}\">{n}</a></td>\
         <td class=\"num\">{pid}</td><td class=\"num\">{uptime}</td><td>{d}</td>\
         <td class=\"actions\">{acts}<a class=\"details\" href=\"process?name={u}\" aria-label=\"details of {n}\">details</a></td></tr>",
        n = esc(name),
        s = esc(state),
        g = esc(p["group"].as_str().unwrap_or("")),
        u = url(name),
        cell = state_cell(state),
        d = esc(p["description"].as_str().unwrap_or("")),
        acts = process_actions(web, caller, p, "./"),
    )
}

fn api_error_page(web: &Web, inc: &Incoming, caller: &Caller, reply: &crate::ApiReply) -> Response {
    let body = format!("<p class=\"status error\">{}</p>", esc(&reply.message()));
    html_response(
        if reply.status.is_client_error() {
            reply.status
        } else {
            StatusCode::BAD_GATEWAY
        },
        page("Error", Nav::None, &frame(web, inc, caller), &body),
    )
}

/// Reads the request, finds the caller (or sends it to the login page) and GETs `path`
/// from the API (or shows the API's error).
pub(crate) async fn load(
    web: &Web,
    req: Request,
    path: impl FnOnce(&Incoming) -> String,
) -> Result<(Incoming, Caller, crate::ApiReply), Box<Response>> {
    let inc = Incoming::read(req).await;
    let Some(caller) = web.caller(&inc) else {
        return Err(Box::new(redirect("login")));
    };
    let reply = web.api(&inc, Method::GET, &path(&inc), None).await;
    if !reply.ok() {
        return Err(Box::new(api_error_page(web, &inc, &caller, &reply)));
    }
    Ok((inc, caller, reply))
}

pub(crate) fn dashboard(web: Arc<Web>, req: Request) -> PageFuture {
    Box::pin(async move {
        // The old `?action=` GET links of supervisord's page change nothing here.
        let (inc, caller, reply) = match load(&web, req, |_| "/api/v1/processes".to_string()).await
        {
            Ok(v) => v,
            Err(r) => return *r,
        };
        let procs = reply.json["processes"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let count = |f: &dyn Fn(&str) -> bool| {
            procs
                .iter()
                .filter(|p| f(p["state"].as_str().unwrap_or("")))
                .count()
        };
        let running = count(&|s| s == "RUNNING");
        let stopped = count(&|s| matches!(s, "STOPPED" | "EXITED"));
        let problems = count(&|s| matches!(s, "FATAL" | "BACKOFF" | "UNKNOWN"));
        let mut groups: Vec<(String, Vec<&Value>)> = Vec::new();
        for p in &procs {
            let g = p["group"].as_str().unwrap_or("").to_string();
            match groups.iter_mut().find(|(name, _)| *name == g) {
                Some((_, v)) => v.push(p),
                None => groups.push((g, vec![p])),
            }
        }
        let mut body = message_html(&inc);
        if web.api.nodes().fleet.is_some() {
            // The node switcher: this table is the local node's; the others are a click away.
            let nodes = web.api(&inc, Method::GET, "/api/v1/nodes", None).await;
            if let Some(list) = nodes.json["nodes"].as_array() {
                body.push_str(&crate::nodes::switcher(list, None));
            }
        }
        body.push_str(&format!(
            "<section aria-label=\"Totals\" id=\"totals\"><dl class=\"totals\">\
             <div><dt>Processes</dt><dd data-total=\"all\">{}</dd></div>\
             <div><dt>Running</dt><dd data-total=\"running\">{running}</dd></div>\
             <div><dt>Stopped</dt><dd data-total=\"stopped\">{stopped}</dd></div>\
             <div><dt>Fatal or backoff</dt><dd data-total=\"problems\">{problems}</dd></div>\
             <div><dt>Groups</dt><dd>{}</dd></div></dl></section>",
            procs.len(),
            groups.len()
        ));
        let operator = may(&caller, Role::Operator);
        body.push_str("<div class=\"toolbar\"><label for=\"filter\">Filter</label> \
            <input id=\"filter\" type=\"search\" placeholder=\"name, state or description\" autocomplete=\"off\">");
        if operator && !procs.is_empty() {
            for a in ["start", "stop", "restart"] {
                body.push_str(&html::action_form(
                    web.csrf_of(&caller),
                    &[
                        ("kind", "all"),
                        ("name", "*"),
                        ("action", a),
                        ("back", "./"),
                    ],
                    &format!("{a} all"),
                    &format!("{a} all {} processes (asks to confirm)", procs.len()),
                    "act",
                ));
            }
        }
        body.push_str("</div>");
        if procs.is_empty() {
            body.push_str("<p class=\"empty\">No programs to manage</p>");
        } else {
            body.push_str(
                "<div class=\"wrap\" role=\"region\" aria-label=\"Process table\" tabindex=\"0\">\
                 <div id=\"procs\" class=\"procs\">",
            );
            // Blocks of at most BLOCK_ROWS rows, each its own table (same fixed columns), so
            // the browser lays out and paints only the blocks in view (content-visibility):
            // a filter keystroke at 1,000 rows costs what the screen shows, not the list.
            let mut in_block = 0usize;
            for (g, members) in &groups {
                let up = members.iter().filter(|p| p["state"] == "RUNNING").count();
                let mut acts = String::new();
                if operator {
                    for a in ["start", "stop", "restart"] {
                        acts.push_str(&html::action_form(
                            web.csrf_of(&caller),
                            &[
                                ("kind", "group"),
                                ("name", g),
                                ("action", a),
                                ("back", "./"),
                            ],
                            &format!("{a} group"),
                            &format!("{a} group {g} (asks to confirm)"),
                            "act",
                        ));
                    }
                }
                for (part, rows) in members.chunks(BLOCK_ROWS).enumerate() {
                    if in_block > 0 && in_block + rows.len() > BLOCK_ROWS {
                        body.push_str("</table></div>");
                        in_block = 0;
                    }
                    if in_block == 0 {
                        body.push_str(PROCS_BLOCK_HEAD);
                    }
                    in_block += rows.len();
                    // A group longer than a block continues in the next one, under its name.
                    let head = if part == 0 {
                        format!(
                            "<span class=\"gname\">Group {ge}</span> <span class=\"gcount\">{up} of {} running</span>{acts}",
                            members.len(),
                            ge = esc(g)
                        )
                    } else {
                        format!("<span class=\"gname\">Group {} (continued)</span>", esc(g))
                    };
                    body.push_str(&format!(
                        "<tbody data-group=\"{ge}\"><tr class=\"group\"><th colspan=\"6\" scope=\"rowgroup\">{head}</th></tr>",
                        ge = esc(g)
                    ));
                    for p in rows {
                        body.push_str(&row_html(&web, &caller, p));
                    }
                    body.push_str("</tbody>");
                }
            }
            if in_block > 0 {
                body.push_str("</table></div>");
            }
            body.push_str("</div></div>");
        }
        page_for(&web, &inc, &caller, "Processes", Nav::Dashboard, &body)
    })
}

pub(crate) fn row_fragment(web: Arc<Web>, req: Request) -> PageFuture {
    Box::pin(async move {
        let inc = Incoming::read(req).await;
        let Some(caller) = web.caller(&inc) else {
            return StatusCode::UNAUTHORIZED.into_response();
        };
        let name = inc.param("name").unwrap_or_default();
        let reply = web
            .api(
                &inc,
                Method::GET,
                &format!("/api/v1/processes/{}", url(&name)),
                None,
            )
            .await;
        if !reply.ok() {
            return (reply.status, reply.message()).into_response();
        }
        html_response(StatusCode::OK, row_html(&web, &caller, &reply.json))
    })
}

fn dl(rows: &[(&str, String)]) -> String {
    let mut out = String::from("<dl class=\"facts\">");
    for (k, v) in rows {
        out.push_str(&format!(
            "<div><dt>{}</dt><dd>{}</dd></div>",
            esc(k),
            esc(v)
        ));
    }
    out.push_str("</dl>");
    out
}

fn text(v: &Value) -> String {
    match v {
        Value::Null => "—".into(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The process a details page is about (`?name=`, or supervisord's `?processname=`).
fn process_param(inc: &Incoming) -> String {
    inc.param("name")
        .or_else(|| inc.param("processname"))
        .unwrap_or_default()
}

pub(crate) fn details(web: Arc<Web>, req: Request) -> PageFuture {
    Box::pin(async move {
        let (inc, caller, reply) = match load(&web, req, |inc| {
            format!("/api/v1/processes/{}", url(&process_param(inc)))
        })
        .await
        {
            Ok(v) => v,
            Err(r) => return *r,
        };
        let name = process_param(&inc);
        let stream = match inc.param("stream").as_deref() {
            Some("stderr") => "stderr",
            _ => "stdout",
        };
        let p = &reply.json;
        let rss = p["rss_bytes"]
            .as_u64()
            .map(|b| format!("{:.1} MiB", b as f64 / 1_048_576.0))
            .unwrap_or_else(|| "—".into());
        let cpu = p["cpu_percent"]
            .as_f64()
            .map(|c| format!("{c} % (average since start)"))
            .unwrap_or_else(|| "—".into());
        let mut body = message_html(&inc);
        body.push_str(&format!(
            "<p class=\"stateline\"><span class=\"lbl\">State</span> <span id=\"pstate\" class=\"pill s-{}\"><span class=\"icon\" aria-hidden=\"true\">{}</span> {}</span></p>",
            esc(&text(&p["state"]).to_ascii_lowercase()),
            html::state_icon(p["state"].as_str().unwrap_or("")),
            esc(&text(&p["state"]))
        ));
        body.push_str(&format!(
            "<div class=\"actions\" id=\"pactions\">{}</div>",
            process_actions(&web, &caller, p, &format!("process?name={}", url(&name)))
        ));
        body.push_str(&dl(&[
            ("Name", text(&p["name"])),
            ("Description", text(&p["description"])),
            ("PID", text(&p["pid"])),
            (
                "Uptime",
                p["uptime_s"]
                    .as_u64()
                    .map(html::duration)
                    .unwrap_or_else(|| "—".into()),
            ),
            ("Started", text(&p["started_at"])),
            ("Exit status", text(&p["exit_status"])),
            ("Memory (RSS)", rss),
            ("CPU", cpu),
            ("Command", text(&p["command"])),
            ("Directory", text(&p["directory"])),
            ("User", text(&p["user"])),
            ("Restarts", text(&p["restarts"])),
        ]));
        let log_html = if may(&caller, Role::Logs) {
            let log = web
                .api(
                    &inc,
                    Method::GET,
                    &format!(
                        "/api/v1/processes/{}/log?lines=200&stream={stream}",
                        url(&name)
                    ),
                    None,
                )
                .await;
            let lines: String = if log.ok() {
                log.json["lines"]
                    .as_array()
                    .map(|l| {
                        l.iter()
                            .map(|line| esc(&html::strip_ansi(line.as_str().unwrap_or(""))) + "\n")
                            .collect()
                    })
                    .unwrap_or_default()
            } else {
                esc(&log.message())
            };
            let other = if stream == "stdout" {
                "stderr"
            } else {
                "stdout"
            };
            format!(
                "<section aria-labelledby=\"logh\"><h2 id=\"logh\">Log ({stream})</h2>\
                 <div class=\"toolbar logbar\">\
                 <a href=\"process?name={u}&amp;stream={other}\" id=\"switch\" data-stream=\"{other}\">Show {other}</a>\
                 <label for=\"lines\">Lines</label><select id=\"lines\"><option>100</option><option selected>200</option><option>1000</option><option>5000</option></select>\
                 <a href=\"process?name={u}&amp;stream={stream}\" id=\"refresh\">Refresh</a>\
                 <button type=\"button\" id=\"pause\" aria-pressed=\"false\" hidden>Pause</button>\
                 <a href=\"download?name={u}&amp;stream={stream}\" id=\"download\" download>Download</a>\
                 <span id=\"follow\" class=\"muted\" role=\"status\"></span></div>\
                 <pre id=\"log\" class=\"log\" role=\"log\" aria-live=\"off\" tabindex=\"0\" aria-label=\"log of {n}\" data-name=\"{n}\" data-stream=\"{stream}\">{lines}</pre></section>",
                u = url(&name),
                n = esc(&name),
            )
        } else {
            String::new()
        };
        body.push_str(&log_html);
        let config = serde_json::to_string_pretty(&p["config"]).unwrap_or_default();
        body.push_str(&format!(
            "<section aria-labelledby=\"cfgh\"><h2 id=\"cfgh\">Resolved configuration</h2>\
             <p class=\"muted\">Secret-named environment values and passwords in URLs are redacted.</p>\
             <pre class=\"config\" role=\"region\" tabindex=\"0\" aria-label=\"configuration\">{}</pre></section>",
            esc(&config)
        ));
        page_for(&web, &inc, &caller, &name, Nav::None, &body)
    })
}

pub(crate) fn download(web: Arc<Web>, req: Request) -> PageFuture {
    Box::pin(async move {
        let inc = Incoming::read(req).await;
        if web.caller(&inc).is_none() {
            return redirect("login");
        }
        let name = inc.param("name").unwrap_or_default();
        let stream = if inc.param("stream").as_deref() == Some("stderr") {
            "stderr"
        } else {
            "stdout"
        };
        let log = web
            .api(
                &inc,
                Method::GET,
                &format!(
                    "/api/v1/processes/{}/log?lines=10000&stream={stream}",
                    url(&name)
                ),
                None,
            )
            .await;
        if !log.ok() {
            return (log.status, log.message()).into_response();
        }
        let mut text = String::new();
        for l in log.json["lines"].as_array().into_iter().flatten() {
            text.push_str(l.as_str().unwrap_or(""));
            text.push('\n');
        }
        let file: String = name
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || "-_.".contains(c) {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        let mut r = text.into_response();
        let h = r.headers_mut();
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; charset=utf-8"),
        );
        if let Ok(v) =
            HeaderValue::from_str(&format!("attachment; filename=\"{file}-{stream}.log\""))
        {
            h.insert(header::CONTENT_DISPOSITION, v);
        }
        r
    })
}

pub(crate) fn cron(web: Arc<Web>, req: Request) -> PageFuture {
    Box::pin(async move {
        let (inc, caller, reply) = match load(&web, req, |_| "/api/v1/cron".to_string()).await {
            Ok(v) => v,
            Err(r) => return *r,
        };
        let mut body = message_html(&inc);
        let jobs = reply.json["jobs"].as_array().cloned().unwrap_or_default();
        if jobs.is_empty() {
            body.push_str("<p class=\"empty\">No [cron:x] jobs are configured.</p>");
        } else {
            body.push_str(
                "<div class=\"wrap\" role=\"region\" aria-label=\"Jobs table\" tabindex=\"0\"><table id=\"jobs\"><thead><tr>\
                 <th scope=\"col\">Job</th><th scope=\"col\">Schedule</th><th scope=\"col\">Time zone</th>\
                 <th scope=\"col\">Next runs</th><th scope=\"col\">Last result</th><th scope=\"col\">Enabled</th>\
                 <th scope=\"col\">Actions</th></tr></thead><tbody>",
            );
            for j in &jobs {
                let name = j["name"].as_str().unwrap_or("");
                let next: Vec<String> = j["next_runs"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|t| format!("<li>{}</li>", esc(t.as_str().unwrap_or(""))))
                    .collect();
                let last = match &j["last_run"] {
                    Value::Null => "never run".to_string(),
                    l => format!(
                        "{} at {} ({:.1} s)",
                        text(&l["result"]),
                        text(&l["started_at"]),
                        l["duration_s"].as_f64().unwrap_or(0.0)
                    ),
                };
                let paused = j["paused"] == true;
                let run = if may(&caller, Role::Operator) {
                    let back = format!("cron?job={}", url(name));
                    let form = |action: &str, label: &str| {
                        html::action_form(
                            web.csrf_of(&caller),
                            &[
                                ("kind", "cron"),
                                ("name", name),
                                ("action", action),
                                ("back", &back),
                            ],
                            label,
                            &format!("{label} {name}"),
                            "act",
                        )
                    };
                    // Pause and resume act on the schedule only; a job that its section
                    // disables (`enabled = false`) has nothing to resume.
                    let toggle = if paused {
                        form("enable", "enable")
                    } else if j["enabled"] == true {
                        form("disable", "disable")
                    } else {
                        String::new()
                    };
                    format!("{}{toggle}", form("run", "run now"))
                } else {
                    String::new()
                };
                body.push_str(&format!(
                    "<tr data-job=\"{n}\"><td><a href=\"cron?job={u}\">{n}</a>{running}</td>\
                     <td><code>{s}</code><br><span class=\"muted\">{w}</span></td><td>{tz}</td>\
                     <td><ol class=\"next\">{next}</ol></td><td>{last}</td><td>{en}</td><td class=\"actions\">{run}\
                     <a href=\"cron?job={u}\" aria-label=\"history of {n}\">history</a></td></tr>",
                    n = esc(name),
                    u = url(name),
                    running = if j["running"] == true { " <span class=\"pill s-running\">running</span>" } else { "" },
                    s = esc(&text(&j["schedule"])),
                    w = esc(&text(&j["schedule_words"])),
                    tz = esc(&text(&j["timezone"])),
                    next = next.join(""),
                    last = esc(&last),
                    en = if j["enabled"] == true {
                        "yes"
                    } else if paused {
                        "no (paused)"
                    } else {
                        "no (enabled = false)"
                    },
                ));
            }
            body.push_str("</tbody></table></div>");
        }
        if let Some(job) = inc.param("job") {
            let cursor = inc.param("cursor").unwrap_or_default();
            let runs = web
                .api(
                    &inc,
                    Method::GET,
                    &format!(
                        "/api/v1/cron/{}/runs?limit=20&cursor={}",
                        url(&job),
                        url(&cursor)
                    ),
                    None,
                )
                .await;
            body.push_str(&format!(
                "<section aria-labelledby=\"histh\" id=\"history\" data-job=\"{}\"><h2 id=\"histh\">Run history of {}</h2>",
                esc(&job),
                esc(&job)
            ));
            if !runs.ok() {
                body.push_str(&format!(
                    "<p class=\"status error\">{}</p>",
                    esc(&runs.message())
                ));
            } else {
                let list = runs.json["runs"].as_array().cloned().unwrap_or_default();
                if list.is_empty() {
                    body.push_str("<p class=\"empty\">No runs yet.</p>");
                }
                for r in &list {
                    let result = if r["timed_out"] == true {
                        "timed out".to_string()
                    } else if let Some(why) = r["skipped"].as_str() {
                        format!("skipped: {why}")
                    } else if !r["error"].is_null() {
                        format!("error: {}", text(&r["error"]))
                    } else {
                        format!("exit {}", text(&r["exit_status"]))
                    };
                    let tail = r["output_tail"].as_str().unwrap_or("");
                    body.push_str(&format!(
                        "<article class=\"run\" data-run=\"{id}\"><h3>Run {id}: {result}</h3>\
                         {facts}<pre class=\"log\" role=\"region\" tabindex=\"0\" aria-label=\"output of run {id}\">{head}{sep}{tail}</pre></article>",
                        id = esc(&text(&r["id"])),
                        result = esc(&result),
                        facts = dl(&[
                            ("Trigger", text(&r["trigger"])),
                            ("Node", r["node"].as_str().unwrap_or("this node").to_string()),
                            ("Started", text(&r["started_at"])),
                            ("Duration", r["duration_s"].as_f64().map(|d| format!("{d:.2} s")).unwrap_or_else(|| "running".into())),
                            ("Output", format!("{} bytes", text(&r["output_bytes"]))),
                        ]),
                        head = esc(&html::strip_ansi(r["output_head"].as_str().unwrap_or(""))),
                        sep = if tail.is_empty() { "" } else { "\n…\n" },
                        tail = esc(&html::strip_ansi(tail)),
                    ));
                }
                if let Some(next) = runs.json["next_cursor"].as_str() {
                    body.push_str(&format!(
                        "<p><a href=\"cron?job={}&amp;cursor={}\" rel=\"next\">Older runs</a></p>",
                        url(&job),
                        url(next)
                    ));
                }
            }
            body.push_str("</section>");
        }
        page_for(&web, &inc, &caller, "Scheduled jobs", Nav::Cron, &body)
    })
}

pub(crate) fn commands(web: Arc<Web>, req: Request) -> PageFuture {
    Box::pin(async move {
        let (inc, caller, reply) = match load(&web, req, |_| "/api/v1/commands".to_string()).await {
            Ok(v) => v,
            Err(r) => return *r,
        };
        let mut body = message_html(&inc);
        let list = reply.json["commands"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        if list.is_empty() {
            body.push_str("<p class=\"empty\">No [command:x] sections are configured.</p>");
        } else {
            body.push_str(
                "<div class=\"wrap\" role=\"region\" aria-label=\"Commands table\" tabindex=\"0\"><table id=\"commands\"><thead><tr>\
                 <th scope=\"col\">Command</th><th scope=\"col\">Description</th><th scope=\"col\">Runs</th>\
                 <th scope=\"col\">Directory</th><th scope=\"col\">User</th><th scope=\"col\">Actions</th></tr></thead><tbody>",
            );
            for c in &list {
                let name = c["name"].as_str().unwrap_or("");
                let run = if may(&caller, Role::Operator) {
                    html::action_form(
                        web.csrf_of(&caller),
                        &[
                            ("kind", "command"),
                            ("name", name),
                            ("action", "run"),
                            ("back", &format!("commands?name={}", url(name))),
                        ],
                        "run",
                        &format!("run {name}"),
                        "act",
                    )
                } else {
                    String::new()
                };
                body.push_str(&format!(
                    "<tr><td><a href=\"commands?name={u}\">{n}</a></td><td>{d}</td><td><code>{cmd}</code></td>\
                     <td>{dir}</td><td>{user}</td><td class=\"actions\">{run}</td></tr>",
                    n = esc(name),
                    u = url(name),
                    d = esc(&text(&c["description"])),
                    cmd = esc(&text(&c["command"])),
                    dir = esc(&text(&c["directory"])),
                    user = esc(&text(&c["user"])),
                ));
            }
            body.push_str("</tbody></table></div>");
        }
        if let Some(name) = inc.param("name") {
            let runs = web
                .api(
                    &inc,
                    Method::GET,
                    &format!("/api/v1/commands/{}/runs", url(&name)),
                    None,
                )
                .await;
            body.push_str(&format!(
                "<section aria-labelledby=\"runsh\" id=\"runs\"><h2 id=\"runsh\">Runs of {}</h2>",
                esc(&name)
            ));
            if !runs.ok() {
                body.push_str(&format!(
                    "<p class=\"status error\">{}</p>",
                    esc(&runs.message())
                ));
            }
            for r in runs.json["runs"].as_array().into_iter().flatten() {
                let tail = r["output_tail"].as_str().unwrap_or("");
                body.push_str(&format!(
                    "<article class=\"run\"><h3>Run {id}: {result} (exit {code})</h3>{facts}\
                     <pre class=\"log\" role=\"region\" tabindex=\"0\" aria-label=\"output of run {id}\">{head}{sep}{tail}</pre></article>",
                    id = esc(&text(&r["id"])),
                    result = esc(&text(&r["result"])),
                    code = esc(&text(&r["exit_code"])),
                    facts = dl(&[
                        ("By", text(&r["actor"])),
                        ("Started", text(&r["started_at"])),
                        ("Duration", r["duration_s"].as_f64().map(|d| format!("{d:.2} s")).unwrap_or_default()),
                    ]),
                    head = esc(&html::strip_ansi(r["output_head"].as_str().unwrap_or(""))),
                    sep = if tail.is_empty() { "" } else { "\n…\n" },
                    tail = esc(&html::strip_ansi(tail)),
                ));
            }
            body.push_str("</section>");
        }
        page_for(&web, &inc, &caller, "Commands", Nav::Commands, &body)
    })
}

fn names_list(v: &Value) -> String {
    let items: Vec<String> = v
        .as_array()
        .into_iter()
        .flatten()
        .map(|n| format!("<li>{}</li>", esc(&text(n))))
        .collect();
    if items.is_empty() {
        "<p class=\"muted\">none</p>".into()
    } else {
        format!("<ul>{}</ul>", items.join(""))
    }
}

pub(crate) fn reload(web: Arc<Web>, req: Request) -> PageFuture {
    Box::pin(async move {
        let inc = Incoming::read(req).await;
        let mut body = String::new();
        let caller = if inc.method == Method::POST {
            let form = inc.form();
            let get = |k: &str| Some(field(&form, k)).filter(|v| !v.is_empty());
            let token = get("csrf_token").unwrap_or_default();
            let caller = match web.form_caller(&inc, &token) {
                Ok(c) => c,
                Err(msg) => return refused(&msg),
            };
            let apply = get("mode").as_deref() == Some("apply");
            let reply = web
                .api(
                    &inc,
                    Method::POST,
                    &format!("/api/v1/reload?dry_run={}", !apply),
                    Some(&token),
                )
                .await;
            if reply.ok() {
                let j = &reply.json;
                body.push_str(&format!(
                    "<section id=\"diff\" aria-labelledby=\"diffh\"><h2 id=\"diffh\">{}</h2>\
                     <div class=\"cols\"><div><h3>Added</h3>{}</div><div><h3>Changed</h3>{}</div><div><h3>Removed</h3>{}</div></div>",
                    if apply { "Applied" } else { "Preview: what a reload would do" },
                    names_list(&j["added"]),
                    names_list(&j["changed"]),
                    names_list(&j["removed"]),
                ));
                if let Some(results) = j["results"].as_array() {
                    body.push_str("<h3>Result</h3><ul id=\"results\">");
                    if results.is_empty() {
                        body.push_str("<li>nothing to do</li>");
                    }
                    for r in results {
                        body.push_str(&format!(
                            "<li>{}: {}</li>",
                            esc(&text(&r["group"])),
                            esc(&if r["result"] == "ok" {
                                text(&r["message"])
                            } else {
                                text(&r["error"]["message"])
                            })
                        ));
                    }
                    body.push_str("</ul>");
                }
                body.push_str("</section>");
            } else {
                body.push_str(&format!(
                    "<p class=\"status error\" role=\"alert\">{}</p>",
                    esc(&reply.message())
                ));
            }
            caller
        } else {
            match web.caller(&inc) {
                Some(c) => c,
                None => return redirect("login"),
            }
        };
        let intro = "<p>Re-reads the configuration files, then adds, changes and removes exactly the \
                     groups that differ (as <code>supervisorctl reread</code> and <code>update</code>). \
                     A configuration with errors is refused and the running one is kept.</p>";
        let forms = if may(&caller, Role::Admin) {
            let csrf = esc(web.csrf_of(&caller));
            format!(
                "<div class=\"toolbar\"><form method=\"post\" action=\"reload\"><input type=\"hidden\" name=\"csrf_token\" value=\"{csrf}\">\
                 <input type=\"hidden\" name=\"mode\" value=\"preview\"><button type=\"submit\" id=\"preview\">Preview changes</button></form>\
                 <form method=\"post\" action=\"reload\"><input type=\"hidden\" name=\"csrf_token\" value=\"{csrf}\">\
                 <input type=\"hidden\" name=\"mode\" value=\"apply\"><button type=\"submit\" id=\"apply\">Apply reload</button></form></div>"
            )
        } else {
            "<p class=\"muted\">Reloading needs the admin role.</p>".into()
        };
        let body = format!("{intro}{forms}{body}");
        page_for(
            &web,
            &inc,
            &caller,
            "Reload configuration",
            Nav::Reload,
            &body,
        )
    })
}

pub(crate) fn audit(web: Arc<Web>, req: Request) -> PageFuture {
    Box::pin(async move {
        let (inc, caller, reply) =
            match load(&web, req, |_| "/api/v1/audit?limit=200".to_string()).await {
                Ok(v) => v,
                Err(r) => return *r,
            };
        let mut body = String::from(
            "<div class=\"wrap\" role=\"region\" aria-label=\"Audit table\" tabindex=\"0\"><table id=\"audit\"><thead><tr>\
             <th scope=\"col\">Time</th><th scope=\"col\">Who</th><th scope=\"col\">From</th>\
             <th scope=\"col\">Action</th><th scope=\"col\">Target</th><th scope=\"col\">Result</th></tr></thead><tbody>",
        );
        let records = reply.json["records"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        for r in &records {
            body.push_str(&format!(
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                esc(&text(&r["time"])),
                esc(&text(&r["actor"])),
                esc(&text(&r["source"])),
                esc(&text(&r["action"])),
                esc(&text(&r["target"])),
                esc(&text(&r["result"])),
            ));
        }
        body.push_str("</tbody></table></div>");
        if records.is_empty() {
            body.push_str("<p class=\"empty\">Nothing recorded yet.</p>");
        }
        page_for(&web, &inc, &caller, "Audit", Nav::Audit, &body)
    })
}

fn login_page(message: Option<&str>, status: StatusCode) -> Response {
    let frame = Frame {
        user: None,
        csrf: "",
        is_admin: false,
        logout: false,
        has_nodes: false,
        banner: None,
    };
    let msg = message
        .map(|m| format!("<p class=\"status error\" role=\"alert\">{}</p>", esc(m)))
        .unwrap_or_default();
    let body = format!(
        "{msg}<form method=\"post\" action=\"login\" class=\"login\">\
         <label for=\"username\">Username</label><input id=\"username\" name=\"username\" autocomplete=\"username\" required>\
         <label for=\"password\">Password</label><input id=\"password\" name=\"password\" type=\"password\" autocomplete=\"current-password\" required>\
         <button type=\"submit\">Log in</button></form>"
    );
    html_response(status, page("Log in", Nav::None, &frame, &body))
}

pub(crate) fn login(web: Arc<Web>, req: Request) -> PageFuture {
    Box::pin(async move {
        let inc = Incoming::read(req).await;
        if inc.method != Method::POST {
            if !web.has_login(&inc) && web.caller(&inc).is_some() {
                return redirect("./");
            }
            return login_page(None, StatusCode::OK);
        }
        // The API's own login route checks the password, the rate limit and sets the cookie.
        let reply = web
            .send(
                &inc,
                Method::POST,
                "/api/v1/session",
                None,
                Some(("application/x-www-form-urlencoded", inc.body.clone())),
            )
            .await;
        let mut r = if reply.ok() {
            redirect("./")
        } else {
            login_page(Some(&reply.message()), reply.status)
        };
        for name in [header::SET_COOKIE, header::RETRY_AFTER] {
            if let Some(v) = reply.headers.get(&name) {
                r.headers_mut().insert(name, v.clone());
            }
        }
        r
    })
}

pub(crate) fn logout(web: Arc<Web>, req: Request) -> PageFuture {
    Box::pin(async move {
        let inc = Incoming::read(req).await;
        let form = inc.form();
        let token = field(&form, "csrf_token");
        if let Err(msg) = web.form_caller(&inc, &token) {
            return refused(&msg);
        }
        let reply = web
            .api(&inc, Method::DELETE, "/api/v1/session", Some(&token))
            .await;
        let mut r = redirect("login");
        if let Some(v) = reply.headers.get(header::SET_COOKIE) {
            r.headers_mut().insert(header::SET_COOKIE, v.clone());
        }
        r
    })
}

/// Where a form may send the browser back to: one of our relative pages, nothing else.
fn safe_back(back: &str) -> &str {
    let ok = !back.is_empty()
        && !back.starts_with('/')
        && !back.starts_with('\\')
        && !back.contains("//")
        && !back.split(['?', '#']).next().unwrap_or("").contains(':');
    if ok {
        back
    } else {
        "./"
    }
}

fn with_message(back: &str, ok: bool, message: &str) -> String {
    let sep = if back.contains('?') { '&' } else { '?' };
    format!(
        "{back}{sep}ok={}&message={}",
        if ok { 1 } else { 0 },
        url(message)
    )
}

/// A POSTed action form: group and "all" actions first show what they affect and ask to
/// confirm; then the action goes to the API with the form's CSRF token.
pub(crate) fn action(web: Arc<Web>, req: Request) -> PageFuture {
    Box::pin(async move {
        let inc = Incoming::read(req).await;
        let form = inc.form();
        let get = |k: &str| field(&form, k);
        let token = get("csrf_token");
        let caller = match web.form_caller(&inc, &token) {
            Ok(c) => c,
            Err(msg) => {
                return html_response(
                    StatusCode::FORBIDDEN,
                    format!(
                        "<!DOCTYPE html><html lang=\"en\"><title>Refused</title><p>{}</p></html>",
                        esc(&msg)
                    ),
                )
            }
        };
        let (kind, name, act) = (get("kind"), get("name"), get("action"));
        let back = safe_back(&get("back")).to_string();
        if !act.chars().all(|c| c.is_ascii_lowercase()) || act.is_empty() {
            return redirect(&with_message(&back, false, "unknown action"));
        }
        let path = match kind.as_str() {
            "process" => format!("/api/v1/processes/{}/{act}", url(&name)),
            "group" => format!("/api/v1/groups/{}/{act}", url(&name)),
            "all" => format!("/api/v1/all/{act}"),
            "cron" => format!("/api/v1/cron/{}/{act}", url(&name)),
            "command" => format!("/api/v1/commands/{}/{act}", url(&name)),
            "node" => format!(
                "/api/v1/nodes/{}/processes/{}/{act}",
                url(&get("node")),
                url(&name)
            ),
            _ => return redirect(&with_message(&back, false, "unknown kind of action")),
        };
        if matches!(kind.as_str(), "group" | "all") && get("confirmed") != "yes" {
            let list = web.api(&inc, Method::GET, "/api/v1/processes", None).await;
            let affected: Vec<String> = list.json["processes"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|p| kind == "all" || p["group"] == name.as_str())
                .map(|p| {
                    format!(
                        "<li>{} ({})</li>",
                        esc(&text(&p["name"])),
                        esc(&text(&p["state"]))
                    )
                })
                .collect();
            let what = if kind == "all" {
                format!("all {} processes", affected.len())
            } else {
                format!("the {} processes of group {}", affected.len(), name)
            };
            let csrf = esc(web.csrf_of(&caller));
            let body = format!(
                "<p id=\"confirm-what\">This will {} {}:</p><ul class=\"affected\">{}</ul>\
                 <div class=\"toolbar\"><form method=\"post\" action=\"action\">\
                 <input type=\"hidden\" name=\"csrf_token\" value=\"{csrf}\"><input type=\"hidden\" name=\"kind\" value=\"{}\">\
                 <input type=\"hidden\" name=\"name\" value=\"{}\"><input type=\"hidden\" name=\"action\" value=\"{}\">\
                 <input type=\"hidden\" name=\"back\" value=\"{}\"><input type=\"hidden\" name=\"confirmed\" value=\"yes\">\
                 <button type=\"submit\" id=\"confirm\">Yes, {} {}</button></form><a href=\"{}\">Cancel</a></div>",
                esc(&act),
                esc(&what),
                affected.join(""),
                esc(&kind),
                esc(&name),
                esc(&act),
                esc(&back),
                esc(&act),
                esc(&what),
                esc(&back),
            );
            return page_for(&web, &inc, &caller, "Confirm", Nav::None, &body);
        }
        let reply = web.api(&inc, Method::POST, &path, Some(&token)).await;
        let message = if reply.ok() {
            let failed: Vec<String> = reply.json["results"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|r| r["result"] != "ok")
                .map(|r| format!("{}: {}", text(&r["name"]), text(&r["error"]["message"])))
                .collect();
            if failed.is_empty() {
                format!("{act} {}: done", if kind == "all" { "all" } else { &name })
            } else {
                format!("{act}: {}", failed.join("; "))
            }
        } else {
            reply.message()
        };
        redirect(&with_message(&back, reply.ok(), &message))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms_only_send_the_browser_to_our_pages() {
        assert_eq!(safe_back("process?name=a%3Ab"), "process?name=a%3Ab");
        assert_eq!(safe_back("cron?job=x"), "cron?job=x");
        for bad in [
            "//evil.example/",
            "https://evil.example/",
            "/x",
            "javascript:alert(1)",
            "\\\\x",
            "",
        ] {
            assert_eq!(safe_back(bad), "./", "{bad}");
        }
    }
}
