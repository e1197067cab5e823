//! One notifier's delivery: its bounded queue, batching, the signed webhook POST with
//! retries, and mail through sendmail.
//!
//! Data flow: the router pushes [`Notice`]s on the [`Queue`]. [`run`] waits for the first
//! one, then for `batch_window` (when set) while more arrive, and turns everything queued
//! into one message: `{"notifier", "node", "text", "count", "events": [...]}`. `text` makes
//! Slack-compatible incoming webhooks show a readable line. The message goes to the
//! webhook and/or by mail. A failed attempt is retried after 1, 2, 4, 8, 16 s (`retries`,
//! default 5), with the same `webhook-id` each time so the receiver can dedup. Each attempt
//! is bounded by `timeout`. Until the retries are over, later notices wait in the queue
//! (and are batched with each other once it is free).

use std::collections::VecDeque;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{json, Value};
use steward_config::NotifyConfig;
use steward_engine::{EngineHandle, Request};
use tokio::io::AsyncReadExt;
use tokio::sync::Notify;

use crate::{sign, Notice, NotifyStats};

/// A bounded queue that drops (and counts) its oldest notice when full.
pub struct Queue {
    items: Mutex<VecDeque<Notice>>,
    capacity: usize,
    ready: Notify,
    stats: Arc<NotifyStats>,
}

impl Queue {
    pub fn new(capacity: usize, stats: Arc<NotifyStats>) -> Queue {
        Queue {
            items: Mutex::new(VecDeque::new()),
            capacity,
            ready: Notify::new(),
            stats,
        }
    }

    pub fn push(&self, notice: Notice) {
        let mut items = self.items.lock().expect("queue lock");
        if items.len() >= self.capacity {
            items.pop_front();
            self.stats.dropped.fetch_add(1, Ordering::Relaxed);
        }
        items.push_back(notice);
        drop(items);
        self.ready.notify_one();
    }

    pub(crate) fn take_all(&self) -> Vec<Notice> {
        self.items.lock().expect("queue lock").drain(..).collect()
    }

    pub(crate) async fn wait_nonempty(&self) {
        loop {
            if !self.items.lock().expect("queue lock").is_empty() {
                return;
            }
            self.ready.notified().await;
        }
    }
}

/// The delivery task of one notifier (runs until the daemon exits).
pub async fn run(
    cfg: Arc<NotifyConfig>,
    queue: Arc<Queue>,
    stats: Arc<NotifyStats>,
    engine: EngineHandle,
    node: String,
) {
    loop {
        queue.wait_nonempty().await;
        // Even unbatched, a moment passes so the log pumps can write what a process printed
        // just before it exited; its lines then make the log tail.
        tokio::time::sleep(cfg.batch_window.max(LOG_SETTLE)).await;
        let mut notices = queue.take_all();
        fill_log_tails(&mut notices);
        if notices.is_empty() {
            continue;
        }
        let message = message(&cfg.name, &node, notices);
        let id = sign::message_id();
        let (c, id, m, engine) = (&*cfg, id.as_str(), &message, &engine);
        let delivered = match &cfg.webhook {
            Some(target) => {
                with_retries(c.retries, &stats.retried, move || async move {
                    post(c, engine, &target.url, id, m).await.is_ok()
                })
                .await
            }
            None => true,
        };
        let mailed = if cfg.email.is_empty() {
            true
        } else {
            with_retries(c.retries, &stats.retried, move || mail(c, engine, m)).await
        };
        let counter = if delivered && mailed {
            &stats.sent
        } else {
            &stats.failed
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }
}

/// How long delivery waits for a process's last output to reach its log.
const LOG_SETTLE: Duration = Duration::from_millis(200);

/// Replaces each notice's `log_files` by the `log_tail` read from them now.
pub fn fill_log_tails(notices: &mut [Notice]) {
    for n in notices {
        let Some(files) = n.as_object_mut().and_then(|o| o.remove("log_files")) else {
            continue;
        };
        let files: Vec<&str> = files
            .as_array()
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        n["log_tail"] = json!(crate::log_tail(&files));
    }
}

/// The message for a batch of notices.
pub fn message(notifier: &str, node: &str, notices: Vec<Notice>) -> Value {
    let texts: Vec<&str> = notices.iter().filter_map(|n| n["text"].as_str()).collect();
    let text = match texts.len() {
        0 | 1 => texts.first().copied().unwrap_or_default().to_string(),
        n => {
            let shown: Vec<&str> = texts.iter().take(5).copied().collect();
            let more = if n > 5 {
                format!("\n… and {} more", n - 5)
            } else {
                String::new()
            };
            format!("[{node}] {n} events:\n{}{more}", shown.join("\n"))
        }
    };
    json!({
        "notifier": notifier,
        "node": node,
        "text": text,
        "count": notices.len(),
        "events": notices,
    })
}

/// Runs `attempt` until it succeeds, at most `retries` more times, waiting 1, 2, 4, 8,
/// 16… s between attempts.
pub(crate) async fn with_retries<F, Fut>(
    retries: u32,
    retried: &std::sync::atomic::AtomicU64,
    mut attempt: F,
) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    for n in 0..=retries {
        if n > 0 {
            tokio::time::sleep(retry_delay(n)).await;
            retried.fetch_add(1, Ordering::Relaxed);
        }
        if attempt().await {
            return true;
        }
    }
    false
}

