//! End-to-end tests of `steward_config::load` on files written to temp dirs.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use steward_config::*;

fn opts() -> LoadOptions {
    let mut env = BTreeMap::new();
    env.insert("HOME".to_string(), "/home/tester".to_string());
    env.insert("FOO".to_string(), "foo-value".to_string());
    env.insert("TMPDIR".to_string(), "/tmp".to_string());
    LoadOptions {
        env,
        host_node_name: "testhost".into(),
        check_system: false,
    }
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    if let Some(parent) = p.parent() {
        std::fs::create_dir_all(parent).unwrap();
    }
    std::fs::write(&p, text).unwrap();
    p
}

fn load_str(text: &str) -> Result<Config, ConfigErrors> {
    let d = tempfile::tempdir().unwrap();
    let p = write(d.path(), "supervisord.conf", text);
    load(&p, &opts())
}

fn ok(text: &str) -> Config {
    match load_str(text) {
        Ok(c) => c,
        Err(e) => panic!("unexpected errors:\n{e}"),
    }
}

fn errs(text: &str) -> Vec<Diagnostic> {
    match load_str(text) {
        Ok(_) => panic!("expected errors"),
        Err(e) => e.0,
    }
}

fn proc_<'a>(c: &'a Config, ns: &str) -> &'a ProcessConfig {
    c.process(ns).unwrap_or_else(|| panic!("no process {ns}")).1
}

fn current_user() -> String {
    nix::unistd::User::from_uid(nix::unistd::getuid())
        .unwrap()
        .unwrap()
        .name
}

#[test]
fn program_defaults() {
    let c = ok("[supervisord]\n[program:a]\ncommand=/bin/cat\n");
    assert_eq!(c.groups.len(), 1);
    let g = &c.groups[0];
    assert_eq!(g.kind, GroupKind::Program);
    assert_eq!(g.priority, 999);
    let p = proc_(&c, "a");
    assert_eq!(p.name, "a");
    assert_eq!(p.command, "/bin/cat");
    assert!(p.autostart);
    assert_eq!(p.startsecs, 1);
    assert_eq!(p.startretries, 3);
    assert_eq!(p.autorestart, AutoRestart::Unexpected);
    assert_eq!(p.exitcodes, vec![0]);
    assert_eq!(p.stopsignal, 15);
    assert_eq!(p.stopwaitsecs, 10);
    assert!(!p.stopasgroup && !p.killasgroup);
    assert_eq!(p.stdout.file, LogFile::Auto);
    assert_eq!(p.stdout.maxbytes, 50 * 1024 * 1024);
    assert_eq!(p.stdout.backups, 10);
    assert_eq!(p.stderr.file, LogFile::Auto);
    assert_eq!(p.serverurl, None);
    assert_eq!(p.umask, None);
    assert_eq!(p.defined_at.line, 2);
    let s = &c.supervisord;
    assert_eq!(s.logfile_maxbytes, 50 * 1024 * 1024);
    assert_eq!(s.loglevel, LogLevel::Info);
    assert_eq!(s.umask, 0o022);
    assert_eq!(s.minfds, 1024);
    assert_eq!(s.minprocs, 200);
    assert_eq!(s.identifier, "supervisor");
    assert_eq!(s.childlogdir, PathBuf::from("/tmp"));
    let cwd = std::env::current_dir().unwrap();
    assert_eq!(s.logfile, LogFile::Path(cwd.join("supervisord.log")));
    assert_eq!(s.pidfile, cwd.join("supervisord.pid"));
}

#[test]
fn all_typed_options() {
    let c = ok(
        "[supervisord]\nloglevel=BLATHER\numask=077\nlogfile_maxbytes=1KB\n\
        [program:a]\ncommand=x\npriority=5\nautostart=no\nstartsecs=0\nstartretries=7\n\
        autorestart=true\nexitcodes=0,2,255\nstopsignal=sigint\nstopwaitsecs=3\n\
        stopasgroup=true\nuser=nobody\nredirect_stderr=true\nstdout_logfile=NONE\n\
        stdout_logfile_maxbytes=2MB\nstdout_logfile_backups=0\nstdout_capture_maxbytes=1GB\n\
        stdout_events_enabled=on\nstdout_syslog=1\numask=002\nserverurl=AUTO\ndirectory=/srv\n",
    );
    let p = proc_(&c, "a");
    assert_eq!(p.priority, 5);
    assert!(!p.autostart);
    assert_eq!(p.startsecs, 0);
    assert_eq!(p.startretries, 7);
    assert_eq!(p.autorestart, AutoRestart::Always);
    assert_eq!(p.exitcodes, vec![0, 2, 255]);
    assert_eq!(p.stopsignal, 2);
    assert_eq!(p.stopwaitsecs, 3);
    assert!(
        p.stopasgroup && p.killasgroup,
        "stopasgroup implies killasgroup"
    );
    assert_eq!(p.user.as_deref(), Some("nobody"));
    assert!(p.redirect_stderr);
    assert_eq!(p.stderr.file, LogFile::None);
    assert_eq!(p.stdout.file, LogFile::None);
    assert_eq!(p.stdout.maxbytes, 2 * 1024 * 1024);
    assert_eq!(p.stdout.backups, 0);
    assert_eq!(p.stdout.capture_maxbytes, 1024 * 1024 * 1024);
    assert!(p.stdout.events_enabled && p.stdout.syslog);
    assert_eq!(p.umask, Some(0o002));
    assert_eq!(p.serverurl, None);
    assert_eq!(p.directory, Some(PathBuf::from("/srv")));
    assert_eq!(c.supervisord.loglevel, LogLevel::Blather);
    assert_eq!(c.supervisord.umask, 0o077);
    assert_eq!(c.supervisord.logfile_maxbytes, 1024);
}

