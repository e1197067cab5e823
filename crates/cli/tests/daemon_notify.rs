//! Issue 17: `[notify:x]` webhooks and mail, with a real HTTP receiver (Python's
//! http.server checking the Standard Webhooks signature itself) and a fake `sendmail`
//! script. Steward only.
mod support;
use serde_json::Value;
use support::*;

/// The key behind `whsec_dGVzdC1zZWNyZXQta2V5LTAxMjM0NTY3ODk=`.
const SECRET: &str = "whsec_dGVzdC1zZWNyZXQta2V5LTAxMjM0NTY3ODk=";

/// A webhook receiver on `port`: answers 500 to its first `failures` requests, then 200,
/// and logs one JSON line per request to `<dir>/hook.requests` with the headers, the body,
/// and whether the signature verifies.
fn receiver(conf: &Conf, port: u16, failures: u32) -> std::process::Child {
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
    let child = std::process::Command::new("python3")
        .arg(script)
        .spawn()
        .expect("start the receiver");
    assert!(
        wait_until(secs(10.0), || std::net::TcpStream::connect((
            "127.0.0.1",
            port
        ))
        .is_ok()),
        "the receiver did not start"
    );
    child
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
    let _receiver = Receiver(receiver(&conf, port, 2));
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
    let _receiver = Receiver(receiver(&conf, port, 0));
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
url=https://hooks.example.com/x
secret=whsec_***
events=PROCESS_STATE_FATAL, CRON_MISSED

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
        "[notify:bad] url = https://hooks.example.com/x: https webhooks are not supported yet",
        "[notify:bad] secret = whsec_***: a whsec_ secret must be followed by base64",
        "unknown event 'CRON_MISSED'",
        "[notify:empty]: [notify:empty] needs a url or an email to send to",
    ] {
        assert!(text.contains(needle), "missing {needle:?} in\n{text}");
    }
}
