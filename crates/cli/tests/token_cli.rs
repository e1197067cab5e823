//! Black-box tests of `steward token create|list|revoke` and `steward passwd`: the real
//! binary on config files and state directories in temp dirs.

use std::fs;
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use steward_auth::{StoredPassword, TokenStore};

struct Env {
    dir: tempfile::TempDir,
    conf: PathBuf,
}

impl Env {
    fn new() -> Env {
        let dir = tempfile::tempdir().unwrap();
        let conf = dir.path().join("steward.conf");
        fs::write(
            &conf,
            format!(
                "[supervisord]\n[steward]\nstate_dir = {}\n",
                dir.path().join("state").display()
            ),
        )
        .unwrap();
        Env { dir, conf }
    }

    fn tokens(&self) -> PathBuf {
        self.dir.path().join("state").join("tokens.json")
    }

    fn audit(&self) -> PathBuf {
        self.dir.path().join("state").join("audit.jsonl")
    }

    fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_steward"));
        c.arg("token").args(args).arg("-c").arg(&self.conf);
        c.stdin(Stdio::null());
        c
    }

    fn run(&self, args: &[&str]) -> Output {
        self.cmd(args).output().unwrap()
    }
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn code(o: &Output) -> i32 {
    o.status.code().expect("exited, not killed")
}

