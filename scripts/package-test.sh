#!/usr/bin/env bash
# Builds the Debian package with cargo-deb, installs it on this machine with `dpkg -i`,
# checks the installed result, and purges it again.
#
#   bash scripts/package-test.sh             release build, then package
#   bash scripts/package-test.sh --no-build  package the existing target/release/steward
#                                            (scripts/test.sh: the bench smoke built it)
#
# Checks: `steward check` accepts the installed /etc/steward/steward.conf, the unit passes
# `systemd-analyze verify` (when installed), the opt-in supervisord/supervisorctl symlinks
# exist and work, purging removes the binary, and `cargo install --path crates/cli` works. Needs root (dpkg -i). A `steward`
# package that was installed before the run is upgraded but not purged.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
step() { printf '\n==> %s\n' "$*"; }
fail() { echo "package-test: $*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || fail "needs root (dpkg -i)"
command -v dpkg >/dev/null 2>&1 || fail "dpkg not found"
if ! cargo deb --version >/dev/null 2>&1; then
  step "cargo install cargo-deb"
  cargo install cargo-deb --locked
fi

DEB_ARGS=()
case "${1:-}" in
  "") ;;
  --no-build)
    [ -x target/release/steward ] || fail "--no-build: no target/release/steward"
    DEB_ARGS=(--no-build) ;;
  *) fail "unknown argument '$1'" ;;
esac

step "cargo deb -p steward ${DEB_ARGS[*]}"
start=$(date +%s)
cargo deb -p steward "${DEB_ARGS[@]}"
echo "package built in $(( $(date +%s) - start )) s"
deb="$(ls -t target/debian/steward_*.deb | head -1)"
echo "package: $deb"

was_installed=0
dpkg -s steward >/dev/null 2>&1 && was_installed=1

step "dpkg -i $deb"
dpkg -i "$deb"
cleanup() {
  if [ "$was_installed" = 0 ]; then
    step "dpkg --purge steward"
    dpkg --purge steward >/dev/null
    for left in /usr/bin/steward /etc/steward /usr/lib/steward /var/log/steward; do
      [ ! -e "$left" ] || { echo "package-test: $left left after purge" >&2; exit 1; }
    done
  fi
}
trap cleanup EXIT

step "steward check -c /etc/steward/steward.conf"
/usr/bin/steward check -c /etc/steward/steward.conf
[ "$(/usr/bin/steward --version)" = "steward $(sed -nE 's/^version = "(.*)"/\1/p' Cargo.toml | head -1)" ] ||
  fail "unexpected version: $(/usr/bin/steward --version)"

if command -v systemd-analyze >/dev/null 2>&1; then
  step "systemd-analyze verify /lib/systemd/system/steward.service"
  out="$(systemd-analyze verify /lib/systemd/system/steward.service 2>&1)" || fail "verify failed: $out"
  [ -z "$out" ] || fail "verify complained: $out"
fi

step "opt-in supervisord/supervisorctl names"
for name in supervisord supervisorctl; do
  [ "$(readlink "/usr/lib/steward/bin/$name")" = /usr/bin/steward ] || fail "/usr/lib/steward/bin/$name is not a symlink to steward"
done
/usr/lib/steward/bin/supervisord --version >/dev/null
# The whole help first: `| grep -q` would hang up after the first match, and a command
# whose reader has gone ends by SIGPIPE, which pipefail reports as a failure.
help="$(/usr/lib/steward/bin/supervisorctl -h)"
grep -q "supervisorctl" <<<"$help" || fail "supervisorctl -h does not look like supervisorctl"
[ -d /var/log/steward ] || fail "/var/log/steward was not created"
step "cargo install --path crates/cli (into a temp root, reusing the release build)"
inst="$(mktemp -d)"
CARGO_TARGET_DIR="$ROOT/target" cargo install --locked --quiet --path crates/cli --root "$inst"
"$inst/bin/steward" --version
rm -rf "$inst"
echo "package-test: ok"
