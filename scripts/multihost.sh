#!/usr/bin/env bash
# What the multi-host test (tests/system/test_multihost.py) needs beyond its venv: the
# PostgreSQL server (scripts/postgres.sh) and iproute2 for `ip netns` (unshare comes with
# util-linux, which Debian always has). Idempotent and quiet when both are there. Needs
# root, or sudo.
#
#   scripts/multihost.sh              # exit 1 if they cannot be installed
#   scripts/multihost.sh --optional   # warn and exit 0 instead (the test then skips, saying why)
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
bash "$HERE/postgres.sh" "$@"
command -v ip >/dev/null && exit 0

SUDO=()
[[ "$(id -u)" -ne 0 ]] && SUDO=(sudo)
LOG="$(mktemp)"
trap 'rm -f "$LOG"' EXIT
echo "multihost.sh: installing iproute2 (apt)"
if ! { "${SUDO[@]}" apt-get update -qq &&
       "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq iproute2; } >"$LOG" 2>&1; then
    tail -n 20 "$LOG" >&2
    echo "multihost.sh: apt-get could not install iproute2" >&2
    [[ "${1:-}" == "--optional" ]] && { echo "multihost.sh: the multi-host test will be skipped" >&2; exit 0; }
    exit 1
fi
