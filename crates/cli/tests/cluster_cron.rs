//! Issue 18: `[cron:x]` with a cluster lock, black-box. Three `steward daemon`s on
//! loopback share one real `redis-server` (Debian's, started here on a free port with
//! persistence off) and run their cron planning with clocks −2 s, 0 and +2 s apart
//! (`STEWARD_TEST_CLOCK_OFFSET_MS`, test-only). Every run appends a line to a shared
//! sink file: `instant node fence start-time`.
//!
//! - 100 fires of a 1-second schedule: exactly 100 runs, 0 duplicates, 0 misses, none
//!   more than 2.1 s before its instant (`STEWARD_CLUSTER_FIRES=N` changes the count;
//!   `bench/cluster_cron.sh` runs 1,000);
//! - Redis killed for 10 s: the fires in between are history rows skipped with
//!   `lock-unavailable`, 0 duplicates, a run within about 1 s of Redis coming back;
//! - the lease holder SIGSTOPped for twice the lease: exactly one other node takes over,
//!   fence tokens strictly increase, and a store that rejects stale tokens accepts no
//!   write of the paused run after the takeover;
//! - a restarted node's catch-up never reruns a fire another node ran;
//! - `rediss://` with `lock_ca` against a TLS-only server.
mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use steward_cluster::test_server::RedisServer;
use support::*;

const OFFSETS_MS: [i64; 3] = [-2000, 0, 2000];
const NODES: [&str; 3] = ["node-a", "node-b", "node-c"];

fn now_f64() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

/// One line of the sink.
#[derive(Debug, Clone)]
struct Fire {
    instant: i64,
    node: String,
    fence: u64,
    started: f64,
}

struct Cluster {
    redis: RedisServer,
    nodes: Vec<Daemon>,
    shared: tempfile::TempDir,
    job: String,
    cluster_extra: String,
}

impl Cluster {
    /// Three nodes running `job` (a `[cron:tick]` body; `{sink}`, `{shared}` and `{node}`
    /// are replaced) with `[cluster]` options `cluster_extra`.
    fn start(job: &str, cluster_extra: &str) -> Cluster {
        Cluster::start_skewed(job, cluster_extra, OFFSETS_MS)
    }

    /// As [`Cluster::start`], the nodes' planning clocks `offsets_ms` off the real one.
    fn start_skewed(job: &str, cluster_extra: &str, offsets_ms: [i64; 3]) -> Cluster {
        let mut c = Cluster::without_nodes(job, cluster_extra);
        c.start_nodes(offsets_ms);
        c
    }

    /// The Redis server and the shared directory, before any node starts.
    fn without_nodes(job: &str, cluster_extra: &str) -> Cluster {
        let redis = RedisServer::start();
        let shared = tempfile::Builder::new()
            .prefix("stw-cluster-")
            .tempdir_in("/tmp")
            .unwrap();
        Cluster {
            redis,
            nodes: Vec::new(),
            shared,
            job: job.to_string(),
            cluster_extra: cluster_extra.to_string(),
        }
    }

    /// (Re)starts the three nodes with fresh state directories and these clock offsets;
    /// the Redis server and the sink stay.
    fn start_nodes(&mut self, offsets_ms: [i64; 3]) {
        self.nodes.clear();
        let namespace = format!("t{}", std::process::id());
        let shared = self.shared.path().display().to_string();
        self.nodes = NODES
            .iter()
            .zip(offsets_ms)
            .map(|(node, offset)| {
                let job = self
                    .job
                    .replace("{sink}", &format!("{shared}/sink"))
                    .replace("{shared}", &shared)
                    .replace("{node}", node);
                // A 2 s deadline (not the default 500 ms, tested in crates/cluster):
                // on a loaded CI box a slow answer would be a skipped fire.
                let conf = Conf::new(&format!(
                    "[steward]\nstate_dir={{dir}}/state\n\n[cluster]\nlock = {}\nnamespace = {namespace}\nnode = {node}\nlock_timeout = 2\n{}\n\n[cron:tick]\n{job}\n",
                    self.redis.url(),
                    self.cluster_extra
                ));
                Daemon::start_steward_with_env(
                    conf,
                    &[("STEWARD_TEST_CLOCK_OFFSET_MS", offset.to_string())],
                )
            })
            .collect();
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.shared.path().join(rel)
    }

    fn fires(&self) -> Vec<Fire> {
        read_fires(&self.path("sink"))
    }

    fn node(&self, name: &str) -> &Daemon {
        &self.nodes[NODES.iter().position(|n| *n == name).unwrap()]
    }

