#!/usr/bin/env bash
# RabbitMQ on 127.0.0.1:5672 (guest/guest), node rabbit@localhost,
# data and logs under $STATE/rabbitmq.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
service_lock rabbitmq

PORT=5672
export RABBITMQ_NODENAME=rabbit@localhost
export RABBITMQ_NODE_IP_ADDRESS=127.0.0.1
export RABBITMQ_NODE_PORT=$PORT
export RABBITMQ_MNESIA_BASE="$STATE/rabbitmq/mnesia"
export RABBITMQ_LOG_BASE="$STATE/rabbitmq/log"
export RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}"
export ERL_EPMD_ADDRESS=127.0.0.1

if port_open "$PORT"; then
  log "rabbitmq: already answering on 127.0.0.1:$PORT"
  exit 0
fi
command -v rabbitmq-server >/dev/null || apt_install rabbitmq-server

mkdir -p "$RABBITMQ_MNESIA_BASE" "$RABBITMQ_LOG_BASE"
chown -R rabbitmq:rabbitmq "$STATE/rabbitmq"
log "rabbitmq: starting rabbitmq-server -detached on 127.0.0.1:$PORT"
detached rabbitmq-server -detached >>"$STATE/logs/rabbitmq-start.log" 2>&1
if ! wait_for 120 "rabbitmq port $PORT" port_open "$PORT"; then
  tail -n 40 "$RABBITMQ_LOG_BASE"/*.log >&2 2>/dev/null || true
  die "rabbitmq did not come up"
fi
detached rabbitmqctl -q await_startup --timeout 60 >/dev/null 2>&1 || log "rabbitmq: await_startup failed (port is open; continuing)"
