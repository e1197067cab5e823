//! The supervisorctl command set: parsing of one command line, every `do_*` command
//! with supervisorctl 4.3.0's exact output lines and LSB exit statuses, and `help`.

use super::pyfmt::{repr_bytes, repr_str};
use super::CtlOptions;
use std::io::{BufRead, Write};
use steward_rpc::client::{self, Client, ClientError, StreamEnd};
use steward_rpc::faults;
use steward_rpc::Value;

/// LSB init-script exit statuses used by supervisorctl.
pub mod exit {
    pub const SUCCESS: i32 = 0;
    pub const GENERIC: i32 = 1;
    pub const INVALID_ARGS: i32 = 2;
    pub const UNIMPLEMENTED_FEATURE: i32 = 3;
    pub const INSUFFICIENT_PRIVILEGES: i32 = 4;
    pub const NOT_INSTALLED: i32 = 5;
    pub const NOT_RUNNING: i32 = 7;
    /// `status`-specific codes.
    pub const STATUS_NOT_RUNNING: i32 = 3;
    pub const STATUS_UNKNOWN: i32 = 4;
}

const API_VERSION: &str = "3.0";
const RUNNING: i32 = 20;
/// STOPPED, EXITED, FATAL, UNKNOWN.
const STOPPED_STATES: [i32; 4] = [0, 100, 200, 1000];

/// The commands of the default plugin, sorted (as `dir()` lists them).
pub const COMMANDS: &[&str] = &[
    "add", "avail", "clear", "exit", "fg", "help", "maintail", "open", "pid", "quit", "reload",
    "remove", "reread", "restart", "shutdown", "signal", "start", "status", "stop", "tail",
    "update", "version",
];

/// An exception escaping a command: printed by `onecmd` as
/// `error: <class 'X'>, msg: file: F line: N`.
#[derive(Debug)]
pub enum CmdError {
    Client(ClientError),
    Py {
        class: &'static str,
        msg: String,
        file: &'static str,
        line: u32,
    },
}

impl From<ClientError> for CmdError {
    fn from(e: ClientError) -> CmdError {
        CmdError::Client(e)
    }
}

type CmdResult = Result<bool, CmdError>;

const PY_SOCKET: &str = "/usr/lib/python3.11/socket.py";
const PY_XMLRPC_CLIENT: &str = "/usr/lib/python3.11/xmlrpc/client.py";
const SUP_XMLRPC: &str = "/usr/lib/python3/dist-packages/supervisor/xmlrpc.py";
const SUP_CTL: &str = "/usr/lib/python3/dist-packages/supervisor/supervisorctl.py";

fn value_error(msg: String, line: u32) -> CmdError {
    CmdError::Py {
        class: "ValueError",
        msg,
        file: SUP_CTL,
        line,
    }
}

impl CmdError {
    fn render(&self) -> String {
        let (class, msg, file, line): (String, String, &str, u32) = match self {
            CmdError::Py {
                class,
                msg,
                file,
                line,
            } => (class.to_string(), msg.clone(), file, *line),
            CmdError::Client(e) => match e {
                ClientError::Fault(f) => (
                    "xmlrpc.client.Fault".into(),
                    format!("<Fault {}: {}>", f.code, repr_str(&f.string)),
                    PY_XMLRPC_CLIENT,
                    668,
                ),
                ClientError::ConnRefused => (
                    "ConnectionRefusedError".into(),
                    "[Errno 111] Connection refused".into(),
                    PY_SOCKET,
                    836,
                ),
                ClientError::NoSuchFile => (
                    "FileNotFoundError".into(),
                    "[Errno 2] No such file or directory".into(),
                    SUP_XMLRPC,
                    557,
                ),
                ClientError::Unauthorized => (
                    "xmlrpc.client.ProtocolError".into(),
                    "<ProtocolError for 127.0.0.1/RPC2: 401 Unauthorized>".into(),
                    SUP_XMLRPC,
                    539,
                ),
                ClientError::Status(code, reason) => (
                    "xmlrpc.client.ProtocolError".into(),
                    format!("<ProtocolError for 127.0.0.1/RPC2: {code} {reason}>"),
                    SUP_XMLRPC,
                    539,
                ),
                ClientError::Io(e) => {
                    let class = match e.kind() {
                        std::io::ErrorKind::ConnectionReset => "ConnectionResetError",
                        std::io::ErrorKind::PermissionDenied => "PermissionError",
                        std::io::ErrorKind::BrokenPipe => "BrokenPipeError",
                        _ => "OSError",
                    };
                    let msg = match e.raw_os_error() {
                        Some(n) => format!("[Errno {n}] {}", nix::errno::Errno::from_raw(n).desc()),
                        None => e.to_string(),
                    };
                    (class.into(), msg, PY_SOCKET, 836)
                }
                ClientError::Protocol(_) => (
                    "http.client.RemoteDisconnected".into(),
                    "Remote end closed connection without response".into(),
                    "/usr/lib/python3.11/http/client.py",
                    287,
                ),
                ClientError::BadUrl(m) => ("ValueError".into(), m.clone(), SUP_XMLRPC, 508),
                // Python's https:// clients fail in ssl.py's handshake.
                ClientError::Tls(m) => (
                    "ssl.SSLError".into(),
                    m.clone(),
                    "/usr/lib/python3.11/ssl.py",
                    1346,
                ),
            },
        };
        format!("error: <class '{class}'>, {msg}: file: {file} line: {line}")
    }
}

/// `make_namespec`.
pub fn make_namespec(group: &str, name: &str) -> String {
    if group == name {
        name.to_string()
    } else {
        format!("{group}:{name}")
    }
}

/// `split_namespec`: (group, Some(process)) or (group, None) for `g:`/`g:*`.
pub fn split_namespec(ns: &str) -> (String, Option<String>) {
    match ns.split_once(':') {
        Some((g, p)) => {
            if p.is_empty() || p == "*" {
                (g.to_string(), None)
            } else {
                (g.to_string(), Some(p.to_string()))
            }
        }
        None => (ns.to_string(), Some(ns.to_string())),
    }
}

/// Python `str()` of an XML-RPC value as supervisorctl would print it with `%s`.
fn py_str(v: Option<&Value>) -> String {
    match v {
        None => "None".into(),
        Some(Value::String(s)) => s.clone(),
        Some(Value::Int(i)) => i.to_string(),
        Some(Value::Bool(b)) => if *b { "True" } else { "False" }.into(),
        Some(Value::Double(d)) => steward_rpc::xml::py_float_repr(*d),
        Some(Value::DateTime(s)) => s.clone(),
        Some(other) => format!("{other:?}"),
    }
}

fn field_str(v: &Value, k: &str) -> String {
    py_str(v.get(k))
}

fn field_int(v: &Value, k: &str) -> i32 {
    v.get(k).and_then(Value::as_int).unwrap_or(0)
}

fn truthy(v: Option<&Value>) -> bool {
    match v {
        None => false,
        Some(Value::Bool(b)) => *b,
        Some(Value::Int(i)) => *i != 0,
        Some(Value::String(s)) => !s.is_empty(),
        Some(Value::Double(d)) => *d != 0.0,
        Some(Value::Array(a)) => !a.is_empty(),
        Some(Value::Struct(s)) => !s.is_empty(),
        Some(Value::Base64(b)) => !b.is_empty(),
        Some(Value::DateTime(_)) => true,
    }
}