    /// Every node's history rows of the job.
    fn history(&self) -> Vec<Value> {
        self.nodes
            .iter()
            .flat_map(
                |d| match d.call("steward.cronHistory", vec![json!("tick"), json!(10000)]) {
                    Value::Array(v) => v,
                    other => panic!("cronHistory returned {other:?}"),
                },
            )
            .collect()
    }

    fn diagnostics(&self) -> String {
        self.nodes
            .iter()
            .zip(NODES)
            .map(|(d, n)| format!("===== {n}\n{}", d.diagnostics()))
            .collect::<Vec<_>>()
            .join("\n")
    }

    fn wait(&self, what: &str, timeout: Duration, cond: impl FnMut() -> bool) {
        if !wait_until(timeout, cond) {
            panic!("{what}: not within {timeout:?}\n{}", self.diagnostics());
        }
    }
}

/// `steward cron ARGS -c <the node's config>`.
fn steward_cron(d: &Daemon, args: &[&str]) -> Output {
    let mut cmd = std::process::Command::new(steward_bin());
    cmd.arg("cron").args(args).arg("-c").arg(&d.conf.path);
    run_with_timeout(&mut cmd, Duration::from_secs(20))
}

fn read_fires(path: &Path) -> Vec<Fire> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            Some(Fire {
                instant: f.first()?.parse().ok()?,
                node: f.get(1)?.to_string(),
                fence: f.get(2)?.parse().ok()?,
                started: f.get(3)?.parse().ok()?,
            })
        })
        .collect()
}

/// Instant → how many runs it got.
fn counts(fires: &[Fire]) -> BTreeMap<i64, usize> {
    let mut m = BTreeMap::new();
    for f in fires {
        *m.entry(f.instant).or_insert(0) += 1;
    }
    m
}

fn duplicates(fires: &[Fire]) -> Vec<(i64, usize)> {
    counts(fires).into_iter().filter(|(_, n)| *n > 1).collect()
}

/// `overlap = allow`, so the counts measure the claims alone: with `skip`, a fire that
/// comes while another node's run of another instant is still going is skipped by design
/// (the lease; tested by the SIGSTOP scenario).
const TICK_JOB: &str = "schedule = * * * * * *\noverlap = allow\nhistory = 5000\ncommand = /bin/sh -c 'echo \"$STEWARD_CRON_SCHEDULED $STEWARD_CRON_NODE $STEWARD_FENCE_TOKEN $(date +%%s.%%N)\" >> {sink}'\n";

