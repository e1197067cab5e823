//! Issue 5: black-box tests of `[cron:name]` jobs run by `steward daemon` — firing on
//! schedule (precision measured), status / getAllProcessInfo, overlap skip/queue/allow,
//! timeout → stopsignal → SIGKILL, manual runs, run history across restarts, catch-up,
//! `enabled = false`, jitter, bad input (config errors, missing command, corrupt or
//! unwritable state directory) and the `steward cron next` CLI.
//!
//! Schedules are second-level (6 fields) so each scenario takes a few seconds; waits are
//! bounded polls. Steward only: real supervisord ignores `[cron:x]` sections.
mod support;
use std::process::Command;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use support::*;

/// The spec's precision bound (a job fires within 50 ms of its scheduled second).
const PRECISION: f64 = 0.050;
/// The bound asserted for any single fire: a debug build on a loaded 2-core CI box (the
/// measured numbers are printed; see `fires_on_schedule_…`).
const WORST_FIRE: f64 = 0.500;

fn now_f64() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

/// A config with `[steward] state_dir = <state>` followed by `jobs`.
fn cron_conf(state: &str, jobs: &str) -> Conf {
    Conf::new(&format!("[steward]\nstate_dir={state}\n\n{jobs}"))
}

/// `steward.cronHistory(job, 100)`, newest first.
fn history(d: &Daemon, job: &str) -> Vec<Value> {
    match d.call("steward.cronHistory", vec![json!(job), json!(100)]) {
        Value::Array(v) => v,
        other => panic!("cronHistory({job}) returned {other:?}"),
    }
}

/// Finished runs of `job` with the given trigger.
fn finished(d: &Daemon, job: &str, trigger: &str) -> Vec<Value> {
    history(d, job)
        .into_iter()
        .filter(|r| r["trigger"] == trigger && r["ended"] != "")
        .collect()
}

/// Epoch seconds, one per line (the jobs append `date +%s.%N`).
fn times(conf: &Conf, rel: &str) -> Vec<f64> {
    conf.lines(rel)
        .iter()
        .filter_map(|l| l.trim().parse::<f64>().ok())
        .collect()
}

/// `start end` pairs, one per line (epoch seconds).
fn intervals(conf: &Conf, rel: &str) -> Vec<(f64, f64)> {
    conf.lines(rel)
        .iter()
        .filter_map(|l| {
            let mut it = l.split_whitespace().map(|x| x.parse::<f64>());
            match (it.next(), it.next()) {
                (Some(Ok(a)), Some(Ok(b))) => Some((a, b)),
                _ => None,
            }
        })
        .collect()
}

/// Seconds-of-minute `k` seconds from now, as a cron list item.
fn second_in(k: u64) -> (u64, u64) {
    let at = now_f64().ceil() as u64 + k;
    (at, at % 60)
}

fn wait_for(what: &str, d: &Daemon, timeout: Duration, mut cond: impl FnMut() -> bool) {
    if !wait_until(timeout, &mut cond) {
        panic!("{what}: not within {timeout:?}\n{}", d.diagnostics());
    }
}

fn stop_daemon(d: &mut Daemon) {
    d.signal(libc::SIGTERM);
    assert!(
        d.wait_exit(secs(15.0)).is_some(),
        "daemon did not stop\n{}",
        d.diagnostics()
    );
}

fn stats(late: &[f64]) -> (f64, f64) {
    let mut v = late.to_vec();
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    (v[v.len() / 2], *v.last().unwrap())
}

// ------------------------------------------------------------------ firing, status

