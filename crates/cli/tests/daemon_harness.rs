//! Self-tests of the black-box harness (tests/support): masking, the XML-RPC parser, and
//! that dropping a Daemon leaves no process behind.
mod support;
use support::*;

#[test]
fn mask_normalises_pids_uptimes_dates_and_auto_log_names() {
    let status = "alpha                            RUNNING   pid 1234, uptime 0:01:02\n\
                  beta                             EXITED    Nov 23 03:05 AM\n\
                  gamma                            RUNNING   pid 7, uptime 1 day, 2:03:04\n\
                  12345\n\
                  x-stdout---supervisor-ab_9XyZ1.log\n";
    assert_eq!(
        mask(status),
        "alpha                            RUNNING   pid <PID>, uptime <UPTIME>\n\
         beta                             EXITED    <DATE>\n\
         gamma                            RUNNING   pid <PID>, uptime <UPTIME>\n\
         <NUM>\n\
         x-stdout---supervisor-XXXXXXXX.log\n"
    );
    // Text that only looks similar is left alone.
    assert_eq!(mask("Not started"), "Not started");
    assert_eq!(mask("pid is unknown"), "pid is unknown");
    assert_eq!(mask("Nov 2 03:05"), "Nov 2 03:05");
}

#[test]
fn wait_until_and_holds_for_poll_with_deadlines() {
    let t0 = std::time::Instant::now();
    assert!(!wait_until(secs(0.2), || false));
    assert!(t0.elapsed() >= secs(0.2));
    assert!(wait_until(secs(5.0), || true));
    let mut n = 0;
    assert!(!holds_for(secs(1.0), || {
        n += 1;
        n < 3
    }));
}

#[test]
fn dropping_a_daemon_kills_every_process_it_started() {
    let conf = Conf::new(
        "
[program:family]
command=sh -c 'sleep 1000 & echo $! > {dir}/gc; trap \"\" TERM; wait'
startsecs=0
",
    );
    let d = Daemon::start(conf);
    d.wait_state("family", "RUNNING", secs(10.0));
    assert!(wait_until(secs(5.0), || !d.conf.read("gc").is_empty()));
    let gc: i32 = d.conf.read("gc").trim().parse().unwrap();
    let child = d.process_pid("family");
    let daemon = d.pid;
    assert!(pid_alive(gc) && pid_alive(child) && pid_alive(daemon));
    assert!(!d.descendants().is_empty());
    let dir = d.dir().to_path_buf();
    drop(d);
    for p in [daemon, child, gc] {
        assert!(
            wait_until(secs(5.0), || !pid_alive(p)),
            "pid {p} survived the drop"
        );
    }
    assert!(!dir.exists(), "the temp dir is removed");
}

#[test]
fn rpc_client_decodes_values_and_faults() {
    let d = Daemon::start(Conf::new(
        "\n[program:one]\ncommand=sleep 1000\nstartsecs=0\n",
    ));
    d.wait_state("one", "RUNNING", secs(10.0));
    assert_eq!(d.call("supervisor.getAPIVersion", vec![]), json!("3.0"));
    assert_eq!(
        d.call("supervisor.getState", vec![]),
        json!({"statecode": 1, "statename": "RUNNING"})
    );
    let all = d.call("supervisor.getAllProcessInfo", vec![]);
    assert_eq!(all.as_array().unwrap().len(), 1);
    assert_eq!(all[0]["name"], "one");
    assert_eq!(all[0]["group"], "one");
    assert!(all[0]["pid"].as_i64().unwrap() > 0);
    let f = d
        .rpc("supervisor.getProcessInfo", vec![json!("nosuch")])
        .unwrap_err();
    assert_eq!((f.code, f.string.as_str()), (10, "BAD_NAME: nosuch"));
    let f = d.rpc("supervisor.noSuchMethod", vec![]).unwrap_err();
    assert_eq!((f.code, f.string.as_str()), (1, "UNKNOWN_METHOD"));
    // Strings with markup round-trip through escaping.
    let r = d.call(
        "supervisor.sendProcessStdin",
        vec![json!("one"), json!("<&>\n")],
    );
    assert_eq!(r, json!(true));
}