#[test]
fn every_fire_runs_exactly_once_across_three_skewed_nodes() {
    let c = Cluster::start(TICK_JOB, "");
    // The window starts once every node is up and planning with all its skew: the
    // node at −2 s reaches the first instant 4 s after the node at +2 s.
    let first = now_f64().ceil() as i64 + 8;
    let fires_wanted: i64 = std::env::var("STEWARD_CLUSTER_FIRES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100);
    let last = first + fires_wanted - 1;
    let complete = wait_until(Duration::from_secs(fires_wanted as u64 + 20), || {
        let n = counts(&c.fires());
        (first..=last).all(|i| n.contains_key(&i))
    });
    if !complete {
        let n = counts(&c.fires());
        let missing: Vec<i64> = (first..=last).filter(|i| !n.contains_key(i)).collect();
        panic!(
            "instants {first}..={last}: {missing:?} never ran\n{}",
            c.diagnostics()
        );
    }
    // Late nodes (clock behind) try the last instants up to 2 s later.
    std::thread::sleep(Duration::from_secs(3));
    let fires = c.fires();
    assert_eq!(duplicates(&fires), vec![], "duplicate runs");
    let window: Vec<&Fire> = fires
        .iter()
        .filter(|f| (first..=last).contains(&f.instant))
        .collect();
    assert_eq!(window.len(), fires_wanted as usize, "runs in the window");
    let earliest = window
        .iter()
        .map(|f| f.started - f.instant as f64)
        .fold(f64::INFINITY, f64::min);
    assert!(
        earliest >= -2.1,
        "a run started {:.3} s before its instant",
        -earliest
    );
    // The node with the clock furthest ahead claims first.
    let by_node = window.iter().fold(BTreeMap::new(), |mut m, f| {
        *m.entry(f.node.clone()).or_insert(0) += 1;
        m
    });
    eprintln!("runs per node: {by_node:?}; earliest start {earliest:.3} s from its instant");
    // Fence tokens are unique and grow with the instant.
    let mut sorted: Vec<&Fire> = window.clone();
    sorted.sort_by_key(|f| f.instant);
    assert!(
        sorted.windows(2).all(|w| w[0].fence < w[1].fence),
        "fence tokens must strictly increase"
    );
    // History: each run is a row on the node that ran it, naming that node.
    let rows = c.history();
    let ran: Vec<&Value> = rows
        .iter()
        .filter(|r| r["skipped"] == "" && r["scheduled"] != "")
        .collect();
    for f in &window {
        assert!(
            ran.iter().any(|r| r["node"] == f.node.as_str()
                && r["fence"] == f.fence.to_string().as_str()),
            "no history row for {f:?}"
        );
    }
    let out = steward_cron(c.node("node-c"), &["history", "tick"]);
    assert!(out.stdout.contains("NODE"), "{}", out.stdout);
    assert!(out.stdout.contains("node-c"), "{}", out.stdout);
    let list = steward_cron(c.node("node-a"), &["list"]);
    assert!(list.stdout.contains("NODE"), "{}", list.stdout);
}

#[test]
fn redis_down_for_ten_seconds_skips_those_fires_and_resumes_within_a_second() {
    let mut c = Cluster::start(TICK_JOB, "");
    c.wait("runs before the outage", Duration::from_secs(15), || {
        c.fires().len() >= 3
    });
    let killed = now_f64();
    c.redis.kill();
    std::thread::sleep(Duration::from_secs(10));
    c.redis.restart();
    let back = now_f64();
    c.wait(
        "a run after Redis came back",
        Duration::from_secs(5),
        || c.fires().iter().any(|f| f.started >= back),
    );
    // Give the late nodes time to try (and fail) the same instants.
    std::thread::sleep(Duration::from_secs(3));
    let fires = c.fires();
    assert_eq!(duplicates(&fires), vec![], "duplicate runs");
    let first_after = fires
        .iter()
        .filter(|f| f.started >= back)
        .map(|f| f.started)
        .fold(f64::INFINITY, f64::min);
    assert!(
        first_after - back <= 1.2,
        "first run {:.3} s after Redis came back",
        first_after - back
    );
    // The instants nobody ran during the outage are recorded as skipped.
    let ran: BTreeSet<i64> = fires.iter().map(|f| f.instant).collect();
    let lo = *ran
        .iter()
        .filter(|i| (**i as f64) < killed + 2.0)
        .max()
        .unwrap();
    let hi = *ran.iter().filter(|i| (**i as f64) >= back).min().unwrap();
    // Each node loses the ~10 fires its clock passed during the outage. The cluster
    // loses about 6 of them: right after Redis is back, the late node (−2 s) claims
    // and runs the instants the early one (+2 s) could not.
    let missing: Vec<i64> = (lo + 1..hi).filter(|i| !ran.contains(i)).collect();
    assert!(
        (5..=8).contains(&missing.len()),
        "expected about 6 fires lost cluster-wide, got {missing:?}"
    );
    let rows = c.history();
    for (d, n) in c.nodes.iter().zip(NODES) {
        let rows = match d.call("steward.cronHistory", vec![json!("tick"), json!(10000)]) {
            Value::Array(v) => v,
            other => panic!("{other:?}"),
        };
        let skips = rows
            .iter()
            .filter(|r| {
                r["skipped"]
                    .as_str()
                    .is_some_and(|s| s.starts_with("lock-unavailable"))
            })
            .count();
        assert!(
            (9..=11).contains(&skips),
            "{n}: {skips} fires recorded as skipped"
        );
        // The same count is a /metrics counter (on the daemon's UNIX socket).
        let (_, body) = http_unix(&d.conf.sock, "GET", "/metrics", b"").unwrap();
        let body = String::from_utf8_lossy(&body);
        let counted: usize = body
            .lines()
            .find_map(|l| l.strip_prefix("steward_cron_skipped_total{job=\"tick\"} "))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or_else(|| panic!("{n}: no skip counter in /metrics:\n{body}"));
        assert_eq!(counted, skips, "{n}: /metrics and history disagree");
    }
    let skipped: BTreeSet<i64> = rows
        .iter()
        .filter(|r| {
            r["skipped"]
                .as_str()
                .is_some_and(|s| s.starts_with("lock-unavailable"))
        })
        .filter_map(|r| r["scheduled"].as_str()?.parse::<jiff::Timestamp>().ok())
        .map(|t| t.as_second())
        .collect();
    for i in &missing {
        assert!(
            skipped.contains(i),
            "instant {i} neither ran nor was recorded as skipped"
        );
    }
    for d in &c.nodes {
        let log = std::fs::read_to_string(d.conf.dir.join("supervisord.log")).unwrap_or_default();
        let outages = log.matches("fires are skipped until it answers").count();
        assert_eq!(outages, 1, "the outage is logged once per node:\n{log}");
    }
}

/// A store that accepts a write only if its token is not older than the newest token it
/// has accepted (Kleppmann's fenced storage), and the job that writes to it every 100 ms
/// for 20 s.
const FENCED_JOB: &str = "schedule = * * * * * *\noverlap = skip\nhistory = 1000\ncommand = /bin/sh {shared}/writer.sh\n";

const WRITER: &str = r#"i=0
while [ $i -lt 200 ]; do
  (
    flock 9
    max=$(cat {shared}/max 2>/dev/null || echo 0)
    if [ "$STEWARD_FENCE_TOKEN" -ge "$max" ]; then
      echo "$STEWARD_FENCE_TOKEN" > {shared}/max
      echo "accept $STEWARD_FENCE_TOKEN $STEWARD_CRON_NODE $$" >> {shared}/store
    else
      echo "reject $STEWARD_FENCE_TOKEN $STEWARD_CRON_NODE $$" >> {shared}/store
    fi
  ) 9>{shared}/lock
  sleep 0.1
  i=$((i+1))
done
"#;

#[derive(Debug)]
struct Write {
    accepted: bool,
    fence: u64,
    node: String,
}

fn store(c: &Cluster) -> Vec<Write> {
    std::fs::read_to_string(c.path("store"))
        .unwrap_or_default()
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            Some(Write {
                accepted: *f.first()? == "accept",
                fence: f.get(1)?.parse().ok()?,
                node: f.get(2)?.to_string(),
            })
        })
        .collect()
}

