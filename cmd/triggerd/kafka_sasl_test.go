package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"log/slog"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/triggerd/triggerd/config"
	"github.com/triggerd/triggerd/ingest"
	"github.com/triggerd/triggerd/internal/testenv"
)

// TestKafkaSASLSSL runs triggerd against the real Kafka's SASL_SSL listener
// (TLS verified against the CA the service scripts generate, then SCRAM),
// once per mechanism: `triggerd publish` sends an event and a malformed
// message through it, the ingest (runComponents, as `run` wires it) reads
// them through it and dead-letters the malformed one through it, and the
// run's broker.publish action writes its message through it. The results
// are read back over the PLAINTEXT listener of the same broker, a client
// independent of the one under test.
func TestKafkaSASLSSL(t *testing.T) {
	l := testenv.KafkaSASLSSLListener(t)
	plain := strings.Split(testenv.KafkaBrokers(t), ",")
	temporalAddr := testenv.TemporalAddress(t)
	for _, mech := range []string{config.SASLScramSHA512, config.SASLScramSHA256} {
		t.Run(mech, func(t *testing.T) {
			kc := config.Kafka{
				Brokers: strings.Split(l.Brokers, ","),
				TLS:     config.TLS{Enabled: true, CAFile: l.CAFile},
				SASL:    config.SASL{Mechanism: mech, Username: l.Username, Password: l.Password},
			}
			saslRoundTrip(t, kc, plain, temporalAddr)
		})
	}
}

func saslRoundTrip(t *testing.T, kc config.Kafka, plain []string, temporalAddr string) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	id := fmt.Sprintf("%s-%d", kc.SASL.Mechanism, time.Now().UnixNano())
	in, out, dlq := "triggerd.test.sasl."+id, "triggerd.test.sasl.out."+id, "triggerd.test.sasl.dlq."+id
	if err := createTopics(ctx, plain, []string{in, out, dlq}); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	triggers := filepath.Join(dir, "triggers.yaml")
	writeFile(t, triggers, fmt.Sprintf(`
tag: sasl-forward
tables: [public.items]
events: [afterInsert]
actions:
  - {type: broker.publish, config: {target: "kafka:%s", key: "{{record.id}}", message: {id: "{{record.id}}", via: sasl}}}
`, out))

	cfg := config.Default()
	cfg.Kafka.Brokers, cfg.Kafka.TLS, cfg.Kafka.SASL = kc.Brokers, kc.TLS, kc.SASL
	cfg.Kafka.Topics = []string{in}
	cfg.Kafka.DLQTopic = dlq
	cfg.Kafka.GroupID = "triggerd-test-sasl-" + id
	cfg.Kafka.CommitInterval = 100 * time.Millisecond
	cfg.Temporal.Address = temporalAddr
	cfg.Temporal.TaskQueue = "triggerd-test-sasl-" + id
	cfg.Triggers.Path = triggers
	cfg.Store = config.Store{Driver: config.StoreMemory}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	logs := &lockedWriter{w: &bytes.Buffer{}}
	logger := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
	ready, done := make(chan struct{}), make(chan error, 1)
	go func() {
		done <- runComponents(ctx, cfg, logger, components{worker: true, ingest: true, ready: func(string) { close(ready) }})
	}()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("runComponents: %v", err)
		}
		if t.Failed() {
			t.Logf("logs:\n%s", logs.String())
		}
	}()
	select {
	case <-ready:
	case err := <-done:
		t.Fatalf("stopped: %v\n%s", err, logs.String())
	case <-time.After(60 * time.Second):
		t.Fatalf("not ready in 60s\n%s", logs.String())
	}

	// The CLI, configured by a file, publishes over SASL_SSL.
	cfgFile := filepath.Join(dir, "triggerd.yaml")
	writeFile(t, cfgFile, fmt.Sprintf(`
kafka:
  brokers: [%q]
  tls: {enabled: true, caFile: %q}
  sasl: {mechanism: %s, username: %s, password: %q}
`, kc.Brokers[0], kc.TLS.CAFile, kc.SASL.Mechanism, kc.SASL.Username, kc.SASL.Password))
	garbage := filepath.Join(dir, "garbage.json")
	writeFile(t, garbage, `{"neither": "debezium nor native"}`)
	if code, stdout, stderr := runCLI(t, nil, "publish", "--config", cfgFile, "--topic", in, "--file", garbage, "--key", "junk"); code != 0 {
		t.Fatalf("publish garbage: exit %d: %s%s", code, stdout, stderr)
	}
	if code, stdout, stderr := runCLI(t, nil, "publish", "--config", cfgFile, "--topic", in, "--envelope", "native",
		"--id", "ev-"+id, "--table", "public.items", "--op", "insert", "--record", `{"id": 7}`); code != 0 {
		t.Fatalf("publish event: exit %d: %s%s", code, stdout, stderr)
	}

	got := readOne(t, plain, out)
	var body map[string]any
	if err := json.Unmarshal(got.Value, &body); err != nil || body["via"] != "sasl" || fmt.Sprint(body["id"]) != "7" || string(got.Key) != "7" {
		t.Fatalf("action's message %s (key %s): %v", got.Value, got.Key, err)
	}
	dead := readOne(t, plain, dlq)
	if string(dead.Value) != `{"neither": "debezium nor native"}` || string(dead.Key) != "junk" || !hasHeader(dead, ingest.HeaderError, "envelope: unknown") {
		t.Fatalf("DLQ message %q headers %v", dead.Value, dead.Headers)
	}
}

