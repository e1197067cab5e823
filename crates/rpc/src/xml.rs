//! XML-RPC wire codec.
//!
//! Encoding is byte-identical to Python's `xmlrpc.client.dumps(...)` (what supervisord
//! sends and what supervisorctl sends). Decoding follows supervisord's request
//! unmarshaller: `int`, `i4`, `boolean`, `string`, `double`, `dateTime.iso8601`,
//! `base64`, `array`, `struct`; an untyped `<value>` is a string; `<params>` may be
//! missing. Hostile input is refused: any DTD/`<!DOCTYPE>` (so no entity declarations,
//! no billion laughs), entities other than the five predefined ones and numeric
//! character references, nesting deeper than [`MAX_DEPTH`], invalid UTF-8.

use crate::value::{Fault, Value};
use base64::Engine;
use quick_xml::events::Event;
use quick_xml::Reader;

/// Maximum element nesting accepted by the parsers.
pub const MAX_DEPTH: usize = 128;

/// Why a document could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct XmlError(pub String);

fn err<T>(msg: impl Into<String>) -> Result<T, XmlError> {
    Err(XmlError(msg.into()))
}

// ---------------------------------------------------------------------------------------
// Encoding
// ---------------------------------------------------------------------------------------

/// Python's `xml.sax.saxutils.escape` as used by `xmlrpc.client`: only `&`, `<`, `>`.
pub fn escape(s: &str, out: &mut String) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c => out.push(c),
        }
    }
}

/// Python's `repr(float)`: shortest round-trip digits, scientific notation when the
/// decimal exponent is < -4 or >= 16, always a `.0` for integral values.
pub fn py_float_repr(f: f64) -> String {
    if f.is_nan() {
        return "nan".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { "inf".into() } else { "-inf".into() };
    }
    if f == 0.0 {
        return if f.is_sign_negative() {
            "-0.0".into()
        } else {
            "0.0".into()
        };
    }
    // Rust's `{:e}` gives the shortest round-trip digits: "-1.2345e17", "1e-7".
    let sci = format!("{:e}", f);
    let (mant, exp) = sci.split_once('e').expect("{:e} has an exponent");
    let exp: i32 = exp.parse().expect("exponent is an integer");
    let (neg, mant) = match mant.strip_prefix('-') {
        Some(m) => (true, m),
        None => (false, mant),
    };
    let digits: String = mant.chars().filter(|c| *c != '.').collect();
    let mut out = String::new();
    if neg {
        out.push('-');
    }
    if !(-4..16).contains(&exp) {
        out.push_str(&digits[..1]);
        if digits.len() > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        out.push('e');
        out.push(if exp < 0 { '-' } else { '+' });
        out.push_str(&format!("{:02}", exp.abs()));
    } else if exp < 0 {
        out.push_str("0.");
        for _ in 0..(-exp - 1) {
            out.push('0');
        }
        out.push_str(&digits);
    } else {
        let point = exp as usize + 1;
        if digits.len() <= point {
            out.push_str(&digits);
            for _ in digits.len()..point {
                out.push('0');
            }
            out.push_str(".0");
        } else {
            out.push_str(&digits[..point]);
            out.push('.');
            out.push_str(&digits[point..]);
        }
    }
    out
}

/// Python's `base64.encodebytes`: lines of 76 characters, each ending in `\n`.
fn encodebytes(data: &[u8]) -> String {
    let mut out = String::new();
    for chunk in data.chunks(57) {
        out.push_str(&base64::engine::general_purpose::STANDARD.encode(chunk));
        out.push('\n');
    }
    out
}

/// Appends one `<value><int>…</int></value>\n`.
pub fn encode_int(i: i32, out: &mut String) {
    use std::fmt::Write;
    out.push_str("<value><int>");
    // Writing into a String cannot fail.
    let _ = write!(out, "{i}");
    out.push_str("</int></value>\n");
}

/// Appends one `<value><string>…</string></value>\n`, escaped.
pub fn encode_string(s: &str, out: &mut String) {
    out.push_str("<value><string>");
    escape(s, out);
    out.push_str("</string></value>\n");
}

/// Opens a struct value; members follow, then [`end_struct`].
pub fn begin_struct(out: &mut String) {
    out.push_str("<value><struct>\n");
}