/// After a lease holder was paused for twice the lease and resumed.
struct Paused {
    c: Cluster,
    /// The paused run's first accepted write.
    first: Write,
    /// The paused run's process.
    child: i32,
    /// How many writes the store had when the node was paused.
    paused_at: usize,
}

impl Paused {
    fn holder(&self) -> &Daemon {
        self.c.node(&self.first.node)
    }
}

/// Three nodes run the fenced writer with a 1.5 s lease (and `cluster_extra`); the one
/// holding the lease is SIGSTOPped (daemon and job) for twice the lease, until another
/// node has taken over, then resumed until it notices the loss.
fn pause_the_lease_holder(cluster_extra: &str) -> Paused {
    let lease = 1.5;
    let c = Cluster::start(FENCED_JOB, &format!("lease = {lease}\n{cluster_extra}"));
    std::fs::write(
        c.path("writer.sh"),
        WRITER.replace("{shared}", &c.shared.path().display().to_string()),
    )
    .unwrap();
    c.wait("a first accepted write", Duration::from_secs(15), || {
        store(&c).iter().any(|w| w.accepted)
    });
    let first = store(&c).into_iter().find(|w| w.accepted).unwrap();
    let holder = c.node(&first.node);
    let child = holder.info("tick")["pid"].as_i64().unwrap() as i32;
    assert!(child > 0);
    // Pause the whole node: the daemon and its running job.
    kill(holder.pid, libc::SIGSTOP);
    kill(child, libc::SIGSTOP);
    let paused_at = store(&c).len();
    std::thread::sleep(Duration::from_secs_f64(2.0 * lease));
    c.wait("another node takes over", Duration::from_secs(10), || {
        store(&c)[paused_at..]
            .iter()
            .any(|w| w.accepted && w.node != first.node)
    });
    kill(child, libc::SIGCONT);
    kill(holder.pid, libc::SIGCONT);
    c.wait("the paused node notices", Duration::from_secs(10), || {
        std::fs::read_to_string(holder.conf.dir.join("supervisord.log"))
            .unwrap_or_default()
            .contains("lost its cluster lease")
    });
    Paused {
        c,
        first,
        child,
        paused_at,
    }
}

