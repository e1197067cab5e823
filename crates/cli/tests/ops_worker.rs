//! Issue 15: `steward worker add|remove|list` against a running Steward **and** a running
//! supervisord 4.3 (they share nothing but XML-RPC and the include directory): the
//! second `add` is `unchanged` (same bytes, mtime and pids), `numprocs 3` runs 3
//! processes, a pending edit of another file stays pending, `remove` takes the group out
//! before deleting the file, bad names and foreign files write nothing, and the prompts
//! give the same file as the flags.
mod support;
use support::*;

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The daemon config: the standard header plus `[include] files = conf.d/*.conf`.
fn conf_with_include() -> Conf {
    let c = Conf::new("[include]\nfiles = conf.d/*.conf\n");
    fs::create_dir_all(c.dir.join("conf.d")).unwrap();
    c
}

/// A Laravel project with an `artisan` and a stand-in `php` that behaves like
/// `queue:work`: logs, then waits; TERM finishes "the current job" and exits 0.
fn laravel_fixture(c: &Conf) -> (PathBuf, PathBuf) {
    let app = c.dir.join("app");
    fs::create_dir_all(&app).unwrap();
    fs::write(app.join("artisan"), "<?php\n").unwrap();
    let php = c.script(
        "php",
        "#!/bin/sh\ntrap 'echo drained; exit 0' TERM\necho \"worker $$ $*\"\nwhile true; do sleep 1; done\n",
    );
    (app, php)
}

fn steward(args: &[&str]) -> Output {
    let mut cmd = Command::new(steward_bin());
    cmd.args(args);
    run_with_timeout(&mut cmd, CTL_TIMEOUT)
}

fn add_laravel(d: &Daemon, app: &Path, php: &Path, extra: &[&str]) -> Output {
    let conf = d.conf.path.display().to_string();
    let logdir = d.conf.dir.join("childlogs").display().to_string();
    let app = app.display().to_string();
    let php = php.display().to_string();
    let mut args = vec![
        "worker",
        "add",
        "laravel-queue",
        "emails",
        "-c",
        &conf,
        "--path",
        &app,
        "--bin",
        &php,
        "--log-dir",
        &logdir,
        "--user",
        "root",
    ];
    args.extend_from_slice(extra);
    steward(&args)
}

fn pids(d: &Daemon, names: &[&str]) -> Vec<i32> {
    names.iter().map(|n| d.process_pid(n)).collect()
}

const EMAILS: [&str; 3] = ["emails:emails_00", "emails:emails_01", "emails:emails_02"];

#[test]
fn add_twice_is_unchanged_with_the_same_mtime_and_pids() {
    both(|t| {
        let c = conf_with_include();
        let (app, php) = laravel_fixture(&c);
        let d = Daemon::start_target(t, c);
        let out = add_laravel(&d, &app, &php, &["--numprocs", "3"]);
        assert_eq!(out.code, 0, "{out}");
        assert!(out.stdout.contains("emails: created"), "{out}");
        assert!(out.stdout.contains("emails: added process group"), "{out}");
        for p in EMAILS {
            d.wait_state(p, "RUNNING", secs(10.0));
        }
        let file = d.conf.dir.join("conf.d/emails.conf");
        let bytes = fs::read(&file).unwrap();
        let mtime = fs::metadata(&file).unwrap().modified().unwrap();
        let before = pids(&d, &EMAILS);

        let again = add_laravel(&d, &app, &php, &["--numprocs", "3"]);
        assert_eq!(again.code, 0, "{again}");
        assert!(again.stdout.contains("emails: unchanged"), "{again}");
        assert!(!again.stdout.contains("process group"), "{again}");
        assert_eq!(fs::read(&file).unwrap(), bytes);
        assert_eq!(fs::metadata(&file).unwrap().modified().unwrap(), mtime);
        assert_eq!(pids(&d, &EMAILS), before);
        // The daemon agrees the file holds no pending change.
        let reread = d.ctl(&["reread"]);
        assert_eq!(reread.code, 0, "{reread}");
        assert_eq!(
            reread.stdout, "No config updates to processes\n",
            "{reread}"
        );

        // A changed value rewrites the file and restarts that group.
        let changed = add_laravel(&d, &app, &php, &["--numprocs", "3", "--tries", "5"]);
        assert_eq!(changed.code, 0, "{changed}");
        assert!(changed.stdout.contains("emails: updated"), "{changed}");
        assert!(
            changed.stdout.contains("emails: updated process group"),
            "{changed}"
        );
        for p in EMAILS {
            d.wait_state(p, "RUNNING", secs(10.0));
        }
        let after = pids(&d, &EMAILS);
        assert!(
            after.iter().zip(&before).all(|(a, b)| a != b),
            "{after:?} {before:?}"
        );
    });
}

