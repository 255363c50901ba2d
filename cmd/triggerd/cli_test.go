package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/triggerd/triggerd/config"
)

func runCLI(t *testing.T, environ []string, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := execute(args, &out, &errOut, environ)
	return code, out.String(), errOut.String()
}

func TestVersion(t *testing.T) {
	code, out, _ := runCLI(t, nil, "version")
	if code != 0 || !strings.HasPrefix(out, "triggerd ") {
		t.Fatalf("version: %d %q", code, out)
	}
}

func TestValidateOK(t *testing.T) {
	env := []string{"TRIGGERD_KAFKA_BROKERS=127.0.0.1:9092", "TRIGGERD_KAFKA_TOPICS=dbserver1.public.users"}
	code, out, errOut := runCLI(t, env, "validate", "--triggers", "../../examples/triggers")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if !strings.Contains(out, "config OK") || !strings.Contains(out, "send-welcome-webhook") {
		t.Fatalf("summary: %s", out)
	}
}

func TestValidateReportsConfigAndTriggerProblems(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "c.yaml")
	os.WriteFile(cfg, []byte("log: {level: loud}\nkafka: {consumers: 0, bogus: 1}\n"), 0o600)
	trig := filepath.Join(dir, "t.yaml")
	os.WriteFile(trig, []byte("tag: x\ntables: [users]\nevents: [afterNothing]\nactions: []\n"), 0o600)
	code, _, errOut := runCLI(t, nil, "validate", "--config", cfg, "--triggers", trig)
	if code != 1 {
		t.Fatalf("exit %d", code)
	}
	for _, want := range []string{"log.level", "kafka.brokers: must not be empty", "kafka.bogus", "t.yaml"} {
		if !strings.Contains(errOut, want) {
			t.Errorf("missing %q in:\n%s", want, errOut)
		}
	}
	// Printed once, not again by main.
	if strings.Contains(errOut, "triggerd: ") {
		t.Errorf("error repeated by main:\n%s", errOut)
	}
}

func TestRunRefusesInvalidConfig(t *testing.T) {
	code, _, errOut := runCLI(t, []string{"TRIGGERD_TEMPORAL_ADDRESS=nope"}, "run")
	if code != 1 || !strings.Contains(errOut, "temporal.address") || !strings.Contains(errOut, "kafka.brokers") {
		t.Fatalf("exit %d:\n%s", code, errOut)
	}
}

func TestPublishValueFromFlags(t *testing.T) {
	now := time.Unix(1700000000, 0)
	o := publishOptions{table: "public.users", op: "update", envelope: "debezium",
		record: `{"id":7,"status":"active"}`, previous: `{"id":7,"status":"pending"}`}
	b, err := o.value(nil, now)
	if err != nil {
		t.Fatal(err)
	}
	var ev map[string]any
	json.Unmarshal(b, &ev)
	src := ev["source"].(map[string]any)
	if ev["op"] != "u" || src["schema"] != "public" || src["table"] != "users" ||
		ev["after"].(map[string]any)["status"] != "active" || ev["before"].(map[string]any)["status"] != "pending" {
		t.Fatalf("debezium envelope %s", b)
	}
	if k := deriveKey(b); k != `{"id":7}` {
		t.Fatalf("key %q", k)
	}

	o = publishOptions{table: "public.orders", op: "delete", envelope: "native", id: "e1", record: `{"id":42}`}
	b, err = o.value(nil, now)
	if err != nil {
		t.Fatal(err)
	}
	json.Unmarshal(b, &ev)
	if ev["id"] != "e1" || ev["operation"] != "delete" || ev["table"] != "public.orders" {
		t.Fatalf("native envelope %s", b)
	}
	if k := deriveKey(b); k != `{"id":42}` {
		t.Fatalf("key %q", k)
	}

	for _, bad := range []publishOptions{
		{},
		{table: "t", op: "insert", envelope: "debezium"},
		{table: "t", op: "upsert", envelope: "debezium", record: "{}"},
		{table: "t", op: "insert", envelope: "avro", record: "{}"},
		{table: "t", op: "insert", envelope: "native", record: "[1]"},
	} {
		if _, err := bad.value(nil, now); err == nil {
			t.Errorf("%+v: want error", bad)
		}
	}
}