/// Python `'%-Ns' % s` (pads by characters).
fn ljust(s: &str, width: usize) -> String {
    let n = s.chars().count();
    if n >= width {
        s.to_string()
    } else {
        format!("{s}{}", " ".repeat(width - n))
    }
}

/// Python `int(text)` for command arguments.
fn py_int(text: &str) -> Option<i64> {
    let t = text.trim();
    if t.is_empty() || t.starts_with('_') || t.ends_with('_') || t.contains("__") {
        return None;
    }
    let cleaned: String = t.chars().filter(|c| *c != '_').collect();
    let digits = cleaned.strip_prefix(['+', '-']).unwrap_or(&cleaned);
    if digits.is_empty() || !digits.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    cleaned.parse::<i64>().ok()
}

fn array(v: Value) -> Vec<Value> {
    match v {
        Value::Array(a) => a,
        _ => Vec::new(),
    }
}

/// `cmd.Cmd.parseline`: (command, argument, stripped line).
pub fn parseline(line: &str) -> (Option<String>, String, String) {
    let mut line = line.trim().to_string();
    if line.is_empty() {
        return (None, String::new(), line);
    }
    if let Some(rest) = line.strip_prefix('?') {
        line = format!("help {rest}");
    } else if line.starts_with('!') {
        return (None, String::new(), line);
    }
    let i = line
        .char_indices()
        .find(|(_, c)| !(c.is_ascii_alphanumeric() || *c == '_'))
        .map(|(i, _)| i)
        .unwrap_or(line.len());
    let cmd = line[..i].to_string();
    let arg = line[i..].trim().to_string();
    (Some(cmd), arg, line)
}

/// The supervisorctl `Controller` with the default plugin's commands.
pub struct Controller {
    pub options: CtlOptions,
    pub exitstatus: i32,
    client: Option<(String, Option<String>, Option<String>, Client)>,
}

impl Controller {
    pub fn new(options: CtlOptions) -> Controller {
        Controller {
            options,
            exitstatus: exit::SUCCESS,
            client: None,
        }
    }

    /// Writes one line (plus `\n`) to stdout.
    pub fn output(&self, msg: &str) {
        let mut out = std::io::stdout().lock();
        let _ = out.write_all(msg.as_bytes());
        let _ = out.write_all(b"\n");
        let _ = out.flush();
    }

    pub fn flush(&self) {
        let _ = std::io::stdout().flush();
    }

    fn client(&mut self) -> Result<&mut Client, CmdError> {
        let o = &self.options;
        let stale = match &self.client {
            Some((url, u, p, _)) => *url != o.serverurl || *u != o.username || *p != o.password,
            None => true,
        };
        if stale {
            // supervisorctl refuses https://; a child of `ctl --node` on an https:// node
            // is told to accept it (ctl/nodes.rs).
            let c = if std::env::var_os(super::nodes::ALLOW_HTTPS_ENV).is_some() {
                let target = client::Target::parse_with_tls(&o.serverurl)?;
                Client::with_target(target, o.username.as_deref(), o.password.as_deref())?
            } else {
                Client::new(&o.serverurl, o.username.as_deref(), o.password.as_deref())?
            };
            self.client = Some((
                o.serverurl.clone(),
                o.username.clone(),
                o.password.clone(),
                c,
            ));
        }
        Ok(&mut self.client.as_mut().expect("client set").3)
    }

    /// One XML-RPC call on the current server.
    pub fn call(&mut self, method: &str, params: &[Value]) -> Result<Value, CmdError> {
        let c = self.client()?;
        c.call(method, params).map_err(CmdError::Client)
    }

    fn set_exitstatus_from_fault(&mut self, code: i32, ignored: Option<i32>) {
        if Some(code) == ignored || code == faults::SUCCESS {
        } else if [
            faults::SPAWN_ERROR,
            faults::ABNORMAL_TERMINATION,
            faults::NOT_RUNNING,
        ]
        .contains(&code)
        {
            self.exitstatus = exit::NOT_RUNNING;
        } else {
            self.exitstatus = exit::GENERIC;
        }
    }

    /// Runs one command line; returns true when the shell should stop.
    pub fn onecmd(&mut self, line: &str) -> bool {
        let (cmd, arg, line) = parseline(line);
        if line.is_empty() {
            return false;
        }
        let Some(cmd) = cmd else {
            self.default(&line);
            return false;
        };
        if cmd.is_empty() || !(COMMANDS.contains(&cmd.as_str()) || cmd == "EOF") {
            self.default(&line);
            return false;
        }
        match self.dispatch(&cmd, &arg) {
            Ok(stop) => stop,
            Err(CmdError::Client(ClientError::Unauthorized)) => {
                if self.options.interactive {
                    self.output("Server requires authentication");
                    let username = prompt_line("Username:").unwrap_or_default();
                    let password = getpass("Password:").unwrap_or_default();
                    self.output("");
                    self.options.username = Some(username);
                    self.options.password = Some(password);
                    return self.onecmd(&line);
                }
                self.output("Server requires authentication");
                self.exitstatus = exit::GENERIC;
                // supervisorctl then runs the command a second time, outside its 401
                // handler, so the second failure is reported as an exception.
                match self.dispatch(&cmd, &arg) {
                    Ok(stop) => stop,
                    Err(e) => {
                        self.output(&e.render());
                        self.exitstatus = exit::GENERIC;
                        false
                    }
                }
            }
            Err(e) => {
                if let CmdError::Client(ClientError::Status(..)) = e {
                    self.exitstatus = exit::GENERIC;
                }
                self.output(&e.render());
                self.exitstatus = exit::GENERIC;
                false
            }
        }
    }

    fn default(&mut self, line: &str) {
        self.output(&format!("*** Unknown syntax: {line}"));
        self.exitstatus = exit::GENERIC;
    }

    fn dispatch(&mut self, cmd: &str, arg: &str) -> CmdResult {
        match cmd {
            "EOF" | "quit" | "exit" => {
                self.output("");
                Ok(true)
            }
            "help" => self.do_help(arg),
            "tail" => self.do_tail(arg),
            "maintail" => self.do_maintail(arg),
            "status" => self.do_status(arg),
            "pid" => self.do_pid(arg),
            "start" => self.do_start(arg),
            "stop" => self.do_stop(arg),
            "signal" => self.do_signal(arg),
            "restart" => self.do_restart(arg),
            "shutdown" => self.do_shutdown(arg),
            "reload" => self.do_reload(arg),
            "avail" => self.do_avail(arg),
            "reread" => self.do_reread(arg),
            "add" => self.do_add(arg),
            "remove" => self.do_remove(arg),
            "update" => self.do_update(arg),
            "clear" => self.do_clear(arg),
            "open" => self.do_open(arg),
            "version" => self.do_version(arg),
            "fg" => self.do_fg(arg),
            _ => {
                self.default(cmd);
                Ok(false)
            }
        }
    }