#[test]
fn numprocs_expansion_and_sorting() {
    let c = ok("[supervisord]\n[program:w]\ncommand=run --n %(process_num)d/%(numprocs)d in %(group_name)s on %(host_node_name)s\n\
        process_name=%(program_name)s_%(process_num)02d\nnumprocs=3\nnumprocs_start=1\n\
        stdout_logfile=/tmp/%(program_name)s-%(process_num)s.log\nenvironment=N=\"%(process_num)d\"\n\
        [program:b]\ncommand=b\npriority=1\n");
    assert_eq!(c.groups[0].name, "b");
    let g = c.group("w").unwrap();
    let names: Vec<_> = g.processes.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["w_01", "w_02", "w_03"]);
    let p = proc_(&c, "w:w_02");
    assert_eq!(p.command, "run --n 2/3 in w on testhost");
    assert_eq!(p.stdout.file, LogFile::Path("/tmp/w-2.log".into()));
    assert_eq!(p.environment, vec![("N".to_string(), "2".to_string())]);
    assert_eq!(p.program_name, "w");
}

#[test]
fn numprocs_requires_process_num() {
    let e = errs("[supervisord]\n[program:foo]\ncommand=x\nnumprocs=3\n");
    assert_eq!(e.len(), 1);
    assert_eq!(
        e[0].reason,
        "%(process_num) must be present within process_name when numprocs > 1"
    );
    assert_eq!(e[0].location.section, "program:foo");
}

#[test]
fn process_num_not_allowed_in_priority() {
    let e = errs("[supervisord]\n[program:foo]\ncommand=x\npriority=%(process_num)d\n");
    assert!(
        e[0].reason.contains("cannot be expanded"),
        "{}",
        e[0].reason
    );
    assert!(e[0].reason.contains("'program:foo.priority'"));
}

#[test]
fn interpolation_env_and_here() {
    let d = tempfile::tempdir().unwrap();
    let main = write(
        d.path(),
        "supervisord.conf",
        "[supervisord]\nenvironment=GLOBAL=\"g%%\",X=1\nidentifier=%(ENV_FOO)s\n\
         [program:a]\nenvironment=LOCAL=\"l-%(ENV_GLOBAL)s\"\n\
         command=%(here)s/bin %(ENV_FOO)s %(ENV_GLOBAL)s %(ENV_LOCAL)s 100%%\n\
         [include]\nfiles=sub/*.ini\n",
    );
    write(d.path(), "sub/b.ini", "[program:b]\ncommand=%(here)s/run\n");
    let c = load(&main, &opts()).unwrap();
    assert_eq!(c.supervisord.identifier, "foo-value");
    // [supervisord] environment is expanded once: %% → %.
    assert_eq!(
        c.supervisord.environment,
        vec![("GLOBAL".into(), "g%".into()), ("X".into(), "1".into())]
    );
    let a = proc_(&c, "a");
    let here = d.path().to_string_lossy();
    assert_eq!(a.command, format!("{here}/bin foo-value g% l-g% 100%"));
    let b = proc_(&c, "b");
    assert_eq!(b.command, format!("{here}/sub/run"));
    assert_eq!(c.files.len(), 2);
}

#[test]
fn interpolation_errors_name_available_names() {
    let e = errs("[supervisord]\n[program:x]\ncommand=echo %(nope)s\n");
    assert!(e[0]
        .reason
        .starts_with("Format string 'echo %(nope)s' for 'program:x.command' contains names ('nope') which cannot be expanded. Available names: ENV_FOO, ENV_HOME, ENV_TMPDIR, group_name, here, host_node_name, numprocs, process_num, program_name"),
        "{}", e[0].reason);
    let e = errs("[supervisord]\n[program:x]\ncommand=echo 50%\n");
    assert!(e[0]
        .reason
        .contains("is badly formatted: incomplete format"));
}

#[test]
fn diagnostics_are_all_collected_and_located() {
    let e = errs(
        "[supervisord]\nloglevel=loud\n[program:a]\ncommand=x\nautostart=perhaps\n\
         [program:b]\nstopsignal=NOPE\n[inet_http_server]\nport=notaport\n",
    );
    let reasons: Vec<_> = e.iter().map(|d| d.reason.as_str()).collect();
    assert!(
        reasons.contains(&"bad logging level name 'loud'"),
        "{reasons:?}"
    );
    assert!(reasons.contains(&"not a valid boolean value: 'perhaps'"));
    assert!(reasons.contains(&"value 'NOPE' is not a valid signal name"));
    assert!(reasons.contains(&"program section program:b does not specify a command"));
    assert!(reasons
        .iter()
        .any(|r| r.contains("not a valid port number")));
    let d = e.iter().find(|d| d.reason.contains("boolean")).unwrap();
    assert_eq!(d.location.line, 5);
    assert_eq!(d.location.key, "autostart");
    assert_eq!(d.location.value, "perhaps");
    let s = d.to_string();
    assert!(
        s.ends_with("supervisord.conf:5: [program:a] autostart = perhaps: not a valid boolean value: 'perhaps'"),
        "{s}"
    );
}

#[test]
fn unknown_keys_and_sections_are_warnings() {
    let c = ok("[supervisord]\nfrobnicate=1\n[program:a]\ncommand=x\ncron=* * * * *\n[weird]\nk=v\n[thing:x]\n[ctlplugin:x]\nsupervisor.ctl_factory=a:b\n");
    let w: Vec<String> = c.warnings.iter().map(|d| d.to_string()).collect();
    assert!(
        w.iter()
            .any(|s| s.contains("[supervisord] frobnicate = 1: unknown option")),
        "{w:?}"
    );
    assert!(w
        .iter()
        .any(|s| s.contains("[program:a] cron = * * * * *: unknown option")));
    assert!(w.iter().any(|s| s.contains("[weird]: unknown section")));
    assert!(w
        .iter()
        .any(|s| s.contains("[thing:x]: unknown section type")));
    assert!(!w.iter().any(|s| s.contains("ctlplugin")));
}

