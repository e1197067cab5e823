//! What the two supervisorctl comparison suites share (`ctl_vs_supervisord.rs`:
//! `steward ctl` vs the real supervisorctl on a real supervisord;
//! `supervisorctl_on_steward.rs`: the real supervisorctl on Steward vs on supervisord):
//! where the reference venv is, and the programs both scenarios run.

use std::path::{Path, PathBuf};

/// The venv holding supervisor 4.3.0: STEWARD_TEST_VENV, else `<repo>/.venv`, else
/// /tmp/venv-sup. `None` when none holds supervisord and supervisorctl.
pub fn venv() -> Option<PathBuf> {
    let mut cands: Vec<PathBuf> = Vec::new();
    if let Ok(v) = std::env::var("STEWARD_TEST_VENV") {
        cands.push(v.into());
    }
    cands.push(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.venv"));
    cands.push("/work/main/.venv".into());
    cands.push("/tmp/venv-sup".into());
    cands
        .into_iter()
        .find(|p| p.join("bin/supervisord").exists() && p.join("bin/supervisorctl").exists())
}

/// The programs of both comparison scenarios (`talker` has known output, for `tail`).
pub const PROGRAMS: &str = r#"
[program:sleeper]
command=sleep 1000
startsecs=0
[program:trapper]
command=sh -c 'trap "" HUP; while :; do sleep 1; done'
startsecs=0
[program:quick]
command=sh -c 'echo out-line; echo err-line >&2; exit 3'
autostart=false
startsecs=5
startretries=0
[program:missing]
command=/nonexistent/steward-test-cmd
autostart=false
[group:grp]
programs=ga,gb
[program:ga]
command=sleep 1000
startsecs=0
[program:gb]
command=sleep 1000
autostart=false
startsecs=0
[program:talker]
command=sh -c 'echo talk-out; echo talk-err >&2; exec sleep 1000'
startsecs=0
"#;
