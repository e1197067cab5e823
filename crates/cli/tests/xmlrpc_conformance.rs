//! Issue 3 §2 and §7(b): Python's xmlrpc.client calls every `supervisor.*` and `system.*`
//! method — and a list of bad calls — against the real supervisord 4.3 and against Steward,
//! on the same config and scenario, and the masked results must be equal (pids, times,
//! uptimes, stop dates, the temp dir and AUTO log names masked). The only tolerated
//! differences are the documented ones (docs/decisions.md): wrongly-typed arguments give
//! the fault INCORRECT_PARAMETERS where supervisord answers HTTP 500.
mod support;
use std::fs;
use support::*;

/// The scenario, run by the venv's python: `scenario.py SOCK DIR CONF`. It prints one JSON
/// object per step: `{label, ok|fault|http|raw, …}`.
const SCENARIO: &str = r#"import sys, json, re, socket, http.client, xmlrpc.client, threading, time, shutil, os

SOCK, DIR, CONF = sys.argv[1], sys.argv[2], sys.argv[3]
steps = []


class UConn(http.client.HTTPConnection):
    def __init__(self, timeout=60):
        super().__init__('localhost', timeout=timeout)

    def connect(self):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(self.timeout)
        s.connect(SOCK)
        self.sock = s


class UTransport(xmlrpc.client.Transport):
    def make_connection(self, host):
        return UConn()


def proxy():
    return xmlrpc.client.ServerProxy('http://localhost', transport=UTransport())


S = proxy()

DATE = re.compile(r'(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d\d \d\d:\d\d [AP]M')
UPTIME = re.compile(r'uptime (\d+ days?, )?\d+:\d\d:\d\d')
AUTO = re.compile(r'(---[^/]*-)[A-Za-z0-9_]{8}(\.log)')


def mask(v, key=None):
    if isinstance(v, dict):
        return {k: mask(x, k) for k, x in v.items()}
    if isinstance(v, list):
        return [mask(x) for x in v]
    if isinstance(v, bool):
        return v
    if isinstance(v, int) and key in ('pid', 'now', 'start', 'stop') and v != 0:
        return '<%s>' % key.upper()
    if isinstance(v, str):
        v = v.replace(DIR, '<DIR>')
        v = re.sub(r'pid \d+', 'pid <PID>', v)
        v = UPTIME.sub('uptime <UPTIME>', v)
        v = DATE.sub('<DATE>', v)
        v = AUTO.sub(r'\1XXXXXXXX\2', v)
        return v
    return v


def rec(label, **out):
    steps.append(dict(label=label, **out))


def invoke(method, *args):
    return getattr(S, method)(*args)


def call(label, method, *args, keys=False, unordered=False):
    """Call and record the masked outcome; returns the raw value (None on error).
    unordered: the result structs of waiting stops come in completion order, which is not
    deterministic even in supervisord: sort them by (group, name)."""
    try:
        r = invoke(method, *args)
    except xmlrpc.client.Fault as f:
        rec(label, fault=[f.faultCode, mask(f.faultString)])
        return None
    except xmlrpc.client.ProtocolError as e:
        rec(label, http=e.errcode)
        return None
    if unordered:
        r = sorted(r, key=lambda x: (x['group'], x['name']))
    if keys:
        rec(label, ok=mask(r), keys=[list(x.keys()) for x in r] if isinstance(r, list) else list(r.keys()))
    else:
        rec(label, ok=mask(r))
    return r


def quiet(method, *args):
    try:
        return invoke(method, *args)
    except (xmlrpc.client.Fault, xmlrpc.client.ProtocolError) as e:
        return e


def alive(label):
    st = quiet('supervisor.getState')
    rec(label + ' / daemon still up', ok=st)


def poll(what, cond, timeout=15):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if cond():
            return True
        time.sleep(0.03)
    rec('TIMEOUT waiting for ' + what, ok=False)
    return False


def state(name):
    r = quiet('supervisor.getProcessInfo', name)
    return r['statename'] if isinstance(r, dict) else None


def raw(label, body, method='POST', path='/RPC2', headers=None, content_length=True):
    c = UConn()
    c.putrequest(method, path, skip_accept_encoding=True)
    c.putheader('Content-Type', 'text/xml')
    for k, v in (headers or {}).items():
        c.putheader(k, v)
    if content_length:
        c.putheader('Content-Length', str(len(body)))
    c.endheaders()
    if body:
        c.send(body)
    resp = c.getresponse()
    data = resp.read()
    out = {'status': resp.status}
    if resp.status == 200:
        try:
            out['result'] = mask(xmlrpc.client.loads(data)[0][0])
        except xmlrpc.client.Fault as f:
            out['fault'] = [f.faultCode, mask(f.faultString)]
    c.close()
    rec(label, raw=out)
    alive(label)


