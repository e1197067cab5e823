//! The state of `steward top` and what keys do to it.
//!
//! [`App`] holds one [`SourceView`] per source (what the source last sent), the derived
//! list of visible [`Row`]s (filtered, sorted, grouped), the selection and tags, and which
//! pane is open. Two things change it: [`App::apply`] (an [`Update`] from a source) and
//! [`App::handle_key`], which returns the [`Request`]s to send; nothing here does I/O, so
//! tests drive it with keys and fixed data. `dirty` says the screen must be redrawn;
//! [`App::clock_fingerprint`] lets the loop redraw on a tick only when a time shown on
//! screen (an uptime, a next run) changed its text.

use std::collections::{BTreeSet, HashMap, VecDeque};

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use regex::Regex;

use crate::model::{CommandInfo, CronJob, Proc, Reach, ReloadDiff};
use crate::source::{Action, CronAction, Request, Update};

/// Log lines kept in the pane.
const LOG_KEEP: usize = 2000;
/// Signals the `k` menu offers.
pub const SIGNALS: [&str; 7] = ["HUP", "INT", "TERM", "KILL", "USR1", "USR2", "QUIT"];

/// What one source last reported.
#[derive(Debug, Clone)]
pub struct SourceView {
    pub name: String,
    pub reach: Reach,
    pub procs: Vec<Proc>,
    pub cron: Vec<CronJob>,
    pub commands: Vec<CommandInfo>,
    resources: HashMap<i32, (f64, u64)>,
}

/// The sortable columns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortKey {
    Name,
    State,
    Pid,
    Uptime,
    Restarts,
    Cpu,
    Mem,
}

impl SortKey {
    const ALL: [SortKey; 7] = [
        SortKey::Name,
        SortKey::State,
        SortKey::Pid,
        SortKey::Uptime,
        SortKey::Restarts,
        SortKey::Cpu,
        SortKey::Mem,
    ];
    pub fn label(self) -> &'static str {
        match self {
            SortKey::Name => "NAME",
            SortKey::State => "STATE",
            SortKey::Pid => "PID",
            SortKey::Uptime => "UPTIME",
            SortKey::Restarts => "RESTARTS",
            SortKey::Cpu => "CPU",
            SortKey::Mem => "MEM",
        }
    }
}

/// One line of the process list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Row {
    /// A group heading (grouped view): source, group name, member count.
    Group {
        source: usize,
        group: String,
        count: usize,
    },
    /// A process: source and index into that source's `procs`.
    Proc { source: usize, index: usize },
}

/// What fills the screen besides the list.
#[derive(Debug, Clone, PartialEq)]
pub enum Pane {
    List,
    Help,
    Details {
        source: usize,
        name: String,
        fields: Vec<(String, String)>,
    },
    /// The list on top, the followed log below.
    Log,
    Cron {
        selected: usize,
        /// The history of one job, once asked for.
        runs: Option<(String, Vec<String>)>,
    },
    Commands {
        selected: usize,
    },
    Reload {
        source: usize,
        /// `None` while the preview is on its way.
        diff: Option<Result<ReloadDiff, String>>,
    },
    Signal {
        selected: usize,
    },
}

/// An action waiting for its y/N.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Confirm {
    pub question: String,
    pub requests: Vec<(usize, Request)>,
}

/// The followed log.
#[derive(Debug, Clone, Default)]
pub struct LogView {
    pub source: usize,
    pub name: String,
    pub lines: VecDeque<String>,
    /// Lines scrolled back from the end (0: following the newest).
    pub back: usize,
}

pub struct App {
    pub sources: Vec<SourceView>,
    pub readonly: bool,
    pub grouped: bool,
    pub sort: SortKey,
    pub reverse: bool,
    pub filter: String,
    pub editing_filter: bool,
    filter_re: Option<(bool, Regex)>,
    pub rows: Vec<Row>,
    pub selected: usize,
    /// First row shown (scrolling).
    pub offset: usize,
    /// Tagged processes: (source, name).
    pub tagged: BTreeSet<(usize, String)>,
    pub pane: Pane,
    pub confirm: Option<Confirm>,
    pub log: Option<LogView>,
    pub status: String,
    pub quit: bool,
    pub dirty: bool,
}

