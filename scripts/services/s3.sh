#!/usr/bin/env bash
# S3-compatible object storage on 127.0.0.1:9000: moto's S3 server (a
# package from PyPI, pinned, in a virtualenv under $STATE/s3: an install,
# not a build), one bucket "triggerd-test" created for the tests. Keys:
# triggerd / triggerd-secret. Objects live in memory: a restart empties the
# bucket, which the tests (unique keys, nothing kept between runs) allow.
# Override the port with TRIGGERD_S3_PORT.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
service_lock s3

PORT="${TRIGGERD_S3_PORT:-9000}"
# moto[s3] and the server's own dependencies (its "server" extra would pull
# every AWS service's).
PACKAGES=("moto[s3]==5.1.22" "flask==3.1.3" "flask-cors==6.0.5")
SDIR="$STATE/s3"
VENV="$SDIR/venv"
PIDF="$STATE/pids/s3.pid"
BUCKET=triggerd-test
ENDPOINT="http://127.0.0.1:$PORT"

# The bucket answers (HEAD with any credentials: moto checks none).
bucket_ready() { curl -sf -o /dev/null -I "$ENDPOINT/$BUCKET"; }

if pid_alive "$PIDF" && port_open "$PORT" && bucket_ready; then
  log "s3: already answering on 127.0.0.1:$PORT"
  exit 0
fi
pid_alive "$PIDF" && stop_pidfile s3 "$PIDF" 10
port_open "$PORT" && die "port $PORT is taken by a process that s3.sh did not start"

# A marker file records what the virtualenv holds.
if [[ "$(cat "$VENV/.packages" 2>/dev/null)" != "${PACKAGES[*]}" ]]; then
  command -v python3 >/dev/null || apt_install python3 python3-venv
  log "s3: pip install ${PACKAGES[*]} into $VENV (log: $STATE/logs/s3-pip.log)"
  rm -rf "$VENV"
  { python3 -m venv "$VENV" && "$VENV/bin/pip" install -q --disable-pip-version-check "${PACKAGES[@]}"; } \
    >"$STATE/logs/s3-pip.log" 2>&1 || { tail -n 40 "$STATE/logs/s3-pip.log" >&2; die "moto install failed"; }
  echo "${PACKAGES[*]}" >"$VENV/.packages"
fi

log "s3: starting moto's S3 server on 127.0.0.1:$PORT"
exec_detached nohup "$VENV/bin/moto_server" -H 127.0.0.1 -p "$PORT" >"$SDIR/s3.log" 2>&1 &
echo $! >"$PIDF"
wait_started s3 "$PIDF" "$SDIR/s3.log" port_open "$PORT" # lib.sh
curl -sf -o /dev/null -X PUT "$ENDPOINT/$BUCKET" || die "s3: could not create bucket $BUCKET"
log "s3: bucket $BUCKET ready"