# ---------------------------------------------------------------- 1. identity and state
for name in [n for n in ['cat', 'talker', 'auto', 'grp:zeta', 'grp:alpha']]:
    poll(name + ' RUNNING', lambda: state(name) == 'RUNNING')
poll('talker output', lambda: os.path.exists(DIR + '/talker.err') and b'err-line' in open(DIR + '/talker.err', 'rb').read()
     and b'out-line' in open(DIR + '/talker.out', 'rb').read())

call('getAPIVersion', 'supervisor.getAPIVersion')
call('getVersion', 'supervisor.getVersion')
call('getSupervisorVersion', 'supervisor.getSupervisorVersion')
call('getIdentification', 'supervisor.getIdentification')
call('getState', 'supervisor.getState')
pid = quiet('supervisor.getPID')
rec('getPID type', ok=type(pid).__name__, positive=isinstance(pid, int) and pid > 0)

# ---------------------------------------------------------------- 2. process info
call('getAllProcessInfo (group then name)', 'supervisor.getAllProcessInfo', keys=True)
call('getProcessInfo cat', 'supervisor.getProcessInfo', 'cat', keys=True)
call('getProcessInfo grp:alpha', 'supervisor.getProcessInfo', 'grp:alpha')
call('getProcessInfo manual (never started)', 'supervisor.getProcessInfo', 'manual')
call('getProcessInfo nosuch', 'supervisor.getProcessInfo', 'nosuch')
call('getProcessInfo grp:*', 'supervisor.getProcessInfo', 'grp:*')
call('getProcessInfo grp:nosuch', 'supervisor.getProcessInfo', 'grp:nosuch')
call('getAllConfigInfo', 'supervisor.getAllConfigInfo', keys=True)

# ---------------------------------------------------------------- 3. main log
full = quiet('supervisor.readLog', 0, 0)
rec('readLog(0,0) is a non-empty string', ok=isinstance(full, str) and len(full) > 20)
if isinstance(full, str):
    rec('readLog(-10,0) = last 10', ok=quiet('supervisor.readLog', -10, 0) == full[-10:])
    rec('readLog(5,10) = [5:15]', ok=quiet('supervisor.readMainLog', 5, 10) == full[5:15])
    rec('readLog(3,0) = [3:]', ok=quiet('supervisor.readLog', 3, 0) == full[3:])
    rec('readLog(-100000,0) = all', ok=quiet('supervisor.readLog', -100000, 0) == full)
    rec('readLog(past EOF)', ok=quiet('supervisor.readLog', len(full.encode()) + 100, 0))
call('readLog(-1,5) BAD_ARGUMENTS', 'supervisor.readLog', -1, 5)
call('readLog(0,-1) BAD_ARGUMENTS', 'supervisor.readLog', 0, -1)
call('readMainLog(-1,-1) BAD_ARGUMENTS', 'supervisor.readMainLog', -1, -1)
call('clearLog', 'supervisor.clearLog')
after = quiet('supervisor.readLog', 0, 0)
rec('readLog after clearLog is shorter', ok=isinstance(after, str) and isinstance(full, str) and len(after) < len(full))

# ---------------------------------------------------------------- 4. process logs
call('readProcessStdoutLog talker (0,0)', 'supervisor.readProcessStdoutLog', 'talker', 0, 0)
call('readProcessLog talker (4,0)', 'supervisor.readProcessLog', 'talker', 4, 0)
call('readProcessStdoutLog talker (-5,0)', 'supervisor.readProcessStdoutLog', 'talker', -5, 0)
call('readProcessStdoutLog talker (0,3)', 'supervisor.readProcessStdoutLog', 'talker', 0, 3)
call('readProcessStdoutLog talker (2,3)', 'supervisor.readProcessStdoutLog', 'talker', 2, 3)
call('readProcessStdoutLog talker (100,0)', 'supervisor.readProcessStdoutLog', 'talker', 100, 0)
call('readProcessStdoutLog talker (-1,3)', 'supervisor.readProcessStdoutLog', 'talker', -1, 3)
call('readProcessStdoutLog talker (0,-1)', 'supervisor.readProcessStdoutLog', 'talker', 0, -1)
call('readProcessStderrLog talker (0,0)', 'supervisor.readProcessStderrLog', 'talker', 0, 0)
call('readProcessStderrLog talker (-4,0)', 'supervisor.readProcessStderrLog', 'talker', -4, 0)
call('readProcessStdoutLog nosuch', 'supervisor.readProcessStdoutLog', 'nosuch', 0, 0)
call('readProcessStdoutLog manual (no file yet)', 'supervisor.readProcessStdoutLog', 'manual', 0, 0)
call('readProcessStderrLog cat (no stderr log)', 'supervisor.readProcessStderrLog', 'cat', 0, 0)
call('readProcessStderrLog auto (AUTO, empty)', 'supervisor.readProcessStderrLog', 'auto', 0, 0)
call('tailProcessStdoutLog talker (0,100)', 'supervisor.tailProcessStdoutLog', 'talker', 0, 100)
call('tailProcessLog talker (0,3) overflow', 'supervisor.tailProcessLog', 'talker', 0, 3)
call('tailProcessStdoutLog talker (5,2) overflow', 'supervisor.tailProcessStdoutLog', 'talker', 5, 2)
call('tailProcessStdoutLog talker (9,100) at end', 'supervisor.tailProcessStdoutLog', 'talker', 9, 100)
call('tailProcessStdoutLog talker (50,100) past end', 'supervisor.tailProcessStdoutLog', 'talker', 50, 100)
call('tailProcessStderrLog talker (0,4)', 'supervisor.tailProcessStderrLog', 'talker', 0, 4)
call('tailProcessStdoutLog manual (no file)', 'supervisor.tailProcessStdoutLog', 'manual', 0, 100)
call('tailProcessStderrLog cat (no stderr log)', 'supervisor.tailProcessStderrLog', 'cat', 0, 100)
call('tailProcessStdoutLog nosuch', 'supervisor.tailProcessStdoutLog', 'nosuch', 0, 100)

