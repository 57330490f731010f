#!/usr/bin/env bash
# Install Debian's chromium for the dashboard's browser tests (tests/ui/test_browser.py)
# when /usr/bin/chromium is missing. Idempotent and quiet: prints nothing when it is there,
# the apt log's tail only when the install fails. Needs root, or sudo.
set -euo pipefail

[[ -x /usr/bin/chromium ]] && exit 0

SUDO=()
if [[ "$(id -u)" -ne 0 ]]; then
    SUDO=(sudo)
fi
LOG="$(mktemp)"
trap 'rm -f "$LOG"' EXIT
echo "install_browser.sh: installing chromium (apt)"
if ! { "${SUDO[@]}" apt-get update -qq && \
       "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; } >"$LOG" 2>&1; then
    tail -n 20 "$LOG" >&2
    echo "install_browser.sh: apt-get could not install chromium" >&2
    exit 1
fi
[[ -x /usr/bin/chromium ]] || { echo "install_browser.sh: no /usr/bin/chromium after install" >&2; exit 1; }
