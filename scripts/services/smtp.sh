#!/usr/bin/env bash
# A test SMTP server on 127.0.0.1:1025 with a MailHog-style JSON API on
# 127.0.0.1:8025 (GET /api/v2/messages). It is aiosmtpd (Debian's
# python3-aiosmtpd) driven by smtp_server.py: MailHog and Mailpit do not
# install from the Go module proxy here. Recipients named reject*@… get 550.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
service_lock smtp

SMTP_PORT=1025
API_PORT=8025
PIDFILE="$STATE/pids/smtp.pid"
if pid_alive "$PIDFILE" && port_open "$SMTP_PORT" && port_open "$API_PORT"; then
  log "smtp: already answering on 127.0.0.1:$SMTP_PORT (api $API_PORT)"
  exit 0
fi
# Debian's interpreter: the one the package installs into.
PY=/usr/bin/python3
"$PY" -c 'import aiosmtpd' 2>/dev/null || apt_install python3-aiosmtpd

mkdir -p "$STATE/smtp" "$STATE/pids"
log "smtp: starting on 127.0.0.1:$SMTP_PORT (api 127.0.0.1:$API_PORT)"
SMTP_PORT=$SMTP_PORT API_PORT=$API_PORT \
  exec_detached "$PY" "$SERVICES_SRC/smtp_server.py" >>"$STATE/smtp/smtp.log" 2>&1 &
echo $! >"$PIDFILE"
wait_for 30 "smtp" bash -c "(exec 3<>/dev/tcp/127.0.0.1/$SMTP_PORT) 2>/dev/null"
wait_for 30 "smtp api" bash -c "(exec 3<>/dev/tcp/127.0.0.1/$API_PORT) 2>/dev/null"
