//! Issue 17: `depends_on`, health checks and `ready_log_line` on the real binary, with a
//! real HTTP server (a small Python `http.server` that answers 500 once a file exists) as
//! the checked service. Steward only: supervisord ignores these keys.
mod support;
use serde_json::Value;
use support::*;

/// An HTTP server on `port` that logs `<epoch> <status>` per request to `<dir>/<name>.requests`,
/// answers 500 while `<dir>/<name>.fail` exists, starts listening after `delay` seconds,
/// and records the time SIGTERM reached it in `<dir>/<name>.stopped`.
fn http_server(conf: &Conf, name: &str, port: u16, delay: f64) -> String {
    let script = conf.script(
        &format!("{name}.py"),
        &format!(
            r#"import http.server, os, signal, sys, time
d, name = "{{dir}}", "{name}"
def term(*_):
    with open(os.path.join(d, name + ".stopped"), "w") as f:
        f.write(repr(time.time()))
    sys.exit(0)
signal.signal(signal.SIGTERM, term)
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        code = 500 if os.path.exists(os.path.join(d, name + ".fail")) else 200
        with open(os.path.join(d, name + ".requests"), "a") as f:
            f.write("%r %d\n" % (time.time(), code))
        self.send_response(code)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")
    def log_message(self, *a):
        pass
time.sleep({delay})
http.server.HTTPServer(("127.0.0.1", {port}), H).serve_forever()
"#
        ),
    );
    format!("python3 {}", script.display())
}

/// `name`'s entry of steward.getHealth (null while the daemon is still loading).
fn health_of(d: &Daemon, name: &str) -> Value {
    let all = d.call("steward.getHealth", vec![]);
    all.as_array()
        .unwrap()
        .iter()
        .find(|e| e["name"] == name)
        .cloned()
        .unwrap_or(Value::Null)
}

fn epoch(text: &str) -> f64 {
    text.trim()
        .parse()
        .unwrap_or_else(|_| panic!("not a time: {text:?}"))
}

/// The time of the first request the server answered with `status`.
fn first_request(conf: &Conf, name: &str, status: &str) -> Option<f64> {
    conf.lines(&format!("{name}.requests"))
        .iter()
        .find(|l| l.ends_with(&format!(" {status}")))
        .map(|l| epoch(l.split(' ').next().unwrap()))
}

#[test]
fn a_dependent_starts_after_the_first_passing_check_and_stops_before_its_dependency() {
    let port = free_port();
    let conf = Conf::new("");
    let db = http_server(&conf, "db", port, 1.5);
    // Priorities work against the dependency: without it, web would start first and
    // stop last.
    conf.write(&format!(
        "
[program:db]
command={db}
priority=900
startsecs=0
stopwaitsecs=5
healthcheck=http://127.0.0.1:{port}/health
healthcheck_interval=2

[program:web]
command=sh -c 'date +%%s.%%N > {{dir}}/web.started; trap \"date +%%s.%%N > {{dir}}/web.stopped; exit 0\" TERM; while :; do sleep 0.05; done'
priority=100
startsecs=0
depends_on=db:healthy
"
    ));
    let mut d = Daemon::start_steward(conf);
    // While db is not answering yet, web waits, and status says so.
    let mut seen = String::new();
    assert!(
        wait_until(secs(5.0), || {
            seen = d.steward_ctl(&["status"]).stdout;
            seen.contains("[waiting for db:healthy]")
        }),
        "status never showed the wait:\n{seen}"
    );
    assert!(seen.contains("[health: starting]"), "{seen}");
    assert_eq!(d.state("web"), "STOPPED");
    assert!(wait_until(secs(10.0), || !d
        .conf
        .read("web.started")
        .is_empty()));
    let started = epoch(&d.conf.read("web.started"));
    let healthy = first_request(&d.conf, "db", "200").expect("db answered 200");
    assert!(
        started >= healthy,
        "web started at {started}, before db's first passing check at {healthy}"
    );
    assert!(
        started - healthy <= 1.0,
        "web started {:.3} s after db's first passing check",
        started - healthy
    );
    let db_health = health_of(&d, "db");
    assert_eq!(db_health["health"], "healthy", "{db_health}");
    let web_health = health_of(&d, "web");
    assert_eq!(web_health["depends_on"], "db:healthy", "{web_health}");
    assert_eq!(web_health["waiting_for"], "", "{web_health}");
    let status = d.steward_ctl(&["status"]).stdout;
    assert!(status.contains("[health: healthy]"), "{status}");

    // Shutdown: web (the dependent) stops first although its priority says last.
    d.call("supervisor.shutdown", vec![]);
    assert!(d.wait_exit(secs(15.0)).is_some(), "daemon did not exit");
    let web_stopped = epoch(&d.conf.read("web.stopped"));
    let db_stopped = epoch(&d.conf.read("db.stopped"));
    assert!(
        web_stopped < db_stopped,
        "db stopped at {db_stopped}, before its dependent web at {web_stopped}"
    );
}

