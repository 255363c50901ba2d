# shellcheck shell=sh
# Source me: `. scripts/services/env.sh` — addresses of the services that
# scripts/services/up.sh starts on this machine (all on 127.0.0.1).
TRIGGERD_SERVICES_DIR="${TRIGGERD_SERVICES_DIR:-/var/tmp/triggerd-services}"
export TRIGGERD_SERVICES_DIR
export TRIGGERD_TEST_KAFKA_BROKERS=127.0.0.1:9092
export TRIGGERD_TEST_TEMPORAL_ADDRESS=127.0.0.1:7233
# The same API served by a real Temporal server persisted in PostgreSQL
# (scripts/services/temporal-pg.sh).
export TRIGGERD_TEST_TEMPORAL_PG_ADDRESS=127.0.0.1:7333
export TRIGGERD_TEST_REDIS_ADDR=127.0.0.1:6379
export TRIGGERD_TEST_RABBITMQ_URL=amqp://guest:guest@127.0.0.1:5672/
export TRIGGERD_TEST_POSTGRES_DSN='postgres://triggerd:triggerd@127.0.0.1:5432/triggerd?sslmode=disable'
export TRIGGERD_TEST_S3_ENDPOINT=http://127.0.0.1:9000
export TRIGGERD_TEST_S3_ACCESS_KEY=triggerd
export TRIGGERD_TEST_S3_SECRET_KEY=triggerd-secret
export TRIGGERD_TEST_S3_BUCKET=triggerd-test
export TRIGGERD_TEST_SMTP_ADDR=127.0.0.1:1025
export TRIGGERD_TEST_SMTP_API=http://127.0.0.1:8025
export TRIGGERD_TEST_CONNECT_URL=http://127.0.0.1:8083
case ":$PATH:" in
  *":$TRIGGERD_SERVICES_DIR/bin:"*) ;;
  *) export PATH="$TRIGGERD_SERVICES_DIR/bin:$PATH" ;;
esac
