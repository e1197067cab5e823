//! The worker templates: which values each asks for (with defaults) and the program
//! section each renders. Signals, stop timeouts and grouping follow each project's own
//! supervisor recipe (docs/workers.md cites them); `laravel-queue` is seed 000's text.
//!
//! Data flow: [`Template::fields`] drives flags and prompts → [`Values`] (every field
//! resolved, defaults applied) → [`Template::render`] → a [`Rendered`] section plus what
//! must exist on this machine (binary, directory, user) for [`super::validate`].

use std::collections::BTreeMap;

/// A worker template.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Template {
    LaravelQueue,
    LaravelHorizon,
    LaravelScheduler,
    Uvicorn,
    Gunicorn,
    CeleryWorker,
    CeleryBeat,
    Rq,
    Generic,
}

/// How a field gets its value when none is given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fallback {
    /// Must be given (a flag, or an answer at the prompt).
    Required,
    /// This value.
    Value(&'static str),
    /// Left out of the file (or computed from other fields), as the hint says.
    Unset(&'static str),
}

/// One value a template asks for; `key` is also the flag name (`--key`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Field {
    pub key: &'static str,
    pub label: &'static str,
    pub fallback: Fallback,
}

const fn f(key: &'static str, label: &'static str, fallback: Fallback) -> Field {
    Field {
        key,
        label,
        fallback,
    }
}

use Fallback::{Required, Unset, Value as Def};

const NAME: Field = f("name", "Worker name", Required);
const LOG_DIR: Field = f("log-dir", "Log directory", Def("/var/log/supervisor"));
const NUMPROCS: Field = f("numprocs", "Number of processes", Def("1"));
const USER_NONE: Field = f("user", "Run as user", Unset("the daemon's user"));
const USER_WWW: Field = f("user", "Run as user", Def("www-data"));
const LARAVEL_PATH: Field = f("path", "Laravel project path", Required);
const PHP: Field = f("bin", "PHP binary", Def("php"));
const DIRECTORY: Field = f("directory", "Working directory", Required);

/// A template's name, one-line summary and upstream reference.
pub struct TemplateInfo {
    pub template: Template,
    pub name: &'static str,
    pub summary: &'static str,
    pub source: &'static str,
}

pub const TEMPLATES: &[TemplateInfo] = &[
    TemplateInfo {
        template: Template::LaravelQueue,
        name: "laravel-queue",
        summary: "php artisan queue:work (seed 000's file); TERM drains, stopwaitsecs 3600",
        source: "laravel/docs queues.md (Supervisor Configuration)",
    },
    TemplateInfo {
        template: Template::LaravelHorizon,
        name: "laravel-horizon",
        summary: "php artisan horizon; one process, stopwaitsecs 3600",
        source: "laravel/docs horizon.md (Supervisor Configuration)",
    },
    TemplateInfo {
        template: Template::LaravelScheduler,
        name: "laravel-scheduler",
        summary: "schedule:run every minute as a [cron:] job (--mode cron), or schedule:work (--mode work)",
        source: "laravel/docs scheduling.md (Running the Scheduler)",
    },
    TemplateInfo {
        template: Template::Uvicorn,
        name: "uvicorn",
        summary: "uvicorn APP --workers N; TERM with --timeout-graceful-shutdown, stopwaitsecs = that + 5",
        source: "encode/uvicorn docs/deployment/index.md, settings.md",
    },
    TemplateInfo {
        template: Template::Gunicorn,
        name: "gunicorn",
        summary: "gunicorn APP -w N; TERM within --graceful-timeout, stopwaitsecs = that + 5, killasgroup",
        source: "benoitc/gunicorn docs/content/deploy.md, signals.md, examples/supervisor.conf",
    },
    TemplateInfo {
        template: Template::CeleryWorker,
        name: "celery-worker",
        summary: "celery -A APP worker; TERM is a warm shutdown, stopwaitsecs 600, stopasgroup",
        source: "celery/celery extra/supervisord/celeryd.conf, docs/userguide/workers.rst",
    },
    TemplateInfo {
        template: Template::CeleryBeat,
        name: "celery-beat",
        summary: "celery -A APP beat; exactly one process",
        source: "celery/celery extra/supervisord/celerybeat.conf, docs/userguide/periodic-tasks.rst",
    },
    TemplateInfo {
        template: Template::Rq,
        name: "rq",
        summary: "rq worker QUEUES; TERM is a warm shutdown",
        source: "rq/rq docs/patterns/supervisor.md",
    },
    TemplateInfo {
        template: Template::Generic,
        name: "generic",
        summary: "any command; you choose the signal and the stop timeout",
        source: "supervisord [program:x] section",
    },
];

