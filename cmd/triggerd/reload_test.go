package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	"go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	tlog "go.temporal.io/sdk/log"

	"github.com/triggerd/triggerd/api"
	"github.com/triggerd/triggerd/config"
	"github.com/triggerd/triggerd/internal/testenv"
	"github.com/triggerd/triggerd/run"
	"github.com/triggerd/triggerd/triggerstore"
)

// TestHotReload runs the worker, the ingest and the API (runComponents, as
// `triggerd serve` does) against real Kafka and Temporal, then changes the
// triggers through the API only: a trigger created while the ingest runs
// starts matching within seconds, and once disabled it stops. An always-on
// trigger on the same topic shows when an event has been consumed, so the
// absence of a run is checked after the fact, not guessed by a sleep.
func TestHotReload(t *testing.T) {
	if testing.Short() {
		t.Skip("needs Kafka and Temporal")
	}
	brokers := strings.Split(testenv.KafkaBrokers(t), ",")
	temporalAddr := testenv.TemporalAddress(t)
	t.Run("sqlite", func(t *testing.T) {
		st, err := triggerstore.OpenSQLite(filepath.Join(t.TempDir(), "triggers.db"))
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		hotReload(t, brokers, temporalAddr, st)
	})
	t.Run("postgres", func(t *testing.T) {
		dsn := testenv.PostgresDSN(t)
		st, err := triggerstore.OpenPostgres(context.Background(), dsn, triggerstore.WithSchema(fmt.Sprintf("reload_test_%d", time.Now().UnixNano())))
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		hotReload(t, brokers, temporalAddr, st)
	})
}