    /// The connection check (`supervisor.getVersion`).
    fn upcheck(&mut self) -> Result<bool, CmdError> {
        match self.call("supervisor.getVersion", &[]) {
            Ok(v) => {
                let api = py_str(Some(&v));
                if api != API_VERSION {
                    self.output(&format!(
                        "Sorry, this version of supervisorctl expects to talk to a server with API version {API_VERSION}, but the remote version is {api}."
                    ));
                    self.exitstatus = exit::NOT_INSTALLED;
                    return Ok(false);
                }
                Ok(true)
            }
            Err(CmdError::Client(ClientError::Fault(f))) => {
                if f.code == faults::UNKNOWN_METHOD {
                    self.output("Sorry, supervisord responded but did not recognize the supervisor namespace commands that supervisorctl uses to control it.  Please check that the [rpcinterface:supervisor] section is enabled in the configuration file (see sample.conf).");
                    self.exitstatus = exit::UNIMPLEMENTED_FEATURE;
                    return Ok(false);
                }
                self.exitstatus = exit::GENERIC;
                Err(CmdError::Client(ClientError::Fault(f)))
            }
            Err(CmdError::Client(ClientError::ConnRefused)) => {
                self.output(&format!("{} refused connection", self.options.serverurl));
                self.exitstatus = exit::INSUFFICIENT_PRIVILEGES;
                Ok(false)
            }
            Err(CmdError::Client(ClientError::NoSuchFile)) => {
                self.output(&format!("{} no such file", self.options.serverurl));
                self.exitstatus = exit::NOT_RUNNING;
                Ok(false)
            }
            Err(e @ CmdError::Client(ClientError::Io(_))) => {
                self.exitstatus = exit::GENERIC;
                Err(e)
            }
            Err(e) => Err(e),
        }
    }

    // ---------------------------------------------------------------- help

    fn do_help(&mut self, arg: &str) -> CmdResult {
        if arg.trim() == "help" {
            self.output("help\t\tPrint a list of available actions");
            self.output("help <action>\tPrint help for <action>");
            return Ok(false);
        }
        if !arg.is_empty() {
            match help_text(arg) {
                Some(t) => self.output(t),
                None => self.output(&format!("*** No help on {arg}")),
            }
            return Ok(false);
        }
        self.output("");
        self.output("default commands (type help <topic>):");
        self.output("=====================================");
        self.output("add    exit      open  reload  restart   start   tail   ");
        self.output("avail  fg        pid   remove  shutdown  status  update ");
        self.output("clear  maintail  quit  reread  signal    stop    version");
        self.output("");
        Ok(false)
    }

    fn help(&self, cmd: &str) {
        if let Some(t) = help_text(cmd) {
            self.output(t);
        }
    }

    // ---------------------------------------------------------------- tail / maintail

    fn tailf(&mut self, path: &str) -> CmdResult {
        self.output("==> Press Ctrl-C to exit <==");
        let url = format!("{}{}", self.options.serverurl, path);
        let r = client::stream_get(
            &self.options.serverurl,
            self.options.username.as_deref(),
            self.options.password.as_deref(),
            path,
            feed,
            async {
                let _ = tokio::signal::ctrl_c().await;
            },
        );
        match r {
            Ok(StreamEnd::Cancelled) => self.output(""),
            Ok(StreamEnd::Eof) => {}
            Err(e) => stream_error(&url, &e),
        }
        Ok(false)
    }

    fn do_tail(&mut self, arg: &str) -> CmdResult {
        if !self.upcheck()? {
            return Ok(false);
        }
        let mut args: Vec<&str> = arg.split_whitespace().collect();
        if args.is_empty() {
            self.output("Error: too few arguments");
            self.exitstatus = exit::GENERIC;
            self.help("tail");
            return Ok(false);
        }
        if args.len() > 3 {
            self.output("Error: too many arguments");
            self.exitstatus = exit::GENERIC;
            self.help("tail");
            return Ok(false);
        }
        let modifier = if args[0].starts_with('-') {
            Some(args.remove(0))
        } else {
            None
        };
        let (name, channel) = if args.len() == 1 {
            (args[0].to_string(), "stdout".to_string())
        } else if !args.is_empty() {
            let channel = args[args.len() - 1].to_lowercase();
            if channel != "stderr" && channel != "stdout" {
                self.output(&format!("Error: bad channel {}", repr_str(&channel)));
                self.exitstatus = exit::GENERIC;
                return Ok(false);
            }
            (args[0].to_string(), channel)
        } else {
            self.output("Error: tail requires process name");
            self.exitstatus = exit::GENERIC;
            return Ok(false);
        };
        let mut bytes: Option<i64> = Some(1600);
        if let Some(m) = modifier {
            let what = &m[1..];
            if what == "f" {
                bytes = None;
            } else {
                match py_int(what) {
                    Some(n) => bytes = Some(n),
                    None => {
                        self.output(&format!("Error: bad argument {m}"));
                        self.exitstatus = exit::GENERIC;
                        return Ok(false);
                    }
                }
            }
        }
        let Some(bytes) = bytes else {
            return self.tailf(&format!("/logtail/{name}/{channel}"));
        };
        let offset = xmlrpc_int(-bytes)?;
        let method = if channel == "stdout" {
            "supervisor.readProcessStdoutLog"
        } else {
            "supervisor.readProcessStderrLog"
        };
        match self.call(method, &[name.as_str().into(), offset, 0.into()]) {
            Ok(v) => self.output(&py_str(Some(&v))),
            Err(CmdError::Client(ClientError::Fault(f))) => {
                self.exitstatus = exit::GENERIC;
                let what = match f.code {
                    faults::NO_FILE => "no log file",
                    faults::FAILED => "unknown error reading log",
                    faults::BAD_NAME => "no such process name",
                    _ => return Err(CmdError::Client(ClientError::Fault(f))),
                };
                self.output(&format!("{name}: ERROR ({what})"));
            }
            Err(e) => return Err(e),
        }
        Ok(false)
    }

    fn do_maintail(&mut self, arg: &str) -> CmdResult {
        if !self.upcheck()? {
            return Ok(false);
        }
        let args: Vec<&str> = arg.split_whitespace().collect();
        let bytes = if args.len() > 1 {
            self.output("Error: too many arguments");
            self.exitstatus = exit::GENERIC;
            self.help("maintail");
            return Ok(false);
        } else if args.len() == 1 {
            match args[0].strip_prefix('-') {
                Some("f") => return self.tailf("/mainlogtail"),
                Some(what) => match py_int(what) {
                    Some(n) => n,
                    None => {
                        self.output(&format!("Error: bad argument {}", args[0]));
                        self.exitstatus = exit::GENERIC;
                        return Ok(false);
                    }
                },
                None => {
                    self.output(&format!("Error: bad argument {}", args[0]));
                    self.exitstatus = exit::GENERIC;
                    return Ok(false);
                }
            }
        } else {
            1600
        };
        let offset = xmlrpc_int(-bytes)?;
        match self.call("supervisor.readLog", &[offset, 0.into()]) {
            Ok(v) => self.output(&py_str(Some(&v))),
            Err(CmdError::Client(ClientError::Fault(f))) => {
                self.exitstatus = exit::GENERIC;
                let what = match f.code {
                    faults::NO_FILE => "no log file",
                    faults::FAILED => "unknown error reading log",
                    _ => return Err(CmdError::Client(ClientError::Fault(f))),
                };
                self.output(&format!("supervisord: ERROR ({what})"));
            }
            Err(e) => return Err(e),
        }
        Ok(false)
    }

    // ---------------------------------------------------------------- status / pid

    /// Steward's health and dependency notes per namespec (`steward.getHealth`); empty
    /// against supervisord, or when no process has such options, so the status lines
    /// are then exactly supervisorctl's.
    fn health_notes(&mut self) -> std::collections::HashMap<String, String> {
        let mut notes = std::collections::HashMap::new();
        let Ok(entries) = self.call("steward.getHealth", &[]) else {
            return notes;
        };
        for e in array(entries) {
            let mut parts = Vec::new();
            let health = field_str(&e, "health");
            if !health.is_empty() {
                let message = field_str(&e, "message");
                if health == "unhealthy" && !message.is_empty() {
                    parts.push(format!("health: {health} ({message})"));
                } else {
                    parts.push(format!("health: {health}"));
                }
            }
            let waiting = field_str(&e, "waiting_for");
            if !waiting.is_empty() {
                parts.push(format!("waiting for {waiting}"));
            }
            if !parts.is_empty() {
                let ns = make_namespec(&field_str(&e, "group"), &field_str(&e, "name"));
                notes.insert(ns, format!("  [{}]", parts.join("; ")));
            }
        }
        notes
    }

