//! Validating rendered program files with Steward's own loader before any of them is
//! written: what the daemon's `reloadConfig` would refuse (a bad option, `numprocs > 1`
//! without `%(process_num)`, an unknown user) is refused here first, with the loader's
//! `file:line: [section] key = value` diagnostics pointing at the file as it will be named.
//!
//! The loader reads files, so the candidates are laid out in a scratch directory (never
//! the include directory) behind a minimal main file, loaded in one pass, and the scratch
//! paths in the diagnostics are replaced by the real destination.

use std::path::{Path, PathBuf};

use steward_config::{Config, LoadOptions};

/// One rendered file: where it will live and its text.
#[derive(Debug, Clone)]
pub struct Candidate<'a> {
    pub destination: &'a Path,
    pub text: &'a str,
}

/// Loads every candidate as one configuration. `check_system`: also check users and
/// log directories against this machine (what the daemon does).
pub fn check_program_files(
    candidates: &[Candidate<'_>],
    check_system: bool,
) -> Result<Config, Vec<String>> {
    let scratch = tempfile::Builder::new()
        .prefix("steward-check-")
        .tempdir()
        .map_err(|e| vec![format!("cannot create a scratch directory: {e}")])?;
    let parts = scratch.path().join("parts");
    std::fs::create_dir(&parts).map_err(|e| vec![format!("{}: {e}", parts.display())])?;
    let main = scratch.path().join("main.ini");
    std::fs::write(
        &main,
        format!(
            "[supervisord]\nchildlogdir={}\n[include]\nfiles = parts/*.conf\n",
            scratch.path().display()
        ),
    )
    .map_err(|e| vec![format!("{}: {e}", main.display())])?;
    let mut names: Vec<(PathBuf, &Path)> = Vec::new();
    for (i, c) in candidates.iter().enumerate() {
        // Numbered names keep the include order the destination order and never collide.
        let scratch_file = parts.join(format!("{i:06}.conf"));
        std::fs::write(&scratch_file, c.text)
            .map_err(|e| vec![format!("{}: {e}", scratch_file.display())])?;
        names.push((scratch_file, c.destination));
    }
    let mut opts = LoadOptions::from_system();
    opts.check_system = check_system;
    steward_config::load(&main, &opts).map_err(|errors| {
        errors
            .0
            .iter()
            .map(|d| {
                let mut line = d.to_string();
                for (scratch_file, dest) in &names {
                    line = line.replace(
                        &scratch_file.display().to_string(),
                        &dest.display().to_string(),
                    );
                }
                line
            })
            .collect()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_good_files_and_names_the_destination_of_a_bad_one() {
        let good = "[program:a]\ncommand=/bin/true\n";
        let bad = "[program:b]\ncommand=/bin/true\nnumprocs=2\n";
        let cfg = check_program_files(
            &[Candidate {
                destination: Path::new("/etc/supervisor/conf.d/a.conf"),
                text: good,
            }],
            false,
        )
        .unwrap();
        assert!(cfg.group("a").is_some());
        let errors = check_program_files(
            &[
                Candidate {
                    destination: Path::new("/etc/supervisor/conf.d/a.conf"),
                    text: good,
                },
                Candidate {
                    destination: Path::new("/etc/supervisor/conf.d/b.conf"),
                    text: bad,
                },
            ],
            false,
        )
        .unwrap_err();
        let all = errors.join("\n");
        assert!(all.contains("/etc/supervisor/conf.d/b.conf"), "{all}");
        assert!(all.contains("process_num"), "{all}");
    }
}
