#!/usr/bin/env bash
# Kafka Connect worker (distributed mode) on 127.0.0.1:8083 with the Debezium
# PostgreSQL connector, against the Kafka (9092) and PostgreSQL (5432) that
# kafka.sh and postgres.sh start (run it after them; up.sh does).
#
# Jars come from Maven Central: the worker from scripts/services/connect/pom.xml
# at the Kafka version of scripts/services/kafka/pom.xml (one version for the
# broker and the worker), the connector from
# scripts/services/connect/debezium-postgres/pom.xml into its own directory
# on the worker's plugin.path. State under $STATE/connect; the worker's own
# state (configs, offsets, statuses) lives in Kafka topics triggerd-connect-*.
#
# Then, in PostgreSQL database "app" (compose's application database, with
# deploy/postgres/init.sql applied), it registers through deploy/connect-init.sh:
#   triggerd-postgres          deploy/debezium/postgres-connector.json as compose
#                              runs it, with the local address and credentials
#   triggerd-test-schemaless   the shared connector of the tests (internal/cdctest):
#   triggerd-test-schemas      see render_test_connectors below
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
service_lock connect

PORT=8083
URL="http://127.0.0.1:$PORT"
CDIR="$STATE/connect"
LIBS="$CDIR/libs"
PLUGINS="$CDIR/plugins"
DBZ="$PLUGINS/debezium-connector-postgres"
POM="$SERVICES_SRC/connect/pom.xml"
DBZ_POM="$SERVICES_SRC/connect/debezium-postgres/pom.xml"
KAFKA_POM="$SERVICES_SRC/kafka/pom.xml"
DEPLOY="$(cd "$SERVICES_SRC/../../deploy" && pwd)"
CONF="$CDIR/worker.properties"
PIDF="$STATE/pids/connect.pid"
HEAP="${TRIGGERD_CONNECT_HEAP:-512m}"
# The largest record: producer.max.request.size of the worker and
# max.message.bytes of the topics the test connectors create; the most
# ingest reads in one message (kafka-go's MaxBytes in ingest/group.go).
MAX_MESSAGE_BYTES=$((10 * 1024 * 1024))
PG_HOST=127.0.0.1 PG_PORT=5432 PG_USER=triggerd PG_PASSWORD=triggerd APP_DB=app

command -v java >/dev/null || apt_install openjdk-17-jre-headless
command -v curl >/dev/null || apt_install curl
command -v jq >/dev/null || apt_install jq

# rest_ready: the worker has joined its group and answers REST requests.
rest_ready() { curl -fsS --max-time 5 "$URL/connectors" >/dev/null 2>&1; }

pgbin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1; }
psql_app() { PGPASSWORD="$PG_PASSWORD" PGOPTIONS='-c client_min_messages=warning' "$(pgbin)/psql" -h "$PG_HOST" -p "$PG_PORT" -U "$PG_USER" -d "$1" -tAq -v ON_ERROR_STOP=1 "${@:2}"; }

# prepare_database: database "app" with compose's tables, and the signal
# table of each test connector (Debezium reads "execute-snapshot" signals
# from it: internal/cdctest's snapshot reads).
prepare_database() {
  port_open "$PG_PORT" || die "connect: PostgreSQL is not running on $PG_PORT (run postgres.sh first)"
  if [[ "$(psql_app triggerd -c "SELECT 1 FROM pg_database WHERE datname='$APP_DB'")" != 1 ]]; then
    log "connect: creating database $APP_DB"
    psql_app triggerd -c "CREATE DATABASE $APP_DB OWNER $PG_USER"
  fi
  psql_app "$APP_DB" -f "$DEPLOY/postgres/init.sql" >/dev/null
  local s
  for s in cdcs_signal cdcp_signal; do
    psql_app "$APP_DB" -c "CREATE SCHEMA IF NOT EXISTS $s;
      CREATE TABLE IF NOT EXISTS $s.debezium_signal (id varchar(64) PRIMARY KEY, type varchar(32) NOT NULL, data varchar(2048))"
  done
}

