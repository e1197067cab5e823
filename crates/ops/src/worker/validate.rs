//! Checks a worker must pass before its file is written: a name supervisord accepts,
//! values that cannot break the INI file, a stop budget longer than the graceful
//! timeout, and a user, directory and binary that exist on this machine.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use super::templates::Rendered;

/// A program or group name: `[A-Za-z0-9._-]+`. The error names the first bad character
/// in supervisord's wording (`datatypes.process_or_group_name`).
pub fn check_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("the worker name is empty".into());
    }
    match name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')))
    {
        Some(bad) => Err(format!(
            "Invalid name: {} because of character: {} (use letters, digits, '.', '_' and '-')",
            steward_config::interpolate::py_repr(name),
            steward_config::interpolate::py_repr(&bad.to_string()),
        )),
        None => Ok(()),
    }
}

/// Keys whose values become one word of a command line or a path: no whitespace.
const ONE_WORD: &[&str] = &[
    "path",
    "directory",
    "bin",
    "app",
    "connection",
    "queue",
    "user",
    "log-dir",
    "host",
    "port",
    "bind",
    "loglevel",
    "schedule",
    "url",
];

/// A value must fit on one INI line, and a one-word value must be one word.
pub fn check_value(key: &str, value: &str) -> Result<(), String> {
    if let Some(c) = value.chars().find(|c| c.is_control()) {
        return Err(format!(
            "--{key}: {} contains the control character {}",
            steward_config::interpolate::py_repr(value),
            steward_config::interpolate::py_repr(&c.to_string())
        ));
    }
    if ONE_WORD.contains(&key) && value.chars().any(char::is_whitespace) {
        return Err(format!(
            "--{key}: {} contains a space (supervisord splits command= on spaces)",
            steward_config::interpolate::py_repr(value)
        ));
    }
    if key == "queue" && value.contains(' ') {
        return Err(format!("--{key}: separate queue names with ','"));
    }
    Ok(())
}

/// The stop budget and the things the rendered worker needs from this machine.
pub fn check_rendered(r: &Rendered, check_system: bool) -> Vec<String> {
    let mut errors = Vec::new();
    if let Some((stopwaitsecs, graceful, what)) = r.stop_budget {
        if stopwaitsecs < graceful + 5 {
            errors.push(format!(
                "--stopwaitsecs={stopwaitsecs} must be at least {what} + 5 = {}: otherwise the daemon SIGKILLs a worker that is still finishing its job",
                graceful + 5
            ));
        }
    }
    if !check_system {
        return errors;
    }
    if let Some(user) = &r.user {
        match nix::unistd::User::from_name(user) {
            Ok(Some(_)) => {}
            Ok(None) => errors.push(format!("--user: no such user {user:?} on this machine")),
            Err(e) => errors.push(format!("--user: cannot look up {user:?}: {e}")),
        }
    }
    if let Some(dir) = &r.directory {
        if !Path::new(dir).is_dir() {
            errors.push(format!("directory {dir} does not exist"));
        }
    }
    if let Some(file) = &r.required_file {
        // Only worth saying when the directory itself exists (else that is the error).
        let dir_exists = match &r.directory {
            Some(d) => Path::new(d).is_dir(),
            None => true,
        };
        if dir_exists && !Path::new(file).exists() {
            errors.push(format!(
                "{file} does not exist (is this the project's root?)"
            ));
        }
    }
    if let Err(e) = find_binary(&r.binary) {
        errors.push(e);
    }
    errors
}

/// An executable: a path that exists and is executable, or a name found on PATH.
pub fn find_binary(binary: &str) -> Result<std::path::PathBuf, String> {
    let executable = |p: &Path| {
        std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    };
    if binary.contains('/') {
        let p = Path::new(binary);
        return if executable(p) {
            Ok(p.to_path_buf())
        } else if p.exists() {
            Err(format!("{binary} is not an executable file"))
        } else {
            Err(format!("{binary} does not exist"))
        };
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|d| d.join(binary))
        .find(|p| executable(p))
        .ok_or_else(|| {
            format!(
                "{binary}: not found on PATH ({}); give its full path with --bin or --command",
                path.to_string_lossy()
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_the_bad_character() {
        assert!(check_name("myapp-email_2.x").is_ok());
        let e = check_name("a:b").unwrap_err();
        assert!(e.contains("because of character: ':'"), "{e}");
        let e = check_name("a b").unwrap_err();
        assert!(e.contains("character: ' '"), "{e}");
        assert!(check_name("a/b").unwrap_err().contains("'/'"));
        assert!(check_name("").is_err());
    }

    #[test]
    fn values_stay_on_one_line_and_paths_stay_one_word() {
        assert!(check_value("command", "php artisan x").is_ok());
        assert!(check_value("command", "a\nb").is_err());
        assert!(check_value("path", "/var/www/my app").is_err());
    }

    #[test]
    fn binaries_are_found_on_path_or_refused() {
        assert!(find_binary("sh").is_ok());
        assert!(find_binary("/bin/sh").is_ok());
        assert!(find_binary("/nonexistent/php")
            .unwrap_err()
            .contains("does not exist"));
        assert!(find_binary("no-such-binary-xyz")
            .unwrap_err()
            .contains("not found on PATH"));
    }
}