func hotReload(t *testing.T, brokers []string, temporalAddr string, st triggerstore.Store) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	id := fmt.Sprintf("%d", time.Now().UnixNano())
	topic := "triggerd.test.reload." + id
	dlq := topic + ".dlq"
	if err := createTopics(ctx, brokers, []string{topic, dlq}); err != nil {
		t.Fatal(err)
	}

	cfg := config.Default()
	cfg.Kafka.Brokers = brokers
	cfg.Kafka.Topics = []string{topic}
	cfg.Kafka.DLQTopic = dlq
	cfg.Kafka.GroupID = "triggerd-test-reload-" + id
	cfg.Kafka.CommitInterval = 100 * time.Millisecond
	cfg.Temporal.Address = temporalAddr
	cfg.Temporal.TaskQueue = "triggerd-test-reload-" + id
	cfg.Triggers.PollInterval = 200 * time.Millisecond
	cfg.Store = config.Store{Driver: config.StoreMemory} // unused: the test passes st
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	logs := &lockedWriter{w: &bytes.Buffer{}}
	logger := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- runComponents(ctx, cfg, logger, components{
			worker: true, ingest: true, api: true, apiListen: "127.0.0.1:0", store: st,
			ready: func(addr string) { ready <- addr },
		})
	}()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("runComponents: %v", err)
		}
	}()
	var addr string
	select {
	case addr = <-ready:
	case err := <-done:
		t.Fatalf("stopped: %v\n%s", err, logs.String())
	case <-time.After(30 * time.Second):
		t.Fatalf("not ready in 30s\n%s", logs.String())
	}

	c := api.NewClient("http://" + addr)
	always, target := "always-"+id, "target-"+id
	trig := func(tag, cond string) json.RawMessage {
		return json.RawMessage(fmt.Sprintf(`{"tag": %q, "tables": ["public.items"], "events": ["afterInsert"], %s
			"actions": [{"type": "log", "config": {"message": "%s saw {{record.id}}"}}]}`, tag, cond, tag))
	}
	// Created after the ingest started: only the reloader can bring them in.
	for _, d := range []json.RawMessage{trig(always, ""), trig(target, `"condition": {"field": "record.kind", "operator": "EQUALS", "value": "hot"},`)} {
		if _, err := c.Create(ctx, d); err != nil {
			t.Fatal(err)
		}
	}

	tc, err := client.Dial(client.Options{HostPort: temporalAddr, Namespace: "default", Logger: tlog.NewStructuredLogger(logger)})
	if err != nil {
		t.Fatal(err)
	}
	defer tc.Close()
	exists := func(tag, eventID string) bool {
		_, err := tc.DescribeWorkflowExecution(ctx, run.WorkflowID(tag, eventID), "")
		var nf *serviceerror.NotFound
		if err != nil && !errors.As(err, &nf) {
			t.Fatalf("describe: %v", err)
		}
		return err == nil
	}
	waitRun := func(tag, eventID string) time.Duration {
		start := time.Now()
		for !exists(tag, eventID) {
			if time.Since(start) > 30*time.Second {
				t.Fatalf("no run of %s for %s within 30s\n%s", tag, eventID, logs.String())
			}
			time.Sleep(100 * time.Millisecond)
		}
		return time.Since(start)
	}
	w := &kafka.Writer{Addr: kafka.TCP(brokers...), Topic: topic, RequiredAcks: kafka.RequireAll}
	defer w.Close()
	publish := func(eventID string) {
		v := fmt.Sprintf(`{"id": %q, "table": "public.items", "operation": "insert", "record": {"id": 7, "kind": "hot"}}`, eventID)
		if err := w.WriteMessages(ctx, kafka.Message{Key: []byte("7"), Value: []byte(v)}); err != nil {
			t.Fatal(err)
		}
	}

	// The first event only after the poller loaded the creations, so the
	// test does not race the ingest's first read.
	waitLoaded := func() {
		t.Helper()
		rev, err := st.Revision(ctx)
		if err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(10 * time.Second)
		for !strings.Contains(metricsOf(t, addr), fmt.Sprintf("triggerd_trigger_store_revision %d", rev)) {
			if time.Now().After(deadline) {
				t.Fatalf("revision %d not loaded within 10s:\n%s", rev, metricsOf(t, addr))
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	start := time.Now()
	waitLoaded()
	t.Logf("creations loaded by the running process within %s", time.Since(start))
	publish("e1-" + id)
	took := waitRun(target, "e1-"+id)
	waitRun(always, "e1-"+id)
	t.Logf("created trigger matched within %s of publishing", took)
	if !startedEagerly(ctx, t, tc, run.WorkflowID(always, "e1-"+id)) {
		t.Error("with the worker in the process, ingest did not start the run eagerly")
	}

	// Disable through the API, then wait for the running process to load
	// the revision that disabled it (the poller, not a forced load).
	if _, err := c.Patch(ctx, target, map[string]any{"enabled": false}, 0); err != nil {
		t.Fatal(err)
	}
	waitLoaded()
	publish("e2-" + id)
	waitRun(always, "e2-"+id) // the event was consumed and planned
	if exists(target, "e2-"+id) {
		t.Fatalf("disabled trigger %s ran for e2", target)
	}
	if !strings.Contains(logs.String(), "triggers reloaded") {
		t.Fatalf("no reload logged:\n%s", logs.String())
	}
}

// startedEagerly waits for run id to close and reads whether its first
// workflow task came back in the start's response (eager start: the
// ingest and the worker share the process and its client).
func startedEagerly(ctx context.Context, t *testing.T, c client.Client, id string) bool {
	t.Helper()
	if err := c.GetWorkflow(ctx, id, "").Get(ctx, nil); err != nil {
		t.Fatalf("run %s: %v", id, err)
	}
	first, err := c.GetWorkflowHistory(ctx, id, "", false, enums.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT).Next()
	if err != nil {
		t.Fatalf("history of %s: %v", id, err)
	}
	return first.GetWorkflowExecutionStartedEventAttributes().GetEagerExecutionAccepted()
}

func metricsOf(t *testing.T, addr string) string {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}