#[test]
fn missing_supervisord_section() {
    let e = errs("[program:a]\ncommand=x\n");
    assert_eq!(
        e[0].reason,
        ".ini file does not include supervisord section"
    );
}

#[test]
fn duplicates_last_wins_and_default_section() {
    let c = ok("[DEFAULT]\nstartsecs=7\n[supervisord]\n[program:a]\ncommand=one\ncommand=two\n[program:a]\npriority=3\n");
    let p = proc_(&c, "a");
    assert_eq!(p.command, "two");
    assert_eq!(p.priority, 3);
    assert_eq!(p.startsecs, 7);
}

#[test]
fn includes_sorted_override_cycle_and_nested() {
    let d = tempfile::tempdir().unwrap();
    let main = write(
        d.path(),
        "main.conf",
        "[supervisord]\nnodaemon=false\n[include]\nfiles = conf.d/*.conf nothing/*.conf\n   *.conf\n",
    );
    write(d.path(), "conf.d/b.conf", "[program:p]\ncommand=from-b\n");
    write(
        d.path(),
        "conf.d/a.conf",
        "[program:p]\ncommand=from-a\npriority=4\n[include]\nfiles=/nonexistent/*.conf\n",
    );
    write(d.path(), "conf.d/c.conf", "[supervisord]\nnodaemon=true\n");
    let c = load(&main, &opts()).unwrap();
    // Sorted per pattern: a then b, so b's command wins; a's priority stays.
    let p = proc_(&c, "p");
    assert_eq!(p.command, "from-b");
    assert_eq!(p.priority, 4);
    assert!(
        c.supervisord.nodaemon,
        "a later included file overrides [supervisord]"
    );
    let w: Vec<String> = c.warnings.iter().map(|d| d.reason.clone()).collect();
    assert!(
        w.iter()
            .any(|r| r.starts_with("No file matches via include")),
        "{w:?}"
    );
    assert!(
        w.iter().any(|r| r.contains("already included")),
        "main.conf matched *.conf: {w:?}"
    );
    assert!(w
        .iter()
        .any(|r| r.contains("inside an included file is ignored")));
    assert_eq!(c.files.len(), 4);
}

#[test]
fn include_errors() {
    let e = errs("[supervisord]\n[include]\n");
    assert_eq!(
        e[0].reason,
        ".ini file has [include] section, but no files setting"
    );
    let d = tempfile::tempdir().unwrap();
    let main = write(
        d.path(),
        "main.conf",
        "[supervisord]\n[include]\nfiles=inc/*\n",
    );
    std::fs::create_dir_all(d.path().join("inc/dir.conf")).unwrap();
    write(d.path(), "inc/bad.conf", "no header here\n");
    std::fs::write(
        d.path().join("inc/bin.conf"),
        b"[program:x]\ncommand=\xff\xfe\n",
    )
    .unwrap();
    let e = load(&main, &opts()).unwrap_err().0;
    let r: Vec<String> = e.iter().map(|d| d.to_string()).collect();
    assert!(r.iter().any(|s| s.contains("Is a directory")), "{r:?}");
    assert!(r
        .iter()
        .any(|s| s.contains("bad.conf:1") && s.contains("no section headers")));
    assert!(
        r.iter()
            .any(|s| s.contains("bin.conf:2") && s.contains("utf-8")),
        "{r:?}"
    );
}

#[test]
fn hostile_files() {
    let d = tempfile::tempdir().unwrap();
    let big = d.path().join("big.conf");
    let f = std::fs::File::create(&big).unwrap();
    f.set_len(50 * 1024 * 1024).unwrap();
    let e = load(&big, &opts()).unwrap_err();
    assert!(e.to_string().contains("too large"), "{e}");
    let e = load(&d.path().join("missing.conf"), &opts()).unwrap_err();
    assert!(e.to_string().contains("could not find config file"));
    let e = load(d.path(), &opts()).unwrap_err();
    assert!(e.to_string().contains("Is a directory"));
    let e = errs("[supervisord]\n[program:a]\ncommand=%(((((\n");
    assert!(e[0].reason.contains("badly formatted"));
    let e = errs("[supervisord]\n[program:a]\ncommand=%(program_name)999999999d\n");
    assert!(e[0].reason.contains("badly formatted"));
}

#[test]
fn ten_thousand_programs_load_fast() {
    let mut s = String::from("[supervisord]\n");
    for i in 0..10_000 {
        s.push_str(&format!(
            "[program:p{i}]\ncommand=/bin/prog --id %(program_name)s\npriority={}\nstdout_logfile=/tmp/%(program_name)s.log\nenvironment=A=\"1\",B=\"%(ENV_FOO)s\"\n",
            i % 7
        ));
    }
    let t = std::time::Instant::now();
    let c = ok(&s);
    let dt = t.elapsed();
    eprintln!("10,000 programs loaded in {dt:?}");
    assert_eq!(c.groups.len(), 10_000);
    assert_eq!(proc_(&c, "p42").command, "/bin/prog --id p42");
    // Debug builds are ~10x slower than release; release loads this in well under 1 s.
    assert!(dt.as_secs_f64() < 10.0, "took {dt:?}");
}