    fn show_statuses(&self, infos: &[&Value], notes: &std::collections::HashMap<String, String>) {
        let namespecs: Vec<String> = infos
            .iter()
            .map(|i| make_namespec(&field_str(i, "group"), &field_str(i, "name")))
            .collect();
        let maxlen = namespecs
            .iter()
            .map(|n| n.chars().count())
            .max()
            .unwrap_or(0)
            .max(30);
        for (ns, info) in namespecs.iter().zip(infos) {
            self.output(&format!(
                "{}{}{}{}",
                ljust(ns, maxlen + 3),
                ljust(&field_str(info, "statename"), 10),
                field_str(info, "description"),
                notes.get(ns).map(String::as_str).unwrap_or("")
            ));
        }
    }

    pub(crate) fn do_status(&mut self, arg: &str) -> CmdResult {
        if !self.upcheck()? {
            self.exitstatus = exit::STATUS_UNKNOWN;
            return Ok(false);
        }
        let all = array(self.call("supervisor.getAllProcessInfo", &[])?);
        let names: Vec<&str> = arg.split_whitespace().collect();
        let matching: Vec<&Value> = if names.is_empty() || names.contains(&"all") {
            all.iter().collect()
        } else {
            let mut m = Vec::new();
            for name in names {
                let (group, process) = split_namespec(name);
                let mut bad = true;
                for info in &all {
                    let mut matched = field_str(info, "group") == group;
                    if let Some(p) = &process {
                        matched = matched && field_str(info, "name") == *p;
                    }
                    if matched {
                        bad = false;
                        m.push(info);
                    }
                }
                if bad {
                    if process.is_none() {
                        self.output(&format!("{group}: ERROR (no such group)"));
                    } else {
                        self.output(&format!("{name}: ERROR (no such process)"));
                    }
                    self.exitstatus = exit::STATUS_UNKNOWN;
                }
            }
            m
        };
        let notes = self.health_notes();
        self.show_statuses(&matching, &notes);
        for info in &matching {
            if STOPPED_STATES.contains(&field_int(info, "state")) {
                self.exitstatus = exit::STATUS_NOT_RUNNING;
            }
        }
        Ok(false)
    }

    fn do_pid(&mut self, arg: &str) -> CmdResult {
        self.client()?;
        if !self.upcheck()? {
            return Ok(false);
        }
        let names: Vec<&str> = arg.split_whitespace().collect();
        if names.is_empty() {
            let pid = self.call("supervisor.getPID", &[])?;
            self.output(&py_str(Some(&pid)));
        } else if names.contains(&"all") {
            for info in array(self.call("supervisor.getAllProcessInfo", &[])?) {
                self.output(&field_str(&info, "pid"));
            }
        } else {
            for name in names {
                match self.call("supervisor.getProcessInfo", &[name.into()]) {
                    Ok(info) => {
                        self.output(&field_str(&info, "pid"));
                        if field_int(&info, "pid") == 0 {
                            self.exitstatus = exit::NOT_RUNNING;
                        }
                    }
                    Err(CmdError::Client(ClientError::Fault(f))) => {
                        self.exitstatus = exit::GENERIC;
                        if f.code == faults::BAD_NAME {
                            self.output(&format!("No such process {name}"));
                        } else {
                            return Err(CmdError::Client(ClientError::Fault(f)));
                        }
                    }
                    Err(e) => return Err(e),
                }
            }
        }
        Ok(false)
    }

    // ---------------------------------------------------------------- start / stop / signal

    fn startresult(&self, group: &str, name: &str, code: i32) -> Result<String, CmdError> {
        let ns = make_namespec(group, name);
        let what = match code {
            faults::BAD_NAME => "no such process",
            faults::NO_FILE => "no such file",
            faults::NOT_EXECUTABLE => "file is not executable",
            faults::ALREADY_STARTED => "already started",
            faults::SPAWN_ERROR => "spawn error",
            faults::ABNORMAL_TERMINATION => "abnormal termination",
            faults::SUCCESS => return Ok(format!("{ns}: started")),
            _ => {
                return Err(value_error(
                    format!("Unknown result code {code} for {ns}"),
                    715,
                ))
            }
        };
        Ok(format!("{ns}: ERROR ({what})"))
    }

    fn result_lines(
        &mut self,
        results: Vec<Value>,
        kind: ResultKind,
        ignored: Option<i32>,
    ) -> Result<(), CmdError> {
        for r in results {
            let (g, n, code) = (
                field_str(&r, "group"),
                field_str(&r, "name"),
                field_int(&r, "status"),
            );
            let line = match kind {
                ResultKind::Start => self.startresult(&g, &n, code)?,
                ResultKind::Signal(success) => {
                    signalresult(&g, &n, code, &field_str(&r, "description"), success)?
                }
                ResultKind::Clear => clearresult(&g, &n, code)?,
            };
            self.output(&line);
            self.set_exitstatus_from_fault(code, ignored);
        }
        Ok(())
    }

    fn do_start(&mut self, arg: &str) -> CmdResult {
        if !self.upcheck()? {
            return Ok(false);
        }
        let names: Vec<&str> = arg.split_whitespace().collect();
        self.client()?;
        if names.is_empty() {
            self.output("Error: start requires a process name");
            self.exitstatus = exit::INVALID_ARGS;
            self.help("start");
            return Ok(false);
        }
        let ignored = Some(faults::ALREADY_STARTED);
        if names.contains(&"all") {
            let results = array(self.call("supervisor.startAllProcesses", &[])?);
            self.result_lines(results, ResultKind::Start, ignored)?;
            return Ok(false);
        }
        for name in names {
            let (group, process) = split_namespec(name);
            match process {
                None => match self.call("supervisor.startProcessGroup", &[group.as_str().into()]) {
                    Ok(r) => self.result_lines(array(r), ResultKind::Start, ignored)?,
                    Err(CmdError::Client(ClientError::Fault(f))) if f.code == faults::BAD_NAME => {
                        self.output(&format!("{group}: ERROR (no such group)"));
                        self.exitstatus = exit::INVALID_ARGS;
                    }
                    Err(e) => {
                        if let CmdError::Client(ClientError::Fault(_)) = e {
                            self.exitstatus = exit::GENERIC;
                        }
                        return Err(e);
                    }
                },
                Some(p) => match self.call("supervisor.startProcess", &[name.into()]) {
                    Ok(_) => self.output(&format!("{}: started", make_namespec(&group, &p))),
                    Err(CmdError::Client(ClientError::Fault(f))) => {
                        let line = self.startresult(&group, &p, f.code)?;
                        self.output(&line);
                        self.set_exitstatus_from_fault(f.code, ignored);
                    }
                    Err(e) => return Err(e),
                },
            }
        }
        Ok(false)
    }

