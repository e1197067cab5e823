//! Drawing: turns an [`App`] into one frame (ratatui, immediate mode).
//!
//! The list is a header line, the column header, the rows and a status line; panes (log,
//! details, cron, commands, help, signal menu, reload preview, y/N question) take the
//! lower half or float over the list. Columns are laid out by [`columns`]: NAME gets the
//! width of the longest name, and when the terminal is too narrow columns are dropped from
//! the right, so NAME, STATE and PID stay whole at 80 columns and below. Every time text
//! is computed against the `now` passed in, so a test renders the same frame every run.

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Widget, Wrap};
use ratatui::Frame;

use crate::app::{describe_diff, App, Pane, Row, SIGNALS};
use crate::model::{Proc, Reach};

/// A column of the process list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Column {
    Node,
    Name,
    State,
    Pid,
    Uptime,
    Restarts,
    Health,
    Cpu,
    Mem,
    Exit,
    NextRun,
}

impl Column {
    fn header(self) -> &'static str {
        match self {
            Column::Node => "NODE",
            Column::Name => "NAME",
            Column::State => "STATE",
            Column::Pid => "PID",
            Column::Uptime => "UPTIME",
            Column::Restarts => "RESTARTS",
            Column::Health => "HEALTH",
            Column::Cpu => "CPU",
            Column::Mem => "MEM",
            Column::Exit => "EXIT",
            Column::NextRun => "NEXT RUN",
        }
    }

    fn width(self) -> u16 {
        match self {
            Column::Node => 10,
            Column::Name => 0,
            Column::State => 8,
            Column::Pid => 7,
            Column::Uptime => 7,
            Column::Restarts => 8,
            Column::Health => 9,
            Column::Cpu => 6,
            Column::Mem => 7,
            Column::Exit => 4,
            Column::NextRun => 9,
        }
    }

    fn right_aligned(self) -> bool {
        matches!(
            self,
            Column::Pid | Column::Restarts | Column::Cpu | Column::Mem | Column::Exit
        )
    }
}

/// The columns that fit in `width`, with their widths: every column when they fit, else
/// columns dropped from the right (NAME shrinks to 16 before anything right of PID goes).
pub fn columns(width: u16, multi: bool, longest_name: usize) -> Vec<(Column, u16)> {
    let mut cols = vec![];
    if multi {
        cols.push(Column::Node);
    }
    cols.extend([
        Column::Name,
        Column::State,
        Column::Pid,
        Column::Uptime,
        Column::Restarts,
        Column::Health,
        Column::Cpu,
        Column::Mem,
        Column::Exit,
        Column::NextRun,
    ]);
    // Two for the tag marker, then one space between columns.
    let budget = width.saturating_sub(2);
    let name_want = (longest_name.clamp(12, 48)) as u16;
    let name_min = name_want.min(16);
    let fixed = |cols: &[Column]| -> u16 {
        cols.iter()
            .filter(|c| **c != Column::Name)
            .map(|c| c.width() + 1)
            .sum()
    };
    while cols.len() > 3 && fixed(&cols) + name_min > budget {
        cols.pop();
    }
    let name_width = budget
        .saturating_sub(fixed(&cols))
        .clamp(name_min.min(budget), name_want.max(name_min));
    cols.into_iter()
        .map(|c| {
            let w = if c == Column::Name {
                name_width
            } else {
                c.width()
            };
            (c, w)
        })
        .collect()
}

/// "45s", "12m", "3h", "5d": coarse, so an idle list changes its text rarely.
pub fn ago(secs: i64) -> String {
    let s = secs.max(0);
    if s < 60 {
        format!("{s}s")
    } else if s < 3600 {
        format!("{}m", s / 60)
    } else if s < 86_400 {
        format!("{}h{:02}m", s / 3600, (s % 3600) / 60)
    } else {
        format!("{}d{:02}h", s / 86_400, (s % 86_400) / 3600)
    }
}

pub fn uptime_text(p: &Proc, now: i64) -> String {
    p.started_at
        .map(|t| ago(now - t))
        .unwrap_or_else(|| "-".into())
}

pub fn next_run_text(p: &Proc, now: i64) -> String {
    match p.next_run {
        Some(t) => format!("in {}", ago(t - now)),
        None => "-".into(),
    }
}

fn mem_text(bytes: u64) -> String {
    const K: u64 = 1024;
    if bytes >= K * K * K {
        format!("{:.1}G", bytes as f64 / (K * K * K) as f64)
    } else if bytes >= K * K {
        format!("{}M", bytes / (K * K))
    } else {
        format!("{}K", bytes / K)
    }
}