#[test]
fn heterogeneous_groups() {
    let c = ok("[supervisord]\n[program:a]\ncommand=a %(group_name)s\npriority=2\n[program:b]\ncommand=b\npriority=1\n[fcgi-program:f]\ncommand=f\nsocket=unix:///tmp/%(program_name)s.sock\n[group:g]\nprograms=a,b,f\npriority=50\n[program:c]\ncommand=c\n");
    let names: Vec<_> = c.groups.iter().map(|g| g.name.as_str()).collect();
    assert_eq!(names, ["g", "c"]);
    let g = c.group("g").unwrap();
    assert_eq!(g.kind, GroupKind::Heterogeneous);
    assert_eq!(g.priority, 50);
    let pn: Vec<_> = g.processes.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(pn, ["b", "a", "f"]);
    assert_eq!(proc_(&c, "g:a").command, "a g");
    let e = errs("[supervisord]\n[group:g]\nprograms=zz\n");
    assert_eq!(
        e[0].reason,
        "[group:g] names unknown program or fcgi-program zz"
    );
    let e = errs("[supervisord]\n[program:a]\ncommand=x\n[fcgi-program:a]\ncommand=x\nsocket=tcp://h:1\n[group:g]\nprograms=a\n");
    assert!(e[0].reason.contains("is ambiguous"));
}

#[test]
fn stopasgroup_rule_and_names() {
    let e = errs("[supervisord]\n[program:a]\ncommand=x\nstopasgroup=true\nkillasgroup=false\n");
    assert_eq!(
        e[0].reason,
        "Cannot set stopasgroup=true and killasgroup=false"
    );
    let e = errs("[supervisord]\n[program:a b]\ncommand=x\n");
    assert_eq!(e[0].reason, "Invalid name: 'a b' because of character: ' '");
    let e = errs("[supervisord]\n[program:a]\ncommand=x\nprocess_name=a/b\n");
    assert!(e[0].reason.contains("because of character: '/'"));
}

#[test]
fn eventlisteners() {
    let c = ok("[supervisord]\n[eventlistener:l]\ncommand=x\nevents=process_state, TICK_60\nresult_handler=my.mod:handler\n");
    let g = c.group("l").unwrap();
    assert_eq!(g.priority, -1);
    assert_eq!(
        g.kind,
        GroupKind::EventListener {
            events: vec!["PROCESS_STATE".into(), "TICK_60".into()],
            buffer_size: 10,
            result_handler: "my.mod:handler".into()
        }
    );
    assert!(c
        .warnings
        .iter()
        .any(|w| w.location.key == "result_handler"));
    let e = errs("[supervisord]\n[eventlistener:l]\ncommand=x\n");
    assert_eq!(
        e[0].reason,
        "[eventlistener:l] section requires an \"events\" line"
    );
    let e = errs("[supervisord]\n[eventlistener:l]\ncommand=x\nevents=FOO\nredirect_stderr=true\nbuffer_size=0\n");
    let r: Vec<_> = e.iter().map(|d| d.reason.as_str()).collect();
    assert!(
        r.contains(&"Unknown event type FOO in [eventlistener:l] events"),
        "{r:?}"
    );
    assert!(r
        .iter()
        .any(|x| x.contains("redirect_stderr=true but this is not allowed")));
    assert!(r.contains(&"[eventlistener:l] section sets invalid buffer_size (0)"));
}

#[test]
fn fcgi_programs() {
    let c = ok("[supervisord]\n[fcgi-program:f]\ncommand=x\nsocket=unix:///tmp/%(program_name)s.sock\nsocket_mode=0666\nsocket_backlog=5\n");
    assert_eq!(
        c.group("f").unwrap().kind,
        GroupKind::Fcgi {
            socket: "unix:///tmp/f.sock".into(),
            socket_backlog: Some(5),
            socket_owner: None,
            socket_mode: 0o666
        }
    );
    let e = errs("[supervisord]\n[fcgi-program:f]\ncommand=x\n");
    assert_eq!(
        e[0].reason,
        "[fcgi-program:f] section requires a \"socket\" line"
    );
    let e =
        errs("[supervisord]\n[fcgi-program:f]\ncommand=x\nsocket=tcp://h:1\nsocket_mode=0600\n");
    assert!(e[0]
        .reason
        .contains("should only be used with a Unix domain socket"));
    let e = errs("[supervisord]\n[fcgi-program:f]\ncommand=x\nsocket=bogus\n");
    assert_eq!(
        e[0].reason,
        "Bad socket format bogus in [fcgi-program:f] socket"
    );
}

#[test]
fn servers_and_ctl() {
    let c = ok("[supervisord]\n[unix_http_server]\nfile=%(here)s/s.sock\nchmod=0770\n[inet_http_server]\nport=[::1]:9001\nusername=u\npassword=p\n[inet_http_server2]\nport=*:9002\n[supervisorctl]\nserverurl=AUTO\n[rpcinterface:supervisor]\nsupervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface\n[rpcinterface:twiddler]\nsupervisor.rpcinterface_factory = supervisor_twiddler.rpcinterface:make_twiddler_rpcinterface\n");
    assert_eq!(c.unix_http_servers[0].chmod, 0o770);
    assert!(c.unix_http_servers[0].file.ends_with("s.sock"));
    assert_eq!(c.inet_http_servers[0].host, "[::1]");
    assert_eq!(c.inet_http_servers[0].port, 9001);
    assert_eq!(c.inet_http_servers[1].host, "");
    assert_eq!(c.rpcinterfaces.len(), 2);
    assert!(c
        .warnings
        .iter()
        .any(|w| w.location.section == "rpcinterface:twiddler"));
    let e = errs("[supervisord]\n[inet_http_server]\nport=9001\nusername=u\n[unix_http_server]\n");
    let r: Vec<_> = e.iter().map(|d| d.reason.as_str()).collect();
    assert!(
        r.iter()
            .any(|x| x.contains("contains incomplete authentication")),
        "{r:?}"
    );
    assert!(r.contains(&"section [unix_http_server] has no file value"));
}