/// Opens one struct member named `key`; its value follows, then [`end_member`].
pub fn begin_member(key: &str, out: &mut String) {
    out.push_str("<member>\n<name>");
    escape(key, out);
    out.push_str("</name>\n");
}

pub fn end_member(out: &mut String) {
    out.push_str("</member>\n");
}

pub fn end_struct(out: &mut String) {
    out.push_str("</struct></value>\n");
}

/// Opens an array value; items follow, then [`end_array`].
pub fn begin_array(out: &mut String) {
    out.push_str("<value><array><data>\n");
}

pub fn end_array(out: &mut String) {
    out.push_str("</data></array></value>\n");
}

/// Appends one `<value>…</value>\n` exactly as Python's `Marshaller` does.
pub fn encode_value(v: &Value, out: &mut String) {
    match v {
        Value::Int(i) => encode_int(*i, out),
        Value::Bool(b) => {
            out.push_str("<value><boolean>");
            out.push(if *b { '1' } else { '0' });
            out.push_str("</boolean></value>\n");
        }
        Value::String(s) => encode_string(s, out),
        Value::Double(f) => {
            out.push_str("<value><double>");
            out.push_str(&py_float_repr(*f));
            out.push_str("</double></value>\n");
        }
        Value::DateTime(s) => {
            out.push_str("<value><dateTime.iso8601>");
            escape(s, out);
            out.push_str("</dateTime.iso8601></value>\n");
        }
        Value::Base64(b) => {
            out.push_str("<value><base64>\n");
            out.push_str(&encodebytes(b));
            out.push_str("</base64></value>\n");
        }
        Value::Array(items) => {
            begin_array(out);
            for item in items {
                encode_value(item, out);
            }
            end_array(out);
        }
        Value::Struct(members) => {
            begin_struct(out);
            for (k, item) in members {
                begin_member(k, out);
                encode_value(item, out);
                end_member(out);
            }
            end_struct(out);
        }
    }
}

const XML_DECL: &str = "<?xml version='1.0'?>\n";

/// A successful `methodResponse`, as `xmlrpc.client.dumps((v,), methodresponse=True)`.
pub fn encode_response(v: &Value) -> String {
    encode_response_with(0, |out| encode_value(v, out))
}

/// A successful `methodResponse` whose single value `write_value` appends itself, into a
/// buffer of `capacity` bytes: large replies are written without an intermediate `Value`
/// tree and without regrowing the buffer.
pub fn encode_response_with(capacity: usize, write_value: impl FnOnce(&mut String)) -> String {
    let mut out = String::with_capacity(capacity.max(128));
    out.push_str(XML_DECL);
    out.push_str("<methodResponse>\n<params>\n<param>\n");
    write_value(&mut out);
    out.push_str("</param>\n</params>\n</methodResponse>\n");
    out
}

/// A fault `methodResponse`, as `xmlrpc.client.dumps(Fault(code, string))`.
pub fn encode_fault(f: &Fault) -> String {
    let mut out = String::from(XML_DECL);
    out.push_str("<methodResponse>\n<fault>\n");
    encode_value(
        &Value::Struct(vec![
            ("faultCode".into(), Value::Int(f.code)),
            ("faultString".into(), Value::String(f.string.clone())),
        ]),
        &mut out,
    );
    out.push_str("</fault>\n</methodResponse>\n");
    out
}

/// A `methodCall`, as `xmlrpc.client.dumps(params, method)`.
pub fn encode_call(method: &str, params: &[Value]) -> String {
    let mut out = String::from(XML_DECL);
    out.push_str("<methodCall>\n<methodName>");
    escape(method, &mut out);
    out.push_str("</methodName>\n<params>\n");
    for p in params {
        out.push_str("<param>\n");
        encode_value(p, &mut out);
        out.push_str("</param>\n");
    }
    out.push_str("</params>\n</methodCall>\n");
    out
}

// ---------------------------------------------------------------------------------------
// Decoding: a small element tree, then XML-RPC semantics on top.
// ---------------------------------------------------------------------------------------

#[derive(Debug, Default)]
struct Node {
    tag: String,
    /// Text before the first child (ElementTree's `.text`).
    text: String,
    children: Vec<Node>,
}