impl App {
    /// An app over sources with these names, nothing known yet.
    pub fn new(names: &[String], readonly: bool) -> App {
        App {
            sources: names
                .iter()
                .map(|n| SourceView {
                    name: n.clone(),
                    reach: Reach::Connecting,
                    procs: Vec::new(),
                    cron: Vec::new(),
                    commands: Vec::new(),
                    resources: HashMap::new(),
                })
                .collect(),
            readonly,
            grouped: false,
            sort: SortKey::Name,
            reverse: false,
            filter: String::new(),
            editing_filter: false,
            filter_re: None,
            rows: Vec::new(),
            selected: 0,
            offset: 0,
            tagged: BTreeSet::new(),
            pane: Pane::List,
            confirm: None,
            log: None,
            status: String::new(),
            quit: false,
            dirty: true,
        }
    }

    /// Whether the NODE column is shown.
    pub fn multi(&self) -> bool {
        self.sources.len() > 1
    }

    /// The process a row shows.
    pub fn proc_of(&self, row: &Row) -> Option<&Proc> {
        match row {
            Row::Proc { source, index } => self.sources.get(*source)?.procs.get(*index),
            Row::Group { .. } => None,
        }
    }

    /// The selected row's process and its source.
    pub fn selected_proc(&self) -> Option<(usize, &Proc)> {
        match self.rows.get(self.selected)? {
            r @ Row::Proc { source, .. } => self.proc_of(r).map(|p| (*source, p)),
            Row::Group { .. } => None,
        }
    }

    /// Takes one update from source `index`.
    pub fn apply(&mut self, index: usize, update: Update) {
        let Some(view) = self.sources.get_mut(index) else {
            return;
        };
        self.dirty = true;
        match update {
            Update::Reach(r) => {
                if matches!(r, Reach::Unreachable { .. }) && view.reach == r {
                    self.dirty = false;
                }
                view.reach = r;
            }
            Update::Processes(list) => {
                view.procs = list;
                merge_cron_rows(view);
                merge_resources(view);
                self.rebuild();
            }
            Update::Resources(samples) => {
                let fresh: HashMap<i32, (f64, u64)> =
                    samples.into_iter().map(|(p, c, m)| (p, (c, m))).collect();
                if fresh == view.resources {
                    self.dirty = false;
                    return;
                }
                view.resources = fresh;
                merge_resources(view);
                if matches!(self.sort, SortKey::Cpu | SortKey::Mem) {
                    self.rebuild();
                }
            }
            Update::Cron(jobs) => {
                view.cron = jobs;
                view.procs.retain(|p| !(p.is_cron && p.pid.is_none()));
                merge_cron_rows(view);
                self.rebuild();
            }
            Update::Commands(list) => view.commands = list,
            Update::LogLines { name, lines, reset } => {
                let Some(log) = self.log.as_mut() else {
                    return;
                };
                if log.source != index || log.name != name {
                    return;
                }
                if reset {
                    log.lines.clear();
                }
                for l in lines {
                    log.lines.push_back(l);
                    if log.back > 0 {
                        log.back += 1;
                    }
                }
                while log.lines.len() > LOG_KEEP {
                    log.lines.pop_front();
                }
            }
            Update::Details { name, fields } => {
                self.pane = Pane::Details {
                    source: index,
                    name,
                    fields,
                };
            }
            Update::CronRuns { job, lines } => {
                if let Pane::Cron { runs, .. } = &mut self.pane {
                    *runs = Some((job, lines));
                }
            }
            Update::Reload { result, applied } => {
                if applied {
                    self.status = match result {
                        Ok(d) if d.is_empty() => "reload: nothing changed".into(),
                        Ok(d) => format!("reload: {}", describe_diff(&d)),
                        Err(e) => format!("reload failed: {e}"),
                    };
                    if matches!(self.pane, Pane::Reload { .. }) {
                        self.pane = Pane::List;
                    }
                } else if let Pane::Reload { source, diff } = &mut self.pane {
                    if *source == index {
                        *diff = Some(result);
                    }
                }
            }
            Update::Message(m) => self.status = m,
        }
    }