#[test]
fn fires_on_schedule_and_shows_stopped_running_exited() {
    let (first, s1) = second_in(4);
    // Four seconds apart: the EXITED state between two runs (2.8 s) must outlast a
    // supervisorctl start-up on a loaded machine (issue 12 §4 saw 0.8 s be too short).
    let (s2, s3) = ((s1 + 4) % 60, (s1 + 8) % 60);
    let conf = cron_conf(
        "{dir}/state",
        &format!(
            "
[cron:listed]
schedule = {s1},{s2},{s3} * * * * *
timezone = UTC
command = sh -c 'date +%%s.%%N >> {{dir}}/listed; sleep 1.2; exit 3'

[cron:every]
schedule = * * * * * *
command = sh -c 'date +%%s.%%N >> {{dir}}/every'
"
        ),
    );
    let d = Daemon::start_steward(conf);
    // Before its first fire: STOPPED (never started), in status and getAllProcessInfo.
    assert!(
        now_f64() < first as f64 - 0.5,
        "the daemon took too long to start"
    );
    let out = d.ctl(&["status", "listed"]);
    assert!(out.stdout.contains("STOPPED"), "{out}");
    let all = d.call("supervisor.getAllProcessInfo", vec![]);
    let names: Vec<&str> = all
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["every", "listed"], "{all:?}");
    // RUNNING during the first run (1.2 s), EXITED with status 3 after.
    let states = d.record_states("listed", &["EXITED"], secs(10.0));
    assert!(states.contains(&"RUNNING".to_owned()), "{states:?}");
    let out = d.ctl(&["status", "listed"]);
    assert!(out.stdout.contains("EXITED"), "{out}");
    assert_eq!(d.info("listed")["exitstatus"], 3);
    // Three fires of `listed`: on the listed seconds.
    wait_for("3 fires of listed", &d, secs(10.0), || {
        times(&d.conf, "listed").len() >= 3
    });
    wait_for("3 runs of listed recorded", &d, secs(5.0), || {
        finished(&d, "listed", "schedule").len() >= 3
    });
    let mut late = Vec::new();
    let fires = times(&d.conf, "listed");
    for (i, t) in fires.iter().take(3).enumerate() {
        let want = (first + 4 * i as u64) as f64;
        assert!(
            *t >= want && *t - want < WORST_FIRE,
            "fire {i} of listed at {t:.3}, scheduled {want}: {fires:?}"
        );
        late.push(t - want);
    }
    for t in times(&d.conf, "every") {
        late.push(t - t.floor());
    }
    let (median, max) = stats(&late);
    eprintln!(
        "cron precision over {} fires (job's own `date`, fork+exec included): median {:.1} ms, max {:.1} ms",
        late.len(),
        median * 1e3,
        max * 1e3
    );
    assert!(late.len() >= 6, "{late:?}");
    assert!(max < WORST_FIRE, "latest fire {max:.3}s late: {late:?}");
    assert!(
        median < PRECISION,
        "median fire {median:.3}s late (spec: 50 ms): {late:?}"
    );
    // The history row of a scheduled run.
    let r = &finished(&d, "listed", "schedule")[0];
    assert_eq!(r["exitstatus"], 3, "{r:?}");
    assert_eq!(r["timed_out"], false, "{r:?}");
    assert_ne!(r["scheduled"], "", "{r:?}");
    let list = d.call("steward.cronList", vec![]);
    let listed = list
        .as_array()
        .unwrap()
        .iter()
        .find(|j| j["name"] == "listed")
        .unwrap();
    assert_eq!(listed["last_status"], "exit 3", "{list:?}");
    assert_eq!(listed["timezone"], "UTC", "{list:?}");
}

// ------------------------------------------------------------------ overlap

