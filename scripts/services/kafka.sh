#!/usr/bin/env bash
# Apache Kafka (KRaft, single combined broker+controller) on 127.0.0.1:9092
# (PLAINTEXT), controller on 127.0.0.1:9093, and a SASL_SSL listener on
# 127.0.0.1:9094 (TLS with a CA this script generates into $STATE/kafka/tls,
# SCRAM-SHA-512 and SCRAM-SHA-256 credentials for user triggerd; see env.sh).
# Jars come from Maven Central via scripts/services/kafka/pom.xml into
# $STATE/kafka/libs; data under $STATE/kafka. Idempotent: a running broker
# whose configuration (or jar set) differs from this script's is restarted once.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
service_lock kafka

PORT=9092
SASL_PORT=9094
SCRAM_USER=triggerd
SCRAM_PASSWORD=triggerd-scram
KDIR="$STATE/kafka"
LIBS="$KDIR/libs"
TLS="$KDIR/tls"
POM="$SERVICES_SRC/kafka/pom.xml"
CONF="$KDIR/server.properties"
PIDF="$STATE/pids/kafka.pid"
HEAP="${TRIGGERD_KAFKA_HEAP:-1g}"

kafka_ready() {
  # Metadata request must list broker 1 (kcat), not just an open port.
  kcat -b "127.0.0.1:$PORT" -L -m 5 2>/dev/null | grep -q 'broker 1 at'
}

# kafka_tool CLASS ARGS...: run one of Kafka's Java command-line tools.
kafka_tool() {
  java -Dlog4j2.configurationFile="$KDIR/log4j2.properties" -cp "$LIBS/*" "$@"
}

# sasl_login MECHANISM: log in over the SASL_SSL listener with the Java client
# (TLS verified against our CA, then SCRAM) and describe the user. (kcat is not
# used here: the librdkafka Debian ships fails SCRAM against this broker.)
sasl_login() {
  local props="$KDIR/client-$1.properties"
  cat >"$props" <<PROPS
security.protocol=SASL_SSL
sasl.mechanism=$1
sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="$SCRAM_USER" password="$SCRAM_PASSWORD";
ssl.truststore.type=PEM
ssl.truststore.location=$TLS/ca.pem
PROPS
  kafka_tool org.apache.kafka.tools.ConfigCommand --bootstrap-server "127.0.0.1:$SASL_PORT" \
    --command-config "$props" --describe --entity-type users --entity-name "$SCRAM_USER" 2>&1 | grep -q "$1="
}

command -v java >/dev/null || apt_install openjdk-17-jre-headless
command -v kcat >/dev/null || apt_install kcat
command -v openssl >/dev/null || apt_install openssl

mkdir -p "$KDIR/data" "$KDIR/logs"

# 1. jars (skip when the pom has not changed since the last resolution). Done
# before looking at a running broker so that a restart is as short as possible.
want="$(sha256sum "$POM" | cut -d' ' -f1)"
if [[ "$(cat "$LIBS/.pom.sha256" 2>/dev/null)" != "$want" ]]; then
  command -v mvn >/dev/null || apt_install maven
  log "kafka: resolving jars from Maven Central into $LIBS.next"
  rm -rf "$LIBS.next"
  mvn -B -q -f "$POM" dependency:copy-dependencies -DincludeScope=runtime \
      -DoutputDirectory="$LIBS.next" >"$STATE/logs/kafka-mvn.log" 2>&1 \
    || { tail -n 40 "$STATE/logs/kafka-mvn.log" >&2; die "maven resolution failed"; }
  echo "$want" >"$LIBS.next/.pom.sha256"
fi

