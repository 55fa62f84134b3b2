#!/usr/bin/env bash
# Start a throw-away PostgreSQL on 127.0.0.1, export IPFIN_TEST_DATABASE_URL, run "$@", stop it.
set -euo pipefail
PG_BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
if [ -z "$PG_BIN" ] && command -v pg_ctl >/dev/null 2>&1; then PG_BIN=$(dirname "$(readlink -f "$(command -v pg_ctl)")"); fi
if [ -z "$PG_BIN" ]; then echo "PostgreSQL server binaries not found (apt-get install postgresql)" >&2; exit 1; fi
PORT=${IPFIN_PG_PORT:-55432}
DIR=$(mktemp -d /tmp/ipfin-pg.XXXXXX)
if [ "$(id -u)" = 0 ]; then
  id postgres >/dev/null 2>&1 || useradd --system --no-create-home postgres
  chown postgres "$DIR"; AS=(runuser -u postgres --)
else
  AS=()
fi
"${AS[@]}" "$PG_BIN/initdb" -D "$DIR/data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
"${AS[@]}" "$PG_BIN/pg_ctl" -D "$DIR/data" -l "$DIR/log" -w \
  -o "-c listen_addresses=127.0.0.1 -c port=$PORT -k $DIR -c fsync=off -c max_connections=200" start >/dev/null
stop() { "${AS[@]}" "$PG_BIN/pg_ctl" -D "$DIR/data" -m fast stop >/dev/null 2>&1 || true; rm -rf "$DIR"; }
trap stop EXIT
"$PG_BIN/psql" -h 127.0.0.1 -p "$PORT" -U postgres -qc "CREATE DATABASE ipfin_test" >/dev/null
export IPFIN_TEST_DATABASE_URL="postgresql+psycopg://postgres@127.0.0.1:$PORT/ipfin_test"
echo "PostgreSQL $("$PG_BIN/postgres" --version | awk '{print $3}') on 127.0.0.1:$PORT"
"$@"
