//! `steward ctl`: a byte-compatible replacement for supervisorctl 4.3.0.
//!
//! [`main_ctl`] takes supervisorctl's argv (without the program name) and returns the
//! process exit status.

mod config;
mod controller;
mod nodes;
mod pyfmt;
mod shell;

pub use controller::Controller;

/// supervisorctl's usage text (`-h`); `%s` is replaced by the program name.
const USAGE: &str = "supervisorctl -- control applications run by supervisord from the cmd line.

Usage: %s [options] [action [arguments]]

Options:
-c/--configuration FILENAME -- configuration file path (searches if not given)
-h/--help -- print usage message and exit
-i/--interactive -- start an interactive shell after executing commands
-s/--serverurl URL -- URL on which supervisord server is listening
     (default \"http://localhost:9001\").
-u/--username USERNAME -- username to use for authentication with server
-p/--password PASSWORD -- password to use for authentication with server
-r/--history-file -- keep a readline history (if readline is available)

action [arguments] -- see below

Actions are commands like \"tail\" or \"stop\".  If -i is specified or no action is
specified on the command line, a \"shell\" interpreting actions typed
interactively is started.  Use the action \"help\" to find out about available
actions.
";

/// Resolved client options (command line over `[supervisorctl]` over defaults).
#[derive(Debug, Clone)]
pub struct CtlOptions {
    pub serverurl: String,
    pub username: Option<String>,
    pub password: Option<String>,
    pub prompt: String,
    pub history_file: Option<String>,
    pub interactive: bool,
    /// The action words, joined with spaces into one command line.
    pub args: Vec<String>,
    /// The config file read (`-c`, or the first found by supervisorctl's search).
    pub configfile: Option<String>,
}

enum Parsed {
    Options(CtlOptions),
    Exit(i32),
}

fn progname() -> String {
    std::env::args()
        .next()
        .unwrap_or_else(|| "supervisorctl".into())
}

fn usage_error(msg: &str) -> Parsed {
    eprintln!("Error: {msg}");
    eprintln!("For help, use {} -h", progname());
    Parsed::Exit(2)
}

/// datatypes.url: a scheme and a netloc or path.
fn is_url(value: &str) -> bool {
    match value.split_once(':') {
        Some((scheme, rest)) => {
            let valid_scheme = scheme
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_alphabetic())
                && scheme
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c));
            valid_scheme && !rest.is_empty() && rest != "//"
        }
        None => false,
    }
}

const LONG: &[(&str, bool)] = &[
    ("help", false),
    ("configuration", true),
    ("interactive", false),
    ("serverurl", true),
    ("username", true),
    ("password", true),
    ("history_file", true),
];

