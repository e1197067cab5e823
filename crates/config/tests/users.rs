//! `[user:NAME]` sections and `[steward] token_file`, loaded from files in temp dirs.

use std::path::PathBuf;
use steward_config::access::{Role, StoredPassword};

mod common;
use common::{errors, ok};

const PHC: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$kdq5C3Y5j6hQ2CU0x3yGNKPv4S1aKqkN3xiMHfVx3oU";

#[test]
fn users_with_each_password_form() {
    let c = ok(&format!(
        "[supervisord]\n\
         [user:alice]\npassword = {PHC}\nrole = operator\ngroups = web*, worker\n\
         [user:bob]\npassword = {{SHA}}82ab876d1387bfafe46cc1c8a2ef074eae50cb1d\n\
         [user:carol]\npassword = hunter2\nrole = LOGS\n"
    ));
    assert_eq!(c.users.len(), 3);
    let alice = &c.users[0];
    assert_eq!(alice.name, "alice");
    assert_eq!(alice.role, Role::Operator);
    assert_eq!(
        alice.groups,
        Some(vec!["web*".to_string(), "worker".to_string()])
    );
    assert_eq!(alice.password, StoredPassword::Argon2id(PHC.into()));
    assert_eq!(alice.defined_at.line, 2);
    let bob = &c.users[1];
    assert_eq!(bob.role, Role::Viewer, "default role");
    assert_eq!(bob.groups, None);
    assert!(bob.password.verify("thepassword"));
    assert_eq!(c.users[2].role, Role::Logs);
    // Plain text works, with a warning.
    assert!(c.users[2].password.verify("hunter2"));
    let w: Vec<String> = c.warnings.iter().map(|d| d.to_string()).collect();
    assert!(
        w.iter()
            .any(|w| w.contains("[user:carol] password = hunter2: plain-text password")),
        "{w:?}"
    );
    assert!(!w.iter().any(|w| w.contains("unknown section")), "{w:?}");
}

#[test]
fn bad_user_sections_name_file_line_section_and_key() {
    let e = errors(
        "[supervisord]\n\
         [user:a]\npassword = {SHA}abc\n\
         [user:b]\npassword = $argon2id$broken\n\
         [user:c]\npassword = x\nrole = root\n\
         [user:d]\npassword = x\ngroups = [web\n\
         [user:e]\nrole = admin\n\
         [user:f:g]\npassword = x\n\
         [user:h]\npassword = $2b$12$abcdefghijklmnopqrstuv\n",
    );
    let expect = [
        "3: [user:a] password = {SHA}abc: {SHA} must be followed by 40 hex digits",
        "5: [user:b] password = $argon2id$broken: not a valid PHC hash string",
        "8: [user:c] role = root: unknown role 'root' (expected one of: viewer, logs, operator, admin)",
        "11: [user:d] groups = [web: bad group glob '[web'",
        "12: [user:e] password = : section [user:e] has no password (run `steward passwd`)",
        "14: [user:f:g]: bad user name 'f:g'",
        "17: [user:h] password = $2b$12$abcdefghijklmnopqrstuv: not a valid PHC hash string",
    ];
    assert_eq!(e.len(), expect.len(), "{e:#?}");
    for (got, want) in e.iter().zip(expect) {
        assert!(got.starts_with(want), "got {got:?}\nwant {want:?}");
    }
}

#[test]
fn unknown_keys_and_shadowed_names_warn() {
    let c = ok(&format!(
        "[supervisord]\n[inet_http_server]\nport=127.0.0.1:9001\nusername=root\npassword=x\n\
         [user:root]\npassword={PHC}\nrol=admin\n"
    ));
    let w: Vec<String> = c.warnings.iter().map(|d| d.to_string()).collect();
    assert!(
        w.iter()
            .any(|w| w.contains("[user:root] rol = admin: unknown option")),
        "{w:?}"
    );
    assert!(
        w.iter()
            .any(|w| w.contains("also a server section's username")),
        "{w:?}"
    );
}

#[test]
fn token_file_setting() {
    assert_eq!(ok("[supervisord]\n").steward.token_file, None);
    let c = ok("[supervisord]\n[steward]\nstate_dir=/srv/st\ntoken_file=~/tok.json\n");
    assert_eq!(
        c.steward.token_file,
        Some(PathBuf::from("/home/tester/tok.json"))
    );
    assert_eq!(c.steward.state_dir, Some(PathBuf::from("/srv/st")));
}
