//! `[notify:name]` (Steward): where crash and health notifications go.
//!
//! One section is one destination: a webhook (`url`, signed with `secret` in the Standard
//! Webhooks scheme) and/or mail through a sendmail-compatible command (`email`,
//! `sendmail`). `events` and `groups` choose what is sent, `batch_window` folds a burst
//! into one message. Values are checked here; delivery is the notify crate's job.

use super::health::parse_check;
use super::{Ctx, Reader};
use crate::ini::Section;
use crate::interpolate::Expansions;
use crate::model::*;
use crate::values::parse_int_range;
use base64::Engine as _;
use std::time::Duration;

pub const NOTIFY_KEYS: &[&str] = &[
    "url",
    "secret",
    "email",
    "sendmail",
    "events",
    "groups",
    "batch_window",
    "timeout",
    "retries",
    "queue_size",
];

/// The events a notifier may name, and the default set.
pub const NOTIFY_EVENTS: &[(&str, NotifyEvent)] = &[
    ("PROCESS_STATE_FATAL", NotifyEvent::Fatal),
    ("PROCESS_STATE_EXITED", NotifyEvent::UnexpectedExit),
    ("PROCESS_STATE_BACKOFF", NotifyEvent::Backoff),
    ("PROCESS_HEALTH_UNHEALTHY", NotifyEvent::Unhealthy),
    ("CRON_FAILED", NotifyEvent::CronFailed),
    ("CRON_TIMED_OUT", NotifyEvent::CronTimedOut),
    ("CRON_SKIPPED", NotifyEvent::CronSkipped),
    ("CRON_MISSED", NotifyEvent::CronMissed),
];

pub fn notify<'a>(ctx: &mut Ctx<'a>, sec: &'a Section) -> Option<NotifyConfig> {
    ctx.warn_unknown_keys(sec, NOTIFY_KEYS);
    let name = sec.name.split_once(':').map(|x| x.1.trim()).unwrap_or("");
    let mut r = Reader::new(ctx, sec);
    if name.is_empty() {
        r.error("", "a [notify:x] section needs a name".into());
        return None;
    }
    let no = Expansions::new();
    let webhook = r.get("url", &no).filter(|u| !u.is_empty()).and_then(|u| {
        // https goes through curl; the address is checked the same way.
        let parsed = match u.strip_prefix("https://") {
            Some(rest) => parse_check(&format!("http://{rest}")).map(|c| match c {
                HealthCheck::Http {
                    host, port, path, ..
                } => HealthCheck::Http {
                    url: u.clone(),
                    host,
                    port: if rest.split('/').next().is_some_and(|a| a.contains(':')) {
                        port
                    } else {
                        443
                    },
                    path,
                },
                other => other,
            }),
            None if u.starts_with("http://") => parse_check(&u),
            None => Err("the url must start with http:// or https://".to_string()),
        };
        match parsed {
            Ok(HealthCheck::Http {
                url,
                host,
                port,
                path,
            }) => Some(WebhookTarget {
                url,
                host,
                port,
                path,
            }),
            Ok(_) => None,
            Err(m) => {
                r.error("url", m);
                None
            }
        }
    });
    let secret = r
        .get("secret", &no)
        .filter(|s| !s.is_empty())
        .and_then(|s| match s.strip_prefix("whsec_") {
            Some(b64) => match base64::engine::general_purpose::STANDARD.decode(b64) {
                Ok(key) if !key.is_empty() => Some(key),
                _ => {
                    r.error(
                        "secret",
                        "a whsec_ secret must be followed by base64 (Standard Webhooks)".into(),
                    );
                    None
                }
            },
            None => Some(s.into_bytes()),
        });
    let email: Vec<String> = r
        .get("email", &no)
        .map(|v| {
            v.split(',')
                .map(|e| e.trim().to_string())
                .filter(|e| !e.is_empty())
                .collect()
        })
        .unwrap_or_default();
    if let Some(bad) = email
        .iter()
        .find(|e| !e.contains('@') || e.contains(char::is_whitespace))
    {
        let m = format!("'{bad}' is not an email address");
        r.error("email", m);
    }
    let sendmail = r
        .get("sendmail", &no)
        .filter(|s| !s.trim().is_empty())
        .unwrap_or_else(|| "/usr/sbin/sendmail -t -i".into());
    if let Err(m) = crate::values::split_command(&sendmail) {
        r.error("sendmail", m);
    }
    let events = match r.get("events", &no) {
        None => vec![
            NotifyEvent::Fatal,
            NotifyEvent::UnexpectedExit,
            NotifyEvent::Unhealthy,
            NotifyEvent::CronFailed,
            NotifyEvent::CronTimedOut,
        ],
        Some(v) => {
            let mut out = Vec::new();
            for e in v.split(',').map(|e| e.trim().to_uppercase()) {
                if e.is_empty() {
                    continue;
                }
                match NOTIFY_EVENTS.iter().find(|(n, _)| *n == e) {
                    Some((_, ev)) if !out.contains(ev) => out.push(*ev),
                    Some(_) => {}
                    None => {
                        let known: Vec<&str> = NOTIFY_EVENTS.iter().map(|(n, _)| *n).collect();
                        r.error(
                            "events",
                            format!("unknown event '{e}' (expected {})", known.join(", ")),
                        );
                    }
                }
            }
            out
        }
    };
    let groups = r.get("groups", &no).unwrap_or_else(|| "*".into());
    let group_patterns: Vec<glob::Pattern> = groups
        .split(',')
        .map(str::trim)
        .filter(|g| !g.is_empty())
        .filter_map(|g| match glob::Pattern::new(g) {
            Ok(p) => Some(p),
            Err(e) => {
                r.error("groups", format!("invalid pattern '{g}': {e}"));
                None
            }
        })
        .collect();
    let seconds = |v: &str, min: i64| parse_int_range(v, min, 86_400).map(|n| n as u64);
    let batch_window = Duration::from_secs(r.typed("batch_window", 0, &no, |v| seconds(v, 0)));
    let timeout = Duration::from_secs(r.typed("timeout", 5, &no, |v| seconds(v, 1)));
    let retries = r.typed("retries", 5, &no, |v| {
        parse_int_range(v, 0, 20).map(|n| n as u32)
    });
    let queue_size = r.typed("queue_size", 1000, &no, |v| {
        parse_int_range(v, 1, 1_000_000).map(|n| n as usize)
    });
    if webhook.is_none() && email.is_empty() && !r.failed {
        r.error(
            "",
            format!("[{}] needs a url or an email to send to", sec.name),
        );
    }
    if r.failed {
        return None;
    }
    Some(NotifyConfig {
        name: name.to_string(),
        webhook,
        secret,
        email,
        sendmail,
        events,
        groups: group_patterns,
        batch_window,
        timeout,
        retries,
        queue_size,
    })
}
