#!/usr/bin/env bash
# S3-compatible object storage on 127.0.0.1:9000: S3Proxy (org.gaul:s3proxy,
# its jar-with-dependencies from Maven Central through
# scripts/services/s3/pom.xml, run on the machine's Java: an install, not a
# build) over jclouds' filesystem blob store under $STATE/s3/data, so objects
# survive a restart. Requests must be signed (AWS signature V2 or V4) with
# triggerd / triggerd-secret, the keys env.sh exports: an unsigned or
# wrongly signed request is refused, as by S3. One bucket, "triggerd-test",
# is created for the tests; they write under keys of their own, so the
# directory grows by a few MB a run: delete $STATE/s3/data (server stopped)
# to start empty. Override the port with TRIGGERD_S3_PORT, the Java heap
# (256m) with TRIGGERD_S3_HEAP.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
service_lock s3

PORT="${TRIGGERD_S3_PORT:-9000}"
HEAP="${TRIGGERD_S3_HEAP:-256m}"
ACCESS_KEY=triggerd SECRET_KEY=triggerd-secret
BUCKET=triggerd-test
ENDPOINT="http://127.0.0.1:$PORT"
POM="$SERVICES_SRC/s3/pom.xml"
SDIR="$STATE/s3"
LIBS="$SDIR/libs"
DATA="$SDIR/data"
CONF="$SDIR/s3proxy.properties"
PIDF="$STATE/pids/s3.pid"

command -v java >/dev/null || apt_install openjdk-17-jre-headless
command -v curl >/dev/null || apt_install curl

# s3 ARGS...: a bodiless request signed with AWS signature V4 (curl's
# --aws-sigv4). S3's V4 signs the payload's SHA-256 in x-amz-content-sha256,
# which this curl does not send by itself: the header gives the empty body's.
EMPTY_SHA256=e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
s3() {
  curl -sS --max-time 10 --aws-sigv4 "aws:amz:us-east-1:s3" --user "$ACCESS_KEY:$SECRET_KEY" \
    -H "x-amz-content-sha256: $EMPTY_SHA256" "$@"
}
# answers: the server lists its buckets to a signed request, which proves
# signature checking works with the test keys.
answers() { [[ "$(s3 -o /dev/null -w '%{http_code}' "$ENDPOINT/" 2>/dev/null)" == 200 ]]; }

# server_config: S3Proxy's properties (written at every start; a running
# server is restarted when they changed).
server_config() {
  cat <<PROPS
s3proxy.endpoint=$ENDPOINT
s3proxy.authorization=aws-v2-or-v4
s3proxy.identity=$ACCESS_KEY
s3proxy.credential=$SECRET_KEY
jclouds.provider=filesystem
jclouds.filesystem.basedir=$DATA
PROPS
}

# ensure_bucket: create $BUCKET unless it exists (HEAD answers 200).
ensure_bucket() {
  local code
  code="$(s3 -o /dev/null -w '%{http_code}' -I "$ENDPOINT/$BUCKET")" || die "s3: HEAD $BUCKET failed"
  if [[ "$code" != 200 ]]; then
    s3 -f -o /dev/null -X PUT "$ENDPOINT/$BUCKET" || die "s3: could not create bucket $BUCKET"
  fi
  log "s3: bucket $BUCKET ready"
}

stamp() { sha256sum "$POM" | cut -d' ' -f1; }
jar_current() { [[ "$(cat "$LIBS/.pom.sha256" 2>/dev/null)" == "$(stamp)" ]]; }

mkdir -p "$SDIR" "$DATA"
if pid_alive "$PIDF" && answers && jar_current && [[ "$(server_config)" == "$(cat "$CONF" 2>/dev/null)" ]]; then
  log "s3: already answering on $ENDPOINT (pid $(cat "$PIDF"))"
  ensure_bucket
  exit 0
fi
if ! pid_alive "$PIDF" && port_open "$PORT"; then
  die "port $PORT is taken by a process that s3.sh did not start"
fi
# A server on an outdated jar or configuration (or another S3 server an
# older s3.sh started), or not answering, is restarted.
pid_alive "$PIDF" && stop_pidfile s3 "$PIDF" 10

# 1. the jar (resolved again only when the pom changed).
if ! jar_current; then
  command -v mvn >/dev/null || apt_install maven
  log "s3: resolving ${POM#"$SERVICES_SRC/"} from Maven Central into $LIBS (log: $STATE/logs/s3-mvn.log)"
  start=$SECONDS
  rm -rf "$LIBS.tmp"
  mvn -B -q -f "$POM" dependency:copy-dependencies -DoutputDirectory="$LIBS.tmp" >"$STATE/logs/s3-mvn.log" 2>&1 \
    || { tail -n 40 "$STATE/logs/s3-mvn.log" >&2; die "maven resolution of $POM failed"; }
  rm -rf "$LIBS"; mv "$LIBS.tmp" "$LIBS"
  stamp >"$LIBS/.pom.sha256"
  log "s3: resolved $(cd "$LIBS" && ls s3proxy-*.jar) in $((SECONDS - start))s"
fi

# 2. configuration, and start (the previous run's log kept as s3.log.1).
server_config >"$CONF"
[[ -f "$SDIR/s3.log" ]] && mv "$SDIR/s3.log" "$SDIR/s3.log.1"
log "s3: starting S3Proxy on $ENDPOINT (data in $DATA, heap $HEAP)"
exec_detached nohup java -Xms64m -Xmx"$HEAP" -Djava.awt.headless=true \
  -cp "$LIBS/*" org.gaul.s3proxy.Main --properties "$CONF" >"$SDIR/s3.log" 2>&1 &
echo $! >"$PIDF"
wait_started s3 "$PIDF" "$SDIR/s3.log" answers # lib.sh
ensure_bucket
