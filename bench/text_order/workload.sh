#!/usr/bin/env bash
# The workload whose code bench/text_order lays out first, in two phases, each ending in a
# recording of what BIN's daemon has executed so far:
#   A  start 1,000 programs, `supervisorctl status` and `pid`, getAllProcessInfo, getState
#      and getPID over XML-RPC, then idle: what bench/run's idle and spawn scenarios and a
#      monitoring script do                                         -> OUT/a.txt
#   B  restart, stop, start, tail, clear, signal, avail, maintail, reread, update, reload
#      adding an [inet_http_server], then every API route and dashboard page once, an
#      action, the event stream and a followed log                 -> OUT/ab.txt (A and B)
#
#   bench/text_order/workload.sh BIN OUT pages      page recording (text_order.py resident)
#   bench/text_order/workload.sh BIN OUT coverage   counter recording (text_order.py coverage;
#                                                   BIN built with SanitizerCoverage)
# With `pages`, BIN is first evicted from the page cache and the block device's readahead is
# set to 0 until the end, so a present page is one the daemon touched (needs root; the old
# readahead is restored on exit). Needs the venv's supervisorctl (STEWARD_TEST_VENV or
# <repo>/.venv) and curl.
set -euo pipefail
BIN="$(realpath "$1")"; OUT="$2"; MODE="$3"; N="${N:-1000}"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(dirname "$(dirname "$HERE")")"
VENV="${STEWARD_TEST_VENV:-$ROOT/.venv}"
CTL=("$VENV/bin/supervisorctl")
mkdir -p "$OUT"
D="$(mktemp -d)"; mkdir -p "$D/childlogs"
PORT="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
# The bench's own config (bench.py): the idle and spawn scenarios' 1,000 sleepers.
python3 -c 'import sys; sys.path.insert(0, sys.argv[1]); import bench
print(bench.base_config(sys.argv[2]) + bench.sleepers(int(sys.argv[3])))' "$ROOT/bench" "$D" "$N" > "$D/s.conf"
ctl() { "${CTL[@]}" -c "$D/s.conf" "$@" > /dev/null || true; }

KNOB=""
if [ "$MODE" = pages ]; then
  dev="$(findmnt -no SOURCE --target "$BIN")"
  KNOB="/sys/block/$(basename "$dev")/queue/read_ahead_kb"
  OLD_RA="$(cat "$KNOB")"
  sync
  python3 -c 'import os, sys; fd = os.open(sys.argv[1], os.O_RDONLY); os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)' "$BIN"
  echo 0 > "$KNOB"
fi
PID=""
cleanup() {
  [ -n "$KNOB" ] && echo "$OLD_RA" > "$KNOB"
  [ -n "$PID" ] && kill -TERM "$PID" 2>/dev/null && wait "$PID" 2>/dev/null
  rm -rf "$D"
}
trap cleanup EXIT

record() {
  case "$MODE" in
    pages) python3 "$HERE/text_order.py" resident "$PID" "$BIN" > "$OUT/$1" ;;
    coverage) python3 "$HERE/text_order.py" coverage "$PID" "$BIN" "$OUT/$1" ;;
  esac
}

"$BIN" daemon -n -c "$D/s.conf" > "$D/out" 2>&1 &
PID=$!
for _ in $(seq 1 600); do
  c="$(grep -c "entered RUNNING" "$D/daemon.log" 2>/dev/null || true)"
  [ "${c:-0}" -ge "$N" ] && break
  sleep 0.1
done
# ---- phase A
ctl status; ctl pid
python3 - "$D/supervisor.sock" <<'PY'
import http.client, socket, sys, time, xmlrpc.client
class Unix(xmlrpc.client.Transport):
    def make_connection(self, host):
        c = http.client.HTTPConnection("localhost")
        c.sock = socket.socket(socket.AF_UNIX)
        c.sock.connect(sys.argv[1])
        return c
s = xmlrpc.client.ServerProxy("http://localhost", transport=Unix())
for _ in range(3):
    s.supervisor.getAllProcessInfo()
    time.sleep(0.05)
s.supervisor.getState()
s.supervisor.getPID()
PY
sleep 3
record a.txt
# ---- phase B
ctl restart p0001; ctl stop p0002; ctl start p0002
ctl tail p0001; ctl tail p0001 stderr; ctl clear p0003
ctl signal HUP p0004; ctl avail; ctl maintail
ctl stop p0005 p0006; ctl start p0005 p0006
printf '[inet_http_server]\nport=127.0.0.1:%s\n[program:extra]\ncommand=/bin/sleep 1000000\nstartsecs=0\n' "$PORT" >> "$D/s.conf"
ctl reread; ctl update; ctl reload
for _ in $(seq 1 300); do curl -fs "http://127.0.0.1:$PORT/healthz" > /dev/null && break; sleep 0.1; done
for p in / /index.html /api/v1/processes /api/v1/processes/p0001 "/api/v1/processes/p0001/log?lines=10" \
  /api/v1/cron /api/v1/commands /metrics /healthz "/process?name=p0001" /cron /commands /reload /audit \
  /api/v1/openapi.json "/partial/row?name=p0001"; do
  curl -s "http://127.0.0.1:$PORT$p" -o /dev/null || true
done
curl -s -X POST -H 'Accept: application/json' "http://127.0.0.1:$PORT/api/v1/processes/p0007/restart" -o /dev/null || true
timeout 2 curl -s -N "http://127.0.0.1:$PORT/api/v1/events" -o /dev/null || true
timeout 2 curl -s -N "http://127.0.0.1:$PORT/api/v1/processes/p0001/log/follow" -o /dev/null || true
ctl status
record ab.txt