#[test]
fn load_ctl_rules() {
    let d = tempfile::tempdir().unwrap();
    let def = load_ctl(None, &opts()).unwrap();
    assert_eq!(def.serverurl, "http://localhost:9001");
    assert_eq!(def.prompt, "supervisor");
    let p = write(d.path(), "a.conf", "[supervisord]\n");
    let e = load_ctl(Some(&p), &opts()).unwrap_err();
    assert_eq!(
        e.0[0].reason,
        ".ini file does not include supervisorctl section"
    );
    let p = write(
        d.path(),
        "b.conf",
        "[supervisorctl]\nserverurl=unix://%(here)s/../x.sock\nprompt=mine\nusername=%(ENV_FOO)s\nhistory_file=~/.hist\n[include]\nfiles=nothing\n",
    );
    let c = load_ctl(Some(&p), &opts()).unwrap();
    let parent = d.path().parent().unwrap();
    assert_eq!(c.serverurl, format!("unix://{}/x.sock", parent.display()));
    assert_eq!(c.prompt, "mine");
    assert_eq!(c.username.as_deref(), Some("foo-value"));
    assert_eq!(c.history_file, Some(PathBuf::from("/home/tester/.hist")));
}

#[test]
fn tilde_only_in_path_options() {
    let c = ok("[supervisord]\nchildlogdir=~\n[program:a]\ncommand=~/bin/x\ndirectory=~/d\nstdout_logfile=~/out.log\n");
    assert_eq!(c.supervisord.childlogdir, PathBuf::from("/home/tester"));
    let p = proc_(&c, "a");
    assert_eq!(p.command, "~/bin/x");
    assert_eq!(p.stdout.file, LogFile::Path("/home/tester/out.log".into()));
    // Not a path-typed option in supervisord: `~` is kept as written.
    assert_eq!(p.directory, Some(PathBuf::from("~/d")));
}

#[test]
fn system_checks() {
    let d = tempfile::tempdir().unwrap();
    let mut o = opts();
    o.check_system = true;
    let p = write(
        d.path(),
        "s.conf",
        &format!(
            "[supervisord]\nchildlogdir={0}\n[program:a]\ncommand=x\nuser=no_such_user_xyz\n[program:b]\ncommand=x\nuser={1}\nstdout_logfile={0}/missing/dir/x.log\n[program:c]\ncommand=x\nuser={1}\n",
            d.path().display(),
            current_user()
        ),
    );
    let e = load(&p, &o).unwrap_err().0;
    let r: Vec<_> = e.iter().map(|d| d.reason.clone()).collect();
    assert!(
        r.contains(&"Invalid user name no_such_user_xyz".to_string()),
        "{r:?}"
    );
    assert!(r
        .iter()
        .any(|x| x.starts_with("The directory named as part of the path")));
    assert_eq!(e.len(), 2, "{r:?}");
}

#[test]
fn syslog_and_auto_warnings() {
    let c = ok("[supervisord]\n[program:a]\ncommand=x\nstdout_logfile=syslog\nstderr_logfile_maxbytes=0\nredirect_stderr=false\n[program:b]\ncommand=x\nredirect_stderr=true\nstderr_logfile=/tmp/e.log\n");
    let a = proc_(&c, "a");
    assert_eq!(a.stdout.file, LogFile::Syslog);
    assert!(a.stdout.syslog);
    let w: Vec<_> = c.warnings.iter().map(|d| d.reason.as_str()).collect();
    assert!(w
        .iter()
        .any(|x| x.contains("stdout_logfile=syslog but this is deprecated")));
    assert!(w
        .iter()
        .any(|x| x.contains("AUTO logging used for stderr_logfile without rollover")));
    assert!(w
        .iter()
        .any(|x| x.contains("redirect_stderr=true but stderr_logfile has also been set")));
}

#[test]
fn search_paths_order() {
    let p = search_paths(Some(Path::new("/opt/bin")));
    assert_eq!(p[0], PathBuf::from("/opt/bin/../etc/supervisord.conf"));
    assert_eq!(p[1], PathBuf::from("/opt/bin/../supervisord.conf"));
    assert_eq!(p[2], PathBuf::from("supervisord.conf"));
    assert_eq!(p[5], PathBuf::from("/etc/supervisor/supervisord.conf"));
    assert_eq!(p[6], PathBuf::from("steward.conf"));
    assert_eq!(p[7], PathBuf::from("/etc/steward/steward.conf"));
    assert_eq!(search_paths(None).len(), 6);
}

#[test]
fn render_check_output() {
    let c = ok("[supervisord]\nfoo=1\n[program:w]\ncommand=run %(process_num)d\nprocess_name=w%(process_num)d\nnumprocs=2\n[program:s]\ncommand=single\npriority=1\nautostart=false\n");
    let out = check::render(&c);
    let lines: Vec<_> = out.lines().collect();
    assert_eq!(lines[0], "s  priority=1 autostart=false command=single");
    assert_eq!(lines[1], "w:w0  priority=999 autostart=true command=run 0");
    assert_eq!(lines[2], "w:w1  priority=999 autostart=true command=run 1");
    assert!(lines[3].starts_with("warning: ") && lines[3].contains("foo = 1"));
    assert!(lines[4].ends_with("OK (2 groups, 3 processes, 1 warning)"));
}

