//! Issue 2 "Bad input": config errors make the daemon refuse to start with a non-zero exit
//! and a message naming the value (or section). Steward must name all four of file, line,
//! section and value (`file:line: [section] key = value: reason`); the reference names the
//! value or the section, which is what is checked against it.
mod support;
use support::*;

struct Case {
    name: &'static str,
    program: &'static str,
    /// The offending line, as written in the config.
    bad_line: &'static str,
    /// The value Steward must quote.
    value: &'static str,
    /// What the reference's message contains.
    reference_says: &'static str,
}

const CASES: &[Case] = &[
    Case {
        name: "boolean",
        program: "command=sleep 1\nautostart=maybe",
        bad_line: "autostart=maybe",
        value: "maybe",
        reference_says: "not a valid boolean value: 'maybe'",
    },
    Case {
        name: "integer",
        program: "command=sleep 1\nstartsecs=abc",
        bad_line: "startsecs=abc",
        value: "abc",
        reference_says: "'abc'",
    },
    Case {
        name: "byte size",
        program: "command=sleep 1\nstdout_logfile_maxbytes=10XB",
        bad_line: "stdout_logfile_maxbytes=10XB",
        value: "10XB",
        reference_says: "in section 'program:bad'",
    },
    Case {
        name: "signal",
        program: "command=sleep 1\nstopsignal=NOPE",
        bad_line: "stopsignal=NOPE",
        value: "NOPE",
        reference_says: "value 'NOPE' is not a valid signal name",
    },
    Case {
        name: "exit codes",
        program: "command=sleep 1\nexitcodes=0,abc",
        bad_line: "exitcodes=0,abc",
        value: "0,abc",
        reference_says: "not a valid list of exit codes: '0,abc'",
    },
    Case {
        name: "autorestart",
        program: "command=sleep 1\nautorestart=sometimes",
        bad_line: "autorestart=sometimes",
        value: "sometimes",
        reference_says: "invalid 'autorestart' value 'sometimes'",
    },
    Case {
        name: "numprocs without process_num",
        program: "command=sleep 1\nnumprocs=2",
        bad_line: "numprocs=2",
        value: "2",
        reference_says: "%(process_num) must be present within process_name when numprocs > 1",
    },
    Case {
        name: "no command",
        program: "autostart=true",
        bad_line: "[program:bad]",
        value: "[program:bad]",
        reference_says: "does not specify a command",
    },
    Case {
        name: "unknown user",
        program: "command=sleep 1\nuser=no_such_user_zz",
        bad_line: "user=no_such_user_zz",
        value: "no_such_user_zz",
        reference_says: "Invalid user name no_such_user_zz",
    },
    Case {
        name: "missing log dir",
        program: "command=sleep 1\nstdout_logfile=/nonexistent/dir/x.log",
        bad_line: "stdout_logfile=/nonexistent",
        value: "/nonexistent/dir/x.log",
        reference_says: "/nonexistent/dir/x.log does not exist",
    },
    Case {
        name: "broken interpolation",
        program: "command=sleep %(nosuch)s",
        bad_line: "command=sleep %(nosuch)s",
        value: "%(nosuch)s",
        reference_says: "contains names ('nosuch') which cannot be expanded",
    },
];

fn check_case(case: &Case) {
    let conf = Conf::new(&format!(
        "\n[program:ok]\ncommand=sleep 1000\n\n[program:bad]\n{}\n",
        case.program
    ));
    let line = conf.line_of(case.bad_line);
    let path = conf.path.display().to_string();
    let t = target();
    let (out, _conf) = Daemon::run_to_exit(t, conf, secs(10.0));
    let text = format!("{}{}", out.stdout, out.stderr);
    assert_ne!(
        out.code, 0,
        "{}: a broken config must give a non-zero exit\n{out}",
        case.name
    );
    match t {
        Target::Supervisord => {
            assert!(text.contains(case.reference_says), "{}: {text}", case.name);
            assert!(text.contains("program:bad"), "{}: {text}", case.name);
        }
        Target::Steward => {
            for needle in [
                format!("{path}:{line}"),
                "[program:bad]".to_owned(),
                case.value.to_owned(),
            ] {
                assert!(
                    text.contains(&needle),
                    "{}: the message must contain {needle:?}:\n{text}",
                    case.name
                );
            }
        }
    }
}

#[test]
fn config_errors_refuse_to_start_naming_file_line_section_value() {
    // The cases run in parallel: each is a daemon that exits at once.
    std::thread::scope(|s| {
        let handles: Vec<_> = CASES
            .iter()
            .map(|c| (c.name, s.spawn(move || check_case(c))))
            .collect();
        let failed: Vec<&str> = handles
            .into_iter()
            .filter_map(|(n, h)| h.join().is_err().then_some(n))
            .collect();
        assert!(failed.is_empty(), "cases that failed: {failed:?}");
    });
}

#[test]
fn ini_syntax_error_names_file_and_line() {
    let conf = Conf::new("\n[program:ok]\ncommand=sleep 1000\nthis is not an ini line\n");
    let line = conf.line_of("this is not an ini line");
    let path = conf.path.display().to_string();
    let (out, _conf) = Daemon::run_to_exit(target(), conf, secs(10.0));
    let text = format!("{}{}", out.stdout, out.stderr);
    assert_ne!(out.code, 0, "{out}");
    assert!(text.contains("this is not an ini line"), "{text}");
    if target() == Target::Steward {
        assert!(text.contains(&format!("{path}:{line}")), "{text}");
    } else {
        assert!(text.contains(&format!("[line {line:>2}]")), "{text}");
    }
}

#[test]
fn a_valid_config_is_not_refused() {
    // The counterpart of the cases above: the same header with a good program starts.
    let d = Daemon::start(Conf::new(
        "\n[program:ok]\ncommand=sleep 1000\nstartsecs=0\n",
    ));
    d.wait_state("ok", "RUNNING", secs(10.0));
}

#[test]
fn include_cycle_is_refused() {
    // supervisord does not follow [include] in included files; Steward does not either,
    // but an included file whose [include] points back at a file already read (here the
    // main file) is a cycle, and Steward refuses it. (Steward-only.)
    if is_reference() {
        return;
    }
    let conf = Conf::new("\n[include]\nfiles=a.ini\n");
    let main_name = conf
        .path
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned();
    std::fs::write(
        conf.file("a.ini"),
        format!("[include]\nfiles={main_name}\n[program:a]\ncommand=sleep 1000\n"),
    )
    .unwrap();
    let (out, _conf) = Daemon::run_to_exit(target(), conf, secs(10.0));
    let text = format!("{}{}", out.stdout, out.stderr);
    assert_ne!(out.code, 0, "{out}");
    assert!(text.contains("include cycle"), "{text}");
    assert!(text.contains("a.ini"), "{text}");
}