# ---------------------------------------------------------------- 5. stdin and comm events
call('sendProcessStdin cat', 'supervisor.sendProcessStdin', 'cat', 'hello stdin\n')
poll('cat echo', lambda: 'hello stdin' in (quiet('supervisor.readProcessStdoutLog', 'cat', 0, 0) or ''))
call('sendProcessStdin cat unicode', 'supervisor.sendProcessStdin', 'cat', 'h\u00e9\u20ac\n')
poll('cat echo unicode', lambda: '\u20ac' in (quiet('supervisor.readProcessStdoutLog', 'cat', 0, 0) or ''))
call('readProcessStdoutLog cat', 'supervisor.readProcessStdoutLog', 'cat', 0, 0)
call('sendProcessStdin manual (not running)', 'supervisor.sendProcessStdin', 'manual', 'x')
call('sendProcessStdin nosuch', 'supervisor.sendProcessStdin', 'nosuch', 'x')
call('sendProcessStdin cat non-string', 'supervisor.sendProcessStdin', 'cat', 5)
call('sendRemoteCommEvent', 'supervisor.sendRemoteCommEvent', 'mytype', 'mydata')

# ---------------------------------------------------------------- 6. clearing logs
call('clearProcessLogs talker', 'supervisor.clearProcessLogs', 'talker')
call('readProcessStdoutLog talker after clear', 'supervisor.readProcessStdoutLog', 'talker', 0, 0)
call('readProcessStderrLog talker after clear', 'supervisor.readProcessStderrLog', 'talker', 0, 0)
call('clearProcessLog cat', 'supervisor.clearProcessLog', 'cat')
call('clearProcessLogs nosuch', 'supervisor.clearProcessLogs', 'nosuch')
call('clearAllProcessLogs', 'supervisor.clearAllProcessLogs')

# ---------------------------------------------------------------- 7. start / stop / signal
call('startProcess nosuch', 'supervisor.startProcess', 'nosuch')
call('startProcess cat (ALREADY_STARTED)', 'supervisor.startProcess', 'cat')
call('startProcess nofile (NO_FILE)', 'supervisor.startProcess', 'nofile')
call('startProcess notexec (NOT_EXECUTABLE)', 'supervisor.startProcess', 'notexec')
call('startProcess quick (SPAWN_ERROR)', 'supervisor.startProcess', 'quick')
poll('quick FATAL', lambda: state('quick') == 'FATAL')
call('getProcessInfo quick (FATAL)', 'supervisor.getProcessInfo', 'quick')
call('stopProcess manual (NOT_RUNNING)', 'supervisor.stopProcess', 'manual')
call('stopProcess quick FATAL (NOT_RUNNING)', 'supervisor.stopProcess', 'quick')
call('startProcess manual', 'supervisor.startProcess', 'manual')
call('getProcessInfo manual running', 'supervisor.getProcessInfo', 'manual')
call('stopProcess manual', 'supervisor.stopProcess', 'manual')
call('getProcessInfo manual stopped', 'supervisor.getProcessInfo', 'manual')
call('startProcess manual wait=false', 'supervisor.startProcess', 'manual', False)
poll('manual RUNNING', lambda: state('manual') == 'RUNNING')
call('stopProcess manual wait=false', 'supervisor.stopProcess', 'manual', False)
poll('manual STOPPED', lambda: state('manual') == 'STOPPED')