/// Resolved values, by field key.
pub type Values = BTreeMap<String, String>;

/// A rendered section and what it needs from the machine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    /// The section text (no header), ending with a newline.
    pub body: String,
    /// The executable the command starts (a path or a name looked up on PATH).
    pub binary: String,
    /// A directory that must exist.
    pub directory: Option<String>,
    /// A file that must exist (Laravel's `artisan`).
    pub required_file: Option<String>,
    pub user: Option<String>,
    /// The section is `[cron:x]` (only Steward runs it).
    pub is_cron: bool,
    /// Stop budget checks: (stopwaitsecs, the graceful timeout it must exceed by 5 s, what).
    pub stop_budget: Option<(u64, u64, &'static str)>,
    pub warnings: Vec<String>,
}

impl Template {
    pub fn by_name(name: &str) -> Option<Template> {
        TEMPLATES
            .iter()
            .find(|t| t.name == name)
            .map(|t| t.template)
    }

    pub fn info(self) -> &'static TemplateInfo {
        TEMPLATES
            .iter()
            .find(|t| t.template == self)
            .expect("every template is listed")
    }

    pub fn name(self) -> &'static str {
        self.info().name
    }

    /// The values this template asks for, in prompt order.
    pub fn fields(self) -> Vec<Field> {
        let sw = |d| f("stopwaitsecs", "Seconds to wait for a graceful stop", d);
        match self {
            Template::LaravelQueue => vec![
                NAME,
                LARAVEL_PATH,
                f("connection", "Queue connection", Def("database")),
                f("queue", "Queue names", Def("default")),
                NUMPROCS,
                USER_WWW,
                PHP,
                f(
                    "sleep",
                    "Seconds to sleep when the queue is empty",
                    Def("3"),
                ),
                f("tries", "Attempts per job", Def("3")),
                f("max-time", "Seconds before a worker restarts", Def("3600")),
                f(
                    "timeout",
                    "Seconds a job may run",
                    Unset("Laravel's default, 60"),
                ),
                sw(Def("3600")),
                LOG_DIR,
            ],
            Template::LaravelHorizon => {
                vec![NAME, LARAVEL_PATH, USER_WWW, PHP, sw(Def("3600")), LOG_DIR]
            }
            Template::LaravelScheduler => vec![
                NAME,
                LARAVEL_PATH,
                f(
                    "mode",
                    "cron (schedule:run every minute) or work (schedule:work)",
                    Def("cron"),
                ),
                USER_WWW,
                PHP,
                LOG_DIR,
            ],
            Template::Uvicorn => vec![
                NAME,
                DIRECTORY,
                f("app", "ASGI application (module:attribute)", Required),
                f("bin", "uvicorn binary", Def("uvicorn")),
                f("host", "Bind host", Def("127.0.0.1")),
                f("port", "Bind port", Def("8000")),
                f("workers", "Worker processes", Def("1")),
                f(
                    "graceful-timeout",
                    "Seconds for a graceful shutdown",
                    Def("30"),
                ),
                sw(Unset("graceful timeout + 5")),
                USER_NONE,
                LOG_DIR,
            ],
            Template::Gunicorn => vec![
                NAME,
                DIRECTORY,
                f("app", "WSGI application (module:attribute)", Required),
                f("bin", "gunicorn binary", Def("gunicorn")),
                f("bind", "Bind address", Def("127.0.0.1:8000")),
                f("workers", "Worker processes", Def("2")),
                f(
                    "graceful-timeout",
                    "Seconds for a graceful shutdown",
                    Def("30"),
                ),
                sw(Unset("graceful timeout + 5")),
                USER_NONE,
                LOG_DIR,
            ],
            Template::CeleryWorker => vec![
                NAME,
                DIRECTORY,
                f("app", "Celery application (-A)", Required),
                f("bin", "celery binary", Def("celery")),
                f("loglevel", "Log level", Def("INFO")),
                NUMPROCS,
                sw(Def("600")),
                USER_NONE,
                LOG_DIR,
            ],
            Template::CeleryBeat => vec![
                NAME,
                DIRECTORY,
                f("app", "Celery application (-A)", Required),
                f("bin", "celery binary", Def("celery")),
                f("loglevel", "Log level", Def("INFO")),
                f(
                    "schedule",
                    "Schedule database file",
                    Unset("celery's default"),
                ),
                USER_NONE,
                LOG_DIR,
            ],
            Template::Rq => vec![
                NAME,
                DIRECTORY,
                f("bin", "rq binary", Def("rq")),
                f(
                    "queue",
                    "Queue names, highest priority first",
                    Def("default"),
                ),
                f(
                    "url",
                    "Redis URL",
                    Unset("rq's default, redis://localhost:6379"),
                ),
                NUMPROCS,
                sw(Def("10")),
                USER_NONE,
                LOG_DIR,
            ],
            Template::Generic => vec![
                NAME,
                f("command", "Command", Required),
                f("directory", "Working directory", Unset("the daemon's")),
                NUMPROCS,
                f("stopsignal", "Stop signal", Def("TERM")),
                sw(Def("10")),
                USER_NONE,
                LOG_DIR,
            ],
        }
    }

    /// Renders the section. `v` holds every field of [`Template::fields`] that has a
    /// value (required ones always); values are already checked for line breaks.
    pub fn render(self, v: &Values) -> Result<Rendered, String> {
        let get = |k: &str| v.get(k).map(String::as_str);
        let req = |k: &str| get(k).ok_or_else(|| format!("--{k} is required"));
        let num = |k: &str| -> Result<Option<u64>, String> {
            get(k)
                .map(|s| {
                    s.parse::<u64>()
                        .map_err(|_| format!("--{k}: {s:?} is not a whole number"))
                })
                .transpose()
        };
        // Values go into an INI file that supervisord %-interpolates.
        let esc = |s: &str| s.replace('%', "%%");
        let name = req("name")?;
        let log_dir = req("log-dir")?.trim_end_matches('/').to_string();
        let numprocs = num("numprocs")?.unwrap_or(1);
        if numprocs == 0 {
            return Err("--numprocs must be at least 1".into());
        }
        let user = get("user").map(str::to_string);
        let mut out = Rendered {
            body: String::new(),
            binary: get("bin").unwrap_or_default().to_string(),
            directory: None,
            required_file: None,
            user: user.clone(),
            is_cron: false,
            stop_budget: None,
            warnings: Vec::new(),
        };
        let log_one = format!("{}/{}.log", esc(&log_dir), esc(name));
        let log_each = if numprocs > 1 {
            format!("{}/{}_%(process_num)02d.log", esc(&log_dir), esc(name))
        } else {
            log_one.clone()
        };
        let process_name = (numprocs > 1).then_some("%(program_name)s_%(process_num)02d");
        let user_line = |u: &Option<String>| match u {
            Some(u) => format!("user={}\n", esc(u)),
            None => String::new(),
        };
        let single = |what: &str| -> Result<(), String> {
            if numprocs != 1 {
                Err(format!(
                    "{what} runs exactly one process; --numprocs must be 1"
                ))
            } else {
                Ok(())
            }
        };
        let body = match self {
            Template::LaravelQueue => {
                let path = req("path")?.trim_end_matches('/');
                let php = req("bin")?;
                let timeout = num("timeout")?;
                let stopwaitsecs = num("stopwaitsecs")?.unwrap_or(3600);
                let mut cmd = format!(
                    "{} {}/artisan queue:work {} --queue={} --sleep={} --tries={} --max-time={}",
                    esc(php),
                    esc(path),
                    esc(req("connection")?),
                    esc(req("queue")?),
                    esc(req("sleep")?),
                    esc(req("tries")?),
                    esc(req("max-time")?),
                );
                if let Some(t) = timeout {
                    cmd.push_str(&format!(" --timeout={t}"));
                    if t >= 90 {
                        out.warnings.push(format!(
                            "--timeout={t} is not shorter than Laravel's default retry_after (90): a long job may run twice unless the connection's retry_after is larger"
                        ));
                    }
                }
                out.stop_budget = Some((stopwaitsecs, timeout.unwrap_or(60), "--timeout"));
                out.directory = Some(path.to_string());
                out.required_file = Some(format!("{path}/artisan"));
                // Seed 000's file, line for line (process_name even for one process).
                format!(
                    "[program:{name}]\n\
                     process_name=%(program_name)s_%(process_num)02d\n\
                     command={cmd}\n\
                     autostart=true\n\
                     autorestart=true\n\
                     stopasgroup=true\n\
                     killasgroup=true\n\
                     {user}\
                     numprocs={numprocs}\n\
                     redirect_stderr=true\n\
                     stdout_logfile={log_one}\n\
                     stopwaitsecs={stopwaitsecs}\n",
                    name = esc(name),
                    user = user_line(&user),
                )
            }
            Template::LaravelHorizon => {
                single("Horizon")?;
                let path = req("path")?.trim_end_matches('/');
                out.directory = Some(path.to_string());
                out.required_file = Some(format!("{path}/artisan"));
                format!(
                    "[program:{name}]\n\
                     process_name=%(program_name)s\n\
                     command={php} {path}/artisan horizon\n\
                     autostart=true\n\
                     autorestart=true\n\
                     {user}\
                     redirect_stderr=true\n\
                     stdout_logfile={log_one}\n\
                     stopwaitsecs={sw}\n",
                    name = esc(name),
                    php = esc(req("bin")?),
                    path = esc(path),
                    user = user_line(&user),
                    sw = num("stopwaitsecs")?.unwrap_or(3600),
                )
            }
            Template::LaravelScheduler => {
                single("The scheduler")?;
                let path = req("path")?.trim_end_matches('/');
                out.directory = Some(path.to_string());
                out.required_file = Some(format!("{path}/artisan"));
                let php = esc(req("bin")?);
                match req("mode")? {
                    // schedule:run may stay alive for the whole minute (sub-minute
                    // tasks), so runs are allowed to overlap, as cron lets them.
                    "cron" => {
                        out.is_cron = true;
                        format!(
                            "[cron:{name}]\n\
                             schedule=* * * * *\n\
                             overlap=allow\n\
                             command={php} {path}/artisan schedule:run\n\
                             directory={path}\n\
                             {user}\
                             redirect_stderr=true\n\
                             stdout_logfile={log_one}\n",
                            name = esc(name),
                            path = esc(path),
                            user = user_line(&user),
                        )
                    }
                    "work" => format!(
                        "[program:{name}]\n\
                         command={php} {path}/artisan schedule:work\n\
                         directory={path}\n\
                         autostart=true\n\
                         autorestart=true\n\
                         stopasgroup=true\n\
                         killasgroup=true\n\
                         {user}\
                         redirect_stderr=true\n\
                         stdout_logfile={log_one}\n\
                         stopwaitsecs=60\n",
                        name = esc(name),
                        path = esc(path),
                        user = user_line(&user),
                    ),
                    other => return Err(format!("--mode: {other:?} is not cron or work")),
                }
            }
            Template::Uvicorn | Template::Gunicorn => {
                let dir = req("directory")?;
                out.directory = Some(dir.to_string());
                let grace = num("graceful-timeout")?.unwrap_or(30);
                let sw = num("stopwaitsecs")?.unwrap_or(grace + 5);
                let workers = num("workers")?.unwrap_or(1);
                let (cmd, extra, what) = if self == Template::Uvicorn {
                    (
                        format!(
                            "{} {} --host {} --port {} --workers {workers} --timeout-graceful-shutdown {grace}",
                            esc(req("bin")?),
                            esc(req("app")?),
                            esc(req("host")?),
                            esc(req("port")?),
                        ),
                        "",
                        "--graceful-timeout (uvicorn --timeout-graceful-shutdown)",
                    )
                } else {
                    (
                        format!(
                            "{} {} --bind {} --workers {workers} --graceful-timeout {grace}",
                            esc(req("bin")?),
                            esc(req("app")?),
                            esc(req("bind")?),
                        ),
                        "killasgroup=true\n",
                        "--graceful-timeout (gunicorn graceful_timeout)",
                    )
                };
                out.stop_budget = Some((sw, grace, what));
                format!(
                    "[program:{name}]\n\
                     command={cmd}\n\
                     directory={dir}\n\
                     autostart=true\n\
                     autorestart=true\n\
                     stopsignal=TERM\n\
                     stopwaitsecs={sw}\n\
                     {extra}\
                     {user}\
                     redirect_stderr=true\n\
                     stdout_logfile={log_one}\n",
                    name = esc(name),
                    dir = esc(dir),
                    user = user_line(&user),
                )
            }
            Template::CeleryWorker => {
                let dir = req("directory")?;
                out.directory = Some(dir.to_string());
                // Two nodes with one name clash: each process gets its own node name.
                let node = if numprocs > 1 {
                    " --hostname=%(program_name)s_%(process_num)02d@%%h"
                } else {
                    ""
                };
                format!(
                    "[program:{name}]\n\
                     {pn}\
                     command={bin} -A {app} worker --loglevel={level}{node}\n\
                     directory={dir}\n\
                     numprocs={numprocs}\n\
                     autostart=true\n\
                     autorestart=true\n\
                     startsecs=10\n\
                     stopsignal=TERM\n\
                     stopwaitsecs={sw}\n\
                     stopasgroup=true\n\
                     killasgroup=true\n\
                     priority=1000\n\
                     {user}\
                     redirect_stderr=true\n\
                     stdout_logfile={log_each}\n",
                    name = esc(name),
                    pn = process_name
                        .map(|p| format!("process_name={p}\n"))
                        .unwrap_or_default(),
                    bin = esc(req("bin")?),
                    app = esc(req("app")?),
                    level = esc(req("loglevel")?),
                    dir = esc(dir),
                    sw = num("stopwaitsecs")?.unwrap_or(600),
                    user = user_line(&user),
                )
            }
            Template::CeleryBeat => {
                single("celery beat (two schedulers send every task twice)")?;
                let dir = req("directory")?;
                out.directory = Some(dir.to_string());
                let schedule = get("schedule")
                    .map(|s| format!(" --schedule {}", esc(s)))
                    .unwrap_or_default();
                format!(
                    "[program:{name}]\n\
                     command={bin} -A {app} beat --loglevel={level}{schedule}\n\
                     directory={dir}\n\
                     numprocs=1\n\
                     autostart=true\n\
                     autorestart=true\n\
                     startsecs=10\n\
                     stopsignal=TERM\n\
                     stopasgroup=true\n\
                     killasgroup=true\n\
                     priority=999\n\
                     {user}\
                     redirect_stderr=true\n\
                     stdout_logfile={log_one}\n",
                    name = esc(name),
                    bin = esc(req("bin")?),
                    app = esc(req("app")?),
                    level = esc(req("loglevel")?),
                    dir = esc(dir),
                    user = user_line(&user),
                )
            }
            Template::Rq => {
                let dir = req("directory")?;
                out.directory = Some(dir.to_string());
                let url = get("url")
                    .map(|u| format!(" --url {}", esc(u)))
                    .unwrap_or_default();
                let queues: Vec<String> = req("queue")?
                    .split([',', ' '])
                    .filter(|q| !q.is_empty())
                    .map(esc)
                    .collect();
                format!(
                    "[program:{name}]\n\
                     {pn}\
                     command={bin} worker{url} {queues}\n\
                     directory={dir}\n\
                     numprocs={numprocs}\n\
                     autostart=true\n\
                     autorestart=true\n\
                     stopsignal=TERM\n\
                     stopwaitsecs={sw}\n\
                     {user}\
                     redirect_stderr=true\n\
                     stdout_logfile={log_each}\n",
                    name = esc(name),
                    pn = process_name
                        .map(|p| format!("process_name={p}\n"))
                        .unwrap_or_default(),
                    bin = esc(req("bin")?),
                    queues = queues.join(" "),
                    dir = esc(dir),
                    sw = num("stopwaitsecs")?.unwrap_or(10),
                    user = user_line(&user),
                )
            }
            Template::Generic => {
                let command = req("command")?;
                let words = steward_config::split_command(command)
                    .map_err(|e| format!("--command: {e}"))?;
                out.binary = words
                    .first()
                    .cloned()
                    .ok_or_else(|| "--command is empty".to_string())?;
                out.directory = get("directory").map(str::to_string);
                let signal = req("stopsignal")?;
                steward_config::parse_signal(signal).map_err(|e| format!("--stopsignal: {e}"))?;
                format!(
                    "[program:{name}]\n\
                     {pn}\
                     command={cmd}\n\
                     {dir}\
                     numprocs={numprocs}\n\
                     autostart=true\n\
                     autorestart=true\n\
                     stopsignal={signal}\n\
                     stopwaitsecs={sw}\n\
                     stopasgroup=true\n\
                     killasgroup=true\n\
                     {user}\
                     redirect_stderr=true\n\
                     stdout_logfile={log_each}\n",
                    name = esc(name),
                    pn = process_name
                        .map(|p| format!("process_name={p}\n"))
                        .unwrap_or_default(),
                    cmd = esc(command),
                    dir = get("directory")
                        .map(|d| format!("directory={}\n", esc(d)))
                        .unwrap_or_default(),
                    signal = esc(signal),
                    sw = num("stopwaitsecs")?.unwrap_or(10),
                    user = user_line(&user),
                )
            }
        };
        out.body = body;
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(t: Template, given: &[(&str, &str)]) -> Values {
        let mut v = Values::new();
        for field in t.fields() {
            if let Fallback::Value(d) = field.fallback {
                v.insert(field.key.into(), d.into());
            }
        }
        for (k, val) in given {
            v.insert((*k).into(), (*val).into());
        }
        v
    }

    /// Seed 000's "Config Template", filled with the seed's own inputs.
    const SEED_000: &str = "[program:myapp-email]
process_name=%(program_name)s_%(process_num)02d
command=php /var/www/myapp/artisan queue:work database --queue=default --sleep=3 --tries=3 --max-time=3600
autostart=true
autorestart=true
stopasgroup=true
killasgroup=true
user=www-data
numprocs=1
redirect_stderr=true
stdout_logfile=/var/log/supervisor/myapp-email.log
stopwaitsecs=3600
";

    #[test]
    fn laravel_queue_is_seed_000_byte_for_byte() {
        let v = values(
            Template::LaravelQueue,
            &[("name", "myapp-email"), ("path", "/var/www/myapp")],
        );
        assert_eq!(Template::LaravelQueue.render(&v).unwrap().body, SEED_000);
    }

    #[test]
    fn every_template_renders_a_file_the_loader_accepts() {
        for info in TEMPLATES {
            let t = info.template;
            let v = values(
                t,
                &[
                    ("name", "w"),
                    ("path", "/srv/app"),
                    ("directory", "/srv/app"),
                    ("app", "main:app"),
                    ("command", "/bin/sleep 100"),
                ],
            );
            let r = t.render(&v).unwrap();
            let dest = std::path::PathBuf::from("/etc/supervisor/conf.d/w.conf");
            let checked = crate::check::check_program_files(
                &[crate::check::Candidate {
                    destination: &dest,
                    text: &r.body,
                }],
                false,
            );
            assert!(
                checked.is_ok(),
                "{}: {:?}\n{}",
                info.name,
                checked.err(),
                r.body
            );
            assert!(!r.body.contains("stderr_logfile"), "{}", info.name);
        }
    }

    #[test]
    fn more_than_one_process_gets_a_process_name_and_one_log_each() {
        for t in [Template::CeleryWorker, Template::Rq, Template::Generic] {
            let v = values(
                t,
                &[
                    ("name", "w"),
                    ("directory", "/srv"),
                    ("app", "a"),
                    ("command", "/bin/true"),
                    ("numprocs", "3"),
                ],
            );
            let body = t.render(&v).unwrap().body;
            assert!(
                body.contains("process_name=%(program_name)s_%(process_num)02d\n"),
                "{body}"
            );
            assert!(body.contains("w_%(process_num)02d.log"), "{body}");
        }
        let v = values(
            Template::CeleryBeat,
            &[
                ("name", "b"),
                ("directory", "/srv"),
                ("app", "a"),
                ("numprocs", "2"),
            ],
        );
        assert!(Template::CeleryBeat
            .render(&v)
            .unwrap_err()
            .contains("exactly one"));
    }

    #[test]
    fn percent_signs_in_values_are_escaped_for_interpolation() {
        let v = values(
            Template::Generic,
            &[("name", "w"), ("command", "/bin/date +%s")],
        );
        assert!(Template::Generic
            .render(&v)
            .unwrap()
            .body
            .contains("command=/bin/date +%%s\n"));
    }
}