#[test]
fn steward_section_and_duplicate_group_names() {
    let c = ok("[supervisord]\n[steward]\nstate_dir=/var/lib/st\n");
    assert_eq!(c.steward.state_dir, Some(PathBuf::from("/var/lib/st")));
    let e = errs(
        "[supervisord]\n[program:a]\ncommand=x\n[eventlistener:a]\ncommand=x\nevents=TICK_5\n",
    );
    assert!(
        e[0].reason.contains("group name 'a' is already used"),
        "{}",
        e[0].reason
    );
}

fn cron_ready() -> bool {
    std::panic::catch_unwind(|| steward_cron::Schedule::parse("* * * * *").is_ok()).unwrap_or(false)
}

#[test]
fn cron_sections() {
    // Defaults and non-schedule validation don't depend on the cron crate's parser.
    let text = "[supervisord]\n[cron:backup]\nschedule=0 3 * * *\ncommand=/bin/backup\ntimezone=Europe/Paris\novercap=1\n";
    if !cron_ready() {
        eprintln!("steward_cron::Schedule::parse not ready; schedule validation untested");
        return;
    }
    let c = ok(text);
    let g = c.group("backup").unwrap();
    let GroupKind::Cron(cc) = &g.kind else {
        panic!("not cron")
    };
    assert_eq!(cc.schedule, "0 3 * * *");
    assert_eq!(cc.timezone.as_deref(), Some("Europe/Paris"));
    assert_eq!(cc.overlap, Overlap::Skip);
    assert_eq!(cc.timeout, None);
    assert_eq!(
        (cc.catchup, cc.jitter, cc.history, cc.enabled),
        (0, 0, 100, true)
    );
    let p = &g.processes[0];
    assert!(!p.autostart);
    assert_eq!(p.autorestart, AutoRestart::Never);
    assert_eq!((p.startsecs, p.startretries), (0, 0));
    assert!(c.warnings.iter().any(|w| w.location.key == "overcap"));
    let c = ok("[supervisord]\n[cron:j]\nschedule=*/5 * * * *\ncommand=x\noverlap=queue\ntimeout=60\ncatchup=2\njitter=5\nhistory=7\nenabled=false\nautostart=true\n");
    let GroupKind::Cron(cc) = &c.group("j").unwrap().kind else {
        panic!()
    };
    assert_eq!(cc.overlap, Overlap::Queue);
    assert_eq!(cc.timeout, Some(60));
    assert_eq!(
        (cc.catchup, cc.jitter, cc.history, cc.enabled),
        (2, 5, 7, false)
    );
    assert!(c.group("j").unwrap().processes[0].autostart);
    let e = errs("[supervisord]\n[cron:j]\ncommand=x\nschedule=not a schedule\ntimezone=Mars/Olympus\noverlap=never\ntimeout=0\n[cron:k]\ncommand=x\n[cron:l]\nschedule=* * * * *\ncommand=x\ntimeout=31536001\n");
    let r: Vec<_> = e
        .iter()
        .map(|d| (d.location.key.as_str(), d.reason.as_str()))
        .collect();
    assert!(r.iter().any(|(k, _)| *k == "schedule"), "{r:?}");
    assert!(r.iter().any(|(k, _)| *k == "timezone"));
    assert!(r.iter().any(|(k, _)| *k == "overlap"));
    assert_eq!(r.iter().filter(|(k, _)| *k == "timeout").count(), 2);
    assert!(r.contains(&("schedule", "[cron:k] section requires a \"schedule\" line")));
}

/// Every ini block of /work/shared/seeds/*.txt, kept as fixtures under tests/fixtures.
#[test]
fn seed_fixtures_load() {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let d = tempfile::tempdir().unwrap();
    let root = d.path();
    let user = current_user();
    for entry in std::fs::read_dir(&fixtures).unwrap() {
        let p = entry.unwrap().path();
        let name = p.file_name().unwrap().to_string_lossy().into_owned();
        let text = std::fs::read_to_string(&p)
            .unwrap()
            .replace("@ROOT@", &root.to_string_lossy())
            .replace("@USER@", &user);
        let target = if name == "main.conf" {
            root.join(&name)
        } else {
            root.join("conf.d").join(&name)
        };
        write(
            target.parent().unwrap(),
            target.file_name().unwrap().to_str().unwrap(),
            &text,
        );
    }
    for dir in [
        "var/log/supervisor",
        "Users/functionbytes/Function/Coding/Alsernet/storage/logs",
        "app/logs",
    ] {
        std::fs::create_dir_all(root.join(dir)).unwrap();
    }
    let mut o = opts();
    o.check_system = true;
    let c = match load(&root.join("main.conf"), &o) {
        Ok(c) => c,
        Err(e) => panic!("{e}"),
    };
    assert_eq!(c.files.len(), 6);
    let r = root.to_string_lossy();
    let ns: Vec<String> = c
        .processes()
        .map(|(g, p)| namespec(&g.name, &p.name))
        .collect();
    assert_eq!(
        ns,
        [
            "fastapi",
            "scheduler",
            "Alsernet-queue:Alsernet-queue_00",
            "Alsernet-scheduler:Alsernet-scheduler_00",
            "example.com-queue-worker",
            "myapp-email:myapp-email_00",
            "myapp-email:myapp-email_01",
            "reminder_worker",
        ]
    );
    let w = proc_(&c, "myapp-email:myapp-email_01");
    assert_eq!(
        w.command,
        format!("php {r}/var/www/myapp/artisan queue:work database --queue=default --sleep=3 --tries=3 --max-time=3600")
    );
    assert!(w.stopasgroup && w.killasgroup && w.redirect_stderr);
    assert_eq!(w.autorestart, AutoRestart::Always);
    assert_eq!(w.stopwaitsecs, 3600);
    assert_eq!(w.user.as_deref(), Some(user.as_str()));
    assert_eq!(w.uid, Some(nix::unistd::getuid().as_raw()));
    assert_eq!(w.stderr.file, LogFile::None);
    assert_eq!(
        w.stdout.file,
        LogFile::Path(format!("{r}/var/log/supervisor/myapp-email.log").into())
    );
    let a = proc_(&c, "Alsernet-queue:Alsernet-queue_00");
    assert_eq!(
        a.environment,
        vec![
            (
                "PATH".to_string(),
                "/opt/homebrew/bin:/usr/local/bin:/usr/bin:/bin".to_string()
            ),
            ("HOME".to_string(), format!("{r}/Users/functionbytes")),
        ]
    );
    assert_eq!(a.stopwaitsecs, 60);
    let e = proc_(&c, "example.com-queue-worker");
    assert_eq!(
        e.directory,
        Some(format!("{r}/home/deployer/sites/example.com/current").into())
    );
    assert_eq!(e.stdout.file, e.stderr.file);
    assert_eq!(e.autorestart, AutoRestart::Always);
    let m = proc_(&c, "reminder_worker");
    assert!(m.autostart);
    assert_eq!(m.autorestart, AutoRestart::Always);
    assert_eq!((m.startsecs, m.startretries, m.stopwaitsecs), (10, 3, 10));
    assert_eq!(m.stdout.maxbytes, 10 * 1024 * 1024);
    assert_eq!(m.stderr.backups, 3);
    assert_eq!(
        m.environment[1],
        ("PYTHONUNBUFFERED".to_string(), "1".to_string())
    );
    let f = proc_(&c, "fastapi");
    assert_eq!(f.priority, 100);
    assert_eq!(f.command, "fastapi run --workers 4 app/main.py");
    assert_eq!(proc_(&c, "scheduler").priority, 200);
    assert_eq!(c.unix_http_servers.len(), 1);
    assert_eq!(
        c.supervisorctl.as_ref().unwrap().serverurl,
        format!("unix://{r}/supervisor.sock")
    );
}

