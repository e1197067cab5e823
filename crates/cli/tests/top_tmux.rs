//! `steward top` end to end: the real binary in a real terminal emulator (tmux), against
//! real daemons — Steward (the event stream) and supervisord 4.3 from the venv (polling).
//!
//! Each test runs its own tmux server (`tmux -S <tempdir>/tmux.sock`), types with
//! `send-keys` and reads the screen with `capture-pane -p`, polling with a deadline. The
//! pane runs a small script that records `stty -g` before and after `steward top` and
//! the exit status, so "the terminal is restored" is checked as the terminal itself
//! sees it: same stty settings, alternate screen left (`#{alternate_on}` is 0).

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use support::*;

const WAIT: Duration = Duration::from_secs(15);

/// A tmux server with one 100×30 window running `steward top ARGS` through a script.
struct Tmux {
    socket: PathBuf,
    dir: PathBuf,
}

impl Tmux {
    fn start(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Tmux {
        let script = dir.join("top.sh");
        let quoted: Vec<String> = args.iter().map(|a| format!("'{a}'")).collect();
        let exports: String = env
            .iter()
            .map(|(k, v)| format!("export {k}='{v}'\n"))
            .collect();
        std::fs::write(
            &script,
            format!(
                "{exports}cd '{dir}'\nstty -g > stty.before\n'{bin}' top {args}\necho \"top exited $?\"\nstty -g > stty.after\necho done > done\nsleep 600\n",
                dir = dir.display(),
                bin = steward_bin().display(),
                args = quoted.join(" "),
            ),
        )
        .unwrap();
        static SERVERS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = SERVERS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let t = Tmux {
            socket: dir.join(format!("tmux{n}.sock")),
            dir: dir.to_path_buf(),
        };
        let out = t
            .cmd(&["new-session", "-d", "-x", "100", "-y", "30", "sh"])
            .arg(&script)
            .output()
            .expect("tmux (Debian package tmux) is needed for this test");
        assert!(out.status.success(), "tmux: {out:?}");
        t
    }

    fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new("tmux");
        c.arg("-S").arg(&self.socket).args(args);
        c.env_remove("TMUX").env("TERM", "xterm-256color");
        c
    }

    fn keys(&self, keys: &[&str]) {
        for k in keys {
            let st = self.cmd(&["send-keys", "-t", "0", k]).status().unwrap();
            assert!(st.success());
        }
    }

