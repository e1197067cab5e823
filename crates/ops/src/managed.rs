//! The "managed by steward" header: the one rule by which every operator tool knows which
//! files it owns.
//!
//! A managed file starts with a comment line `<comment> managed by steward (<tool>[:
//! <scope>]) - edits here are overwritten`, where `<comment>` is `;` for supervisord INI
//! files and `#` for logrotate, crontab and systemd files, `<tool>` names the writer
//! (`worker`, `sync`, `crontab`, `service`) and `<scope>` narrows ownership (for `sync`,
//! the site domain: two domains never delete each other's files).

/// The comment leader a file format uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CommentStyle {
    /// `;` (supervisord INI files).
    Semicolon,
    /// `#` (logrotate, crontab, systemd units, shell).
    Hash,
}

impl CommentStyle {
    fn leader(self) -> &'static str {
        match self {
            CommentStyle::Semicolon => ";",
            CommentStyle::Hash => "#",
        }
    }
}

const MARK: &str = " managed by steward (";
const TAIL: &str = ") - edits here are overwritten";

/// Who owns a managed file: the tool and, optionally, a scope within it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Owner {
    pub tool: String,
    pub scope: Option<String>,
}

impl Owner {
    pub fn new(tool: &str, scope: Option<&str>) -> Owner {
        Owner {
            tool: tool.to_string(),
            scope: scope.map(str::to_string),
        }
    }
}

/// The header line (with its newline) for a file owned by `owner`.
pub fn header(style: CommentStyle, owner: &Owner) -> String {
    match &owner.scope {
        Some(scope) => format!("{}{MARK}{}: {scope}{TAIL}\n", style.leader(), owner.tool),
        None => format!("{}{MARK}{}{TAIL}\n", style.leader(), owner.tool),
    }
}

/// The owner named by the first line of `contents`, if it is a Steward header.
pub fn owner_of(contents: &str) -> Option<Owner> {
    let first = contents.lines().next()?;
    let rest = first
        .strip_prefix(';')
        .or_else(|| first.strip_prefix('#'))?;
    let inner = rest.strip_prefix(MARK)?.strip_suffix(TAIL)?;
    Some(match inner.split_once(": ") {
        Some((tool, scope)) => Owner::new(tool, Some(scope)),
        None => Owner::new(inner, None),
    })
}

/// Whether `contents` carries exactly `owner`'s header.
pub fn is_owned_by(contents: &str, owner: &Owner) -> bool {
    owner_of(contents).as_ref() == Some(owner)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_round_trips() {
        for owner in [
            Owner::new("worker", None),
            Owner::new("sync", Some("example.com")),
        ] {
            for style in [CommentStyle::Semicolon, CommentStyle::Hash] {
                let text = format!("{}[program:x]\n", header(style, &owner));
                assert_eq!(owner_of(&text), Some(owner.clone()));
                assert!(is_owned_by(&text, &owner));
            }
        }
    }

    #[test]
    fn other_files_and_other_scopes_are_not_ours() {
        let ours = Owner::new("sync", Some("a.com"));
        let theirs = format!(
            "{}x\n",
            header(CommentStyle::Hash, &Owner::new("sync", Some("b.com")))
        );
        assert!(!is_owned_by(&theirs, &ours));
        assert_eq!(owner_of("[program:x]\ncommand=true\n"), None);
        assert_eq!(owner_of("; managed by someone else\n"), None);
        assert_eq!(owner_of(""), None);
    }
}
