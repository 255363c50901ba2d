#!/usr/bin/env bash
# S3-compatible object storage on 127.0.0.1:9000: versitygw (posix backend,
# built from its Go module), objects under $STATE/s3/data, one bucket
# "triggerd-test" created for the tests. Keys: triggerd / triggerd-secret.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
service_lock s3

PORT=9000
VERSION=v1.8.0
BIN="$STATE/bin/versitygw"
PIDF="$STATE/pids/s3.pid"
SDIR="$STATE/s3"
BUCKET=triggerd-test

if pid_alive "$PIDF" && port_open "$PORT"; then
  log "s3: already answering on 127.0.0.1:$PORT"
  exit 0
fi
port_open "$PORT" && die "port $PORT is taken by a process that s3.sh did not start"

# go install leaves no version in the binary; a marker file records it.
if [[ ! -x "$BIN" || "$(cat "$BIN.version" 2>/dev/null)" != "$VERSION" ]]; then
  command -v go >/dev/null || die "go is required to build versitygw"
  log "s3: go install github.com/versity/versitygw/cmd/versitygw@$VERSION (log: $STATE/logs/s3-build.log)"
  (cd / && GOBIN="$STATE/bin" GOFLAGS='' GOWORK=off \
     go install "github.com/versity/versitygw/cmd/versitygw@$VERSION") >"$STATE/logs/s3-build.log" 2>&1 \
    || { tail -n 40 "$STATE/logs/s3-build.log" >&2; die "versitygw build failed"; }
  echo "$VERSION" >"$BIN.version"
fi

# A bucket of the posix backend is a top-level directory.
mkdir -p "$SDIR/data/$BUCKET"
log "s3: starting versitygw on 127.0.0.1:$PORT (data $SDIR/data)"
ROOT_ACCESS_KEY=triggerd ROOT_SECRET_KEY=triggerd-secret \
  exec_detached nohup "$BIN" --port "127.0.0.1:$PORT" posix "$SDIR/data" >"$SDIR/s3.log" 2>&1 &
echo $! >"$PIDF"
wait_for 30 "s3" port_open "$PORT" || { tail -n 40 "$SDIR/s3.log" >&2; die "versitygw did not start"; }
