//! Issue 16: the files the Debian package ships (`packaging/`) are the ones Steward
//! renders itself, so the package and `steward service install` never drift apart:
//! `packaging/steward.service` is the unit `service install` writes for the default
//! config, `packaging/steward.conf` is that default config, and the package metadata
//! names both. (`scripts/package-test.sh` builds and installs the package itself.)
mod support;
use support::*;

use std::fs;
use std::process::Command;
use std::time::Duration;

#[test]
fn packaged_unit_and_config_are_what_service_install_renders() {
    let repo = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let out = run_with_timeout(
        Command::new(steward_bin())
            .args(["service", "install", "--binary", "/usr/bin/steward"])
            .args(["--unit-dir", "/lib/systemd/system", "--root"])
            .arg(root),
        Duration::from_secs(20),
    );
    assert_eq!(out.code, 0, "{out}");
    let read = |p: &str| fs::read_to_string(p).unwrap_or_else(|e| panic!("{p}: {e}"));
    assert_eq!(
        read(&format!("{repo}/packaging/steward.service")),
        read(&root.join("lib/systemd/system/steward.service").display().to_string()),
        "packaging/steward.service is stale: regenerate it with `steward service install --root DIR --binary /usr/bin/steward --unit-dir /lib/systemd/system`"
    );
    assert_eq!(
        read(&format!("{repo}/packaging/steward.conf")),
        read(&root.join("etc/steward/steward.conf").display().to_string()),
        "packaging/steward.conf is stale"
    );
    let manifest = read(&format!("{repo}/crates/cli/Cargo.toml"));
    for needle in [
        "[package.metadata.deb]",
        r#"["../../packaging/steward.service", "lib/systemd/system/steward.service", "644"]"#,
        r#"["../../packaging/steward.conf", "etc/steward/steward.conf", "644"]"#,
        r#"conf-files = ["/etc/steward/steward.conf"]"#,
    ] {
        assert!(
            manifest.contains(needle),
            "crates/cli/Cargo.toml lacks {needle}"
        );
    }
}