fn cell(app: &App, p: &Proc, source: usize, col: Column, now: i64) -> String {
    match col {
        Column::Node => app.sources[source].name.clone(),
        Column::Name => p.name.clone(),
        Column::State => p.state.clone(),
        Column::Pid => p.pid.map_or("-".into(), |v| v.to_string()),
        Column::Uptime => uptime_text(p, now),
        Column::Restarts => p.restarts.map_or("-".into(), |v| v.to_string()),
        Column::Health => p.health.clone().unwrap_or_else(|| "-".into()),
        Column::Cpu => p.cpu.map_or("-".into(), |v| format!("{v:.1}")),
        Column::Mem => p.rss_bytes.map_or("-".into(), mem_text),
        Column::Exit => p.exit_status.map_or("-".into(), |v| v.to_string()),
        Column::NextRun => next_run_text(p, now),
    }
}

fn state_style(state: &str) -> Style {
    match state {
        "RUNNING" => Style::default().fg(Color::Green),
        "STARTING" | "STOPPING" | "BACKOFF" => Style::default().fg(Color::Yellow),
        "FATAL" | "EXITED" | "UNKNOWN" => Style::default().fg(Color::Red),
        "PAUSED" => Style::default().fg(Color::DarkGray),
        _ => Style::default(),
    }
}

fn fit(text: &str, width: u16, right: bool) -> String {
    let w = width as usize;
    let mut t: String = text.chars().take(w).collect();
    if text.chars().count() > w && w > 1 {
        t = text.chars().take(w - 1).collect::<String>() + "…";
    }
    if right {
        format!("{t:>w$}")
    } else {
        format!("{t:<w$}")
    }
}

/// The height the list gets in a frame of `area` (the loop scrolls with it).
pub fn list_height(app: &App, area: Rect) -> usize {
    let body = area.height.saturating_sub(3);
    let h = if app.pane == Pane::Log {
        body / 2
    } else {
        body
    };
    h.saturating_sub(1) as usize
}

/// Draws the whole frame.
pub fn draw(frame: &mut Frame, app: &mut App, now: i64) {
    let area = frame.area();
    let height = list_height(app, area);
    app.scroll_to_selection(height);
    render(app, now, area, frame.buffer_mut());
}

/// Renders into a buffer (what [`draw`] does, callable from tests on any buffer).
pub fn render(app: &App, now: i64, area: Rect, buf: &mut Buffer) {
    let [top, body, status] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(1),
        Constraint::Length(2),
    ])
    .areas(area);
    header_line(app, top, buf);
    let (list_area, lower) = if app.pane == Pane::Log {
        let [a, b] =
            Layout::vertical([Constraint::Percentage(50), Constraint::Percentage(50)]).areas(body);
        (a, Some(b))
    } else {
        (body, None)
    };
    process_list(app, now, list_area, buf);
    if let Some(lower) = lower {
        log_pane(app, lower, buf);
    }
    status_lines(app, status, buf);
    match &app.pane {
        Pane::Help => help(area, buf),
        Pane::Details {
            source,
            name,
            fields,
        } => {
            let title = if app.multi() {
                format!(" {} on {} ", name, app.sources[*source].name)
            } else {
                format!(" {name} ")
            };
            let lines: Vec<Line> = fields
                .iter()
                .map(|(k, v)| {
                    Line::from(vec![
                        Span::styled(format!("{k:>15} "), Style::default().fg(Color::Cyan)),
                        Span::raw(v.clone()),
                    ])
                })
                .collect();
            popup(area, buf, &title, lines, 90, 80);
        }
        Pane::Cron { selected, runs } => cron_pane(app, now, *selected, runs, body, buf),
        Pane::Commands { selected } => commands_pane(app, *selected, body, buf),
        Pane::Signal { selected } => {
            let lines = SIGNALS
                .iter()
                .enumerate()
                .map(|(i, s)| {
                    let style = if i == *selected {
                        Style::default().add_modifier(Modifier::REVERSED)
                    } else {
                        Style::default()
                    };
                    Line::styled(format!(" {} SIG{s} ", i + 1), style)
                })
                .collect();
            popup(area, buf, " signal ", lines, 30, 50);
        }
        Pane::Reload { source, diff } => {
            let mut lines = vec![];
            match diff {
                None => lines.push(Line::raw("reading the configuration…")),
                Some(Err(e)) => {
                    lines.push(Line::raw(format!("the configuration is refused: {e}")));
                    lines.push(Line::raw(
                        "the running configuration is kept. Any key closes.",
                    ));
                }
                Some(Ok(d)) => {
                    for (label, list, color) in [
                        ("added", &d.added, Color::Green),
                        ("changed", &d.changed, Color::Yellow),
                        ("removed", &d.removed, Color::Red),
                    ] {
                        for g in list {
                            lines.push(Line::styled(
                                format!("  {label:<8} {g}"),
                                Style::default().fg(color),
                            ));
                        }
                    }
                    if d.is_empty() {
                        lines.push(Line::raw("  nothing changed on disk"));
                    }
                    lines.push(Line::raw(""));
                    lines.push(Line::raw(format!("apply ({})? y/N", describe_diff(d))));
                }
            }
            let title = format!(" reload {} ", app.sources[*source].name);
            popup(area, buf, &title, lines, 70, 60);
        }
        Pane::List | Pane::Log => {}
    }
    if let Some(c) = &app.confirm {
        let lines = vec![Line::raw(""), Line::raw(format!(" {}  y/N", c.question))];
        popup(area, buf, " confirm ", lines, 50, 25);
    }
}

