//! Issue 15: `steward sync` (seed 002's contract) against a running Steward **and** a
//! running supervisord 4.3: the same inventory twice rewrites 0 files and restarts 0
//! processes; one changed `stopwaitsecs` rewrites one file and restarts one group; a
//! dropped program loses its files and group while a hand-written file survives; `[]`
//! removes every managed file; bad input changes nothing; Debian's real `logrotate`
//! accepts every file and rotating under load loses no line and writes no NUL.
mod support;
use support::*;

use std::collections::BTreeMap;
use std::fs;
use std::path::PathBuf;
use std::process::Command;
use std::time::{Instant, SystemTime};

const DOMAIN: &str = "example.com";

/// A daemon config including `conf.d/*.conf`, plus the site layout seed 002 expects:
/// `sites/<domain>/runner.sh` and `current/.deployer/supervisors/*.sh`.
fn site_conf() -> Conf {
    let c = Conf::new("[include]\nfiles = conf.d/*.conf\n");
    for d in ["conf.d", "logrotate.d"] {
        fs::create_dir_all(c.dir.join(d)).unwrap();
    }
    let scripts = c
        .dir
        .join("sites/example.com/current/.deployer/supervisors");
    fs::create_dir_all(&scripts).unwrap();
    c.script(
        "sites/example.com/runner.sh",
        "#!/bin/sh\ncd \"$(dirname \"$0\")/current\" || exit 1\nexec /bin/sh \"$1\"\n",
    );
    fs::write(
        scripts.join("work.sh"),
        "trap 'echo drained; exit 0' TERM\necho \"start $$\"\nwhile true; do sleep 1; done\n",
    )
    .unwrap();
    fs::write(
        scripts.join("flow.sh"),
        c.render(
            "exec {python} -u -c 'import sys, time\nfor i in range(1, 3001):\n    sys.stdout.write(\"%d\\n\" % i)\n    time.sleep(0.001)\ntime.sleep(3600)\n'\n",
        ),
    )
    .unwrap();
    c
}

fn entry(program: &str, script: &str, stopwaitsecs: u64, numprocs: u64) -> Value {
    json!({"program": program, "script": script, "autostart": true, "autorestart": true,
           "stopwaitsecs": stopwaitsecs, "numprocs": numprocs})
}

struct Sync {
    dir: PathBuf,
    conf: PathBuf,
}

impl Sync {
    fn new(c: &Conf) -> Sync {
        Sync {
            dir: c.dir.clone(),
            conf: c.path.clone(),
        }
    }

    fn command(&self, inventory: &str, extra: &[&str]) -> Command {
        let mut cmd = Command::new(steward_bin());
        cmd.arg("sync")
            .arg("-c")
            .arg(&self.conf)
            .arg("--conf-dir")
            .arg(self.dir.join("conf.d"))
            .arg("--logrotate-dir")
            .arg(self.dir.join("logrotate.d"))
            .arg("--sites-dir")
            .arg(self.dir.join("sites"))
            .arg("--log-dir")
            .arg(self.dir.join("childlogs"))
            .arg("--user")
            .arg("root")
            .args(extra)
            .env("DEPLOYER_OUTPUT_FILE", self.dir.join("out.yml"))
            .env("DEPLOYER_DISTRO", "debian")
            .env("DEPLOYER_PERMS", "root")
            .env("DEPLOYER_SITE_DOMAIN", DOMAIN)
            .env("DEPLOYER_SUPERVISORS", inventory);
        cmd
    }

    fn run(&self, inventory: &Value, extra: &[&str]) -> (Output, String) {
        let out = run_with_timeout(&mut self.command(&inventory.to_string(), extra), secs(60.0));
        let yaml = fs::read_to_string(self.dir.join("out.yml")).unwrap_or_default();
        let _ = fs::remove_file(self.dir.join("out.yml"));
        (out, yaml)
    }

    fn file(&self, rel: &str) -> PathBuf {
        self.dir.join(rel)
    }

    /// Every file of conf.d and logrotate.d with its mtime.
    fn mtimes(&self) -> BTreeMap<String, SystemTime> {
        let mut m = BTreeMap::new();
        for d in ["conf.d", "logrotate.d"] {
            for e in fs::read_dir(self.dir.join(d)).unwrap().flatten() {
                m.insert(
                    format!("{d}/{}", e.file_name().to_string_lossy()),
                    e.metadata().unwrap().modified().unwrap(),
                );
            }
        }
        m
    }
}