// readOne reads the first message of topic.
func readOne(t *testing.T, brokers []string, topic string) kafka.Message {
	t.Helper()
	r := kafka.NewReader(kafka.ReaderConfig{Brokers: brokers, Topic: topic, Partition: 0, MaxWait: 100 * time.Millisecond})
	defer r.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	m, err := r.ReadMessage(ctx)
	if err != nil {
		t.Fatalf("read %s: %v", topic, err)
	}
	return m
}

func hasHeader(m kafka.Message, key, prefix string) bool {
	for _, h := range m.Headers {
		if h.Key == key && strings.HasPrefix(string(h.Value), prefix) {
			return true
		}
	}
	return false
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

// A wrong password and a CA that did not sign the broker's certificate
// are refused by the real listener, each with an error that says so.
func TestKafkaSASLSSLRefusals(t *testing.T) {
	l := testenv.KafkaSASLSSLListener(t)
	dir := t.TempDir()
	otherCA := filepath.Join(dir, "other-ca.pem")
	// Any valid certificate that is not the services' CA.
	writeFile(t, otherCA, string(testCertPEM(t)))
	for name, c := range map[string]struct {
		caFile, password, want string
	}{
		"wrong password": {l.CAFile, "not-the-password", "SASL Authentication failed"},
		"untrusted CA":   {otherCA, l.Password, "certificate signed by unknown authority"},
	} {
		t.Run(name, func(t *testing.T) {
			cfgFile := filepath.Join(dir, strings.ReplaceAll(name, " ", "-")+".yaml")
			writeFile(t, cfgFile, fmt.Sprintf(`
kafka:
  brokers: [%q]
  tls: {enabled: true, caFile: %q}
  sasl: {mechanism: scram-sha-512, username: %s, password: %q}
`, l.Brokers, c.caFile, l.Username, c.password))
			code, _, stderr := runCLI(t, nil, "publish", "--config", cfgFile, "--topic", "triggerd.test.sasl.refused",
				"--table", "public.items", "--record", `{"id": 1}`)
			if code == 0 || !strings.Contains(stderr, c.want) {
				t.Fatalf("exit %d, want an error containing %q: %s", code, c.want, stderr)
			}
		})
	}
}

// testCertPEM is a fresh self-signed CA certificate.
func testCertPEM(t *testing.T) []byte {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "not the services' CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}