call('signalProcess cat CONT', 'supervisor.signalProcess', 'cat', 'CONT')
call('signalProcess cat SIGCONT', 'supervisor.signalProcess', 'cat', 'SIGCONT')
call('signalProcess cat 18', 'supervisor.signalProcess', 'cat', 18)
call('signalProcess cat "18"', 'supervisor.signalProcess', 'cat', '18')
call('signalProcess cat FOO (BAD_SIGNAL)', 'supervisor.signalProcess', 'cat', 'FOO')
call('signalProcess manual (NOT_RUNNING)', 'supervisor.signalProcess', 'manual', 'CONT')
call('signalProcess nosuch', 'supervisor.signalProcess', 'nosuch', 'CONT')
call('signalProcess grp:* CONT', 'supervisor.signalProcess', 'grp:*', 'CONT')
call('signalProcessGroup grp CONT', 'supervisor.signalProcessGroup', 'grp', 'CONT')
call('signalProcessGroup grp FOO', 'supervisor.signalProcessGroup', 'grp', 'FOO')
call('signalProcessGroup nosuch', 'supervisor.signalProcessGroup', 'nosuch', 'CONT')
call('signalAllProcesses CONT', 'supervisor.signalAllProcesses', 'CONT')

call('stopProcess grp:zeta', 'supervisor.stopProcess', 'grp:zeta')
call('startProcess grp: (group form)', 'supervisor.startProcess', 'grp:')
call('stopProcessGroup grp', 'supervisor.stopProcessGroup', 'grp', unordered=True)
call('stopProcessGroup grp again (nothing running)', 'supervisor.stopProcessGroup', 'grp')
call('startProcessGroup grp', 'supervisor.startProcessGroup', 'grp')
call('startProcessGroup grp wait=false (all running)', 'supervisor.startProcessGroup', 'grp', False)
call('stopProcess grp:* wait=false', 'supervisor.stopProcess', 'grp:*', False)
poll('grp stopped', lambda: state('grp:zeta') == 'STOPPED' and state('grp:alpha') == 'STOPPED')
call('startProcessGroup grp wait=false', 'supervisor.startProcessGroup', 'grp', False)
poll('grp running', lambda: state('grp:zeta') == 'RUNNING' and state('grp:alpha') == 'RUNNING')
call('startProcessGroup nosuch', 'supervisor.startProcessGroup', 'nosuch')
call('stopProcessGroup nosuch', 'supervisor.stopProcessGroup', 'nosuch')
call('startProcessGroup mix (errors, OK and SPAWN_ERROR in order)', 'supervisor.startProcessGroup', 'mix')
poll('mix:m4 FATAL', lambda: state('mix:m4') == 'FATAL')
call('stopProcessGroup mix', 'supervisor.stopProcessGroup', 'mix')

# ABNORMAL_TERMINATION: stop a process while a waiting start is pending.
box = {}


def starter():
    box['r'] = quiet('supervisor.startProcess', 'slow', True)


t = threading.Thread(target=starter)
t.start()
poll('slow STARTING', lambda: state('slow') == 'STARTING')
call('stopProcess slow while starting', 'supervisor.stopProcess', 'slow')
t.join(30)
r = box.get('r')
rec('startProcess slow (ABNORMAL_TERMINATION)',
    fault=[r.faultCode, r.faultString] if isinstance(r, xmlrpc.client.Fault) else repr(r))

call('getAllProcessInfo after actions', 'supervisor.getAllProcessInfo')

# ---------------------------------------------------------------- 8. system.*
methods = call('system.listMethods', 'system.listMethods') or []
for m in methods:
    call('system.methodHelp ' + m, 'system.methodHelp', m)
    call('system.methodSignature ' + m, 'system.methodSignature', m)
call('system.methodHelp nosuch', 'system.methodHelp', 'supervisor.nosuch')
call('system.methodSignature nosuch', 'system.methodSignature', 'nosuch')
call('system.multicall', 'system.multicall', [
    {'methodName': 'supervisor.getAPIVersion', 'params': []},
    {'methodName': 'supervisor.getState', 'params': []},
    {'methodName': 'supervisor.getProcessInfo', 'params': ['nosuch']},
    {'methodName': 'supervisor.getProcessInfo', 'params': ['cat']},
    {'methodName': 'system.multicall', 'params': [[]]},
    {'params': []},
    {'methodName': 'supervisor.nosuch', 'params': []},
    {'methodName': 'supervisor.getState', 'params': [1]},
    {'methodName': 'supervisor.getIdentification'},
    {'methodName': 'supervisor.startProcess', 'params': ['manual']},
    {'methodName': 'supervisor.stopProcess', 'params': ['manual']},
])
call('system.multicall empty', 'system.multicall', [])

