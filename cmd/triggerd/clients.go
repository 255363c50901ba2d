package main

import (
	"crypto/sha256"
	"crypto/sha512"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/sasl"
	"github.com/segmentio/kafka-go/sasl/plain"
	"go.temporal.io/sdk/client"
	tlog "go.temporal.io/sdk/log"

	"github.com/triggerd/triggerd/config"
)

// This file turns the configuration into client options. It lives in the
// binary, not in package config, so that config imports no client library.

// tlsConfig builds a *tls.Config from t, or nil when TLS is disabled.
func tlsConfig(t config.TLS) (*tls.Config, error) {
	if !t.Enabled {
		return nil, nil
	}
	c := &tls.Config{
		MinVersion:         tls.VersionTLS12,
		ServerName:         t.ServerName,
		InsecureSkipVerify: t.InsecureSkipVerify, //nolint:gosec // opt-in, for test clusters
	}
	if t.CAFile != "" {
		pem, err := os.ReadFile(t.CAFile)
		if err != nil {
			return nil, fmt.Errorf("read CA file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("CA file %s: no PEM certificate found", t.CAFile)
		}
		c.RootCAs = pool
	}
	if t.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("load client certificate: %w", err)
		}
		c.Certificates = []tls.Certificate{cert}
	}
	return c, nil
}

func saslMechanism(s config.SASL) (sasl.Mechanism, error) {
	switch s.Mechanism {
	case "":
		return nil, nil
	case config.SASLPlain:
		return plain.Mechanism{Username: s.Username, Password: s.Password}, nil
	case config.SASLScramSHA256:
		return newScram(sha256.New, "SCRAM-SHA-256", s.Username, s.Password), nil
	case config.SASLScramSHA512:
		return newScram(sha512.New, "SCRAM-SHA-512", s.Username, s.Password), nil
	}
	return nil, fmt.Errorf("unknown SASL mechanism %q", s.Mechanism)
}

// kafkaClients are the kafka-go connection settings for readers (Dialer)
// and writers (Transport), which kafka-go configures separately.
type kafkaClients struct {
	dialer    *kafka.Dialer
	transport *kafka.Transport
}

func newKafkaClients(k config.Kafka) (kafkaClients, error) {
	tc, err := tlsConfig(k.TLS)
	if err != nil {
		return kafkaClients{}, fmt.Errorf("kafka.tls: %w", err)
	}
	mech, err := saslMechanism(k.SASL)
	if err != nil {
		return kafkaClients{}, fmt.Errorf("kafka.sasl: %w", err)
	}
	clientID := k.ClientID
	if clientID == "" {
		clientID = "triggerd"
	}
	return kafkaClients{
		dialer: &kafka.Dialer{
			ClientID:      clientID,
			Timeout:       10 * time.Second,
			DualStack:     true,
			TLS:           tc,
			SASLMechanism: mech,
		},
		transport: &kafka.Transport{
			ClientID:    clientID,
			DialTimeout: 10 * time.Second,
			TLS:         tc,
			SASL:        mech,
		},
	}, nil
}

// temporalOptions builds the Temporal client options. An API key implies
// TLS (Temporal Cloud accepts nothing else).
func temporalOptions(t config.Temporal, logger *slog.Logger) (client.Options, error) {
	tc, err := tlsConfig(t.TLS)
	if err != nil {
		return client.Options{}, fmt.Errorf("temporal.tls: %w", err)
	}
	opts := client.Options{
		HostPort:  t.Address,
		Namespace: t.Namespace,
		Logger:    tlog.NewStructuredLogger(logger.With("component", "temporal-client")),
	}
	if t.APIKey != "" {
		if tc == nil {
			tc = &tls.Config{MinVersion: tls.VersionTLS12}
		}
		opts.Credentials = client.NewAPIKeyStaticCredentials(t.APIKey)
	}
	opts.ConnectionOptions.TLS = tc
	return opts, nil
}

// newRedis returns a Redis client, or nil when redis.address is empty.
func newRedis(r config.Redis) (*redis.Client, error) {
	if r.Address == "" {
		return nil, nil
	}
	tc, err := tlsConfig(r.TLS)
	if err != nil {
		return nil, fmt.Errorf("redis.tls: %w", err)
	}
	return redis.NewClient(&redis.Options{
		Addr:      r.Address,
		Username:  r.Username,
		Password:  r.Password,
		DB:        r.DB,
		TLSConfig: tc,
	}), nil
}