# render_connectors DIR: the three connector configurations, as files of
# deploy/connect-init.sh's format. The test connectors are compose's
# connector with these differences:
#   - each captures every schema named <prefix>_* (cdcs_ / cdcp_) through a
#     publication FOR ALL TABLES, so a table a test creates while the
#     connector runs is captured at its first change, without
#     re-registering (a "filtered" publication lists the tables that exist
#     when the connector starts, and would miss it);
#   - no initial snapshot (snapshot.mode no_data): snapshot reads are asked
#     for per table through the signal table (incremental snapshots);
#   - a heartbeat every 2s (topic __debezium-heartbeat.<topic.prefix>), so
#     the slot's confirmed LSN follows the WAL while the other databases of
#     the cluster write and the captured schemas are idle;
#   - triggerd-test-schemas uses JsonConverter with schemas.enable=true and
#     Debezium's default value encodings (precise decimals, adaptive times,
#     numeric intervals): decoding by the Connect schema;
#   - the topics Connect creates for them take records up to
#     MAX_MESSAGE_BYTES, and a record Kafka still refuses is logged and
#     skipped (errors.tolerance all) instead of failing the task: one
#     test's oversized row must not stop the connector every test shares;
#   - triggerd-test-schemaless keeps compose's schemaless settings
#     (decimal.handling.mode string, time.precision.mode connect,
#     interval.handling.mode string): decoding without the schema.
# Both provide transaction metadata (topic <topic.prefix>.transaction).
render_connectors() {
  local dir="$1" local_pg
  local_pg=$(jq -n --arg h "$PG_HOST" --arg p "$PG_PORT" --arg u "$PG_USER" --arg pw "$PG_PASSWORD" \
    '{"database.hostname": $h, "database.port": $p, "database.user": $u, "database.password": $pw}')
  jq --argjson pg "$local_pg" '. + $pg' "$DEPLOY/debezium/postgres-connector.json" >"$dir/triggerd-postgres.json"
  jq --arg max "$MAX_MESSAGE_BYTES" '. + {
        "name": "triggerd-test-schemaless",
        "topic.prefix": "cdctest-schemaless",
        "slot.name": "triggerd_test_schemaless",
        "publication.name": "triggerd_test_schemaless",
        "publication.autocreate.mode": "all_tables",
        "schema.include.list": "cdcp_.*",
        "snapshot.mode": "no_data",
        "signal.data.collection": "cdcp_signal.debezium_signal",
        "heartbeat.interval.ms": "2000",
        "topic.creation.default.partitions": "3",
        "topic.creation.default.replication.factor": "1",
        "topic.creation.default.max.message.bytes": $max,
        "errors.tolerance": "all",
        "errors.log.enable": "true"
      } | del(."table.include.list")' "$dir/triggerd-postgres.json" >"$dir/triggerd-test-schemaless.json"
  jq '. + {
        "name": "triggerd-test-schemas",
        "topic.prefix": "cdctest-schemas",
        "slot.name": "triggerd_test_schemas",
        "publication.name": "triggerd_test_schemas",
        "schema.include.list": "cdcs_.*",
        "signal.data.collection": "cdcs_signal.debezium_signal",
        "key.converter.schemas.enable": "true",
        "value.converter.schemas.enable": "true"
      } | del(."decimal.handling.mode", ."time.precision.mode", ."interval.handling.mode")' \
    "$dir/triggerd-test-schemaless.json" >"$dir/triggerd-test-schemas.json"
}

# connector_state NAME: "RUNNING" when the connector and all its tasks run,
# else the states seen ("RUNNING FAILED", "UNASSIGNED", "UNKNOWN"...).
connector_state() {
  curl -fsS --max-time 5 "$URL/connectors/$1/status" 2>/dev/null |
    jq -r '[.connector.state] + [.tasks[].state] | if length > 1 and all(. == "RUNNING") then "RUNNING" else join(" ") end' 2>/dev/null ||
    echo "UNKNOWN"
}

# slot_active SLOT: Debezium streams from the replication slot. Connect
# reports a task RUNNING as soon as its start returned; only the active
# slot shows that the connector is past its snapshot and reading the WAL.
slot_active() {
  [[ "$(psql_app "$APP_DB" -c "SELECT active FROM pg_replication_slots WHERE slot_name = '$1'")" == t ]]
}

# reset_offsets NAME: stop the connector, delete its source offsets and
# resume it (Kafka Connect's offsets API): it starts again from its
# replication slot's position, as a new connector would.
reset_offsets() {
  local name="$1" i
  log "connect: $name: its offset is no longer in its slot; resetting its offsets"
  curl -fsS --max-time 10 -X PUT "$URL/connectors/$1/stop" >/dev/null
  for i in $(seq 30); do
    [[ "$(curl -fsS --max-time 5 "$URL/connectors/$name/status" | jq -r .connector.state)" == STOPPED ]] && break
    sleep 1
  done
  curl -fsS --max-time 30 -X DELETE "$URL/connectors/$name/offsets" >/dev/null
  curl -fsS --max-time 10 -X PUT "$URL/connectors/$name/resume" >/dev/null
}