fn parse_tree(data: &[u8]) -> Result<Node, XmlError> {
    let text = match std::str::from_utf8(data) {
        Ok(t) => t,
        Err(e) => return err(format!("invalid UTF-8: {e}")),
    };
    let mut reader = Reader::from_str(text);
    reader.config_mut().check_end_names = true;
    let mut stack: Vec<Node> = Vec::new();
    let mut root: Option<Node> = None;
    loop {
        let ev = match reader.read_event() {
            Ok(ev) => ev,
            Err(e) => return err(format!("malformed XML: {e}")),
        };
        match ev {
            Event::Start(s) => {
                if root.is_some() {
                    return err("content after the root element");
                }
                if stack.len() >= MAX_DEPTH {
                    return err("XML nested too deeply");
                }
                let tag = String::from_utf8_lossy(s.name().as_ref()).into_owned();
                stack.push(Node {
                    tag,
                    ..Node::default()
                });
            }
            Event::Empty(s) => {
                if root.is_some() {
                    return err("content after the root element");
                }
                if stack.len() >= MAX_DEPTH {
                    return err("XML nested too deeply");
                }
                let node = Node {
                    tag: String::from_utf8_lossy(s.name().as_ref()).into_owned(),
                    ..Node::default()
                };
                match stack.last_mut() {
                    Some(parent) => parent.children.push(node),
                    None => root = Some(node),
                }
            }
            Event::End(_) => {
                let node = match stack.pop() {
                    Some(n) => n,
                    None => return err("unbalanced end tag"),
                };
                match stack.last_mut() {
                    Some(parent) => parent.children.push(node),
                    None => root = Some(node),
                }
            }
            Event::Text(t) => {
                let s = match t.unescape() {
                    Ok(s) => s,
                    Err(e) => return err(format!("bad text or entity: {e}")),
                };
                match stack.last_mut() {
                    Some(n) => {
                        if n.children.is_empty() {
                            n.text.push_str(&s);
                        }
                    }
                    None => {
                        if !s.trim().is_empty() {
                            return err("text outside the root element");
                        }
                    }
                }
            }
            Event::CData(c) => {
                let s = match std::str::from_utf8(&c) {
                    Ok(s) => s.to_string(),
                    Err(e) => return err(format!("invalid UTF-8: {e}")),
                };
                match stack.last_mut() {
                    Some(n) => {
                        if n.children.is_empty() {
                            n.text.push_str(&s);
                        }
                    }
                    None => return err("CDATA outside the root element"),
                }
            }
            Event::DocType(_) => return err("DTDs are not allowed"),
            Event::Decl(_) | Event::Comment(_) | Event::PI(_) => {}
            Event::Eof => break,
        }
    }
    if !stack.is_empty() {
        return err("truncated document");
    }
    match root {
        Some(r) => Ok(r),
        None => err("empty document"),
    }
}

fn parse_int(text: &str) -> Result<i32, XmlError> {
    // Python's int(): surrounding whitespace, optional sign, '_' between digits.
    let t = text.trim();
    let cleaned: String = t.chars().filter(|c| *c != '_').collect();
    if cleaned.is_empty() || t.starts_with('_') || t.ends_with('_') || t.contains("__") {
        return err(format!("invalid int {text:?}"));
    }
    cleaned
        .parse::<i32>()
        .or_else(|_| err(format!("invalid int {text:?}")))
}

fn parse_double(text: &str) -> Result<f64, XmlError> {
    let t = text.trim();
    let cleaned: String = t.chars().filter(|c| *c != '_').collect();
    cleaned
        .parse::<f64>()
        .or_else(|_| err(format!("invalid double {text:?}")))
}

fn typed_value(n: &Node) -> Result<Value, XmlError> {
    Ok(match n.tag.as_str() {
        "int" | "i4" => Value::Int(parse_int(&n.text)?),
        "boolean" => Value::Bool(n.text == "1"),
        "string" => Value::String(n.text.clone()),
        "double" => Value::Double(parse_double(&n.text)?),
        "dateTime.iso8601" => Value::DateTime(n.text.trim().to_string()),
        "base64" => {
            let compact: String = n.text.chars().filter(|c| !c.is_whitespace()).collect();
            match base64::engine::general_purpose::STANDARD.decode(compact.as_bytes()) {
                Ok(b) => Value::Base64(b),
                Err(e) => return err(format!("invalid base64: {e}")),
            }
        }
        "array" => {
            let data = match n.children.first() {
                Some(d) if d.tag == "data" => d,
                _ => return err("<array> without <data>"),
            };
            let mut items = Vec::with_capacity(data.children.len());
            for v in &data.children {
                items.push(value_node(v)?);
            }
            Value::Array(items)
        }
        "struct" => {
            let mut members = Vec::with_capacity(n.children.len());
            for m in &n.children {
                if m.tag != "member" || m.children.len() != 2 {
                    return err("malformed struct member");
                }
                let (k, v) = (&m.children[0], &m.children[1]);
                if k.tag != "name" {
                    return err("struct member without <name>");
                }
                members.push((k.text.clone(), value_node(v)?));
            }
            Value::Struct(members)
        }
        other => return err(format!("unsupported type <{other}>")),
    })
}