/// The items of a top-level YAML list of the result (`key: []` or `key:\n  - "x"`).
fn yaml_list(yaml: &str, key: &str) -> Vec<String> {
    let mut lines = yaml
        .lines()
        .skip_while(|l| !l.starts_with(&format!("{key}:")));
    let first = lines
        .next()
        .unwrap_or_else(|| panic!("no {key} in\n{yaml}"));
    if first.ends_with("[]") {
        return Vec::new();
    }
    lines
        .take_while(|l| l.starts_with("  - "))
        .map(|l| serde_json::from_str::<String>(&l[4..]).unwrap())
        .collect()
}

fn procs(group: &str, n: u64) -> Vec<String> {
    let g = format!("{DOMAIN}-{group}");
    if n == 1 {
        vec![g]
    } else {
        (0..n).map(|i| format!("{g}:{g}_{i:02}")).collect()
    }
}

fn pids(d: &Daemon, names: &[String]) -> Vec<i32> {
    names.iter().map(|n| d.process_pid(n)).collect()
}

#[test]
fn sync_is_idempotent_targeted_and_removes_only_its_orphans() {
    both(|t| {
        let c = site_conf();
        let d = Daemon::start_target(t, c);
        let s = Sync::new(&d.conf);
        let a = procs("a", 3);
        let b = procs("b", 1);

        // First sync: 2 programs, 4 files, numprocs 3 gives 3 processes.
        let inv = json!([entry("a", "work.sh", 5, 3), entry("b", "work.sh", 5, 1)]);
        let (out, yaml) = s.run(&inv, &[]);
        assert_eq!(out.code, 0, "{out}");
        assert!(
            yaml.starts_with("status: success\nsupervisors_synced: 2\n"),
            "{yaml}"
        );
        assert_eq!(yaml_list(&yaml, "written").len(), 4, "{yaml}");
        for p in a.iter().chain(&b) {
            d.wait_state(p, "RUNNING", secs(10.0));
        }
        let conf_a = s.file("conf.d/example.com-a.conf");
        assert!(s
            .file("logrotate.d/supervisor-example.com-a.conf")
            .is_file());
        assert!(
            fs::read_to_string(&conf_a).unwrap().contains("command=")
                && fs::read_to_string(&conf_a)
                    .unwrap()
                    .contains("runner.sh .deployer/supervisors/work.sh\n")
        );

        // Same inventory: 0 files rewritten, 0 restarts.
        let mtimes = s.mtimes();
        let before_a = pids(&d, &a);
        let before_b = pids(&d, &b);
        let (out, yaml) = s.run(&inv, &[]);
        assert_eq!(out.code, 0, "{out}");
        assert!(yaml.contains("supervisors_synced: 2\n"), "{yaml}");
        assert!(yaml_list(&yaml, "written").is_empty(), "{yaml}");
        assert_eq!(yaml_list(&yaml, "unchanged").len(), 4, "{yaml}");
        assert!(yaml_list(&yaml, "restarted").is_empty(), "{yaml}");
        assert_eq!(s.mtimes(), mtimes);
        assert_eq!(pids(&d, &a), before_a);
        assert_eq!(pids(&d, &b), before_b);

        // One program's stopwaitsecs: exactly that file, exactly that group.
        let inv = json!([entry("a", "work.sh", 5, 3), entry("b", "work.sh", 7, 1)]);
        let (out, yaml) = s.run(&inv, &[]);
        assert_eq!(out.code, 0, "{out}");
        assert_eq!(
            yaml_list(&yaml, "written"),
            vec![s.file("conf.d/example.com-b.conf").display().to_string()],
            "{yaml}"
        );
        assert_eq!(
            yaml_list(&yaml, "restarted"),
            vec!["example.com-b"],
            "{yaml}"
        );
        d.wait_state(&b[0], "RUNNING", secs(10.0));
        assert_eq!(pids(&d, &a), before_a);
        assert_ne!(pids(&d, &b), before_b);

        // A program dropped from the inventory loses its 2 files and its group; a
        // hand-written file with the domain's prefix but no header survives.
        let extra = s.file("conf.d/example.com-extra.conf");
        fs::write(&extra, "[program:extra]\ncommand=sleep 1000\n").unwrap();
        let (out, yaml) = s.run(&json!([entry("b", "work.sh", 7, 1)]), &[]);
        assert_eq!(out.code, 0, "{out}");
        assert_eq!(yaml_list(&yaml, "removed").len(), 2, "{yaml}");
        assert_eq!(
            yaml_list(&yaml, "removed_groups"),
            vec!["example.com-a"],
            "{yaml}"
        );
        assert!(!conf_a.exists());
        assert!(!s.file("logrotate.d/supervisor-example.com-a.conf").exists());
        assert_eq!(d.state(&a[0]), "<fault>");
        assert!(extra.exists());

        // An empty inventory removes every managed file.
        let (out, yaml) = s.run(&json!([]), &[]);
        assert_eq!(out.code, 0, "{out}");
        assert!(yaml.contains("supervisors_synced: 0\n"), "{yaml}");
        assert_eq!(fs::read_dir(s.file("logrotate.d")).unwrap().count(), 0);
        let left: Vec<_> = fs::read_dir(s.file("conf.d"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(left, vec!["example.com-extra.conf"]);
        assert_eq!(d.state(&b[0]), "<fault>");
    });
}

#[test]
fn bad_input_gets_the_seeds_message_exit_1_and_changes_nothing() {
    let c = site_conf();
    let s = Sync::new(&c);
    let good = json!([entry("a", "work.sh", 5, 1)]).to_string();
    let vars = [
        "DEPLOYER_OUTPUT_FILE",
        "DEPLOYER_DISTRO",
        "DEPLOYER_PERMS",
        "DEPLOYER_SITE_DOMAIN",
        "DEPLOYER_SUPERVISORS",
    ];
    for var in vars {
        let mut cmd = s.command(&good, &["--no-apply"]);
        cmd.env_remove(var);
        let out = run_with_timeout(&mut cmd, secs(30.0));
        assert_eq!(out.code, 1, "{out}");
        assert_eq!(out.stderr, format!("Error: {var} required\n"), "{out}");
    }
    for (inventory, needle) in [
        (
            "[{\"program\":",
            "Error: Invalid DEPLOYER_SUPERVISORS JSON\n",
        ),
        (r#"[{"program":"a","script":"../x.sh"}]"#, "\"..\""),
        (r#"[{"program":"a","script":"/bin/sh"}]"#, "absolute"),
        // One good entry and one bad: still nothing.
        (
            r#"[{"program":"ok","script":"work.sh"},{"program":"a","script":"x.sh","numprocs":"many"}]"#,
            "numprocs",
        ),
    ] {
        let out = run_with_timeout(&mut s.command(inventory, &["--no-apply"]), secs(30.0));
        assert_eq!(out.code, 1, "{out}");
        assert!(out.stderr.starts_with("Error: "), "{out}");
        assert!(out.stderr.contains(needle), "{needle}: {out}");
    }
    assert!(s.mtimes().is_empty(), "{:?}", s.mtimes());
    assert!(!s.file("out.yml").exists());
    // Seed-exact files with numprocs > 1 are what supervisord refuses: so does Steward.
    let out = run_with_timeout(
        &mut s.command(
            &json!([entry("a", "work.sh", 5, 2)]).to_string(),
            &["--no-apply", "--seed-exact"],
        ),
        secs(30.0),
    );
    assert_eq!(out.code, 1, "{out}");
    assert!(out.stderr.contains("process_num"), "{out}");
    assert!(s.mtimes().is_empty());
    // A hand-written file under a name the inventory wants is not overwritten.
    let theirs = s.file("conf.d/example.com-a.conf");
    fs::write(&theirs, "[program:example.com-a]\ncommand=sleep 1\n").unwrap();
    let out = run_with_timeout(&mut s.command(&good, &["--no-apply"]), secs(30.0));
    assert_eq!(out.code, 1, "{out}");
    assert!(out.stderr.contains("not managed by steward sync"), "{out}");
    assert_eq!(s.mtimes().len(), 1);
    assert_eq!(
        fs::read_to_string(&theirs).unwrap(),
        "[program:example.com-a]\ncommand=sleep 1\n"
    );
}

#[test]
fn dry_run_prints_the_diff_and_what_would_restart_and_changes_nothing() {
    let c = site_conf();
    let d = Daemon::start(c);
    let s = Sync::new(&d.conf);
    let (out, _) = s.run(&json!([entry("a", "work.sh", 5, 1)]), &[]);
    assert_eq!(out.code, 0, "{out}");
    d.wait_state("example.com-a", "RUNNING", secs(10.0));
    let pid = d.process_pid("example.com-a");
    let mtimes = s.mtimes();
    let (out, yaml) = s.run(
        &json!([entry("a", "work.sh", 9, 1), entry("n", "work.sh", 5, 1)]),
        &["--dry-run"],
    );
    assert_eq!(out.code, 0, "{out}");
    assert!(
        out.stdout.contains("-stopwaitsecs=5\n+stopwaitsecs=9\n"),
        "{out}"
    );
    assert!(
        out.stdout.contains("+++ b") && out.stdout.contains("example.com-n.conf"),
        "{out}"
    );
    assert!(
        out.stdout.contains("would restart: example.com-a\n"),
        "{out}"
    );
    assert!(out.stdout.contains("would add: example.com-n\n"), "{out}");
    assert!(yaml.contains("dry_run: true\n"), "{yaml}");
    assert_eq!(s.mtimes(), mtimes);
    assert_eq!(d.process_pid("example.com-a"), pid);
    assert_eq!(d.state("example.com-n"), "<fault>");
}

fn logrotate(args: &[&str]) -> Output {
    let mut cmd = Command::new("logrotate");
    cmd.args(args);
    run_with_timeout(&mut cmd, secs(60.0))
}

fn numbers(text: &str) -> Vec<u32> {
    text.lines().map(|l| l.parse().unwrap_or(0)).collect()
}

#[test]
fn logrotate_accepts_the_files_and_rotation_under_load_loses_nothing() {
    both(|t| {
        let c = site_conf();
        let d = Daemon::start_target(t, c);
        let s = Sync::new(&d.conf);
        let (out, _) = s.run(
            &json!([entry("flow", "flow.sh", 5, 1), entry("w", "work.sh", 5, 2)]),
            &[],
        );
        assert_eq!(out.code, 0, "{out}");
        let files: Vec<String> = fs::read_dir(s.file("logrotate.d"))
            .unwrap()
            .map(|e| e.unwrap().path().display().to_string())
            .collect();
        assert_eq!(files.len(), 2);
        let state = s.file("logrotate.state").display().to_string();
        let mut args = vec!["-d", "-s", &state];
        args.extend(files.iter().map(String::as_str));
        let check = logrotate(&args);
        assert_eq!(check.code, 0, "{check}");
        assert!(
            !check.stderr.contains("error:") && !check.stdout.contains("error:"),
            "{check}"
        );

        let log = s.file("childlogs/example.com-flow.log");
        let rotated = s.file("childlogs/example.com-flow.log.1");
        assert!(wait_until(secs(20.0), || fs::read_to_string(&log)
            .is_ok_and(|t| t.lines().count() >= 300)));
        let flow_conf = s.file("logrotate.d/supervisor-example.com-flow.conf");
        let forced = logrotate(&["-f", "-s", &state, flow_conf.to_str().unwrap()]);
        assert_eq!(forced.code, 0, "{forced}");
        assert!(rotated.exists(), "{forced}");
        // Every line reaches one of the two files, in order: the renamed file until the
        // daemon reopened, then the new one.
        let all_lines = || {
            let old = fs::read_to_string(&rotated).unwrap_or_default();
            let new = fs::read_to_string(&log).unwrap_or_default();
            (old, new)
        };
        let done = wait_until(secs(60.0), || {
            let (old, new) = all_lines();
            format!("{old}{new}").ends_with("\n3000\n")
        });
        let (old, new) = all_lines();
        assert!(
            done,
            "only {} + {} lines",
            old.lines().count(),
            new.lines().count()
        );
        assert!(!new.is_empty(), "the daemon never reopened the log");
        assert!(
            !fs::read(&log).unwrap().contains(&0u8),
            "NUL bytes in the live log"
        );
        // Byte for byte: the renamed file then the live one is the whole stream. (A line
        // the program wrote in two pieces may straddle the two files; none is lost.)
        let stream = format!("{old}{new}");
        if numbers(&stream) != (1..=3000).collect::<Vec<u32>>() {
            let tail: Vec<&str> = old.lines().rev().take(3).collect();
            let head: Vec<&str> = new.lines().take(3).collect();
            panic!(
                "{}: {} + {} lines; the rotated file ends {tail:?}, the live one starts {head:?}",
                t.name(),
                old.lines().count(),
                new.lines().count()
            );
        }
    });
}

#[test]
fn two_hundred_programs_sync_quickly() {
    let c = site_conf();
    let d = Daemon::start(c);
    let s = Sync::new(&d.conf);
    let inv: Vec<Value> = (0..200)
        .map(|i| {
            json!({"program": format!("p{i:03}"), "script": "work.sh", "autostart": false,
                   "autorestart": true, "stopwaitsecs": 5, "numprocs": 1})
        })
        .collect();
    let inv = Value::Array(inv);
    let started = Instant::now();
    let (out, yaml) = s.run(&inv, &[]);
    let first = started.elapsed();
    assert_eq!(out.code, 0, "{out}");
    assert!(yaml.contains("supervisors_synced: 200\n"), "{yaml}");
    assert_eq!(yaml_list(&yaml, "added").len(), 200);
    let started = Instant::now();
    let (out, yaml) = s.run(&inv, &[]);
    let second = started.elapsed();
    assert_eq!(out.code, 0, "{out}");
    assert_eq!(yaml_list(&yaml, "unchanged").len(), 400);
    eprintln!("200 programs: first sync {first:?}, unchanged sync {second:?}");
    // The issue's target is 2 s (process start excluded: autostart=false); the debug
    // build measured 1.5 s and 0.5 s on the shared 2-core machine. The deadline leaves
    // room for a loaded machine (docs/sync.md has the figures).
    assert!(first < secs(6.0), "first sync took {first:?}");
    assert!(second < secs(6.0), "unchanged sync took {second:?}");
}