func TestPublishFileKey(t *testing.T) {
	o := publishOptions{file: "../../examples/events/user-insert.debezium.json"}
	b, err := o.value(nil, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if k := deriveKey(b); k != `{"id":42}` {
		t.Fatalf("key %q", k)
	}
}

// TestScramRFC7677 checks the SCRAM-SHA-256 exchange of RFC 7677, section 3.
func TestScramRFC7677(t *testing.T) {
	m := newScram(sha256New, "SCRAM-SHA-256", "user", "pencil").(scramMechanism)
	s := &scramSession{m: m, clientNonce: "rOprNGfwEbeRWgbNEkqO", clientFirstBare: "n=user,r=rOprNGfwEbeRWgbNEkqO"}
	_, resp, err := s.Next(context.Background(), []byte("r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"))
	if err != nil {
		t.Fatal(err)
	}
	if want := "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="; string(resp) != want {
		t.Fatalf("client final %q", resp)
	}
	done, _, err := s.Next(context.Background(), []byte("v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="))
	if err != nil || !done {
		t.Fatalf("server final: %v %v", done, err)
	}
	s.step = 1
	if _, _, err := s.Next(context.Background(), []byte("v=AAAA")); err == nil {
		t.Fatal("forged server signature accepted")
	}
}

var sha256New = sha256.New

func TestCreateTopicsIdempotent(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for range 2 {
		if err := createTopics(context.Background(), c.ListenAddrs(), []string{"a", "b"}); err != nil {
			t.Fatal(err)
		}
	}
}

// TestValidateRolesAndDeprecations: validate checks the configuration of
// the process --role names, and prints former key names as warnings
// without failing.
func TestValidateRolesAndDeprecations(t *testing.T) {
	examples := []string{"validate", "--triggers", "../../examples/triggers"}
	code, out, errOut := runCLI(t, nil, append(examples, "--role", "worker")...)
	if code != 0 || !strings.Contains(out, "config OK") {
		t.Fatalf("worker without Kafka: exit %d\n%s%s", code, out, errOut)
	}
	code, _, errOut = runCLI(t, nil, examples...)
	if code != 1 || !strings.Contains(errOut, "kafka.brokers: must not be empty") {
		t.Fatalf("serve without Kafka: exit %d\n%s", code, errOut)
	}
	code, _, errOut = runCLI(t, nil, append(examples, "--role", "client")...)
	if code != 1 || !strings.Contains(errOut, "--role: want serve, ingest or worker") {
		t.Fatalf("unknown role: exit %d\n%s", code, errOut)
	}
	code, out, errOut = runCLI(t, []string{"TRIGGERD_REDIS_ADDR=127.0.0.1:6379"}, append(examples, "--role", "worker")...)
	if code != 0 || !strings.Contains(out, "config OK") ||
		!strings.Contains(errOut, "config: warning: TRIGGERD_REDIS_ADDR is deprecated: rename it TRIGGERD_REDIS_ADDRESS") {
		t.Fatalf("deprecated key: exit %d\n%s%s", code, out, errOut)
	}
}

// TestStartLogsDeprecations: a process logs every former key name its
// configuration uses once, before it starts anything.
func TestStartLogsDeprecations(t *testing.T) {
	cfg, err := config.LoadFor(config.RoleWorker, "", []string{"TRIGGERD_QUOTAS_REFRESH=1s", "TRIGGERD_DATA_DIR=" + t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // stops at the first connection: the log line comes before
	if err := runComponents(ctx, cfg, slog.New(slog.NewTextHandler(&logs, nil)), components{worker: true}); err == nil {
		t.Fatal("runComponents with a cancelled context: want an error")
	}
	if n := strings.Count(logs.String(), "TRIGGERD_QUOTAS_REFRESH is deprecated"); n != 1 {
		t.Fatalf("deprecation logged %d times:\n%s", n, logs.String())
	}
}