#[test]
fn create_list_revoke_round_trip() {
    let env = Env::new();
    let out = env.run(&["create", "ci", "--role", "operator", "--groups", "web*,api"]);
    assert_eq!(code(&out), 0, "{}", text(&out.stderr));
    let token = text(&out.stdout).trim().to_string();
    assert!(token.starts_with("stw_"), "{token}");
    assert_eq!(
        text(&out.stdout),
        format!("{token}\n"),
        "the token alone on stdout"
    );
    assert!(text(&out.stderr).contains("shown only this once"));

    let out = env.run(&["create", "deploy", "--role", "admin", "--expires", "30d"]);
    assert_eq!(code(&out), 0, "{}", text(&out.stderr));
    let deploy = text(&out.stdout).trim().to_string();

    // The file: hashes only, mode 0600, in a 0700 directory.
    let file = fs::read_to_string(env.tokens()).unwrap();
    for t in [&token, &deploy] {
        assert!(!file.contains(&t[4..]), "plaintext token in {file}");
    }
    assert_eq!(mode(&env.tokens()), 0o600);
    assert_eq!(mode(env.tokens().parent().unwrap()), 0o700);

    // What a daemon's store sees.
    let store = TokenStore::open(&env.tokens()).unwrap();
    let p = store.verify(&token).unwrap();
    assert_eq!(p.name, "ci");
    assert_eq!(p.role, steward_auth::Role::Operator);
    assert_eq!(p.groups, Some(vec!["web*".to_string(), "api".to_string()]));
    assert_eq!(
        store.verify(&deploy).unwrap().role,
        steward_auth::Role::Admin
    );

    let out = env.run(&["list"]);
    assert_eq!(code(&out), 0);
    let table = text(&out.stdout);
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines.len(), 3, "{table}");
    assert!(lines[0].starts_with("NAME"), "{table}");
    assert!(
        lines[1].starts_with("ci ")
            && lines[1].contains("operator")
            && lines[1].contains("web*,api")
    );
    assert!(lines[2].starts_with("deploy ") && lines[2].contains("admin"));
    assert!(!table.contains(&token[4..]));

    let out = env.run(&["list", "--json"]);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json[0]["name"], "ci");
    assert_eq!(json[1]["role"], "admin");
    assert!(json[1]["expires"].is_string());

    let out = env.run(&["revoke", "ci"]);
    assert_eq!(code(&out), 0, "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "token 'ci' revoked\n");
    assert!(TokenStore::open(&env.tokens())
        .unwrap()
        .verify(&token)
        .is_none());
    assert!(TokenStore::open(&env.tokens())
        .unwrap()
        .verify(&deploy)
        .is_some());
    let out = env.run(&["list"]);
    assert_eq!(text(&out.stdout).lines().count(), 2);

    // The changes are in the audit log, attributed to the CLI.
    let audit = fs::read_to_string(env.audit()).unwrap();
    let actions: Vec<(String, String, String)> = audit
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            assert_eq!(v["source"], "cli");
            (
                v["action"].as_str().unwrap().to_string(),
                v["target"].as_str().unwrap().to_string(),
                v["result"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let s = |a: &str, t: &str| (a.to_string(), t.to_string(), "ok".to_string());
    assert_eq!(
        actions,
        [
            s("token.create", "ci"),
            s("token.create", "deploy"),
            s("token.revoke", "ci")
        ]
    );
    assert_eq!(mode(&env.audit()), 0o600);
}

#[test]
fn errors_are_clear_and_change_nothing() {
    let env = Env::new();
    assert_eq!(code(&env.run(&["create", "a", "--role", "viewer"])), 0);
    let before = fs::read(env.tokens()).unwrap();

    let cases: &[(&[&str], i32, &str)] = &[
        (
            &["create", "b", "--role", "root"],
            2,
            "invalid value 'root' for '--role <ROLE>': unknown role 'root' (expected one of: viewer, logs, operator, admin)",
        ),
        (&["create", "b"], 2, "--role <ROLE>"),
        (
            &["create", "a", "--role", "admin"],
            1,
            "a token named 'a' already exists",
        ),
        (&["create", "b c", "--role", "admin"], 1, "bad token name 'b c'"),
        (
            &["create", "b", "--role", "admin", "--groups", "[web"],
            2,
            "--groups: bad group glob '[web'",
        ),
        (
            &["create", "b", "--role", "admin", "--expires", "2001-01-01"],
            2,
            "is not in the future",
        ),
        (
            &["create", "b", "--role", "admin", "--expires", "soon"],
            2,
            "invalid expiry 'soon'",
        ),
        (&["revoke", "nobody"], 1, "no token named 'nobody'"),
    ];
    for (args, want_code, want_msg) in cases {
        let out = env.run(args);
        assert_eq!(code(&out), *want_code, "{args:?}: {}", text(&out.stderr));
        assert!(
            text(&out.stderr).contains(want_msg),
            "{args:?}: stderr {:?} lacks {want_msg:?}",
            text(&out.stderr)
        );
        assert!(
            out.stdout.is_empty(),
            "{args:?} printed {}",
            text(&out.stdout)
        );
        assert_eq!(
            fs::read(env.tokens()).unwrap(),
            before,
            "{args:?} changed the file"
        );
    }

    // A bad config file: its error, exit 2, nothing touched.
    fs::write(
        &env.conf,
        "[supervisord]\n[user:x]\nrole = boss\npassword = p\n",
    )
    .unwrap();
    let out = env.run(&["list"]);
    assert_eq!(code(&out), 2);
    assert!(
        text(&out.stderr).contains("[user:x] role = boss: unknown role 'boss'"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn a_failed_write_keeps_the_old_file() {
    let env = Env::new();
    assert_eq!(code(&env.run(&["create", "first", "--role", "viewer"])), 0);
    let before = fs::read(env.tokens()).unwrap();
    // Files may not grow past 64 bytes: writing the new token file fails (EFBIG, with
    // SIGXFSZ ignored so the write returns the error). Root is bound by this limit too.
    let mut cmd = env.cmd(&["create", "second", "--role", "admin"]);
    unsafe {
        cmd.pre_exec(|| {
            libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
            let lim = libc::rlimit {
                rlim_cur: 64,
                rlim_max: 64,
            };
            if libc::setrlimit(libc::RLIMIT_FSIZE, &lim) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let out = cmd.output().unwrap();
    assert_eq!(code(&out), 1, "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("File too large"),
        "{}",
        text(&out.stderr)
    );
    assert!(
        out.stdout.is_empty(),
        "no token printed for a failed create"
    );
    assert_eq!(fs::read(env.tokens()).unwrap(), before);
    // Nothing but the old files is left beside it (no temp file).
    let mut names: Vec<String> = fs::read_dir(env.tokens().parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, [".tokens.json.lock", "audit.jsonl", "tokens.json"]);
    let out = env.run(&["list"]);
    let table = text(&out.stdout);
    assert!(
        table.contains("first") && !table.contains("second"),
        "{table}"
    );
}

#[test]
fn a_corrupt_token_file_is_reported_not_overwritten() {
    let env = Env::new();
    fs::create_dir_all(env.tokens().parent().unwrap()).unwrap();
    fs::write(env.tokens(), "{\"version\": 1, \"tokens\": [").unwrap();
    for args in [
        &["list"][..],
        &["create", "x", "--role", "viewer"],
        &["revoke", "x"],
    ] {
        let out = env.run(args);
        assert_eq!(code(&out), 1, "{args:?}");
        assert!(
            text(&out.stderr).contains("not a valid token file"),
            "{args:?}: {}",
            text(&out.stderr)
        );
    }
    assert_eq!(
        fs::read_to_string(env.tokens()).unwrap(),
        "{\"version\": 1, \"tokens\": ["
    );
}

#[test]
fn token_file_setting_is_honoured() {
    let env = Env::new();
    let custom = env.dir.path().join("elsewhere").join("api-tokens.json");
    fs::write(
        &env.conf,
        format!(
            "[supervisord]\n[steward]\ntoken_file = {}\n",
            custom.display()
        ),
    )
    .unwrap();
    let out = env.run(&["create", "t", "--role", "logs"]);
    assert_eq!(code(&out), 0, "{}", text(&out.stderr));
    let token = text(&out.stdout).trim().to_string();
    assert_eq!(
        TokenStore::open(&custom)
            .unwrap()
            .verify(&token)
            .unwrap()
            .role,
        steward_auth::Role::Logs
    );
    assert!(!env.tokens().exists());
}

fn passwd(args: &[&str], stdin: &[u8]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_steward"))
        .arg("passwd")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Dropping stdin after the write closes it, so the child sees EOF.
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    child.wait_with_output().unwrap()
}

#[test]
fn passwd_prints_a_verifiable_argon2id_hash() {
    let out = passwd(&["--stdin"], b"correct horse\r\nsecond line ignored\n");
    assert_eq!(code(&out), 0, "{}", text(&out.stderr));
    let phc = text(&out.stdout);
    let phc = phc.trim_end();
    assert!(phc.starts_with("$argon2id$v=19$"), "{phc}");
    let stored = StoredPassword::parse(phc).unwrap();
    assert!(stored.verify("correct horse"));
    assert!(!stored.verify("correct horse\r"));

    // Usable as is in a [user:NAME] section.
    let env = Env::new();
    fs::write(
        &env.conf,
        format!("[supervisord]\n[user:alice]\npassword = {phc}\nrole = operator\n"),
    )
    .unwrap();
    let cfg = steward_config::load(
        &env.conf,
        &steward_config::LoadOptions {
            check_system: false,
            ..steward_config::LoadOptions::from_system()
        },
    )
    .unwrap();
    assert!(cfg.users[0].password.verify("correct horse"));

    let out = passwd(&["--stdin"], b"\n");
    assert_eq!(code(&out), 1);
    assert!(text(&out.stderr).contains("empty password"));
    assert!(out.stdout.is_empty());
}

fn mode(p: &Path) -> u32 {
    fs::metadata(p).unwrap().permissions().mode() & 0o777
}