#[test]
fn a_server_that_starts_answering_500_is_restarted_within_interval_times_retries_plus_timeout() {
    let port = free_port();
    let conf = Conf::new("");
    let api = http_server(&conf, "api", port, 0.0);
    conf.write(&format!(
        "
[program:api]
command={api}
startsecs=0
stopwaitsecs=5
healthcheck=http://127.0.0.1:{port}/
healthcheck_interval=1
healthcheck_retries=2
healthcheck_timeout=1
"
    ));
    let d = Daemon::start_steward(conf);
    assert!(
        wait_until(secs(10.0), || health_of(&d, "api")["health"] == "healthy"),
        "never healthy: {}",
        health_of(&d, "api")
    );
    let pid = d.process_pid("api");
    let failing_since = wall_now();
    std::fs::write(d.conf.file("api.fail"), "").unwrap();
    // interval × retries + timeout = 3 s to be unhealthy, then ≤ 1 s to begin the restart.
    assert!(
        wait_until(secs(10.0), || !d.conf.read("api.stopped").is_empty()),
        "no restart: {}",
        health_of(&d, "api")
    );
    let stopped = epoch(&d.conf.read("api.stopped"));
    assert!(
        stopped - failing_since <= 4.0,
        "the restart began {:.2} s after the server turned to 500",
        stopped - failing_since
    );
    assert!(first_request(&d.conf, "api", "500").is_some());
    std::fs::remove_file(d.conf.file("api.fail")).unwrap();
    assert!(wait_until(secs(10.0), || {
        let p = d.process_pid("api");
        p != 0 && p != pid && health_of(&d, "api")["health"] == "healthy"
    }));
    let h = health_of(&d, "api");
    assert_eq!(h["health_restarts"], 1, "{h}");
    let log = std::fs::read_to_string(d.conf.file("supervisord.log")).unwrap_or_default();
    assert!(
        log.contains(&format!(
            "unhealthy: api (http://127.0.0.1:{port}/: HTTP 500)"
        )),
        "{log}"
    );
}

#[test]
fn tcp_and_command_checks_report_without_restarting_when_the_action_is_none() {
    let closed = free_port();
    let conf = Conf::new(&format!(
        "
[program:tcp]
command=sleep 1000
startsecs=0
healthcheck=tcp://127.0.0.1:{closed}
healthcheck_interval=0.3
healthcheck_retries=2
healthcheck_action=none

[program:cmd]
command=sleep 1000
startsecs=0
healthcheck=sh -c 'echo checked; test -f {{dir}}/ok'
healthcheck_interval=0.3
healthcheck_retries=1
healthcheck_action=none

[program:slow]
command=sleep 1000
startsecs=0
healthcheck=sleep 5
healthcheck_interval=0.3
healthcheck_timeout=0.3
healthcheck_retries=1
healthcheck_action=none
"
    ));
    let d = Daemon::start_steward(conf);
    assert!(
        wait_until(secs(5.0), || health_of(&d, "tcp")["health"] == "unhealthy"),
        "{}",
        health_of(&d, "tcp")
    );
    let pid = d.process_pid("tcp");
    let h = health_of(&d, "tcp");
    assert!(
        h["message"]
            .as_str()
            .unwrap()
            .starts_with(&format!("tcp://127.0.0.1:{closed}: ")),
        "{h}"
    );
    assert!(wait_until(secs(5.0), || health_of(&d, "cmd")["health"] == "unhealthy"));
    let h = health_of(&d, "cmd");
    assert!(
        h["message"]
            .as_str()
            .unwrap()
            .ends_with("exit status 1: checked"),
        "{h}"
    );
    std::fs::write(d.conf.file("ok"), "").unwrap();
    assert!(wait_until(secs(5.0), || health_of(&d, "cmd")["health"] == "healthy"));
    assert!(wait_until(secs(5.0), || health_of(&d, "slow")["health"] == "unhealthy"));
    let h = health_of(&d, "slow");
    assert_eq!(h["message"], "`sleep 5` did not finish within 0.3s", "{h}");
    // action=none: nothing was restarted, and the timed-out probe was killed.
    assert!(pid != 0);
    assert_eq!(d.process_pid("tcp"), pid);
    assert_eq!(d.state("tcp"), "RUNNING");
    // Probes start every 0.3 s and each would live 5 s: without the kill a dozen would
    // be alive by now, besides the three programs.
    std::thread::sleep(secs(2.0));
    let sleeps = d.descendants().iter().filter(|p| p.comm == "sleep").count();
    assert!(
        sleeps <= 5,
        "{sleeps} sleep processes: timed-out probes live on"
    );
    // XML-RPC answers are supervisord's: no health field in getProcessInfo.
    let info = d.info("tcp");
    assert!(info.get("health").is_none(), "{info}");
}

