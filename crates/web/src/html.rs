//! HTML building blocks: the one escaping helper every piece of text goes through, the page
//! frame (navigation, the CSRF meta tag, the two embedded assets) and small formatters.
//!
//! Pages are plain `format!` strings: a dozen small pages do not need a template engine,
//! and keeping every interpolated value behind [`esc`] (or [`url`] for query values) is a
//! rule a reviewer can check with grep.

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

/// Escapes text for HTML content and quoted attribute values.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const QUERY: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// Percent-encodes a value for a query string or a path segment.
pub fn url(s: &str) -> String {
    utf8_percent_encode(s, QUERY).to_string()
}

/// Removes terminal escape sequences (the server-rendered log has no colours; the script
/// renders them) and turns other control characters into visible replacements.
pub fn strip_ansi(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            if chars.peek() == Some(&'[') {
                chars.next();
                for f in chars.by_ref() {
                    if ('@'..='~').contains(&f) {
                        break;
                    }
                }
            } else {
                chars.next();
            }
        } else if c.is_control() && c != '\t' {
            out.push('\u{fffd}');
        } else {
            out.push(c);
        }
    }
    out
}

/// `3d 4:05:06` from seconds.
pub fn duration(secs: u64) -> String {
    let (d, h, m, s) = (secs / 86_400, secs / 3600 % 24, secs / 60 % 60, secs % 60);
    if d > 0 {
        format!("{d}d {h}:{m:02}:{s:02}")
    } else {
        format!("{h}:{m:02}:{s:02}")
    }
}

/// The icon shown beside a state's label (the label is always there too).
pub fn state_icon(state: &str) -> &'static str {
    match state {
        "RUNNING" => "●",
        "STARTING" => "◐",
        "STOPPING" => "◑",
        "STOPPED" => "■",
        "EXITED" => "○",
        "BACKOFF" => "↻",
        "FATAL" => "✖",
        _ => "?",
    }
}

/// The state cell: icon, label, and a class for the colour.
pub fn state_cell(state: &str) -> String {
    format!(
        "<td class=\"state s-{}\"><span class=\"icon\" aria-hidden=\"true\">{}</span> {}</td>",
        esc(&state.to_ascii_lowercase()),
        state_icon(state),
        esc(state)
    )
}

/// Which navigation entry is current.
#[derive(PartialEq, Eq, Clone, Copy)]
pub enum Nav {
    Dashboard,
    Cron,
    Commands,
    Reload,
    Audit,
    Nodes,
    None,
}

/// What the frame needs to know about the caller.
pub struct Frame<'a> {
    pub user: Option<(&'a str, &'a str)>,
    pub csrf: &'a str,
    pub is_admin: bool,
    pub logout: bool,
    /// Whether `[node:x]` nodes exist (the "Nodes" entry is shown then).
    pub has_nodes: bool,
    pub banner: Option<&'a str>,
}

