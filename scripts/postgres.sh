#!/usr/bin/env bash
# Install Debian's PostgreSQL server and PgBouncer for the PostgreSQL store's tests and
# benchmark (tests/pg_server.py starts a throwaway cluster of its own; nothing here starts
# a server) when initdb or pgbouncer is missing. Idempotent and quiet: prints nothing when
# both are there, the apt log's tail only when the install fails. Needs root, or sudo.
#
#   scripts/postgres.sh              # exit 1 if they cannot be installed
#   scripts/postgres.sh --optional   # warn and exit 0 instead (the tests then skip, saying why)
set -euo pipefail

have() {
    compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null &&
        { command -v pgbouncer >/dev/null || [[ -x /usr/sbin/pgbouncer ]]; }
}
have && exit 0

OPTIONAL=0
[[ "${1:-}" == "--optional" ]] && OPTIONAL=1
fail() {
    echo "postgres.sh: $1" >&2
    if ((OPTIONAL)); then
        echo "postgres.sh: the PostgreSQL tests will be skipped" >&2
        exit 0
    fi
    exit 1
}

SUDO=()
if [[ "$(id -u)" -ne 0 ]]; then
    SUDO=(sudo)
fi
LOG="$(mktemp)"
POLICY=/usr/sbin/policy-rc.d
ADDED_POLICY=0
cleanup() {
    rm -f "$LOG"
    if ((ADDED_POLICY)); then "${SUDO[@]}" rm -f "$POLICY"; fi
}
trap cleanup EXIT
# the packages must not create or start a server of their own: the tests start theirs
if [[ ! -e "$POLICY" ]]; then
    printf '#!/bin/sh\nexit 101\n' | "${SUDO[@]}" tee "$POLICY" >/dev/null
    "${SUDO[@]}" chmod +x "$POLICY"
    ADDED_POLICY=1
fi
"${SUDO[@]}" mkdir -p /etc/postgresql-common
grep -qs '^create_main_cluster' /etc/postgresql-common/createcluster.conf ||
    echo "create_main_cluster = false" | "${SUDO[@]}" tee -a /etc/postgresql-common/createcluster.conf >/dev/null

echo "postgres.sh: installing postgresql and pgbouncer (apt)"
if ! { "${SUDO[@]}" apt-get update -qq && \
       "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql pgbouncer; } >"$LOG" 2>&1; then
    tail -n 20 "$LOG" >&2
    fail "apt-get could not install postgresql and pgbouncer"
fi
have || fail "no initdb or pgbouncer after the install"
