#!/usr/bin/env bash
# Redis on 127.0.0.1:6379, data and log under $STATE/redis.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
service_lock redis

PORT=6379
if redis-cli -h 127.0.0.1 -p "$PORT" ping 2>/dev/null | grep -q PONG; then
  log "redis: already answering on 127.0.0.1:$PORT"
  exit 0
fi
command -v redis-server >/dev/null && command -v redis-cli >/dev/null || apt_install redis-server redis-tools

mkdir -p "$STATE/redis"
log "redis: starting redis-server on 127.0.0.1:$PORT"
detached redis-server --bind 127.0.0.1 --port "$PORT" --daemonize yes \
  --pidfile "$STATE/pids/redis.pid" --logfile "$STATE/redis/redis.log" \
  --dir "$STATE/redis" --save "" --appendonly no --protected-mode no
wait_for 30 "redis" sh -c "redis-cli -h 127.0.0.1 -p $PORT ping | grep -q PONG"
