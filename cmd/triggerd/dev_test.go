package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	"go.temporal.io/api/enums/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	tlog "go.temporal.io/sdk/log"

	"github.com/triggerd/triggerd/config"
	"github.com/triggerd/triggerd/run"
	"github.com/triggerd/triggerd/trigger"
)

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// sampleTriggers copies examples/triggers into a temporary directory with
// the webhook URLs pointed at webhookAddr, so the test needs no fixed port.
func sampleTriggers(t *testing.T, webhookAddr string) string {
	t.Helper()
	src := filepath.Join("..", "..", "examples", "triggers")
	entries, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		b = bytes.ReplaceAll(b, []byte("127.0.0.1:8099"), []byte(webhookAddr))
		if err := os.WriteFile(filepath.Join(dir, e.Name()), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// TestDevEndToEnd starts the dev environment on free ports (embedded
// Temporal with its UI, embedded Kafka, the webhook receiver, the worker
// and the ingest), publishes the sample Debezium insert with `triggerd
// publish`, and checks that the send-welcome-webhook run completed with
// every action succeeded (cache.set on the embedded Redis included) and that
// its webhook reached the receiver. The configuration names its own topics,
// which dev consumes instead of the samples'.
func TestDevEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a Temporal server")
	}
	o := devOptions{
		dataDir:      t.TempDir(),
		temporalPort: freePort(t),
		uiPort:       freePort(t),
		kafkaPort:    freePort(t),
		webhookPort:  freePort(t),
	}
	webhookAddr := fmt.Sprintf("127.0.0.1:%d", o.webhookPort)
	o.triggers = sampleTriggers(t, webhookAddr)

	var mu sync.Mutex
	var hooks []webhookRequest
	o.onWebhook = func(r webhookRequest) {
		mu.Lock()
		hooks = append(hooks, r)
		mu.Unlock()
	}
	ready := make(chan devAddrs, 1)
	o.ready = func(d devAddrs) { ready <- d }

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	logs := &lockedWriter{w: &bytes.Buffer{}}
	logger := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
	start := time.Now()
	cfg := config.Default()
	cfg.Kafka.Topics, cfg.Kafka.DLQTopic = []string{"dev-test.users", "dev-test.events"}, "dev-test.dlq"
	go func() { done <- runDev(ctx, cfg, o, logger) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("runDev: %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Error("dev did not stop within 30s of cancellation")
		}
	})

	var addrs devAddrs
	select {
	case addrs = <-ready:
		t.Logf("dev ready in %s: %+v", time.Since(start), addrs)
	case err := <-done:
		t.Fatalf("dev stopped: %v\n%s", err, logs.String())
	case <-time.After(60 * time.Second):
		t.Fatalf("dev not ready within 60s\n%s", logs.String())
	}

	// The UI serves.
	resp, err := http.Get(addrs.UI)
	if err != nil {
		t.Fatalf("UI: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("UI: status %d", resp.StatusCode)
	}

	// The API needs the token dev generated, which the CLI finds in the
	// data dir, as it does after `triggerd dev` in the README.
	if len(addrs.Token) < 32 || addrs.TokenFile != filepath.Join(o.dataDir, "api-token") {
		t.Fatalf("dev token %q in %q", addrs.Token, addrs.TokenFile)
	}
	if b, err := os.ReadFile(addrs.TokenFile); err != nil || strings.TrimSpace(string(b)) != addrs.Token {
		t.Fatalf("token file: %q %v", b, err)
	}
	code0, _, listErr := runCLI(t, nil, "triggers", "list", "--server", "http://"+addrs.API)
	if code0 != 1 || !strings.Contains(listErr, "unauthenticated") {
		t.Fatalf("triggers list without a token: %d\n%s", code0, listErr)
	}
	code0, listed, listErr := runCLI(t, []string{"TRIGGERD_DATA_DIR=" + o.dataDir}, "triggers", "list", "--server", "http://"+addrs.API)
	if code0 != 0 || !strings.Contains(listed, "send-welcome-webhook") || !strings.Contains(listed, "file:") {
		t.Fatalf("triggers list: %d\n%s%s", code0, listed, listErr)
	}
	checkDevGate(t, "http://"+addrs.API, addrs.Token)

	if addrs.Topics != "dev-test.users, dev-test.events" {
		t.Fatalf("dev consumes %q, not the configured topics", addrs.Topics)
	}
	// The dead-letter topic of the configuration exists.
	conn, err := kafka.Dial("tcp", strings.Split(addrs.Kafka, ",")[0])
	if err != nil {
		t.Fatal(err)
	}
	parts, err := conn.ReadPartitions("dev-test.dlq")
	conn.Close()
	if err != nil || len(parts) == 0 {
		t.Fatalf("dead-letter topic dev-test.dlq: %v %v", parts, err)
	}

	// Publish the sample event through the CLI, as the banner says, on
	// the configured topic.
	var out, errOut bytes.Buffer
	code := execute([]string{"publish", "--kafka-brokers", addrs.Kafka, "--topic", "dev-test.users",
		"--file", filepath.Join("..", "..", "examples", "events", "user-insert.debezium.json")}, &out, &errOut, nil)
	if code != 0 {
		t.Fatalf("publish exited %d: %s", code, errOut.String())
	}

	c, err := client.Dial(client.Options{HostPort: addrs.Temporal, Namespace: "default", Logger: tlog.NewStructuredLogger(logger)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()

	// The run is found by its search attribute and completes.
	var exec *workflowservice.ListWorkflowExecutionsResponse
	deadline := time.Now().Add(45 * time.Second)
	for {
		exec, err = c.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{
			Namespace: "default",
			Query:     fmt.Sprintf("%s = 'send-welcome-webhook' AND %s = '42'", run.SearchAttrTriggerTag, run.SearchAttrRecordKey),
		})
		if err == nil && len(exec.Executions) > 0 && exec.Executions[0].Status != enums.WORKFLOW_EXECUTION_STATUS_RUNNING {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no closed send-welcome-webhook run within 45s (err %v)\n%s", err, logs.String())
		}
		time.Sleep(300 * time.Millisecond)
	}
	we := exec.Executions[0]
	if we.Status != enums.WORKFLOW_EXECUTION_STATUS_COMPLETED {
		t.Fatalf("run %s: status %s\n%s", we.Execution.WorkflowId, we.Status, logs.String())
	}
	if !strings.HasPrefix(we.Execution.WorkflowId, "triggerd/send-welcome-webhook/") {
		t.Fatalf("workflow id %q", we.Execution.WorkflowId)
	}
	var res run.Result
	if err := c.GetWorkflow(ctx, we.Execution.WorkflowId, we.Execution.RunId).Get(ctx, &res); err != nil {
		t.Fatal(err)
	}
	if len(res.Actions) == 0 || res.Actions[0].Name != "welcome-webhook" {
		b, _ := json.Marshal(res)
		t.Fatalf("result %s", b)
	}
	// Every sample action succeeds, cache.set included: dev embeds Redis.
	if !strings.Contains(addrs.Redis, "embedded") {
		t.Fatalf("dev did not embed Redis: %q", addrs.Redis)
	}
	sawCache := false
	for _, a := range res.Actions {
		if a.Status != run.StatusSucceeded {
			b, _ := json.Marshal(res)
			t.Fatalf("action %s (%s): %s\nresult %s", a.Name, a.Type, a.Status, b)
		}
		sawCache = sawCache || a.Type == "cache.set"
	}
	if !sawCache {
		t.Fatalf("the sample run has no cache.set action: %+v", res.Actions)
	}
	t.Logf("result status %s, actions %d", res.Status, len(res.Actions))

	// The walkthrough's second sample, the order cancellation (native
	// envelope): every action succeeds too, its Kafka publish included.
	code = execute([]string{"publish", "--kafka-brokers", addrs.Kafka, "--topic", "dev-test.events",
		"--file", filepath.Join("..", "..", "examples", "events", "order-cancel.native.json")}, &out, &errOut, nil)
	if code != 0 {
		t.Fatalf("publish exited %d: %s", code, errOut.String())
	}
	orderID := run.WorkflowID("order-cancelled", "evt-order-1001-cancel")
	var order run.Result
	if err := c.GetWorkflow(ctx, orderID, "").Get(ctx, &order); err != nil {
		// The run may not have started yet: wait for it by its id.
		deadline := time.Now().Add(45 * time.Second)
		for err != nil && time.Now().Before(deadline) {
			time.Sleep(300 * time.Millisecond)
			err = c.GetWorkflow(ctx, orderID, "").Get(ctx, &order)
		}
		if err != nil {
			t.Fatalf("order run %s: %v\n%s", orderID, err, logs.String())
		}
	}
	for _, a := range order.Actions {
		if a.Status != run.StatusSucceeded {
			b, _ := json.Marshal(order)
			t.Fatalf("order action %s (%s): %s\nresult %s", a.Name, a.Type, a.Status, b)
		}
	}
	if len(order.Actions) != 3 {
		t.Fatalf("order run actions: %+v", order.Actions)
	}

	// The receiver got the webhook, with the run's idempotency key.
	mu.Lock()
	defer mu.Unlock()
	var got *webhookRequest
	for i := range hooks {
		if hooks[i].Path == "/hooks/welcome" {
			got = &hooks[i]
		}
	}
	if got == nil {
		t.Fatalf("receiver got no /hooks/welcome request: %+v", hooks)
	}
	if got.Method != http.MethodPost || got.IdempotencyKey != we.Execution.WorkflowId+"/welcome-webhook" ||
		!bytes.Contains(got.Body, []byte(`"ada@example.com"`)) {
		t.Fatalf("webhook request %+v body %s", got, got.Body)
	}
}

// lockedWriter serialises writes from the many goroutines that log.
type lockedWriter struct {
	mu sync.Mutex
	w  *bytes.Buffer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func (l *lockedWriter) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.String()
}

// TestDevSeedTopics: the embedded broker starts with the consumed topics
// (the configuration's, else the samples'), the dead-letter topic and the
// fixed kafka: targets of the triggers.
func TestDevSeedTopics(t *testing.T) {
	set, err := trigger.Load(filepath.Join("..", "..", "examples", "triggers"))
	if err != nil {
		t.Fatal(err)
	}
	k := config.Default().Kafka
	got := seedTopics(k, set)
	for _, want := range append(slices.Clone(devTopics), config.DefaultDLQTopic, "triggerd.user-events", "triggerd.warehouse") {
		if !slices.Contains(got, want) {
			t.Errorf("defaults: %s not seeded in %v", want, got)
		}
	}
	k.Topics, k.DLQTopic = []string{"app.users"}, "app.dlq"
	got = seedTopics(k, set)
	if !slices.Contains(got, "app.users") || !slices.Contains(got, "app.dlq") || slices.Contains(got, devTopics[0]) || slices.Contains(got, config.DefaultDLQTopic) {
		t.Errorf("configured: %v", got)
	}
}