#[test]
fn overlap_skip_queue_allow() {
    let job = |name: &str, overlap: &str, sleep: &str| {
        format!(
            "
[cron:{name}]
schedule = * * * * * *
overlap = {overlap}
command = sh -c 's=$(date +%%s.%%N); sleep {sleep}; echo \"$s $(date +%%s.%%N)\" >> {{dir}}/{name}'
"
        )
    };
    let conf = cron_conf(
        "{dir}/state",
        &[
            job("skip", "skip", "2.5"),
            job("queue", "queue", "1.5"),
            job("allow", "allow", "2.5"),
        ]
        .concat(),
    );
    let d = Daemon::start_steward(conf);
    wait_for("runs of every job", &d, secs(15.0), || {
        intervals(&d.conf, "skip").len() >= 2
            && intervals(&d.conf, "queue").len() >= 3
            && intervals(&d.conf, "allow").len() >= 3
    });
    let no_overlap = |name: &str| {
        let v = intervals(&d.conf, name);
        for w in v.windows(2) {
            assert!(
                w[1].0 >= w[0].1 - 0.01,
                "{name}: runs overlap: {v:?}\n{}",
                d.diagnostics()
            );
        }
        v
    };
    // skip: never concurrent; the fires that came during a run are logged as skipped.
    no_overlap("skip");
    let log = d.mainlog();
    assert!(
        log.contains("cron: skip is still running; skipping the run scheduled at"),
        "{}",
        d.diagnostics()
    );
    // queue: never concurrent and back to back (the queued run starts as the last ends).
    // (The timestamps are taken by the job's shell, so a loaded machine adds its fork
    // and exec time to each gap: the daemon's own record shows the waiting instead.)
    let q = no_overlap("queue");
    for w in q.windows(2) {
        assert!(
            w[1].0 - w[0].1 < 1.0,
            "queue: a queued run waited for another fire: {q:?}"
        );
    }
    let queued = finished(&d, "queue", "schedule");
    assert!(
        queued.iter().any(|r| r["started"] != r["scheduled"]),
        "queue: no run was started later than its fire time, i.e. none waited in the queue: {queued:?}"
    );
    assert!(!log.contains("cron: queue is still running; skipping"));
    // ... and at most one run waits: a job slower than its schedule does not pile up.
    assert!(
        log.contains("cron: queue is still running and a run is already queued; skipping"),
        "{}",
        d.diagnostics()
    );
    // allow: concurrent runs observed.
    let a = intervals(&d.conf, "allow");
    assert!(
        a.windows(2).any(|w| w[1].0 < w[0].1),
        "allow: no concurrent runs: {a:?}"
    );
    let runs = finished(&d, "allow", "schedule");
    assert!(runs.len() >= 3, "{runs:?}");
    assert!(runs.iter().all(|r| r["exitstatus"] == 0), "{runs:?}");
}

// ------------------------------------------------------------------ timeout

#[test]
fn timeout_sends_stopsignal_then_sigkill() {
    let (_, s) = second_in(2);
    let conf = cron_conf(
        "{dir}/state",
        &format!(
            "
[cron:polite]
schedule = {s} * * * * *
timeout = 1
stopsignal = INT
command = sh -c 'trap \"echo INT >> {{dir}}/polite; exit 0\" INT; echo start >> {{dir}}/polite; while :; do sleep 0.1; done'

[cron:stubborn]
schedule = {s} * * * * *
timeout = 1
stopwaitsecs = 1
command = sh -c 'trap \"echo TERM >> {{dir}}/stubborn\" TERM; echo start >> {{dir}}/stubborn; while :; do sleep 0.1; done'
"
        ),
    );
    let d = Daemon::start_steward(conf);
    wait_for("both runs recorded", &d, secs(12.0), || {
        finished(&d, "polite", "schedule").len() == 1
            && finished(&d, "stubborn", "schedule").len() == 1
    });
    // polite: stopped by its stopsignal (INT) after 1 s; it handled it and exited.
    assert_eq!(d.conf.lines("polite"), ["start", "INT"]);
    let r = &finished(&d, "polite", "schedule")[0];
    assert_eq!(r["timed_out"], true, "{r:?}");
    let dur = r["duration"].as_f64().unwrap();
    assert!((0.9..2.0).contains(&dur), "polite ran {dur}s: {r:?}");
    // stubborn: TERM trapped (the default stopsignal), SIGKILL stopwaitsecs later.
    assert_eq!(d.conf.lines("stubborn"), ["start", "TERM"]);
    let r = &finished(&d, "stubborn", "schedule")[0];
    assert_eq!(r["timed_out"], true, "{r:?}");
    let dur = r["duration"].as_f64().unwrap();
    assert!((1.9..3.5).contains(&dur), "stubborn ran {dur}s: {r:?}");
    let log = d.mainlog();
    assert!(log.contains("cron: stubborn timed out after 1s"), "{log}");
    assert!(log.contains("killing 'stubborn'"), "{log}");
    let list = d.call("steward.cronList", vec![]);
    assert!(
        list.as_array()
            .unwrap()
            .iter()
            .all(|j| j["last_status"] == "timed out"),
        "{list:?}"
    );
    // No child left behind (the killed shell's last `sleep 0.1` is reaped by init).
    wait_for("no children left", &d, secs(3.0), || {
        d.descendants().is_empty()
    });
}

