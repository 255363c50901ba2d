#!/usr/bin/env bash
# Temporal dev server on 127.0.0.1:7233, Web UI on 127.0.0.1:8233, HTTP API
# on 7243, SQLite DB under $STATE/temporal (kept across restarts). It is the
# dev server `triggerd dev` embeds (the Temporal CLI's, at the version go.mod
# pins), run alone by `triggerd dev --temporal-only`: building
# triggerd compiles the same packages the tests do, where a separate build of
# the Temporal CLI compiled the whole server a second time.
# Overrides (to try it beside a running one): TRIGGERD_TEMPORAL_PORT,
# TRIGGERD_TEMPORAL_UI_PORT, TRIGGERD_TEMPORAL_HTTP_PORT,
# TRIGGERD_TEMPORAL_METRICS_PORT.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
service_lock temporal

PORT="${TRIGGERD_TEMPORAL_PORT:-7233}"
UI_PORT="${TRIGGERD_TEMPORAL_UI_PORT:-8233}"
HTTP_PORT="${TRIGGERD_TEMPORAL_HTTP_PORT:-7243}"
METRICS_PORT="${TRIGGERD_TEMPORAL_METRICS_PORT:-7244}"
TDIR="$STATE/temporal"
BIN="$STATE/bin/triggerd"
PIDF="$STATE/pids/temporal.pid"

# Serving, with namespace default registered (the HTTP API's describe).
healthy() { curl -sf -o /dev/null "http://127.0.0.1:$HTTP_PORT/api/v1/namespaces/default"; }

if pid_alive "$PIDF" && healthy; then
  log "temporal: already running (pid $(cat "$PIDF")) on 127.0.0.1:$PORT"
  exit 0
fi

# 1. build triggerd from this checkout (lib.sh).
ensure_triggerd

if ! pid_alive "$PIDF" && port_open "$PORT"; then
  die "port $PORT is taken by a process that temporal.sh did not start"
fi
pid_alive "$PIDF" && stop_pidfile temporal "$PIDF" 20

# 2. start the dev server: namespace default and triggerd's search
# attributes (Keyword) are registered by the command, as in `triggerd dev`.
mkdir -p "$TDIR"
log "temporal: starting dev server on 127.0.0.1:$PORT (UI $UI_PORT, db $TDIR/temporal.db)"
exec_detached nohup "$BIN" dev --temporal-only --data-dir "$TDIR" \
  --temporal-port "$PORT" --ui-port "$UI_PORT" \
  --temporal-http-port "$HTTP_PORT" --temporal-metrics-port "$METRICS_PORT" \
  >"$TDIR/temporal.log" 2>&1 &
echo $! >"$PIDF"

wait_started temporal "$PIDF" "$TDIR/temporal.log" healthy # lib.sh
