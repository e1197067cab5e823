//! Issue 16: `steward crontab …` against Debian's real `crontab` program and `cron`
//! daemon (package `cron`, installed by scripts/test.sh).
//!
//! Each test works on the crontab of a user of its own, created with `useradd` and
//! removed (crontab included) when the test ends, so tests never touch a real user's
//! crontab or each other's. One test starts `cron -f` itself (unless a cron daemon is
//! already running) and proves an added job really runs within 70 s.
//!
//! The tests need root (`crontab -u`, `useradd`); as another user they print a note and
//! pass.
mod support;
use support::*;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

fn can_run() -> bool {
    // SAFETY: geteuid has no preconditions.
    let root = unsafe { libc::geteuid() } == 0;
    let tools = Path::new("/usr/bin/crontab").exists() && Path::new("/usr/sbin/useradd").exists();
    if !(root && tools) {
        eprintln!("NOTE: skipped: this test needs root, crontab (package cron) and useradd");
    }
    root && tools
}

/// The user and the temp dir of one test; `None` (skip) when the test cannot run here.
fn setup(tag: &str) -> Option<(CronUser, tempfile::TempDir)> {
    can_run().then(|| (CronUser::new(tag), tempfile::tempdir().unwrap()))
}

/// A throwaway user with a crontab of its own; deleted (crontab first) on drop.
struct CronUser {
    name: String,
}

impl CronUser {
    fn new(tag: &str) -> CronUser {
        let name = format!("stw{tag}{}", std::process::id() % 100_000);
        // useradd takes a lock on /etc/passwd; parallel tests retry on "cannot lock".
        let mut last = String::new();
        let ok = wait_until(Duration::from_secs(20), || {
            let out = run_with_timeout(
                Command::new("useradd").args(["-M", "-N", "-s", "/bin/sh", &name]),
                Duration::from_secs(10),
            );
            last = out.to_string();
            out.code == 0 || out.stderr.contains("already exists")
        });
        assert!(ok, "useradd {name}: {last}");
        let user = CronUser { name };
        let _ = user.crontab(&["-r"]);
        user
    }

    fn crontab(&self, args: &[&str]) -> Output {
        run_with_timeout(
            Command::new("crontab")
                .env("LC_ALL", "C")
                .args(["-u", &self.name])
                .args(args),
            Duration::from_secs(10),
        )
    }

    /// `crontab -l`: `None` for "no crontab".
    fn list(&self) -> Option<String> {
        let out = self.crontab(&["-l"]);
        if out.code == 1 && out.stderr.starts_with("no crontab for") {
            return None;
        }
        assert_eq!(out.code, 0, "crontab -l: {out}");
        Some(out.stdout)
    }

    fn install(&self, text: &str) {
        let f = tempfile::NamedTempFile::new().unwrap();
        fs::write(f.path(), text).unwrap();
        let out = self.crontab(&[f.path().to_str().unwrap()]);
        assert_eq!(out.code, 0, "crontab install: {out}");
    }
}

impl Drop for CronUser {
    fn drop(&mut self) {
        let _ = self.crontab(&["-r"]);
        let _ = wait_until(Duration::from_secs(20), || {
            Command::new("userdel")
                .arg(&self.name)
                .status()
                .map(|s| s.success() || s.code() == Some(6))
                .unwrap_or(true)
        });
    }
}

/// `steward crontab -u USER --backup-dir DIR ARGS…`.
fn steward(user: &CronUser, backups: &Path, args: &[&str]) -> Output {
    run_with_timeout(
        Command::new(steward_bin())
            .args(["crontab", "-u", &user.name, "--backup-dir"])
            .arg(backups)
            .args(args),
        Duration::from_secs(20),
    )
}

fn backups_in(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = fs::read_dir(dir)
        .map(|rd| rd.map(|e| e.unwrap().path()).collect())
        .unwrap_or_default();
    v.retain(|p| p.extension().is_some_and(|e| e == "txt"));
    v.sort();
    v
}

const EXISTING: &str = "MAILTO=ops@example.com\n# nightly report (hand-written)\n\n30 2 * * * /usr/local/bin/report --all\nSHELL=/bin/sh\n";

#[test]
fn list_with_no_crontab_is_an_empty_table_and_writes_nothing() {
    let Some((u, tmp)) = setup("ls") else { return };
    let backups = tmp.path().join("b");
    let out = steward(&u, &backups, &["list"]);
    assert_eq!(out.code, 0, "{out}");
    assert_eq!(out.stdout.lines().count(), 1, "header only: {out}");
    assert!(out.stdout.starts_with("NAME"), "{out}");
    assert!(!backups.exists(), "list wrote a backup");
    assert_eq!(u.list(), None, "list created a crontab");
}

