//! Issue 17: `[notify:x]` webhooks and mail, with a real HTTP receiver (Python's
//! http.server checking the Standard Webhooks signature itself) and a fake `sendmail`
//! script. Steward only.
mod support;
use serde_json::Value;
use std::time::Duration;
use support::*;

/// The key behind `whsec_dGVzdC1zZWNyZXQta2V5LTAxMjM0NTY3ODk=`.
const SECRET: &str = "whsec_dGVzdC1zZWNyZXQta2V5LTAxMjM0NTY3ODk=";

/// A webhook receiver on `port`: answers 500 to its first `failures` requests, then 200,
/// and logs one JSON line per request to `<dir>/hook.requests` with the headers, the body,
/// and whether the signature verifies.
fn receiver(conf: &Conf, port: u16, failures: u32) -> Receiver {
    let script = conf.script(
        "receiver.py",
        &format!(
            r#"import base64, hashlib, hmac, http.server, json, time
key = base64.b64decode("{secret}"[len("whsec_"):])
seen = [0]
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        wid, ts = self.headers["webhook-id"], self.headers["webhook-timestamp"]
        mac = hmac.new(key, ("%s.%s." % (wid, ts)).encode() + body, hashlib.sha256)
        expected = "v1," + base64.b64encode(mac.digest()).decode()
        seen[0] += 1
        code = 500 if seen[0] <= {failures} else 200
        with open("{{dir}}/hook.requests", "a") as f:
            f.write(json.dumps({{"t": time.time(), "id": wid, "ts": ts, "code": code,
                "valid": hmac.compare_digest(expected, self.headers["webhook-signature"] or ""),
                "body": json.loads(body)}}) + "\n")
        self.send_response(code)
        self.send_header("Content-Length", "0")
        self.end_headers()
    def log_message(self, *a):
        pass
http.server.HTTPServer(("127.0.0.1", {port}), H).serve_forever()
"#,
            secret = SECRET
        ),
    );
    serve(script, port)
}

/// Runs a Python server script and waits until it accepts connections on `port`.
fn serve(script: std::path::PathBuf, port: u16) -> Receiver {
    let child = std::process::Command::new("python3")
        .arg(&script)
        .spawn()
        .expect("start the server");
    let server = Receiver(child);
    assert!(
        wait_until(secs(10.0), || std::net::TcpStream::connect((
            "127.0.0.1",
            port
        ))
        .is_ok()),
        "{} did not start",
        script.display()
    );
    server
}

struct Receiver(std::process::Child);

impl Drop for Receiver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn requests(conf: &Conf) -> Vec<Value> {
    conf.lines("hook.requests")
        .iter()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect()
}

/// Epoch seconds of a main-log line's timestamp (`2026-12-03 14:39:21,053`, local time).
fn log_time(line: &str) -> f64 {
    let stamp = line
        .get(..23)
        .expect("a timestamped line")
        .replace(',', ".");
    let dt: jiff::civil::DateTime = stamp.replace(' ', "T").parse().expect("a log timestamp");
    let ts = dt
        .to_zoned(jiff::tz::TimeZone::system())
        .expect("a local time")
        .timestamp();
    ts.as_nanosecond() as f64 / 1e9
}