# wait_streaming NAME SLOT: until the connector and its task are RUNNING and
# its slot is active. A failed task is restarted once (e.g. it lost
# PostgreSQL while the database restarted); failing again is an error.
wait_streaming() {
  local name="$1" slot="$2" start=$SECONDS restarted="" state trace
  while :; do
    state="$(connector_state "$name")"
    if [[ "$state" == RUNNING ]] && slot_active "$slot"; then
      log "connect: $name streaming from slot $slot ($((SECONDS - start))s)"
      return 0
    fi
    if [[ "$state" == *FAILED* ]]; then
      trace="$(curl -fsS --max-time 5 "$URL/connectors/$name/status" | jq -r '[.connector.trace, .tasks[].trace] | map(select(.)) | .[]' || true)"
      head -n 8 <<<"$trace" >&2
      [[ -z "$restarted" ]] || die "connect: $name failed again after a restart (log $CDIR/logs/connect.log)"
      if [[ "$trace" == *"no longer available on the server"* ]]; then
        # Its stored offset is behind its slot (the slot was recreated, or
        # moved without it): forget the offset, stream from the slot.
        reset_offsets "$name"
      else
        log "connect: $name is $state; restarting its failed parts"
        curl -fsS --max-time 10 -X POST "$URL/connectors/$name/restart?includeTasks=true&onlyFailed=true" >/dev/null
      fi
      restarted=1
    fi
    (( SECONDS - start < 120 )) || die "connect: $name not streaming after 120s (state: $state; log $CDIR/logs/connect.log)"
    pid_alive "$PIDF" || die "connect: the worker exited (log $CDIR/logs/connect.log)"
    sleep 1
  done
}

