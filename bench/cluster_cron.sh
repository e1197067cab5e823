#!/usr/bin/env bash
# Issue 18's full bar: three Steward daemons with clocks -2 s / 0 / +2 s share one
# redis-server; a 1-second [cron:x] job with a cluster lock must run each of 1,000 fires
# exactly once (0 duplicates, 0 misses, none more than 2.1 s early). About 17 minutes.
#
#   bench/cluster_cron.sh          1,000 fires
#   bench/cluster_cron.sh 300      another count
#
# It is the CI test `every_fire_runs_exactly_once_across_three_skewed_nodes`
# (crates/cli/tests/cluster_cron.rs, 100 fires there) with STEWARD_CLUSTER_FIRES set.
# Needs redis-server (Debian package redis-server) and the supervisor venv the test
# harness uses ($STEWARD_TEST_VENV or <repo>/.venv).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
command -v redis-server >/dev/null 2>&1 || { echo "bench/cluster_cron.sh: install redis-server" >&2; exit 1; }
export STEWARD_CLUSTER_FIRES="${1:-1000}"
exec cargo test -q -p steward --test cluster_cron -- --exact \
  every_fire_runs_exactly_once_across_three_skewed_nodes --nocapture
