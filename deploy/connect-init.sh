#!/bin/sh
# Registers a Kafka Connect connector (docker-compose service connect-init;
# scripts/services/connect.sh uses it for the local services too).
# CONNECTOR_FILE is the connector's configuration, a flat JSON object with
# its "name" (the body of PUT /connectors/<name>/config). Idempotent: the
# first run creates the connector, later runs apply the file's current
# configuration (Connect restarts the connector only when it changed).
set -eu
url="${CONNECT_URL:-http://connect:8083}"
file="${CONNECTOR_FILE:-/deploy/debezium/postgres-connector.json}"
name=$(sed -n 's/^[[:space:]]*"name"[[:space:]]*:[[:space:]]*"\([^"]*\)".*/\1/p' "$file" | head -n 1)
if [ -z "$name" ]; then
  echo "$file: no \"name\"" >&2
  exit 1
fi
out=$(mktemp)
trap 'rm -f "$out"' EXIT
code=$(curl -sS -o "$out" -w '%{http_code}' -X PUT -H 'Content-Type: application/json' \
  --data @"$file" "$url/connectors/$name/config")
case "$code" in
  201) echo "connector $name registered" ;;
  200) echo "connector $name configuration applied" ;;
  *) echo "connector $name: PUT $url/connectors/$name/config answered $code:" >&2
     cat "$out" >&2; echo >&2
     exit 1 ;;
esac
