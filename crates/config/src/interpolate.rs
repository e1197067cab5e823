//! `%`-interpolation exactly like Python's `value % dict`, with supervisord's error texts.
//!
//! Data flow: section parsers build an [`Expansions`] map (here, ENV_X, program_name,
//! process_num, …) and call [`expand`] on each raw value before typing it. Errors come back
//! as supervisord's messages (`Format string '…' for '…' contains names (…) which cannot be
//! expanded. Available names: …` / `… is badly formatted: …`).

use std::collections::BTreeMap;

/// A value available to `%(name)…`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Val {
    Str(String),
    Int(i64),
}

/// Name → value; a `BTreeMap` so "Available names" come out sorted like supervisord's.
pub type Expansions = BTreeMap<String, Val>;

/// Python `repr()` of a str, as supervisord's `%r` messages embed it. The one
/// implementation used by every crate (engine messages, ctl output).
pub fn py_repr(s: &str) -> String {
    let quote = if s.contains('\'') && !s.contains('"') {
        '"'
    } else {
        '\''
    };
    let mut out = String::with_capacity(s.len() + 2);
    out.push(quote);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if (c as u32) < 0x20 || (0x7f..0xa0).contains(&(c as u32)) => {
                out.push_str(&format!("\\x{:02x}", c as u32));
            }
            c => out.push(c),
        }
    }
    out.push(quote);
    out
}

enum Fail {
    Key(String),
    Bad(String),
}

/// Expands `s` with `exp`; `name` is the `section.option` used in messages.
pub fn expand(s: &str, exp: &Expansions, name: &str) -> Result<String, String> {
    expand_layered(s, &[exp], name)
}

/// Expands `s` with the names of every layer, a later layer's value winning: the same as
/// [`expand`] with the layers merged into one map, without copying them (the `ENV_*`
/// layer is the daemon's whole environment, and every `%` value of every section is
/// expanded against it).
pub fn expand_layered(s: &str, layers: &[&Expansions], name: &str) -> Result<String, String> {
    if !s.contains('%') {
        return Ok(s.to_string());
    }
    let lookup = |key: &str| layers.iter().rev().find_map(|layer| layer.get(key));
    match format(s, &lookup) {
        Ok(v) => Ok(v),
        Err(Fail::Key(k)) => {
            let mut avail: Vec<&str> = layers
                .iter()
                .flat_map(|layer| layer.keys().map(|k| k.as_str()))
                .collect();
            avail.sort_unstable();
            avail.dedup();
            Err(format!(
                "Format string {} for {} contains names ({}) which cannot be expanded. Available names: {}",
                py_repr(s),
                py_repr(name),
                py_repr(&k),
                avail.join(", ")
            ))
        }
        Err(Fail::Bad(m)) => Err(format!(
            "Format string {} for {} is badly formatted: {}",
            py_repr(s),
            py_repr(name),
            m
        )),
    }
}

