//! The human output of `steward check`.
//!
//! Data flow: takes a loaded [`Config`] and renders one line per resolved process (in start
//! order: groups by (priority, name), processes by (priority, name)) followed by the
//! warnings. Pure formatting; no I/O.

use crate::model::{Config, GroupKind};
use crate::namespec;

/// `<namespec>  priority=N autostart=B [cron="…"] command=<interpolated command>` lines,
/// then `warning: <diagnostic>` lines, then a summary line.
pub fn render(config: &Config) -> String {
    let mut out = String::new();
    let mut n = 0usize;
    for g in &config.groups {
        for p in &g.processes {
            n += 1;
            out.push_str(&namespec(&g.name, &p.name));
            out.push_str(&format!(
                "  priority={} autostart={}",
                p.priority, p.autostart
            ));
            if let GroupKind::Cron(c) = &g.kind {
                out.push_str(&format!(" schedule=\"{}\"", c.schedule));
            }
            out.push_str(&format!(" command={}\n", p.command));
        }
    }
    for w in &config.warnings {
        out.push_str(&format!("warning: {w}\n"));
    }
    out.push_str(&format!(
        "{}: OK ({} group{}, {} process{}, {} warning{})\n",
        config.source.display(),
        config.groups.len(),
        if config.groups.len() == 1 { "" } else { "s" },
        n,
        if n == 1 { "" } else { "es" },
        config.warnings.len(),
        if config.warnings.len() == 1 { "" } else { "s" },
    ));
    out
}