/// A whole page.
pub fn page(title: &str, nav: Nav, frame: &Frame, body: &str) -> String {
    let link = |n: Nav, href: &str, text: &str| {
        if n == nav {
            format!("<a href=\"{href}\" aria-current=\"page\">{text}</a>")
        } else {
            format!("<a href=\"{href}\">{text}</a>")
        }
    };
    let mut links = vec![
        link(Nav::Dashboard, "./", "Processes"),
        link(Nav::Cron, "cron", "Scheduled jobs"),
        link(Nav::Commands, "commands", "Commands"),
    ];
    if frame.has_nodes {
        links.push(link(Nav::Nodes, "nodes", "Nodes"));
    }
    if frame.is_admin {
        links.push(link(Nav::Reload, "reload", "Reload"));
        links.push(link(Nav::Audit, "audit", "Audit"));
    }
    let who = match frame.user {
        Some((name, role)) => {
            let logout = if frame.logout {
                format!(
                    "<form method=\"post\" action=\"logout\" class=\"inline\">\
                     <input type=\"hidden\" name=\"csrf_token\" value=\"{}\">\
                     <button type=\"submit\">Log out</button></form>",
                    esc(frame.csrf)
                )
            } else {
                String::new()
            };
            format!(
                "<span class=\"who\">{} ({})</span>{logout}",
                esc(name),
                esc(role)
            )
        }
        None => String::new(),
    };
    let nav_html = if frame.user.is_some() {
        format!(
            "<nav aria-label=\"Main\">{}</nav><div class=\"user\">{who}</div>",
            links.join("")
        )
    } else {
        String::new()
    };
    let banner = frame
        .banner
        .map(|b| format!("<p class=\"banner\" role=\"note\">{}</p>", esc(b)))
        .unwrap_or_default();
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <meta name=\"csrf-token\" content=\"{csrf}\">\
         <title>{title} · Steward</title>\
         <link rel=\"stylesheet\" href=\"assets/app.css\">\
         <link rel=\"icon\" href=\"assets/icon.svg\" type=\"image/svg+xml\">\
         <script src=\"assets/app.js\" defer></script></head>\n<body>\
         <a class=\"skip\" href=\"#main\">Skip to content</a>\
         <header><span class=\"brand\">Steward</span>{nav_html}</header>{banner}\
         <main id=\"main\">\n<h1>{title}</h1>\n{body}\n</main></body></html>\n",
        csrf = esc(frame.csrf),
        title = esc(title),
    )
}

/// A hidden-field POST form with one button, for the actions (works without JavaScript).
pub fn action_form(
    csrf: &str,
    fields: &[(&str, &str)],
    label: &str,
    aria_label: &str,
    class: &str,
) -> String {
    let mut hidden = format!(
        "<input type=\"hidden\" name=\"csrf_token\" value=\"{}\">",
        esc(csrf)
    );
    for (k, v) in fields {
        hidden.push_str(&format!(
            "<input type=\"hidden\" name=\"{}\" value=\"{}\">",
            esc(k),
            esc(v)
        ));
    }
    format!(
        "<form method=\"post\" action=\"action\" class=\"{}\">{hidden}\
         <button type=\"submit\" aria-label=\"{}\">{}</button></form>",
        esc(class),
        esc(aria_label),
        esc(label)
    )
}

/// One POST form for several actions on the same target: each button submits its own
/// `action` value. A row of the dashboard is then one form, not one per button (at 1,000
/// processes that is 14,000 fewer elements for the browser to build).
pub fn actions_form(
    csrf: &str,
    fields: &[(&str, &str)],
    buttons: &[(&str, String)],
    class: &str,
) -> String {
    let mut out = format!(
        "<form method=\"post\" action=\"action\" class=\"{}\">\
         <input type=\"hidden\" name=\"csrf_token\" value=\"{}\">",
        esc(class),
        esc(csrf)
    );
    for (k, v) in fields {
        out.push_str(&format!(
            "<input type=\"hidden\" name=\"{}\" value=\"{}\">",
            esc(k),
            esc(v)
        ));
    }
    for (action, aria_label) in buttons {
        out.push_str(&format!(
            "<button type=\"submit\" name=\"action\" value=\"{a}\" aria-label=\"{}\">{a}</button>",
            esc(aria_label),
            a = esc(action)
        ));
    }
    out.push_str("</form>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_text_is_inert() {
        assert_eq!(
            esc("<img src=x onerror=alert(1)>\"'&"),
            "&lt;img src=x onerror=alert(1)&gt;&quot;&#39;&amp;"
        );
        assert_eq!(url("a:b c/&"), "a%3Ab%20c%2F%26");
        assert_eq!(strip_ansi("\u{1b}[31mred\u{1b}[0m\u{7}x"), "red\u{fffd}x");
        assert_eq!(duration(90_061), "1d 1:01:01");
    }
}