/// Python `getopt.getopt` (stops at the first non-option), then supervisorctl's option
/// realisation.
fn parse_args(argv: &[String]) -> Parsed {
    let mut opts: Vec<(String, String)> = Vec::new();
    let mut i = 0;
    while i < argv.len() {
        let a = &argv[i];
        if a == "--" {
            i += 1;
            break;
        }
        if let Some(long) = a.strip_prefix("--") {
            let (name, val) = match long.split_once('=') {
                Some((n, v)) => (n, Some(v.to_string())),
                None => (long, None),
            };
            if LONG.iter().any(|(n, _)| *n == name) {
                // exact match wins
            }
            let exact = LONG.iter().find(|(n, _)| *n == name);
            let cands: Vec<&(&str, bool)> = match exact {
                Some(e) => vec![e],
                None => LONG.iter().filter(|(n, _)| n.starts_with(name)).collect(),
            };
            let (full, takes) = match cands.as_slice() {
                [] => return usage_error(&format!("option --{name} not recognized")),
                [one] => **one,
                _ => return usage_error(&format!("option --{name} not a unique prefix")),
            };
            let val = if takes {
                match val {
                    Some(v) => v,
                    None => {
                        i += 1;
                        match argv.get(i) {
                            Some(v) => v.clone(),
                            None => {
                                return usage_error(&format!("option --{full} requires argument"))
                            }
                        }
                    }
                }
            } else {
                if val.is_some() {
                    return usage_error(&format!("option --{full} must not have an argument"));
                }
                String::new()
            };
            opts.push((format!("--{full}"), val));
            i += 1;
            continue;
        }
        if a.starts_with('-') && a != "-" {
            let chars: Vec<char> = a[1..].chars().collect();
            let mut j = 0;
            while j < chars.len() {
                let c = chars[j];
                let takes = match c {
                    'h' | '?' | 'i' => false,
                    'c' | 's' | 'u' | 'p' | 'r' => true,
                    _ => return usage_error(&format!("option -{c} not recognized")),
                };
                if takes {
                    let rest: String = chars[j + 1..].iter().collect();
                    let val = if !rest.is_empty() {
                        rest
                    } else {
                        i += 1;
                        match argv.get(i) {
                            Some(v) => v.clone(),
                            None => return usage_error(&format!("option -{c} requires argument")),
                        }
                    };
                    opts.push((format!("-{c}"), val));
                    break;
                }
                opts.push((format!("-{c}"), String::new()));
                j += 1;
            }
            i += 1;
            continue;
        }
        break;
    }
    let args: Vec<String> = argv[i..].to_vec();

    let mut configfile: Option<String> = None;
    let mut serverurl: Option<String> = None;
    let mut username: Option<String> = None;
    let mut password: Option<String> = None;
    let mut history: Option<String> = None;
    let mut interactive: Option<bool> = None;
    for (opt, val) in &opts {
        let slot: &mut Option<String> = match opt.as_str() {
            "-h" | "-?" | "--help" => {
                println!("{}", USAGE.replace("%s", &progname()));
                return Parsed::Exit(0);
            }
            "-i" | "--interactive" => {
                if interactive.is_some() {
                    return usage_error(&format!("conflicting command line option '{opt}'"));
                }
                interactive = Some(true);
                continue;
            }
            "-c" | "--configuration" => &mut configfile,
            "-s" | "--serverurl" => {
                if !is_url(val) {
                    return usage_error(&format!(
                        "invalid value for {opt} '{val}': value '{val}' is not a URL"
                    ));
                }
                &mut serverurl
            }
            "-u" | "--username" => &mut username,
            "-p" | "--password" => &mut password,
            "-r" | "--history_file" => &mut history,
            _ => unreachable!("getopt only returns known options"),
        };
        if slot.is_some() {
            return usage_error(&format!("conflicting command line option '{opt}'"));
        }
        *slot = Some(val.clone());
    }

    if configfile.is_none() {
        let exe = std::env::args().next().unwrap_or_default();
        let here = std::path::Path::new(&exe)
            .parent()
            .and_then(|p| p.parent())
            .map(|p| p.to_path_buf())
            .unwrap_or_default();
        let search = [
            here.join("etc").join("supervisord.conf"),
            here.join("supervisord.conf"),
            "supervisord.conf".into(),
            "etc/supervisord.conf".into(),
            "/etc/supervisord.conf".into(),
            "/etc/supervisor/supervisord.conf".into(),
        ];
        configfile = search
            .iter()
            .find(|p| p.exists())
            .map(|p| p.to_string_lossy().into_owned());
    }
    let section = match &configfile {
        Some(path) => match config::read_ctl_section(path) {
            Ok(s) => s,
            Err(e) => match e.strip_prefix(config::PARSE_ERROR_MARK) {
                Some(msg) => {
                    eprintln!("Traceback (most recent call last):");
                    eprintln!("configparser.{msg}");
                    return Parsed::Exit(1);
                }
                None => return usage_error(&e),
            },
        },
        None => config::CtlSection::default(),
    };
    let interactive = interactive.unwrap_or(false) || args.is_empty();
    Parsed::Options(CtlOptions {
        serverurl: serverurl
            .or(section.serverurl)
            .unwrap_or_else(|| "http://localhost:9001".into()),
        username: username.or(section.username),
        password: password.or(section.password),
        prompt: section.prompt.unwrap_or_else(|| "supervisor".into()),
        // supervisorctl stores -r under an option nobody reads: only the config counts.
        history_file: {
            let _ = history;
            section.history_file
        },
        interactive,
        args,
        configfile,
    })
}

/// supervisorctl's `main`: runs `action [args]` once and returns its exit status, or
/// runs the interactive shell (status 0).
pub fn main_ctl(args: Vec<String>) -> i32 {
    let node_args = match nodes::split_node_args(&args) {
        Ok(n) => n,
        Err(msg) => {
            usage_error(&msg);
            return 2;
        }
    };
    let opts = match parse_args(&node_args.rest) {
        Parsed::Options(o) => o,
        Parsed::Exit(code) => return code,
    };
    if !node_args.selected.is_empty() {
        // One command on one or many nodes (docs/nodes.md).
        return nodes::run(node_args, &opts);
    }
    let mut ctl = Controller::new(opts);
    if !ctl.options.args.is_empty() {
        let line = ctl.options.args.join(" ");
        ctl.onecmd(&line);
        ctl.flush();
        return ctl.exitstatus;
    }
    shell::cmdloop(&mut ctl);
    ctl.flush();
    0
}