    fn do_stop(&mut self, arg: &str) -> CmdResult {
        if !self.upcheck()? {
            return Ok(false);
        }
        let names: Vec<&str> = arg.split_whitespace().collect();
        self.client()?;
        if names.is_empty() {
            self.output("Error: stop requires a process name");
            self.exitstatus = exit::GENERIC;
            self.help("stop");
            return Ok(false);
        }
        let ignored = Some(faults::NOT_RUNNING);
        let kind = ResultKind::Signal("stopped");
        if names.contains(&"all") {
            let results = array(self.call("supervisor.stopAllProcesses", &[])?);
            self.result_lines(results, kind, ignored)?;
            return Ok(false);
        }
        for name in names {
            let (group, process) = split_namespec(name);
            match process {
                None => match self.call("supervisor.stopProcessGroup", &[group.as_str().into()]) {
                    Ok(r) => self.result_lines(array(r), kind, ignored)?,
                    Err(CmdError::Client(ClientError::Fault(f))) => {
                        self.exitstatus = exit::GENERIC;
                        if f.code == faults::BAD_NAME {
                            self.output(&format!("{group}: ERROR (no such group)"));
                        } else {
                            return Err(CmdError::Client(ClientError::Fault(f)));
                        }
                    }
                    Err(e) => return Err(e),
                },
                Some(p) => match self.call("supervisor.stopProcess", &[name.into()]) {
                    Ok(_) => self.output(&format!("{}: stopped", make_namespec(&group, &p))),
                    Err(CmdError::Client(ClientError::Fault(f))) => {
                        let line = signalresult(&group, &p, f.code, &f.string, "stopped")?;
                        self.output(&line);
                        self.set_exitstatus_from_fault(f.code, ignored);
                    }
                    Err(e) => return Err(e),
                },
            }
        }
        Ok(false)
    }

    fn do_signal(&mut self, arg: &str) -> CmdResult {
        if !self.upcheck()? {
            return Ok(false);
        }
        let args: Vec<&str> = arg.split_whitespace().collect();
        if args.len() < 2 {
            self.output("Error: signal requires a signal name and a process name");
            self.help("signal");
            self.exitstatus = exit::GENERIC;
            return Ok(false);
        }
        let sig = args[0];
        let names = &args[1..];
        self.client()?;
        let kind = ResultKind::Signal("signalled");
        if names.contains(&"all") {
            let results = array(self.call("supervisor.signalAllProcesses", &[sig.into()])?);
            self.result_lines(results, kind, None)?;
            return Ok(false);
        }
        for &name in names {
            let (group, process) = split_namespec(name);
            match process {
                None => match self.call(
                    "supervisor.signalProcessGroup",
                    &[group.as_str().into(), sig.into()],
                ) {
                    Ok(r) => self.result_lines(array(r), kind, None)?,
                    Err(CmdError::Client(ClientError::Fault(f))) if f.code == faults::BAD_NAME => {
                        self.output(&format!("{group}: ERROR (no such group)"));
                        self.exitstatus = exit::GENERIC;
                    }
                    Err(e) => return Err(e),
                },
                Some(p) => {
                    match self.call("supervisor.signalProcess", &[name.into(), sig.into()]) {
                        Ok(_) => self.output(&format!("{}: signalled", make_namespec(&group, &p))),
                        Err(CmdError::Client(ClientError::Fault(f))) => {
                            let line = signalresult(&group, &p, f.code, &f.string, "signalled")?;
                            self.output(&line);
                            self.set_exitstatus_from_fault(f.code, None);
                        }
                        Err(e) => return Err(e),
                    }
                }
            }
        }
        Ok(false)
    }

    fn do_restart(&mut self, arg: &str) -> CmdResult {
        if !self.upcheck()? {
            return Ok(false);
        }
        if arg.split_whitespace().next().is_none() {
            self.output("Error: restart requires a process name");
            self.exitstatus = exit::GENERIC;
            self.help("restart");
            return Ok(false);
        }
        self.do_stop(arg)?;
        self.do_start(arg)?;
        Ok(false)
    }

    // ---------------------------------------------------------------- shutdown / reload

    fn confirm(&self, question: &str) -> Result<bool, CmdError> {
        if !self.options.interactive {
            return Ok(true);
        }
        match prompt_line(question) {
            Some(a) => Ok(a.to_lowercase().starts_with('y')),
            None => Err(CmdError::Py {
                class: "EOFError",
                msg: "EOF when reading a line".into(),
                file: SUP_CTL,
                line: 1000,
            }),
        }
    }

    fn do_shutdown(&mut self, arg: &str) -> CmdResult {
        if !arg.is_empty() {
            self.output("Error: shutdown accepts no arguments");
            self.exitstatus = exit::GENERIC;
            self.help("shutdown");
            return Ok(false);
        }
        if !self.confirm("Really shut the remote supervisord process down y/N? ")? {
            return Ok(false);
        }
        match self.call("supervisor.shutdown", &[]) {
            Ok(_) => self.output("Shut down"),
            Err(CmdError::Client(ClientError::Fault(f))) => {
                if f.code == faults::SHUTDOWN_STATE {
                    self.output("ERROR: already shutting down");
                } else {
                    self.exitstatus = exit::GENERIC;
                    return Err(CmdError::Client(ClientError::Fault(f)));
                }
            }
            Err(CmdError::Client(ClientError::ConnRefused)) => {
                self.exitstatus = exit::GENERIC;
                self.output(&format!(
                    "ERROR: {} refused connection (already shut down?)",
                    self.options.serverurl
                ));
            }
            Err(CmdError::Client(ClientError::NoSuchFile)) => {
                self.exitstatus = exit::GENERIC;
                self.output(&format!(
                    "ERROR: {} no such file (already shut down?)",
                    self.options.serverurl
                ));
            }
            Err(e @ CmdError::Client(ClientError::Io(_))) => {
                self.exitstatus = exit::GENERIC;
                return Err(e);
            }
            Err(e) => return Err(e),
        }
        Ok(false)
    }

    fn do_reload(&mut self, arg: &str) -> CmdResult {
        if !arg.is_empty() {
            self.output("Error: reload accepts no arguments");
            self.exitstatus = exit::GENERIC;
            self.help("reload");
            return Ok(false);
        }
        if !self.confirm("Really restart the remote supervisord process y/N? ")? {
            return Ok(false);
        }
        match self.call("supervisor.restart", &[]) {
            Ok(_) => self.output("Restarted supervisord"),
            Err(CmdError::Client(ClientError::Fault(f))) => {
                self.exitstatus = exit::GENERIC;
                if f.code == faults::SHUTDOWN_STATE {
                    self.output("ERROR: already shutting down");
                } else {
                    return Err(CmdError::Client(ClientError::Fault(f)));
                }
            }
            Err(e) => return Err(e),
        }
        Ok(false)
    }

    // ---------------------------------------------------------------- config commands

    fn do_avail(&mut self, arg: &str) -> CmdResult {
        if !arg.is_empty() {
            self.output("Error: avail accepts no arguments");
            self.exitstatus = exit::GENERIC;
            self.help("avail");
            return Ok(false);
        }
        match self.call("supervisor.getAllConfigInfo", &[]) {
            Ok(v) => {
                for c in array(v) {
                    let name = make_namespec(&field_str(&c, "group"), &field_str(&c, "name"));
                    let inuse = if truthy(c.get("inuse")) {
                        "in use"
                    } else {
                        "avail"
                    };
                    let auto = if truthy(c.get("autostart")) {
                        "auto"
                    } else {
                        "manual"
                    };
                    let prio = format!(
                        "{}:{}",
                        field_str(&c, "group_prio"),
                        field_str(&c, "process_prio")
                    );
                    self.output(&format!(
                        "{} {} {} {}",
                        ljust(&name, 32),
                        ljust(inuse, 9),
                        ljust(auto, 9),
                        prio
                    ));
                }
            }
            Err(CmdError::Client(ClientError::Fault(f))) => {
                self.exitstatus = exit::GENERIC;
                if f.code == faults::SHUTDOWN_STATE {
                    self.output("ERROR: supervisor shutting down");
                } else {
                    return Err(CmdError::Client(ClientError::Fault(f)));
                }
            }
            Err(e) => return Err(e),
        }
        Ok(false)
    }