#[test]
fn a_fatal_process_is_posted_signed_and_retried_with_one_webhook_id_and_mailed() {
    let port = free_port();
    let conf = Conf::new("");
    let _receiver = receiver(&conf, port, 2);
    let sendmail = conf.script(
        "fake-sendmail",
        "#!/bin/sh\necho \"$@\" > {dir}/mail.args\ncat > {dir}/mail.txt\n",
    );
    conf.write(&format!(
        "
[program:crasher]
command=sh -c 'echo \"about to fail\" >&2; exit 3'
startsecs=1
startretries=0

[notify:ops]
url=http://127.0.0.1:{port}/hooks/steward
secret={SECRET}
events=PROCESS_STATE_FATAL

[notify:mail]
email=ops@example.com, oncall@example.com
sendmail={} -t -i
events=PROCESS_STATE_FATAL
groups=crash*
",
        sendmail.display()
    ));
    let d = Daemon::start_steward(conf);
    d.wait_state("crasher", "FATAL", secs(10.0));
    // Two 500s, then 200: three attempts, 1 s and 2 s apart, one webhook-id.
    assert!(
        wait_until(secs(15.0), || requests(&d.conf).len() == 3),
        "{:?}",
        requests(&d.conf)
    );
    let reqs = requests(&d.conf);
    let ids: Vec<&Value> = reqs.iter().map(|r| &r["id"]).collect();
    assert!(ids.iter().all(|id| *id == ids[0]), "{ids:?}");
    assert!(ids[0].as_str().unwrap().starts_with("msg_"));
    assert!(reqs.iter().all(|r| r["valid"] == true), "{reqs:?}");
    let gaps: Vec<f64> = reqs
        .windows(2)
        .map(|w| w[1]["t"].as_f64().unwrap() - w[0]["t"].as_f64().unwrap())
        .collect();
    assert!(
        (0.9..1.6).contains(&gaps[0]) && (1.9..2.6).contains(&gaps[1]),
        "retry gaps {gaps:?}"
    );
    // Delivery started within 1 s of the state change.
    let log = std::fs::read_to_string(d.conf.file("supervisord.log")).unwrap();
    let fatal_line = log
        .lines()
        .find(|l| l.contains("gave up: crasher entered FATAL state"))
        .expect("the FATAL line");
    let delay = reqs[0]["t"].as_f64().unwrap() - log_time(fatal_line);
    assert!(delay <= 1.0, "first POST {delay:.3} s after FATAL");

    let body = &reqs[2]["body"];
    assert_eq!(body["notifier"], "ops");
    assert_eq!(body["count"], 1);
    let event = &body["events"][0];
    assert_eq!(event["type"], "PROCESS_STATE_FATAL", "{event}");
    assert_eq!(event["group"], "crasher");
    assert_eq!(event["process"], "crasher");
    assert_eq!(event["from_state"], "BACKOFF");
    assert_eq!(event["to_state"], "FATAL");
    assert_eq!(
        event["log_tail"],
        serde_json::json!(["about to fail"]),
        "{event}"
    );
    assert!(
        body["text"]
            .as_str()
            .unwrap()
            .ends_with("crasher entered FATAL"),
        "{body}"
    );

    assert!(wait_until(secs(5.0), || d
        .conf
        .read("mail.txt")
        .contains("FATAL")));
    let mail = d.conf.read("mail.txt");
    assert_eq!(d.conf.read("mail.args").trim(), "-t -i");
    assert!(
        mail.starts_with("To: ops@example.com, oncall@example.com\r\nSubject: ["),
        "{mail}"
    );
    assert!(mail.contains("crasher entered FATAL\r\n"), "{mail}");
    assert!(mail.contains("\"log_tail\": ["), "{mail}");
}

#[test]
fn a_crash_loop_inside_the_batch_window_is_one_message() {
    let port = free_port();
    let conf = Conf::new("");
    let _receiver = receiver(&conf, port, 0);
    conf.write(&format!(
        "
[program:flappy]
command=sh -c 'echo x >> {{dir}}/exits; exit 1'
startsecs=0
autorestart=true

[notify:ops]
url=http://127.0.0.1:{port}/
events=PROCESS_STATE_EXITED
batch_window=3
"
    ));
    let d = Daemon::start_steward(conf);
    assert!(wait_until(secs(5.0), || d.conf.lines("exits").len() >= 30));
    let out = d.steward_ctl(&["stop", "flappy"]);
    assert!(out.stdout.contains("flappy: stopped"), "{out}");
    let exits = d.conf.lines("exits").len();
    assert!(
        wait_until(secs(10.0), || !requests(&d.conf).is_empty()),
        "nothing posted"
    );
    assert!(holds_for(secs(1.5), || requests(&d.conf).len() == 1));
    let body = &requests(&d.conf)[0]["body"];
    // Every exit is one EXITED event, except on a loaded machine where the engine reaps a
    // child before its startsecs=0 pass made it RUNNING: that exit is STARTING → BACKOFF,
    // no EXITED event. So the one message holds most exits, never more than happened.
    let count = body["count"].as_u64().unwrap_or(0) as usize;
    assert!(
        count <= exits && count * 2 >= exits,
        "{exits} exits, one message of {count}: {body}"
    );
    assert!(
        body["text"]
            .as_str()
            .unwrap()
            .contains(&format!("{count} events:")),
        "{body}"
    );
    assert!(body["events"]
        .as_array()
        .unwrap()
        .iter()
        .all(|e| e["type"] == "PROCESS_STATE_EXITED" && e["expected"] == false));
}

