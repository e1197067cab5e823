//! Hiding secrets from callers who may read configuration but not secrets.
//!
//! Two rules, applied wherever the API shows a resolved config (environment, command line,
//! URLs): a variable whose *name* looks secret ([`is_secret_name`]: contains `KEY`,
//! `SECRET`, `TOKEN` or `PASS`, any case) has its whole value replaced by [`REDACTED`];
//! and in any other value the password of a URL (`scheme://user:password@host`) is
//! replaced ([`redact_url_credentials`]), since `DATABASE_URL` or a `--upstream` flag
//! often carries one under an innocent name. A URL with only a user part
//! (`https://user@host`) is left alone: by URL rules that part is a name.

/// What a hidden value is replaced with.
pub const REDACTED: &str = "<redacted>";

const SECRET_WORDS: [&str; 4] = ["KEY", "SECRET", "TOKEN", "PASS"];

/// Whether a variable or option name looks like it holds a secret: `*KEY*`, `*SECRET*`,
/// `*TOKEN*`, `*PASS*`, case-insensitive (`API_KEY`, `db_password`, `GithubToken`).
pub fn is_secret_name(name: &str) -> bool {
    let upper = name.to_ascii_uppercase();
    SECRET_WORDS.iter().any(|w| upper.contains(w))
}

/// An environment with secret-named values replaced by [`REDACTED`] and URL passwords
/// hidden in the others, order kept.
pub fn redact_env<K: AsRef<str>, V: AsRef<str>>(env: &[(K, V)]) -> Vec<(String, String)> {
    env.iter()
        .map(|(k, v)| {
            let k = k.as_ref();
            let v = if is_secret_name(k) {
                REDACTED.to_string()
            } else {
                redact_url_credentials(v.as_ref())
            };
            (k.to_string(), v)
        })
        .collect()
}

/// Replaces the password of every `scheme://user:password@host` in `text` (a URL alone
/// or a whole command line) with [`REDACTED`]: `https://u:pw@h/x` →
/// `https://u:<redacted>@h/x`.
pub fn redact_url_credentials(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("://") {
        // No check of the scheme's syntax: hiding too much is the safe mistake.
        let (before, after) = rest.split_at(at + 3);
        out.push_str(before);
        // The authority ends at the path, query, fragment, or where the URL itself ends
        // inside a larger text.
        let end = after
            .find(|c: char| {
                matches!(c, '/' | '?' | '#' | '"' | '\'' | '<' | '>') || c.is_whitespace()
            })
            .unwrap_or(after.len());
        let authority = &after[..end];
        match authority.rfind('@').and_then(|a| {
            let userinfo = &authority[..a];
            userinfo.find(':').map(|c| (c, a))
        }) {
            Some((colon, a)) => {
                out.push_str(&authority[..=colon]);
                out.push_str(REDACTED);
                out.push_str(&authority[a..]);
            }
            None => out.push_str(authority),
        }
        rest = &after[end..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_names() {
        for n in [
            "API_KEY",
            "aws_secret_access_key",
            "GithubToken",
            "DB_PASSWORD",
            "passphrase",
            "KEYRING",
            "x_Secret_y",
        ] {
            assert!(is_secret_name(n), "{n}");
        }
        for n in ["PATH", "HOME", "DATABASE_URL", "PORT", "USER", "LANG", ""] {
            assert!(!is_secret_name(n), "{n}");
        }
    }

    #[test]
    fn env_values() {
        let env = [
            ("API_KEY", "abc"),
            ("PATH", "/usr/bin"),
            ("DATABASE_URL", "postgres://app:s3cret@db:5432/app"),
            ("db_pass", "x"),
        ];
        assert_eq!(
            redact_env(&env),
            vec![
                ("API_KEY".to_string(), REDACTED.to_string()),
                ("PATH".into(), "/usr/bin".into()),
                (
                    "DATABASE_URL".into(),
                    "postgres://app:<redacted>@db:5432/app".into()
                ),
                ("db_pass".into(), REDACTED.into()),
            ]
        );
        let owned: Vec<(String, String)> = vec![("TOKEN".into(), "t".into())];
        assert_eq!(redact_env(&owned)[0].1, REDACTED);
    }

    #[test]
    fn url_credentials() {
        let r = redact_url_credentials;
        assert_eq!(r("https://user:pw@host"), "https://user:<redacted>@host");
        assert_eq!(
            r("https://user:pw@host:8443/path?q=a:b@c#f"),
            "https://user:<redacted>@host:8443/path?q=a:b@c#f"
        );
        assert_eq!(
            r("redis://:pw@127.0.0.1:6379/0"),
            "redis://:<redacted>@127.0.0.1:6379/0"
        );
        assert_eq!(r("mysql://u:p@ss@h/db"), "mysql://u:<redacted>@h/db");
        assert_eq!(
            r("worker --broker amqp://guest:guest@mq// --result 'redis://r:x@cache'"),
            "worker --broker amqp://guest:<redacted>@mq// --result 'redis://r:<redacted>@cache'"
        );
        // Nothing to hide.
        for same in [
            "https://host/a:b@c",
            "https://user@host",
            "https://host:8080",
            "plain text",
            "",
        ] {
            assert_eq!(r(same), same, "{same}");
        }
        assert_eq!(r("x1+a.b-c://u:p@h"), "x1+a.b-c://u:<redacted>@h");
        assert_eq!(r("://u:p@h"), "://u:<redacted>@h");
    }
}
