//! Accept/reject of generated configs, Steward's loader against supervisord 4.3's own
//! (`supervisor.options.ServerOptions.process_config`, from the venv in
//! STEWARD_TEST_VENV).
//!
//! The sample is fuzz-style and fixed: a base config that both accept, mutated by a
//! seeded generator (values swapped for hostile tokens, lines dropped or duplicated, keys
//! and sections added, characters inserted), so every run judges the same configs. Each
//! config is written to its own temp dir (paths in it point there, so checks against the
//! live system pass the same way for both). The two loaders must agree on every config,
//! except the differences docs/migrating.md lists, which are named below one by one
//! and recognised by the message of the side that refuses.

use std::path::{Path, PathBuf};
use std::process::Command;

use steward_config::LoadOptions;

const BASE: &str = "\
[unix_http_server]
file=%(here)s/s.sock
chmod=0700

[supervisord]
logfile=%(here)s/supervisord.log
logfile_maxbytes=1MB
loglevel=info
pidfile=%(here)s/supervisord.pid
childlogdir=%(here)s
identifier=diff

[rpcinterface:supervisor]
supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface

[supervisorctl]
serverurl=unix://%(here)s/s.sock

[program:web]
command=/bin/sleep 100
numprocs=2
process_name=%(program_name)s_%(process_num)02d
autostart=true
autorestart=unexpected
startsecs=1
startretries=3
exitcodes=0,2
stopsignal=TERM
stopwaitsecs=5
stdout_logfile=%(here)s/web.log
stdout_logfile_maxbytes=1MB
stderr_logfile=AUTO
environment=A=\"1\",B='two'
priority=10

[program:worker]
command=/bin/cat
directory=%(here)s
umask=022
redirect_stderr=true

[group:app]
programs=web,worker
priority=5

[eventlistener:listener]
command=/bin/cat
events=PROCESS_STATE,TICK_60
buffer_size=10
";

/// Keys the mutations add: every key of a program section that supervisord also knows
/// (the loader's own list, less Steward's additions), the listener's, and a few of other
/// sections' keys put where they do not belong.
fn keys() -> Vec<&'static str> {
    use steward_config::sections::programs::{LISTENER_KEYS, PROGRAM_KEYS};
    const STEWARD_ONLY: &[&str] = &["kill_orphans"];
    let misplaced = [
        "programs",
        "logfile",
        "logfile_maxbytes",
        "loglevel",
        "minfds",
        "minprocs",
        "nodaemon",
        "chmod",
        "chown",
        "port",
        "username",
        "password",
    ];
    PROGRAM_KEYS
        .iter()
        .chain(LISTENER_KEYS)
        .copied()
        .filter(|k| !STEWARD_ONLY.contains(k))
        .chain(misplaced)
        .collect()
}

const TOKENS: &[&str] = &[
    "",
    "0",
    "-1",
    "1",
    "true",
    "yes",
    "off",
    "maybe",
    "1KB",
    "10XB",
    "1.5",
    "999999999999999999999",
    "%(here)s",
    "%(program_name)s",
    "%(process_num)d",
    "%(group_name)s",
    "%(bogus)s",
    "%(ENV_HOME)s",
    "%",
    "%%",
    "%(",
    "TERM",
    "SIGKILL",
    "NOPE",
    "unexpected",
    "a,b",
    "0,1,256",
    "A=1,B=\"2\"",
    "A",
    "A=\"unterminated",
    "0777",
    "888",
    "root",
    "nobody",
    "no-such-user-xyz",
    "/nonexistent/dir/x.log",
    "AUTO",
    "NONE",
    "syslog",
    "critical",
    "blather",
    "web",
    "web,missing",
    "PROCESS_STATE",
    "NO_SUCH_EVENT",
    "127.0.0.1:0",
    "*:notaport",
    "/bin/true",
    "no-such-program-xyz",
    "'quoted",
    "  spaced  ",
];

const SECTIONS: &[&str] = &[
    "[program:extra]\ncommand=/bin/true",
    "[program:]\ncommand=/bin/true",
    "[program:a b]\ncommand=/bin/true",
    "[program:noCommand]",
    "[group:g2]\nprograms=missing",
    "[group:g3]\nprograms=worker",
    "[eventlistener:l2]\ncommand=/bin/cat",
    "[fcgi-program:f]\ncommand=/bin/true\nsocket=tcp://127.0.0.1:0",
    "[inet_http_server]\nport=127.0.0.1:0",
    "[include]\nfiles=nothing-here/*.conf",
    "[unknown]\nkey=value",
    "[rpcinterface:x]",
];

/// xorshift64*: a fixed stream, so the sample never changes.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn pick<'a>(&mut self, xs: &[&'a str]) -> &'a str {
        xs[(self.next() % xs.len() as u64) as usize]
    }
}

