//! One HTTP request to a notification endpoint: `http://` through hyper, `https://`
//! through the system's `curl` (the binary has no TLS client of its own). curl is a helper
//! child that the engine spawns and reaps, like sendmail.

use std::time::Duration;

use http_body_util::Full;
use steward_config::HealthCheck;
use steward_engine::{EngineHandle, Request};
use tokio::io::AsyncReadExt;

/// Sends `body` with `method` to `url`; the answer's status code, or why there is none.
pub async fn send(
    engine: &EngineHandle,
    method: &str,
    url: &str,
    headers: &[(&str, String)],
    body: Vec<u8>,
    timeout: Duration,
) -> Result<u16, String> {
    if url.starts_with("https://") {
        return curl(engine, method, url, headers, body, timeout).await;
    }
    let Ok(HealthCheck::Http {
        host, port, path, ..
    }) = steward_config::sections::health::parse_check(url)
    else {
        return Err(format!("not an http(s) URL: {url}"));
    };
    let authority = if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    };
    let mut req = hyper::Request::builder()
        .method(method)
        .uri(path.as_str())
        .header(hyper::header::HOST, authority)
        .header(hyper::header::USER_AGENT, "steward-notify")
        .header(hyper::header::CONNECTION, "close");
    for (k, v) in headers {
        req = req.header(*k, v.as_str());
    }
    let req = req
        .body(Full::new(bytes::Bytes::from(body)))
        .map_err(|e| e.to_string())?;
    let exchange = async {
        let stream = tokio::net::TcpStream::connect((host.as_str(), port))
            .await
            .map_err(|e| e.to_string())?;
        let (mut sender, conn) =
            hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
                .await
                .map_err(|e| e.to_string())?;
        let conn = tokio::spawn(conn);
        let result = sender.send_request(req).await;
        conn.abort();
        Ok(result.map_err(|e| e.to_string())?.status().as_u16())
    };
    match tokio::time::timeout(timeout, exchange).await {
        Ok(r) => r,
        Err(_) => Err(format!("no answer within {}s", timeout.as_secs_f64())),
    }
}

async fn curl(
    engine: &EngineHandle,
    method: &str,
    url: &str,
    headers: &[(&str, String)],
    body: Vec<u8>,
    timeout: Duration,
) -> Result<u16, String> {
    let mut argv: Vec<String> = [
        "curl",
        "-sS",
        "-o",
        "/dev/null",
        "-w",
        "%{http_code}",
        "-A",
        "steward-notify",
        "-X",
        method,
        "-m",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    argv.push(format!("{}", timeout.as_secs_f64()));
    for (k, v) in headers {
        argv.push("-H".into());
        argv.push(format!("{k}: {v}"));
    }
    argv.extend(["--data-binary".to_string(), "@-".into(), url.to_string()]);
    let (reply, spawned) = tokio::sync::oneshot::channel();
    if !engine.request(Request::SpawnHelper {
        argv,
        stdin: body,
        reply,
    }) {
        return Err("the daemon is stopping".into());
    }
    let child = spawned
        .await
        .map_err(|_| "the daemon is stopping".to_string())??;
    let pid = child.pid;
    let mut output = tokio::net::unix::pipe::Receiver::from_owned_fd(child.output).ok();
    let mut text = Vec::new();
    let drain = async {
        if let Some(out) = output.as_mut() {
            let _ = out.read_to_end(&mut text).await;
        }
    };
    let waited = tokio::time::timeout(timeout + Duration::from_secs(1), async {
        let (status, ()) = tokio::join!(child.status, drain);
        status
    })
    .await;
    let text = String::from_utf8_lossy(&text).trim().to_string();
    match waited {
        Ok(Ok(status)) if libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0 => {
            let code = text.get(text.len().saturating_sub(3)..).unwrap_or("");
            code.parse()
                .map_err(|_| format!("curl printed no status: {text}"))
        }
        Ok(Ok(_)) => Err(format!("curl failed: {text}")),
        Ok(Err(_)) => Err("the daemon is stopping".into()),
        Err(_) => {
            engine.request(Request::KillCheck { pid });
            Err("curl did not finish".into())
        }
    }
}
