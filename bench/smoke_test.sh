#!/usr/bin/env bash
# CI-safe check that the benchmark still works end to end (asserts nothing about speed):
# every scenario runs once on both daemons with tiny N and must produce numbers.
set -euo pipefail
exec "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/run" --smoke "$@"