# 2. TLS material for the SASL_SSL listener (generated once, kept across
# restarts): a CA and a server certificate for 127.0.0.1/localhost, the key and
# chain in one PEM file the broker reads (ssl.keystore.type=PEM).
if [[ ! -s "$TLS/ca.pem" || ! -s "$TLS/keystore.pem" ]]; then
  log "kafka: generating a CA and a server certificate in $TLS"
  rm -rf "$TLS.tmp"; mkdir -p "$TLS.tmp"
  (
    cd "$TLS.tmp"
    openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 3650 \
      -subj "/CN=triggerd test Kafka CA" \
      -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign"
    openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr -subj "/CN=localhost"
    printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n' >server.ext
    openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 3650 \
      -extfile server.ext -out server.pem
    cat server.key server.pem ca.pem >keystore.pem
    rm -f server.csr server.ext ca.srl
  ) >"$STATE/logs/kafka-tls.log" 2>&1 || { cat "$STATE/logs/kafka-tls.log" >&2; die "openssl failed"; }
  chmod 644 "$TLS.tmp"/*.pem
  rm -rf "$TLS"; mv "$TLS.tmp" "$TLS"
fi

# 3. config (rewritten every start; cheap and keeps it in sync with this
# script). The first line names the jar set, so a pom change restarts too.
conf_next="$CONF.next"
cat >"$conf_next" <<PROPS
# jars: $want
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:9093
controller.listener.names=CONTROLLER
listeners=PLAINTEXT://127.0.0.1:$PORT,CONTROLLER://127.0.0.1:9093,SASL_SSL://127.0.0.1:$SASL_PORT
advertised.listeners=PLAINTEXT://127.0.0.1:$PORT,SASL_SSL://127.0.0.1:$SASL_PORT
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT,SASL_SSL:SASL_SSL
sasl.enabled.mechanisms=SCRAM-SHA-512,SCRAM-SHA-256
listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
listener.name.sasl_ssl.scram-sha-256.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
listener.name.sasl_ssl.ssl.keystore.type=PEM
listener.name.sasl_ssl.ssl.keystore.location=$TLS/keystore.pem
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

# scram_users: create the SCRAM credentials once (they live in the metadata
# log under data/, next to the marker), then prove a login with each mechanism.
scram_users() {
  local marker="$KDIR/data/.scram-users"
  [[ "$(cat "$marker" 2>/dev/null)" == "$SCRAM_USER:$SCRAM_PASSWORD" ]] && return 0
  log "kafka: creating SCRAM-SHA-512/256 credentials for user $SCRAM_USER"
  local m
  for m in SCRAM-SHA-512 SCRAM-SHA-256; do
    # One mechanism per request: ConfigCommand sends both in one request,
    # which the broker refuses as "altered twice".
    kafka_tool org.apache.kafka.tools.ConfigCommand --bootstrap-server "127.0.0.1:$PORT" --alter \
      --entity-type users --entity-name "$SCRAM_USER" --add-config "$m=[password=$SCRAM_PASSWORD]" \
      >"$KDIR/logs/scram.log" 2>&1 || { cat "$KDIR/logs/scram.log" >&2; die "creating the $m user failed"; }
  done
  for m in SCRAM-SHA-512 SCRAM-SHA-256; do
    wait_for 120 "kafka SASL_SSL listener ($m login)" sasl_login "$m" || die "no $m login on 127.0.0.1:$SASL_PORT"
  done
  echo "$SCRAM_USER:$SCRAM_PASSWORD" >"$marker"
}

if pid_alive "$PIDF"; then
  if kafka_ready && cmp -s "$conf_next" "$CONF"; then
    rm -f "$conf_next"
    scram_users
    log "kafka: already running (pid $(cat "$PIDF")) on 127.0.0.1:$PORT, SASL_SSL on 127.0.0.1:$SASL_PORT"
    exit 0
  fi
  log "kafka: configuration or jars changed (or broker not ready); restarting"
  stop_pidfile kafka "$PIDF" 60
fi
for p in "$PORT" 9093 "$SASL_PORT"; do
  port_open "$p" && die "port $p is taken by a process that kafka.sh did not start"
done
if [[ -d "$LIBS.next" ]]; then rm -rf "$LIBS"; mv "$LIBS.next" "$LIBS"; fi
mv "$conf_next" "$CONF"
log "kafka: $(cd "$LIBS" && ls kafka_2.13-*.jar)"

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

# 4. format storage once (kept across restarts).
if [[ ! -s "$KDIR/data/meta.properties" ]]; then
  [[ -s "$KDIR/cluster-id" ]] || java -cp "$LIBS/*" kafka.tools.StorageTool random-uuid 2>/dev/null | tail -n 1 >"$KDIR/cluster-id"
  log "kafka: formatting storage, cluster id $(cat "$KDIR/cluster-id")"
  kafka_tool kafka.tools.StorageTool \
    format -t "$(cat "$KDIR/cluster-id")" -c "$CONF" >"$KDIR/logs/format.log" 2>&1 \
    || { cat "$KDIR/logs/format.log" >&2; die "kafka storage format failed"; }
fi

# 5. start.
log "kafka: starting broker on 127.0.0.1:$PORT, SASL_SSL on 127.0.0.1:$SASL_PORT (heap $HEAP)"
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
scram_users
