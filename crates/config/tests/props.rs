//! Property tests: generated configs round-trip through ini text, and hostile input never
//! panics.

use proptest::prelude::*;
use std::collections::BTreeMap;
use steward_config::*;

fn opts() -> LoadOptions {
    LoadOptions {
        env: BTreeMap::new(),
        host_node_name: "h".into(),
        check_system: false,
    }
}

#[derive(Debug, Clone)]
struct Prog {
    name: String,
    words: Vec<String>,
    numprocs: i64,
    priority: i32,
    autostart: bool,
    autorestart: AutoRestart,
    exitcodes: Vec<i32>,
    stopsignal: i32,
    maxbytes_kb: u64,
    env: Vec<(String, String)>,
}

fn prog() -> impl Strategy<Value = Prog> {
    (
        "[a-z][a-z0-9_.-]{0,12}",
        prop::collection::vec("[A-Za-z0-9_./=-]{1,10}", 1..5),
        1i64..4,
        -100i32..1000,
        any::<bool>(),
        prop_oneof![
            Just(AutoRestart::Never),
            Just(AutoRestart::Unexpected),
            Just(AutoRestart::Always)
        ],
        prop::collection::vec(0i32..256, 0..4),
        prop_oneof![Just(1), Just(2), Just(9), Just(15), Just(10)],
        0u64..4096,
        prop::collection::vec(("[A-Z][A-Z0-9_]{0,6}", "[ -~&&[^\"'%\\\\;#]]{0,12}"), 0..3),
    )
        .prop_map(
            |(
                name,
                words,
                numprocs,
                priority,
                autostart,
                autorestart,
                exitcodes,
                stopsignal,
                maxbytes_kb,
                env,
            )| {
                // Keys must be unique for an exact round trip.
                let mut seen = std::collections::HashSet::new();
                let env = env
                    .into_iter()
                    .filter(|(k, _)| seen.insert(k.clone()))
                    .collect();
                Prog {
                    name,
                    words,
                    numprocs,
                    priority,
                    autostart,
                    autorestart,
                    exitcodes,
                    stopsignal,
                    maxbytes_kb,
                    env,
                }
            },
        )
}

fn render(p: &Prog) -> String {
    let ar = match p.autorestart {
        AutoRestart::Never => "false",
        AutoRestart::Unexpected => "unexpected",
        AutoRestart::Always => "true",
    };
    let ex: Vec<String> = p.exitcodes.iter().map(|e| e.to_string()).collect();
    let env: Vec<String> = p.env.iter().map(|(k, v)| format!("{k}=\"{v}\"")).collect();
    format!(
        "[program:{name}]\ncommand = {cmd}\nprocess_name=%(program_name)s-%(process_num)d\nnumprocs={n}\npriority={pr}\nautostart={as_}\nautorestart={ar}\nexitcodes={ex}\nstopsignal={sig}\nstdout_logfile_maxbytes={kb}KB\nenvironment={env}\n",
        name = p.name,
        cmd = p.words.join(" "),
        n = p.numprocs,
        pr = p.priority,
        as_ = p.autostart,
        ex = ex.join(","),
        sig = signal_name(p.stopsignal).unwrap(),
        kb = p.maxbytes_kb,
        env = env.join(","),
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn generated_configs_round_trip(progs in prop::collection::vec(prog(), 1..6)) {
        let mut uniq = std::collections::HashSet::new();
        let progs: Vec<Prog> = progs.into_iter().filter(|p| uniq.insert(p.name.clone())).collect();
        let mut text = String::from("[supervisord]\n");
        for p in &progs {
            text.push_str(&render(p));
        }
        let d = tempfile::tempdir().unwrap();
        let path = d.path().join("s.conf");
        std::fs::write(&path, &text).unwrap();
        let c = load(&path, &opts()).map_err(|e| TestCaseError::fail(format!("{e}\n{text}")))?;
        prop_assert_eq!(c.groups.len(), progs.len());
        for p in &progs {
            let g = c.group(&p.name).unwrap();
            prop_assert_eq!(g.priority, p.priority);
            prop_assert_eq!(g.processes.len() as i64, p.numprocs);
            for (i, pc) in g.processes.iter().enumerate() {
                prop_assert_eq!(&pc.name, &format!("{}-{}", p.name, i));
                prop_assert_eq!(&pc.command, &p.words.join(" "));
                prop_assert_eq!(split_command(&pc.command).unwrap(), p.words.clone());
                prop_assert_eq!(pc.autostart, p.autostart);
                prop_assert_eq!(pc.autorestart, p.autorestart);
                prop_assert_eq!(&pc.exitcodes, &p.exitcodes);
                prop_assert_eq!(pc.stopsignal, p.stopsignal);
                prop_assert_eq!(pc.stdout.maxbytes, p.maxbytes_kb * 1024);
                let env: Vec<(String, String)> = p.env.iter().map(|(k, v)| (k.clone(), v.trim().to_string())).collect();
                // Values are stripped of surrounding quotes only; inner spaces survive.
                let got: Vec<(String, String)> = pc.environment.iter().map(|(k, v)| (k.clone(), v.trim().to_string())).collect();
                prop_assert_eq!(got, env);
            }
        }
        // Groups sorted by (priority, name).
        let keys: Vec<(i32, String)> = c.groups.iter().map(|g| (g.priority, g.name.clone())).collect();
        let mut sorted = keys.clone();
        sorted.sort();
        prop_assert_eq!(keys, sorted);
    }

    #[test]
    fn hostile_text_never_panics(text in "(\\PC|[\\[\\]%=:;#\n \t()])*") {
        let d = tempfile::tempdir().unwrap();
        let path = d.path().join("s.conf");
        std::fs::write(&path, format!("[supervisord]\n{text}")).unwrap();
        let _ = load(&path, &opts());
        let _ = load_ctl(Some(&path), &opts());
    }

    #[test]
    fn hostile_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..400)) {
        let d = tempfile::tempdir().unwrap();
        let path = d.path().join("s.conf");
        let mut all = b"[supervisord]\n[program:x]\ncommand=".to_vec();
        all.extend_from_slice(&bytes);
        std::fs::write(&path, all).unwrap();
        let _ = load(&path, &opts());
    }

    #[test]
    fn hostile_values_in_every_option(v in "(\\PC|%\\(|%)*{0,40}", key in prop::sample::select(vec![
        "command", "process_name", "numprocs", "priority", "environment", "directory",
        "stdout_logfile", "user", "umask", "exitcodes", "stopsignal", "autorestart",
        "stdout_logfile_maxbytes", "serverurl",
    ])) {
        let text = format!("[supervisord]\n[program:x]\ncommand=c\n{key}={v}\n[inet_http_server]\nport={v}\n[cron:c]\nschedule={v}\ncommand=x\ntimezone={v}\n");
        let d = tempfile::tempdir().unwrap();
        let path = d.path().join("s.conf");
        std::fs::write(&path, text).unwrap();
        if let Err(e) = load(&path, &opts()) {
            for diag in &e.0 {
                prop_assert!(!diag.reason.is_empty());
            }
        }
    }

    #[test]
    fn split_command_matches_quoting(words in prop::collection::vec("[ -~]{0,8}", 1..5)) {
        // Single-quote every word (escaping embedded single quotes the POSIX way).
        let quoted: Vec<String> = words.iter().map(|w| format!("'{}'", w.replace('\'', "'\"'\"'"))).collect();
        prop_assert_eq!(split_command(&quoted.join(" ")).unwrap(), words);
    }
}