/// A `<value>` element.
fn value_node(n: &Node) -> Result<Value, XmlError> {
    if n.tag != "value" {
        return err(format!("expected <value>, got <{}>", n.tag));
    }
    match n.children.first() {
        Some(child) => typed_value(child),
        None => Ok(Value::String(n.text.clone())),
    }
}

fn params_node(n: &Node) -> Result<Vec<Value>, XmlError> {
    let mut out = Vec::with_capacity(n.children.len());
    for p in &n.children {
        if p.tag != "param" {
            return err(format!("expected <param>, got <{}>", p.tag));
        }
        match p.children.first() {
            Some(v) => out.push(value_node(v)?),
            None => return err("<param> without <value>"),
        }
    }
    Ok(out)
}

/// Decodes a `methodCall` into the method name and its parameters.
pub fn parse_call(data: &[u8]) -> Result<(String, Vec<Value>), XmlError> {
    let root = parse_tree(data)?;
    if root.tag != "methodCall" {
        return err(format!("expected <methodCall>, got <{}>", root.tag));
    }
    let mut method = None;
    let mut params = Vec::new();
    for c in &root.children {
        match c.tag.as_str() {
            "methodName" => method = Some(c.text.clone()),
            "params" => params = params_node(c)?,
            other => return err(format!("unexpected <{other}> in <methodCall>")),
        }
    }
    match method {
        Some(m) => Ok((m, params)),
        None => err("no methodName"),
    }
}