# ---------------------------------------------------------------- 9. bad calls
for label, m, args in [
    ('unknown method', 'supervisor.nosuch', ()),
    ('unknown namespace', 'nosuch.getState', ()),
    ('no namespace', 'getState', ()),
    ('private method', 'supervisor._getGroupAndProcess', ('cat',)),
    ('private system method', 'system._listMethods', ()),
    ('three dotted parts', 'supervisor.getState.x', ()),
    ('four dotted parts', 'supervisor.rpcinterface.getState.x', ()),
    ('too many args getState', 'supervisor.getState', (1,)),
    ('too few args getProcessInfo', 'supervisor.getProcessInfo', ()),
    ('too many args startProcess', 'supervisor.startProcess', ('cat', True, 3)),
    ('too few args readLog', 'supervisor.readLog', (0,)),
    ('too few args methodHelp', 'system.methodHelp', ()),
    ('too many args listMethods', 'system.listMethods', (1,)),
    ('too few args multicall', 'system.multicall', ()),
]:
    call(label, m, *args)
    alive(label)

for label, m, args in [
    ('getProcessInfo(int)', 'supervisor.getProcessInfo', (123,)),
    ('startProcess(array)', 'supervisor.startProcess', (['x'],)),
    ('stopProcess(struct)', 'supervisor.stopProcess', ({'a': 1},)),
    ('readLog(str,str)', 'supervisor.readLog', ('a', 'b')),
    ('readProcessStdoutLog(name,str,int)', 'supervisor.readProcessStdoutLog', ('cat', 'x', 0)),
    ('tailProcessStdoutLog(name,array,int)', 'supervisor.tailProcessStdoutLog', ('cat', [], 0)),
    ('addProcessGroup(int)', 'supervisor.addProcessGroup', (5,)),
    ('methodHelp(int)', 'system.methodHelp', (5,)),
    ('multicall(str)', 'system.multicall', ('notarray',)),
]:
    call('wrongtype: ' + label, m, *args)
    alive('wrongtype: ' + label)

raw('malformed XML', b'this is not xml')
raw('truncated XML', b"<?xml version='1.0'?><methodCall><methodName>supervisor.getState</methodName><params>")
raw('no methodName', b"<?xml version='1.0'?><methodCall><params></params></methodCall>")
raw('empty methodName', b"<?xml version='1.0'?><methodCall><methodName></methodName></methodCall>")
raw('no params element', b"<?xml version='1.0'?><methodCall><methodName>supervisor.getState</methodName></methodCall>")
raw('untyped value is a string', b"<?xml version='1.0'?><methodCall><methodName>supervisor.getProcessInfo</methodName><params><param><value>cat</value></param></params></methodCall>")
raw('i4 param', b"<?xml version='1.0'?><methodCall><methodName>supervisor.readProcessStdoutLog</methodName><params><param><value><string>cat</string></value></param><param><value><i4>0</i4></value></param><param><value><int>5</int></value></param></params></methodCall>")
raw('GET /RPC2', b'', method='GET')
raw('POST /RPC2/extra', b"<?xml version='1.0'?><methodCall><methodName>supervisor.getAPIVersion</methodName></methodCall>", path='/RPC2/extra')

# ---------------------------------------------------------------- 10. reloadConfig / groups
shutil.copy(CONF + '.broken', CONF)
r = quiet('supervisor.reloadConfig')
rec('reloadConfig broken (CANT_REREAD)', fault=r.faultCode if isinstance(r, xmlrpc.client.Fault) else repr(r))
shutil.copy(CONF + '.next', CONF)
call('reloadConfig', 'supervisor.reloadConfig')
call('reloadConfig again (nothing new)', 'supervisor.reloadConfig')
call('getAllConfigInfo after reload', 'supervisor.getAllConfigInfo')
call('addProcessGroup newprog', 'supervisor.addProcessGroup', 'newprog')
call('addProcessGroup newprog again', 'supervisor.addProcessGroup', 'newprog')
call('addProcessGroup nosuch', 'supervisor.addProcessGroup', 'nosuch')
poll('newprog RUNNING', lambda: state('newprog') == 'RUNNING')
call('removeProcessGroup newprog running', 'supervisor.removeProcessGroup', 'newprog')
call('stopProcessGroup newprog', 'supervisor.stopProcessGroup', 'newprog')
call('removeProcessGroup newprog', 'supervisor.removeProcessGroup', 'newprog')
call('removeProcessGroup newprog again', 'supervisor.removeProcessGroup', 'newprog')
call('removeProcessGroup slow', 'supervisor.removeProcessGroup', 'slow')
call('removeProcessGroup mix', 'supervisor.removeProcessGroup', 'mix')
call('removeProcessGroup quick', 'supervisor.removeProcessGroup', 'quick')
call('removeProcessGroup talker (changed, running)', 'supervisor.removeProcessGroup', 'talker')
call('getAllConfigInfo after removals', 'supervisor.getAllConfigInfo')
call('getAllProcessInfo after removals', 'supervisor.getAllProcessInfo')