#[test]
fn notify_sections_are_checked_when_the_file_is_read() {
    let conf = Conf::new(
        "
[notify:bad]
url=ftp://hooks.example.com/x
secret=whsec_***
events=PROCESS_STATE_FATAL, CRON_EXPLODED

[notify:empty]
events=PROCESS_STATE_FATAL
",
    );
    let out = run_with_timeout(
        std::process::Command::new(steward_bin())
            .args(["check", "-c"])
            .arg(&conf.path),
        secs(10.0),
    );
    assert_ne!(out.code, 0, "{out}");
    let text = format!("{}{}", out.stdout, out.stderr);
    for needle in [
        "[notify:bad] url = ftp://hooks.example.com/x: the url must start with http:// or https://",
        "[notify:bad] secret = whsec_***: a whsec_ secret must be followed by base64",
        "unknown event 'CRON_EXPLODED'",
        "[notify:empty]: [notify:empty] needs a url or an email to send to",
    ] {
        assert!(text.contains(needle), "missing {needle:?} in\n{text}");
    }
}

#[test]
fn cron_runs_ping_their_url_with_healthchecks_semantics_and_failures_are_notified() {
    let port = free_port();
    let hook = free_port();
    let conf = Conf::new("");
    let _hook = receiver(&conf, hook, 0);
    // A Healthchecks.io stand-in: logs "<path> <body>" per ping.
    let hc = conf.script(
        "hc.py",
        &format!(
            r#"import http.server, json
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
        with open("{{dir}}/pings", "a") as f:
            f.write(json.dumps([self.path, body]) + "\n")
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"OK")
    def log_message(self, *a):
        pass
http.server.HTTPServer(("127.0.0.1", {port}), H).serve_forever()
"#
        ),
    );
    let _hc = serve(hc, port);
    conf.write(&format!(
        "
[steward]
state_dir={{dir}}/state

[cron:good]
command=sh -c 'echo all fine'
schedule=@yearly
ping_url=http://127.0.0.1:{port}/good-uuid/

[cron:bad]
command=sh -c 'echo progress-on-stdout; echo broken >&2; exit 4'
schedule=@yearly
ping_url=http://127.0.0.1:{port}/bad-uuid

[cron:merged]
command=sh -c 'echo merged-out; echo merged-err >&2'
schedule=@yearly
redirect_stderr=true
ping_url=http://127.0.0.1:{port}/merged-uuid

[cron:slow]
command=sleep 30
schedule=@yearly
timeout=1
ping_url=http://127.0.0.1:{port}/slow-uuid

[notify:ops]
url=http://127.0.0.1:{hook}/
events=CRON_FAILED, CRON_TIMED_OUT
"
    ));
    let d = Daemon::start_steward(conf);
    for job in ["good", "bad", "slow", "merged"] {
        d.call("steward.cronRun", vec![serde_json::json!(job)]);
    }
    let pings = || -> Vec<(String, String)> {
        d.conf
            .lines("pings")
            .iter()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    };
    assert!(
        wait_until(secs(15.0), || pings().len() == 8),
        "{:?}",
        pings()
    );
    let all = pings();
    for (job, end) in [
        ("good", "0"),
        ("bad", "4"),
        ("slow", "fail"),
        ("merged", "0"),
    ] {
        let of: Vec<&(String, String)> = all
            .iter()
            .filter(|(p, _)| p.starts_with(&format!("/{job}-uuid/")))
            .collect();
        assert_eq!(of.len(), 2, "{job}: {all:?}");
        let (start, rid) = of[0].0.split_once("?rid=").unwrap();
        assert_eq!(start, format!("/{job}-uuid/start"), "{all:?}");
        assert_eq!(rid.len(), 36, "a UUID: {rid}");
        assert_eq!(of[1].0, format!("/{job}-uuid/{end}?rid={rid}"), "{all:?}");
    }
    let bad_end = &all
        .iter()
        .find(|(p, _)| p.starts_with("/bad-uuid/4"))
        .unwrap()
        .1;
    // The body is the stderr tail (the issue: "the stderr tail as body"), not stdout.
    assert_eq!(bad_end, "broken\n", "the end ping carries stderr");
    let end_body = |job: &str| {
        all.iter()
            .find(|(p, _)| p.starts_with(&format!("/{job}-uuid/")) && !p.contains("/start?"))
            .unwrap()
            .1
            .clone()
    };
    assert_eq!(end_body("good"), "", "nothing on stderr, an empty body");
    // With redirect_stderr, stderr is in the combined output, which is then the body.
    let merged = end_body("merged");
    assert!(
        merged.contains("merged-out") && merged.contains("merged-err"),
        "{merged:?}"
    );

    assert!(wait_until(secs(10.0), || requests(&d.conf).len() == 2));
    let mut types: Vec<String> = requests(&d.conf)
        .iter()
        .map(|r| {
            let e = &r["body"]["events"][0];
            format!(
                "{} {}",
                e["type"].as_str().unwrap(),
                e["group"].as_str().unwrap()
            )
        })
        .collect();
    types.sort();
    assert_eq!(types, ["CRON_FAILED bad", "CRON_TIMED_OUT slow"]);
}

