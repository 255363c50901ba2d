package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"

	"github.com/triggerd/triggerd/activities"
	"github.com/triggerd/triggerd/api"
	"github.com/triggerd/triggerd/egress"
	"github.com/triggerd/triggerd/gate"
	"github.com/triggerd/triggerd/gate/gateclient"
	"github.com/triggerd/triggerd/ingest"
	"github.com/triggerd/triggerd/internal/cdctest"
	"github.com/triggerd/triggerd/internal/testenv"
	"github.com/triggerd/triggerd/trigger"
	"github.com/triggerd/triggerd/triggerstore"
	"github.com/triggerd/triggerd/workflows"
)

// TestAppThroughGateAndCDC runs the example application against real
// PostgreSQL, Kafka Connect with Debezium, Kafka and Temporal: its writes
// go through the gate (the sample before-triggers of
// examples/triggers/users-gate.yaml rewrite and reject), Debezium brings
// the committed row to Kafka, and triggerd's ingest starts an
// after-trigger's run in Temporal, whose webhook receives the row as
// written.
func TestAppThroughGateAndCDC(t *testing.T) {
	brokers := strings.Split(testenv.KafkaBrokers(t), ",")
	temporalAddr := testenv.TemporalAddress(t)
	ctx := context.Background()
	suffix := fmt.Sprintf("%d", time.Now().UnixNano())
	taskQueue := "gateapp-" + suffix
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))

	// The application's database, captured by Debezium.
	db := cdctest.New(t)
	db.Exec(`create table users (id bigserial primary key, email text not null unique, first_name text, last_name text,
		full_name text, role text not null)`)
	db.CreateTopics(1, "users")
	topic := db.Topic("users")
	pool := db.Pool()

	// The webhook the after-trigger calls.
	var mu sync.Mutex
	var hooks []map[string]any
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var doc map[string]any
		_ = json.Unmarshal(body, &doc)
		mu.Lock()
		hooks = append(hooks, doc)
		mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(hook.Close)

	// triggerd: the sample before-triggers plus an after-trigger.
	before, err := trigger.Load("../triggers/users-gate.yaml")
	require.NoError(t, err)
	after, err := trigger.Parse([]byte(fmt.Sprintf(`
tag: users-welcome
tables: [%s]
events: [afterInsert]
actions:
  - type: http
    name: welcome
    config: {url: "%s/welcome", body: {email: "{{record.email}}", fullName: "{{record.full_name}}", role: "{{record.role}}"}}
    retry: {maxAttempts: 3, initialDelay: 100ms}
`, db.Table("users"), hook.URL)), "after.yaml")
	require.NoError(t, err)
	reg := trigger.NewRegistry()
	require.NoError(t, reg.Replace(append(before.Definitions(), after...)))
	g := gate.New(gate.Options{Triggers: reg.Snapshot, Logger: logger})
	const token = "gate-app-token-0123456789abcde"
	auth, err := api.NewAuth(api.AcceptToken("gate-app", token, api.ScopeGate))
	require.NoError(t, err)
	srv := httptest.NewServer(api.New(api.Options{Store: triggerstore.NewMemory(), Gate: g, Auth: auth}).Handler())
	t.Cleanup(srv.Close)

	// triggerd's worker and ingest on real Temporal and Kafka.
	tc, err := client.Dial(client.Options{HostPort: temporalAddr, Namespace: "default"})
	require.NoError(t, err)
	t.Cleanup(tc.Close)
	// The welcome webhook listens on 127.0.0.1, which the default egress
	// policy refuses: this worker allows loopback explicitly.
	local, err := egress.New([]string{"127.0.0.1"}, nil)
	require.NoError(t, err)
	acts := activities.New(activities.WithLogger(logger), activities.WithEgress(local))
	w := worker.New(tc, taskQueue, worker.Options{})
	workflows.Register(w)
	acts.Register(w)
	require.NoError(t, w.Start())
	t.Cleanup(func() { w.Stop(); _ = acts.Close() })
	createTopics(t, brokers[0], topic+".dlq")
	cons, err := ingest.NewConsumer(ingest.Config{Brokers: brokers, Topics: []string{topic}, GroupID: "gateapp-" + suffix,
		DLQTopic: topic + ".dlq", Consumers: 1, CommitInterval: 200 * time.Millisecond, CommitBatch: 10},
		reg.Snapshot(), ingest.NewTemporalStarter(tc, taskQueue), logger)
	require.NoError(t, err)
	cctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- cons.Run(cctx) }()
	t.Cleanup(func() { cancel(); <-done })

	app := &App{DB: pool, Gate: gateclient.New(srv.URL, gateclient.WithToken(token)), Table: db.Table("users")}

	// A batch with one invalid email is rejected whole: nothing is written.
	_, err = app.CreateUsers(ctx, []map[string]any{
		{"email": "grace@example.com", "first_name": "Grace", "last_name": "Hopper"},
		{"email": "not-an-email", "first_name": "X", "last_name": "Y"},
	}, nil)
	var ve *gateclient.ValidationError
	require.ErrorAs(t, err, &ve)
	assert.Equal(t, []gateclient.FieldError{{Index: 1, Trigger: "users-validate", Field: "email", Message: "not-an-email is not a valid email address", Rule: "validate[0]"}}, ve.Errors)
	var n int
	require.NoError(t, pool.QueryRow(ctx, "select count(*) from users").Scan(&n))
	assert.Zero(t, n)

	// A valid one is rewritten by the gate, written, and welcomed.
	written, err := app.CreateUsers(ctx, []map[string]any{{"email": "Ada@Example.COM", "first_name": "Ada", "last_name": "Lovelace"}}, map[string]any{"id": "u-1"})
	require.NoError(t, err)
	require.Len(t, written, 1)
	var email, fullName, role string
	require.NoError(t, pool.QueryRow(ctx, "select email, full_name, role from users").Scan(&email, &fullName, &role))
	assert.Equal(t, []string{"ada@example.com", "Ada Lovelace", "member"}, []string{email, fullName, role})

	deadline := time.Now().Add(90 * time.Second)
	for {
		mu.Lock()
		got := append([]map[string]any(nil), hooks...)
		mu.Unlock()
		if len(got) > 0 {
			assert.Equal(t, map[string]any{"email": "ada@example.com", "fullName": "Ada Lovelace", "role": "member"}, got[0])
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the after-trigger's webhook was not called")
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func createTopics(t *testing.T, broker string, topics ...string) {
	t.Helper()
	conn, err := kafka.Dial("tcp", broker)
	require.NoError(t, err)
	defer conn.Close()
	controller, err := conn.Controller()
	require.NoError(t, err)
	cc, err := kafka.Dial("tcp", fmt.Sprintf("%s:%d", controller.Host, controller.Port))
	require.NoError(t, err)
	defer cc.Close()
	cfgs := make([]kafka.TopicConfig, len(topics))
	for i, tp := range topics {
		cfgs[i] = kafka.TopicConfig{Topic: tp, NumPartitions: 1, ReplicationFactor: 1}
	}
	require.NoError(t, cc.CreateTopics(cfgs...))
}