# ---------------------------------------------------------------- 11. all-process variants
call('stopAllProcesses', 'supervisor.stopAllProcesses', unordered=True)
call('stopAllProcesses again', 'supervisor.stopAllProcesses')
call('startAllProcesses', 'supervisor.startAllProcesses')
call('stopAllProcesses wait=false', 'supervisor.stopAllProcesses', False)
poll('all stopped', lambda: all(p['statename'] in ('STOPPED', 'EXITED', 'FATAL') for p in quiet('supervisor.getAllProcessInfo')))
call('startAllProcesses wait=false', 'supervisor.startAllProcesses', False)
poll('cat RUNNING', lambda: state('cat') == 'RUNNING')
call('getState at the end', 'supervisor.getState')

for s in steps:
    print(json.dumps(s, sort_keys=False))
"#;

const PROGRAMS: &str = "[program:cat]
command=cat
startsecs=0
stdout_logfile={dir}/cat.out

[program:talker]
command=sh -c 'echo out-line; echo err-line >&2; exec sleep 1000'
startsecs=0
stdout_logfile={dir}/talker.out
stderr_logfile={dir}/talker.err

[program:auto]
command=sleep 1000
startsecs=0

[program:manual]
command=sleep 1000
autostart=false
startsecs=0

[program:nofile]
command=/nonexistent/steward-test-binary
autostart=false

[program:notexec]
command={dir}/notexec.txt
autostart=false

[program:quick]
command=sh -c 'exit 3'
autostart=false
startsecs=1
startretries=0

[program:slow]
command=sleep 1000
autostart=false
startsecs=30

[program:zeta]
command=sleep 1000
startsecs=0
priority=1

[program:alpha]
command=sleep 1000
startsecs=0
priority=2

[group:grp]
programs=zeta,alpha
priority=5

[program:m1]
command=/nonexistent/steward-m1
autostart=false
priority=1

[program:m2]
command=sleep 1000
autostart=false
startsecs=0
priority=2

[program:m3]
command={dir}/notexec.txt
autostart=false
priority=3

[program:m4]
command=sh -c 'exit 3'
autostart=false
startsecs=1
startretries=0
priority=4

[group:mix]
programs=m4,m3,m2,m1
";

/// The config that `reloadConfig` reads in the scenario: `newprog` added, `talker` changed,
/// `mix`, `quick` and `slow` removed.
const NEXT_PROGRAMS: &str = "
[program:cat]
command=cat
startsecs=0
stdout_logfile={dir}/cat.out

[program:talker]
command=sh -c 'echo changed; exec sleep 1000'
startsecs=0
stdout_logfile={dir}/talker.out
stderr_logfile={dir}/talker.err

[program:auto]
command=sleep 1000
startsecs=0

[program:manual]
command=sleep 1000
autostart=false
startsecs=0

[program:nofile]
command=/nonexistent/steward-test-binary
autostart=false

[program:notexec]
command={dir}/notexec.txt
autostart=false

[program:zeta]
command=sleep 1000
startsecs=0
priority=1

[program:alpha]
command=sleep 1000
startsecs=0
priority=2

[group:grp]
programs=zeta,alpha
priority=5

[program:newprog]
command=sleep 1000
startsecs=0
stopwaitsecs=3
exitcodes=0,2
";

fn make_conf() -> Conf {
    let c = Conf::new(NEXT_PROGRAMS);
    fs::copy(&c.path, c.file("supervisord.conf.next")).unwrap();
    // A program without a command: the parse fails (CANT_REREAD).
    c.write("[program:broken]\nautostart=false\n");
    fs::copy(&c.path, c.file("supervisord.conf.broken")).unwrap();
    c.write(PROGRAMS);
    // A plain file, not executable.
    fs::write(c.file("notexec.txt"), "not a program\n").unwrap();
    fs::write(c.file("scenario.py"), SCENARIO).unwrap();
    c
}

/// Run the scenario against `d`; one JSON value per step.
fn run_scenario(d: &Daemon) -> Vec<Value> {
    let mut cmd = std::process::Command::new(python());
    cmd.arg(d.conf.file("scenario.py"))
        .arg(&d.conf.sock)
        .arg(d.dir())
        .arg(&d.conf.path);
    let out = run_with_timeout(&mut cmd, secs(120.0));
    assert_eq!(
        out.code,
        0,
        "the scenario failed against {}:\n{out}",
        d.target.name()
    );
    out.stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad line {l:?}: {e}")))
        .collect()
}

fn label(step: &Value) -> &str {
    step["label"].as_str().unwrap_or("?")
}

/// A documented difference: supervisord answers a wrongly-typed argument with HTTP 500,
/// Steward with the fault INCORRECT_PARAMETERS.
fn documented_difference(reference: &Value, steward: &Value) -> bool {
    label(reference).starts_with("wrongtype: ")
        && reference["http"] == json!(500)
        && steward["fault"] == json!([2, "INCORRECT_PARAMETERS"])
}

