//! Whole-screen tests of `steward top`: a fixed fixture (clock, pids, names) rendered
//! through ratatui's `TestBackend` at 80×24 and 120×40, compared line by line with the
//! screens kept in `tests/screens/NAME.txt` (plain text, reviewed like code). Keys go
//! through `App::handle_key`, updates through `App::apply`, exactly as the event loop
//! does; only the sources are replaced by the fixture. `UPDATE_SCREENS=1` rewrites the
//! files after a deliberate change of the layout (then read the diff).

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::backend::TestBackend;
use ratatui::Terminal;
use steward_top::app::App;
use steward_top::model::{CronJob, Flavor, Proc, Reach, ReloadDiff};
use steward_top::source::{Request, Update};

/// The fixture's clock: 2026-12-03T12:00:00Z.
const NOW: i64 = 1_796_299_200;

fn proc(name: &str, state: &str, pid: Option<i32>, up: Option<i64>, restarts: u32) -> Proc {
    let group = name.split(':').next().unwrap();
    let mut p = Proc::new(name, group, state);
    p.pid = pid;
    p.started_at = up.map(|u| NOW - u);
    p.restarts = Some(restarts);
    p
}

fn fixture_procs() -> Vec<Proc> {
    let mut web = proc("web", "RUNNING", Some(4242), Some(3 * 3600 + 125), 0);
    web.health = Some("healthy".into());
    web.cpu = Some(1.5);
    let mut crasher = proc("crasher", "FATAL", None, None, 2);
    crasher.exit_status = Some(1);
    let mut w0 = proc("worker:worker_00", "RUNNING", Some(4250), Some(42), 1);
    w0.cpu = Some(12.25);
    let w1 = proc("worker:worker_01", "STOPPED", None, None, 0);
    let report = proc("report", "STOPPED", None, None, 0);
    vec![web, crasher, w0, w1, report]
}

fn resources() -> Update {
    Update::Resources(vec![(4242, 1.5, 24 << 20), (4250, 12.25, 3 << 20)])
}

fn cron() -> Update {
    Update::Cron(vec![CronJob {
        name: "report".into(),
        schedule: "30 2 * * *".into(),
        schedule_words: "at 02:30 every day".into(),
        enabled: true,
        running: false,
        next_run: Some(NOW + 14 * 3600 + 1800),
        last_result: Some("ok".into()),
    }])
}

fn single() -> App {
    let mut app = App::new(&["local".into()], false);
    app.apply(0, Update::Reach(Reach::Up(Flavor::Steward)));
    app.apply(0, Update::Processes(fixture_procs()));
    app.apply(0, resources());
    app.apply(0, cron());
    app
}