// ------------------------------------------------------------------ manual, enabled, jitter,
// a missing command

#[test]
fn manual_runs_disabled_jobs_jitter_and_a_missing_command() {
    let conf = cron_conf(
        "{dir}/state",
        "
[cron:yearly]
schedule = 0 0 1 1 *
command = sh -c 'echo hello; echo run >> {dir}/yearly; sleep 0.3'

[cron:off]
schedule = * * * * * *
enabled = false
command = sh -c 'echo run >> {dir}/off; sleep 0.3'

[cron:jittery]
schedule = */2 * * * * *
jitter = 1
command = sh -c 'date +%%s.%%N >> {dir}/jittery'

[cron:missing]
schedule = * * * * * *
command = /nonexistent/steward-cron-test-command
",
    );
    let d = Daemon::start_steward(conf);
    // Manual runs: supervisorctl start, then steward.cronRun. (The jobs sleep 0.3 s:
    // `start` of a startsecs=0 job that exits at once can still answer ABNORMAL_TERMINATION
    // where supervisord answers success — reported to the engine's owner.)
    let out = d.ctl(&["start", "yearly"]);
    assert!(out.stdout.contains("yearly: started"), "{out}");
    wait_for("manual run 1", &d, secs(5.0), || {
        finished(&d, "yearly", "manual").len() == 1
    });
    assert_eq!(
        d.call("steward.cronRun", vec![json!("yearly")]),
        json!(true)
    );
    wait_for("manual run 2", &d, secs(5.0), || {
        finished(&d, "yearly", "manual").len() == 2
    });
    let h = history(&d, "yearly");
    assert_eq!(h.len(), 2, "{h:?}");
    for r in &h {
        assert_eq!(r["trigger"], "manual", "{r:?}");
        assert_eq!(r["scheduled"], "", "{r:?}");
        assert_eq!(r["output_head"], "hello\n", "{r:?}");
    }
    assert_eq!(d.conf.lines("yearly").len(), 2);
    // enabled = false: never fires, but start runs it.
    assert!(holds_for(secs(2.2), || d.conf.read("off").is_empty()));
    let off = d.call("steward.cronList", vec![]);
    let off = off
        .as_array()
        .unwrap()
        .iter()
        .find(|j| j["name"] == "off")
        .unwrap()
        .clone();
    assert_eq!(off["enabled"], false, "{off:?}");
    assert_eq!(off["next"], "", "{off:?}");
    let out = d.ctl(&["start", "off"]);
    assert!(out.stdout.contains("off: started"), "{out}");
    wait_for("manual run of off", &d, secs(5.0), || {
        finished(&d, "off", "manual").len() == 1
    });
    assert_eq!(d.conf.lines("off").len(), 1);
    // jitter = 1: each fire within [fire, fire + 1 s] (plus the fork/exec of `date`).
    wait_for("3 jittered fires", &d, secs(10.0), || {
        times(&d.conf, "jittery").len() >= 3
    });
    let j = times(&d.conf, "jittery");
    let offsets: Vec<f64> = j.iter().map(|t| t - (t / 2.0).floor() * 2.0).collect();
    eprintln!("jitter=1 offsets from the fire times: {offsets:?}");
    assert!(offsets.iter().all(|o| *o < 1.0 + WORST_FIRE), "{offsets:?}");
    assert!(
        offsets.iter().any(|o| *o > PRECISION),
        "no delay at all: {offsets:?}"
    );
    // A missing command: each run recorded as failed with the reason; the daemon and the
    // other jobs carry on.
    let runs = finished(&d, "missing", "schedule");
    assert!(runs.len() >= 2, "{runs:?}");
    for r in &runs {
        assert!(
            r["error"]
                .as_str()
                .unwrap()
                .contains("can't find command '/nonexistent/steward-cron-test-command'"),
            "{r:?}"
        );
    }
    let list = d.call("steward.cronList", vec![]);
    let m = list
        .as_array()
        .unwrap()
        .iter()
        .find(|j| j["name"] == "missing")
        .unwrap();
    assert!(
        m["last_status"]
            .as_str()
            .unwrap()
            .starts_with("spawn error: can't find command"),
        "{m:?}"
    );
    let n = times(&d.conf, "jittery").len();
    wait_for("jittery keeps running", &d, secs(5.0), || {
        times(&d.conf, "jittery").len() > n
    });
    assert_eq!(
        d.call("supervisor.getState", vec![])["statename"],
        "RUNNING"
    );
}