    fn reload_config(&mut self) -> Result<Result<[Vec<String>; 3], ClientError>, CmdError> {
        match self.call("supervisor.reloadConfig", &[]) {
            Ok(v) => {
                let first = array(v).into_iter().next().unwrap_or(Value::Array(vec![]));
                let mut parts = array(first).into_iter().map(|l| {
                    array(l)
                        .iter()
                        .map(|n| py_str(Some(n)))
                        .collect::<Vec<String>>()
                });
                let a = parts.next().unwrap_or_default();
                let c = parts.next().unwrap_or_default();
                let r = parts.next().unwrap_or_default();
                Ok(Ok([a, c, r]))
            }
            Err(CmdError::Client(ClientError::Fault(f))) => Ok(Err(ClientError::Fault(f))),
            Err(e) => Err(e),
        }
    }

    fn do_reread(&mut self, arg: &str) -> CmdResult {
        if !arg.is_empty() {
            self.output("Error: reread accepts no arguments");
            self.exitstatus = exit::GENERIC;
            self.help("reread");
            return Ok(false);
        }
        match self.reload_config()? {
            Ok([added, changed, dropped]) => {
                let mut map: std::collections::BTreeMap<String, &str> = Default::default();
                for (names, t) in [
                    (&added, "available"),
                    (&changed, "changed"),
                    (&dropped, "disappeared"),
                ] {
                    for n in names {
                        map.insert(n.clone(), t);
                    }
                }
                if map.is_empty() {
                    self.output("No config updates to processes");
                } else {
                    for (n, t) in map {
                        self.output(&format!("{n}: {t}"));
                    }
                }
            }
            Err(ClientError::Fault(f)) => {
                self.exitstatus = exit::GENERIC;
                if f.code == faults::SHUTDOWN_STATE {
                    self.output("ERROR: supervisor shutting down");
                } else if f.code == faults::CANT_REREAD {
                    self.output(&format!("ERROR: {}", f.string));
                } else {
                    return Err(CmdError::Client(ClientError::Fault(f)));
                }
            }
            Err(e) => return Err(e.into()),
        }
        Ok(false)
    }

    fn do_add(&mut self, arg: &str) -> CmdResult {
        self.client()?;
        for name in arg.split_whitespace() {
            match self.call("supervisor.addProcessGroup", &[name.into()]) {
                Ok(_) => self.output(&format!("{name}: added process group")),
                Err(CmdError::Client(ClientError::Fault(f))) => match f.code {
                    faults::SHUTDOWN_STATE => {
                        self.output("ERROR: shutting down");
                        self.exitstatus = exit::GENERIC;
                    }
                    faults::ALREADY_ADDED => self.output("ERROR: process group already active"),
                    faults::BAD_NAME => {
                        self.output(&format!("ERROR: no such process/group: {name}"));
                        self.exitstatus = exit::GENERIC;
                    }
                    _ => {
                        self.exitstatus = exit::GENERIC;
                        return Err(CmdError::Client(ClientError::Fault(f)));
                    }
                },
                Err(e) => return Err(e),
            }
        }
        Ok(false)
    }

    fn do_remove(&mut self, arg: &str) -> CmdResult {
        self.client()?;
        for name in arg.split_whitespace() {
            match self.call("supervisor.removeProcessGroup", &[name.into()]) {
                Ok(_) => self.output(&format!("{name}: removed process group")),
                Err(CmdError::Client(ClientError::Fault(f))) => {
                    self.exitstatus = exit::GENERIC;
                    match f.code {
                        faults::STILL_RUNNING => {
                            self.output(&format!("ERROR: process/group still running: {name}"))
                        }
                        faults::BAD_NAME => {
                            self.output(&format!("ERROR: no such process/group: {name}"))
                        }
                        _ => return Err(CmdError::Client(ClientError::Fault(f))),
                    }
                }
                Err(e) => return Err(e),
            }
        }
        Ok(false)
    }

    fn do_update(&mut self, arg: &str) -> CmdResult {
        self.client()?;
        let [added, changed, removed] = match self.reload_config()? {
            Ok(r) => r,
            Err(ClientError::Fault(f)) => {
                self.exitstatus = exit::GENERIC;
                if f.code == faults::SHUTDOWN_STATE {
                    self.output("ERROR: already shutting down");
                    return Ok(false);
                }
                return Err(CmdError::Client(ClientError::Fault(f)));
            }
            Err(e) => return Err(e.into()),
        };
        let mut valid: Vec<String> = Vec::new();
        for g in arg.split_whitespace() {
            if !valid.iter().any(|v| v == g) {
                valid.push(g.to_string());
            }
        }
        if valid.iter().any(|v| v == "all") {
            valid.clear();
        }
        if !valid.is_empty() {
            let mut groups: Vec<String> = array(self.call("supervisor.getAllProcessInfo", &[])?)
                .iter()
                .map(|i| field_str(i, "group"))
                .collect();
            groups.extend(added.iter().cloned());
            // Python iterates a set: order is unspecified; use the command line order.
            for g in &valid {
                if !groups.contains(g) {
                    self.output(&format!("ERROR: no such group: {g}"));
                    self.exitstatus = exit::GENERIC;
                }
            }
        }
        let wanted = |g: &String| valid.is_empty() || valid.contains(g);
        for g in removed.iter().filter(|g| wanted(g)) {
            let results = array(self.call("supervisor.stopProcessGroup", &[g.as_str().into()])?);
            self.output(&format!("{g}: stopped"));
            if results
                .iter()
                .any(|r| field_int(r, "status") == faults::FAILED)
            {
                self.output(&format!("{g}: has problems; not removing"));
                self.exitstatus = exit::GENERIC;
                continue;
            }
            self.call("supervisor.removeProcessGroup", &[g.as_str().into()])?;
            self.output(&format!("{g}: removed process group"));
        }
        for g in changed.iter().filter(|g| wanted(g)) {
            self.call("supervisor.stopProcessGroup", &[g.as_str().into()])?;
            self.output(&format!("{g}: stopped"));
            self.call("supervisor.removeProcessGroup", &[g.as_str().into()])?;
            self.call("supervisor.addProcessGroup", &[g.as_str().into()])?;
            self.output(&format!("{g}: updated process group"));
        }
        for g in added.iter().filter(|g| wanted(g)) {
            self.call("supervisor.addProcessGroup", &[g.as_str().into()])?;
            self.output(&format!("{g}: added process group"));
        }
        Ok(false)
    }

    // ---------------------------------------------------------------- clear / open / version

