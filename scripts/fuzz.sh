#!/usr/bin/env bash
# Runs Steward's libFuzzer targets (fuzz/, cargo-fuzz on the nightly toolchain).
#
#   bash scripts/fuzz.sh                 every target for a short time (FUZZ_SECONDS, 20 s)
#   bash scripts/fuzz.sh --long          every target to 10 million executions (FUZZ_RUNS)
#   bash scripts/fuzz.sh [--long] T...   only the named targets (fuzz/fuzz_targets/T.rs)
#   bash scripts/fuzz.sh --list          the target names
#
# FUZZ_SANITIZER=none builds the targets without AddressSanitizer (in fuzz/target-none/),
# 2-3 times faster; the default is cargo fuzz's `address`.
#
# Every run: -timeout=1 (an input taking more than 1 s is a hang), -rss_limit_mb=512 (more
# is an out-of-memory), the working corpus in fuzz/corpus/T (not committed) grown from the
# committed seeds in fuzz/seeds/T. A crash, hang or OOM stops the target, leaves the input
# in fuzz/artifacts/T/ and makes the script exit non-zero. The closing table gives each
# target's executions, seconds and result (docs/fuzzing.md).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT/fuzz"

LONG=0
TARGETS=()
while [ $# -gt 0 ]; do
  case "$1" in
    --long) LONG=1 ;;
    --list) ls fuzz_targets | sed 's/\.rs$//'; exit 0 ;;
    -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
    -*) echo "fuzz.sh: unknown option '$1' (try --help)" >&2; exit 2 ;;
    *) TARGETS+=("$1") ;;
  esac
  shift
done
if [ ${#TARGETS[@]} -eq 0 ]; then
  mapfile -t TARGETS < <(ls fuzz_targets | sed 's/\.rs$//')
fi

if ! rustup toolchain list 2>/dev/null | grep -q '^nightly'; then
  echo "fuzz.sh: the nightly toolchain is required (rustup toolchain install nightly)" >&2
  exit 1
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "==> cargo install cargo-fuzz"
  cargo install --locked cargo-fuzz
fi

# One build of every target (release with debug assertions and overflow checks: cargo
# fuzz's default), then one target at a time, so a shared machine keeps its other cores.
# ASan keeps freed memory in a quarantine (256 MiB by default) to catch use after free;
# with a grown corpus that alone pushed config_load past -rss_limit_mb=512 while loading
# (an "out-of-memory" that was ASan's, not the parser's: the input took 65 MiB alone).
# 64 MiB still catches a use soon after the free, and keeps the limit about the code.
export ASAN_OPTIONS="${ASAN_OPTIONS:-quarantine_size_mb=64}"
SANITIZER=(-s "${FUZZ_SANITIZER:-address}")
if [ "${FUZZ_SANITIZER:-address}" != address ]; then
  SANITIZER+=(--target-dir "target-${FUZZ_SANITIZER}")
fi
echo "==> cargo +nightly fuzz build ${SANITIZER[*]}"
cargo +nightly fuzz build "${SANITIZER[@]}"

if [ "$LONG" = 1 ]; then
  LIMIT=(-runs="${FUZZ_RUNS:-10000000}")
else
  LIMIT=(-max_total_time="${FUZZ_SECONDS:-20}")
fi

SUMMARY=()
FAILED=0
for t in "${TARGETS[@]}"; do
  [ -f "fuzz_targets/$t.rs" ] || { echo "fuzz.sh: no target '$t' (try --list)" >&2; exit 2; }
  mkdir -p "corpus/$t" "artifacts/$t"
  log="$(mktemp)"
  echo "==> $t (${LIMIT[*]})"
  set +e
  cargo +nightly fuzz run "${SANITIZER[@]}" "$t" "corpus/$t" "seeds/$t" -- \
    "${LIMIT[@]}" -timeout=1 -rss_limit_mb=512 -max_len=65536 \
    -print_final_stats=1 -artifact_prefix="artifacts/$t/" 2>&1 | tee "$log" | grep -E '^(#[0-9]+\s+(INITED|DONE|pulse))|ERROR|SUMMARY|Done [0-9]+ runs'
  # The fuzzer's status, read right after the pipeline: a `|| true` on it would run whenever
  # the pipeline failed (pipefail) and replace PIPESTATUS with its own 0.
  rc=${PIPESTATUS[0]}
  set -e
  runs="$(sed -nE 's/^stat::number_of_executed_units: *([0-9]+).*/\1/p' "$log" | tail -1)"
  secs="$(sed -nE 's/^Done [0-9]+ runs in ([0-9]+) second.*/\1/p' "$log" | tail -1)"
  rss="$(sed -nE 's/^stat::peak_rss_mb: *([0-9]+).*/\1/p' "$log" | tail -1)"
  if [ "$rc" = 0 ]; then
    result="ok"
  else
    result="FAILED (exit $rc; see fuzz/artifacts/$t/)"
    FAILED=1
    grep -E 'ERROR: libFuzzer|panicked at|SUMMARY' "$log" | head -5 >&2 || true
  fi
  SUMMARY+=("$(printf '%-18s %12s runs %6ss  peak %4s MiB  %s' "$t" "${runs:-?}" "${secs:-?}" "${rss:-?}" "$result")")
  rm -f "$log"
done

echo
echo "fuzz summary (-timeout=1 -rss_limit_mb=512):"
printf '  %s\n' "${SUMMARY[@]}"
exit "$FAILED"