fn header_line(app: &App, area: Rect, buf: &mut Buffer) {
    let mut total = 0;
    let mut running = 0;
    let mut failed = 0;
    for v in &app.sources {
        for p in &v.procs {
            total += 1;
            match p.state.as_str() {
                "RUNNING" => running += 1,
                "FATAL" | "BACKOFF" | "UNKNOWN" => failed += 1,
                _ => {}
            }
        }
    }
    let mut spans = vec![
        Span::styled(
            " steward top ",
            Style::default().add_modifier(Modifier::BOLD),
        ),
        Span::raw(format!("{total} processes, {running} running")),
    ];
    if failed > 0 {
        spans.push(Span::styled(
            format!(", {failed} failed"),
            Style::default().fg(Color::Red),
        ));
    }
    spans.push(Span::raw(format!(
        "  sort {}{}",
        app.sort.label(),
        if app.reverse { "▼" } else { "▲" }
    )));
    if app.readonly {
        spans.push(Span::styled(
            "  READ-ONLY",
            Style::default().fg(Color::Yellow),
        ));
    }
    Paragraph::new(Line::from(spans)).render(area, buf);
}

fn process_list(app: &App, now: i64, area: Rect, buf: &mut Buffer) {
    let longest = app
        .rows
        .iter()
        .filter_map(|r| app.proc_of(r))
        .map(|p| p.name.chars().count() + if app.grouped { 2 } else { 0 })
        .max()
        .unwrap_or(4);
    let cols = columns(area.width, app.multi(), longest);
    let mut y = area.y;
    let header: String = cols
        .iter()
        .map(|(c, w)| fit(c.header(), *w, c.right_aligned()))
        .collect::<Vec<_>>()
        .join(" ");
    buf.set_string(
        area.x,
        y,
        fit(&format!("  {header}"), area.width, false),
        Style::default().add_modifier(Modifier::REVERSED),
    );
    y += 1;
    let height = area.height.saturating_sub(1) as usize;
    if app.rows.is_empty() {
        let text = unreachable_note(app, now).unwrap_or_else(|| {
            if app.filter.is_empty() {
                "  (no processes yet)".into()
            } else {
                format!("  (nothing matches /{})", app.filter)
            }
        });
        buf.set_string(area.x, y, fit(&text, area.width, false), Style::default());
        return;
    }
    for (i, row) in app.rows.iter().enumerate().skip(app.offset).take(height) {
        let selected = i == app.selected;
        let base = if selected {
            Style::default().add_modifier(Modifier::REVERSED)
        } else {
            Style::default()
        };
        match row {
            Row::Group {
                source,
                group,
                count,
            } => {
                let node = if app.multi() {
                    format!("{} ", app.sources[*source].name)
                } else {
                    String::new()
                };
                let text = format!("  ▾ {node}{group} ({count})");
                buf.set_string(
                    area.x,
                    y,
                    fit(&text, area.width, false),
                    base.add_modifier(Modifier::BOLD),
                );
            }
            Row::Proc { source, .. } => {
                let Some(p) = app.proc_of(row) else { continue };
                let tagged = app.tagged.contains(&(*source, p.name.clone()));
                let mut x = area.x;
                let marker = if tagged { "* " } else { "  " };
                buf.set_string(x, y, marker, base.fg(Color::Magenta));
                x += 2;
                for (col, w) in &cols {
                    let mut text = cell(app, p, *source, *col, now);
                    if *col == Column::Name && app.grouped {
                        text = format!("  {text}");
                    }
                    let style = match col {
                        Column::State => base.patch(state_style(&p.state)),
                        Column::Health if p.health.as_deref() == Some("unhealthy") => {
                            base.fg(Color::Red)
                        }
                        _ => base,
                    };
                    buf.set_string(x, y, fit(&text, *w, col.right_aligned()), style);
                    x += w + 1;
                }
                if selected && x < area.x + area.width {
                    let rest = (area.x + area.width - x) as usize;
                    buf.set_string(x - 1, y, " ".repeat(rest + 1), base);
                }
            }
        }
        y += 1;
    }
    if let Some(note) = unreachable_note(app, now) {
        if (y as usize) < (area.y + area.height) as usize {
            buf.set_string(
                area.x,
                area.y + area.height - 1,
                fit(&note, area.width, false),
                Style::default().fg(Color::Red),
            );
        }
    }
}

