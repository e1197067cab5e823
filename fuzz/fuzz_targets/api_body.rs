//! The JSON API's requests (`/api/v1/…`, `/healthz`, `/metrics`): query strings, path
//! parameters and JSON bodies through axum's extractors and Steward's own
//! (`OptionalJson`, `JsonQuery`, the login body), on the real router over a real engine
//! whose one program never starts.
//!
//! Input format: the first byte picks the method, the text up to the first newline is
//! the path and query, the rest is the body (sent as `application/json`). Requests come
//! through a network-reachable listener without credentials, so the caller is the
//! read-only anonymous viewer: every body is parsed, no action ever runs.
#![no_main]

use std::path::Path;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use axum::body::Body;
use axum::http::{header, Method, Request};
use http_body_util::BodyExt;
use libfuzzer_sys::fuzz_target;
use steward_api::access::{Connection, Credentials, Listener};
use steward_config::LogLevel;
use steward_config::{LoadOptions, MemoryTree};
use steward_engine::logs::MainLog;
use steward_engine::EngineOptions;
use tower::ServiceExt;

const CONFIG: &str =
    "[supervisord]\nlogfile=/dev/null\n\n[program:prog]\ncommand=/bin/true\nautostart=false\n";

struct Api {
    runtime: tokio::runtime::Runtime,
    router: axum::Router,
}

fn api() -> &'static Api {
    static API: OnceLock<Api> = OnceLock::new();
    API.get_or_init(|| {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let router = runtime.block_on(async {
            let mut tree = MemoryTree::default();
            tree.insert("/fuzz/supervisord.conf", CONFIG);
            let opts = LoadOptions {
                env: Default::default(),
                host_node_name: "fuzzhost".into(),
                check_system: false,
            };
            let config =
                steward_config::load_from_tree(&tree, Path::new("/fuzz/supervisord.conf"), &opts)
                    .expect("the fuzz config loads");
            let main_log =
                Arc::new(MainLog::new(None, false, 0, 0, LogLevel::Critical, false).expect("log"));
            let (engine, starter) = steward_engine::prepare(EngineOptions {
                config: Arc::new(config),
                reparse: Box::new(|| Err("no reload while fuzzing".into())),
                main_log,
                base_env: Vec::new(),
                first_start: true,
            });
            // The loop lives as long as the fuzzing process.
            std::mem::forget(starter.spawn());
            engine.loaded().await;
            let credentials = Credentials {
                users: None,
                tokens: None,
            };
            let state = steward_api::ApiState::new(engine, credentials, None);
            steward_api::router(state)
        });
        Api { runtime, router }
    })
}

const METHODS: [Method; 5] = [
    Method::GET,
    Method::POST,
    Method::PUT,
    Method::DELETE,
    Method::PATCH,
];

fuzz_target!(|data: &[u8]| {
    let Some((&m, rest)) = data.split_first() else {
        return;
    };
    let (target, body) = match rest.iter().position(|&b| b == b'\n') {
        Some(i) => (&rest[..i], &rest[i + 1..]),
        None => (rest, &[][..]),
    };
    let Ok(target) = std::str::from_utf8(target) else {
        return;
    };
    let Ok(request) = Request::builder()
        .method(METHODS[m as usize % METHODS.len()].clone())
        .uri(target)
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::HOST, "fuzz")
        .extension(Connection {
            listener: Listener::TcpPublic,
            peer: Some("192.0.2.1:4000".into()),
            basic: None,
            base_path: None,
        })
        .body(Body::from(body.to_vec()))
    else {
        return;
    };
    let api = api();
    api.runtime.block_on(async {
        let response =
            tokio::time::timeout(Duration::from_secs(5), api.router.clone().oneshot(request))
                .await
                .expect("an API answer within 5 s")
                .expect("infallible");
        // Streams (SSE, followed logs) never end by themselves: read a little of them.
        let _ =
            tokio::time::timeout(Duration::from_millis(20), response.into_body().collect()).await;
    });
});
