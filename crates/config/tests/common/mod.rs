//! Loading a config text from a file in a temp dir, for the section tests (nodes.rs,
//! users.rs): `@DIR@` in the text becomes the temp dir, which also holds two token files
//! (`web2.token` with a token, `empty.token` blank) for the tests that point at one.

use std::collections::BTreeMap;
use std::path::PathBuf;
use steward_config::*;

pub fn load_text(text: &str) -> (tempfile::TempDir, PathBuf, Result<Config, ConfigErrors>) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("steward.conf");
    std::fs::write(dir.path().join("web2.token"), "stw_abc\n").unwrap();
    std::fs::write(dir.path().join("empty.token"), "\n").unwrap();
    let text = text.replace("@DIR@", &dir.path().display().to_string());
    std::fs::write(&path, text).unwrap();
    let opts = LoadOptions {
        env: BTreeMap::from([("HOME".to_string(), "/home/tester".to_string())]),
        host_node_name: "testhost".into(),
        check_system: false,
    };
    let result = load(&path, &opts);
    (dir, path, result)
}

pub fn ok(text: &str) -> Config {
    match load_text(text).2 {
        Ok(c) => c,
        Err(e) => panic!("unexpected errors:\n{e}"),
    }
}

/// The messages, each as `line: [section] key = value: reason` (the file name is checked
/// on every message and stripped).
pub fn errors(text: &str) -> Vec<String> {
    let (_d, path, result) = load_text(text);
    let errs = result.expect_err("expected errors").0;
    errs.iter()
        .map(|d| {
            assert_eq!(d.location.file, path);
            d.to_string()
                .strip_prefix(&format!("{}:", path.display()))
                .unwrap()
                .to_string()
        })
        .collect()
}