#[test]
fn an_https_webhook_goes_through_curl_with_the_same_signed_headers() {
    let port = free_port();
    let conf = Conf::new("");
    let made = std::process::Command::new("openssl")
        .args([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
        ])
        .args([
            "-subj",
            "/CN=localhost",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
        ])
        .arg("-keyout")
        .arg(conf.file("key.pem"))
        .arg("-out")
        .arg(conf.file("cert.pem"))
        .stderr(std::process::Stdio::null())
        .status()
        .expect("openssl");
    assert!(made.success());
    let server = conf.script(
        "tls.py",
        &format!(
            r#"import http.server, json, ssl
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        with open("{{dir}}/tls.requests", "a") as f:
            f.write(json.dumps({{"path": self.path, "id": self.headers["webhook-id"],
                "sig": self.headers["webhook-signature"], "body": json.loads(body)}}) + "\n")
        self.send_response(204)
        self.end_headers()
    def log_message(self, *a):
        pass
s = http.server.HTTPServer(("127.0.0.1", {port}), H)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain("{{dir}}/cert.pem", "{{dir}}/key.pem")
s.socket = ctx.wrap_socket(s.socket, server_side=True)
s.serve_forever()
"#
        ),
    );
    let _server = serve(server, port);
    conf.write(&format!(
        "
[program:crasher]
command=sh -c 'exit 2'
startretries=0

[notify:tls]
url=https://127.0.0.1:{port}/hook
secret={SECRET}
events=PROCESS_STATE_FATAL
"
    ));
    // curl trusts the test's own certificate through CURL_CA_BUNDLE in the daemon's
    // environment (helpers inherit it).
    let mut cmd = Daemon::command(Target::Steward, &conf);
    cmd.env("CURL_CA_BUNDLE", conf.file("cert.pem"))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    let mut daemon = cmd.spawn().expect("start the daemon");
    let got = wait_until(secs(15.0), || !conf.read("tls.requests").is_empty());
    kill(daemon.id() as i32, libc::SIGTERM);
    let _ = daemon.wait();
    assert!(got, "nothing arrived over https");
    let req: Value = serde_json::from_str(conf.lines("tls.requests")[0].as_str()).unwrap();
    assert_eq!(req["path"], "/hook");
    assert!(req["id"].as_str().unwrap().starts_with("msg_"), "{req}");
    assert!(req["sig"].as_str().unwrap().starts_with("v1,"), "{req}");
    assert_eq!(req["body"]["events"][0]["type"], "PROCESS_STATE_FATAL");
}

/// `/metrics` of the daemon, from its UNIX socket.
fn metrics(d: &Daemon) -> String {
    let (_, body) = http_unix(&d.conf.sock, "GET", "/metrics", b"").expect("/metrics");
    String::from_utf8_lossy(&body).into_owned()
}

/// The value of the sample `name{labels}` in a `/metrics` text (0 when absent).
fn sample(metrics: &str, series: &str) -> u64 {
    metrics
        .lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0)
}

