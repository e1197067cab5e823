//! Cluster claims over days and skewed clocks, at the level of the cron planning: the
//! engine's own [`plan`] decides each node's fire instants as the daemon does, and every
//! instant is claimed through a real `redis-server` (started here) in the order the
//! nodes would wake up on the real clock. Waiting for real days is impossible, so time
//! is simulated: each node's wake-up is "its next fire on its own clock" (real time =
//! fire − offset, plus a few milliseconds of latency), and the claims happen in that
//! order, which is the only thing the outcome depends on.
//!
//! - Europe/Berlin `30 2 * * *` across both 2026 transitions (29 March, 25 October):
//!   exactly one run per local date cluster-wide, at 03:00 CEST on the spring day and
//!   in the first pass on the autumn day;
//! - `* * * * *` with clocks −30 s / 0 / +30 s over 100 minutes: 0 duplicates, 0 misses.

use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};
use std::collections::BTreeMap;
use steward_cluster::test_server::RedisServer;
use steward_cluster::{ClaimOutcome, Coordinator, Settings};
use steward_cron::Schedule;
use steward_engine::cron::{plan, ON_TIME_GRACE};

/// Each node's wake-ups: (real time, node, instant due then).
fn wakeups(
    schedule: &Schedule,
    tz: &TimeZone,
    from: Timestamp,
    until: Timestamp,
    offsets_ms: &[i64],
) -> Vec<(Timestamp, usize, Timestamp)> {
    let mut out = Vec::new();
    for (node, offset) in offsets_ms.iter().enumerate() {
        let offset = SignedDuration::from_millis(*offset);
        // Each node wakes a little late, differently, as real timers do.
        let latency = SignedDuration::from_millis(3 + 4 * node as i64);
        let mut after = from;
        let mut next = plan(schedule, tz, after, after, 0, ON_TIME_GRACE).next;
        while let Some(t) = next.filter(|t| *t < until) {
            let local_now = t.checked_add(latency).unwrap();
            let p = plan(schedule, tz, after, local_now, 0, ON_TIME_GRACE);
            if let Some(due) = p.on_time {
                let real = local_now.checked_sub(offset).unwrap();
                out.push((real, node, due));
            }
            after = p.handled_until;
            next = p.next;
        }
    }
    out.sort();
    out
}

/// Claims every wake-up in real-time order; returns instant → winning nodes.
fn claim_all(
    server: &RedisServer,
    namespace: &str,
    events: &[(Timestamp, usize, Timestamp)],
    nodes: usize,
) -> BTreeMap<Timestamp, Vec<usize>> {
    let coords: Vec<Coordinator> = (0..nodes)
        .map(|n| {
            Coordinator::new(Settings::new(&server.url(), namespace, &format!("n{n}"))).unwrap()
        })
        .collect();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut won: BTreeMap<Timestamp, Vec<usize>> = BTreeMap::new();
    rt.block_on(async {
        for (_, node, instant) in events {
            let entry = won.entry(*instant).or_default();
            match coords[*node]
                .claim("job", instant.as_second(), true)
                .await
                .unwrap()
            {
                ClaimOutcome::Won { owner, fence, .. } => {
                    entry.push(*node);
                    // The run ends before the next fire: give the lease back.
                    let lease = steward_cluster::Lease {
                        job: "job".into(),
                        owner,
                        fence,
                    };
                    assert!(coords[*node].release(&lease).await.unwrap());
                }
                ClaimOutcome::Taken { .. } => {}
                ClaimOutcome::Busy { by } => panic!("lease still held by {by}"),
            }
        }
    });
    won
}

fn ts(s: &str) -> Timestamp {
    s.parse().unwrap()
}

#[test]
fn berlin_half_past_two_runs_once_a_day_across_both_2026_transitions() {
    let server = RedisServer::start();
    let tz = TimeZone::get("Europe/Berlin").unwrap();
    let schedule = Schedule::parse("30 2 * * *").unwrap();
    for (from, until, want) in [
        (
            "2026-03-26T12:00:00Z",
            "2026-04-01T12:00:00Z",
            [
                "2026-03-27T02:30:00+01:00",
                "2026-03-28T02:30:00+01:00",
                "2026-03-29T03:00:00+02:00",
                "2026-03-30T02:30:00+02:00",
                "2026-03-31T02:30:00+02:00",
                "2026-04-01T02:30:00+02:00",
            ],
        ),
        (
            "2026-10-22T12:00:00Z",
            "2026-10-28T12:00:00Z",
            [
                "2026-10-23T02:30:00+02:00",
                "2026-10-24T02:30:00+02:00",
                "2026-10-25T02:30:00+02:00",
                "2026-10-26T02:30:00+01:00",
                "2026-10-27T02:30:00+01:00",
                "2026-10-28T02:30:00+01:00",
            ],
        ),
    ] {
        let events = wakeups(&schedule, &tz, ts(from), ts(until), &[-2000, 0, 2000]);
        assert_eq!(events.len(), 3 * want.len(), "every node wakes once a day");
        let won = claim_all(&server, "berlin", &events, 3);
        let got: Vec<String> = won
            .keys()
            .map(|t| {
                t.to_zoned(tz.clone())
                    .strftime("%Y-%m-%dT%H:%M:%S%:z")
                    .to_string()
            })
            .collect();
        assert_eq!(got, want, "one fire per local date");
        for (t, nodes) in &won {
            assert_eq!(nodes.len(), 1, "{t}: run by nodes {nodes:?}");
            // The node whose clock is furthest ahead wakes first and wins.
            assert_eq!(nodes, &[2], "{t}");
        }
    }
}

#[test]
fn thirty_seconds_of_skew_neither_duplicates_nor_misses_a_minute() {
    let server = RedisServer::start();
    let schedule = Schedule::parse("* * * * *").unwrap();
    let from = ts("2026-06-01T00:00:10Z");
    let until = ts("2026-06-01T01:40:10Z");
    let events = wakeups(
        &schedule,
        &TimeZone::UTC,
        from,
        until,
        &[-30_000, 0, 30_000],
    );
    let won = claim_all(&server, "skew", &events, 3);
    assert_eq!(won.len(), 100, "100 minutes, 100 fires");
    assert!(won.values().all(|n| n.len() == 1), "a minute ran twice");
}