#[test]
fn a_paused_lease_holder_is_replaced_by_one_node_and_fenced_off() {
    let p = pause_the_lease_holder("");
    let (c, first, paused_at) = (&p.c, &p.first, p.paused_at);
    c.wait(
        "the paused run writes again",
        Duration::from_secs(10),
        || store(c)[paused_at..].iter().any(|w| w.node == first.node),
    );
    assert!(pid_alive(p.child), "on_lock_lost=continue keeps the run");
    let writes = store(c);
    let after = &writes[paused_at..];
    let takers: BTreeSet<&str> = after
        .iter()
        .filter(|w| w.accepted && w.node != first.node)
        .map(|w| w.node.as_str())
        .collect();
    assert_eq!(takers.len(), 1, "exactly one node takes over: {takers:?}");
    let new = after
        .iter()
        .find(|w| w.accepted && w.node != first.node)
        .unwrap();
    assert!(
        new.fence > first.fence,
        "{} after {}",
        new.fence,
        first.fence
    );
    // The stale writer was really there, and the store refused it.
    let stale: Vec<&Write> = after.iter().filter(|w| w.node == first.node).collect();
    assert!(!stale.is_empty());
    assert!(
        stale.iter().all(|w| !w.accepted && w.fence == first.fence),
        "a stale write was accepted: {stale:?}"
    );
    // Accepted tokens never go back.
    let accepted: Vec<u64> = writes
        .iter()
        .filter(|w| w.accepted)
        .map(|w| w.fence)
        .collect();
    assert!(accepted.windows(2).all(|w| w[0] <= w[1]), "{accepted:?}");
    // Every run that ran has its own token.
    let rows = c.history();
    let mut tokens: Vec<u64> = rows
        .iter()
        .filter(|r| r["skipped"] == "")
        .filter_map(|r| r["fence"].as_str()?.parse().ok())
        .collect();
    let n = tokens.len();
    tokens.sort();
    tokens.dedup();
    assert_eq!(tokens.len(), n, "a fence token was used twice");
    // Fires during the runs were skipped as running elsewhere, on some node.
    assert!(rows.iter().any(|r| r["skipped"]
        .as_str()
        .is_some_and(|s| s.starts_with("still running on node"))));
}

#[test]
fn a_daemon_claims_over_tls_with_its_own_ca() {
    let redis = RedisServer::start_tls();
    let shared = tempfile::tempdir().unwrap();
    let sink = shared.path().join("sink");
    let conf = Conf::new(&format!(
        "[steward]\nstate_dir={{dir}}/state\n\n[cluster]\nlock = {}\nlock_ca = {}\nnode = tls-node\nlock_timeout = 2\n\n[cron:tick]\n{}",
        redis.url(),
        redis.ca_file().display(),
        TICK_JOB.replace("{sink}", &sink.display().to_string())
    ));
    let d = Daemon::start_steward(conf);
    let ok = wait_until(Duration::from_secs(15), || read_fires(&sink).len() >= 2);
    assert!(ok, "no locked runs over TLS\n{}", d.diagnostics());
    let fires = read_fires(&sink);
    assert!(
        fires.iter().all(|f| f.node == "tls-node" && f.fence > 0),
        "{fires:?}"
    );
    let log = std::fs::read_to_string(d.conf.dir.join("supervisord.log")).unwrap();
    assert!(!log.contains("unavailable"), "{log}");
}

#[test]
fn catch_up_after_a_restart_never_reruns_what_another_node_ran() {
    let redis = RedisServer::start();
    let shared = tempfile::tempdir().unwrap();
    let sink = shared.path().join("sink");
    let job = format!(
        "catchup = 3\n{}",
        TICK_JOB.replace("{sink}", &sink.display().to_string())
    );
    let node_conf = |node: &str, state: &str| {
        Conf::new(&format!(
            "[steward]\nstate_dir={state}\n\n[cluster]\nlock = {}\nnode = {node}\nlock_timeout = 2\n\n[cron:tick]\n{job}",
            redis.url()
        ))
    };
    let a_state = shared.path().join("a-state").display().to_string();
    let b = Daemon::start_steward(node_conf("node-b", "{dir}/state"));
    let mut a = Daemon::start_steward(node_conf("node-a", &a_state));
    let ran_by = |node: &str| read_fires(&sink).iter().filter(|f| f.node == node).count();
    assert!(
        wait_until(Duration::from_secs(15), || ran_by("node-a") >= 1
            && ran_by("node-b") >= 1),
        "both nodes run fires\n{}\n{}",
        a.diagnostics(),
        b.diagnostics()
    );
    a.signal(libc::SIGTERM);
    assert!(a.wait_exit(Duration::from_secs(15)).is_some());
    drop(a);
    // ~4 s of downtime: node-b runs those fires; node-a's catch-up claims find them taken.
    std::thread::sleep(Duration::from_millis(4200));
    let a = Daemon::start_steward(node_conf("node-a", &a_state));
    let restarted = now_f64();
    assert!(
        wait_until(Duration::from_secs(10), || read_fires(&sink)
            .iter()
            .any(|f| f.started > restarted + 2.0)),
        "fires after the restart\n{}",
        a.diagnostics()
    );
    assert!(
        a.mainlog().contains("already ran on node node-b"),
        "node-a's catch-up claims found node-b's runs\n{}",
        a.mainlog()
    );
    assert_eq!(duplicates(&read_fires(&sink)), vec![], "a fire ran twice");
    let rows = match a.call("steward.cronHistory", vec![json!("tick"), json!(10000)]) {
        Value::Array(v) => v,
        other => panic!("{other:?}"),
    };
    let catchups: Vec<&Value> = rows.iter().filter(|r| r["trigger"] == "catchup").collect();
    assert!(catchups.is_empty(), "node-b ran those fires: {catchups:?}");
}