/// The wait before retry `n` (1-based): 1, 2, 4, 8, 16… s, capped at 64 s.
fn retry_delay(n: u32) -> Duration {
    Duration::from_secs(1 << (n.max(1) - 1).min(6))
}

/// One signed POST; Ok on a 2xx answer.
async fn post(
    cfg: &NotifyConfig,
    engine: &EngineHandle,
    url: &str,
    id: &str,
    message: &Value,
) -> Result<(), String> {
    let body = serde_json::to_vec(message).map_err(|e| e.to_string())?;
    let timestamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let mut headers = vec![
        ("content-type", "application/json".to_string()),
        ("webhook-id", id.to_string()),
        ("webhook-timestamp", timestamp.to_string()),
    ];
    if let Some(key) = &cfg.secret {
        headers.push((
            "webhook-signature",
            sign::signature(key, id, timestamp, &body),
        ));
    }
    match crate::transport::send(engine, "POST", url, &headers, body, cfg.timeout).await? {
        code if (200..300).contains(&code) => Ok(()),
        code => Err(format!("HTTP {code}")),
    }
}

/// One mail through the sendmail command (spawned and reaped by the engine).
async fn mail(cfg: &NotifyConfig, engine: &EngineHandle, message: &Value) -> bool {
    let Ok(argv) = steward_config::split_command(&cfg.sendmail) else {
        return false;
    };
    let text = message["text"].as_str().unwrap_or_default();
    let subject = text.lines().next().unwrap_or("steward notification");
    let body = format!(
        "To: {}\r\nSubject: {subject}\r\nContent-Type: text/plain; charset=utf-8\r\nX-Steward-Notifier: {}\r\n\r\n{text}\r\n\r\n{}\r\n",
        cfg.email.join(", "),
        cfg.name,
        serde_json::to_string_pretty(message).unwrap_or_default()
    );
    let (reply, spawned) = tokio::sync::oneshot::channel();
    if !engine.request(Request::SpawnHelper {
        argv,
        stdin: body.into_bytes(),
        reply,
    }) {
        return false;
    }
    let Ok(Ok(child)) = spawned.await else {
        return false;
    };
    let pid = child.pid;
    let mut output = tokio::net::unix::pipe::Receiver::from_owned_fd(child.output).ok();
    let drain = async {
        let mut sink = Vec::new();
        if let Some(out) = output.as_mut() {
            let _ = out.read_to_end(&mut sink).await;
        }
    };
    match tokio::time::timeout(cfg.timeout, async {
        let (status, ()) = tokio::join!(child.status, drain);
        status
    })
    .await
    {
        Ok(Ok(status)) => libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        Ok(Err(_)) => false,
        Err(_) => {
            engine.request(Request::KillCheck { pid });
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_queue_drops_the_oldest_and_counts_it() {
        let stats = Arc::new(NotifyStats::default());
        let q = Queue::new(2, stats.clone());
        for n in 0..3 {
            q.push(json!({ "n": n }));
        }
        let left: Vec<i64> = q
            .take_all()
            .iter()
            .map(|v| v["n"].as_i64().unwrap())
            .collect();
        assert_eq!(left, [1, 2]);
        assert_eq!(stats.dropped.load(Ordering::Relaxed), 1);
    }

    #[test]
    fn retries_wait_one_two_four_eight_sixteen_seconds() {
        let waits: Vec<u64> = (1..=5).map(|n| retry_delay(n).as_secs()).collect();
        assert_eq!(waits, [1, 2, 4, 8, 16]);
        assert_eq!(retry_delay(20).as_secs(), 64);
    }

    #[test]
    fn a_batch_says_how_many_and_shows_the_first_five() {
        let notices: Vec<Value> = (0..7)
            .map(|n| json!({ "text": format!("[h] p{n} entered FATAL") }))
            .collect();
        let m = message("ops", "h", notices);
        assert_eq!(m["count"], 7);
        let text = m["text"].as_str().unwrap();
        assert!(
            text.starts_with("[h] 7 events:\n[h] p0 entered FATAL\n"),
            "{text}"
        );
        assert!(text.ends_with("… and 2 more"), "{text}");
        let one = message("ops", "h", vec![json!({ "text": "[h] a entered FATAL" })]);
        assert_eq!(one["text"], "[h] a entered FATAL");
    }
}