fn mutate(rng: &mut Rng, text: &str) -> String {
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    let edits = 1 + rng.next() % 3;
    for _ in 0..edits {
        let i = (rng.next() % lines.len() as u64) as usize;
        match rng.next() % 6 {
            // A value swapped for a hostile token (the most common edit).
            0 | 1 => {
                if let Some((k, _)) = lines[i].split_once('=') {
                    lines[i] = format!("{k}={}", rng.pick(TOKENS));
                }
            }
            2 => {
                lines.remove(i);
            }
            3 => {
                let line = format!("{}={}", rng.pick(&keys()), rng.pick(TOKENS));
                lines.insert(i, line);
            }
            4 => {
                let section = rng.pick(SECTIONS).to_string();
                lines.push(String::new());
                lines.extend(section.lines().map(str::to_string));
            }
            _ => {
                let line = &mut lines[i];
                let at = (rng.next() % (line.len() as u64 + 1)) as usize;
                let at = (0..=at)
                    .rev()
                    .find(|&j| line.is_char_boundary(j))
                    .unwrap_or(0);
                let c = rng.pick(&["[", "]", "=", ":", ";", "#", "%", " ", "\t", "x", "\\"]);
                line.insert_str(at, c);
            }
        }
        if lines.is_empty() {
            lines.push(String::new());
        }
    }
    lines.join("\n") + "\n"
}

/// supervisord 4.3's verdict on each file: `None` = accepted, `Some(message)`.
fn supervisord_verdicts(paths: &[PathBuf]) -> Vec<Option<String>> {
    let venv = match std::env::var_os("STEWARD_TEST_VENV") {
        Some(v) if !v.is_empty() => PathBuf::from(v),
        _ => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.venv"),
    };
    let python = venv.join("bin/python");
    assert!(
        python.exists(),
        "the supervisor 4.3.0 venv is missing ({}): run scripts/test.sh or set STEWARD_TEST_VENV",
        venv.display()
    );
    let script = r#"
import json, sys
from supervisor.options import ServerOptions
out = []
for path in sys.argv[1:]:
    o = ServerOptions()
    o.configfile = path
    try:
        o.process_config(do_usage=False)
        out.append(None)
    except (ValueError, OSError) as e:
        out.append(str(e) or type(e).__name__)
    except Exception as e:
        out.append("%s: %s" % (type(e).__name__, e))
print(json.dumps(out))
"#;
    let output = Command::new(&python)
        .arg("-c")
        .arg(script)
        .args(paths)
        .output()
        .expect("run the venv's python");
    assert!(
        output.status.success(),
        "supervisord's checker failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let verdicts: Vec<Option<String>> =
        serde_json::from_slice(&output.stdout).expect("checker's JSON");
    assert_eq!(verdicts.len(), paths.len());
    verdicts
}

/// The documented differences (docs/migrating.md), each recognised by the message of the
/// side that refuses: why the two loaders may judge a config differently.
fn documented(steward: &Result<(), String>, supervisord: &Option<String>) -> Option<&'static str> {
    match (steward, supervisord) {
        // Stricter than supervisord.
        (Err(e), None) => [
            (
                "Invalid name: '' (empty)",
                "[program:] with an empty name is refused",
            ),
            ("does not specify programs", "[group:x] needs programs="),
            (
                "is too large",
                "integers are bounded (supervisord's are Python ints)",
            ),
        ]
        .iter()
        .find(|(needle, _)| e.contains(needle))
        .map(|(_, why)| *why),
        // Python plugins are not imported: another factory is a warning, not served.
        (Ok(()), Some(e)) if e.contains("cannot be resolved within [rpcinterface:") => {
            Some("rpcinterface factories are not imported")
        }
        _ => None,
    }
}

#[test]
fn accept_reject_matches_supervisord_on_a_fixed_sample() {
    const SAMPLE: usize = 300;
    let root = tempfile::tempdir().unwrap();
    let mut rng = Rng(0x5eed_2026_0020_f022);
    let mut configs = Vec::new();
    let mut paths = Vec::new();
    for n in 0..SAMPLE {
        let dir = root.path().join(format!("c{n:03}"));
        std::fs::create_dir(&dir).unwrap();
        let text = if n == 0 {
            BASE.to_string()
        } else {
            mutate(&mut rng, BASE)
        };
        let path = dir.join("supervisord.conf");
        std::fs::write(&path, &text).unwrap();
        configs.push(text);
        paths.push(path);
    }
    let theirs = supervisord_verdicts(&paths);
    let opts = LoadOptions::from_system();
    let mut disagreements = Vec::new();
    let mut documented_count = 0;
    let mut rejected = 0;
    for (i, path) in paths.iter().enumerate() {
        let ours = steward_config::load(path, &opts)
            .map(|_| ())
            .map_err(|e| e.to_string());
        if ours.is_err() {
            rejected += 1;
        }
        if ours.is_ok() == theirs[i].is_none() {
            continue;
        }
        if documented(&ours, &theirs[i]).is_some() {
            documented_count += 1;
            continue;
        }
        disagreements.push(format!(
            "config {i}:\n{}\n  steward: {:?}\n  supervisord: {:?}",
            configs[i], ours, theirs[i]
        ));
    }
    assert!(
        theirs[0].is_none(),
        "supervisord rejects the base: {:?}",
        theirs[0]
    );
    // Not vacuous: the sample has both verdicts in numbers.
    assert!(
        rejected > SAMPLE / 10 && rejected < SAMPLE * 9 / 10,
        "{rejected} rejected"
    );
    assert!(
        disagreements.is_empty(),
        "{} of {SAMPLE} configs judged differently ({documented_count} documented):\n{}",
        disagreements.len(),
        disagreements.join("\n\n")
    );
}
