//! supervisorctl's interactive shell: `status` on entry, `<prompt>> ` line editing with
//! history (`history_file`) and tab completion of actions, groups and processes.

use super::controller::{prompt_line, Controller, COMMANDS};
use rustyline::completion::{Completer, Pair};
use rustyline::error::ReadlineError;
use rustyline::highlight::Highlighter;
use rustyline::hint::Hinter;
use rustyline::history::DefaultHistory;
use rustyline::validate::Validator;
use rustyline::{Context, Editor, Helper};
use std::cell::RefCell;
use std::io::IsTerminal;
use std::rc::Rc;
use steward_rpc::client::Client;
use steward_rpc::Value;

/// readline's default word delimiters minus `:`, `*` and `-` (supervisorctl's change).
const DELIMS: &str = " \t\n`~!@#$%^&()=+[{]}\\|;'\",<>/?";

/// What the completer needs from the controller.
#[derive(Default)]
struct Shared {
    serverurl: String,
    username: Option<String>,
    password: Option<String>,
    /// (group, name) of every process; reset after each command.
    cache: Option<Vec<(String, String)>>,
}

struct CtlHelper {
    shared: Rc<RefCell<Shared>>,
}

impl CtlHelper {
    fn infos(&self) -> Vec<(String, String)> {
        let mut s = self.shared.borrow_mut();
        if s.cache.is_none() {
            let infos = Client::new(&s.serverurl, s.username.as_deref(), s.password.as_deref())
                .and_then(|mut c| c.call("supervisor.getAllProcessInfo", &[]))
                .ok()
                .and_then(|v| match v {
                    Value::Array(a) => Some(a),
                    _ => None,
                })
                .unwrap_or_default();
            let pairs = infos
                .iter()
                .map(|i| {
                    let f = |k: &str| i.get(k).and_then(Value::as_str).unwrap_or("").to_string();
                    (f("group"), f("name"))
                })
                .collect();
            s.cache = Some(pairs);
        }
        s.cache.clone().unwrap_or_default()
    }
}

/// The vocabulary: `help` plus every `do_*` of the default plugin.
fn vocab() -> Vec<&'static str> {
    let mut v = vec!["help"];
    v.extend(COMMANDS.iter().copied());
    v
}

/// supervisorctl's `complete`: candidates (with a trailing space) for `text`, the word
/// under the cursor, given the whole `line`.
pub fn candidates(
    line: &str,
    text: &str,
    infos: &dyn Fn() -> Vec<(String, String)>,
) -> Vec<String> {
    let actions = |t: &str| -> Vec<String> {
        vocab()
            .into_iter()
            .filter(|a| a.starts_with(t))
            .map(|a| format!("{a} "))
            .collect()
    };
    if line.trim().is_empty() {
        return actions(text);
    }
    let words: Vec<&str> = line.split_whitespace().collect();
    let action = words[0];
    if words.len() == 1 && !line.ends_with(' ') {
        return actions(text);
    }
    // `action in ('help')` is a substring test in supervisorctl.
    if "help".contains(action) {
        return actions(text);
    }
    if ["add", "remove", "update"].contains(&action) {
        let mut groups: Vec<String> = Vec::new();
        for (g, _) in infos() {
            if !groups.contains(&g) {
                groups.push(g);
            }
        }
        return groups
            .into_iter()
            .filter(|g| g.starts_with(text))
            .map(|g| format!("{g} "))
            .collect();
    }
    if [
        "clear", "fg", "pid", "restart", "signal", "start", "status", "stop", "tail",
    ]
    .contains(&action)
    {
        let mut procs: Vec<String> = Vec::new();
        for (g, n) in infos() {
            if text.contains(':') || n != g {
                procs.push(format!("{g}:{n}"));
                let star = format!("{g}:*");
                if !procs.contains(&star) {
                    procs.push(star);
                }
            } else {
                procs.push(n);
            }
        }
        return procs
            .into_iter()
            .filter(|p| p.starts_with(text))
            .map(|p| format!("{p} "))
            .collect();
    }
    Vec::new()
}