    /// Recomputes the visible rows after data, filter, sort or grouping changed; keeps
    /// the selection on the same process when it is still there.
    pub fn rebuild(&mut self) {
        let keep = self
            .rows
            .get(self.selected)
            .and_then(|r| self.proc_of(r).map(|p| (row_source(r), p.name.clone())));
        let mut procs: Vec<(usize, usize)> = Vec::new();
        for (s, view) in self.sources.iter().enumerate() {
            for (i, p) in view.procs.iter().enumerate() {
                if self.matches_filter(&view.name, p) {
                    procs.push((s, i));
                }
            }
        }
        let key = self.sort;
        let sources = &self.sources;
        procs.sort_by(|&(sa, ia), &(sb, ib)| {
            let (a, b) = (&sources[sa].procs[ia], &sources[sb].procs[ib]);
            let primary = match key {
                SortKey::Name => std::cmp::Ordering::Equal,
                SortKey::State => a.state.cmp(&b.state),
                SortKey::Pid => a.pid.cmp(&b.pid),
                // Longest running first reads naturally as "uptime descending".
                SortKey::Uptime => b.started_at.cmp(&a.started_at),
                SortKey::Restarts => a.restarts.cmp(&b.restarts),
                SortKey::Cpu => a.cpu.unwrap_or(0.0).total_cmp(&b.cpu.unwrap_or(0.0)),
                SortKey::Mem => a.rss_bytes.cmp(&b.rss_bytes),
            };
            primary
                .then_with(|| sa.cmp(&sb))
                .then_with(|| a.name.cmp(&b.name))
        });
        if self.reverse {
            procs.reverse();
        }
        let mut rows = Vec::with_capacity(procs.len());
        if self.grouped {
            let mut groups: Vec<(usize, &str)> = procs
                .iter()
                .map(|&(s, i)| (s, self.sources[s].procs[i].group.as_str()))
                .collect();
            groups.sort();
            groups.dedup();
            for (s, g) in groups {
                let members: Vec<&(usize, usize)> = procs
                    .iter()
                    .filter(|&&(ps, pi)| ps == s && self.sources[s].procs[pi].group == g)
                    .collect();
                rows.push(Row::Group {
                    source: s,
                    group: g.to_string(),
                    count: members.len(),
                });
                rows.extend(
                    members
                        .into_iter()
                        .map(|&(source, index)| Row::Proc { source, index }),
                );
            }
        } else {
            rows.extend(
                procs
                    .into_iter()
                    .map(|(source, index)| Row::Proc { source, index }),
            );
        }
        self.rows = rows;
        if let Some((s, name)) = keep {
            if let Some(i) = self
                .rows
                .iter()
                .position(|r| row_source(r) == s && self.proc_of(r).is_some_and(|p| p.name == name))
            {
                self.selected = i;
            }
        }
        self.selected = self.selected.min(self.rows.len().saturating_sub(1));
        self.dirty = true;
    }

    fn matches_filter(&self, node: &str, p: &Proc) -> bool {
        match &self.filter_re {
            None => true,
            Some((inverse, re)) => {
                let hit = re.is_match(&p.name) || re.is_match(&p.state) || re.is_match(node);
                hit != *inverse
            }
        }
    }

    fn set_filter(&mut self) {
        let (inverse, pattern) = match self.filter.strip_prefix('!') {
            Some(rest) => (true, rest),
            None => (false, self.filter.as_str()),
        };
        self.filter_re = if pattern.is_empty() {
            None
        } else {
            // A pattern that is not a valid regex is matched literally.
            let re = Regex::new(&format!("(?i){pattern}"))
                .or_else(|_| Regex::new(&format!("(?i){}", regex::escape(pattern))))
                .ok();
            re.map(|r| (inverse, r))
        };
        self.rebuild();
    }