    fn do_clear(&mut self, arg: &str) -> CmdResult {
        if !self.upcheck()? {
            return Ok(false);
        }
        let names: Vec<&str> = arg.split_whitespace().collect();
        if names.is_empty() {
            self.output("Error: clear requires a process name");
            self.exitstatus = exit::GENERIC;
            self.help("clear");
            return Ok(false);
        }
        if names.contains(&"all") {
            let results = array(self.call("supervisor.clearAllProcessLogs", &[])?);
            self.result_lines(results, ResultKind::Clear, None)?;
            return Ok(false);
        }
        for name in names {
            let (group, process) = split_namespec(name);
            // `clear g:*` passes process None to make_namespec: Python prints "g:None".
            let pname = process.unwrap_or_else(|| "None".into());
            match self.call("supervisor.clearProcessLogs", &[name.into()]) {
                Ok(_) => self.output(&format!("{}: cleared", make_namespec(&group, &pname))),
                Err(CmdError::Client(ClientError::Fault(f))) => {
                    let line = clearresult(&group, &pname, f.code)?;
                    self.output(&line);
                    self.set_exitstatus_from_fault(f.code, None);
                }
                Err(e) => return Err(e),
            }
        }
        Ok(false)
    }

    fn do_open(&mut self, arg: &str) -> CmdResult {
        let url = arg.trim();
        let scheme = match url.split_once(':') {
            Some((s, _))
                if s.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
                    && s.chars()
                        .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c)) =>
            {
                s.to_lowercase()
            }
            _ => String::new(),
        };
        if scheme != "unix" && scheme != "http" {
            self.output("ERROR: url must be http:// or unix://");
            self.exitstatus = exit::GENERIC;
            return Ok(false);
        }
        self.options.serverurl = url.to_string();
        let old = self.exitstatus;
        let r = self.do_status("");
        self.exitstatus = old;
        r
    }

    fn do_version(&mut self, arg: &str) -> CmdResult {
        if !arg.is_empty() {
            self.output("Error: version accepts no arguments");
            self.exitstatus = exit::GENERIC;
            self.help("version");
            return Ok(false);
        }
        if !self.upcheck()? {
            return Ok(false);
        }
        let v = self.call("supervisor.getSupervisorVersion", &[])?;
        self.output(&py_str(Some(&v)));
        Ok(false)
    }

    // ---------------------------------------------------------------- fg

    fn do_fg(&mut self, arg: &str) -> CmdResult {
        if !self.upcheck()? {
            return Ok(false);
        }
        let names: Vec<&str> = arg.split_whitespace().collect();
        if names.is_empty() {
            self.output("ERROR: no process name supplied");
            self.exitstatus = exit::GENERIC;
            self.help("fg");
            return Ok(false);
        }
        if names.len() > 1 {
            self.output("ERROR: too many process names supplied");
            self.exitstatus = exit::GENERIC;
            return Ok(false);
        }
        let name = names[0].to_string();
        let info = match self.call("supervisor.getProcessInfo", &[name.as_str().into()]) {
            Ok(i) => i,
            Err(CmdError::Client(ClientError::Fault(f))) => {
                if f.code == faults::BAD_NAME {
                    self.output("ERROR: bad process name supplied");
                    self.exitstatus = exit::GENERIC;
                } else {
                    self.output(&format!(
                        "ERROR: <Fault {}: {}>",
                        f.code,
                        repr_str(&f.string)
                    ));
                }
                return Ok(false);
            }
            Err(e) => return Err(e),
        };
        if field_int(&info, "state") != RUNNING {
            self.output("ERROR: process not running");
            self.exitstatus = exit::GENERIC;
            return Ok(false);
        }
        self.output("==> Press Ctrl-C to exit <==");

        // Output thread: both channels of /logtail until told to stop.
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        let (url, user, pass) = (
            self.options.serverurl.clone(),
            self.options.username.clone(),
            self.options.password.clone(),
        );
        let prog = name.clone();
        let streamer = std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            let Ok(target) = client::Target::parse(&url) else {
                return;
            };
            rt.block_on(async {
                let one = |chan: &'static str| {
                    let mut stop = stop_rx.clone();
                    let path = format!("/logtail/{prog}/{chan}");
                    let full = format!("{url}{path}");
                    let (target, user, pass) = (target.clone(), user.clone(), pass.clone());
                    async move {
                        let r = client::stream_get_async(
                            &target,
                            user.as_deref(),
                            pass.as_deref(),
                            &path,
                            feed,
                            async move {
                                let _ = stop.wait_for(|s| *s).await;
                            },
                        )
                        .await;
                        if let Err(e) = r {
                            stream_error(&full, &e);
                        }
                    }
                };
                tokio::join!(one("stdout"), one("stderr"));
            });
        });

        // Input: one line at a time from stdin, interruptible by Ctrl-C.
        let (line_tx, mut line_rx) = tokio::sync::mpsc::unbounded_channel::<Option<String>>();
        std::thread::spawn(move || {
            let stdin = std::io::stdin();
            loop {
                let mut l = String::new();
                match stdin.lock().read_line(&mut l) {
                    Ok(0) | Err(_) => {
                        let _ = line_tx.send(None);
                        return;
                    }
                    Ok(_) => {
                        if l.ends_with('\n') {
                            l.pop();
                        }
                        if line_tx.send(Some(l)).is_err() {
                            return;
                        }
                    }
                }
            }
        });
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| CmdError::Client(ClientError::Io(e)))?;
        let finish = |ctl: &Controller, msgs: &[&str]| {
            for m in msgs {
                ctl.output(m);
            }
            let _ = stop_tx.send(true);
        };
        loop {
            let next = rt.block_on(async {
                tokio::select! {
                    l = line_rx.recv() => l.flatten(),
                    _ = tokio::signal::ctrl_c() => None,
                }
            });
            let Some(line) = next else {
                finish(self, &["Exiting foreground"]);
                break;
            };
            match self.call(
                "supervisor.sendProcessStdin",
                &[name.as_str().into(), format!("{line}\n").into()],
            ) {
                Ok(_) => {}
                Err(CmdError::Client(ClientError::Fault(f))) => {
                    if f.code == faults::NOT_RUNNING {
                        self.output("Process got killed");
                    } else {
                        self.output(&format!(
                            "ERROR: <Fault {}: {}>",
                            f.code,
                            repr_str(&f.string)
                        ));
                    }
                    finish(self, &["Exiting foreground"]);
                    break;
                }
                Err(e) => {
                    let _ = stop_tx.send(true);
                    let _ = streamer.join();
                    return Err(e);
                }
            }
            let info = self.call("supervisor.getProcessInfo", &[name.as_str().into()])?;
            if field_int(&info, "state") != RUNNING {
                finish(self, &["Process got killed", "Exiting foreground"]);
                break;
            }
        }
        let _ = streamer.join();
        Ok(false)
    }
}