#[test]
fn a_hanging_webhook_never_delays_supervision_and_its_retries_and_drops_are_counted() {
    let hang = free_port();
    let good = free_port();
    let conf = Conf::new("");
    let _good = receiver(&conf, good, 0);
    // Accepts every connection, logs when, and never answers.
    let hanging = conf.script(
        "hang.py",
        &format!(
            r#"import socket, time
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", {hang}))
s.listen(64)
held = []
while True:
    c, _ = s.accept()
    held.append(c)
    with open("{{dir}}/hang.log", "a") as f:
        f.write("%f\n" % time.time())
"#
        ),
    );
    let _hanging = serve(hanging, hang);
    conf.write(&format!(
        "
[program:flappy]
command=sh -c 'echo x >> {{dir}}/exits; sleep 0.1; exit 1'
startsecs=0
autorestart=true

[program:crasher]
command=sh -c 'exit 2'
startsecs=1
startretries=0

[notify:stuck]
url=http://127.0.0.1:{hang}/
events=PROCESS_STATE_EXITED
groups=flappy
timeout=1
retries=2
queue_size=5

[notify:fine]
url=http://127.0.0.1:{good}/
events=PROCESS_STATE_FATAL
"
    ));
    let d = Daemon::start_steward(conf);
    // The first connection is serve()'s readiness probe. Then 1 + 2 retries of the first message: 1 s timeouts, 1 s and 2 s apart.
    let attempts = || -> Vec<f64> {
        d.conf
            .lines("hang.log")
            .iter()
            .filter_map(|l| l.parse().ok())
            .collect()
    };
    assert!(
        wait_until(secs(15.0), || attempts().len() >= 4),
        "{:?}",
        attempts()
    );
    let t = attempts();
    let gaps: Vec<f64> = t[1..4].windows(2).map(|w| w[1] - w[0]).collect();
    assert!(
        (1.9..2.8).contains(&gaps[0]) && (2.9..3.8).contains(&gaps[1]),
        "timeout + backoff between attempts: {gaps:?}"
    );
    // Meanwhile supervision went on: the crash loop kept restarting, and the other
    // notifier delivered the FATAL at once.
    let exits = d.conf.lines("exits").len();
    assert!(exits >= 20, "only {exits} restarts while the webhook hung");
    assert!(
        wait_until(secs(5.0), || requests(&d.conf).len() == 1),
        "{:?}",
        requests(&d.conf)
    );
    let counted = || {
        let m = metrics(&d);
        (
            sample(
                &m,
                r#"steward_notify_deliveries_total{notifier="stuck",result="failed"}"#,
            ),
            sample(&m, r#"steward_notify_retries_total{notifier="stuck"}"#),
            sample(&m, r#"steward_notify_dropped_total{notifier="stuck"}"#),
            sample(
                &m,
                r#"steward_notify_deliveries_total{notifier="stuck",result="ok"}"#,
            ),
            sample(
                &m,
                r#"steward_notify_deliveries_total{notifier="fine",result="ok"}"#,
            ),
        )
    };
    assert!(
        wait_until(secs(10.0), || {
            let (failed, retried, dropped, ok, fine) = counted();
            failed >= 1 && retried >= 2 && dropped >= 1 && ok == 0 && fine == 1
        }),
        "{:?}\n{}",
        counted(),
        metrics(&d)
    );
    let out = d.steward_ctl(&["stop", "flappy"]);
    assert!(out.stdout.contains("flappy: stopped"), "{out}");
}

#[test]
fn missed_cron_fires_are_an_event_a_notification_and_a_metric() {
    let port = free_port();
    let shared = tempfile::tempdir().unwrap();
    let state = shared.path().join("state");
    let conf_text = |port: u16| {
        format!(
            "
[steward]
state_dir={}

[cron:slow]
schedule=* * * * * *
command=sleep 2.5
overlap=skip

[notify:ops]
url=http://127.0.0.1:{port}/
events=CRON_MISSED
",
            state.display()
        )
    };
    let conf = Conf::new(&conf_text(port));
    let _receiver = receiver(&conf, port, 0);
    let d = Daemon::start_steward(conf);
    let missed = |d: &Daemon| -> Vec<Value> {
        requests(&d.conf)
            .iter()
            .flat_map(|r| r["body"]["events"].as_array().cloned().unwrap_or_default())
            .filter(|e| e["type"] == "CRON_MISSED")
            .collect()
    };
    // A 2.5 s run under a 1-second schedule: two fires of every three are skipped.
    assert!(
        wait_until(secs(15.0), || missed(&d).len() >= 2),
        "{:?}",
        requests(&d.conf)
    );
    let e = &missed(&d)[0];
    assert_eq!(e["group"], "slow", "{e}");
    assert_eq!(e["count"], 1, "{e}");
    assert_eq!(e["message"], "still running (overlap=skip)", "{e}");
    assert!(
        e["scheduled"].as_str().is_some_and(|s| s.ends_with('Z')),
        "{e}"
    );
    assert!(
        e["text"]
            .as_str()
            .unwrap()
            .contains("cron job slow missed the run scheduled at"),
        "{e}"
    );
    let counter = sample(&metrics(&d), r#"steward_cron_missed_total{job="slow"}"#);
    assert!(counter >= 2, "{}", metrics(&d));
    // The live stream (replayed from the start) carries it too.
    let replay = run_with_timeout(
        std::process::Command::new("curl")
            .args(["-s", "-N", "--max-time", "2", "--unix-socket"])
            .arg(&d.conf.sock)
            .args(["-H", "Last-Event-ID: 0"])
            .arg("http://localhost/api/v1/events"),
        secs(10.0),
    );
    assert!(replay.stdout.contains("event: cron_missed"), "{replay}");
    assert!(
        replay
            .stdout
            .contains("\"reason\":\"still running (overlap=skip)\""),
        "{replay}"
    );

    // Down for 3 s with catchup = 0 (the default): the fires in between ran nowhere.
    let mut d = d;
    d.signal(libc::SIGTERM);
    assert!(d.wait_exit(secs(15.0)).is_some());
    drop(d);
    std::thread::sleep(Duration::from_secs(3));
    let port = free_port();
    let conf = Conf::new(&conf_text(port));
    let _receiver = receiver(&conf, port, 0);
    let d = Daemon::start_steward(conf);
    assert!(
        wait_until(secs(10.0), || missed(&d)
            .iter()
            .any(|e| e["message"] == "the daemon was down")),
        "{:?}",
        requests(&d.conf)
    );
    let down = missed(&d)
        .into_iter()
        .find(|e| e["message"] == "the daemon was down")
        .unwrap();
    let n = down["count"].as_u64().unwrap();
    assert!((2..=6).contains(&n), "{down}");
    assert!(down["after"].as_str().is_some(), "{down}");
}

#[test]
fn an_exit_is_reported_as_it_happened_even_when_the_process_already_restarted() {
    let port = free_port();
    let conf = Conf::new("");
    let _receiver = receiver(&conf, port, 0);
    // `crasher` exits 3 once, and autorestart has it STARTING again at once: the snapshot
    // no longer holds that exit status by the time the notifier looks.
    conf.write(&format!(
        "
[program:victim]
command=sh -c 'kill -KILL $$'
startsecs=0
autorestart=false

[program:crasher]
command=sh -c 'test -e {dir}/crashed && exec sleep 1000; touch {dir}/crashed; exit 3'
startsecs=0
autorestart=true

[notify:ops]
url=http://127.0.0.1:{port}/
events=PROCESS_STATE_EXITED
",
        dir = conf.dir.display()
    ));
    let d = Daemon::start_steward(conf);
    let exits = || -> Vec<Value> {
        requests(&d.conf)
            .iter()
            .flat_map(|r| r["body"]["events"].as_array().cloned().unwrap_or_default())
            .collect()
    };
    let find = |name: &str| exits().into_iter().find(|e| e["process"] == name);
    assert!(
        wait_until(secs(10.0), || find("victim").is_some()
            && find("crasher").is_some()),
        "{:?}",
        exits()
    );
    let victim = find("victim").unwrap();
    assert_eq!(victim["type"], "PROCESS_STATE_EXITED", "{victim}");
    assert_eq!(victim["signal"], "SIGKILL", "{victim}");
    assert_eq!(victim["expected"], false, "{victim}");
    assert!(
        victim["text"]
            .as_str()
            .unwrap()
            .ends_with("victim exited unexpectedly (terminated by SIGKILL)"),
        "{victim}"
    );
    let crasher = find("crasher").unwrap();
    assert_eq!(crasher["exitstatus"], 3, "{crasher}");
    assert_eq!(crasher["signal"], Value::Null, "{crasher}");
    assert!(
        crasher["text"]
            .as_str()
            .unwrap()
            .ends_with("crasher exited unexpectedly (exit status 3)"),
        "{crasher}"
    );
}
