//! The plain status page served at `/` and `/index.html`: one table row per process
//! (State, Description, Name) from [`crate::Backend::status_rows`], the version in the
//! footer, `No programs to manage` when empty. Read-only: the interactive dashboard with
//! actions lives elsewhere.

use crate::StatusRow;

/// Escapes text for HTML content and attribute values.
pub(crate) fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
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

fn state_class(statename: &str) -> &'static str {
    match statename {
        "RUNNING" => "statusrunning",
        "FATAL" | "BACKOFF" => "statuserror",
        _ => "statusnominal",
    }
}

pub(crate) fn render(rows: &[StatusRow], version: &str) -> String {
    let mut body = String::new();
    if rows.is_empty() {
        body.push_str("<p class=\"empty\">No programs to manage</p>\n");
    } else {
        body.push_str(
            "<table>\n<thead><tr><th class=\"state\">State</th><th class=\"desc\">Description</th>\
             <th class=\"name\">Name</th></tr></thead>\n<tbody>\n",
        );
        for (i, r) in rows.iter().enumerate() {
            let shade = if i % 2 == 1 { " class=\"shade\"" } else { "" };
            body.push_str(&format!(
                "<tr{shade}><td class=\"status\"><span class=\"{}\">{}</span></td>\
                 <td>{}</td><td>{}</td></tr>\n",
                state_class(&r.statename),
                escape(&r.statename.to_lowercase()),
                escape(&r.description),
                escape(&r.namespec),
            ));
        }
        body.push_str("</tbody>\n</table>\n");
    }
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <title>Supervisor Status</title>\n<style>\n\
         body {{ font-family: sans-serif; margin: 2em; }}\n\
         table {{ border-collapse: collapse; }}\n\
         th, td {{ text-align: left; padding: 0.3em 1em; }}\n\
         tr.shade {{ background: #f0f0f0; }}\n\
         .statusrunning {{ color: #080; }}\n\
         .statuserror {{ color: #c00; font-weight: bold; }}\n\
         .statusnominal {{ color: #555; }}\n\
         footer {{ margin-top: 2em; color: #777; font-size: small; }}\n\
         </style>\n</head>\n<body>\n<h1>Supervisor Status</h1>\n{body}\
         <footer>Supervisor {}</footer>\n</body>\n</html>\n",
        escape(version)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_rows_and_empty() {
        let html = render(&[], "4.3.0");
        assert!(html.contains("No programs to manage"));
        assert!(html.contains("Supervisor 4.3.0"));
        let rows = vec![StatusRow {
            namespec: "g:<x>".into(),
            statename: "FATAL".into(),
            description: "Exited too quickly (process log may have details)".into(),
        }];
        let html = render(&rows, "1");
        assert!(html.contains("statuserror\">fatal<"));
        assert!(html.contains("g:&lt;x&gt;"));
    }
}