impl Completer for CtlHelper {
    type Candidate = Pair;

    fn complete(
        &self,
        line: &str,
        pos: usize,
        _ctx: &Context<'_>,
    ) -> rustyline::Result<(usize, Vec<Pair>)> {
        let start = line[..pos]
            .char_indices()
            .rev()
            .find(|(_, c)| DELIMS.contains(*c))
            .map(|(i, c)| i + c.len_utf8())
            .unwrap_or(0);
        let text = &line[start..pos];
        let mut seen = Vec::new();
        for c in candidates(line, text, &|| self.infos()) {
            if !seen.contains(&c) {
                seen.push(c);
            }
        }
        Ok((
            start,
            seen.into_iter()
                .map(|c| Pair {
                    display: c.trim_end().to_string(),
                    replacement: c,
                })
                .collect(),
        ))
    }
}

impl Hinter for CtlHelper {
    type Hint = String;
}
impl Highlighter for CtlHelper {}
impl Validator for CtlHelper {}
impl Helper for CtlHelper {}

fn sync(shared: &Rc<RefCell<Shared>>, ctl: &Controller) {
    let mut s = shared.borrow_mut();
    s.serverurl = ctl.options.serverurl.clone();
    s.username = ctl.options.username.clone();
    s.password = ctl.options.password.clone();
    s.cache = None;
}

/// `exec_cmdloop`: runs `status`, then reads commands until EOF/quit/exit/Ctrl-C.
pub fn cmdloop(ctl: &mut Controller) {
    let prompt = format!("{}> ", ctl.options.prompt);
    if ctl.onecmd("status") {
        return;
    }
    if !std::io::stdin().is_terminal() {
        // cmd.Cmd with input(): prompt on stdout, one line at a time.
        loop {
            let line = prompt_line(&prompt).unwrap_or_else(|| "EOF".into());
            if ctl.onecmd(&line) {
                return;
            }
        }
    }
    let shared = Rc::new(RefCell::new(Shared::default()));
    sync(&shared, ctl);
    let mut rl: Editor<CtlHelper, DefaultHistory> = match Editor::new() {
        Ok(rl) => rl,
        Err(_) => return,
    };
    rl.set_helper(Some(CtlHelper {
        shared: shared.clone(),
    }));
    let history = ctl.options.history_file.clone();
    if let Some(h) = &history {
        let _ = rl.load_history(h);
    }
    loop {
        match rl.readline(&prompt) {
            Ok(line) => {
                if !line.trim().is_empty() {
                    let _ = rl.add_history_entry(line.as_str());
                }
                let stop = ctl.onecmd(&line);
                sync(&shared, ctl);
                if stop {
                    break;
                }
            }
            Err(ReadlineError::Eof) => {
                if ctl.onecmd("EOF") {
                    break;
                }
            }
            Err(ReadlineError::Interrupted) => {
                ctl.output("");
                break;
            }
            Err(_) => break,
        }
    }
    if let Some(h) = &history {
        let _ = rl.save_history(h);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn completion_candidates() {
        let infos = || {
            vec![
                ("cat".to_string(), "cat".to_string()),
                ("g".to_string(), "a".to_string()),
                ("g".to_string(), "b".to_string()),
            ]
        };
        assert_eq!(candidates("", "", &infos).len(), 23);
        assert_eq!(candidates("sta", "sta", &infos), vec!["start ", "status "]);
        assert_eq!(
            candidates("start ", "", &infos),
            vec!["cat ", "g:a ", "g:* ", "g:b "]
        );
        assert_eq!(
            candidates("start g:", "g:", &infos),
            vec!["g:a ", "g:* ", "g:b "]
        );
        assert_eq!(candidates("add ", "", &infos), vec!["cat ", "g "]);
        assert_eq!(candidates("help st", "st", &infos).len(), 3);
    }
}
