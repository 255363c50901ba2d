#!/bin/sh
# Registers the Debezium PostgreSQL connector once (docker-compose service
# connect-init). Idempotent: an existing connector is left as it is.
set -eu
url="${CONNECT_URL:-http://connect:8083}"
file="${CONNECTOR_FILE:-/deploy/debezium/postgres-connector.json}"
name=triggerd-postgres
code=$(curl -s -o /dev/null -w '%{http_code}' "$url/connectors/$name")
if [ "$code" = 200 ]; then
  echo "connector $name already registered"
  exit 0
fi
curl -fsS -X POST -H 'Content-Type: application/json' --data @"$file" "$url/connectors"
echo
echo "connector $name registered"
