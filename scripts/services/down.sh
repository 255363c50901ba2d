#!/usr/bin/env bash
# Stop the services started by up.sh. Data is kept (Kafka logs, Temporal DB,
# Postgres cluster, RabbitMQ mnesia) so the next up.sh is a plain restart.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# Kafka Connect first: it flushes its offsets to Kafka (and confirms them to
# PostgreSQL) as it stops.
stop_pidfile connect "$STATE/pids/connect.pid" 30
stop_pidfile kafka "$STATE/pids/kafka.pid" 60 &
stop_pidfile temporal "$STATE/pids/temporal.pid" 30 &
# temporal-pg is persisted in postgres: it stops before postgres does (below).
stop_pidfile temporal-pg "$STATE/pids/temporal-pg.pid" 30 &
temporal_pg_stop=$!
# redis: by pid file; if that is gone, ask the server whether it is ours.
if [[ ! -s "$STATE/pids/redis.pid" ]] && command -v redis-cli >/dev/null &&
   redis-cli -h 127.0.0.1 -p 6379 config get pidfile 2>/dev/null | grep -qx "$STATE/pids/redis.pid"; then
  log "redis: stopping (no pid file; server reports our pidfile path)"
  redis-cli -h 127.0.0.1 -p 6379 shutdown nosave >/dev/null 2>&1 || true
else
  stop_pidfile redis "$STATE/pids/redis.pid" 20 &
fi

stop_pidfile smtp "$STATE/pids/smtp.pid" 10 &
stop_pidfile s3 "$STATE/pids/s3.pid" 10 &

wait "$temporal_pg_stop" || true
if [[ -s "$STATE/postgres/data/PG_VERSION" ]]; then
  bin="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)"
  if su postgres -s /bin/sh -c "'$bin/pg_ctl' -D '$STATE/postgres/data' status" >/dev/null 2>&1; then
    log "postgres: stopping"
    su postgres -s /bin/sh -c "'$bin/pg_ctl' -D '$STATE/postgres/data' -m fast -w stop" >/dev/null
  else
    log "postgres: not running"
  fi
fi

if [[ -d "$STATE/rabbitmq" ]] && command -v rabbitmqctl >/dev/null; then
  export RABBITMQ_NODENAME=rabbit@localhost
  if port_open 5672; then
    log "rabbitmq: stopping"
    rabbitmqctl -q stop >/dev/null 2>&1 || log "rabbitmq: rabbitmqctl stop failed"
    for _ in $(seq 30); do port_open 5672 || break; sleep 1; done
    port_open 5672 && log "rabbitmq: port 5672 still open after 30s" || log "rabbitmq: stopped"
  else
    log "rabbitmq: not running"
  fi
fi
wait
log "down: done"