// ------------------------------------------------------------------ restart, catch-up

#[test]
fn history_survives_a_restart_and_catchup_runs_missed_fires() {
    let state = tempfile::Builder::new()
        .prefix("stw-state")
        .tempdir_in("/tmp")
        .unwrap();
    let state_dir = state.path().display().to_string();
    let jobs = "
[cron:two]
schedule = * * * * * *
catchup = 2
command = sh -c 'echo two'

[cron:none]
schedule = * * * * * *
command = sh -c 'echo none'
";
    let mut d1 = Daemon::start_steward(cron_conf(&state_dir, jobs));
    wait_for("runs before the restart", &d1, secs(10.0), || {
        finished(&d1, "two", "schedule").len() >= 2 && finished(&d1, "none", "schedule").len() >= 2
    });
    let before_two = history(&d1, "two");
    stop_daemon(&mut d1);
    let stopped = now_f64();
    drop(d1);
    // ~4 s of downtime: at least 3 fires missed.
    std::thread::sleep(Duration::from_millis(4200));
    let d2 = Daemon::start_steward(cron_conf(&state_dir, jobs));
    let downtime = now_f64() - stopped;
    wait_for("2 catch-up runs", &d2, secs(10.0), || {
        finished(&d2, "two", "catchup").len() == 2
    });
    // Let the job run on its schedule again, then count.
    wait_for("scheduled runs after the restart", &d2, secs(5.0), || {
        finished(&d2, "two", "schedule").len() >= before_two.len() + 2
    });
    let h2 = history(&d2, "two");
    let catchups: Vec<&Value> = h2.iter().filter(|r| r["trigger"] == "catchup").collect();
    assert_eq!(catchups.len(), 2, "downtime {downtime:.1}s: {h2:?}");
    for r in &catchups {
        assert_ne!(r["scheduled"], "", "{r:?}");
        assert_eq!(r["output_head"], "two\n", "{r:?}");
    }
    // The scheduled times of the catch-up runs are the last missed fires, one second apart.
    assert_ne!(catchups[0]["scheduled"], catchups[1]["scheduled"]);
    assert!(
        history(&d2, "none")
            .iter()
            .all(|r| r["trigger"] != "catchup"),
        "{:?}",
        history(&d2, "none")
    );
    assert!(
        d2.mainlog().contains("cron: none missed"),
        "{}",
        d2.diagnostics()
    );
    // The runs of the first daemon are still listed (same ids).
    for r in &before_two {
        assert!(
            h2.iter()
                .any(|x| x["id"] == r["id"] && x["started"] == r["started"]),
            "run {r:?} of the first daemon is gone: {h2:?}"
        );
    }
}

// ------------------------------------------------------------------ bad input

