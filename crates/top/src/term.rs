//! The terminal and the event loop.
//!
//! [`run`] starts the sources, takes over the terminal (raw mode, alternate screen, a
//! panic hook that gives it back) and then waits on one channel that three producers
//! feed: the sources' updates, a thread blocked in crossterm's `read` (keys, resizes) and
//! a thread waiting for SIGTERM/SIGINT/SIGHUP. Every message that arrives together is
//! applied before one draw, and the loop draws only when the app is dirty; the one
//! timer is a wake-up each second that redraws only if a time text on screen (an
//! uptime, a next run, an "unreachable for") changed. Leaving the loop for any reason
//! (`q`, a signal, a panic unwinding) restores the terminal through [`TerminalGuard`].
//!
//! `STEWARD_TOP_TRACE=FILE` appends one line per draw (`unix_ms rows`) to FILE:
//! the benchmark (bench/top.sh) reads the first frame's time and counts idle redraws.
//! `STEWARD_TOP_PANIC_AFTER_FIRST_ROWS=1` panics once the first rows are drawn: the tmux
//! test proves with it that a panic gives the terminal back.

use std::io::Write;
use std::sync::mpsc;
use std::time::Duration;

use crossterm::event::{Event, KeyEventKind};

use crate::app::App;
use crate::source::{self, SourceSpec, Update};

/// How `steward top` was asked to run.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Refuse every action (`--readonly`).
    pub readonly: bool,
}

/// Why `steward top` could not run.
#[derive(Debug, thiserror::Error)]
pub enum TopError {
    #[error("no source to watch")]
    NoSources,
    #[error("the terminal: {0}")]
    Terminal(#[from] std::io::Error),
}

enum Msg {
    Input(Event),
    Source(usize, Update),
    Quit,
}

/// Gives the terminal back when dropped, whatever ended the loop.
struct TerminalGuard;

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        ratatui::restore();
    }
}

/// Runs the UI until `q` or a signal.
pub fn run(specs: Vec<SourceSpec>, options: Options) -> Result<(), TopError> {
    if specs.is_empty() {
        return Err(TopError::NoSources);
    }
    let mut trace = std::env::var_os("STEWARD_TOP_TRACE").and_then(|p| {
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(p)
            .ok()
    });
    let names: Vec<String> = specs.iter().map(|s| s.name.clone()).collect();
    let (tx, rx) = mpsc::channel::<Msg>();
    let source_tx = tx.clone();
    let sources = source::start(
        specs,
        std::sync::Arc::new(move |i, u| {
            let _ = source_tx.send(Msg::Source(i, u));
        }),
    )?;
    let mut signals = signal_hook::iterator::Signals::new([
        signal_hook::consts::SIGTERM,
        signal_hook::consts::SIGINT,
        signal_hook::consts::SIGHUP,
    ])?;
    let signal_tx = tx.clone();
    std::thread::Builder::new()
        .name("top-signals".into())
        .spawn(move || {
            if signals.forever().next().is_some() {
                let _ = signal_tx.send(Msg::Quit);
            }
        })?;

    let mut terminal = ratatui::try_init()?;
    let _guard = TerminalGuard;
    std::thread::Builder::new()
        .name("top-input".into())
        .spawn(move || {
            while let Ok(ev) = crossterm::event::read() {
                if tx.send(Msg::Input(ev)).is_err() {
                    break;
                }
            }
        })?;

    let mut app = App::new(&names, options.readonly);
    let mut last_fingerprint = None;
    let panic_for_test = std::env::var_os("STEWARD_TOP_PANIC_AFTER_FIRST_ROWS").is_some();
    loop {
        if app.dirty {
            let now = crate::model::now();
            let mut height = 0;
            terminal.draw(|f| {
                crate::ui::draw(f, &mut app, now);
                height = crate::ui::list_height(&app, f.area());
            })?;
            app.dirty = false;
            last_fingerprint = Some(app.clock_fingerprint(now, height));
            if let Some(t) = trace.as_mut() {
                let _ = writeln!(t, "{} {}", now_millis(), app.rows.len());
            }
            if panic_for_test && !app.rows.is_empty() {
                panic!("STEWARD_TOP_PANIC_AFTER_FIRST_ROWS is set");
            }
        }
        let until_next_second = Duration::from_millis(1000 - (now_millis() % 1000) + 5);
        let first = match rx.recv_timeout(until_next_second) {
            Ok(m) => Some(m),
            Err(mpsc::RecvTimeoutError::Timeout) => None,
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
        };
        let Some(first) = first else {
            let size = terminal.size()?;
            let area = ratatui::layout::Rect::new(0, 0, size.width, size.height);
            let height = crate::ui::list_height(&app, area);
            if Some(app.clock_fingerprint(crate::model::now(), height)) != last_fingerprint {
                app.dirty = true;
            }
            continue;
        };
        // Everything that arrived together makes one frame.
        for msg in std::iter::once(first).chain(rx.try_iter()) {
            match msg {
                Msg::Quit => app.quit = true,
                Msg::Source(i, u) => app.apply(i, u),
                Msg::Input(Event::Key(k)) if k.kind != KeyEventKind::Release => {
                    for (i, req) in app.handle_key(k) {
                        sources.send(i, req);
                    }
                }
                Msg::Input(Event::Resize(..)) => app.dirty = true,
                Msg::Input(_) => {}
            }
            if app.quit {
                break;
            }
        }
        if app.quit {
            break;
        }
    }
    Ok(())
}

fn now_millis() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}
