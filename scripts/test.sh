#!/usr/bin/env bash
# The one command that runs every test of Steward on a fresh machine.
#
#   bash scripts/test.sh            fmt check, clippy, the whole test suite, the bench smoke,
#                                   and the Debian package test (as root: the package is built
#                                   from the bench's release binary, installed with dpkg -i,
#                                   checked and purged; scripts/package-test.sh)
#   bash scripts/test.sh --quick    the test suite only (skips fmt and clippy)
#   bash scripts/test.sh --reference  the black-box daemon tests (tests/daemon_*.rs) against
#                                   the real supervisord 4.3, to validate the tests themselves
#                                   (STEWARD_TEST_TARGET=supervisord; implies --quick)
#   bash scripts/test.sh --no-package  skip the Debian package test
#   bash scripts/test.sh [--quick] -- ARGS   extra ARGS go to the test runner
#                                   (e.g. `-- daemon_` to run only matching tests)
#
# It installs what it needs when missing: Debian packages (apt-get update runs
# at most once, and only when something is missing) and a Python venv at
# <repo>/.venv with supervisor==4.3.0, superlance and schemathesis (reused when already right).
# The tests find the venv through STEWARD_TEST_VENV. Exits non-zero on any failure.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

QUICK=0
REFERENCE=0
PACKAGE=1
RUNNER_ARGS=()
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) QUICK=1 ;;
    --reference) QUICK=1; REFERENCE=1; export STEWARD_TEST_TARGET=supervisord ;;
    --package) PACKAGE=1 ;;
    --no-package) PACKAGE=0 ;;
    -h|--help) sed -n '2,18p' "$0"; exit 0 ;;
    --) shift; RUNNER_ARGS=("$@"); break ;;
    *) echo "test.sh: unknown argument '$1' (try --help)" >&2; exit 2 ;;
  esac
  shift
done

step() { printf '\n==> %s\n' "$*"; }

# ---------------------------------------------------------------- system packages
APT_UPDATED=0
apt_install() {
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "test.sh: missing $*, and apt-get is not available to install it" >&2
    exit 1
  fi
  local sudo=""
  if [ "$(id -u)" != 0 ]; then sudo="sudo"; fi
  if [ "$APT_UPDATED" = 0 ]; then
    step "apt-get update"
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    APT_UPDATED=1
  fi
  step "apt-get install $*"
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" </dev/null
}