#[test]
fn bad_cron_options_are_refused_with_file_line_and_reason() {
    let cases: &[(&str, &str)] = &[
        ("schedule = 61 * * * *", "invalid schedule"),
        ("schedule = 0 0 30 2 *", "impossible schedule"),
        ("schedule = 5/15 * * * *", "a step needs a range"),
        ("schedule = * * *", "schedule"),
        (
            "timezone = Mars/Olympus_Mons",
            "unknown time zone 'Mars/Olympus_Mons'",
        ),
        (
            "timeout = -5",
            "timeout must be between 1 and 31536000 seconds, not -5",
        ),
        (
            "timeout = 0",
            "timeout must be between 1 and 31536000 seconds, not 0",
        ),
        (
            "timeout = 99999999999",
            "timeout must be between 1 and 31536000 seconds, not 99999999999",
        ),
        ("overlap = sometimes", "invalid 'overlap' value 'sometimes'"),
    ];
    std::thread::scope(|scope| {
        for (line, reason) in cases {
            scope.spawn(move || {
                let (key, value) = line.split_once(" = ").unwrap();
                let body = if key == "schedule" {
                    format!("[cron:bad]\n{line}\ncommand = true\n")
                } else {
                    format!("[cron:bad]\nschedule = * * * * *\n{line}\ncommand = true\n")
                };
                let conf = cron_conf("{dir}/state", &body);
                let want = format!(
                    "{}:{}: [cron:bad] {key} = {value}: ",
                    conf.path.display(),
                    conf.line_of(line)
                );
                let mut check = Command::new(steward_bin());
                check.arg("check").arg("-c").arg(&conf.path);
                let out = run_with_timeout(&mut check, secs(20.0));
                assert_eq!(out.code, 1, "steward check, {line}: {out}");
                let all = format!("{}{}", out.stdout, out.stderr);
                assert!(
                    all.contains(&want),
                    "steward check, {line}: want {want:?}\n{out}"
                );
                assert!(
                    all.contains(reason),
                    "steward check, {line}: want {reason:?}\n{out}"
                );
                let (out, _conf) = Daemon::run_to_exit(Target::Steward, conf, secs(20.0));
                assert_eq!(out.code, 2, "steward daemon, {line}: {out}");
                assert!(
                    out.stderr.contains(&want),
                    "daemon, {line}: want {want:?}\n{out}"
                );
                assert!(
                    out.stderr.contains(reason),
                    "daemon, {line}: want {reason:?}\n{out}"
                );
            });
        }
    });
}

const RETRY_WAIT: f64 = 45.0;

/// A corrupt history.redb and a state_dir under a regular file: a clear error in the
/// log, jobs still run, and history resumes once the problem is fixed (the engine retries
/// opening the store every 30 s).
#[test]
fn corrupt_or_unwritable_state_dir() {
    let jobs = "
[cron:tick]
schedule = * * * * * *
command = sh -c 'date +%%s.%%N >> {dir}/tick'
";
    let corrupt = cron_conf("{dir}/state", jobs);
    std::fs::create_dir_all(corrupt.file("state")).unwrap();
    let garbage: Vec<u8> = (0..8192u32).map(|i| (i * 7919 % 251) as u8).collect();
    std::fs::write(corrupt.file("state/history.redb"), &garbage).unwrap();
    let unwritable = cron_conf("{dir}/afile/state", jobs);
    std::fs::write(unwritable.file("afile"), "a regular file\n").unwrap();
    let dc = Daemon::start_steward(corrupt);
    let du = Daemon::start_steward(unwritable);
    let db = |d: &Daemon, rel: &str| d.conf.file(rel).display().to_string();
    for (d, want) in [
        (
            &dc,
            format!(
                "cannot open run history at {}: invalid data",
                db(&dc, "state/history.redb")
            ),
        ),
        (
            &du,
            format!(
                "cannot open run history at {}: cannot create directory {}",
                db(&du, "afile/state/history.redb"),
                db(&du, "afile/state")
            ),
        ),
    ] {
        wait_for("the history error in the log", d, secs(10.0), || {
            d.mainlog().contains(&want)
        });
        // Jobs still run.
        wait_for("fires without history", d, secs(10.0), || {
            times(&d.conf, "tick").len() >= 2
        });
        let f = d
            .rpc("steward.cronHistory", vec![json!("tick"), json!(10)])
            .unwrap_err();
        assert!(f.string.contains(&want), "{f:?}");
        let n = d.mainlog().matches("run history unavailable").count();
        assert!(
            n <= 2,
            "the history error is logged {n} times:\n{}",
            d.mainlog()
        );
    }
    // The garbage file moved aside, the regular file replaced by a directory.
    std::fs::rename(
        dc.conf.file("state/history.redb"),
        dc.conf.file("state/history.redb.bad"),
    )
    .unwrap();
    std::fs::remove_file(du.conf.file("afile")).unwrap();
    for d in [&dc, &du] {
        wait_for("history resumes", d, secs(RETRY_WAIT), || {
            d.rpc("steward.cronHistory", vec![json!("tick"), json!(10)])
                .is_ok_and(|v| {
                    v.as_array()
                        .is_some_and(|a| a.iter().any(|r| r["ended"] != ""))
                })
        });
        wait_for("the recovery in the log", d, secs(5.0), || {
            d.mainlog()
                .contains("cron: tick: run history available again")
        });
    }
    assert_eq!(
        std::fs::read(dc.conf.file("state/history.redb.bad")).unwrap(),
        garbage
    );
}

