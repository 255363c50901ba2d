// Package testenv gives tests the addresses of the real services they need.
//
// Each address comes from an environment variable that the service scripts
// (scripts/services/env.sh) export. When a variable is missing the test is
// skipped with a message naming it, except under CI (CI=true), where a
// missing service is a failure: CI must never pass by skipping.
package testenv

import (
	"os"
	"testing"
)

// Environment variables read by Require and its shorthands.
const (
	KafkaBrokersVar    = "TRIGGERD_TEST_KAFKA_BROKERS"
	TemporalAddressVar = "TRIGGERD_TEST_TEMPORAL_ADDRESS"
	RedisAddrVar       = "TRIGGERD_TEST_REDIS_ADDR"
	RabbitMQURLVar     = "TRIGGERD_TEST_RABBITMQ_URL"
	PostgresDSNVar     = "TRIGGERD_TEST_POSTGRES_DSN"
	SMTPAddrVar        = "TRIGGERD_TEST_SMTP_ADDR"
	SMTPAPIVar         = "TRIGGERD_TEST_SMTP_API"
	ConnectURLVar      = "TRIGGERD_TEST_CONNECT_URL"
)

// TemporalPGAddressVar names a real Temporal server persisted in
// PostgreSQL (scripts/services/temporal-pg.sh). Suites run against it by
// setting TemporalAddressVar to its value, as CI does for e2e.
const TemporalPGAddressVar = "TRIGGERD_TEST_TEMPORAL_PG_ADDRESS"

// Require returns the value of the environment variable name, or ends the
// test: skipped outside CI, failed in CI.
func Require(t testing.TB, name string) string {
	t.Helper()
	v := os.Getenv(name)
	if v != "" {
		return v
	}
	msg := name + " is not set: start the services with scripts/services/up.sh and source scripts/services/env.sh"
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

// KafkaBrokers returns a comma-separated list of real Kafka brokers.
func KafkaBrokers(t testing.TB) string { return Require(t, KafkaBrokersVar) }

// TemporalAddress returns the host:port of a real Temporal frontend.
func TemporalAddress(t testing.TB) string { return Require(t, TemporalAddressVar) }

// RedisAddr returns the host:port of a real Redis server.
func RedisAddr(t testing.TB) string { return Require(t, RedisAddrVar) }

// RabbitMQURL returns the amqp:// URL of a real RabbitMQ broker.
func RabbitMQURL(t testing.TB) string { return Require(t, RabbitMQURLVar) }

// PostgresDSN returns the connection string of a real PostgreSQL database.
func PostgresDSN(t testing.TB) string { return Require(t, PostgresDSNVar) }

// ConnectURL returns the http:// URL of the REST API of a real Kafka
// Connect worker running the Debezium PostgreSQL connector
// (scripts/services/connect.sh; tests use it through internal/cdctest).
func ConnectURL(t testing.TB) string { return Require(t, ConnectURLVar) }

// SMTPAddr returns the host:port of a real test SMTP server (recipients
// named reject*@… are refused with 550).
func SMTPAddr(t testing.TB) string { return Require(t, SMTPAddrVar) }

// SMTPAPI returns the base URL of the test SMTP server's mailbox API
// (GET /api/v2/messages, MailHog's shape).
func SMTPAPI(t testing.TB) string { return Require(t, SMTPAPIVar) }

// S3EndpointVar names the http:// URL of a real S3-compatible server (keys
// and bucket in TRIGGERD_TEST_S3_ACCESS_KEY, _SECRET_KEY, _BUCKET).
const S3EndpointVar = "TRIGGERD_TEST_S3_ENDPOINT"

// S3Endpoint returns the URL of a real S3-compatible server.
func S3Endpoint(t testing.TB) string { return Require(t, S3EndpointVar) }

// Environment variables of the real Kafka's SASL_SSL listener (TLS with a
// CA the service scripts generate, SCRAM-SHA-512 and SCRAM-SHA-256 logins).
const (
	KafkaSASLSSLBrokersVar = "TRIGGERD_TEST_KAFKA_SASL_SSL_BROKERS"
	KafkaCAFileVar         = "TRIGGERD_TEST_KAFKA_CA_FILE"
	KafkaSCRAMUsernameVar  = "TRIGGERD_TEST_KAFKA_SCRAM_USERNAME"
	KafkaSCRAMPasswordVar  = "TRIGGERD_TEST_KAFKA_SCRAM_PASSWORD"
)

// KafkaSASLSSL is the address and credentials of a real Kafka listener that
// requires TLS and SCRAM.
type KafkaSASLSSL struct {
	Brokers  string // comma-separated host:port list
	CAFile   string // PEM file of the CA that signed the broker's certificate
	Username string // a user with SCRAM-SHA-512 and SCRAM-SHA-256 credentials
	Password string
}

// KafkaSASLSSLListener returns the real Kafka's SASL_SSL listener.
func KafkaSASLSSLListener(t testing.TB) KafkaSASLSSL {
	t.Helper()
	return KafkaSASLSSL{
		Brokers:  Require(t, KafkaSASLSSLBrokersVar),
		CAFile:   Require(t, KafkaCAFileVar),
		Username: Require(t, KafkaSCRAMUsernameVar),
		Password: Require(t, KafkaSCRAMPasswordVar),
	}
}
