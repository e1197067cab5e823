//! The HTTP request path of `[unix|inet]_http_server`: hyper's HTTP/1.1 parsing (request
//! line, headers, chunked and sized bodies, pipelining), then Steward's Basic
//! authentication and routing (`/RPC2`, `/logtail`, `/mainlogtail`, the status page).
//!
//! Each input is written as-is by a client on one end of a UNIX socket pair, with
//! `steward_server::serve_stream` on the other. The server's user is `user`/`pass`, so
//! `Authorization: Basic dXNlcjpwYXNz` reaches the routes. The backend decodes `/RPC2`
//! bodies with the real XML-RPC decoder and answers the method name; `prog` has a small
//! log file. Time is tokio's paused clock, so header and idle timeouts cost nothing.
#![no_main]

use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use steward_rpc::{xml, Value};
use steward_server::{Backend, ServerOptions, StatusRow};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

struct FuzzBackend {
    log: PathBuf,
}

impl Backend for FuzzBackend {
    fn rpc(&self, body: bytes::Bytes) -> Pin<Box<dyn Future<Output = Result<String, u16>> + Send>> {
        let answer = match xml::parse_call(&body) {
            Ok((method, _)) => Ok(xml::encode_response(&Value::String(method))),
            Err(_) => Err(400),
        };
        Box::pin(async move { answer })
    }
    fn process_log_path(&self, namespec: &str, _stderr: bool) -> Option<PathBuf> {
        (namespec == "prog" || namespec == "prog:prog").then(|| self.log.clone())
    }
    fn main_log_path(&self) -> Option<PathBuf> {
        Some(self.log.clone())
    }
    fn status_rows(&self) -> Vec<StatusRow> {
        vec![StatusRow {
            namespec: "prog".into(),
            statename: "RUNNING".into(),
            description: "pid 1, uptime 0:00:01".into(),
        }]
    }
    fn version(&self) -> String {
        "fuzz".into()
    }
}

fn backend() -> Arc<dyn Backend> {
    static BACKEND: OnceLock<Arc<dyn Backend>> = OnceLock::new();
    BACKEND
        .get_or_init(|| {
            let log =
                std::env::temp_dir().join(format!("steward-fuzz-http-{}.log", std::process::id()));
            std::fs::write(&log, "line one\nline two\n").expect("log file");
            Arc::new(FuzzBackend { log })
        })
        .clone()
}

fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .start_paused(true)
            .build()
            .expect("runtime")
    })
}

fuzz_target!(|data: &[u8]| {
    runtime().block_on(async {
        let (mut client, server) = tokio::net::UnixStream::pair().expect("socket pair");
        let options = ServerOptions {
            header_read_timeout: Duration::from_secs(1),
            idle_timeout: Duration::from_secs(2),
            body_read_timeout: Duration::from_secs(1),
            max_body_size: 1024 * 1024,
            ..ServerOptions::default()
        };
        let serve =
            steward_server::serve_stream(server, backend(), Some("user"), Some("pass"), options);
        let talk = async move {
            let _ = client.write_all(data).await;
            let _ = client.shutdown().await;
            let mut answer = Vec::new();
            // A followed log never ends by itself: the client hangs up after a while.
            let _ =
                tokio::time::timeout(Duration::from_secs(3), client.read_to_end(&mut answer)).await;
        };
        let bounded = tokio::time::timeout(Duration::from_secs(30), async {
            tokio::join!(serve, talk);
        });
        bounded
            .await
            .expect("the server must finish once the client is gone");
    });
});
