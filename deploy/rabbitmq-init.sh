#!/bin/sh
# Declares what the sample triggers publish to (docker-compose service
# rabbitmq-init): triggerd declares nothing itself, so a missing queue or
# exchange fails the action instead of silently creating one. Idempotent.
set -eu
api="${RABBITMQ_API:-http://rabbitmq:15672/api}"
auth="${RABBITMQ_USER:-triggerd}:${RABBITMQ_PASS:-triggerd}"
curl -fsS -u "$auth" -X PUT -H 'Content-Type: application/json' \
  --data '{"durable":true}' "$api/queues/%2F/triggerd.orders"
echo "queue triggerd.orders declared"
