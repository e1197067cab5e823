//! The `[supervisorctl]` section of a supervisord.conf, read the way supervisorctl's
//! `ClientOptions.read_config` does. Kept behind [`read_ctl_section`] so it can be swapped
//! for `steward_config`'s loader once that exists.

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

/// Prefix of errors that supervisorctl reports as an uncaught exception (exit 1)
/// rather than a usage error (exit 2).
pub const PARSE_ERROR_MARK: &str = "\u{0}configparser.";

/// Values found in `[supervisorctl]` (already interpolated).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CtlSection {
    pub serverurl: Option<String>,
    pub username: Option<String>,
    pub password: Option<String>,
    pub prompt: Option<String>,
    pub history_file: Option<String>,
}

/// `os.path.normpath(os.path.abspath(os.path.expanduser(p)))`.
pub fn normalize_path(p: &str) -> String {
    let mut s = p.to_string();
    if s == "~" || s.starts_with("~/") {
        if let Ok(home) = std::env::var("HOME") {
            s = format!("{}{}", home, &s[1..]);
        }
    }
    let path = Path::new(&s);
    let abs: PathBuf = if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir()
            .unwrap_or_else(|_| PathBuf::from("/"))
            .join(path)
    };
    let mut out: Vec<String> = Vec::new();
    for c in abs.components() {
        match c {
            Component::RootDir | Component::Prefix(_) | Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            Component::Normal(n) => out.push(n.to_string_lossy().into_owned()),
        }
    }
    format!("/{}", out.join("/"))
}

/// A tiny `RawConfigParser` (inline `;`/`#` comments after whitespace, continuation
/// lines, `key = value` / `key: value`, lower-cased keys, last duplicate wins).
fn parse_ini(text: &str) -> Result<BTreeMap<String, BTreeMap<String, String>>, String> {
    let mut sections: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    let mut current: Option<String> = None;
    let mut last_key: Option<String> = None;
    for (lineno, raw) in text.lines().enumerate() {
        let line = strip_inline_comment(raw);
        if line.trim().is_empty() || raw.trim_start().starts_with(['#', ';']) {
            continue;
        }
        if raw.starts_with([' ', '\t']) && last_key.is_some() {
            if let (Some(sec), Some(k)) = (&current, &last_key) {
                let v = sections
                    .get_mut(sec)
                    .and_then(|s| s.get_mut(k))
                    .expect("key exists");
                v.push('\n');
                v.push_str(line.trim());
            }
            continue;
        }
        let t = line.trim();
        if let Some(rest) = t.strip_prefix('[') {
            if let Some(name) = rest.strip_suffix(']') {
                sections.entry(name.to_string()).or_default();
                current = Some(name.to_string());
                last_key = None;
                continue;
            }
        }
        let Some(sec) = &current else {
            return Err(format!(
                "MissingSectionHeaderError: File contains no section headers.\nfile: {}, line: {}\n{}",
                "{path}",
                lineno + 1,
                super::pyfmt::repr_str(&format!("{raw}\n"))
            ));
        };
        let idx = t.find(['=', ':']);
        let (k, v) = match idx {
            Some(i) => (t[..i].trim(), t[i + 1..].trim()),
            None => (t, ""),
        };
        let k = k.to_lowercase();
        sections
            .get_mut(sec)
            .expect("section")
            .insert(k.clone(), v.to_string());
        last_key = Some(k);
    }
    Ok(sections)
}

fn strip_inline_comment(line: &str) -> &str {
    let b = line.as_bytes();
    for i in 1..b.len() {
        if (b[i] == b';' || b[i] == b'#') && b[i - 1].is_ascii_whitespace() {
            return &line[..i];
        }
    }
    line
}

