#!/usr/bin/env bash
# Regenerates crates/cli/text-order.txt, the order of the steward binary's code (see
# crates/cli/build.rs; bench/analysis.md, "Resident code"). Run it as root on x86_64 Linux
# after changes that move much code; it takes two normal release builds and one
# instrumented build (a separate target dir, WORK/cov-target).
#
#   bash bench/text_order/regenerate.sh [WORK]        (WORK defaults to /tmp/steward-text-order)
#
# 1. a release build without the order file → WORK/base
# 2. a release build with function-level SanitizerCoverage counters → WORK/cov
# 3. the workload (workload.sh) on each: page recording of base, counter recording of cov
# 4. compose: functions that ran (or that have no counter and sat on a touched page)
# 5. a release build with that order, a page recording of it, and the functions of the few
#    pages that still fell outside the ordered start moved into it (extend)
# 6. the final release build; resident code before and after is printed
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
HERE="$ROOT/bench/text_order"
W="${1:-/tmp/steward-text-order}"
ORDER="$ROOT/crates/cli/text-order.txt"
mkdir -p "$W"
cd "$ROOT"
say() { printf '==> %s\n' "$*" >&2; }

say "1. release build without the order file"
STEWARD_NO_TEXT_ORDER=1 cargo build --release -p steward --quiet
cp target/release/steward "$W/base"

say "2. instrumented release build (SanitizerCoverage, function level)"
cat > "$W/sancov_stub.c" <<'EOF'
/* The instrumented build's module constructors call these; the counters are read from
   the process's memory instead (text_order.py coverage). */
void __sanitizer_cov_8bit_counters_init(char *start, char *end) { (void)start; (void)end; }
void __sanitizer_cov_pcs_init(const unsigned long *b, const unsigned long *e) { (void)b; (void)e; }
EOF
cc -O2 -fPIC -c "$W/sancov_stub.c" -o "$W/sancov_stub.o"
CARGO_TARGET_DIR="$W/cov-target" STEWARD_NO_TEXT_ORDER=1 RUSTFLAGS="-Cpasses=sancov-module \
  -Cllvm-args=-sanitizer-coverage-level=1 -Cllvm-args=-sanitizer-coverage-inline-8bit-counters \
  -Cllvm-args=-sanitizer-coverage-pc-table -Clink-arg=$W/sancov_stub.o" \
  cargo build --release -p steward --quiet
cp "$W/cov-target/release/steward" "$W/cov"

say "3. the workload: pages of the plain build, counters of the instrumented one"
bash "$HERE/workload.sh" "$W/base" "$W/pages" pages
bash "$HERE/workload.sh" "$W/cov" "$W/coverage" coverage

say "4. compose"
python3 "$HERE/text_order.py" compose "$W/base" "$W/coverage" "$W/pages" > "$W/order1.txt" 2> "$W/compose.log"
cat "$W/compose.log" >&2
NA="$(sed -n 's/^NA=//p' "$W/compose.log")"
cp "$W/order1.txt" "$ORDER"

say "5. build with it, record it, move stray pages' functions into phase A"
cargo build --release -p steward --quiet
cp target/release/steward "$W/ordered"
bash "$HERE/workload.sh" "$W/ordered" "$W/ordered-pages" pages
python3 "$HERE/text_order.py" extend "$W/order1.txt" "$NA" "$W/ordered-pages/a.txt" > "$W/order2.txt" 2> "$W/extend.log"
cat "$W/extend.log" >&2
cp "$W/order2.txt" "$ORDER"

say "6. final build"
cargo build --release -p steward --quiet
echo "phase A before: $(wc -l < "$W/pages/a.txt") functions on touched pages; now $(wc -l < "$ORDER") names in $ORDER" >&2
