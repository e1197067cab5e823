#!/usr/bin/env python3
"""Soak test of the Steward daemon: resident memory and descriptors under sustained churn.

    python3 bench/soak.py [--steward target/release/steward] [--seconds 600] [--warmup 60]
                          [--flappers 24] [--log-mbps 100] [--json FILE]

One daemon (`steward daemon -n`) in a temp dir runs, for `--seconds`:
- `--flappers` programs `command=true`, `startsecs=0`, `autorestart=true`: each exits at
  once and is respawned at once (the restart rate is measured, ~1,000/s is the target);
- one program writing `--log-mbps` MB/s of output (paced by the clock, 1 MB writes)
  into a rotating log (`stdout_logfile_maxbytes=64MB`, 2 backups);
- an XML-RPC client polling `supervisor.getAllProcessInfo` 10 times a second.

Every 5 s the daemon's VmRSS and open descriptors are sampled from /proc. After the
warm-up, the result is PASS when the RSS stays within +-1 MiB of the first sample after
warm-up (max - min <= 2 MiB, and the last sample within 1 MiB of the first) and the idle
daemon's descriptor count (every program stopped) is no higher after the soak than before
it (while running, the count moves with the children in flight: 3 pipes each). Prints the figures (restarts/s from the daemon's `spawned:`
log lines, log MB/s from the bytes written, RPC calls, RSS and fd series) and exits 1 on
FAIL. Python 3 standard library only; every process it starts is stopped on exit.
"""

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import xmlrpc.client

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def proc_rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def proc_fds(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


def fd_links(pid):
    """What each open descriptor points at (pipe:[…], socket:[…], a path)."""
    out = {}
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            out[int(fd)] = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            pass
    return out


def settled_fds(pid):
    """The descriptor count once it has not moved for a second (at most 20 s)."""
    deadline = time.monotonic() + 20
    last, since = proc_fds(pid), time.monotonic()
    while time.monotonic() < deadline:
        time.sleep(0.1)
        n = proc_fds(pid)
        if n != last:
            last, since = n, time.monotonic()
        elif time.monotonic() - since >= 1:
            break
    return last


def stop_all(rpc):
    """Stops every program; flappers may be between two lives, so ask until none runs."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        rpc.supervisor.stopAllProcesses(True)
        infos = rpc.supervisor.getAllProcessInfo()
        if all(i["statename"] in ("STOPPED", "EXITED", "FATAL") for i in infos):
            return
    raise SystemExit("soak: could not stop the programs")


# The chatty program: writes argv[1] bytes a second to stdout, in 1 MB chunks.
PACER = """\
import os, sys, time
rate = int(sys.argv[1])
chunk = b"x" * 1048575 + b"\\n"
t0 = time.monotonic()
sent = 0
while True:
    if sent < rate * (time.monotonic() - t0):
        os.write(1, chunk)
        sent += len(chunk)
    else:
        time.sleep(0.005)
"""


def write_config(tmp, port, flappers, log_mbps):
    pacer = os.path.join(tmp, "pacer.py")
    with open(pacer, "w") as f:
        f.write(PACER)
    lines = [
        "[supervisord]",
        f"logfile={tmp}/steward.log",
        "logfile_maxbytes=0",
        "loglevel=info",
        f"pidfile={tmp}/steward.pid",
        f"childlogdir={tmp}",
        "minfds=1024",
        "",
        "[inet_http_server]",
        f"port=127.0.0.1:{port}",
        "",
        "[rpcinterface:supervisor]",
        "supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface",
        "",
        "[program:flap]",
        "command=true",
        f"numprocs={flappers}",
        "process_name=%(program_name)s_%(process_num)02d",
        "startsecs=0",
        "autorestart=true",
        "startretries=0",
        "autostart=false",
        "stdout_logfile=NONE",
        "stderr_logfile=NONE",
        "",
        "[program:chatty]",
        # Paced by the wall clock: 1 MB writes whenever behind the target rate, so the rate
        # holds as long as the daemon keeps up (a blocked write shows as a lower figure).
        f"command={sys.executable} {pacer} {int(log_mbps * 1_000_000)}",
        "autostart=false",
        f"stdout_logfile={tmp}/chatty.log",
        "stdout_logfile_maxbytes=64MB",
        "stdout_logfile_backups=2",
        "stderr_logfile=NONE",
        "",
    ]
    path = os.path.join(tmp, "soak.conf")
    with open(path, "w") as f:
        f.write("\n".join(lines))
    return path


def count_spawns(log_path):
    n = 0
    with open(log_path, "rb") as f:
        for line in f:
            if b" spawned: " in line:
                n += 1
    return n


class LogMeter:
    """Bytes written to a rotating log: its size, plus each size it had before it rotated
    (sampled often enough that one sample never misses a whole 64 MB file)."""

    def __init__(self, path):
        self.path = path
        self.done = 0
        self.last = 0

    def total(self):
        try:
            size = os.path.getsize(self.path)
        except FileNotFoundError:
            size = 0
        if size < self.last:
            self.done += self.last
        self.last = size
        return self.done + size


class Poller(threading.Thread):
    """getAllProcessInfo ten times a second until stopped."""

    def __init__(self, url):
        super().__init__(daemon=True)
        self.url = url
        self.calls = 0
        self.errors = 0
        self.stop = threading.Event()

    def run(self):
        proxy = xmlrpc.client.ServerProxy(self.url)
        while not self.stop.wait(0.1):
            try:
                proxy.supervisor.getAllProcessInfo()
                self.calls += 1
            except Exception:  # noqa: BLE001 - counted, the soak goes on
                self.errors += 1
                proxy = xmlrpc.client.ServerProxy(self.url)
        proxy("close")()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--steward", default=os.path.join(ROOT, "target/release/steward"))
    ap.add_argument("--seconds", type=float, default=600)
    ap.add_argument("--warmup", type=float, default=60)
    ap.add_argument("--flappers", type=int, default=24)
    ap.add_argument("--log-mbps", type=float, default=100)
    ap.add_argument("--interval", type=float, default=5)
    ap.add_argument("--json", help="also write the figures to this file")
    args = ap.parse_args()

    tmp = tempfile.mkdtemp(prefix="steward-soak-")
    port = free_port()
    conf = write_config(tmp, port, args.flappers, args.log_mbps)
    daemon = subprocess.Popen(
        [args.steward, "daemon", "-n", "-c", conf],
        stdout=subprocess.DEVNULL,
        stderr=open(os.path.join(tmp, "stderr.txt"), "wb"),
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}/RPC2"
    poller = Poller(url)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                xmlrpc.client.ServerProxy(url).supervisor.getState()
                break
            except (OSError, xmlrpc.client.Error):
                if daemon.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit("soak: the daemon did not start (see stderr.txt in " + tmp + ")")
                time.sleep(0.1)
        # Descriptors of the idle daemon (nothing running), before and after the soak: the
        # count while running moves with the children in flight (3 pipes each).
        # One start/stop cycle first, so what opens on first use (log files) counts in both.
        rpc = xmlrpc.client.ServerProxy(url)
        rpc.supervisor.startAllProcesses(False)
        time.sleep(3)
        stop_all(rpc)
        rpc("close")()
        fds_idle_before = settled_fds(daemon.pid)
        links_before = fd_links(daemon.pid)
        rpc.supervisor.startAllProcesses(False)
        poller.start()
        start = time.monotonic()
        samples = []  # (t, rss KiB, fds, spawns, log bytes)
        meter = LogMeter(os.path.join(tmp, "chatty.log"))
        next_at = start
        while True:
            now = time.monotonic()
            if now >= next_at:
                t = now - start
                samples.append(
                    (t, proc_rss_kib(daemon.pid), proc_fds(daemon.pid),
                     count_spawns(os.path.join(tmp, "steward.log")), meter.total())
                )
                print(f"  t={t:6.0f}s rss={samples[-1][1] / 1024:7.2f} MiB fds={samples[-1][2]}",
                      flush=True)
                next_at += args.interval
            if now - start >= args.seconds:
                break
            if daemon.poll() is not None:
                raise SystemExit("soak: the daemon exited early")
            meter.total()
            time.sleep(min(0.2, max(0.0, next_at - time.monotonic())))
        poller.stop.set()
        poller.join()
        stop_all(rpc)
        rpc("close")()
        fds_idle_after = settled_fds(daemon.pid)
        links_after = fd_links(daemon.pid)
    finally:
        poller.stop.set()
        try:
            os.killpg(daemon.pid, signal.SIGTERM)
            daemon.wait(timeout=30)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            os.killpg(daemon.pid, signal.SIGKILL)
            daemon.wait()

    warm = [s for s in samples if s[0] >= args.warmup]
    if len(warm) < 2:
        raise SystemExit("soak: too short for a warm-up and two samples")
    first, last = warm[0], warm[-1]
    span = last[0] - first[0]
    rss = [s[1] for s in warm]
    fds = [s[2] for s in warm]
    figures = {
        "seconds": round(samples[-1][0]),
        "warmup_seconds": args.warmup,
        "flapping_programs": args.flappers,
        "restarts_per_second": round((last[3] - first[3]) / span, 1),
        "restarts_total": samples[-1][3],
        "log_mb_per_second_target": args.log_mbps,
        "rpc_calls": poller.calls,
        "rpc_errors": poller.errors,
        "rss_mib_after_warmup_first": round(first[1] / 1024, 2),
        "rss_mib_after_warmup_min": round(min(rss) / 1024, 2),
        "rss_mib_after_warmup_max": round(max(rss) / 1024, 2),
        "rss_mib_after_warmup_last": round(last[1] / 1024, 2),
        "fds_running_min": min(fds),
        "fds_running_max": max(fds),
        "fds_idle_before": fds_idle_before,
        "fds_idle_after": fds_idle_after,
        "log_mb_per_second": round((last[4] - first[4]) / span / 1e6, 1),
    }
    rss_ok = (max(rss) - min(rss)) <= 2048 and abs(last[1] - first[1]) <= 1024
    fd_ok = fds_idle_after <= fds_idle_before
    # Informational: a reopened (rotated) log may change number but not the count.
    changed = {fd: t for fd, t in links_after.items() if links_before.get(fd) != t}
    if changed:
        figures["fds_changed_after_soak"] = changed
    figures["result"] = "PASS" if rss_ok and fd_ok and poller.errors == 0 else "FAIL"
    print(json.dumps(figures, indent=2))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(figures, f, indent=2)
    shutil.rmtree(tmp, ignore_errors=True)
    sys.exit(0 if figures["result"] == "PASS" else 1)


if __name__ == "__main__":
    main()