fn screen(app: &mut App, width: u16, height: u16) -> String {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal
        .draw(|f| steward_top::ui::draw(f, app, NOW))
        .unwrap();
    let buf = terminal.backend().buffer();
    let mut out = String::new();
    for y in 0..height {
        let line: String = (0..width)
            .map(|x| buf[(x, y)].symbol().to_string())
            .collect();
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

fn key(code: KeyCode) -> KeyEvent {
    KeyEvent::new(code, KeyModifiers::NONE)
}

fn ch(c: char) -> KeyEvent {
    key(KeyCode::Char(c))
}

fn multi() -> App {
    let mut app = App::new(&["web1".into(), "web2".into(), "legacy".into()], false);
    app.apply(0, Update::Reach(Reach::Up(Flavor::Steward)));
    app.apply(0, Update::Processes(fixture_procs()[..3].to_vec()));
    app.apply(
        1,
        Update::Reach(Reach::Unreachable {
            since: NOW - 7,
            error: "cannot connect: Connection refused (os error 111)".into(),
        }),
    );
    app.apply(2, Update::Reach(Reach::Up(Flavor::Supervisord)));
    let mut old = Proc::new("queue:queue_0", "queue", "RUNNING");
    old.pid = Some(901);
    old.started_at = Some(NOW - 86_400 * 2 - 3600);
    app.apply(2, Update::Processes(vec![old]));
    app
}

/// Compares the screen with `tests/screens/{name}.txt`.
fn check(name: &str, actual: &str) {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/screens")
        .join(format!("{name}.txt"));
    if std::env::var_os("UPDATE_SCREENS").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (UPDATE_SCREENS=1 writes it)", path.display()));
    if expected != actual {
        let diff: Vec<String> = expected
            .lines()
            .zip(actual.lines())
            .enumerate()
            .filter(|(_, (e, a))| e != a)
            .map(|(i, (e, a))| format!("line {}:\n  want |{e}|\n  got  |{a}|", i + 1))
            .collect();
        panic!(
            "screen {name} differs:\n{}\n\nwhole screen:\n{actual}",
            diff.join("\n")
        );
    }
}

#[test]
fn list_at_80x24_drops_columns_from_the_right() {
    let s = screen(&mut single(), 80, 24);
    check("list-80x24", &s);
    let header = s.lines().nth(1).unwrap();
    assert!(header.contains("NAME") && header.contains("PID") && header.contains("MEM"));
    assert!(!header.contains("EXIT") && !header.contains("NEXT RUN"));
}

#[test]
fn list_at_120x40_shows_every_column() {
    let s = screen(&mut single(), 120, 40);
    check("list-120x40", &s);
    assert!(s.contains("in 14h30m"), "the cron job's next run");
}

#[test]
fn narrower_than_80_keeps_name_state_pid() {
    let s = screen(&mut single(), 50, 24);
    let header = s.lines().nth(1).unwrap();
    assert_eq!(header, "  NAME             STATE        PID UPTIME");
    assert!(s.contains("  worker:worker_00 RUNNING     4250 42s"));
}

#[test]
fn grouped_view() {
    let mut app = single();
    app.handle_key(ch('t'));
    check("grouped-80x24", &screen(&mut app, 80, 24));
}

#[test]
fn several_nodes_and_an_unreachable_one() {
    let mut app = multi();
    let s = screen(&mut app, 120, 40);
    check("nodes-120x40", &s);
    let s = screen(&mut app, 80, 24);
    check("nodes-80x24", &s);
}

#[test]
fn help_screen() {
    let mut app = single();
    app.handle_key(ch('?'));
    check("help-80x24", &screen(&mut app, 80, 24));
    app.handle_key(ch('x'));
    assert!(
        !screen(&mut app, 80, 24).contains("┌ keys"),
        "any key closes"
    );
}

#[test]
fn stopping_two_tagged_processes_asks_first() {
    let mut app = single();
    app.handle_key(key(KeyCode::Down));
    app.handle_key(key(KeyCode::Down));
    app.handle_key(ch(' '));
    app.handle_key(ch(' '));
    assert!(app.handle_key(ch('S')).is_empty());
    check("confirm-80x24", &screen(&mut app, 80, 24));
    let sent = app.handle_key(ch('y'));
    assert_eq!(sent.len(), 1);
    assert!(matches!(&sent[0].1, Request::Act { names, .. } if names.len() == 2));
    assert!(!screen(&mut app, 80, 24).contains("confirm"));
}

#[test]
fn log_pane_follows() {
    let mut app = single();
    app.handle_key(ch('G'));
    app.handle_key(key(KeyCode::Up));
    let sent = app.handle_key(ch('l'));
    assert_eq!(
        sent,
        vec![(0, Request::Follow(Some("worker:worker_00".into())))]
    );
    let lines = |r: std::ops::RangeInclusive<i32>| -> Vec<String> {
        r.map(|i| format!("worker tick {i}")).collect()
    };
    app.apply(
        0,
        Update::LogLines {
            name: "worker:worker_00".into(),
            lines: lines(1..=19),
            reset: true,
        },
    );
    app.apply(
        0,
        Update::LogLines {
            name: "worker:worker_00".into(),
            lines: lines(20..=20),
            reset: false,
        },
    );
    let s = screen(&mut app, 80, 24);
    check("log-80x24", &s);
    assert_eq!(
        s.lines().nth(21).unwrap(),
        "worker tick 20",
        "the newest line last"
    );
    let s = screen(&mut app, 120, 40);
    check("log-120x40", &s);
}

#[test]
fn cron_pane_with_history() {
    let mut app = single();
    app.handle_key(ch('c'));
    let sent = app.handle_key(ch('h'));
    assert_eq!(sent, vec![(0, Request::CronRuns("report".into()))]);
    app.apply(
        0,
        Update::CronRuns {
            job: "report".into(),
            lines: vec!["2026-12-03T02:30:00Z  schedule    0.8s  ok".into()],
        },
    );
    check("cron-120x40", &screen(&mut app, 120, 40));
}

#[test]
fn reload_preview_then_apply() {
    let mut app = single();
    let sent = app.handle_key(ch('R'));
    assert_eq!(sent, vec![(0, Request::Reload { apply: false })]);
    app.apply(
        0,
        Update::Reload {
            result: Ok(ReloadDiff {
                added: vec!["api".into()],
                changed: vec!["web".into()],
                removed: vec![],
            }),
            applied: false,
        },
    );
    check("reload-80x24", &screen(&mut app, 80, 24));
    assert_eq!(
        app.handle_key(ch('y')),
        vec![(0, Request::Reload { apply: true })]
    );
}

#[test]
fn details_pane() {
    let mut app = single();
    let sent = app.handle_key(key(KeyCode::Enter));
    assert_eq!(sent, vec![(0, Request::Details("crasher".into()))]);
    app.apply(
        0,
        Update::Details {
            name: "crasher".into(),
            fields: vec![
                ("name".into(), "crasher".into()),
                ("state".into(), "FATAL".into()),
                ("exit_status".into(), "1".into()),
            ],
        },
    );
    check("details-80x24", &screen(&mut app, 80, 24));
}

#[test]
fn readonly_says_so() {
    let mut app = single();
    app.readonly = true;
    app.handle_key(ch('S'));
    let s = screen(&mut app, 80, 24);
    assert!(s.lines().next().unwrap().contains("READ-ONLY"));
    assert!(s.contains("read-only (--readonly): actions are off"));
}
