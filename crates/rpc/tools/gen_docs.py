#!/usr/bin/env python3
"""Generate crates/rpc/src/docs.rs from a running reference supervisord.

Usage: gen_docs.py <venv> > crates/rpc/src/docs.rs
Starts the reference supervisord on a temporary UNIX socket, queries
system.listMethods / methodHelp / methodSignature and writes a Rust table.
"""
import os, sys, tempfile, subprocess, time, socket, http.client, xmlrpc.client

venv = sys.argv[1] if len(sys.argv) > 1 else '/tmp/venv-sup'
tmp = tempfile.mkdtemp()
sock = os.path.join(tmp, 's.sock')
conf = os.path.join(tmp, 'sup.conf')
with open(conf, 'w') as f:
    f.write(f"""[unix_http_server]
file={sock}
[supervisord]
logfile={tmp}/sd.log
pidfile={tmp}/sd.pid
nodaemon=true
[rpcinterface:supervisor]
supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface
""")

class UConn(http.client.HTTPConnection):
    def __init__(self):
        super().__init__('localhost')
    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(sock)

class UTransport(xmlrpc.client.Transport):
    def make_connection(self, host):
        return UConn()

p = subprocess.Popen([os.path.join(venv, 'bin', 'supervisord'), '-c', conf],
                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
try:
    deadline = time.time() + 20
    while not os.path.exists(sock):
        if time.time() > deadline:
            raise SystemExit('supervisord did not start')
        time.sleep(0.05)
    s = xmlrpc.client.ServerProxy('http://localhost', transport=UTransport())
    names = s.system.listMethods()
    rows = []
    for n in names:
        rows.append((n, s.system.methodHelp(n), s.system.methodSignature(n)))
finally:
    p.terminate()
    p.wait()

def rs(s):
    # a plain Rust string literal with escapes
    out = []
    for ch in s:
        if ch == '\\': out.append('\\\\')
        elif ch == '"': out.append('\\"')
        elif ch == '\n': out.append('\\n')
        elif ch == '\t': out.append('\\t')
        else: out.append(ch)
    return '"' + ''.join(out) + '"'

print('//! system.listMethods / methodHelp / methodSignature data, generated from the')
print('//! reference supervisord 4.3.0 by `crates/rpc/tools/gen_docs.py`. Do not edit by hand.')
print()
print('/// (name, raw docstring, signature) sorted as system.listMethods returns them.')
print('static METHODS: &[(&str, &str, &[&str])] = &[')
for n, h, sig in rows:
    print(f'    (\n        {rs(n)},\n        {rs(h)},\n        &[{", ".join(rs(x) for x in sig)}],\n    ),')
print('];')
print('''
static NAMES: [&str; %d] = [%s];

/// The method names, sorted, as `system.listMethods` returns them.
pub fn method_names() -> &'static [&'static str] {
    &NAMES
}

/// The raw Python docstring of a method (indentation included), as `system.methodHelp`.
pub fn method_help(name: &str) -> Option<&'static str> {
    METHODS.iter().find(|m| m.0 == name).map(|m| m.1)
}

/// `[return type, param types...]` as `system.methodSignature`.
pub fn method_signature(name: &str) -> Option<Vec<&'static str>> {
    METHODS.iter().find(|m| m.0 == name).map(|m| m.2.to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_complete() {
        assert_eq!(method_names().len(), 41);
        assert_eq!(method_names().len(), METHODS.len());
        for (a, m) in method_names().iter().zip(METHODS.iter()) {
            assert_eq!(*a, m.0);
        }
        assert_eq!(method_signature("supervisor.getProcessInfo").unwrap(), vec!["struct", "string"]);
        assert_eq!(
            method_signature("supervisor.startProcess").unwrap(),
            vec!["boolean", "string", "boolean"]
        );
        assert_eq!(method_signature("system.multicall").unwrap(), vec!["array", "array"]);
        assert!(method_help("supervisor.getState").unwrap().contains("@return struct"));
        assert!(method_help("nope.x").is_none());
    }
}''' % (len(rows), ', '.join(rs(n) for n, _, _ in rows)))