fn format<'a>(s: &str, exp: &dyn Fn(&str) -> Option<&'a Val>) -> Result<String, Fail> {
    let chars: Vec<char> = s.chars().collect();
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c != '%' {
            out.push(c);
            i += 1;
            continue;
        }
        let start = i;
        i += 1;
        if i >= chars.len() {
            return Err(Fail::Bad("incomplete format".into()));
        }
        // Mapping key.
        let mut key: Option<String> = None;
        if chars[i] == '(' {
            let mut depth = 1;
            let kstart = i + 1;
            i += 1;
            while i < chars.len() && depth > 0 {
                if chars[i] == '(' {
                    depth += 1;
                } else if chars[i] == ')' {
                    depth -= 1;
                }
                i += 1;
            }
            if depth > 0 {
                return Err(Fail::Bad("incomplete format key".into()));
            }
            key = Some(chars[kstart..i - 1].iter().collect());
        }
        // Flags.
        let (mut left, mut zero, mut plus, mut space, mut alt) =
            (false, false, false, false, false);
        while i < chars.len() {
            match chars[i] {
                '-' => left = true,
                '0' => zero = true,
                '+' => plus = true,
                ' ' => space = true,
                '#' => alt = true,
                _ => break,
            }
            i += 1;
        }
        // Width.
        let mut width: usize = 0;
        if i < chars.len() && chars[i] == '*' {
            return Err(Fail::Bad("* wants int".into()));
        }
        while i < chars.len() && chars[i].is_ascii_digit() {
            width = width
                .saturating_mul(10)
                .saturating_add(chars[i] as usize - '0' as usize);
            i += 1;
        }
        if width > 100_000 {
            return Err(Fail::Bad("width too big".into()));
        }
        // Precision.
        let mut prec: Option<usize> = None;
        if i < chars.len() && chars[i] == '.' {
            i += 1;
            if i < chars.len() && chars[i] == '*' {
                return Err(Fail::Bad("* wants int".into()));
            }
            let mut p: usize = 0;
            while i < chars.len() && chars[i].is_ascii_digit() {
                p = p
                    .saturating_mul(10)
                    .saturating_add(chars[i] as usize - '0' as usize);
                i += 1;
            }
            if p > 100_000 {
                return Err(Fail::Bad("precision too big".into()));
            }
            prec = Some(p);
        }
        // Length modifier (ignored by Python).
        while i < chars.len() && matches!(chars[i], 'h' | 'l' | 'L') {
            i += 1;
        }
        if i >= chars.len() {
            return Err(Fail::Bad("incomplete format".into()));
        }
        let conv = chars[i];
        i += 1;
        if conv == '%' && key.is_none() {
            out.push('%');
            continue;
        }
        let Some(key) = key else {
            if !"diouxXeEfFgGcrsa".contains(conv) {
                return Err(Fail::Bad(unsupported(conv, i - 1)));
            }
            return Err(Fail::Bad("format requires a mapping".into()));
        };
        let _ = start;
        if conv == '%' {
            // Python: '%(a)%' consumes the key lookup then emits '%'.
            if exp(&key).is_none() {
                return Err(Fail::Key(key));
            }
            out.push('%');
            continue;
        }
        if !"diouxXeEfFgGcrsa".contains(conv) {
            return Err(Fail::Bad(unsupported(conv, i - 1)));
        }
        let Some(v) = exp(&key) else {
            return Err(Fail::Key(key));
        };
        let body: String = match (conv, v) {
            ('s', Val::Str(s)) => truncate(s, prec),
            ('s', Val::Int(n)) => truncate(&n.to_string(), prec),
            ('r' | 'a', Val::Str(s)) => truncate(&py_repr(s), prec),
            ('r' | 'a', Val::Int(n)) => truncate(&n.to_string(), prec),
            ('d' | 'i' | 'u', Val::Int(n)) => int_body(*n, 10, false, alt, prec),
            ('o', Val::Int(n)) => int_body(*n, 8, false, alt, prec),
            ('x', Val::Int(n)) => int_body(*n, 16, false, alt, prec),
            ('X', Val::Int(n)) => int_body(*n, 16, true, alt, prec),
            ('e' | 'E' | 'f' | 'F' | 'g' | 'G', Val::Int(n)) => {
                let p = prec.unwrap_or(6);
                let x = *n as f64;
                let s = match conv {
                    'f' | 'F' => format!("{x:.p$}"),
                    'e' => py_exp(x, p, false),
                    'E' => py_exp(x, p, true),
                    _ => {
                        if x.fract() == 0.0 && x.abs() < 1e16 {
                            format!("{}", *n)
                        } else {
                            format!("{x}")
                        }
                    }
                };
                if *n >= 0 && plus {
                    format!("+{s}")
                } else if *n >= 0 && space {
                    format!(" {s}")
                } else {
                    s
                }
            }
            ('c', Val::Int(n)) => match u32::try_from(*n).ok().and_then(char::from_u32) {
                Some(c) => c.to_string(),
                None => return Err(Fail::Bad("%c arg not in range(0x110000)".into())),
            },
            ('c', Val::Str(s)) => {
                if s.chars().count() != 1 {
                    return Err(Fail::Bad("%c requires int or char".into()));
                }
                s.clone()
            }
            (c, Val::Str(_)) => {
                let what = match c {
                    'd' | 'i' | 'u' => "%d format: a real number is required, not str".to_string(),
                    'o' | 'x' | 'X' => format!("%{c} format: an integer is required, not str"),
                    _ => "must be real number, not str".to_string(),
                };
                return Err(Fail::Bad(what));
            }
            _ => unreachable!("all conversions handled"),
        };
        let numeric = !matches!(conv, 's' | 'r' | 'a' | 'c');
        let body = if numeric
            && matches!(v, Val::Int(_))
            && matches!(conv, 'd' | 'i' | 'u' | 'o' | 'x' | 'X')
        {
            let n = if let Val::Int(n) = v { *n } else { 0 };
            if n >= 0 && plus {
                format!("+{body}")
            } else if n >= 0 && space {
                format!(" {body}")
            } else {
                body
            }
        } else {
            body
        };
        let len = body.chars().count();
        if len >= width {
            out.push_str(&body);
        } else if left {
            out.push_str(&body);
            out.push_str(&" ".repeat(width - len));
        } else if zero && numeric {
            // Zero padding goes after the sign / 0x prefix.
            let (sign, rest) = split_sign(&body);
            out.push_str(sign);
            out.push_str(&"0".repeat(width - len));
            out.push_str(rest);
        } else {
            out.push_str(&" ".repeat(width - len));
            out.push_str(&body);
        }
    }
    Ok(out)
}