/// Decodes a `methodResponse`: `Ok(Ok(value))`, `Ok(Err(fault))`, or a decoding error.
pub fn parse_response(data: &[u8]) -> Result<Result<Value, Fault>, XmlError> {
    let root = parse_tree(data)?;
    if root.tag != "methodResponse" {
        return err(format!("expected <methodResponse>, got <{}>", root.tag));
    }
    let body = match root.children.first() {
        Some(b) if root.children.len() == 1 => b,
        _ => return err("<methodResponse> must hold exactly one element"),
    };
    match body.tag.as_str() {
        "params" => {
            let mut vals = params_node(body)?;
            if vals.len() != 1 {
                return err("response must hold exactly one param");
            }
            Ok(Ok(vals.pop().expect("one value")))
        }
        "fault" => {
            let v = match body.children.first() {
                Some(v) => value_node(v)?,
                None => return err("<fault> without <value>"),
            };
            let code = v.get("faultCode").and_then(Value::as_int);
            let string = v.get("faultString").and_then(Value::as_str);
            match (code, string) {
                (Some(code), Some(s)) => Ok(Err(Fault {
                    code,
                    string: s.to_string(),
                })),
                _ => err("malformed fault"),
            }
        }
        other => err(format!("unexpected <{other}> in <methodResponse>")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn response_matches_python() {
        let v = Value::Struct(vec![
            ("a".into(), Value::Int(1)),
            (
                "b".into(),
                Value::Array(vec![
                    Value::Bool(true),
                    Value::String("x<&>\"'\r\n".into()),
                    Value::Double(1.5),
                    Value::Double(-0.0),
                    Value::Double(1e20),
                    Value::Double(1e-7),
                ]),
            ),
        ]);
        let want = "<?xml version='1.0'?>\n<methodResponse>\n<params>\n<param>\n<value><struct>\n<member>\n<name>a</name>\n<value><int>1</int></value>\n</member>\n<member>\n<name>b</name>\n<value><array><data>\n<value><boolean>1</boolean></value>\n<value><string>x&lt;&amp;&gt;\"'\r\n</string></value>\n<value><double>1.5</double></value>\n<value><double>-0.0</double></value>\n<value><double>1e+20</double></value>\n<value><double>1e-07</double></value>\n</data></array></value>\n</member>\n</struct></value>\n</param>\n</params>\n</methodResponse>\n";
        assert_eq!(encode_response(&v), want);
    }

    #[test]
    fn fault_matches_python() {
        let f = Fault {
            code: 10,
            string: "BAD_NAME: f<".into(),
        };
        assert_eq!(encode_fault(&f), "<?xml version='1.0'?>\n<methodResponse>\n<fault>\n<value><struct>\n<member>\n<name>faultCode</name>\n<value><int>10</int></value>\n</member>\n<member>\n<name>faultString</name>\n<value><string>BAD_NAME: f&lt;</string></value>\n</member>\n</struct></value>\n</fault>\n</methodResponse>\n");
    }

    #[test]
    fn call_matches_python() {
        assert_eq!(
            encode_call("m.x", &[Value::from("a"), Value::Array(vec![])]),
            "<?xml version='1.0'?>\n<methodCall>\n<methodName>m.x</methodName>\n<params>\n<param>\n<value><string>a</string></value>\n</param>\n<param>\n<value><array><data>\n</data></array></value>\n</param>\n</params>\n</methodCall>\n"
        );
        assert_eq!(
            encode_call("m.x", &[]),
            "<?xml version='1.0'?>\n<methodCall>\n<methodName>m.x</methodName>\n<params>\n</params>\n</methodCall>\n"
        );
    }

    #[test]
    fn misc_types_match_python() {
        assert_eq!(
            encode_response(&Value::Struct(vec![])),
            "<?xml version='1.0'?>\n<methodResponse>\n<params>\n<param>\n<value><struct>\n</struct></value>\n</param>\n</params>\n</methodResponse>\n"
        );
        assert_eq!(
            encode_response(&Value::Base64(b"ab".repeat(40))),
            "<?xml version='1.0'?>\n<methodResponse>\n<params>\n<param>\n<value><base64>\nYWJhYmFiYWJhYmFiYWJhYmFiYWJhYmFiYWJhYmFiYWJhYmFiYWJhYmFiYWJhYmFiYWJhYmFiYWJh\nYmFiYWJhYmFiYWJhYmFiYWJhYmFiYWI=\n</base64></value>\n</param>\n</params>\n</methodResponse>\n"
        );
        assert_eq!(
            encode_response(&Value::DateTime("20200101T00:00:00".into())),
            "<?xml version='1.0'?>\n<methodResponse>\n<params>\n<param>\n<value><dateTime.iso8601>20200101T00:00:00</dateTime.iso8601></value>\n</param>\n</params>\n</methodResponse>\n"
        );
    }

    #[test]
    fn float_repr() {
        for (f, s) in [
            (0.1, "0.1"),
            (1e16, "1e+16"),
            (1e15, "1000000000000000.0"),
            (123456789012345678.0, "1.2345678901234568e+17"),
            (1e-5, "1e-05"),
            (1e-4, "0.0001"),
            (3.0, "3.0"),
            (2.5e-300, "2.5e-300"),
            (-12.25, "-12.25"),
            (f64::INFINITY, "inf"),
            (f64::NAN, "nan"),
        ] {
            assert_eq!(py_float_repr(f), s, "{f}");
        }
    }

    #[test]
    fn parse_call_forms() {
        let (m, p) = parse_call(
            b"<?xml version='1.0'?><methodCall><methodName>supervisor.x</methodName>\
              <params><param><value>plain</value></param>\
              <param><value><i4> 42 </i4></value></param>\
              <param><value><boolean>1</boolean></value></param>\
              <param><value><boolean>0</boolean></value></param>\
              <param><value><string/></value></param>\
              <param><value><double>2.5</double></value></param>\
              <param><value><base64>YWI=</base64></value></param>\
              <param><value><dateTime.iso8601>20200101T00:00:00</dateTime.iso8601></value></param>\
              <param><value><array><data><value><int>1</int></value></data></array></value></param>\
              <param><value><struct><member><name>k</name><value>v &amp; &#65;&#x42;</value></member></struct></value></param>\
              </params></methodCall>",
        )
        .unwrap();
        assert_eq!(m, "supervisor.x");
        assert_eq!(
            p,
            vec![
                Value::from("plain"),
                Value::Int(42),
                Value::Bool(true),
                Value::Bool(false),
                Value::from(""),
                Value::Double(2.5),
                Value::Base64(b"ab".to_vec()),
                Value::DateTime("20200101T00:00:00".into()),
                Value::Array(vec![Value::Int(1)]),
                Value::Struct(vec![("k".into(), Value::from("v & AB"))]),
            ]
        );
        let (m, p) = parse_call(b"<methodCall><methodName>a.b</methodName></methodCall>").unwrap();
        assert_eq!((m.as_str(), p.len()), ("a.b", 0));
    }

    #[test]
    fn hostile_inputs_are_refused() {
        let bomb = br#"<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
]>
<methodCall><methodName>&lol2;</methodName></methodCall>"#;
        assert!(parse_call(bomb).is_err());
        assert!(parse_call(b"<methodCall><methodName>&lol;</methodName></methodCall>").is_err());
        let ext = br#"<!DOCTYPE x SYSTEM "file:///etc/passwd"><methodCall><methodName>a.b</methodName></methodCall>"#;
        assert!(parse_call(ext).is_err());
        let deep = format!(
            "<methodCall><methodName>a.b</methodName><params><param>{}{}</param></params></methodCall>",
            "<value><array><data>".repeat(1000),
            "</data></array></value>".repeat(1000)
        );
        assert!(parse_call(deep.as_bytes()).is_err());
        assert!(parse_call(b"<methodCall><methodName>a\xff</methodName></methodCall>").is_err());
        assert!(parse_call(b"<methodCall><methodName>a.b</methodName><params>").is_err());
        assert!(parse_call(b"").is_err());
        assert!(parse_call(b"<methodCall></methodCall>").is_err());
        assert!(parse_call(b"<methodCall><methodName>a</methodName></methodCall><x/>").is_err());
        assert!(parse_call(b"<methodCall><methodName>a</methodName><params><param><value><nil/></value></param></params></methodCall>").is_err());
        assert!(parse_call(b"<methodCall><methodName>a</methodName><params><param><value><int>99999999999</int></value></param></params></methodCall>").is_err());
        assert!(parse_response(b"<methodResponse><params><param><value><int>1").is_err());
    }

    #[test]
    fn parse_fault_response() {
        let f = Fault {
            code: 70,
            string: "NOT_RUNNING: x".into(),
        };
        assert_eq!(parse_response(encode_fault(&f).as_bytes()).unwrap(), Err(f));
    }

    fn arb_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            any::<i32>().prop_map(Value::Int),
            any::<bool>().prop_map(Value::Bool),
            // XML 1.0 cannot carry most control characters; \r is normalised by parsers.
            "[^\u{0}-\u{8}\u{b}\u{c}\u{e}-\u{1f}\r\u{fffe}\u{ffff}]*".prop_map(Value::String),
            any::<f64>()
                .prop_filter("finite", |f| f.is_finite())
                .prop_map(Value::Double),
            proptest::collection::vec(any::<u8>(), 0..200).prop_map(Value::Base64),
            "[0-9]{8}T[0-9]{2}:[0-9]{2}:[0-9]{2}".prop_map(Value::DateTime),
        ];
        leaf.prop_recursive(4, 64, 8, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
                proptest::collection::vec(("[a-zA-Z0-9_<&> ]*", inner), 0..8)
                    .prop_map(Value::Struct),
            ]
        })
    }

    proptest! {
        #[test]
        fn roundtrip_response(v in arb_value()) {
            let enc = encode_response(&v);
            prop_assert_eq!(parse_response(enc.as_bytes()).unwrap(), Ok(v));
        }

        #[test]
        fn roundtrip_call(m in "[a-z]{1,10}\\.[a-zA-Z]{1,10}", ps in proptest::collection::vec(arb_value(), 0..4)) {
            let enc = encode_call(&m, &ps);
            prop_assert_eq!(parse_call(enc.as_bytes()).unwrap(), (m, ps));
        }

        #[test]
        fn roundtrip_fault(code in any::<i32>(), s in "[^\u{0}-\u{1f}\u{fffe}\u{ffff}]*") {
            let f = Fault { code, string: s };
            prop_assert_eq!(parse_response(encode_fault(&f).as_bytes()).unwrap(), Err(f));
        }

        #[test]
        fn garbage_never_panics(data in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = parse_call(&data);
            let _ = parse_response(&data);
        }
    }
}
