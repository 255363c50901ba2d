#!/usr/bin/env bash
# Temporal dev server (temporal CLI built from source) on 127.0.0.1:7233,
# Web UI on 127.0.0.1:8233, SQLite DB under $STATE/temporal (kept across restarts).
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
service_lock temporal

PORT=7233
TDIR="$STATE/temporal"
BIN="$STATE/bin/temporal"
PIDF="$STATE/pids/temporal.pid"

healthy() { "$BIN" operator cluster health --address "127.0.0.1:$PORT" 2>/dev/null | grep -q SERVING; }

if [[ -x "$BIN" ]] && pid_alive "$PIDF" && healthy; then
  log "temporal: already running (pid $(cat "$PIDF")) on 127.0.0.1:$PORT"
  exit 0
fi

# 1. build the CLI (includes the server) unless the right version is present.
ensure_temporal_cli # lib.sh

if ! pid_alive "$PIDF" && port_open "$PORT"; then
  die "port $PORT is taken by a process that temporal.sh did not start"
fi
pid_alive "$PIDF" && stop_pidfile temporal "$PIDF" 20

# 2. start the dev server.
mkdir -p "$TDIR"
log "temporal: starting dev server on 127.0.0.1:$PORT (UI 8233, db $TDIR/temporal.db)"
exec_detached nohup "$BIN" server start-dev \
  --ip 127.0.0.1 --port "$PORT" --ui-port 8233 --http-port 7243 --metrics-port 7244 \
  --db-filename "$TDIR/temporal.db" --namespace default \
  --search-attribute TriggerTag=Keyword \
  --search-attribute TriggerTable=Keyword \
  --search-attribute TriggerEvent=Keyword \
  --search-attribute RecordKey=Keyword \
  --log-level warn \
  >"$TDIR/temporal.log" 2>&1 &
echo $! >"$PIDF"

wait_started temporal "$PIDF" "$TDIR/temporal.log" healthy # lib.sh