#[test]
fn a_pending_edit_of_another_file_stays_pending() {
    both(|t| {
        let c = conf_with_include();
        let (app, php) = laravel_fixture(&c);
        fs::write(
            c.dir.join("conf.d/other.conf"),
            "[program:other]\ncommand=sleep 1000\nstartsecs=0\n",
        )
        .unwrap();
        let d = Daemon::start_target(t, c);
        d.wait_state("other", "RUNNING", secs(10.0));
        let other = d.process_pid("other");
        // Someone's half-finished edit: written, not applied.
        fs::write(
            d.conf.dir.join("conf.d/other.conf"),
            "[program:other]\ncommand=sleep 1001\nstartsecs=0\n",
        )
        .unwrap();
        let out = add_laravel(&d, &app, &php, &[]);
        assert_eq!(out.code, 0, "{out}");
        d.wait_state("emails:emails_00", "RUNNING", secs(10.0));
        assert_eq!(d.process_pid("other"), other);
        let reread = d.ctl(&["reread"]);
        assert_eq!(reread.stdout, "other: changed\n", "{reread}");
    });
}

#[test]
fn remove_stops_the_group_and_deletes_the_file() {
    both(|t| {
        let c = conf_with_include();
        let (app, php) = laravel_fixture(&c);
        let d = Daemon::start_target(t, c);
        assert_eq!(add_laravel(&d, &app, &php, &[]).code, 0);
        d.wait_state("emails:emails_00", "RUNNING", secs(10.0));
        let pid = d.process_pid("emails:emails_00");
        let conf = d.conf.path.display().to_string();
        let out = steward(&["worker", "remove", "emails", "-c", &conf]);
        assert_eq!(out.code, 0, "{out}");
        assert!(out.stdout.contains("emails: stopped"), "{out}");
        assert!(!d.conf.dir.join("conf.d/emails.conf").exists());
        assert!(!pid_alive(pid));
        let status = d.ctl(&["status"]);
        assert!(!status.stdout.contains("emails"), "{status}");
        // The worker's TERM handler ran: the stop was a drain, not a kill.
        assert!(
            wait_until(secs(5.0), || d
                .conf
                .read("childlogs/emails.log")
                .contains("drained")),
            "{}",
            d.conf.read("childlogs/emails.log")
        );
        let again = steward(&["worker", "remove", "emails", "-c", &conf]);
        assert_ne!(again.code, 0, "{again}");
        assert!(again.stderr.contains("no worker emails"), "{again}");
    });
}

