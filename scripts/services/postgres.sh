#!/usr/bin/env bash
# PostgreSQL on 127.0.0.1:5432, own cluster under $STATE/postgres/data,
# role triggerd/triggerd (superuser) owning database triggerd, wal_level=logical.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
service_lock postgres

PORT=5432
PGSTATE="$STATE/postgres"
DATA="$PGSTATE/data"
SOCK="$PGSTATE/run"

pgbin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1; }
[[ -n "$(pgbin)" ]] || apt_install postgresql
BIN="$(pgbin)"
[[ -x "$BIN/pg_ctl" ]] || die "postgres binaries not found"
as_pg() { su postgres -s /bin/sh -c "$*"; }

mkdir -p "$PGSTATE" "$SOCK"
chown postgres:postgres "$PGSTATE" "$SOCK"

if [[ ! -s "$DATA/PG_VERSION" ]]; then
  log "postgres: initdb $DATA"
  as_pg "'$BIN/initdb' -D '$DATA' -U postgres --auth-local=trust --auth-host=scram-sha-256 -E UTF8 --locale=C.UTF-8 >'$PGSTATE/initdb.log' 2>&1" \
    || { cat "$PGSTATE/initdb.log" >&2; die "initdb failed"; }
  cat >>"$DATA/postgresql.conf" <<CONF
# triggerd test settings
listen_addresses = '127.0.0.1'
port = $PORT
unix_socket_directories = '$SOCK'
wal_level = logical
max_wal_senders = 10
max_replication_slots = 10
max_connections = 200
fsync = off
synchronous_commit = off
full_page_writes = off
CONF
fi

if as_pg "'$BIN/pg_ctl' -D '$DATA' status" >/dev/null 2>&1 && port_open "$PORT"; then
  log "postgres: already running on 127.0.0.1:$PORT"
else
  if port_open "$PORT" && command -v pg_lsclusters >/dev/null; then
    # A Debian-managed cluster (e.g. started by the package's postinst) holds the port.
    pg_lsclusters -h 2>/dev/null | awk -v p="$PORT" '$3 == p && $4 ~ /online/ {print $1, $2}' |
      while read -r ver name; do log "postgres: stopping Debian cluster $ver/$name on port $PORT"; pg_ctlcluster "$ver" "$name" stop || true; done
  fi
  if port_open "$PORT"; then die "port $PORT is taken by another process"; fi
  log "postgres: starting on 127.0.0.1:$PORT"
  detached su postgres -s /bin/sh -c "'$BIN/pg_ctl' -D '$DATA' -l '$PGSTATE/postgres.log' -w -t 60 start" >/dev/null \
    || { tail -n 30 "$PGSTATE/postgres.log" >&2; die "postgres did not start"; }
fi

psql_su() { as_pg "'$BIN/psql' -h '$SOCK' -p $PORT -U postgres -d postgres -tAq -v ON_ERROR_STOP=1 -c \"$1\""; }
if [[ "$(psql_su "SELECT 1 FROM pg_roles WHERE rolname='triggerd'")" != 1 ]]; then
  log "postgres: creating role triggerd"
  psql_su "CREATE ROLE triggerd LOGIN SUPERUSER REPLICATION PASSWORD 'triggerd'"
fi
if [[ "$(psql_su "SELECT 1 FROM pg_database WHERE datname='triggerd'")" != 1 ]]; then
  log "postgres: creating database triggerd"
  psql_su "CREATE DATABASE triggerd OWNER triggerd"
fi
wait_for 30 "postgres (triggerd DSN)" env PGPASSWORD=triggerd "$BIN/psql" \
  "postgres://triggerd:triggerd@127.0.0.1:$PORT/triggerd?sslmode=disable" -tAc 'SELECT 1'