#[test]
fn add_disable_enable_remove_keep_every_other_line_byte_identical() {
    let Some((u, tmp)) = setup("ed") else { return };
    let b = tmp.path().join("backups");
    u.install(EXISTING);

    let add_stamp = |command: &str| {
        let args = [
            "add",
            "stamp",
            "--schedule",
            "*/5 * * * *",
            "--command",
            command,
        ];
        steward(&u, &b, &args)
    };
    let out = add_stamp("date +%F >> /tmp/x\r");
    assert_eq!(out.code, 0, "{out}");
    let added = u.list().unwrap();
    assert_eq!(
        added,
        format!("{EXISTING}# steward: stamp\n*/5 * * * * date +\\%F >> /tmp/x\n"),
        "% escaped, CR dropped, the rest untouched"
    );
    assert_eq!(backups_in(&b).len(), 1);

    // The same add again: unchanged, nothing written, no backup.
    let out = add_stamp("date +%F >> /tmp/x");
    assert_eq!(out.code, 0, "{out}");
    assert!(out.stdout.contains("unchanged"), "{out}");
    assert_eq!(u.list().unwrap(), added);
    assert_eq!(backups_in(&b).len(), 1);

    let out = steward(&u, &b, &["disable", "stamp"]);
    assert_eq!(out.code, 0, "{out}");
    let disabled = u.list().unwrap();
    assert!(
        disabled.ends_with("# steward: stamp\n#*/5 * * * * date +\\%F >> /tmp/x\n"),
        "{disabled}"
    );
    let stamp_row_has = |enabled: &str| {
        let listed = steward(&u, &b, &["list"]);
        assert_eq!(listed.code, 0, "{listed}");
        let row = listed
            .stdout
            .lines()
            .find(|l| l.starts_with("stamp"))
            .map(str::to_string);
        let ok = row.is_some_and(|r| r.contains(enabled) && r.contains("every 5 minutes"));
        assert!(ok, "want {enabled:?}: {listed}");
        listed
    };
    stamp_row_has(" no ");

    assert_eq!(steward(&u, &b, &["enable", "stamp"]).code, 0);
    assert_eq!(
        u.list().unwrap(),
        added,
        "disable + enable is byte-identical"
    );
    let listed = stamp_row_has(" yes ");
    // The hand-written job is listed too, without a name, with its next run.
    assert!(
        listed
            .stdout
            .lines()
            .any(|l| l.starts_with("- ") && l.contains("30 2 * * *") && l.contains("at 02:30")),
        "{listed}"
    );

    assert_eq!(steward(&u, &b, &["remove", "stamp"]).code, 0);
    assert_eq!(
        u.list().unwrap(),
        EXISTING,
        "remove gives back the original bytes"
    );

    // Every write left a backup: 0600, named crontab-<user>-<UTC>.txt, holding what was
    // there before it.
    let all = backups_in(&b);
    assert_eq!(all.len(), 4, "{all:?}");
    for p in &all {
        let name = p.file_name().unwrap().to_string_lossy().into_owned();
        assert!(
            name.starts_with(&format!("crontab-{}-20", u.name)) && name.contains('T'),
            "{name}"
        );
        assert_eq!(
            fs::metadata(p).unwrap().permissions().mode() & 0o777,
            0o600,
            "{name}"
        );
    }
    assert_eq!(fs::read_to_string(&all[0]).unwrap(), EXISTING);
    assert_eq!(fs::read_to_string(&all[3]).unwrap(), added);
}

#[test]
fn laravel_adds_exactly_the_scheduler_line() {
    let Some((u, tmp)) = setup("lv") else { return };
    let out = steward(&u, tmp.path(), &["laravel", "--path", "/var/www/myapp"]);
    assert_eq!(out.code, 0, "{out}");
    assert_eq!(
        u.list().unwrap(),
        "# steward: laravel-scheduler\n* * * * * cd /var/www/myapp && php artisan schedule:run >> /dev/null 2>&1\n"
    );
}