# register_connectors: PUT each configuration (idempotent: Connect restarts
# a connector only when its configuration changed) and wait until each
# streams.
register_connectors() {
  prepare_database
  local dir="$CDIR/connectors" f name
  mkdir -p "$dir"
  render_connectors "$dir"
  for f in "$dir"/*.json; do
    name="$(jq -r .name "$f")"
    # Unchanged: no PUT, which would restart the connector for nothing.
    if [[ "$(curl -fsS --max-time 5 "$URL/connectors/$name/config" 2>/dev/null | jq -S . 2>/dev/null)" == "$(jq -S . "$f")" ]]; then
      log "connect: connector $name registered, configuration unchanged"
      continue
    fi
    CONNECT_URL="$URL" CONNECTOR_FILE="$f" sh "$DEPLOY/connect-init.sh" >"$CDIR/logs/connect-init.log" 2>&1 ||
      { cat "$CDIR/logs/connect-init.log" >&2; die "connect: registering $name failed"; }
    log "connect: $(cat "$CDIR/logs/connect-init.log")"
  done
  for f in "$dir"/*.json; do
    wait_streaming "$(jq -r .name "$f")" "$(jq -r '."slot.name"' "$f")"
  done
}

# Jar stamps: the poms (and the Kafka version they are resolved at).
KAFKA_VERSION="$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$KAFKA_POM")"
[[ -n "$KAFKA_VERSION" ]] || die "connect: no <kafka.version> in $KAFKA_POM"
stamp() { { cat "$1"; echo "kafka.version=$KAFKA_VERSION"; } | sha256sum | cut -d' ' -f1; }
jars_current() {
  [[ "$(cat "$LIBS/.pom.sha256" 2>/dev/null)" == "$(stamp "$POM")" &&
     "$(cat "$DBZ/.pom.sha256" 2>/dev/null)" == "$(stamp "$DBZ_POM")" ]]
}

# worker_config: the worker's properties, then its log4j2 configuration
# (written at every start; the running worker is restarted when they
# changed).
worker_config() {
  cat <<PROPS
bootstrap.servers=127.0.0.1:9092
group.id=triggerd-connect
listeners=http://127.0.0.1:$PORT
rest.advertised.host.name=127.0.0.1
rest.advertised.port=$PORT
config.storage.topic=triggerd-connect-configs
offset.storage.topic=triggerd-connect-offsets
status.storage.topic=triggerd-connect-status
config.storage.replication.factor=1
offset.storage.replication.factor=1
status.storage.replication.factor=1
offset.storage.partitions=5
status.storage.partitions=1
key.converter=org.apache.kafka.connect.json.JsonConverter
value.converter=org.apache.kafka.connect.json.JsonConverter
plugin.path=$PLUGINS
# Every plugin here ships ServiceLoader manifests: no class path scanning.
plugin.discovery=service_load
# Source offsets (and with them the LSN Debezium confirms to PostgreSQL)
# every second, so a restart replays little.
offset.flush.interval.ms=1000
# One worker: when it restarts, give its connectors back at once instead of
# waiting up to 5 minutes for the "departed" worker to return.
scheduled.rebalance.max.delay.ms=0
task.shutdown.graceful.timeout.ms=10000
# Rows of several MB (TOASTed values, large-row tests) fit in one record;
# the topics the test connectors create allow as much (see
# render_connectors). Kafka's default, 1 MB, fails the task on a big row.
producer.max.request.size=$MAX_MESSAGE_BYTES
PROPS
}
log_config() {
  cat <<PROPS
status = warn
appender.file.type = File
appender.file.name = FILE
appender.file.fileName = $CDIR/logs/connect.log
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.file.ref = FILE
logger.clients.name = org.apache.kafka.clients
logger.clients.level = WARN
logger.common.name = org.apache.kafka.common
logger.common.level = WARN
logger.reflections.name = org.reflections
logger.reflections.level = ERROR
PROPS
}

mkdir -p "$CDIR/logs"
if pid_alive "$PIDF" && rest_ready && jars_current && [[ "$(worker_config)" == "$(cat "$CONF" 2>/dev/null)" ]]; then
  log "connect: already running (pid $(cat "$PIDF")) on $URL"
  register_connectors
  exit 0
fi
if ! pid_alive "$PIDF" && port_open "$PORT"; then
  die "port $PORT is taken by a process that connect.sh did not start"
fi
# A worker on outdated jars or configuration, or not answering, is restarted.
pid_alive "$PIDF" && stop_pidfile connect "$PIDF" 30

# 1. jars (skip when the poms have not changed since the last resolution).
resolve() { # resolve POM DIR
  local pom="$1" out="$2" want
  want="$(stamp "$pom")"
  [[ "$(cat "$out/.pom.sha256" 2>/dev/null)" == "$want" ]] && return 0
  command -v mvn >/dev/null || apt_install maven
  log "connect: resolving ${pom#"$SERVICES_SRC/"} (Kafka $KAFKA_VERSION) from Maven Central into $out"
  rm -rf "$out.tmp"
  mvn -B -q -f "$pom" -Dkafka.version="$KAFKA_VERSION" dependency:copy-dependencies -DincludeScope=runtime \
      -DoutputDirectory="$out.tmp" >"$CDIR/logs/mvn.log" 2>&1 \
    || { tail -n 40 "$CDIR/logs/mvn.log" >&2; die "maven resolution of $pom failed"; }
  rm -rf "$out"; mv "$out.tmp" "$out"
  echo "$want" >"$out/.pom.sha256"
}
mkdir -p "$PLUGINS"
resolve "$POM" "$LIBS"
resolve "$DBZ_POM" "$DBZ"
log "connect: $(cd "$LIBS" && ls connect-runtime-*.jar), $(cd "$DBZ" && ls debezium-connector-postgres-*.jar)"

# 2. configuration, and start (the previous run's log kept as connect.log.1).
worker_config >"$CONF"
log_config >"$CDIR/log4j2.properties"
[[ -f "$CDIR/logs/connect.log" ]] && mv "$CDIR/logs/connect.log" "$CDIR/logs/connect.log.1"
log "connect: starting worker on $URL (heap $HEAP)"
exec_detached nohup java -Xms128m -Xmx"$HEAP" -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -Djava.awt.headless=true \
  -Dlog4j2.configurationFile="$CDIR/log4j2.properties" \
  -cp "$LIBS/*" org.apache.kafka.connect.cli.ConnectDistributed "$CONF" >"$CDIR/logs/stdout.log" 2>&1 &
echo $! >"$PIDF"

start=$SECONDS
until rest_ready; do
  if ! pid_alive "$PIDF"; then
    tail -n 40 "$CDIR/logs/stdout.log" "$CDIR/logs/connect.log" >&2 2>/dev/null || true
    die "connect exited during startup"
  fi
  (( SECONDS - start < 120 )) || { tail -n 40 "$CDIR/logs/connect.log" >&2 || true; die "connect not ready after 120s"; }
  sleep 1
done
log "connect: worker ready ($((SECONDS - start))s)"
register_connectors