    /// Keeps the selection on screen for a list `height` rows tall.
    pub fn scroll_to_selection(&mut self, height: usize) {
        if height == 0 {
            return;
        }
        if self.selected < self.offset {
            self.offset = self.selected;
        } else if self.selected >= self.offset + height {
            self.offset = self.selected + 1 - height;
        }
        let max_offset = self.rows.len().saturating_sub(height);
        self.offset = self.offset.min(max_offset);
    }

    /// A digest of every time text the visible rows show at `now`: when it is the same
    /// as at the last draw, a tick has nothing to redraw.
    pub fn clock_fingerprint(&self, now: i64, height: usize) -> u64 {
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        for row in self.rows.iter().skip(self.offset).take(height) {
            if let Some(p) = self.proc_of(row) {
                crate::ui::uptime_text(p, now).hash(&mut h);
                crate::ui::next_run_text(p, now).hash(&mut h);
            }
        }
        for view in &self.sources {
            if let Reach::Unreachable { since, .. } = &view.reach {
                crate::ui::ago(now - since).hash(&mut h);
            }
        }
        h.finish()
    }

    /// The processes an action applies to: the tagged ones, else the selected process,
    /// else (on a group heading) the group's members. Cron jobs without a process are
    /// left out: they run from the cron pane.
    fn targets(&self) -> Vec<(usize, String)> {
        if !self.tagged.is_empty() {
            return self.tagged.iter().cloned().collect();
        }
        match self.rows.get(self.selected) {
            Some(Row::Group { source, group, .. }) => self.sources[*source]
                .procs
                .iter()
                .filter(|p| &p.group == group && !(p.is_cron && p.restarts.is_none()))
                .map(|p| (*source, p.name.clone()))
                .collect(),
            Some(r @ Row::Proc { source, .. }) => match self.proc_of(r) {
                Some(p) if p.is_cron && p.restarts.is_none() => Vec::new(),
                Some(p) => vec![(*source, p.name.clone())],
                None => Vec::new(),
            },
            None => Vec::new(),
        }
    }

    /// Builds the requests of `action` on the targets; more than one asks y/N first.
    fn act(&mut self, action: Action) -> Vec<(usize, Request)> {
        if self.readonly {
            self.status = "read-only (--readonly): actions are off".into();
            return Vec::new();
        }
        let targets = self.targets();
        if targets.is_empty() {
            self.status = "nothing to act on (a cron job runs from the cron pane: c)".into();
            return Vec::new();
        }
        let mut by_source: Vec<(usize, Vec<String>)> = Vec::new();
        for (s, n) in &targets {
            match by_source.iter_mut().find(|(bs, _)| bs == s) {
                Some((_, names)) => names.push(n.clone()),
                None => by_source.push((*s, vec![n.clone()])),
            }
        }
        let requests: Vec<(usize, Request)> = by_source
            .into_iter()
            .map(|(s, names)| {
                (
                    s,
                    Request::Act {
                        names,
                        action: action.clone(),
                    },
                )
            })
            .collect();
        if targets.len() > 1 {
            self.confirm = Some(Confirm {
                question: format!("{} {} processes?", action.verb(), targets.len()),
                requests,
            });
            return Vec::new();
        }
        self.status = format!("{} {}…", action.verb(), targets[0].1);
        requests
    }

    fn move_selection(&mut self, delta: isize) {
        let len = self.rows.len();
        if len == 0 {
            return;
        }
        let next = (self.selected as isize + delta).clamp(0, len as isize - 1);
        self.selected = next as usize;
    }

