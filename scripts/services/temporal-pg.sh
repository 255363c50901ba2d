#!/usr/bin/env bash
# A real Temporal server (not the dev server) on 127.0.0.1:7333, persisted in
# the PostgreSQL that postgres.sh starts: databases temporal and
# temporal_visibility, schema set up and upgraded with Temporal's own
# temporal-sql-tool, namespace "default" and triggerd's search attributes
# registered with the temporal CLI. Both binaries are built from
# go.temporal.io/server at the version this repository's go.mod pins (the
# `tool` block), so the build reuses the module and build caches.
#
# Ports (all explicit in temporal-pg/config/development.yaml, none shared
# with the dev server on 7233/8233/7243/7244):
#   frontend 7333 (gRPC) 7343 (HTTP) 6333 (membership)
#   history  7334 6334   matching 7335 6335   worker 7339 6339   metrics 7344
#
# NOTE: postgres.sh runs PostgreSQL with fsync=off and synchronous_commit=off,
# so this server does not commit durably: fine for tests, an upper bound for
# benchmarks (the benchmark prints what it finds).
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
service_lock temporal-pg

PORT=7333
TDIR="$STATE/temporal-pg"
SERVER="$STATE/bin/temporal-server"
SQLTOOL="$STATE/bin/temporal-sql-tool"
PIDF="$STATE/pids/temporal-pg.pid"
REPO="$(cd "$SERVICES_SRC/../.." && pwd)"
PGHOST=127.0.0.1 PGPORT=5432 PGUSER=triggerd PGPASS=triggerd
DB=temporal VISDB=temporal_visibility
SEARCH_ATTRIBUTES=(TriggerTag TriggerTable TriggerEvent RecordKey)

CLI="$STATE/bin/temporal" # checks health, registers the namespace and search attributes

healthy() { "$CLI" operator cluster health --address "127.0.0.1:$PORT" 2>/dev/null | grep -q SERVING; }
# The namespace is usable once a visibility query in it succeeds.
namespace_ready() { "$CLI" workflow count --namespace default --address "127.0.0.1:$PORT" >/dev/null 2>&1; }

want_version="$(cd "$REPO" && go list -m -f '{{.Version}}' go.temporal.io/server)"
built_version() { go version -m "$1" 2>/dev/null | awk '($1 == "mod" || $1 == "dep") && $2 == "go.temporal.io/server" {print $3}'; }

if [[ -x "$CLI" ]] && pid_alive "$PIDF" && [[ "$(built_version "$SERVER")" == "$want_version" ]] && healthy && namespace_ready; then
  log "temporal-pg: already running (pid $(cat "$PIDF")) on 127.0.0.1:$PORT"
  exit 0
fi

# 1. binaries: the upstream server and SQL tool mains, built in this module.
for pair in "$SERVER go.temporal.io/server/cmd/server" "$SQLTOOL go.temporal.io/server/cmd/tools/sql"; do
  read -r bin pkg <<<"$pair"
  if [[ ! -x "$bin" || "$(built_version "$bin")" != "$want_version" ]]; then
    log "temporal-pg: go build $pkg ($want_version) -> $bin (log: $STATE/logs/temporal-pg-build.log)"
    start=$SECONDS
    (cd "$REPO" && go build -o "$bin.tmp" "$pkg") >"$STATE/logs/temporal-pg-build.log" 2>&1 \
      || { tail -n 40 "$STATE/logs/temporal-pg-build.log" >&2; die "build of $pkg failed"; }
    mv "$bin.tmp" "$bin"
    log "temporal-pg: built $(basename "$bin") in $((SECONDS - start))s"
  fi
done