fn unsupported(c: char, idx: usize) -> String {
    format!(
        "unsupported format character {} (0x{:x}) at index {}",
        py_repr(&c.to_string()),
        c as u32,
        idx
    )
}

fn truncate(s: &str, prec: Option<usize>) -> String {
    match prec {
        Some(p) => s.chars().take(p).collect(),
        None => s.to_string(),
    }
}

fn int_body(n: i64, radix: u32, upper: bool, alt: bool, prec: Option<usize>) -> String {
    let neg = n < 0;
    let mag = n.unsigned_abs();
    let mut digits = match radix {
        8 => format!("{mag:o}"),
        16 if upper => format!("{mag:X}"),
        16 => format!("{mag:x}"),
        _ => mag.to_string(),
    };
    if let Some(p) = prec {
        while digits.len() < p {
            digits.insert(0, '0');
        }
    }
    let prefix = match (alt, radix, upper) {
        (true, 8, _) => "0o",
        (true, 16, false) => "0x",
        (true, 16, true) => "0X",
        _ => "",
    };
    format!("{}{}{}", if neg { "-" } else { "" }, prefix, digits)
}

fn py_exp(x: f64, p: usize, upper: bool) -> String {
    let s = format!("{x:.p$e}");
    // Rust: 1.5e3 → Python: 1.5e+03
    let (m, e) = s.split_once('e').unwrap_or((&s, "0"));
    let (sign, digits) = match e.strip_prefix('-') {
        Some(d) => ('-', d),
        None => ('+', e),
    };
    let e = if upper { 'E' } else { 'e' };
    format!("{m}{e}{sign}{digits:0>2}")
}

fn split_sign(body: &str) -> (&str, &str) {
    for p in [
        "-0x", "-0X", "-0o", "+0x", "+0X", "+0o", "0x", "0X", "0o", "-", "+", " ",
    ] {
        if let Some(r) = body.strip_prefix(p) {
            return (&body[..p.len()], r);
        }
    }
    ("", body)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exp() -> Expansions {
        let mut e = Expansions::new();
        e.insert("program_name".into(), Val::Str("foo".into()));
        e.insert("process_num".into(), Val::Int(3));
        e.insert("neg".into(), Val::Int(-7));
        e
    }

    #[test]
    fn basics() {
        let e = exp();
        assert_eq!(
            expand("%(program_name)s_%(process_num)02d", &e, "x").unwrap(),
            "foo_03"
        );
        assert_eq!(expand("100%%", &e, "x").unwrap(), "100%");
        assert_eq!(expand("%(process_num)s", &e, "x").unwrap(), "3");
        assert_eq!(expand("[%(process_num)-4d]", &e, "x").unwrap(), "[3   ]");
        assert_eq!(expand("[%(process_num)4d]", &e, "x").unwrap(), "[   3]");
        assert_eq!(expand("%(neg)05d", &e, "x").unwrap(), "-0007");
        assert_eq!(expand("%(process_num)+d", &e, "x").unwrap(), "+3");
        assert_eq!(expand("%(process_num)#x", &e, "x").unwrap(), "0x3");
        assert_eq!(expand("%(process_num).2f", &e, "x").unwrap(), "3.00");
        assert_eq!(expand("%(program_name).2s", &e, "x").unwrap(), "fo");
        assert_eq!(expand("%(program_name)r", &e, "x").unwrap(), "'foo'");
    }

    #[test]
    fn errors_match_supervisord() {
        let e = exp();
        assert_eq!(
            expand("%(nope)s", &e, "program:x.command").unwrap_err(),
            "Format string '%(nope)s' for 'program:x.command' contains names ('nope') which cannot be expanded. Available names: neg, process_num, program_name"
        );
        assert_eq!(
            expand("50%", &e, "program:x.command").unwrap_err(),
            "Format string '50%' for 'program:x.command' is badly formatted: incomplete format"
        );
        assert_eq!(
            expand("50%z", &e, "p").unwrap_err(),
            "Format string '50%z' for 'p' is badly formatted: unsupported format character 'z' (0x7a) at index 3"
        );
        assert!(expand("%(program_name)d", &e, "p")
            .unwrap_err()
            .contains("%d format: a real number is required, not str"));
        assert!(expand("%(program_name", &e, "p")
            .unwrap_err()
            .contains("incomplete format key"));
    }
}
