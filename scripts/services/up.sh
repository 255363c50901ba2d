#!/usr/bin/env bash
# Start every service the tests need (idempotent; fast when already up):
# redis, rabbitmq, postgres, kafka, temporal (dev server, SQLite), temporal-pg
# (a Temporal server on PostgreSQL), smtp, s3, and Kafka Connect with
# Debezium (once kafka and postgres are ready). Exits non-zero if any fails.
# Then writes $STATE/env.sh (same exports as scripts/services/env.sh).
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

t0=$SECONDS
log "up: state dir $STATE"

# Install all missing Debian packages in one apt run (the per-service scripts
# would serialise on the apt lock anyway).
need=()
command -v redis-server >/dev/null && command -v redis-cli >/dev/null || need+=(redis-server redis-tools)
command -v rabbitmq-server >/dev/null || need+=(rabbitmq-server)
ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1 || need+=(postgresql)
command -v kcat >/dev/null || need+=(kcat)
command -v java >/dev/null || need+=(openjdk-17-jre-headless)
command -v mvn >/dev/null || need+=(maven)
command -v jq >/dev/null || need+=(jq)
command -v curl >/dev/null || need+=(curl)
(( ${#need[@]} == 0 )) || apt_install "${need[@]}"

# Temporal (builds triggerd: slow on a cold Go cache) and Kafka (maven)
# first, the rest alongside.
# Each script logs to $STATE/logs/up-<svc>.<pid>.log; shown once it finishes.
declare -A pids=()
for svc in temporal temporal-pg kafka redis postgres rabbitmq smtp s3; do
  bash "$SERVICES_SRC/$svc.sh" >"$STATE/logs/up-$svc.$$.log" 2>&1 </dev/null &
  pids[$svc]=$!
done
failed=()
# Kafka Connect needs Kafka and PostgreSQL: it starts once both are up,
# while Temporal may still be building.
start_connect() {
  if [[ " ${failed[*]} " == *" kafka "* || " ${failed[*]} " == *" postgres "* ]]; then
    log "up: not starting connect: kafka or postgres failed"
    failed+=(connect)
    return
  fi
  bash "$SERVICES_SRC/connect.sh" >"$STATE/logs/up-connect.$$.log" 2>&1 </dev/null &
  pids[connect]=$!
}
for svc in redis postgres rabbitmq smtp s3 kafka temporal connect temporal-pg; do
  [[ $svc == temporal ]] && start_connect
  [[ -n "${pids[$svc]:-}" ]] || continue
  [[ $svc == temporal && ! -x "$STATE/bin/triggerd" ]] &&
    log "up: waiting for the triggerd build (several minutes on a cold Go cache)"
  rc=0; wait "${pids[$svc]}" || rc=$?
  sed "s/^/[$svc] /" "$STATE/logs/up-$svc.$$.log" >&2
  (( rc == 0 )) && rm -f "$STATE/logs/up-$svc.$$.log"
  (( rc == 0 )) || failed+=("$svc")
done
if (( ${#failed[@]} )); then
  log "up: FAILED: ${failed[*]} (logs under $STATE)"
  exit 1
fi

cat >"$STATE/env.sh" <<ENV
# Written by scripts/services/up.sh
export TRIGGERD_SERVICES_DIR='$STATE'
export TRIGGERD_TEST_KAFKA_BROKERS=127.0.0.1:9092
export TRIGGERD_TEST_KAFKA_SASL_SSL_BROKERS=127.0.0.1:9094
export TRIGGERD_TEST_KAFKA_CA_FILE='$STATE/kafka/tls/ca.pem'
export TRIGGERD_TEST_KAFKA_SCRAM_USERNAME=triggerd
export TRIGGERD_TEST_KAFKA_SCRAM_PASSWORD=triggerd-scram
export TRIGGERD_TEST_TEMPORAL_ADDRESS=127.0.0.1:7233
export TRIGGERD_TEST_TEMPORAL_PG_ADDRESS=127.0.0.1:7333
export TRIGGERD_TEST_REDIS_ADDR=127.0.0.1:6379
export TRIGGERD_TEST_RABBITMQ_URL=amqp://guest:guest@127.0.0.1:5672/
export TRIGGERD_TEST_POSTGRES_DSN='postgres://triggerd:triggerd@127.0.0.1:5432/triggerd?sslmode=disable'
export TRIGGERD_TEST_S3_ENDPOINT=http://127.0.0.1:9000
export TRIGGERD_TEST_S3_ACCESS_KEY=triggerd
export TRIGGERD_TEST_S3_SECRET_KEY=triggerd-secret
export TRIGGERD_TEST_S3_BUCKET=triggerd-test
export TRIGGERD_TEST_SMTP_ADDR=127.0.0.1:1025
export TRIGGERD_TEST_SMTP_API=http://127.0.0.1:8025
export TRIGGERD_TEST_CONNECT_URL=http://127.0.0.1:8083
export PATH='$STATE/bin':"\$PATH"
ENV
log "up: all services up in $((SECONDS - t0))s; env written to $STATE/env.sh"
