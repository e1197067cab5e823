//! Steward's `[command:NAME]` sections: one-shot commands declared in the config that the
//! API, the panel and the TUI may run on request (seed 001's "run an Artisan command"),
//! and nothing else: no route ever takes a free command line.
//!
//! ```ini
//! [command:cache-clear]
//! command = php artisan cache:clear
//! directory = /var/www/app
//! user = www-data
//! environment = APP_ENV="production"
//! timeout = 120          ; seconds, default 300; the command is killed after it
//! description = Clear the application cache
//! ```
//!
//! Data flow: the loader calls [`commands`] once; each section is read through a
//! [`Reader`] (so `%(here)s` and `%(ENV_X)s` expand as everywhere) and becomes a
//! [`CommandConfig`]; an error names the file, line, section and key and the section is
//! left out.

use std::path::PathBuf;

use super::{Ctx, Reader};
use crate::interpolate::Expansions;
use crate::model::CommandConfig;
use crate::values::*;

pub const COMMAND_KEYS: &[&str] = &[
    "command",
    "directory",
    "user",
    "environment",
    "timeout",
    "description",
];

/// Every `[command:NAME]` section, in file order.
pub fn commands(ctx: &mut Ctx) -> Vec<CommandConfig> {
    let ini = ctx.ini;
    let mut out: Vec<CommandConfig> = Vec::new();
    for sec in &ini.sections {
        let Some(name) = sec.name.strip_prefix("command:") else {
            continue;
        };
        ctx.warn_unknown_keys(sec, COMMAND_KEYS);
        if name.is_empty()
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
        {
            ctx.error(
                sec,
                "",
                None,
                format!("bad command name '{name}': use letters, digits, '.', '_' and '-'"),
            );
            continue;
        }
        if out.iter().any(|c| c.name == name) {
            ctx.error(sec, "", None, format!("[command:{name}] is defined twice"));
            continue;
        }
        let mut r = Reader::new(ctx, sec);
        let mut exp = Expansions::new();
        let command = match r.get("command", &exp) {
            Some(c) if !c.trim().is_empty() => Some(c),
            _ => {
                if !r.failed {
                    r.error("command", format!("section [{}] has no command", sec.name));
                }
                None
            }
        };
        let environment = match r.get("environment", &exp) {
            None => Vec::new(),
            Some(s) => match parse_environment(&s) {
                Ok(e) => e,
                Err(m) => {
                    r.error("environment", m);
                    Vec::new()
                }
            },
        };
        for (k, v) in &environment {
            exp.insert(format!("ENV_{k}"), crate::interpolate::Val::Str(v.clone()));
        }
        let directory = r.get("directory", &exp).map(PathBuf::from);
        let user = r.get("user", &exp);
        let timeout = r.typed("timeout", 300, &exp, |v| {
            parse_int_range(v, 0, 86_400 * 365).map(|n| n as u64)
        });
        if timeout == 0 && !r.failed {
            r.error("timeout", "timeout must be at least 1 second".into());
        }
        let description = r.get("description", &exp).unwrap_or_default();
        if let (false, Some(command)) = (r.failed, command) {
            out.push(CommandConfig {
                name: name.to_string(),
                command,
                directory,
                user,
                environment,
                timeout,
                description,
                defined_at: Ctx::location(sec, "", None),
            });
        }
    }
    out
}