MISSING=()
command -v python3 >/dev/null 2>&1 || MISSING+=(python3 python3-venv)
command -v cc >/dev/null 2>&1 || MISSING+=(gcc libc6-dev)
command -v ps >/dev/null 2>&1 || MISSING+=(procps)
# Debian's logrotate checks the files `steward sync` writes (crates/cli/tests/ops_sync.rs).
command -v logrotate >/dev/null 2>&1 || [ -x /usr/sbin/logrotate ] || MISSING+=(logrotate)
command -v curl >/dev/null 2>&1 || MISSING+=(curl)
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || MISSING+=(nginx)
command -v openssl >/dev/null 2>&1 || MISSING+=(openssl)
# A terminal emulator that `steward top` runs in (crates/cli/tests/top_tmux.rs).
command -v tmux >/dev/null 2>&1 || MISSING+=(tmux)
# Headless Chromium for the tests of web pages (the status page).
[ -x /usr/bin/chromium ] || MISSING+=(chromium)
# Node and npm run Playwright (playwright-core) and axe-core against the dashboard
# (crates/cli/tests/dashboard_browser.rs); nothing at build time needs them.
command -v node >/dev/null 2>&1 || MISSING+=(nodejs)
command -v npm >/dev/null 2>&1 || MISSING+=(npm)
# The lock service of cron jobs across a cluster (crates/cluster, cluster_cron tests).
command -v redis-server >/dev/null 2>&1 || MISSING+=(redis-server)
# Throwaway certificates for the rediss:// (TLS) lock tests.
command -v openssl >/dev/null 2>&1 || MISSING+=(openssl)
# A terminal emulator that `steward top` runs in (crates/cli/tests/top_tmux.rs).
command -v tmux >/dev/null 2>&1 || MISSING+=(tmux)
# flock(1): the fenced store of the cluster lease test.
command -v flock >/dev/null 2>&1 || MISSING+=(util-linux)
# Debian's cron (crontab and cron -f) for `steward crontab` (crates/cli/tests/crontab.rs).
command -v crontab >/dev/null 2>&1 || MISSING+=(cron)
# systemd-analyze verify for the unit of `steward service install` (tests/service.rs).
command -v systemd-analyze >/dev/null 2>&1 || MISSING+=(systemd)
if [ ${#MISSING[@]} -gt 0 ]; then apt_install "${MISSING[@]}"; fi
if ! python3 -c 'import venv, ensurepip' >/dev/null 2>&1; then
  PYV="$(python3 -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
  apt_install "python${PYV}-venv" || apt_install python3-venv
fi

for tool in cargo rustc; do
  command -v "$tool" >/dev/null 2>&1 || { echo "test.sh: $tool not found (the Rust toolchain is required)" >&2; exit 1; }
done

# ---------------------------------------------------------------- python venv
VENV="$ROOT/.venv"
venv_ok() {
  [ -x "$VENV/bin/python" ] && [ -x "$VENV/bin/supervisord" ] && [ -x "$VENV/bin/supervisorctl" ] &&
    "$VENV/bin/python" - <<'PY' >/dev/null 2>&1
from importlib.metadata import version
import supervisor, superlance, schemathesis  # noqa: F401
assert version("supervisor") == "4.3.0", version("supervisor")
PY
}
if venv_ok; then
  echo "venv: reusing $VENV (supervisor 4.3.0, superlance, schemathesis)"
else
  step "creating the venv $VENV (supervisor==4.3.0, superlance, schemathesis)"
  rm -rf "$VENV"
  python3 -m venv "$VENV"
  ok=0
  for attempt in 1 2 3; do
    if "$VENV/bin/pip" install --disable-pip-version-check -q "supervisor==4.3.0" superlance "schemathesis>=4,<5"; then ok=1; break; fi
    echo "pip install failed (attempt $attempt), retrying" >&2
    sleep $((attempt * 5))
  done
  [ "$ok" = 1 ] && venv_ok || { echo "test.sh: could not set up $VENV" >&2; exit 1; }
fi
export STEWARD_TEST_VENV="$VENV"

# ---------------------------------------------------------------- browser test drivers
# playwright-core and axe-core at the versions of package-lock.json (no browser download:
# the tests use Debian's chromium).
BROWSER_DIR="$ROOT/crates/cli/tests/browser"
if [ ! -d "$BROWSER_DIR/node_modules/playwright-core" ] || [ ! -d "$BROWSER_DIR/node_modules/axe-core" ] ||
   [ "$BROWSER_DIR/package-lock.json" -nt "$BROWSER_DIR/node_modules/.package-lock.json" ]; then
  step "npm ci (crates/cli/tests/browser)"
  (cd "$BROWSER_DIR" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund)
fi

# ---------------------------------------------------------------- checks
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
# fmt and clippy failures are reported at the end: the tests still run, so one run shows all.
CHECKS_FAILED=()
if [ "$QUICK" = 0 ]; then
  step "cargo fmt --all -- --check"
  cargo fmt --all -- --check || CHECKS_FAILED+=("cargo fmt --check")
  step "cargo clippy --workspace --all-targets -- -D warnings"
  cargo clippy --workspace --all-targets -- -D warnings || CHECKS_FAILED+=("cargo clippy")
fi

# ---------------------------------------------------------------- tests
# Daemon tests mostly wait on real processes, so run more of them than there are cores.
THREADS="${STEWARD_TEST_THREADS:-$(( $(nproc) * 3 ))}"
# A hard bound on the whole run, so that a hung test cannot eat CI's time.
TEST_TIMEOUT="${STEWARD_TEST_TIMEOUT:-1500}"
RUNLOG="$(mktemp)"
trap 'rm -f "$RUNLOG"' EXIT
if cargo nextest --version >/dev/null 2>&1; then
  if [ "$REFERENCE" = 0 ]; then
    step "cargo test --workspace --doc"
    # Doctests first (nextest does not run them), so that nextest's summary comes last.
    if cargo test --workspace --doc >"$RUNLOG" 2>&1; then
      grep -E '^test result:' "$RUNLOG" | grep -v ' 0 passed; 0 failed; 0 ignored' || echo "(no doctests)"
    else
      cat "$RUNLOG"; echo "test.sh: doctests failed" >&2; exit 1
    fi
  fi
  step "cargo nextest run --workspace (test threads: $THREADS)"
  set +e
  SELECT=()
  [ "$REFERENCE" = 1 ] && SELECT=(-E 'binary(/^daemon_/)')
  timeout "$TEST_TIMEOUT" cargo nextest run --workspace "${SELECT[@]}" --no-fail-fast --test-threads "$THREADS" \
    --failure-output immediate --final-status-level fail "${RUNNER_ARGS[@]}" 2>&1 | tee "$RUNLOG"
  rc=${PIPESTATUS[0]}
  set -e
  summary="$(grep -E '^ *Summary \[' "$RUNLOG" | tail -1 || true)"
else
  step "cargo test --workspace (test threads: $THREADS)"
  set +e
  SELECT=(--workspace)
  [ "$REFERENCE" = 1 ] && SELECT=(-p steward --test 'daemon_*')
  timeout "$TEST_TIMEOUT" cargo test "${SELECT[@]}" --no-fail-fast -- --test-threads "$THREADS" "${RUNNER_ARGS[@]}" 2>&1 | tee "$RUNLOG"
  rc=${PIPESTATUS[0]}
  set -e
  summary=""
fi
[ "$rc" = 124 ] && echo "test.sh: the test run was stopped after ${TEST_TIMEOUT}s" >&2
# The benchmark suite must keep working end to end (it asserts nothing about speed here).
if [ "$QUICK" = 0 ] && [ "$REFERENCE" = 0 ]; then
  step "bench smoke: bench/run --smoke"
  timeout 900 bash bench/smoke_test.sh || CHECKS_FAILED+=("bench smoke (bench/run --smoke)")
fi
# Every fuzz target for a short time (6 x 20 s of libFuzzer; docs/fuzzing.md). cargo-fuzz
# is installed by scripts/fuzz.sh when missing; the nightly toolchain is required.
if [ "$QUICK" = 0 ] && [ "$REFERENCE" = 0 ]; then
  step "fuzz smoke: scripts/fuzz.sh (each target ${FUZZ_SECONDS:-20} s)"
  FUZZ_SECONDS="${FUZZ_SECONDS:-20}" timeout 1800 bash scripts/fuzz.sh || CHECKS_FAILED+=("fuzz smoke (scripts/fuzz.sh)")
fi
# The Debian package: built from the release binary the bench smoke just built, installed
# with dpkg -i, checked, purged (docs/service.md). dpkg -i needs root.
if [ "$PACKAGE" = 1 ] && [ "$QUICK" = 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v dpkg >/dev/null 2>&1; then
    step "package test: scripts/package-test.sh --no-build"
    bash scripts/package-test.sh --no-build || CHECKS_FAILED+=("package test (scripts/package-test.sh)")
  else
    echo "test.sh: package test skipped (needs root and dpkg)" >&2
  fi
fi
# The closing line, counted over the whole run: "steward: N passed, N failed, N skipped".
if [ -n "$summary" ]; then
  passed="$(sed -nE 's/.* ([0-9]+) passed.*/\1/p' <<<"$summary")"
  failed="$(sed -nE 's/.* ([0-9]+) failed.*/\1/p' <<<"$summary")"
  timedout="$(sed -nE 's/.* ([0-9]+) timed out.*/\1/p' <<<"$summary")"
  skipped="$(sed -nE 's/.* ([0-9]+) skipped.*/\1/p' <<<"$summary")"
else
  passed="$(grep -E '^test result:' "$RUNLOG" | sed -nE 's/.* ([0-9]+) passed.*/\1/p' | awk '{s+=$1} END {print s+0}' || true)"
  failed="$(grep -E '^test result:' "$RUNLOG" | sed -nE 's/.* ([0-9]+) failed.*/\1/p' | awk '{s+=$1} END {print s+0}' || true)"
  skipped="$(grep -E '^test result:' "$RUNLOG" | sed -nE 's/.* ([0-9]+) ignored.*/\1/p' | awk '{s+=$1} END {print s+0}' || true)"
fi
failed=$(( ${failed:-0} + ${timedout:-0} ))
if [ "$rc" != 0 ] && [ "$failed" = 0 ]; then failed=1; fi  # build failure or timeout: never report green
for c in "${CHECKS_FAILED[@]}"; do echo "test.sh: $c failed (see above)" >&2; done
echo
echo "steward: ${passed:-0} passed, ${failed} failed, ${skipped:-0} skipped"
if [ "$rc" = 0 ] && [ ${#CHECKS_FAILED[@]} -gt 0 ]; then rc=1; fi
exit "$rc"
