//! Issue 12 §2: a wrong password on an authenticated listener is a 401 the client sees,
//! even when the request body is larger than the socket buffer.
//!
//! Python's `xmlrpc.client` (and supervisorctl's transport) writes the whole body before
//! it reads the answer; a server that closes the connection mid-body makes it fail with
//! `BrokenPipeError` instead of `ProtocolError 401`. Both listeners, both daemons.
mod support;
use std::process::Command;
use support::*;

const CONFIG: &str = "\
[unix_http_server]
file={sock}
username=admin
password=s3cret

[inet_http_server]
port=127.0.0.1:{port}
username=admin
password=s3cret

[supervisord]
logfile={dir}/supervisord.log
pidfile={dir}/supervisord.pid
childlogdir={logdir}

[rpcinterface:supervisor]
supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface

[program:sleeper]
command=sleep 1000
startsecs=0
";

/// For each listener: wait until the right password works, then send a 4 MiB call with
/// the wrong one and print how it failed.
const CLIENT: &str = r#"
import sys, time, xmlrpc.client
from supervisor.xmlrpc import SupervisorTransport
sock, port = sys.argv[1], sys.argv[2]
def proxy(url, password):
    if url.startswith("unix://"):
        t = SupervisorTransport("admin", password, url)
        return xmlrpc.client.ServerProxy("http://127.0.0.1", transport=t)
    return xmlrpc.client.ServerProxy("http://admin:%s@%s/RPC2" % (password, url))
for url in ("unix://" + sock, "127.0.0.1:" + port):
    deadline = time.time() + 10
    while True:
        try:
            proxy(url, "s3cret").supervisor.getState()
            break
        except Exception:
            if time.time() > deadline:
                raise
            time.sleep(0.02)
    try:
        proxy(url, "wrong").supervisor.getProcessInfo("x" * (4 << 20))
        print(url, "NO ERROR")
    except xmlrpc.client.ProtocolError as e:
        print(url, "ProtocolError", e.errcode)
    except Exception as e:
        print(url, type(e).__name__, e)
"#;

#[test]
fn wrong_password_with_a_large_body_is_a_401_on_both_listeners() {
    let conf = Conf::raw(CONFIG);
    let (sock, port) = (conf.sock.clone(), conf.port);
    let _daemon = Daemon::spawn(target(), conf);
    let out = run_with_timeout(
        Command::new(python())
            .args(["-c", CLIENT])
            .arg(&sock)
            .arg(port.to_string()),
        secs(60.0),
    );
    assert_eq!(out.code, 0, "{out}");
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(
        lines,
        [
            format!("unix://{} ProtocolError 401", sock.display()),
            format!("127.0.0.1:{port} ProtocolError 401"),
        ],
        "{out}"
    );
}