#[test]
fn log_ready_gates_a_dependent_and_on_dependency_failure_restart_follows_the_dependency() {
    let conf = Conf::new(
        "
[program:queue]
command=sh -c 'sleep 0.5; echo \"queue: accepting connections\"; exec sleep 1000'
startsecs=0
ready_log_line=accepting connections$

[program:worker]
command=sh -c 'date +%%s.%%N >> {dir}/worker.starts; exec sleep 1000'
startsecs=0
depends_on=queue:log_ready
on_dependency_failure=restart
",
    );
    let d = Daemon::start_steward(conf);
    assert!(wait_until(secs(5.0), || d
        .conf
        .lines("worker.starts")
        .len()
        == 1));
    assert_eq!(health_of(&d, "queue")["log_ready"], true);
    // The queue dies: the worker is stopped, then started again once the queue's new
    // process prints its line.
    let queue_pid = d.process_pid("queue");
    kill(queue_pid, libc::SIGKILL);
    assert!(
        wait_until(secs(10.0), || d.conf.lines("worker.starts").len() == 2),
        "worker starts: {:?}",
        d.conf.lines("worker.starts")
    );
    assert_eq!(d.state("worker"), "RUNNING");
    assert_ne!(d.process_pid("queue"), queue_pid);
}

fn wall_now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

/// `python3 <dir>/<name>.py`: a `Type=notify`-style service written the way sd_notify
/// clients do it (a datagram to `$NOTIFY_SOCKET`, `@` meaning the abstract namespace).
fn notify_script(conf: &Conf, name: &str, body: &str) -> String {
    let script = conf.script(
        &format!("{name}.py"),
        &format!(
            r#"import os, socket, sys, time
d = "{{dir}}"
def notify(msg):
    addr = os.environ["NOTIFY_SOCKET"]
    if addr.startswith("@"):
        addr = "\0" + addr[1:]
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.connect(addr)
    s.sendall(msg.encode())
    s.close()
{body}
"#
        ),
    );
    format!("python3 {}", script.display())
}

#[test]
fn sd_notify_ready_makes_a_child_healthy_and_a_silent_watchdog_restarts_it() {
    let conf = Conf::new("");
    let svc = notify_script(
        &conf,
        "svc",
        r#"with open(d + "/svc.env", "w") as f:
    f.write(os.environ["NOTIFY_SOCKET"] + " " + os.environ.get("WATCHDOG_USEC", "") + "\n")
time.sleep(0.5)
with open(d + "/svc.ready", "w") as f:
    f.write(repr(time.time()))
notify("STATUS=up\nREADY=1\n")
while True:
    if not os.path.exists(d + "/hang"):
        notify("WATCHDOG=1")
    time.sleep(0.2)"#,
    );
    let helper = notify_script(
        &conf,
        "helper",
        r#"notify("READY=1")
open(d + "/helper.sent", "w").close()"#,
    );
    conf.write(&format!(
        "
[program:svc]
command={svc}
startsecs=0
stopwaitsecs=2
sd_notify=true
watchdog_sec=1

[program:after]
command=sh -c 'date +%%s.%%N > {{dir}}/after.started; exec sleep 1000'
startsecs=0
depends_on=svc:healthy

[program:foreign]
command=sh -c '{helper}; exec sleep 1000'
startsecs=0
sd_notify=true
"
    ));
    let d = Daemon::start_steward(conf);
    assert!(wait_until(secs(10.0), || !d
        .conf
        .read("after.started")
        .is_empty()));
    let ready = epoch(&d.conf.read("svc.ready"));
    let after = epoch(&d.conf.read("after.started"));
    assert!(
        after >= ready,
        "after started at {after}, before READY=1 at {ready}"
    );
    assert!(
        after - ready <= 1.0,
        "after started {:.3} s after READY=1",
        after - ready
    );
    assert_eq!(health_of(&d, "svc")["health"], "healthy");
    let env = d.conf.read("svc.env");
    let (socket, usec) = env.trim().split_once(' ').unwrap();
    assert!(socket.starts_with("@steward/"), "{env}");
    assert_eq!(usec, "1000000");

    // READY=1 from another process than the child itself does not count.
    assert!(wait_until(secs(5.0), || d
        .conf
        .file("helper.sent")
        .exists()));
    assert!(holds_for(secs(1.0), || health_of(&d, "foreign")["health"]
        == "starting"));

    // The watchdog: no WATCHDOG=1 for 1 s makes it unhealthy, and it is restarted.
    let pid = d.process_pid("svc");
    std::fs::write(d.conf.file("hang"), "").unwrap();
    assert!(
        wait_until(secs(5.0), || ![0, pid].contains(&d.process_pid("svc"))),
        "{}",
        health_of(&d, "svc")
    );
    std::fs::remove_file(d.conf.file("hang")).unwrap();
    let h = health_of(&d, "svc");
    assert_eq!(h["health_restarts"], 1, "{h}");
    assert!(wait_until(secs(5.0), || health_of(&d, "svc")["health"] == "healthy"));
    let log = std::fs::read_to_string(d.conf.file("supervisord.log")).unwrap_or_default();
    assert!(
        log.contains("unhealthy: svc (no WATCHDOG=1 for 1s (watchdog_sec))"),
        "{log}"
    );
}