#[derive(Clone, Copy)]
enum ResultKind {
    Start,
    Signal(&'static str),
    Clear,
}

fn signalresult(
    group: &str,
    name: &str,
    code: i32,
    description: &str,
    success: &str,
) -> Result<String, CmdError> {
    let ns = make_namespec(group, name);
    Ok(match code {
        faults::BAD_NAME => format!("{ns}: ERROR (no such process)"),
        faults::BAD_SIGNAL => format!("{ns}: ERROR (bad signal name)"),
        faults::NOT_RUNNING => format!("{ns}: ERROR (not running)"),
        faults::SUCCESS => format!("{ns}: {success}"),
        faults::FAILED => description.to_string(),
        _ => {
            return Err(value_error(
                format!("Unknown result code {code} for {ns}"),
                805,
            ))
        }
    })
}

fn clearresult(group: &str, name: &str, code: i32) -> Result<String, CmdError> {
    let ns = make_namespec(group, name);
    Ok(match code {
        faults::BAD_NAME => format!("{ns}: ERROR (no such process)"),
        faults::FAILED => format!("{ns}: ERROR (failed)"),
        faults::SUCCESS => format!("{ns}: cleared"),
        _ => {
            return Err(value_error(
                format!("Unknown result code {code} for {ns}"),
                1254,
            ))
        }
    })
}

fn xmlrpc_int(v: i64) -> Result<Value, CmdError> {
    i32::try_from(v).map(Value::Int).map_err(|_| CmdError::Py {
        class: "OverflowError",
        msg: "int exceeds XML-RPC limits".into(),
        file: PY_XMLRPC_CLIENT,
        line: 539,
    })
}

/// supervisorctl's stream `Listener.feed`: text as received, undecodable chunks as
/// `Undecodable: b'…'`.
fn feed(data: &[u8]) {
    let mut out = std::io::stdout().lock();
    match std::str::from_utf8(data) {
        Ok(s) => {
            let _ = out.write_all(s.as_bytes());
        }
        Err(_) => {
            let _ = out.write_all(format!("Undecodable: {}", repr_bytes(data)).as_bytes());
        }
    }
    let _ = out.flush();
}

/// supervisorctl's stream `Listener.error`, on stderr.
fn stream_error(url: &str, e: &ClientError) {
    let msg = match e {
        ClientError::Status(code, _) => format!("Cannot read, status code {code}"),
        ClientError::Unauthorized => "Cannot read, status code 401".into(),
        ClientError::ConnRefused => {
            "Cannot connect, error: <class 'ConnectionRefusedError'> ([Errno 111] Connection refused)".into()
        }
        ClientError::NoSuchFile => {
            "Cannot connect, error: <class 'FileNotFoundError'> ([Errno 2] No such file or directory)".into()
        }
        other => format!("Cannot connect, error: <class 'OSError'> ({other})"),
    };
    eprintln!("{url} {msg}");
}

/// `raw_input(prompt)`: the prompt on stdout, one line from stdin (None at EOF).
pub fn prompt_line(prompt: &str) -> Option<String> {
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(prompt.as_bytes());
    let _ = out.flush();
    drop(out);
    let mut l = String::new();
    match std::io::stdin().lock().read_line(&mut l) {
        Ok(0) | Err(_) => None,
        Ok(_) => {
            if l.ends_with('\n') {
                l.pop();
            }
            Some(l)
        }
    }
}

/// `getpass.getpass(prompt)`: no echo when stdin is a terminal.
fn getpass(prompt: &str) -> Option<String> {
    use nix::sys::termios::{tcgetattr, tcsetattr, LocalFlags, SetArg};
    let stdin = std::io::stdin();
    let saved = tcgetattr(&stdin).ok();
    if let Some(t) = &saved {
        let mut quiet = t.clone();
        quiet.local_flags.remove(LocalFlags::ECHO);
        let _ = tcsetattr(&stdin, SetArg::TCSANOW, &quiet);
    }
    let r = prompt_line(prompt);
    if let Some(t) = &saved {
        let _ = tcsetattr(&stdin, SetArg::TCSANOW, t);
        println!();
    }
    r
}

/// The output of `help <cmd>` (without the final newline `output` adds).
pub fn help_text(cmd: &str) -> Option<&'static str> {
    Some(match cmd {
        "tail" => "tail [-f] <name> [stdout|stderr] (default stdout)\nEx:\ntail -f <name>\t\tContinuous tail of named process stdout\n\t\t\tCtrl-C to exit.\ntail -100 <name>\tlast 100 *bytes* of process stdout\ntail <name> stderr\tlast 1600 *bytes* of process stderr",
        "maintail" => "maintail -f \tContinuous tail of supervisor main log file (Ctrl-C to exit)\nmaintail -100\tlast 100 *bytes* of supervisord main log file\nmaintail\tlast 1600 *bytes* of supervisor main log file\n",
        "quit" => "quit\tExit the supervisor shell.",
        "exit" => "exit\tExit the supervisor shell.",
        "status" => "status <name>\t\tGet status for a single process\nstatus <gname>:*\tGet status for all processes in a group\nstatus <name> <name>\tGet status for multiple named processes\nstatus\t\t\tGet all process status info",
        "pid" => "pid\t\t\tGet the PID of supervisord.\npid <name>\t\tGet the PID of a single child process by name.\npid all\t\t\tGet the PID of every child process, one per line.",
        "start" => "start <name>\t\tStart a process\nstart <gname>:*\t\tStart all processes in a group\nstart <name> <name>\tStart multiple processes or groups\nstart all\t\tStart all processes",
        "stop" => "stop <name>\t\tStop a process\nstop <gname>:*\t\tStop all processes in a group\nstop <name> <name>\tStop multiple processes or groups\nstop all\t\tStop all processes",
        "signal" => "signal <signal name> <name>\t\tSignal a process\nsignal <signal name> <gname>:*\t\tSignal all processes in a group\nsignal <signal name> <name> <name>\tSignal multiple processes or groups\nsignal <signal name> all\t\tSignal all processes",
        "restart" => "restart <name>\t\tRestart a process\nrestart <gname>:*\tRestart all processes in a group\nrestart <name> <name>\tRestart multiple processes or groups\nrestart all\t\tRestart all processes\nNote: restart does not reread config files. For that, see reread and update.",
        "shutdown" => "shutdown \tShut the remote supervisord down.",
        "reload" => "reload \t\tRestart the remote supervisord.",
        "avail" => "avail\t\t\tDisplay all configured processes",
        "reread" => "reread \t\t\tReload the daemon's configuration files without add/remove",
        "add" => "add <name> [...]\tActivates any updates in config for process/group",
        "remove" => "remove <name> [...]\tRemoves process/group from active config",
        "update" => "update\t\t\tReload config and add/remove as necessary, and will restart affected programs\nupdate all\t\tReload config and add/remove as necessary, and will restart affected programs\nupdate <gname> [...]\tUpdate specific groups",
        "clear" => "clear <name>\t\tClear a process' log files.\nclear <name> <name>\tClear multiple process' log files\nclear all\t\tClear all process' log files",
        "open" => "open <url>\tConnect to a remote supervisord process.\n\t\t(for UNIX domain socket, use unix:///socket/path)",
        "version" => "version\t\t\tShow the version of the remote supervisord process",
        "fg" => "fg <process>\tConnect to a process in foreground mode\n\t\tCtrl-C to exit",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_lines() {
        assert_eq!(
            parseline("  status  foo "),
            (Some("status".into()), "foo".into(), "status  foo".into())
        );
        assert_eq!(
            parseline("?start"),
            (Some("help".into()), "start".into(), "help start".into())
        );
        assert_eq!(parseline("!ls").0, None);
        assert_eq!(
            parseline("tail-f x"),
            (Some("tail".into()), "-f x".into(), "tail-f x".into())
        );
    }

    #[test]
    fn namespecs() {
        assert_eq!(split_namespec("a"), ("a".into(), Some("a".into())));
        assert_eq!(split_namespec("a:*"), ("a".into(), None));
        assert_eq!(split_namespec("a:"), ("a".into(), None));
        assert_eq!(split_namespec("a:b:c"), ("a".into(), Some("b:c".into())));
        assert_eq!(make_namespec("a", "a"), "a");
        assert_eq!(make_namespec("g", "a"), "g:a");
    }

    #[test]
    fn ints() {
        assert_eq!(py_int("100"), Some(100));
        assert_eq!(py_int("-5"), Some(-5));
        assert_eq!(py_int("1_0"), Some(10));
        assert_eq!(py_int("x"), None);
        assert_eq!(py_int(""), None);
    }
}