#[test]
fn cluster_locks() {
    let c = ok("[supervisord]\n[cluster]\nlock=redis://:pw@10.0.0.5:6379/2\nnamespace=shop\nnode=web-1\nclaim_ttl=7200\nlease=2.5\nlock_timeout=0.25\nlock_unavailable=run\non_lock_lost=stop\n[cron:a]\nschedule=* * * * *\ncommand=x\n[cron:b]\nschedule=* * * * *\ncommand=x\nlock=none\n[cron:c]\nschedule=* * * * *\ncommand=x\nlock=redis://127.0.0.1:7000/0\nlock_unavailable=skip\n");
    let cl = c.cluster.clone().unwrap();
    assert_eq!(cl.lock.as_deref(), Some("redis://:pw@10.0.0.5:6379/2"));
    assert_eq!(cl.namespace, "shop");
    assert_eq!(cl.node.as_deref(), Some("web-1"));
    assert_eq!(
        (cl.claim_ttl_ms, cl.lease_ms, cl.deadline_ms),
        (7_200_000, 2_500, 250)
    );
    assert_eq!(cl.lock_unavailable, LockUnavailable::Run);
    assert_eq!(cl.on_lock_lost, OnLockLost::Stop);
    let cron = |name: &str| match &c.groups.iter().find(|g| g.name == name).unwrap().kind {
        GroupKind::Cron(cc) => cc.clone(),
        _ => panic!("not cron"),
    };
    assert_eq!(cron("a").lock, CronLock::Inherit);
    assert_eq!(cron("a").lock_unavailable, None);
    assert_eq!(cron("b").lock, CronLock::Off);
    assert_eq!(
        cron("c").lock,
        CronLock::Url("redis://127.0.0.1:7000/0".into())
    );
    assert_eq!(cron("c").lock_unavailable, Some(LockUnavailable::Skip));
    let dir = tempfile::tempdir().unwrap();
    let ca = write(dir.path(), "ca.pem", "-----BEGIN CERTIFICATE-----\n");
    let t = ok(&format!(
        "[supervisord]\n[cluster]\nlock=rediss://redis.internal:6380/0\nlock_ca={}\n",
        ca.display()
    ))
    .cluster
    .unwrap();
    assert_eq!(t.lock_ca.as_deref(), Some(ca.as_path()));
    let e = errs("[supervisord]\n[cluster]\nlock_ca=/nonexistent/ca.pem\n");
    assert!(
        e[0].to_string().contains(
            ":3: [cluster] lock_ca = /nonexistent/ca.pem: cannot read /nonexistent/ca.pem"
        ),
        "{}",
        e[0]
    );
    let d = ok("[supervisord]\n[cluster]\n[cron:a]\nschedule=* * * * *\ncommand=x\n")
        .cluster
        .unwrap();
    assert_eq!(d, ClusterSection::default());
}

#[test]
fn bad_cluster_locks_name_file_line_and_value() {
    let text = "[supervisord]\n[cluster]\nlock=redis://a:1,redis://b:1\nnamespace=a b\nlease=0.01\nlock_unavailable=maybe\n[cron:a]\nschedule=* * * * *\ncommand=x\nlock=rediss://a:1,rediss://b:1\n[cron:b]\nschedule=* * * * *\ncommand=x\nlock=http://h/\nlock_unavailable=never\n";
    let e = errs(text);
    let shown: Vec<String> = e.iter().map(|d| d.to_string()).collect();
    let find = |needle: &str| {
        shown
            .iter()
            .find(|s| s.contains(needle))
            .unwrap_or_else(|| panic!("no error with {needle:?} in {shown:#?}"))
            .clone()
    };
    assert!(
        find("Redlock").contains("supervisord.conf:3: [cluster] lock = redis://a:1,redis://b:1")
    );
    assert!(find("invalid namespace").contains(":4: [cluster] namespace = a b"));
    assert!(find("'lease' must be between").contains(":5: [cluster] lease = 0.01"));
    assert!(find("expected skip or run").contains(":6: [cluster] lock_unavailable = maybe"));
    assert!(find("rediss://b:1\": several servers")
        .contains(":10: [cron:a] lock = rediss://a:1,rediss://b:1"));
    assert!(find("expected redis://").contains(":14: [cron:b] lock = http://h/"));
    assert!(find("'never'").contains(":15: [cron:b] lock_unavailable = never"));
    let e = errs("[supervisord]\n[cluster]\non_lock_lost=panic\n");
    assert!(
        e[0].to_string()
            .contains(":3: [cluster] on_lock_lost = panic: invalid 'on_lock_lost' value 'panic' (expected continue or stop)"),
        "{}",
        e[0]
    );
}