/// "web2 unreachable since 12s: …" for every source that does not answer.
fn unreachable_note(app: &App, now: i64) -> Option<String> {
    let notes: Vec<String> = app
        .sources
        .iter()
        .filter_map(|v| match &v.reach {
            Reach::Unreachable { since, error } => Some(format!(
                "{} UNREACHABLE for {}: {error}",
                v.name,
                ago(now - since)
            )),
            _ => None,
        })
        .collect();
    if notes.is_empty() {
        None
    } else {
        Some(format!("  {}", notes.join(" · ")))
    }
}

fn log_pane(app: &App, area: Rect, buf: &mut Buffer) {
    let Some(log) = &app.log else { return };
    let following = if log.back == 0 { "following" } else { "paused" };
    let title = format!(
        " log {} ({following}; f pause, b back, Esc close) ",
        log.name
    );
    let block = Block::default().borders(Borders::TOP).title(title);
    let inner = block.inner(area);
    block.render(area, buf);
    let h = inner.height as usize;
    let end = log.lines.len().saturating_sub(log.back);
    let start = end.saturating_sub(h);
    for (i, line) in log.lines.range(start..end).enumerate() {
        buf.set_string(
            inner.x,
            inner.y + i as u16,
            fit(line, inner.width, false),
            Style::default(),
        );
    }
}

fn status_lines(app: &App, area: Rect, buf: &mut Buffer) {
    let first = if app.editing_filter {
        format!(" /{}▏ (Enter keeps, Esc clears; !x excludes)", app.filter)
    } else if !app.status.is_empty() {
        format!(" {}", app.status)
    } else if !app.filter.is_empty() {
        format!(" filter /{}  ({} shown)", app.filter, app.rows.len())
    } else {
        String::new()
    };
    let first = if app.tagged.is_empty() {
        first
    } else {
        format!(" {} tagged ·{first}", app.tagged.len())
    };
    buf.set_string(
        area.x,
        area.y,
        fit(&first, area.width, false),
        Style::default(),
    );
    let keys = if app.readonly {
        " ?help /filter Enter details l log t tree o sort c cron m commands q quit"
    } else {
        " ?help s start S stop r restart k signal Space tag l log / filter c cron m cmds R reload q quit"
    };
    buf.set_string(
        area.x,
        area.y + 1,
        fit(keys, area.width, false),
        Style::default().fg(Color::Cyan),
    );
}

fn popup(area: Rect, buf: &mut Buffer, title: &str, lines: Vec<Line>, pct_w: u16, pct_h: u16) {
    let w = (area.width * pct_w / 100).max(30).min(area.width);
    let h = ((area.height * pct_h / 100).max(lines.len() as u16 + 2)).min(area.height);
    let rect = Rect {
        x: area.x + (area.width - w) / 2,
        y: area.y + (area.height - h) / 2,
        width: w,
        height: h,
    };
    Clear.render(rect, buf);
    Paragraph::new(lines)
        .wrap(Wrap { trim: false })
        .block(
            Block::default()
                .borders(Borders::ALL)
                .title(title.to_string()),
        )
        .render(rect, buf);
}