// ------------------------------------------------------------------ steward cron next

#[test]
fn cron_next_cli() {
    let run = |args: &[&str], stdin: Option<&str>| -> Output {
        let mut c = Command::new(steward_bin());
        c.arg("cron").arg("next").args(args);
        match stdin {
            None => run_with_timeout(&mut c, secs(20.0)),
            Some(input) => {
                let dir = tempfile::tempdir_in("/tmp").unwrap();
                let f = dir.path().join("in");
                std::fs::write(&f, input).unwrap();
                let mut sh = Command::new("sh");
                sh.arg("-c")
                    .arg("exec \"$0\" cron next \"$@\" < \"$IN\"")
                    .arg(steward_bin())
                    .args(args)
                    .env("IN", &f);
                run_with_timeout(&mut sh, secs(20.0))
            }
        }
    };
    let out = run(
        &[
            "0 0 * * *",
            "--tz",
            "Europe/Madrid",
            "--from",
            "2026-03-28T00:00:00Z",
            "--count",
            "3",
        ],
        None,
    );
    assert_eq!(out.code, 0, "{out}");
    assert_eq!(
        out.stdout,
        "2026-03-29T00:00:00+01:00\n2026-03-30T00:00:00+02:00\n2026-03-31T00:00:00+02:00\n",
        "{out}"
    );
    for line in out.stdout.lines() {
        line.parse::<jiff::Timestamp>().unwrap();
    }
    let out = run(&["0 0 30 2 *"], None);
    assert_ne!(out.code, 0, "{out}");
    assert!(out.stdout.is_empty(), "{out}");
    assert!(out.stderr.contains("impossible schedule"), "{out}");
    let out = run(
        &["--stdin"],
        Some(concat!(
            r#"{"id":1,"expr":"@hourly","tz":"UTC","from":"2025-01-01T00:00:00Z","count":2}"#,
            "\n\n",
            r#"{"id":"b","expr":"61 * * * *"}"#,
            "\n"
        )),
    );
    assert_eq!(out.code, 0, "{out}");
    let lines: Vec<Value> = out
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2, "{out}");
    assert_eq!(
        lines[0],
        json!({"id":1,"next":["2025-01-01T01:00:00+00:00","2025-01-01T02:00:00+00:00"]})
    );
    assert_eq!(lines[1]["id"], "b");
    assert!(
        lines[1]["error"].as_str().unwrap().contains("minute"),
        "{out}"
    );
}

#[test]
fn every_run_records_its_whole_output_from_both_channels() {
    // The run is recorded only once its pipes are drained: a quick job's output is never
    // lost to the race between the exit (SIGCHLD) and the last read.
    let conf = cron_conf(
        "{dir}/state",
        "
[cron:chatty]
schedule = * * * * * *
command = sh -c 'echo out-line; echo err-line >&2; exit 3'
",
    );
    let d = Daemon::start_steward(conf);
    wait_for("four finished runs", &d, secs(15.0), || {
        finished(&d, "chatty", "schedule").len() >= 4
    });
    for r in finished(&d, "chatty", "schedule") {
        let head = r["output_head"].as_str().unwrap_or_default();
        assert!(head.contains("out-line\n"), "{r:?}");
        assert!(head.contains("err-line\n"), "{r:?}");
        assert_eq!(r["exitstatus"], 3, "{r:?}");
    }
}