# 2. databases and schema (idempotent: create only what is missing, then
# update-schema applies the versions newer than the recorded one).
PSQL="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)/psql"
[[ -x "$PSQL" ]] || die "psql not found (postgres.sh installs PostgreSQL)"
pgq() { PGPASSWORD="$PGPASS" "$PSQL" -h "$PGHOST" -p "$PGPORT" -U "$PGUSER" -d postgres -tAq -v ON_ERROR_STOP=1 -c "$1"; }
sqltool() { "$SQLTOOL" --plugin postgres12 --ep "$PGHOST" -p "$PGPORT" -u "$PGUSER" --pw "$PGPASS" "$@"; }
# up.sh starts postgres.sh beside this script: wait for its role and database.
wait_for 300 "postgres for temporal-pg" pgq "SELECT 1" || die "postgres is not answering on $PGHOST:$PGPORT as $PGUSER"
for pair in "$DB postgresql/v12/temporal" "$VISDB postgresql/v12/visibility"; do
  read -r db schema <<<"$pair"
  if [[ "$(pgq "SELECT 1 FROM pg_database WHERE datname = '$db'")" != 1 ]]; then
    log "temporal-pg: creating database $db"
    sqltool --db "$db" create-database >>"$STATE/logs/temporal-pg-schema.log" 2>&1 \
      || { tail -n 20 "$STATE/logs/temporal-pg-schema.log" >&2; die "create-database $db failed"; }
  fi
  { sqltool --db "$db" setup-schema -v 0.0 && sqltool --db "$db" update-schema --schema-name "$schema"; } \
    >>"$STATE/logs/temporal-pg-schema.log" 2>&1 \
    || { tail -n 20 "$STATE/logs/temporal-pg-schema.log" >&2; die "schema setup of $db failed"; }
done
log "temporal-pg: schema of $DB and $VISDB up to date"

# 3. config: the committed template (rendered by the server from the
# TEMPORAL_PG_* variables), copied so that the running server does not
# depend on the checkout that started it.
rm -rf "$TDIR/config" && mkdir -p "$TDIR" && cp -r "$SERVICES_SRC/temporal-pg/config" "$TDIR/config"
export TEMPORAL_PG_PORT=$PORT TEMPORAL_PG_DB=$DB TEMPORAL_PG_VISIBILITY_DB=$VISDB \
  TEMPORAL_PG_HOST=$PGHOST TEMPORAL_PG_DB_PORT=$PGPORT TEMPORAL_PG_USER=$PGUSER TEMPORAL_PG_PASSWORD=$PGPASS \
  TEMPORAL_PG_DYNAMIC_CONFIG="$TDIR/config/dynamicconfig/development.yaml"

# 4. start. The CLI is built by temporal.sh (lib.sh's ensure_temporal_cli):
# on a cold machine that build ran beside the ones above.
ensure_temporal_cli
pid_alive "$PIDF" && stop_pidfile temporal-pg "$PIDF" 20
for p in $PORT 7343 6333 7334 6334 7335 6335 7339 6339 7344; do
  port_open "$p" && die "port $p is taken by a process that temporal-pg.sh did not start"
done
log "temporal-pg: starting temporal-server $want_version on 127.0.0.1:$PORT (PostgreSQL $DB, $VISDB)"
exec_detached nohup "$SERVER" --root "$TDIR" --config config --env development --allow-no-auth start \
  >"$TDIR/temporal.log" 2>&1 &
echo $! >"$PIDF"

wait_started temporal-pg "$PIDF" "$TDIR/temporal.log" healthy # lib.sh

# 5. namespace and search attributes (idempotent).
if ! "$CLI" operator namespace describe --namespace default --address "127.0.0.1:$PORT" >/dev/null 2>&1; then
  log "temporal-pg: creating namespace default"
  "$CLI" operator namespace create --namespace default --retention 72h --address "127.0.0.1:$PORT" >/dev/null
fi
have="$("$CLI" operator search-attribute list --namespace default --address "127.0.0.1:$PORT" 2>/dev/null || true)"
for sa in "${SEARCH_ATTRIBUTES[@]}"; do
  if ! grep -qw "$sa" <<<"$have"; then
    log "temporal-pg: registering search attribute $sa (Keyword)"
    "$CLI" operator search-attribute create --namespace default --name "$sa" --type Keyword \
      --address "127.0.0.1:$PORT" >/dev/null
  fi
done
wait_for 60 "temporal-pg namespace default" namespace_ready || die "namespace default not usable on 127.0.0.1:$PORT"