const HELP: &[(&str, &str)] = &[
    ("↑ ↓ PgUp PgDn g G", "move"),
    ("Enter", "details of the process"),
    ("l", "log pane, following (f pause, b back)"),
    ("s S r", "start, stop, restart"),
    ("k", "send a signal"),
    ("Space", "tag; actions apply to the tagged"),
    ("/", "filter (regex; !x excludes)"),
    ("t F5", "grouped / flat"),
    ("o F6  N P U C M  I", "sort: next column, by column, invert"),
    ("c", "cron: n run, e enable, d disable, h runs"),
    ("m", "commands: Enter runs"),
    ("R", "reload: preview, then y applies"),
    ("Esc", "close, clear tags, clear filter"),
    ("q F10", "quit"),
];

fn help(area: Rect, buf: &mut Buffer) {
    let lines = HELP
        .iter()
        .map(|(k, v)| {
            Line::from(vec![
                Span::styled(format!(" {k:<18} "), Style::default().fg(Color::Cyan)),
                Span::raw(*v),
            ])
        })
        .chain([
            Line::raw(""),
            Line::raw(" More than one process asks y/N. Any key closes."),
        ])
        .collect();
    popup(area, buf, " keys ", lines, 84, 80);
}

fn cron_pane(
    app: &App,
    now: i64,
    selected: usize,
    runs: &Option<(String, Vec<String>)>,
    area: Rect,
    buf: &mut Buffer,
) {
    Clear.render(area, buf);
    let title = " cron jobs (n run now, e enable, d disable, h history, Esc back) ";
    let block = Block::default().borders(Borders::ALL).title(title);
    let inner = block.inner(area);
    block.render(area, buf);
    let jobs = app.cron_jobs();
    if jobs.is_empty() {
        buf.set_string(inner.x, inner.y, " no cron jobs", Style::default());
        return;
    }
    let mut y = inner.y;
    for (i, (s, j)) in jobs.iter().enumerate() {
        if y >= inner.y + inner.height {
            break;
        }
        let state = if j.running {
            "running"
        } else if j.enabled {
            "enabled"
        } else {
            "paused"
        };
        let next = j
            .next_run
            .map(|t| format!("in {}", ago(t - now)))
            .unwrap_or_else(|| "-".into());
        let node = if app.multi() {
            format!("{:<10} ", app.sources[*s].name)
        } else {
            String::new()
        };
        let text = format!(
            " {node}{:<20} {:<8} {:<16} next {:<8} last {}  {}",
            j.name,
            state,
            j.schedule,
            next,
            j.last_result.as_deref().unwrap_or("-"),
            j.schedule_words
        );
        let style = if i == selected {
            Style::default().add_modifier(Modifier::REVERSED)
        } else {
            Style::default()
        };
        buf.set_string(inner.x, y, fit(&text, inner.width, false), style);
        y += 1;
    }
    if let Some((job, lines)) = runs {
        y += 1;
        if y < inner.y + inner.height {
            buf.set_string(
                inner.x,
                y,
                fit(
                    &format!(" history of {job}, newest first"),
                    inner.width,
                    false,
                ),
                Style::default().add_modifier(Modifier::BOLD),
            );
            y += 1;
        }
        if lines.is_empty() && y < inner.y + inner.height {
            buf.set_string(inner.x, y, "   no runs recorded", Style::default());
        }
        for l in lines {
            if y >= inner.y + inner.height {
                break;
            }
            buf.set_string(
                inner.x,
                y,
                fit(&format!("   {l}"), inner.width, false),
                Style::default(),
            );
            y += 1;
        }
    }
}

fn commands_pane(app: &App, selected: usize, area: Rect, buf: &mut Buffer) {
    Clear.render(area, buf);
    let block = Block::default()
        .borders(Borders::ALL)
        .title(" commands (Enter runs, Esc back) ");
    let inner = block.inner(area);
    block.render(area, buf);
    let list = app.commands();
    if list.is_empty() {
        buf.set_string(
            inner.x,
            inner.y,
            " no [command:x] declared",
            Style::default(),
        );
        return;
    }
    for (i, (s, c)) in list.iter().enumerate().take(inner.height as usize) {
        let node = if app.multi() {
            format!("{:<10} ", app.sources[*s].name)
        } else {
            String::new()
        };
        let style = if i == selected {
            Style::default().add_modifier(Modifier::REVERSED)
        } else {
            Style::default()
        };
        let text = format!(" {node}{:<24} {}", c.name, c.description);
        buf.set_string(
            inner.x,
            inner.y + i as u16,
            fit(&text, inner.width, false),
            style,
        );
    }
}