    /// Handles one key; returns what to ask the sources.
    pub fn handle_key(&mut self, key: KeyEvent) -> Vec<(usize, Request)> {
        self.dirty = true;
        if key.modifiers.contains(KeyModifiers::CONTROL) && key.code == KeyCode::Char('c') {
            self.quit = true;
            return Vec::new();
        }
        if let Some(confirm) = self.confirm.take() {
            if matches!(key.code, KeyCode::Char('y') | KeyCode::Char('Y')) {
                self.status = format!("{}…", confirm.question.trim_end_matches('?'));
                self.tagged.clear();
                return confirm.requests;
            }
            self.status = "cancelled".into();
            return Vec::new();
        }
        if self.editing_filter {
            match key.code {
                KeyCode::Enter => self.editing_filter = false,
                KeyCode::Esc => {
                    self.editing_filter = false;
                    self.filter.clear();
                    self.set_filter();
                }
                KeyCode::Backspace => {
                    self.filter.pop();
                    self.set_filter();
                }
                KeyCode::Char(c) => {
                    self.filter.push(c);
                    self.set_filter();
                }
                _ => {}
            }
            return Vec::new();
        }
        match self.pane.clone() {
            Pane::Help => {
                self.pane = Pane::List;
                if matches!(key.code, KeyCode::Char('q')) {
                    self.quit = true;
                }
                return Vec::new();
            }
            Pane::Details { .. } => {
                if matches!(key.code, KeyCode::Char('q')) {
                    self.quit = true;
                }
                self.pane = Pane::List;
                return Vec::new();
            }
            Pane::Signal { selected } => return self.signal_key(key, selected),
            Pane::Cron { selected, .. } => return self.cron_key(key, selected),
            Pane::Commands { selected } => return self.commands_key(key, selected),
            Pane::Reload { source, diff } => {
                self.pane = Pane::List;
                if matches!(key.code, KeyCode::Char('y') | KeyCode::Char('Y'))
                    && matches!(diff, Some(Ok(_)))
                {
                    self.status = "reloading…".into();
                    return vec![(source, Request::Reload { apply: true })];
                }
                self.status = "reload cancelled".into();
                return Vec::new();
            }
            Pane::Log | Pane::List => {}
        }
        let page = 10;
        match key.code {
            KeyCode::Char('q') | KeyCode::F(10) => self.quit = true,
            KeyCode::Esc => {
                if self.pane == Pane::Log {
                    return self.close_log();
                }
                if !self.tagged.is_empty() {
                    self.tagged.clear();
                } else if !self.filter.is_empty() {
                    self.filter.clear();
                    self.set_filter();
                }
            }
            KeyCode::Char('?') | KeyCode::F(1) => self.pane = Pane::Help,
            KeyCode::Up => self.move_selection(-1),
            KeyCode::Down | KeyCode::Char('j') => self.move_selection(1),
            KeyCode::PageUp => self.move_selection(-page),
            KeyCode::PageDown => self.move_selection(page),
            KeyCode::Home | KeyCode::Char('g') => self.selected = 0,
            KeyCode::End | KeyCode::Char('G') => self.move_selection(isize::MAX / 2),
            KeyCode::Char('/') | KeyCode::F(3) => self.editing_filter = true,
            KeyCode::Char('t') | KeyCode::F(5) => {
                self.grouped = !self.grouped;
                self.rebuild();
            }
            KeyCode::Char('o') | KeyCode::F(6) => {
                let i = SortKey::ALL
                    .iter()
                    .position(|k| *k == self.sort)
                    .unwrap_or(0);
                self.sort = SortKey::ALL[(i + 1) % SortKey::ALL.len()];
                self.rebuild();
            }
            KeyCode::Char('I') => {
                self.reverse = !self.reverse;
                self.rebuild();
            }
            KeyCode::Char(c @ ('N' | 'P' | 'U' | 'C' | 'M')) => {
                let key = match c {
                    'N' => SortKey::Name,
                    'P' => SortKey::Pid,
                    'U' => SortKey::Uptime,
                    'C' => SortKey::Cpu,
                    _ => SortKey::Mem,
                };
                if self.sort == key {
                    self.reverse = !self.reverse;
                } else {
                    self.sort = key;
                    self.reverse = matches!(key, SortKey::Cpu | SortKey::Mem);
                }
                self.rebuild();
            }
            KeyCode::Char(' ') => {
                if let Some((s, p)) = self.selected_proc() {
                    let key = (s, p.name.clone());
                    if !self.tagged.remove(&key) {
                        self.tagged.insert(key);
                    }
                }
                self.move_selection(1);
            }
            KeyCode::Enter => {
                if let Some((s, p)) = self.selected_proc() {
                    return vec![(s, Request::Details(p.name.clone()))];
                }
            }
            KeyCode::Char('l') => {
                if let Some((s, p)) = self.selected_proc() {
                    let name = p.name.clone();
                    self.log = Some(LogView {
                        source: s,
                        name: name.clone(),
                        lines: VecDeque::new(),
                        back: 0,
                    });
                    self.pane = Pane::Log;
                    return vec![(s, Request::Follow(Some(name)))];
                }
            }
            KeyCode::Char('f') if self.pane == Pane::Log => {
                if let Some(log) = self.log.as_mut() {
                    log.back = if log.back == 0 { 1 } else { 0 };
                }
            }
            KeyCode::Char('b') if self.pane == Pane::Log => {
                if let Some(log) = self.log.as_mut() {
                    log.back = (log.back + page as usize).min(log.lines.len());
                }
            }
            KeyCode::Char('s') => return self.act(Action::Start),
            KeyCode::Char('S') => return self.act(Action::Stop),
            KeyCode::Char('r') => return self.act(Action::Restart),
            KeyCode::Char('k') => {
                if self.readonly {
                    self.status = "read-only (--readonly): actions are off".into();
                } else {
                    self.pane = Pane::Signal { selected: 0 };
                }
            }
            KeyCode::Char('c') => {
                self.pane = Pane::Cron {
                    selected: 0,
                    runs: None,
                }
            }
            KeyCode::Char('m') => self.pane = Pane::Commands { selected: 0 },
            KeyCode::Char('R') => {
                if self.readonly {
                    self.status = "read-only (--readonly): actions are off".into();
                } else {
                    let source = self.selected_proc().map(|(s, _)| s).unwrap_or(0);
                    self.pane = Pane::Reload { source, diff: None };
                    return vec![(source, Request::Reload { apply: false })];
                }
            }
            _ => self.dirty = false,
        }
        Vec::new()
    }