/// The differences between two JSON values, one line per differing leaf (path: a vs b).
fn json_diff(path: &str, a: &Value, b: &Value, out: &mut Vec<String>) {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) if x.keys().eq(y.keys()) => {
            for (k, v) in x {
                json_diff(&format!("{path}.{k}"), v, &y[k], out);
            }
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => {
            for (i, (v, w)) in x.iter().zip(y).enumerate() {
                json_diff(&format!("{path}[{i}]"), v, w, out);
            }
        }
        _ if a != b => out.push(format!(
            "  {path}\n    reference: {a}\n    {}: {b}",
            target().name()
        )),
        _ => {}
    }
}

fn step<'a>(steps: &'a [Value], l: &str) -> &'a Value {
    steps
        .iter()
        .find(|s| label(s) == l)
        .unwrap_or_else(|| panic!("no step {l:?}"))
}

#[test]
fn every_method_matches_the_reference() {
    let (reference, tested) = std::thread::scope(|s| {
        let r = s.spawn(|| run_scenario(&Daemon::start_supervisord(make_conf())));
        let t = s.spawn(|| run_scenario(&Daemon::start(make_conf())));
        (r.join().unwrap(), t.join().unwrap())
    });
    let mut diffs = Vec::new();
    for (r, t) in reference.iter().zip(tested.iter()) {
        if label(r) != label(t) {
            diffs.push(format!(
                "step order differs: {:?} vs {:?}",
                label(r),
                label(t)
            ));
            break;
        }
        if r != t && !(target() == Target::Steward && documented_difference(r, t)) {
            let mut d = Vec::new();
            json_diff("", r, t, &mut d);
            diffs.push(format!("{}:\n{}", label(r), d.join("\n")));
        }
    }
    if reference.len() != tested.len() {
        diffs.push(format!(
            "step counts differ: {} vs {}",
            reference.len(),
            tested.len()
        ));
    }
    assert!(
        diffs.is_empty(),
        "{} of {} XML-RPC steps differ from supervisord 4.3:\n{}",
        diffs.len(),
        reference.len(),
        diffs.join("\n")
    );

    // Concrete checks, so that the test is not only a comparison.
    let t = &tested;
    assert!(
        t.iter().all(|s| !label(s).starts_with("TIMEOUT")),
        "a wait timed out"
    );
    assert_eq!(step(t, "getAPIVersion")["ok"], json!("3.0"));
    assert_eq!(step(t, "getVersion")["ok"], json!("3.0"));
    assert_eq!(step(t, "getSupervisorVersion")["ok"], json!("4.3.0"));
    assert_eq!(
        step(t, "getState")["ok"],
        json!({"statecode": 1, "statename": "RUNNING"})
    );
    assert_eq!(step(t, "getPID type")["ok"], json!("int"));
    assert_eq!(
        step(t, "getProcessInfo cat")["keys"],
        json!([
            "name",
            "group",
            "start",
            "stop",
            "now",
            "state",
            "statename",
            "spawnerr",
            "exitstatus",
            "logfile",
            "stdout_logfile",
            "stderr_logfile",
            "pid",
            "description"
        ])
    );
    let order: Vec<String> = step(t, "getAllProcessInfo (group then name)")["ok"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            format!(
                "{}:{}",
                p["group"].as_str().unwrap(),
                p["name"].as_str().unwrap()
            )
        })
        .collect();
    let mut sorted = order.clone();
    sorted.sort();
    assert_eq!(
        order, sorted,
        "getAllProcessInfo is sorted by group then name"
    );
    assert_eq!(
        step(t, "getProcessInfo nosuch")["fault"],
        json!([10, "BAD_NAME: nosuch"])
    );
    assert_eq!(
        step(t, "startProcess cat (ALREADY_STARTED)")["fault"],
        json!([60, "ALREADY_STARTED: cat"])
    );
    assert_eq!(
        step(t, "startProcess quick (SPAWN_ERROR)")["fault"],
        json!([50, "SPAWN_ERROR: quick"])
    );
    assert_eq!(
        step(t, "startProcess slow (ABNORMAL_TERMINATION)")["fault"],
        json!([40, "ABNORMAL_TERMINATION: slow"])
    );
    assert_eq!(
        step(t, "startProcess nofile (NO_FILE)")["fault"][0],
        json!(20)
    );
    assert_eq!(
        step(t, "startProcess notexec (NOT_EXECUTABLE)")["fault"][0],
        json!(21)
    );
    assert_eq!(
        step(t, "signalProcess cat FOO (BAD_SIGNAL)")["fault"],
        json!([11, "BAD_SIGNAL: FOO"])
    );
    assert_eq!(
        step(t, "readLog(-1,5) BAD_ARGUMENTS")["fault"],
        json!([3, "BAD_ARGUMENTS"])
    );
    assert_eq!(
        step(t, "tailProcessLog talker (0,3) overflow")["ok"],
        json!(["ne\n", 9, true])
    );
    assert_eq!(
        step(t, "readProcessStdoutLog cat")["ok"],
        json!("hello stdin\nh\u{e9}\u{20ac}\n")
    );
    assert_eq!(
        step(t, "reloadConfig")["ok"],
        json!([[["newprog"], ["talker"], ["mix", "quick", "slow"]]])
    );
    assert_eq!(
        step(t, "addProcessGroup newprog again")["fault"],
        json!([90, "ALREADY_ADDED: newprog"])
    );
    assert_eq!(
        step(t, "removeProcessGroup newprog running")["fault"],
        json!([91, "STILL_RUNNING: newprog"])
    );
    let mc = step(t, "system.multicall")["ok"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(mc[0], json!("3.0"), "multicall returns raw values");
    assert_eq!(
        mc[4],
        json!({"faultCode": 2, "faultString": "INCORRECT_PARAMETERS: Recursive system.multicall forbidden"})
    );
    for s in t.iter().filter(|s| label(s).ends_with("/ daemon still up")) {
        assert_eq!(
            s["ok"],
            json!({"statecode": 1, "statename": "RUNNING"}),
            "{}",
            label(s)
        );
    }
    for l in ["unknown method", "private method", "three dotted parts"] {
        assert_eq!(step(t, l)["fault"], json!([1, "UNKNOWN_METHOD"]), "{l}");
    }
    assert_eq!(
        step(t, "too many args getState")["fault"],
        json!([2, "INCORRECT_PARAMETERS"])
    );
    assert_eq!(step(t, "malformed XML")["raw"]["status"], json!(400));
}