#[test]
fn bad_input_is_refused_and_changes_nothing() {
    let Some((u, tmp)) = setup("bad") else { return };
    let b = tmp.path();
    u.install(EXISTING);
    assert_eq!(
        steward(
            &u,
            b,
            &["add", "x", "--preset", "hour", "--command", "true"]
        )
        .code,
        0
    );
    let before = u.list().unwrap();
    // Each case: the arguments, `|`-separated, and what the error must say.
    let cases = [
        ("add|a:b|--preset|day|--command|true", "character `:`"),
        ("add|a b|--preset|day|--command|true", "character ` `"),
        ("add|y|--schedule|61 * * * *|--command|true", "minute"),
        ("add|y|--schedule|@every 5m|--command|true", "@every"),
        ("add|y|--schedule|0 0 * * * *|--command|true", "5 fields"),
        ("add|x|--preset|day|--command|true", "already exists"),
        ("remove|nosuch", "no entry named `nosuch`"),
    ];
    for (args, needle) in cases {
        let args: Vec<&str> = args.split('|').collect();
        let out = steward(&u, b, &args);
        assert_ne!(out.code, 0, "{args:?}: {out}");
        assert!(
            out.stderr.contains(needle),
            "{args:?}: want {needle:?}: {out}"
        );
        assert_eq!(u.list().unwrap(), before, "{args:?} changed the crontab");
    }
    // A command cron will not find is added, with a warning.
    let out = steward(
        &u,
        b,
        &[
            "add",
            "w",
            "--preset",
            "week",
            "--command",
            "no-such-tool-xyz --now",
        ],
    );
    assert_eq!(out.code, 0, "{out}");
    assert!(
        out.stderr.contains("not on cron's PATH (/usr/bin:/bin)"),
        "{out}"
    );
}

#[test]
fn backup_then_restore_round_trips_text_empty_and_none() {
    let Some((u, tmp)) = setup("rt") else { return };
    let b = tmp.path().join("b");
    let backup = |u: &CronUser| {
        let out = steward(u, &b, &["backup"]);
        assert_eq!(out.code, 0, "{out}");
        PathBuf::from(out.stdout.trim())
    };
    let restore = |u: &CronUser, p: &Path| {
        let out = steward(u, &b, &["restore", p.to_str().unwrap()]);
        assert_eq!(out.code, 0, "{out}");
    };
    // No crontab → backup → give it one → restore: no crontab again.
    let none = backup(&u);
    u.install(EXISTING);
    let text = backup(&u);
    u.install("");
    assert_eq!(
        u.list().as_deref(),
        Some(""),
        "an empty crontab is not 'no crontab'"
    );
    let empty = backup(&u);
    restore(&u, &text);
    assert_eq!(u.list().unwrap(), EXISTING);
    restore(&u, &empty);
    assert_eq!(u.list().as_deref(), Some(""));
    restore(&u, &none);
    assert_eq!(u.list(), None);
    restore(&u, &text);
    assert_eq!(u.list().unwrap(), EXISTING);

    // CRLF line ends and a missing final newline are normalised, not refused.
    let crlf = tmp.path().join("crlf.txt");
    fs::write(&crlf, "A=1\r\n0 4 * * * /bin/true").unwrap();
    restore(&u, &crlf);
    assert_eq!(u.list().unwrap(), "A=1\n0 4 * * * /bin/true\n");

    // A broken file is refused before anything is installed, naming the line.
    let broken = tmp.path().join("broken.txt");
    fs::write(&broken, "A=1\n0 4 * * 9 /bin/true\n").unwrap();
    let out = steward(&u, &b, &["restore", broken.to_str().unwrap()]);
    assert_ne!(out.code, 0, "{out}");
    assert!(out.stderr.contains("line 2"), "{out}");
    assert_eq!(u.list().unwrap(), "A=1\n0 4 * * * /bin/true\n");
}

#[test]
fn a_concurrent_change_aborts_and_the_other_version_survives() {
    let Some((u, tmp)) = setup("cc") else { return };
    u.install(EXISTING);
    // A `crontab` that, right after answering steward's first `-l`, lets another writer
    // install its own version (as `crontab -e` in another terminal would).
    let other = "# the other writer's version\n0 1 * * * /bin/true\n";
    let other_file = tmp.path().join("other.txt");
    fs::write(&other_file, other).unwrap();
    let counter = tmp.path().join("reads");
    let wrapper = tmp.path().join("crontab");
    fs::write(
        &wrapper,
        format!(
            "#!/bin/sh\nif [ \"$3\" = -l ] && [ ! -e {c} ]; then\n  : > {c}\n  /usr/bin/crontab \"$@\"; rc=$?\n  /usr/bin/crontab -u {u} {o}\n  exit $rc\nfi\nexec /usr/bin/crontab \"$@\"\n",
            c = counter.display(),
            u = u.name,
            o = other_file.display()
        ),
    )
    .unwrap();
    fs::set_permissions(&wrapper, fs::Permissions::from_mode(0o755)).unwrap();
    let out = run_with_timeout(
        Command::new(steward_bin())
            .args(["crontab", "-u", &u.name, "--crontab-program"])
            .arg(&wrapper)
            .arg("--backup-dir")
            .arg(tmp.path().join("b"))
            .args(["add", "late", "--preset", "minute", "--command", "true"]),
        Duration::from_secs(20),
    );
    assert_ne!(out.code, 0, "{out}");
    assert!(
        out.stderr.contains("changed while steward was editing it"),
        "{out}"
    );
    assert_eq!(
        u.list().unwrap(),
        other,
        "the other writer's version is kept"
    );
}