/// Python `%(name)s` expansion (plus `%%`) against `vars`.
fn expand(value: &str, vars: &BTreeMap<String, String>, what: &str) -> Result<String, String> {
    let mut out = String::new();
    let mut rest = value;
    while let Some(i) = rest.find('%') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        if let Some(a) = after.strip_prefix('%') {
            out.push('%');
            rest = a;
        } else if let Some(a) = after.strip_prefix('(') {
            let Some(close) = a.find(')') else {
                return Err(format!(
                    "Format string '{value}' for '{what}' is badly formatted"
                ));
            };
            let name = &a[..close];
            let tail = &a[close + 1..];
            let Some(t) = tail.strip_prefix('s') else {
                return Err(format!(
                    "Format string '{value}' for '{what}' is badly formatted"
                ));
            };
            match vars.get(name) {
                Some(v) => out.push_str(v),
                None => {
                    return Err(format!(
                        "Format string '{value}' for '{what}' contains names ('{name}') which cannot be expanded. Available names: {}",
                        vars.keys().cloned().collect::<Vec<_>>().join(", ")
                    ))
                }
            }
            rest = t;
        } else {
            return Err(format!(
                "Format string '{value}' for '{what}' is badly formatted"
            ));
        }
    }
    out.push_str(rest);
    Ok(out)
}

/// Reads `path` and returns its `[supervisorctl]` values. Errors carry supervisorctl's
/// usage-error text (`could not find config file X`, `.ini file does not include
/// supervisorctl section`, …).
pub fn read_ctl_section(path: &str) -> Result<CtlSection, String> {
    let here = {
        let n = normalize_path(path);
        Path::new(&n)
            .parent()
            .map(|p| p.to_string_lossy().into_owned())
            .unwrap_or_default()
    };
    if !Path::new(path).exists() {
        return Err(format!("could not find config file {path}"));
    }
    let text = std::fs::read(path).map_err(|_| format!("could not read config file {path}"))?;
    let text = String::from_utf8_lossy(&text);
    let sections = match parse_ini(&text) {
        Ok(s) => s,
        Err(e) => {
            return Err(format!(
                "{PARSE_ERROR_MARK}{}",
                e.replace("{path}", &super::pyfmt::repr_str(path))
            ))
        }
    };
    let Some(sec) = sections.get("supervisorctl") else {
        return Err(".ini file does not include supervisorctl section".into());
    };
    let mut vars: BTreeMap<String, String> = std::env::vars()
        .map(|(k, v)| (format!("ENV_{k}"), v))
        .collect();
    let get = |key: &str, vars: &BTreeMap<String, String>| -> Result<Option<String>, String> {
        match sec.get(key) {
            Some(v) => expand(v, vars, &format!("supervisorctl.{key}")).map(Some),
            None => Ok(None),
        }
    };
    let mut out = CtlSection {
        prompt: get("prompt", &vars)?,
        username: get("username", &vars)?,
        password: get("password", &vars)?,
        ..CtlSection::default()
    };
    vars.insert("here".into(), here);
    let serverurl = get("serverurl", &vars)?.unwrap_or_else(|| "http://localhost:9001".into());
    out.serverurl = Some(match serverurl.strip_prefix("unix://") {
        Some(p) => format!("unix://{}", normalize_path(p)),
        None => serverurl,
    });
    out.history_file = get("history_file", &vars)?
        .filter(|h| !h.is_empty())
        .map(|h| normalize_path(&h));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_section() {
        let dir = std::env::temp_dir().join(format!("steward-ctl-cfg-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let f = dir.join("s.conf");
        std::fs::write(
            &f,
            "[supervisord]\nx=1\n[supervisorctl]\nserverurl = unix://%(here)s/../x/s.sock ; c\nprompt=hey\nUserName: bob\n",
        )
        .unwrap();
        let s = read_ctl_section(f.to_str().unwrap()).unwrap();
        let parent = dir.parent().unwrap().display().to_string();
        assert_eq!(s.serverurl.unwrap(), format!("unix://{parent}/x/s.sock"));
        assert_eq!(s.prompt.as_deref(), Some("hey"));
        assert_eq!(s.username.as_deref(), Some("bob"));
        std::fs::write(&f, "[supervisord]\n").unwrap();
        assert_eq!(
            read_ctl_section(f.to_str().unwrap()).unwrap_err(),
            ".ini file does not include supervisorctl section"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