#[test]
fn bad_names_and_foreign_files_write_nothing() {
    let c = conf_with_include();
    let (app, php) = laravel_fixture(&c);
    let conf = c.path.display().to_string();
    let app_s = app.display().to_string();
    let php_s = php.display().to_string();
    for (name, bad) in [("a:b", "':'"), ("a b", "' '"), ("a/b", "'/'")] {
        let out = steward(&[
            "worker",
            "add",
            "laravel-queue",
            name,
            "-c",
            &conf,
            "--path",
            &app_s,
            "--bin",
            &php_s,
            "--no-apply",
        ]);
        assert_eq!(out.code, 1, "{out}");
        assert!(
            out.stderr.contains(&format!("because of character: {bad}")),
            "{out}"
        );
    }
    // Missing project, missing binary, a stop budget shorter than the job timeout.
    for (flags, needle) in [
        (vec!["--path", "/nonexistent/app"], "does not exist"),
        (
            vec!["--path", &app_s, "--bin", "/nonexistent/php"],
            "does not exist",
        ),
        (
            vec![
                "--path",
                &app_s,
                "--bin",
                &php_s,
                "--timeout",
                "120",
                "--stopwaitsecs",
                "60",
            ],
            "at least --timeout + 5",
        ),
    ] {
        let mut args = vec![
            "worker",
            "add",
            "laravel-queue",
            "w",
            "-c",
            &conf,
            "--no-apply",
        ];
        args.extend(flags);
        let out = steward(&args);
        assert_eq!(out.code, 1, "{out}");
        assert!(out.stderr.contains(needle), "{needle}: {out}");
    }
    assert_eq!(fs::read_dir(c.dir.join("conf.d")).unwrap().count(), 0);

    // A name another file already uses would merge into that program.
    fs::write(
        c.dir.join("conf.d/legacy.conf"),
        "[program:x]\ncommand=sleep 1\n[program:taken]\ncommand=sleep 1\n",
    )
    .unwrap();
    let out = steward(&[
        "worker",
        "add",
        "laravel-queue",
        "taken",
        "-c",
        &conf,
        "--path",
        &app_s,
        "--bin",
        &php_s,
        "--log-dir",
        &c.dir.join("childlogs").display().to_string(),
        "--no-apply",
    ]);
    assert_eq!(out.code, 1, "{out}");
    assert!(out.stderr.contains("taken is already defined in"), "{out}");
    assert!(!c.dir.join("conf.d/taken.conf").exists());
    fs::remove_file(c.dir.join("conf.d/legacy.conf")).unwrap();

    // A file without the header is someone else's.
    let theirs = c.dir.join("conf.d/w.conf");
    fs::write(&theirs, "[program:w]\ncommand=sleep 1\n").unwrap();
    let logdir = c.dir.join("childlogs").display().to_string();
    let args = [
        "worker",
        "add",
        "laravel-queue",
        "w",
        "-c",
        &conf,
        "--path",
        &app_s,
        "--bin",
        &php_s,
        "--log-dir",
        &logdir,
        "--no-apply",
    ];
    let out = steward(&args);
    assert_eq!(out.code, 1, "{out}");
    assert!(out.stderr.contains("not managed by steward"), "{out}");
    assert_eq!(
        fs::read_to_string(&theirs).unwrap(),
        "[program:w]\ncommand=sleep 1\n"
    );
    let mut forced = args.to_vec();
    forced.push("--force");
    let out = steward(&forced);
    assert_eq!(out.code, 0, "{out}");
    assert!(fs::read_to_string(&theirs)
        .unwrap()
        .starts_with("; managed by steward (worker)"));
}

