#!/usr/bin/env bash
# Apache Kafka (KRaft, single combined broker+controller) on 127.0.0.1:9092,
# controller on 127.0.0.1:9093. Jars come from Maven Central via
# scripts/services/kafka/pom.xml into $STATE/kafka/libs; data under $STATE/kafka.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
service_lock kafka

PORT=9092
KDIR="$STATE/kafka"
LIBS="$KDIR/libs"
POM="$SERVICES_SRC/kafka/pom.xml"
CONF="$KDIR/server.properties"
PIDF="$STATE/pids/kafka.pid"
HEAP="${TRIGGERD_KAFKA_HEAP:-1g}"

kafka_ready() {
  # Metadata request must list broker 1 (kcat), not just an open port.
  kcat -b "127.0.0.1:$PORT" -L -m 5 2>/dev/null | grep -q 'broker 1 at'
}

command -v java >/dev/null || apt_install openjdk-17-jre-headless
command -v kcat >/dev/null || apt_install kcat

if pid_alive "$PIDF" && kafka_ready; then
  log "kafka: already running (pid $(cat "$PIDF")) on 127.0.0.1:$PORT"
  exit 0
fi
if ! pid_alive "$PIDF" && port_open "$PORT"; then
  die "port $PORT is taken by a process that kafka.sh did not start"
fi

mkdir -p "$KDIR/data" "$KDIR/logs"

# 1. jars (skip when the pom has not changed since the last resolution).
want="$(sha256sum "$POM" | cut -d' ' -f1)"
if [[ "$(cat "$LIBS/.pom.sha256" 2>/dev/null)" != "$want" ]]; then
  command -v mvn >/dev/null || apt_install maven
  log "kafka: resolving jars from Maven Central into $LIBS"
  rm -rf "$LIBS.tmp"
  mvn -B -q -f "$POM" dependency:copy-dependencies -DincludeScope=runtime \
      -DoutputDirectory="$LIBS.tmp" >"$STATE/logs/kafka-mvn.log" 2>&1 \
    || { tail -n 40 "$STATE/logs/kafka-mvn.log" >&2; die "maven resolution failed"; }
  rm -rf "$LIBS"; mv "$LIBS.tmp" "$LIBS"
  echo "$want" >"$LIBS/.pom.sha256"
fi
log "kafka: $(cd "$LIBS" && ls kafka_2.13-*.jar)"

# 2. config (rewritten every start; cheap and keeps it in sync with this script).
cat >"$CONF" <<PROPS
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:9093
controller.listener.names=CONTROLLER
listeners=PLAINTEXT://127.0.0.1:9092,CONTROLLER://127.0.0.1:9093
advertised.listeners=PLAINTEXT://127.0.0.1:9092
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
log.dirs=$KDIR/data
num.partitions=3
default.replication.factor=1
auto.create.topics.enable=true
offsets.topic.replication.factor=1
offsets.topic.num.partitions=10
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
log.retention.hours=24
num.network.threads=2
num.io.threads=4
PROPS
cat >"$KDIR/log4j2.properties" <<PROPS
status = warn
appender.file.type = File
appender.file.name = FILE
appender.file.fileName = $KDIR/logs/server.log
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.file.ref = FILE
logger.kafka.name = kafka
logger.kafka.level = INFO
logger.state.name = state.change.logger
logger.state.level = WARN
logger.request.name = kafka.request.logger
logger.request.level = WARN
PROPS

# 3. format storage once (kept across restarts).
if [[ ! -s "$KDIR/data/meta.properties" ]]; then
  [[ -s "$KDIR/cluster-id" ]] || java -cp "$LIBS/*" kafka.tools.StorageTool random-uuid 2>/dev/null | tail -n 1 >"$KDIR/cluster-id"
  log "kafka: formatting storage, cluster id $(cat "$KDIR/cluster-id")"
  java -Dlog4j2.configurationFile="$KDIR/log4j2.properties" -cp "$LIBS/*" kafka.tools.StorageTool \
    format -t "$(cat "$KDIR/cluster-id")" -c "$CONF" >"$KDIR/logs/format.log" 2>&1 \
    || { cat "$KDIR/logs/format.log" >&2; die "kafka storage format failed"; }
fi

# 4. start.
log "kafka: starting broker on 127.0.0.1:$PORT (heap $HEAP)"
exec_detached nohup java -Xms256m -Xmx"$HEAP" -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -Djava.awt.headless=true \
  -Dkafka.logs.dir="$KDIR/logs" -Dlog4j2.configurationFile="$KDIR/log4j2.properties" \
  -cp "$LIBS/*" kafka.Kafka "$CONF" >"$KDIR/logs/stdout.log" 2>&1 &
echo $! >"$PIDF"

start=$SECONDS
until kafka_ready; do
  if ! pid_alive "$PIDF"; then
    tail -n 40 "$KDIR/logs/stdout.log" "$KDIR/logs/server.log" >&2 2>/dev/null || true
    die "kafka exited during startup"
  fi
  (( SECONDS - start < 120 )) || { tail -n 40 "$KDIR/logs/server.log" >&2 || true; die "kafka not ready after 120s"; }
  sleep 1
done
log "kafka: ready ($((SECONDS - start))s)"