/// Whether a cron daemon runs already (its pid file names a live process).
fn cron_running() -> bool {
    fs::read_to_string("/run/crond.pid")
        .ok()
        .and_then(|s| s.trim().parse::<i32>().ok())
        .is_some_and(pid_alive)
}

#[test]
fn an_added_job_runs_under_cron_within_70_seconds() {
    let Some((u, tmp)) = setup("run") else { return };
    let out_dir = tmp.path().join("out");
    fs::create_dir(&out_dir).unwrap();
    fs::set_permissions(&out_dir, fs::Permissions::from_mode(0o777)).unwrap();
    let out_file = out_dir.join("date");
    let cmd = format!("date +%F >> {}", out_file.display());
    let out = steward(
        &u,
        &tmp.path().join("b"),
        &["add", "runs", "--preset", "minute", "--command", &cmd],
    );
    assert_eq!(out.code, 0, "{out}");
    // Our own cron unless one runs already (only one can: it locks /run/crond.pid).
    let mut started = None;
    if !cron_running() {
        let child = Command::new("/usr/sbin/cron")
            .args(["-f", "-L", "15"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("start cron -f");
        started = Some(child);
    }
    let today = run_with_timeout(Command::new("date").arg("+%F"), Duration::from_secs(5));
    let ran = wait_until(Duration::from_secs(70), || {
        fs::read_to_string(&out_file).is_ok_and(|s| !s.is_empty())
    });
    if let Some(mut c) = started {
        let _ = c.kill();
        let _ = c.wait();
    }
    assert!(ran, "the job did not run within 70 s");
    let got = fs::read_to_string(&out_file).unwrap();
    // `%F` reached date(1) whole: cron turned `\%` back into `%`.
    assert!(
        got.lines().next().unwrap().len() == 10
            && today.stdout.starts_with(got.lines().next().unwrap()),
        "{got:?}"
    );
}

#[test]
fn import_writes_cron_sections_that_steward_loads_and_can_disable_the_source() {
    let Some((u, tmp)) = setup("im") else { return };
    let b = tmp.path().join("b");
    let inc = tmp.path().join("conf.d");
    u.install("MAILTO=ops@example.com\nCRON_TZ=Europe/Madrid\n# steward: report\n30 2 * * * date +\\%F\n15 * * * * echo stdin%data\n@reboot /bin/true\n");
    let import = |flag: &str| {
        steward(
            &u,
            &b,
            &["import", "--include-dir", inc.to_str().unwrap(), flag],
        )
    };
    let out = import("--disable-source");
    assert_eq!(out.code, 0, "{out}");
    for needle in ["MAILTO", "CRON_TZ", "bare `%`", "@reboot"] {
        assert!(out.stderr.contains(needle), "no note about {needle}: {out}");
    }
    let file = inc.join(format!("crontab-{}.conf", u.name));
    let text = fs::read_to_string(&file).unwrap();
    assert!(
        text.starts_with(&format!("; managed by steward (crontab: {})", u.name)),
        "{text}"
    );
    assert!(text.contains("[cron:report]\nschedule = 30 2 * * *\ntimezone = Europe/Madrid\ncommand = /bin/sh -c 'date +%%F'\n"), "{text}");
    assert!(
        !text.contains("stdin"),
        "the % entry must not be imported: {text}"
    );
    // The file loads in a Steward config and `check` shows the jobs.
    let conf = tmp.path().join("steward.conf");
    fs::write(&conf, format!("[supervisord]\nlogfile={0}/s.log\npidfile={0}/s.pid\n\n[include]\nfiles = {1}/*.conf\n", tmp.path().display(), inc.display())).unwrap();
    let check = run_with_timeout(
        Command::new(steward_bin()).args(["check", "-c"]).arg(&conf),
        Duration::from_secs(10),
    );
    assert_eq!(check.code, 0, "{check}");
    assert!(check.stdout.contains("report"), "{check}");
    // --disable-source commented the imported entries (tags kept or added), nothing else.
    let after = u.list().unwrap();
    assert!(
        after.contains("# steward: report\n#30 2 * * * date +\\%F\n"),
        "{after}"
    );
    assert!(after.contains("\n15 * * * * echo stdin%data\n"), "{after}");
    assert!(
        after.contains(&format!(
            "# steward: cron-{}-2\n#@reboot /bin/true\n",
            u.name
        )),
        "{after}"
    );
    // Importing again now renders the disabled entries as `enabled = false`.
    let again = import("--force");
    assert_eq!(again.code, 0, "{again}");
    let text = fs::read_to_string(&file).unwrap();
    assert!(
        text.contains("[cron:report]\nschedule = 30 2 * * *\n"),
        "{text}"
    );
    assert!(
        text.contains("overlap = allow\nenabled = false\n"),
        "{text}"
    );
}