#[test]
fn prompts_give_the_same_file_as_flags() {
    let c = conf_with_include();
    let (app, php) = laravel_fixture(&c);
    let conf = c.path.display().to_string();
    let flags_dir = c.dir.join("flags");
    let prompts_dir = c.dir.join("prompts");
    fs::create_dir_all(&flags_dir).unwrap();
    fs::create_dir_all(&prompts_dir).unwrap();
    let logdir = c.dir.join("childlogs").display().to_string();
    let out = steward(&[
        "worker",
        "add",
        "laravel-queue",
        "myapp-email",
        "-c",
        &conf,
        "--log-dir",
        &logdir,
        "--include-dir",
        flags_dir.to_str().unwrap(),
        "--path",
        app.to_str().unwrap(),
        "--bin",
        php.to_str().unwrap(),
        "--no-apply",
    ]);
    assert_eq!(out.code, 0, "{out}");
    // Seed 000's flow: name, path, connection, queues, processes; Enter keeps a default.
    let mut child = Command::new(steward_bin())
        .args([
            "worker",
            "add",
            "laravel-queue",
            "--interactive",
            "-c",
            &conf,
            "--log-dir",
            &logdir,
            "--include-dir",
            prompts_dir.to_str().unwrap(),
            "--bin",
            php.to_str().unwrap(),
            "--no-apply",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let answers = format!("myapp-email\n{}\n\n\n\n\n\n\n\n\n\n\n", app.display());
    child
        .stdin
        .take()
        .unwrap()
        .write_all(answers.as_bytes())
        .unwrap();
    let done = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&done.stderr);
    assert!(done.status.success(), "{stderr}");
    assert!(stderr.contains("Queue connection [database]: "), "{stderr}");
    assert_eq!(
        fs::read(flags_dir.join("myapp-email.conf")).unwrap(),
        fs::read(prompts_dir.join("myapp-email.conf")).unwrap()
    );
}

#[test]
fn list_shows_managed_workers_with_live_state_and_marks_the_others() {
    let c = conf_with_include();
    let (app, php) = laravel_fixture(&c);
    fs::write(
        c.dir.join("conf.d/legacy.conf"),
        "[program:legacy]\ncommand=sleep 1000\nstartsecs=0\n",
    )
    .unwrap();
    let d = Daemon::start(c);
    assert_eq!(add_laravel(&d, &app, &php, &["--numprocs", "2"]).code, 0);
    d.wait_state("emails:emails_00", "RUNNING", secs(10.0));
    d.wait_state("emails:emails_01", "RUNNING", secs(10.0));
    let conf = d.conf.path.display().to_string();
    let out = steward(&["worker", "list", "-c", &conf]);
    assert_eq!(out.code, 0, "{out}");
    let line = |name: &str| {
        out.stdout
            .lines()
            .find(|l| l.starts_with(name))
            .unwrap_or_else(|| panic!("{name} not listed:\n{out}"))
            .to_string()
    };
    let emails = line("emails ");
    assert!(
        emails.contains("laravel-queue") && emails.contains("RUNNING 2/2"),
        "{emails}"
    );
    let legacy = line("legacy ");
    assert!(
        legacy.contains("(unmanaged)") && legacy.contains("RUNNING 1/1"),
        "{legacy}"
    );
}

#[test]
fn every_template_is_listed_with_its_values() {
    let out = steward(&["worker", "templates"]);
    assert_eq!(out.code, 0, "{out}");
    for t in [
        "laravel-queue",
        "laravel-horizon",
        "laravel-scheduler",
        "uvicorn",
        "gunicorn",
        "celery-worker",
        "celery-beat",
        "rq",
        "generic",
    ] {
        assert!(out.stdout.lines().any(|l| l.starts_with(t)), "{t}\n{out}");
    }
}

/// A stand-in for every template's binary: TERM "finishes the current job" (0.3 s),
/// logs `drained`, exits 0. `wait` lets the trap run as soon as TERM arrives.
const FAKE_SERVER: &str = "#!/bin/sh
trap 'sleep 0.3; echo \"drained $$\"; exit 0' TERM
echo \"started $$ $*\"
while true; do sleep 1 & wait $!; done
";

#[test]
fn every_template_stops_by_draining_within_its_stop_budget() {
    both(|t| {
        let c = conf_with_include();
        let (app, _) = laravel_fixture(&c);
        let fake = c.script("fake-server", FAKE_SERVER);
        let d = Daemon::start_target(t, c);
        let conf = d.conf.path.display().to_string();
        let logdir = d.conf.dir.join("childlogs").display().to_string();
        let dir = d.conf.dir.display().to_string();
        let app = app.display().to_string();
        let fake = fake.display().to_string();
        let generic_cmd = format!("{fake} run");
        let cases: Vec<(&str, Vec<&str>)> = vec![
            (
                "laravel-queue",
                vec!["--path", &app, "--bin", &fake, "--numprocs", "2"],
            ),
            ("laravel-horizon", vec!["--path", &app, "--bin", &fake]),
            (
                "laravel-scheduler",
                vec!["--path", &app, "--bin", &fake, "--mode", "work"],
            ),
            (
                "uvicorn",
                vec!["--directory", &dir, "--app", "main:app", "--bin", &fake],
            ),
            (
                "gunicorn",
                vec!["--directory", &dir, "--app", "main:app", "--bin", &fake],
            ),
            (
                "celery-worker",
                vec![
                    "--directory",
                    &dir,
                    "--app",
                    "proj",
                    "--bin",
                    &fake,
                    "--numprocs",
                    "2",
                ],
            ),
            (
                "celery-beat",
                vec!["--directory", &dir, "--app", "proj", "--bin", &fake],
            ),
            ("rq", vec!["--directory", &dir, "--bin", &fake]),
            ("generic", vec!["--command", &generic_cmd]),
        ];
        for (template, flags) in &cases {
            let name = format!("t-{template}");
            let mut args = vec![
                "worker",
                "add",
                template,
                &name,
                "-c",
                &conf,
                "--log-dir",
                &logdir,
            ];
            if template.starts_with("laravel") {
                args.extend(["--user", "root"]);
            }
            args.extend(flags.iter().copied());
            let out = steward(&args);
            assert_eq!(out.code, 0, "{template}: {out}");
        }
        let all = || d.call("supervisor.getAllProcessInfo", vec![]);
        let ours = |v: &Value| -> Vec<Value> {
            v.as_array()
                .unwrap()
                .iter()
                .filter(|p| p["group"].as_str().unwrap().starts_with("t-"))
                .cloned()
                .collect()
        };
        assert!(
            wait_until(secs(20.0), || {
                let ps = ours(&all());
                ps.len() == 11 && ps.iter().all(|p| p["statename"] == "RUNNING")
            }),
            "{:#?}",
            ours(&all())
        );
        let running: Vec<(String, i64, String)> = ours(&all())
            .iter()
            .map(|p| {
                (
                    p["name"].as_str().unwrap().to_string(),
                    p["pid"].as_i64().unwrap(),
                    p["stdout_logfile"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        let stop = d.ctl(&["stop", "all"]);
        assert_eq!(stop.code, 0, "{stop}");
        assert!(ours(&all()).iter().all(|p| p["statename"] == "STOPPED"));
        // Each process ran its TERM handler (a SIGKILL at the end of stopwaitsecs would
        // leave no `drained <pid>` line).
        for (name, pid, log) in running {
            let line = format!("drained {pid}");
            assert!(
                wait_until(secs(5.0), || fs::read_to_string(&log)
                    .is_ok_and(|t| t.contains(&line))),
                "{name} (pid {pid}) did not drain:\n{}",
                fs::read_to_string(&log).unwrap_or_default()
            );
        }
    });
}

#[test]
fn the_scheduler_as_a_cron_job_is_steward_only_and_says_so_elsewhere() {
    both(|t| {
        let c = conf_with_include();
        let (app, php) = laravel_fixture(&c);
        let d = Daemon::start_target(t, c);
        let conf = d.conf.path.display().to_string();
        let logdir = d.conf.dir.join("childlogs").display().to_string();
        let out = steward(&[
            "worker",
            "add",
            "laravel-scheduler",
            "sched",
            "-c",
            &conf,
            "--path",
            app.to_str().unwrap(),
            "--bin",
            php.to_str().unwrap(),
            "--user",
            "root",
            "--log-dir",
            &logdir,
        ]);
        assert_eq!(out.code, 0, "{out}");
        let text = fs::read_to_string(d.conf.dir.join("conf.d/sched.conf")).unwrap();
        assert!(
            text.contains("[cron:sched]\nschedule=* * * * *\n"),
            "{text}"
        );
        match t {
            Target::Steward => {
                assert!(out.stdout.contains("sched: added process group"), "{out}");
                assert!(d
                    .rpc("supervisor.getProcessInfo", vec![json!("sched")])
                    .is_ok());
            }
            Target::Supervisord => {
                assert!(out.stderr.contains("is not Steward"), "{out}");
            }
        }
    });
}