    fn close_log(&mut self) -> Vec<(usize, Request)> {
        self.pane = Pane::List;
        match self.log.take() {
            Some(log) => vec![(log.source, Request::Follow(None))],
            None => Vec::new(),
        }
    }

    fn signal_key(&mut self, key: KeyEvent, selected: usize) -> Vec<(usize, Request)> {
        match key.code {
            KeyCode::Up => {
                self.pane = Pane::Signal {
                    selected: selected.saturating_sub(1),
                }
            }
            KeyCode::Down => {
                self.pane = Pane::Signal {
                    selected: (selected + 1).min(SIGNALS.len() - 1),
                }
            }
            KeyCode::Char(d @ '1'..='7') => {
                self.pane = Pane::List;
                let i = d as usize - '1' as usize;
                return self.act(Action::Signal(SIGNALS[i].into()));
            }
            KeyCode::Enter => {
                self.pane = Pane::List;
                return self.act(Action::Signal(SIGNALS[selected].into()));
            }
            _ => self.pane = Pane::List,
        }
        Vec::new()
    }

    /// All cron jobs with the source each comes from.
    pub fn cron_jobs(&self) -> Vec<(usize, &CronJob)> {
        self.sources
            .iter()
            .enumerate()
            .flat_map(|(s, v)| v.cron.iter().map(move |j| (s, j)))
            .collect()
    }

    /// All declared commands with the source each comes from.
    pub fn commands(&self) -> Vec<(usize, &CommandInfo)> {
        self.sources
            .iter()
            .enumerate()
            .flat_map(|(s, v)| v.commands.iter().map(move |c| (s, c)))
            .collect()
    }

