//! Steward's `[user:NAME]` sections: the password users of the JSON API and the web panel,
//! beside the single `username`/`password` of supervisord's server sections.
//!
//! ```ini
//! [user:alice]
//! password = $argon2id$v=19$m=19456,t=2,p=1$…   ; from `steward passwd`
//! role = operator                               ; viewer (default), logs, operator, admin
//! groups = web*, worker                         ; optional: only these groups
//! ```
//!
//! Data flow: the loader calls [`users`] once with every section; each is read through a
//! [`Reader`], its password shape checked by [`StoredPassword::parse`] (argon2id PHC,
//! `{SHA}`+hex, or plain text, which is accepted with a warning), its role and group
//! globs by [`crate::access`]; any error names the file, line, section and key, and the
//! section is left out.

use super::{Ctx, Reader};
use crate::access::{parse_group_globs, Role, StoredPassword};
use crate::interpolate::Expansions;
use crate::model::UserConfig;

pub const USER_KEYS: &[&str] = &["password", "role", "groups"];

/// Every `[user:NAME]` section, in file order.
pub fn users(ctx: &mut Ctx) -> Vec<UserConfig> {
    let ini = ctx.ini;
    let server_users: Vec<String> = ini
        .sections
        .iter()
        .filter(|s| {
            s.name.starts_with("inet_http_server") || s.name.starts_with("unix_http_server")
        })
        .filter_map(|s| ini.get(s, "username").map(|e| e.value.clone()))
        .collect();
    let mut out = Vec::new();
    for sec in &ini.sections {
        let Some(name) = sec.name.strip_prefix("user:") else {
            continue;
        };
        ctx.warn_unknown_keys(sec, USER_KEYS);
        if name.is_empty() || name.contains(':') || name.chars().any(char::is_whitespace) {
            ctx.error(
                sec,
                "",
                None,
                format!(
                    "bad user name '{name}': it must be non-empty, without ':' or blanks (HTTP Basic cannot carry them)"
                ),
            );
            continue;
        }
        let mut r = Reader::new(ctx, sec);
        let no = Expansions::new();
        let password = match r.get("password", &no) {
            None => {
                if !r.failed {
                    let m = format!(
                        "section [{}] has no password (run `steward passwd`)",
                        sec.name
                    );
                    r.error("password", m);
                }
                None
            }
            Some(v) => match StoredPassword::parse(&v) {
                Ok(p) => {
                    if p.is_plain() {
                        r.warn(
                            "password",
                            "plain-text password: anyone who can read this file can log in; store an argon2id hash from `steward passwd` instead".into(),
                        );
                    }
                    Some(p)
                }
                Err(e) => {
                    r.error("password", e.to_string());
                    None
                }
            },
        };
        let role = r.typed("role", Role::Viewer, &no, |v| {
            v.parse::<Role>().map_err(|e| e.to_string())
        });
        let groups = r
            .get("groups", &no)
            .and_then(|v| match parse_group_globs(&v) {
                Ok(g) => Some(g),
                Err(m) => {
                    r.error("groups", m);
                    None
                }
            });
        if server_users.iter().any(|u| u == name) {
            r.warn(
                "",
                format!(
                    "user '{name}' is also a server section's username; that one (admin) is used"
                ),
            );
        }
        if let (false, Some(password)) = (r.failed, password) {
            out.push(UserConfig {
                name: name.to_string(),
                password,
                role,
                groups,
                defined_at: Ctx::location(sec, "", None),
            });
        }
    }
    out
}
