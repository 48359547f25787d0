#!/usr/bin/env bash
# A throwaway PostgreSQL server on 127.0.0.1 for the state tests, for CI and for developers:
#
#   eval "$(bash .ci/postgres.sh start)"    # prints the exports: RUNNER_TEST_POSTGRES, PGPASSFILE, RUNNER_TEST_POSTGRES_DIR
#   python -m pytest -q tests/component/test_state.py
#   bash .ci/postgres.sh stop               # stops the server and removes its folder
#
# PostgreSQL refuses to run as root, so as root the cluster is made and run by the `postgres` user (or
# $PG_USER) in a temporary folder it owns. Password authentication over TCP, with a random password kept
# in a pgpass file: the tests then reach the server the way a team would (libpq's PGPASSFILE), never with
# a password in a URL. With RUNNER_TEST_POSTGRES set, the PostgreSQL tests are required, not skipped.
set -euo pipefail

bin_dir() {
    if command -v initdb >/dev/null && command -v pg_ctl >/dev/null; then
        dirname "$(command -v pg_ctl)"
        return
    fi
    local found
    found=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
    [ -n "$found" ] || { echo "no PostgreSQL binaries (initdb, pg_ctl): apt-get install -y postgresql" >&2; exit 1; }
    echo "$found"
}

as_owner() {
    if [ "$(id -u)" = 0 ]; then
        runuser -u "${PG_USER:-postgres}" -- "$@"
    else
        "$@"
    fi
}

start() {
    local bin dir port password
    bin=$(bin_dir)
    dir=$(mktemp -d "${TMPDIR:-/tmp}/runner-pg.XXXXXX")
    chmod 0755 "$dir"
    [ "$(id -u)" = 0 ] && chown "${PG_USER:-postgres}" "$dir"
    password=$(python3 -c 'import secrets; print(secrets.token_hex(16))')
    port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    printf '%s\n' "$password" | as_owner tee "$dir/pwfile" >/dev/null
    as_owner "$bin/initdb" -D "$dir/data" -U runner --pwfile="$dir/pwfile" --auth-host=scram-sha-256 \
        --auth-local=trust -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 \
        || { cat "$dir/initdb.log" >&2; exit 1; }
    as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 start \
        -o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c max_connections=300" >/dev/null \
        || { cat "$dir/server.log" >&2; exit 1; }
    local psql
    psql=$(command -v psql || echo "$bin/psql")
    as_owner "$psql" -h "$dir" -p "$port" -U runner -d postgres -qc "CREATE DATABASE runner" >/dev/null
    printf '127.0.0.1:%s:*:runner:%s\n' "$port" "$password" >"$dir/pgpass"
    chmod 0600 "$dir/pgpass"
    echo "export RUNNER_TEST_POSTGRES='postgresql://runner@127.0.0.1:$port/runner'"
    echo "export PGPASSFILE='$dir/pgpass'"
    echo "export RUNNER_TEST_POSTGRES_DIR='$dir'"
}

stop() {
    local dir=${1:-${RUNNER_TEST_POSTGRES_DIR:-}}
    [ -n "$dir" ] && [ -d "$dir/data" ] || return 0
    as_owner "$(bin_dir)/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
    rm -rf "$dir"
}

case "${1:-}" in
    start) start ;;
    stop) stop "${2:-}" ;;
    *) echo "usage: $0 start | stop [DIR]" >&2; exit 64 ;;
esac