    fn screen(&self) -> String {
        let out = self
            .cmd(&["capture-pane", "-p", "-t", "0"])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn alternate_on(&self) -> String {
        let out = self
            .cmd(&["display-message", "-p", "-t", "0", "#{alternate_on}"])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    /// Esc alone: typed together with the next key, a terminal reads ESC x as Alt-x.
    /// Waits until the filter is gone (Esc's effect in the list).
    fn escape(&self) {
        self.keys(&["Escape"]);
        self.wait_for("Esc to close the pane and clear the filter", |s| {
            Tmux::row(s, "ticker").is_some() && Tmux::row(s, "worker").is_some()
        });
    }

    /// Polls the screen until `cond` holds; panics with the last screen otherwise.
    fn wait_for(&self, what: &str, cond: impl Fn(&str) -> bool) -> String {
        let mut last = String::new();
        let ok = wait_until(WAIT, || {
            last = self.screen();
            cond(&last)
        });
        assert!(ok, "waited {WAIT:?} for {what}; the screen:\n{last}");
        last
    }

    /// The line of the screen showing process `name`.
    fn row(screen: &str, name: &str) -> Option<String> {
        screen
            .lines()
            .find(|l| l.split_whitespace().any(|w| w == name))
            .map(str::to_string)
    }

    /// Waits for the script to finish and checks the terminal came back as it was.
    fn assert_restored(&self, exit: &str) {
        let done = self.dir.join("done");
        assert!(
            wait_until(WAIT, || done.exists()),
            "steward top did not exit; the screen:\n{}",
            self.screen()
        );
        let screen = self.screen();
        assert!(screen.contains(&format!("top exited {exit}")), "{screen}");
        assert!(
            !screen.contains("steward top "),
            "the alternate screen is left:\n{screen}"
        );
        assert_eq!(self.alternate_on(), "0");
        let before = std::fs::read_to_string(self.dir.join("stty.before")).unwrap();
        let after = std::fs::read_to_string(self.dir.join("stty.after")).unwrap();
        assert_eq!(before, after, "stty settings restored");
    }

    /// The pid of `steward top` (a child of the pane's shell).
    fn top_pid(&self) -> i32 {
        let out = self
            .cmd(&["display-message", "-p", "-t", "0", "#{pane_pid}"])
            .output()
            .unwrap();
        let shell: i32 = String::from_utf8_lossy(&out.stdout).trim().parse().unwrap();
        processes()
            .into_iter()
            .find(|p| p.ppid == shell && p.comm == "steward")
            .map(|p| p.pid)
            .expect("steward top runs in the pane")
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.cmd(&["kill-server"]).status();
    }
}

const PROGRAMS: &str = "\
[program:ticker]
command=sh -c 'i=0; while true; do i=$((i+1)); echo \"tick $i\"; sleep 0.3; done'
stdout_logfile={dir}/ticker.log

[program:worker]
command=sleep 1000
";

fn last_tick(screen: &str) -> Option<u32> {
    screen
        .lines()
        .filter_map(|l| l.trim().strip_prefix("tick "))
        .filter_map(|n| n.trim().parse().ok())
        .max()
}

#[test]
fn stop_a_process_follow_its_log_and_quit() {
    let d = Daemon::start_steward(Conf::new(PROGRAMS));
    d.wait_state("worker", "RUNNING", WAIT);
    let conf = d.conf.path.display().to_string();
    let t = Tmux::start(d.dir(), &["-c", &conf], &[]);
    t.wait_for("both processes RUNNING", |s| {
        Tmux::row(s, "worker").is_some_and(|r| r.contains("RUNNING"))
            && Tmux::row(s, "ticker").is_some_and(|r| r.contains("RUNNING"))
    });

    // Filter down to the worker, stop it (one process: no question asked).
    t.keys(&["/", "worker", "Enter", "S"]);
    let s = t.wait_for("the worker's row to say STOPPED", |s| {
        Tmux::row(s, "worker").is_some_and(|r| r.contains("STOPPED"))
    });
    assert!(Tmux::row(&s, "ticker").is_none(), "filtered out:\n{s}");
    assert_eq!(d.state("worker"), "STOPPED");

    // The ticker's log pane shows new lines as they are written.
    t.escape();
    t.keys(&["/", "ticker", "Enter", "l"]);
    let s = t.wait_for("the log pane", |s| {
        s.contains("log ticker") && last_tick(s).is_some()
    });
    let first = last_tick(&s).unwrap();
    t.wait_for("a newer log line", |s| {
        last_tick(s).is_some_and(|n| n > first)
    });

    t.keys(&["Escape"]);
    t.wait_for("the log pane closed", |s| !s.contains("log ticker"));
    t.keys(&["q"]);
    t.assert_restored("0");
}

#[test]
fn several_processes_ask_before_restarting() {
    let d = Daemon::start_steward(Conf::new(PROGRAMS));
    d.wait_state("worker", "RUNNING", WAIT);
    let worker_pid = d.process_pid("worker");
    let conf = d.conf.path.display().to_string();
    let t = Tmux::start(d.dir(), &["-c", &conf], &[]);
    t.wait_for("the list", |s| Tmux::row(s, "worker").is_some());
    t.keys(&["Space", "Space", "r"]);
    t.wait_for("the question", |s| s.contains("restart 2 processes?"));
    t.keys(&["n"]);
    t.wait_for("cancelled", |s| s.contains("cancelled"));
    assert_eq!(d.process_pid("worker"), worker_pid, "N does nothing");
    t.keys(&["r"]);
    t.wait_for("the question again", |s| s.contains("restart 2 processes?"));
    t.keys(&["y"]);
    assert!(
        wait_until(WAIT, || {
            d.state("worker") == "RUNNING" && d.process_pid("worker") != worker_pid
        }),
        "the worker was restarted"
    );
    t.wait_for("RESTARTS 1 on the worker", |s| {
        Tmux::row(s, "worker").is_some_and(|r| {
            r.contains(&d.process_pid("worker").to_string())
                && r.split_whitespace().nth(4) == Some("1")
        })
    });
    t.keys(&["q"]);
    t.assert_restored("0");
}

#[test]
fn sigterm_and_panic_restore_the_terminal() {
    let d = Daemon::start_steward(Conf::new(PROGRAMS));
    let conf = d.conf.path.display().to_string();
    {
        let t = Tmux::start(d.dir(), &["-c", &conf], &[]);
        t.wait_for("the list", |s| Tmux::row(s, "ticker").is_some());
        assert_eq!(t.alternate_on(), "1");
        kill(t.top_pid(), libc::SIGTERM);
        t.assert_restored("0");
    }
    let _ = std::fs::remove_file(d.dir().join("done"));
    let t = Tmux::start(
        d.dir(),
        &["-c", &conf],
        &[("STEWARD_TOP_PANIC_AFTER_FIRST_ROWS", "1")],
    );
    t.assert_restored("101");
}

#[test]
fn readonly_refuses_actions() {
    let d = Daemon::start_steward(Conf::new(PROGRAMS));
    d.wait_state("worker", "RUNNING", WAIT);
    let conf = d.conf.path.display().to_string();
    let t = Tmux::start(d.dir(), &["-c", &conf, "--readonly"], &[]);
    t.wait_for("the list", |s| {
        s.contains("READ-ONLY") && Tmux::row(s, "worker").is_some()
    });
    t.keys(&["/", "worker", "Enter", "S"]);
    t.wait_for("the refusal", |s| s.contains("actions are off"));
    assert!(holds_for(secs(1.0), || d.state("worker") == "RUNNING"));
    t.keys(&["q"]);
    t.assert_restored("0");
}

#[test]
fn two_nodes_and_one_going_away() {
    let a = Daemon::start_steward(Conf::new(PROGRAMS));
    let mut b = Daemon::start_steward(Conf::new("[program:other]\ncommand=sleep 1000\n"));
    let node_a = format!("alpha=unix://{}", a.conf.sock.display());
    let node_b = format!("beta=unix://{}", b.conf.sock.display());
    let t = Tmux::start(a.dir(), &["--node", &node_a, "--node", &node_b], &[]);
    let s = t.wait_for("rows of both nodes", |s| {
        Tmux::row(s, "other").is_some_and(|r| r.contains("beta"))
            && Tmux::row(s, "ticker").is_some_and(|r| r.contains("alpha"))
    });
    assert!(s.contains("NODE"), "{s}");
    b.signal(libc::SIGTERM);
    b.wait_exit(WAIT).expect("beta exits");
    t.wait_for("beta unreachable", |s| s.contains("beta UNREACHABLE"));
    // alpha keeps answering: stopping its worker still shows.
    t.keys(&["/", "worker", "Enter", "S"]);
    t.wait_for("alpha's worker STOPPED", |s| {
        Tmux::row(s, "worker").is_some_and(|r| r.contains("STOPPED"))
    });
    t.keys(&["q"]);
    t.assert_restored("0");
}

#[test]
fn the_configs_nodes_are_shown_beside_the_local_daemon() {
    let b = Daemon::start_steward(Conf::new("[program:other]\ncommand=sleep 1000\n"));
    let a = Daemon::start_steward(Conf::new(&format!(
        "{PROGRAMS}\n[node:beta]\nserverurl=unix://{}\n",
        b.conf.sock.display()
    )));
    let conf = a.conf.path.display().to_string();
    let t = Tmux::start(a.dir(), &["-c", &conf], &[]);
    let s = t.wait_for("rows of both daemons", |s| {
        Tmux::row(s, "other").is_some_and(|r| r.contains("beta"))
            && Tmux::row(s, "ticker").is_some_and(|r| !r.contains("beta"))
    });
    assert!(s.contains("NODE"), "{s}");
    t.keys(&["q"]);
    t.assert_restored("0");
}

#[test]
fn an_https_node_is_shown_through_its_ca() {
    let b = Daemon::start_steward(Conf::new(
        "[inet_http_server]\nport=127.0.0.1:{port}\n\n[program:other]\ncommand=sleep 1000\n",
    ));
    let (_proxy, tls_port) = tls_in_front_of(&b.conf.dir, b.conf.port);
    let a = Daemon::start_steward(Conf::new(&format!(
        "{PROGRAMS}\n[node:secure]\nserverurl=https://localhost:{tls_port}\nca={}\n",
        b.conf.dir.join("ca.pem").display()
    )));
    let conf = a.conf.path.display().to_string();
    let t = Tmux::start(a.dir(), &["-c", &conf], &[]);
    let s = t.wait_for("the https node's rows", |s| {
        Tmux::row(s, "other").is_some_and(|r| r.contains("secure") && r.contains("RUNNING"))
    });
    assert!(s.contains("NODE"), "{s}");
    t.keys(&["q"]);
    t.assert_restored("0");
}

#[test]
fn polls_a_real_supervisord() {
    let d = Daemon::start_supervisord(Conf::new(PROGRAMS));
    d.wait_state("worker", "RUNNING", WAIT);
    let conf = d.conf.path.display().to_string();
    let t = Tmux::start(d.dir(), &["-c", &conf], &[]);
    t.wait_for("supervisord's processes", |s| {
        Tmux::row(s, "worker").is_some_and(|r| r.contains("RUNNING"))
    });
    t.keys(&["/", "worker", "Enter", "S"]);
    t.wait_for("the worker STOPPED", |s| {
        Tmux::row(s, "worker").is_some_and(|r| r.contains("STOPPED"))
    });
    assert_eq!(d.state("worker"), "STOPPED");
    t.escape();
    t.keys(&["/", "ticker", "Enter", "l"]);
    let s = t.wait_for("the log pane", |s| last_tick(s).is_some());
    let first = last_tick(&s).unwrap();
    t.wait_for("a newer log line", |s| {
        last_tick(s).is_some_and(|n| n > first)
    });
    t.keys(&["Escape"]);
    t.wait_for("the log pane closed", |s| !s.contains("log ticker"));
    t.keys(&["q"]);
    t.assert_restored("0");
}

const WITH_CREDENTIALS: &str = "\
[inet_http_server]
port=127.0.0.1:{port}
username=admin
password=s3cret

[steward]
state_dir={dir}/state

[program:worker]
command=sleep 1000

[cron:tick]
schedule=0 0 1 1 *
command=true
";

/// docs/decisions.md, "steward top: where actions go": Basic credentials act through
/// XML-RPC (the API takes them for reads only) and say what needs a token; a token acts
/// through the API.
#[test]
fn basic_credentials_act_over_xmlrpc_and_a_token_over_the_api() {
    let d = Daemon::start_steward(Conf::new(WITH_CREDENTIALS));
    d.wait_state("worker", "RUNNING", WAIT);
    let url = format!("http://127.0.0.1:{}", d.conf.port);
    {
        let t = Tmux::start(d.dir(), &["-s", &url, "-u", "admin", "-p", "s3cret"], &[]);
        t.wait_for("the list over TCP", |s| {
            Tmux::row(s, "worker").is_some_and(|r| r.contains("RUNNING"))
        });
        t.keys(&["/", "worker", "Enter", "S"]);
        t.wait_for("the worker STOPPED", |s| {
            Tmux::row(s, "worker").is_some_and(|r| r.contains("STOPPED"))
        });
        assert_eq!(d.state("worker"), "STOPPED");
        t.keys(&["c"]);
        t.wait_for("the cron pane", |s| {
            s.contains("cron jobs") && s.contains("tick")
        });
        t.keys(&["d"]);
        t.wait_for("the refusal", |s| s.contains("needs a bearer token"));
        t.keys(&["Escape"]);
        t.wait_for("the list again", |s| !s.contains("cron jobs ("));
        t.keys(&["q"]);
        t.assert_restored("0");
    }
    let out = run_with_timeout(
        Command::new(steward_bin())
            .args(["token", "create", "top", "--role", "operator", "-c"])
            .arg(&d.conf.path),
        secs(30.0),
    );
    assert_eq!(out.code, 0, "{out}");
    let token_file = d.dir().join("token");
    std::fs::write(&token_file, out.stdout.trim()).unwrap();
    let _ = std::fs::remove_file(d.dir().join("done"));
    let token_arg = token_file.display().to_string();
    let t = Tmux::start(d.dir(), &["-s", &url, "--token-file", &token_arg], &[]);
    t.keys(&["c"]);
    t.wait_for("the cron pane", |s| {
        s.contains("tick") && s.contains("enabled")
    });
    t.keys(&["d"]);
    t.wait_for("the job paused through the API", |s| {
        s.contains("cron disable tick: ok") && s.contains("paused")
    });
    t.keys(&["Escape"]);
    t.wait_for("the list again", |s| !s.contains("cron jobs ("));
    t.keys(&["q"]);
    t.assert_restored("0");
}
