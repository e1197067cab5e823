#!/usr/bin/env bash
# steward top: first-frame time and idle cost with N processes (default 1000).
#
#   bench/top.sh                 release build, N=1000, 5 first-frame runs, a 30 s idle window
#   bench/top.sh --smoke         N=20, 1 run, a 5 s window: checks the bench works, asserts nothing
#   STEWARD_BIN=path bench/top.sh   use this binary (e.g. target/debug/steward: no build)
#   N=200 RUNS=3 IDLE=20 bench/top.sh
#
# A Steward daemon runs N `sleep` programs; `steward top` runs inside tmux (a real terminal)
# against the daemon's unix socket with STEWARD_TOP_TRACE, which logs every draw as
# "unix_ms rows". First frame = the first draw that shows the N processes, minus the
# moment the pane's shell started `steward top` (so the binary's start is included).
# Idle = CPU time of the `steward top` process over the window (from /proc) and the number
# of draws in it, once every process has been up for more than a minute (an uptime under
# a minute changes its text every second, which is a change worth drawing).
# Prints one JSON object and writes it to bench/results/top-<date>.json.
set -euo pipefail

BENCH="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(dirname "$BENCH")"
N="${N:-1000}"; RUNS="${RUNS:-5}"; IDLE="${IDLE:-30}"; SMOKE=0
for a in "$@"; do
  case "$a" in
    --smoke) SMOKE=1; N=20; RUNS=1; IDLE=5 ;;
    -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
    *) echo "bench/top.sh: unknown argument $a" >&2; exit 2 ;;
  esac
done
command -v tmux >/dev/null || { echo "bench/top.sh: needs tmux (apt-get install tmux)" >&2; exit 1; }
if [ -n "${STEWARD_BIN:-}" ]; then
  STEWARD="$STEWARD_BIN"
else
  (cd "$ROOT" && cargo build --release --quiet -p steward)
  STEWARD="${CARGO_TARGET_DIR:-$ROOT/target}/release/steward"
fi

DIR="$(mktemp -d /tmp/stw-top-bench.XXXXXX)"
DAEMON_PID=""
cleanup() {
  tmux -S "$DIR/tmux.sock" kill-server 2>/dev/null || true
  [ -n "$DAEMON_PID" ] && kill -TERM "$DAEMON_PID" 2>/dev/null && wait "$DAEMON_PID" 2>/dev/null || true
  rm -rf "$DIR"
}
trap cleanup EXIT

cat > "$DIR/bench.conf" <<EOF
[unix_http_server]
file=$DIR/s.sock
[supervisord]
logfile=$DIR/supervisord.log
pidfile=$DIR/supervisord.pid
childlogdir=$DIR
minfds=4096
[rpcinterface:supervisor]
supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface
[supervisorctl]
serverurl=unix://$DIR/s.sock
[program:p]
command=sleep 1000000
numprocs=$N
process_name=%(program_name)s_%(process_num)04d
stdout_logfile=NONE
stderr_logfile=NONE
EOF

"$STEWARD" daemon -n -c "$DIR/bench.conf" >"$DIR/daemon.out" 2>&1 &
DAEMON_PID=$!
STARTED=$(date +%s)
running() {
  curl -s --unix-socket "$DIR/s.sock" http://localhost/api/v1/processes 2>/dev/null |
    grep -o '"state":"RUNNING"' | wc -l
}
for _ in $(seq 1 600); do
  [ "$(running)" -ge "$N" ] && break
  sleep 0.2
done
[ "$(running)" -ge "$N" ] || { echo "bench/top.sh: the daemon did not start $N processes" >&2; exit 1; }

# One `steward top` in a fresh tmux window; the script notes when it starts the binary.
launch() {
  local k=$1
  cat > "$DIR/top$k.sh" <<EOF
date +%s%3N > '$DIR/launch$k'
STEWARD_TOP_TRACE='$DIR/trace$k' exec '$STEWARD' top -c '$DIR/bench.conf'
EOF
  tmux -S "$DIR/tmux.sock" new-session -d -s "t$k" -x 120 -y 40 sh "$DIR/top$k.sh"
}
stop_top() { tmux -S "$DIR/tmux.sock" kill-session -t "t$1" 2>/dev/null || true; }
first_frame_ms() {
  local k=$1
  for _ in $(seq 1 100); do
    if [ -f "$DIR/trace$k" ] && awk -v n="$N" '$2 >= n {found=1} END {exit !found}' "$DIR/trace$k"; then
      awk -v n="$N" -v t0="$(cat "$DIR/launch$k")" '$2 >= n {print $1 - t0; exit}' "$DIR/trace$k"
      return
    fi
    sleep 0.1
  done
  echo "bench/top.sh: no frame with $N rows" >&2
  exit 1
}

FIRST=()
for k in $(seq 1 "$RUNS"); do
  launch "$k"
  FIRST+=("$(first_frame_ms "$k")")
  stop_top "$k"
done
MEDIAN=$(printf '%s\n' "${FIRST[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')

# Idle: every uptime over a minute first (skipped by --smoke, which asserts nothing).
if [ "$SMOKE" = 0 ]; then
  while [ $(( $(date +%s) - STARTED )) -lt 65 ]; do sleep 1; done
fi
launch idle
first_frame_ms idle >/dev/null
sleep 3
PANE_PID=$(tmux -S "$DIR/tmux.sock" display-message -p -t tidle '#{pane_pid}')
ticks() { awk '{print $14 + $15}' "/proc/$PANE_PID/stat"; }
HZ=$(getconf CLK_TCK)
DRAWS_BEFORE=$(wc -l < "$DIR/traceidle")
T0=$(ticks); W0=$(date +%s%N)
sleep "$IDLE"
T1=$(ticks); W1=$(date +%s%N)
DRAWS_AFTER=$(wc -l < "$DIR/traceidle")
stop_top idle
CPU=$(awk -v t="$((T1 - T0))" -v hz="$HZ" -v ns="$((W1 - W0))" 'BEGIN {printf "%.2f", 100 * t / hz / (ns / 1e9)}')
DRAWS=$((DRAWS_AFTER - DRAWS_BEFORE))

JSON=$(printf '{"bench":"top","processes":%s,"binary":"%s","first_frame_ms":[%s],"first_frame_median_ms":%s,"idle_window_s":%s,"idle_cpu_percent_of_one_core":%s,"idle_draws":%s}' \
  "$N" "$STEWARD" "$(IFS=,; echo "${FIRST[*]}")" "$MEDIAN" "$IDLE" "$CPU" "$DRAWS")
echo "$JSON"
if [ "$SMOKE" = 0 ]; then
  mkdir -p "$BENCH/results"
  echo "$JSON" > "$BENCH/results/top-$(date -u +%Y%m%dT%H%M%SZ).json"
fi