/// Found by the differential check against supervisord 4.3 (tests/supervisord_differential.rs):
/// an fcgi socket's port must be 1..=65535, as supervisord's port_number says.
#[test]
fn fcgi_socket_port_out_of_range_is_refused() {
    for (port, reason) in [
        ("0", "0 is below lower bound (1) in [fcgi-program:f] socket"),
        (
            "000",
            "0 is below lower bound (1) in [fcgi-program:f] socket",
        ),
        (
            "65536",
            "65536 is above upper bound (65535) in [fcgi-program:f] socket",
        ),
        (
            "99999999999999999999",
            "99999999999999999999 is above upper bound (65535) in [fcgi-program:f] socket",
        ),
    ] {
        let e = errs(&format!(
            "[supervisord]\n[fcgi-program:f]\ncommand=/bin/true\nsocket=tcp://127.0.0.1:{port}\n"
        ));
        assert_eq!(e[0].reason, reason, "port {port}");
    }
    let c =
        ok("[supervisord]\n[fcgi-program:f]\ncommand=/bin/true\nsocket=tcp://127.0.0.1:65535\n");
    assert_eq!(c.groups.len(), 1);
}

/// Also from the differential check: supervisord interpolates an rpcinterface's extra keys
/// with the ENV_ names only, and refuses one it cannot expand (`here` is not among them).
#[test]
fn rpcinterface_extras_are_interpolated_like_supervisord() {
    let head = "[supervisord]\n[rpcinterface:supervisor]\nsupervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface\n";
    let e = errs(&format!("{head}retries=%(here)s/x\n"));
    assert!(e[0].reason.contains("'here'"), "{}", e[0].reason);
    assert_eq!(e[0].location.section, "rpcinterface:supervisor");
    ok(&format!("{head}retries=%(ENV_HOME)s\nplain=1\n"));
}

/// The in-memory loader (the fuzz target's) reads the same files the same way as the disk.
#[test]
fn memory_tree_loads_like_the_disk() {
    let d = tempfile::tempdir().unwrap();
    let main = "[supervisord]\nlogfile=%(here)s/s.log\n[include]\nfiles=conf.d/*.conf\n";
    let a = "[program:a]\ncommand=/bin/echo %(here)s\n";
    let b = "[program:b]\ncommand=/bin/true\n[include]\nfiles=../supervisord.conf\n";
    let p = write(d.path(), "supervisord.conf", main);
    write(d.path(), "conf.d/a.conf", a);
    write(d.path(), "conf.d/b.conf", b);
    let mut tree = MemoryTree::default();
    tree.insert(&p, main);
    tree.insert(d.path().join("conf.d/a.conf"), a);
    tree.insert(d.path().join("conf.d/b.conf"), b);
    let from_disk = load(&p, &opts())
        .map(|c| c.files)
        .map_err(|e| e.to_string());
    let from_tree = load_from_tree(&tree, &p, &opts())
        .map(|c| c.files)
        .map_err(|e| e.to_string());
    assert_eq!(from_disk, from_tree);
    // b.conf includes the main file back: a cycle, refused both ways.
    assert!(from_tree.unwrap_err().contains("include cycle"));
    tree.insert(
        d.path().join("conf.d/b.conf"),
        "[program:b]\ncommand=/bin/true\n",
    );
    let c = load_from_tree(&tree, &p, &opts()).unwrap();
    assert_eq!(c.files.len(), 3);
    assert!(proc_(&c, "a")
        .command
        .contains(&d.path().join("conf.d").display().to_string()));
}

#[test]
fn kill_orphans_per_program_with_a_supervisord_default_and_located_errors() {
    let c = load_str(
        "[supervisord]\n[program:a]\ncommand=x\n[program:b]\ncommand=x\nkill_orphans=true\n",
    )
    .unwrap();
    assert!(!proc_(&c, "a:a").kill_orphans && proc_(&c, "b:b").kill_orphans);
    let c = load_str(
        "[supervisord]\nkill_orphans=yes\n[program:a]\ncommand=x\n[program:b]\ncommand=x\nkill_orphans=false\n",
    )
    .unwrap();
    assert!(proc_(&c, "a:a").kill_orphans && !proc_(&c, "b:b").kill_orphans);
    let e = errs("[supervisord]\n[program:a]\ncommand=x\nkill_orphans=maybe\n");
    let l = &e[0].location;
    assert_eq!(
        (l.line, l.section.as_str(), l.key.as_str()),
        (4, "program:a", "kill_orphans")
    );
    assert_eq!(l.value, "maybe");
    let e = errs("[supervisord]\nkill_orphans=2\n[program:a]\ncommand=x\n");
    let l = &e[0].location;
    assert_eq!(
        (l.line, l.section.as_str(), l.key.as_str()),
        (2, "supervisord", "kill_orphans")
    );
}