    fn cron_key(&mut self, key: KeyEvent, selected: usize) -> Vec<(usize, Request)> {
        let jobs: Vec<(usize, String)> = self
            .cron_jobs()
            .into_iter()
            .map(|(s, j)| (s, j.name.clone()))
            .collect();
        let current = jobs.get(selected).cloned();
        let runs = match &self.pane {
            Pane::Cron { runs, .. } => runs.clone(),
            _ => None,
        };
        let action = match key.code {
            KeyCode::Up => {
                self.pane = Pane::Cron {
                    selected: selected.saturating_sub(1),
                    runs: None,
                };
                return Vec::new();
            }
            KeyCode::Down => {
                self.pane = Pane::Cron {
                    selected: (selected + 1).min(jobs.len().saturating_sub(1)),
                    runs: None,
                };
                return Vec::new();
            }
            KeyCode::Char('h') | KeyCode::Enter => {
                return match current {
                    Some((s, job)) => vec![(s, Request::CronRuns(job))],
                    None => Vec::new(),
                };
            }
            KeyCode::Char('n') => CronAction::Run,
            KeyCode::Char('e') => CronAction::Enable,
            KeyCode::Char('d') => CronAction::Disable,
            KeyCode::Char('q') => {
                self.quit = true;
                return Vec::new();
            }
            _ => {
                if runs.is_some() {
                    self.pane = Pane::Cron {
                        selected,
                        runs: None,
                    };
                } else {
                    self.pane = Pane::List;
                }
                return Vec::new();
            }
        };
        if self.readonly {
            self.status = "read-only (--readonly): actions are off".into();
            return Vec::new();
        }
        match current {
            Some((s, job)) => {
                self.status = format!("cron {job}…");
                vec![(s, Request::Cron { job, action })]
            }
            None => Vec::new(),
        }
    }

    fn commands_key(&mut self, key: KeyEvent, selected: usize) -> Vec<(usize, Request)> {
        let list: Vec<(usize, String)> = self
            .commands()
            .into_iter()
            .map(|(s, c)| (s, c.name.clone()))
            .collect();
        match key.code {
            KeyCode::Up => {
                self.pane = Pane::Commands {
                    selected: selected.saturating_sub(1),
                }
            }
            KeyCode::Down => {
                self.pane = Pane::Commands {
                    selected: (selected + 1).min(list.len().saturating_sub(1)),
                }
            }
            KeyCode::Enter => {
                if self.readonly {
                    self.status = "read-only (--readonly): actions are off".into();
                } else if let Some((s, name)) = list.get(selected).cloned() {
                    // A command does whatever it was written to do: ask first.
                    self.confirm = Some(Confirm {
                        question: format!("run {name}?"),
                        requests: vec![(s, Request::RunCommand(name))],
                    });
                }
            }
            KeyCode::Char('q') => self.quit = true,
            _ => self.pane = Pane::List,
        }
        Vec::new()
    }
}

fn row_source(r: &Row) -> usize {
    match r {
        Row::Group { source, .. } | Row::Proc { source, .. } => *source,
    }
}

/// Cron jobs show as rows: on the process of the same name when the daemon lists one,
/// else as a row of their own.
fn merge_cron_rows(view: &mut SourceView) {
    for job in &view.cron {
        let state = if job.running {
            "RUNNING"
        } else if job.enabled {
            "IDLE"
        } else {
            "PAUSED"
        };
        match view.procs.iter_mut().find(|p| p.name == job.name) {
            Some(p) => {
                p.is_cron = true;
                p.next_run = job.next_run;
            }
            None => {
                let mut row = Proc::new(&job.name, &job.name, state);
                row.is_cron = true;
                row.next_run = job.next_run;
                row.description = job.schedule_words.clone();
                view.procs.push(row);
            }
        }
    }
}

fn merge_resources(view: &mut SourceView) {
    for p in &mut view.procs {
        match p.pid.and_then(|pid| view.resources.get(&pid)) {
            Some(&(cpu, mem)) => {
                p.cpu = Some(cpu);
                p.rss_bytes = Some(mem);
            }
            None => {
                p.cpu = None;
                p.rss_bytes = None;
            }
        }
    }
}

