//! `depends_on`, `healthcheck*`, `ready_log_line`, `sd_notify`: parsing and the
//! dependency-graph errors, through `steward_config::load` on real files.

use std::collections::BTreeMap;
use std::time::Duration;
use steward_config::*;

fn load_str(text: &str) -> Result<Config, ConfigErrors> {
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("supervisord.conf");
    std::fs::write(&p, text).unwrap();
    let opts = LoadOptions {
        env: BTreeMap::new(),
        host_node_name: "testhost".into(),
        check_system: false,
    };
    load(&p, &opts)
}

fn errors(text: &str) -> Vec<String> {
    match load_str(text) {
        Ok(_) => panic!("expected errors"),
        Err(e) => e.0.iter().map(|d| d.to_string()).collect(),
    }
}

#[test]
fn keys_parse_into_the_process_config_and_defaults_apply() {
    let c = load_str(
        "[supervisord]\n\
         [program:db]\ncommand=/bin/cat\nhealthcheck = tcp://127.0.0.1:5432\n\
         [program:migrate]\ncommand=/bin/true\nautorestart=false\n\
         [program:web]\ncommand=/bin/cat\nnumprocs=2\nprocess_name=web_%(process_num)s\n\
         depends_on = db:healthy, migrate:completed_successfully\n\
         on_dependency_failure = restart\n\
         healthcheck = http://127.0.0.1:8000/health\nhealthcheck_interval = 0.5\n\
         healthcheck_retries = 2\nhealthcheck_action = none\n\
         ready_log_line = ^Listening on\n",
    )
    .unwrap();
    assert!(
        c.warnings.is_empty(),
        "new keys are known: {:?}",
        c.warnings
    );
    let db = c.process("db").unwrap().1;
    let h = db.health.as_deref().unwrap();
    assert_eq!(
        h.check,
        Some(HealthCheck::Tcp {
            host: "127.0.0.1".into(),
            port: 5432
        })
    );
    assert_eq!(h.interval, Duration::from_secs(10));
    assert_eq!(h.timeout, Duration::from_secs(1));
    assert_eq!(h.retries, 3);
    assert_eq!(h.start_period, Duration::ZERO);
    assert_eq!(h.action, HealthAction::Restart);
    assert!(db.depends_on.is_empty());
    assert!(c.process("migrate").unwrap().1.health.is_none());
    for name in ["web:web_0", "web:web_1"] {
        let web = c.process(name).unwrap().1;
        assert_eq!(web.depends_on.len(), 2);
        assert_eq!(web.depends_on[0].program, "db");
        assert_eq!(web.depends_on[0].condition, DependencyCondition::Healthy);
        assert_eq!(
            web.depends_on[1].condition,
            DependencyCondition::CompletedSuccessfully
        );
        assert_eq!(web.on_dependency_failure, DependencyFailure::Restart);
        let h = web.health.as_deref().unwrap();
        assert_eq!(h.interval, Duration::from_millis(500));
        assert_eq!(h.retries, 2);
        assert_eq!(h.action, HealthAction::None);
        assert_eq!(h.ready_log_line.as_deref(), Some("^Listening on"));
    }
}

#[test]
fn a_cycle_is_an_error_that_names_the_whole_loop_with_file_and_line() {
    let e = errors(
        "[supervisord]\n\
         [program:a]\ncommand=/bin/cat\ndepends_on = b\n\
         [program:b]\ncommand=/bin/cat\ndepends_on = c:running\n\
         [program:c]\ncommand=/bin/cat\ndepends_on = a\n",
    );
    assert_eq!(e.len(), 1, "{e:?}");
    assert!(
        e[0].contains("supervisord.conf:10: [program:c] depends_on = a"),
        "{}",
        e[0]
    );
    assert!(
        e[0].ends_with("dependency cycle: a → b → c → a"),
        "{}",
        e[0]
    );
    let e = errors("[supervisord]\n[program:a]\ncommand=/bin/cat\ndepends_on = a\n");
    assert!(e[0].ends_with("dependency cycle: a → a"), "{}", e[0]);
}

#[test]
fn unknown_names_and_unmeetable_conditions_are_errors_at_the_line() {
    let e = errors(
        "[supervisord]\n[program:web]\ncommand=/bin/cat\ndepends_on = dbb\n\
         [program:db]\ncommand=/bin/cat\n",
    );
    assert_eq!(e.len(), 1, "{e:?}");
    assert!(
        e[0].contains(":4: [program:web] depends_on = dbb"),
        "{}",
        e[0]
    );
    assert!(
        e[0].ends_with("depends_on names unknown program 'dbb'"),
        "{}",
        e[0]
    );

    let e = errors(
        "[supervisord]\n[program:web]\ncommand=/bin/cat\ndepends_on = db:healthy, q:log_ready\n\
         [program:db]\ncommand=/bin/cat\n[program:q]\ncommand=/bin/cat\n",
    );
    assert_eq!(e.len(), 2, "{e:?}");
    assert!(
        e[0].contains("has no healthcheck and no sd_notify"),
        "{}",
        e[0]
    );
    assert!(e[1].contains("has no ready_log_line"), "{}", e[1]);

    let e = errors(
        "[supervisord]\n[program:web]\ncommand=/bin/cat\ndepends_on = nightly\n\
         [cron:nightly]\ncommand=/bin/true\nschedule=@daily\n",
    );
    assert!(e[0].contains("is a [cron:nightly] job"), "{}", e[0]);
}

#[test]
fn bad_values_name_key_and_value() {
    let e = errors(
        "[supervisord]\n[program:a]\ncommand=/bin/cat\nhealthcheck = https://x/\n\
         healthcheck_interval = 0\nhealthcheck_action = kill\nready_log_line = (\n\
         watchdog_sec = 5\ndepends_on = b:ready\n",
    );
    let joined = e.join("\n");
    for needle in [
        "healthcheck = https://x/: https health checks are not supported",
        "healthcheck_interval = 0: '0' must be more than 0 seconds",
        "healthcheck_action = kill: invalid 'healthcheck_action' value 'kill'",
        "ready_log_line = (: invalid regular expression",
        "watchdog_sec = 5: watchdog_sec needs sd_notify = true",
        "depends_on = b:ready: unknown dependency condition 'ready'",
    ] {
        assert!(joined.contains(needle), "missing {needle:?} in\n{joined}");
    }
}
