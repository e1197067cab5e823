//! The coordinator against a real `redis-server`: one winner per instant, the lease
//! refused while held and owner-checked on renew and release, fence tokens strictly
//! increasing, a dead server reported within the deadline and claims resuming once it is
//! back.
use std::time::{Duration, Instant};

use steward_cluster::test_server::RedisServer;
use steward_cluster::{ClaimOutcome, ClusterError, Coordinator, Settings};

fn node(server: &RedisServer, name: &str, lease: Duration) -> Coordinator {
    let mut s = Settings::new(&server.url(), "t", name);
    s.lease = lease;
    Coordinator::new(s).unwrap()
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

#[test]
fn one_node_wins_each_instant_and_tokens_increase() {
    let server = RedisServer::start();
    let nodes: Vec<Coordinator> = ["a", "b", "c"]
        .iter()
        .map(|n| node(&server, n, Duration::from_secs(30)))
        .collect();
    rt().block_on(async {
        let mut last_fence = 0;
        for instant in 1_000..1_050 {
            let mut winners = Vec::new();
            for n in &nodes {
                match n.claim("job", instant, false).await.unwrap() {
                    ClaimOutcome::Won { fence, .. } => {
                        assert!(fence > last_fence, "fence {fence} after {last_fence}");
                        last_fence = fence;
                        winners.push(n.settings().node.clone());
                    }
                    ClaimOutcome::Taken { by } => assert_eq!(by, "a"),
                    other => panic!("{other:?}"),
                }
            }
            assert_eq!(winners, vec!["a".to_string()], "instant {instant}");
        }
        // Another job's instants are its own.
        assert!(matches!(
            nodes[1].claim("other", 1_000, false).await.unwrap(),
            ClaimOutcome::Won { .. }
        ));
    });
}

#[test]
fn the_lease_is_exclusive_and_owner_checked() {
    let server = RedisServer::start();
    let a = node(&server, "a", Duration::from_millis(400));
    let b = node(&server, "b", Duration::from_millis(400));
    rt().block_on(async {
        let ClaimOutcome::Won {
            owner,
            fence,
            leased,
        } = a.claim("j", 1, true).await.unwrap()
        else {
            panic!("a must win");
        };
        assert!(leased);
        let lease_a = steward_cluster::Lease {
            job: "j".into(),
            owner,
            fence,
        };
        // b claims the next instant but the job runs on a.
        assert_eq!(
            b.claim("j", 2, true).await.unwrap(),
            ClaimOutcome::Busy { by: "a".into() }
        );
        assert!(b.acquire_lease("j").await.unwrap().is_err());
        assert!(a.renew(&lease_a).await.unwrap());
        // a stops renewing (paused): the lease expires and b takes it over.
        let deadline = Instant::now() + Duration::from_secs(5);
        let lease_b = loop {
            if let Ok(l) = b.acquire_lease("j").await.unwrap() {
                break l;
            }
            assert!(Instant::now() < deadline, "the lease never expired");
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        assert!(lease_b.fence > lease_a.fence);
        // a wakes up: it can neither extend nor delete b's lease.
        assert!(!a.renew(&lease_a).await.unwrap());
        assert!(!a.release(&lease_a).await.unwrap());
        assert!(b.renew(&lease_b).await.unwrap());
        assert!(b.release(&lease_b).await.unwrap());
        assert!(a.acquire_lease("j").await.unwrap().is_ok());
    });
}

#[test]
fn a_dead_server_is_reported_within_the_deadline_and_claims_resume() {
    let mut server = RedisServer::start();
    let a = node(&server, "a", Duration::from_secs(30));
    rt().block_on(async {
        assert!(matches!(
            a.claim("j", 1, false).await.unwrap(),
            ClaimOutcome::Won { .. }
        ));
        server.kill();
        let t = Instant::now();
        let e = a.claim("j", 2, false).await.unwrap_err();
        assert!(matches!(e, ClusterError::Unavailable { .. }), "{e}");
        assert!(
            t.elapsed() < Duration::from_millis(700),
            "{:?}",
            t.elapsed()
        );
        server.restart();
        let t = Instant::now();
        // The server came back empty: the claim of instant 2 is new.
        assert!(matches!(
            a.claim("j", 2, false).await.unwrap(),
            ClaimOutcome::Won { .. }
        ));
        assert!(t.elapsed() < Duration::from_secs(1), "{:?}", t.elapsed());
    });
}

#[test]
fn an_unreachable_address_fails_within_the_deadline() {
    // 10.255.255.1 is not routed: the connect is refused at once or hangs until the deadline.
    let a = Coordinator::new(Settings::new("redis://10.255.255.1:6379/0", "t", "a")).unwrap();
    rt().block_on(async {
        let t = Instant::now();
        let e = a.claim("j", 1, false).await.unwrap_err();
        assert!(matches!(e, ClusterError::Unavailable { .. }), "{e}");
        assert!(
            t.elapsed() < Duration::from_millis(800),
            "{:?}",
            t.elapsed()
        );
    });
}

#[test]
fn rediss_verifies_the_server_against_the_given_ca() {
    let server = RedisServer::start_tls();
    assert!(server.url().starts_with("rediss://"));
    let mut s = Settings::new(&server.url(), "t", "a");
    s.ca_file = Some(server.ca_file());
    let trusted = Coordinator::new(s).unwrap();
    // The system's roots do not know the test CA: the handshake fails.
    let untrusted = Coordinator::new(Settings::new(&server.url(), "t", "b")).unwrap();
    rt().block_on(async {
        assert!(matches!(
            trusted.claim("j", 1, false).await.unwrap(),
            ClaimOutcome::Won { .. }
        ));
        let e = untrusted.claim("j", 2, false).await.unwrap_err();
        assert!(matches!(e, ClusterError::Unavailable { .. }), "{e}");
    });
    let mut s = Settings::new(&server.url(), "t", "c");
    s.ca_file = Some("/nonexistent/ca.pem".into());
    let e = Coordinator::new(s).unwrap_err().to_string();
    assert!(e.contains("cannot read /nonexistent/ca.pem"), "{e}");
}