/// "added a, b; changed c; removed d".
pub fn describe_diff(d: &ReloadDiff) -> String {
    let mut parts = Vec::new();
    for (label, list) in [
        ("added", &d.added),
        ("changed", &d.changed),
        ("removed", &d.removed),
    ] {
        if !list.is_empty() {
            parts.push(format!("{label} {}", list.join(", ")));
        }
    }
    if parts.is_empty() {
        "nothing changed".into()
    } else {
        parts.join("; ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Flavor;

    fn key(c: char) -> KeyEvent {
        KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE)
    }

    fn app_with(names: &[&str]) -> App {
        let mut app = App::new(&["local".into()], false);
        app.apply(0, Update::Reach(Reach::Up(Flavor::Steward)));
        let procs = names
            .iter()
            .map(|n| {
                let (g, _) = n.split_once(':').unwrap_or((n, n));
                let mut p = Proc::new(n, g, "RUNNING");
                p.pid = Some(100);
                p.restarts = Some(0);
                p
            })
            .collect();
        app.apply(0, Update::Processes(procs));
        app
    }

    #[test]
    fn one_process_acts_at_once_several_ask_first() {
        let mut app = app_with(&["web", "worker:w0", "worker:w1"]);
        let reqs = app.handle_key(key('S'));
        assert_eq!(
            reqs,
            vec![(
                0,
                Request::Act {
                    names: vec!["web".into()],
                    action: Action::Stop
                }
            )]
        );
        app.handle_key(KeyEvent::new(KeyCode::Down, KeyModifiers::NONE));
        app.handle_key(key(' '));
        app.handle_key(key(' '));
        assert_eq!(app.tagged.len(), 2);
        assert!(app.handle_key(key('r')).is_empty(), "asks first");
        assert_eq!(
            app.confirm.as_ref().unwrap().question,
            "restart 2 processes?"
        );
        assert!(app.handle_key(key('n')).is_empty(), "N cancels");
        assert!(app.handle_key(key('r')).is_empty());
        let reqs = app.handle_key(key('y'));
        assert_eq!(
            reqs,
            vec![(
                0,
                Request::Act {
                    names: vec!["worker:w0".into(), "worker:w1".into()],
                    action: Action::Restart
                }
            )]
        );
        assert!(app.tagged.is_empty());
    }

    #[test]
    fn readonly_refuses_every_action() {
        let mut app = app_with(&["web"]);
        app.readonly = true;
        for c in ['s', 'S', 'r', 'k', 'R'] {
            assert!(app.handle_key(key(c)).is_empty(), "{c}");
            assert!(app.status.contains("read-only"), "{c}: {}", app.status);
        }
    }

    #[test]
    fn filter_sort_and_groups() {
        let mut app = app_with(&["web", "worker:w0", "worker:w1", "api"]);
        app.handle_key(key('/'));
        for c in "work".chars() {
            app.handle_key(key(c));
        }
        app.handle_key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE));
        assert_eq!(app.rows.len(), 2);
        app.filter = "!work".into();
        app.set_filter();
        assert_eq!(app.rows.len(), 2, "inverse filter");
        app.filter.clear();
        app.set_filter();
        app.handle_key(key('t'));
        assert_eq!(app.rows.len(), 4 + 3, "three group headings");
        assert!(matches!(&app.rows[0], Row::Group { group, .. } if group == "api"));
        app.handle_key(key('t'));
        app.handle_key(key('N'));
        let first = app.proc_of(&app.rows[0]).unwrap().name.clone();
        assert_eq!(first, "worker:w1", "N twice reverses the name order");
    }

    #[test]
    fn log_lines_follow_the_opened_process() {
        let mut app = app_with(&["web"]);
        let reqs = app.handle_key(key('l'));
        assert_eq!(reqs, vec![(0, Request::Follow(Some("web".into())))]);
        app.apply(
            0,
            Update::LogLines {
                name: "web".into(),
                lines: vec!["a".into()],
                reset: true,
            },
        );
        app.apply(
            0,
            Update::LogLines {
                name: "other".into(),
                lines: vec!["x".into()],
                reset: false,
            },
        );
        assert_eq!(app.log.as_ref().unwrap().lines, ["a"]);
        let reqs = app.handle_key(KeyEvent::new(KeyCode::Esc, KeyModifiers::NONE));
        assert_eq!(reqs, vec![(0, Request::Follow(None))]);
    }

    #[test]
    fn unchanged_resources_do_not_redraw() {
        let mut app = app_with(&["web"]);
        app.apply(0, Update::Resources(vec![(100, 1.5, 4096)]));
        assert_eq!(app.sources[0].procs[0].cpu, Some(1.5));
        app.dirty = false;
        app.apply(0, Update::Resources(vec![(100, 1.5, 4096)]));
        assert!(!app.dirty);
    }
}