#[test]
fn on_lock_lost_stop_stops_the_paused_run() {
    let p = pause_the_lease_holder("on_lock_lost = stop");
    let log = std::fs::read_to_string(p.holder().conf.dir.join("supervisord.log")).unwrap();
    assert!(
        log.contains("stopping the run (on_lock_lost=stop)"),
        "{log}"
    );
    p.c.wait("the paused run ends", Duration::from_secs(10), || {
        !pid_alive(p.child)
    });
    // The new holder keeps its lease: nobody else starts a run while it lives.
    let writes = store(&p.c);
    let takers: BTreeSet<&str> = writes[p.paused_at..]
        .iter()
        .filter(|w| w.accepted && w.node != p.first.node)
        .map(|w| w.node.as_str())
        .collect();
    assert_eq!(takers.len(), 1, "{takers:?}");
}

/// Each node's next planned fire (`steward.cronList`), Unix seconds.
fn next_fires(c: &Cluster) -> Vec<Option<i64>> {
    c.nodes
        .iter()
        .map(|d| match d.call("steward.cronList", vec![]) {
            Value::Array(jobs) => jobs
                .iter()
                .find(|j| j["name"] == "tick")
                .and_then(|j| j["next"].as_str()?.parse::<jiff::Timestamp>().ok())
                .map(|t| t.as_second()),
            other => panic!("cronList returned {other:?}"),
        })
        .collect()
}

/// Waits until every node planned past `instant` (it handled that fire: ran it, or found
/// it claimed), then checks that the sink gets no second run of any instant for 3 s
/// (a claim's answer may still be on its way).
fn settle_after(c: &Cluster, instant: i64, timeout: Duration) {
    c.wait("every node plans past the last instant", timeout, || {
        next_fires(c).iter().all(|n| n.is_some_and(|n| n > instant))
    });
    let no_duplicates = holds_for(Duration::from_secs(3), || duplicates(&c.fires()).is_empty());
    assert!(
        no_duplicates,
        "duplicate runs: {:?}",
        duplicates(&c.fires())
    );
}

/// A stand-in for `php`: runs only `php <existing artisan file> schedule:run`, records the
/// fire in the sink and prints what Laravel's scheduler would.
const FAKE_PHP: &str = r#"#!/bin/sh
[ "$2" = schedule:run ] && [ -f "$1" ] || { echo "unexpected: php $*" >&2; exit 2; }
echo "$STEWARD_CRON_SCHEDULED $STEWARD_CRON_NODE $STEWARD_FENCE_TOKEN $(date +%s.%N)" >> {sink}
echo "Running scheduled command: '/usr/bin/php8.2' 'artisan' reports:send"
"#;

/// docs/cluster.md's Laravel recipe, as written there, on three nodes whose install paths
/// differ (each its own release directory, so the command text differs from node to node).
const LARAVEL_JOB: &str = "schedule = * * * * *\noverlap = allow\ncommand = {shared}/bin/php {shared}/releases/{node}/artisan schedule:run\ndirectory = {shared}/releases/{node}\nstdout_logfile = {shared}/laravel-scheduler-{node}.log\nredirect_stderr = true\n";