/// `restart` and `shutdown` last, in their own daemon: both answer `true` before acting;
/// restart brings the same daemon back with its processes respawned, shutdown ends it.
#[test]
fn restart_then_shutdown() {
    let mut d = Daemon::start(Conf::new("[program:cat]\ncommand=cat\nstartsecs=0\n"));
    d.wait_state("cat", "RUNNING", secs(10.0));
    let before = d.process_pid("cat");
    let daemon_pid = d.call("supervisor.getPID", vec![]);
    assert_eq!(d.call("supervisor.restart", vec![]), json!(true));
    assert!(
        wait_until(secs(15.0), || d.state("cat") == "RUNNING"
            && d.process_pid("cat") != before),
        "after restart, cat runs again with a new pid (last: {})",
        d.state("cat")
    );
    assert_eq!(
        d.call("supervisor.getPID", vec![]),
        daemon_pid,
        "the same daemon"
    );
    assert!(d.is_running());
    assert_eq!(d.call("supervisor.shutdown", vec![]), json!(true));
    let st = d
        .wait_exit(secs(15.0))
        .expect("the daemon exits after shutdown");
    assert_eq!(st.code(), Some(0), "{st}");
    assert!(!pid_alive(before) || proc_stat(before).is_some_and(|p| p.session != d.pid));
    assert!(d.rpc("supervisor.getState", vec![]).is_err());
}

/// While a shutdown waits for a program to stop, getAllProcessInfo answers SHUTDOWN_STATE
/// as supervisord's does (Steward writes its usual reply by a separate path, which must
/// not skip the check).
#[test]
fn get_all_process_info_during_shutdown_is_a_shutdown_state_fault() {
    let mut d = Daemon::start(Conf::new(
        "[program:stubborn]\ncommand=sh -c 'trap \"\" TERM; while :; do sleep 0.1; done'\n\
         startsecs=0\nstopwaitsecs=4\n",
    ));
    d.wait_state("stubborn", "RUNNING", secs(10.0));
    let pid = d.process_pid("stubborn");
    let ignores_term = || {
        fs::read_to_string(format!("/proc/{pid}/status"))
            .ok()
            .and_then(|s| {
                let mask = s
                    .lines()
                    .find_map(|l| l.strip_prefix("SigIgn:"))?
                    .trim()
                    .to_string();
                u64::from_str_radix(&mask, 16).ok()
            })
            .is_some_and(|mask| mask & (1 << (libc::SIGTERM - 1)) != 0)
    };
    assert!(
        wait_until(secs(10.0), ignores_term),
        "the shell ignores SIGTERM"
    );
    assert!(d.rpc("supervisor.getAllProcessInfo", vec![]).is_ok());
    assert_eq!(d.call("supervisor.shutdown", vec![]), json!(true));
    let mut answer = None;
    let seen = wait_until(secs(3.5), || {
        answer = Some(d.rpc("supervisor.getAllProcessInfo", vec![]));
        matches!(&answer, Some(Err(f)) if f.code == 6)
    });
    assert!(seen, "getAllProcessInfo during the shutdown: {answer:?}");
    assert_eq!(
        answer.and_then(Result::err).map(|f| f.string),
        Some("SHUTDOWN_STATE".to_string())
    );
    let st = d.wait_exit(secs(20.0)).expect("the daemon exits");
    assert_eq!(st.code(), Some(0), "{st}");
}