/// Issue 18's ±30 s bar with `* * * * *`, and docs/cluster.md's Laravel `schedule:run`
/// recipe on N servers: three fires of every minute, clocks −30 s / 0 / +30 s apart, 0
/// duplicates, 0 misses. About three and a half minutes of real time.
#[test]
fn laravel_schedule_run_every_minute_runs_once_per_minute_on_clocks_thirty_seconds_apart() {
    let mut c = Cluster::without_nodes(LARAVEL_JOB, "");
    let shared = c.shared.path().to_path_buf();
    std::fs::create_dir_all(shared.join("bin")).unwrap();
    let php = shared.join("bin/php");
    std::fs::write(
        &php,
        FAKE_PHP.replace("{sink}", &shared.join("sink").display().to_string()),
    )
    .unwrap();
    std::fs::set_permissions(&php, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    for node in NODES {
        let release = shared.join("releases").join(node);
        std::fs::create_dir_all(&release).unwrap();
        std::fs::write(release.join("artisan"), "<?php // artisan\n").unwrap();
    }
    let started = now_f64();
    c.start_nodes([-30_000, 0, 30_000]);
    // The first minute that even the node 30 s ahead had not reached when it started.
    let first = ((started + 40.0) / 60.0).ceil() as i64 * 60;
    let last = first + 120;
    let instants = [first, first + 60, last];
    let until_last = (last as f64 - now_f64()).max(0.0);
    c.wait(
        "three minutes of fires",
        Duration::from_secs_f64(until_last + 20.0),
        || {
            let n = counts(&c.fires());
            instants.iter().all(|i| n.contains_key(i))
        },
    );
    // The node 30 s behind reaches the last instant a minute after the one ahead.
    settle_after(&c, last, Duration::from_secs(100));
    let fires = c.fires();
    let ran: Vec<i64> = fires
        .iter()
        .map(|f| f.instant)
        .filter(|i| instants.contains(i))
        .collect();
    assert_eq!(ran.len(), 3, "one run per minute: {fires:?}");
    // Every fire before the first counted one and after the last is an instant too.
    assert!(fires.iter().all(|f| f.instant % 60 == 0), "{fires:?}");
    let by_node = fires.iter().fold(BTreeMap::new(), |mut m, f| {
        *m.entry(f.node.clone()).or_insert(0) += 1;
        m
    });
    eprintln!("runs per node: {by_node:?}");
    // The runner's output went to its node's log, as the recipe sets it up.
    let logs: String = NODES
        .iter()
        .map(|n| {
            std::fs::read_to_string(shared.join(format!("laravel-scheduler-{n}.log")))
                .unwrap_or_default()
        })
        .collect();
    let logged = |fires: usize| {
        NODES
            .iter()
            .map(|n| {
                std::fs::read_to_string(shared.join(format!("laravel-scheduler-{n}.log")))
                    .unwrap_or_default()
                    .matches("Running scheduled command")
                    .count()
            })
            .sum::<usize>()
            == fires
    };
    assert!(
        wait_until(Duration::from_secs(5), || logged(c.fires().len())),
        "{logs}"
    );
    assert!(!logs.contains("unexpected"), "{logs}");
}

/// Unix seconds of an RFC 3339 instant.
fn unix(at: &str) -> i64 {
    at.parse::<jiff::Timestamp>().unwrap().as_second()
}

/// Restarts the cluster's nodes (fresh state, same Redis and sink) with their clocks set
/// `lead` seconds before `at`, skewed −2 s / 0 / +2 s.
fn restart_before(c: &mut Cluster, at: i64, lead: f64) {
    let base_ms = ((at as f64 - lead - now_f64()) * 1000.0) as i64;
    c.start_nodes([base_ms - 2000, base_ms, base_ms + 2000]);
}

/// `30 2 * * *` in Europe/Berlin across both 2026 transitions, cluster-wide: the spring day
/// runs once, at 03:00 CEST (the first instant after the gap), and not again at 03:30;
/// the autumn day runs once, in the first pass of 02:30, and not in the second. The nodes'
/// clocks are set just before each candidate instant (the test-only offset), so each
/// phase takes seconds; between phases the nodes restart with fresh state, which also
/// checks that a node starting inside the day never plans the day's fire again.
#[test]
fn berlin_half_past_two_runs_once_per_day_across_both_2026_transitions() {
    let job = "schedule = 30 2 * * *\ntimezone = Europe/Berlin\noverlap = allow\ncommand = /bin/sh -c 'echo \"$STEWARD_CRON_SCHEDULED $STEWARD_CRON_NODE $STEWARD_FENCE_TOKEN $(date +%%s.%%N)\" >> {sink}'\n";
    let mut c = Cluster::without_nodes(job, "");
    let spring_run = unix("2026-03-29T01:00:00Z"); // 03:00 CEST, right after the gap
    let spring_naive = unix("2026-03-29T01:30:00Z"); // 03:30 CEST, an hour-shifted 02:30
    let autumn_first = unix("2026-10-25T00:30:00Z"); // 02:30 CEST
    let autumn_second = unix("2026-10-25T01:30:00Z"); // 02:30 CET, the repeat
    for (at, runs) in [
        (spring_run, true),
        (spring_naive, false),
        (autumn_first, true),
        (autumn_second, false),
    ] {
        let lead = 10.0;
        restart_before(&mut c, at, lead);
        if runs {
            c.wait("the day's run", Duration::from_secs(30), || {
                c.fires().iter().any(|f| f.instant == at)
            });
        } else {
            // Until even the node 2 s behind is 3 s past the instant.
            let never = holds_for(Duration::from_secs_f64(lead + 5.0), || {
                !c.fires().iter().any(|f| f.instant == at)
            });
            assert!(never, "{at} ran: {:?}\n{}", c.fires(), c.diagnostics());
        }
        settle_after(&c, at, Duration::from_secs(30));
    }
    let fires = c.fires();
    let days: Vec<i64> = fires.iter().map(|f| f.instant).collect();
    assert_eq!(days, vec![spring_run, autumn_first], "{fires:?}");
}

/// `lock_unavailable = run` (at least once): with nothing listening at the lock address,
/// every fire still runs, without a fence token, and the outage is logged once.
#[test]
fn lock_unavailable_run_runs_every_fire_while_redis_is_unreachable() {
    let shared = tempfile::tempdir().unwrap();
    let sink = shared.path().join("sink");
    let nobody = free_port();
    let conf = Conf::new(&format!(
        "[steward]\nstate_dir={{dir}}/state\n\n[cluster]\nlock = redis://127.0.0.1:{nobody}/0\nnode = solo\nlock_unavailable = run\n\n[cron:tick]\nschedule = * * * * * *\noverlap = allow\ncommand = /bin/sh -c 'echo \"$STEWARD_CRON_SCHEDULED $STEWARD_CRON_NODE fence=$STEWARD_FENCE_TOKEN.\" >> {}'\n",
        sink.display()
    ));
    let d = Daemon::start_steward(conf);
    let lines = || -> Vec<String> {
        std::fs::read_to_string(&sink)
            .unwrap_or_default()
            .lines()
            .map(str::to_owned)
            .collect()
    };
    assert!(
        wait_until(Duration::from_secs(15), || lines().len() >= 4),
        "{:?}\n{}",
        lines(),
        d.diagnostics()
    );
    let runs = lines();
    assert!(
        runs.iter().all(|l| l.ends_with(" solo fence=.")),
        "unlocked runs carry no fence token: {runs:?}"
    );
    let instants: BTreeSet<&str> = runs.iter().filter_map(|l| l.split(' ').next()).collect();
    assert_eq!(instants.len(), runs.len(), "one run per fire: {runs:?}");
    let log = d.mainlog();
    assert_eq!(
        log.matches("fires are run without the lock until it answers")
            .count(),
        1,
        "{log}"
    );
}

/// A run that holds a lease keeps going when Redis goes away under it, even with
/// `on_lock_lost = stop`: an unreachable Redis is not a lost lease.
#[test]
fn a_running_child_is_never_killed_because_redis_went_away() {
    let mut redis = RedisServer::start();
    let shared = tempfile::tempdir().unwrap();
    let sink = shared.path().join("sink");
    let conf = Conf::new(&format!(
        "[steward]\nstate_dir={{dir}}/state\n\n[cluster]\nlock = {}\nnode = solo\nlease = 0.9\non_lock_lost = stop\nlock_timeout = 0.5\n\n[cron:long]\nschedule = * * * * * *\noverlap = skip\ncommand = /bin/sh -c 'echo start >> {sink}; sleep 4; echo end >> {sink}'\n",
        redis.url(),
        sink = sink.display()
    ));
    let d = Daemon::start_steward(conf);
    let text = || std::fs::read_to_string(&sink).unwrap_or_default();
    assert!(
        wait_until(Duration::from_secs(15), || text().contains("start")),
        "{}",
        d.diagnostics()
    );
    let child = d.info("long")["pid"].as_i64().unwrap() as i32;
    redis.kill();
    // Renewals fail for the rest of the run (every 0.3 s); the run ends by itself.
    assert!(
        wait_until(Duration::from_secs(10), || text().contains("end")),
        "the run was cut short: {:?}\n{}",
        text(),
        d.diagnostics()
    );
    let log = d.mainlog();
    assert!(!log.contains("stopping the run"), "{log}");
    // The run that was going when Redis died is recorded as locked and exited 0.
    let ended = |rows: &[Value]| {
        rows.iter().any(|r| {
            r["fence"] != ""
                && r["ended"] != ""
                && r["exitstatus"] == 0
                && r["error"] == ""
                && r["timed_out"] == false
                && r["skipped"] == ""
        })
    };
    let history = || match d.call("steward.cronHistory", vec![json!("long"), json!(100)]) {
        Value::Array(v) => v,
        other => panic!("{other:?}"),
    };
    assert!(
        wait_until(Duration::from_secs(5), || ended(&history())),
        "{:?}",
        history()
    );
    assert!(!pid_alive(child), "the run's process ended by itself");
}
