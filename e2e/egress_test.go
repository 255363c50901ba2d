package e2e

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	"github.com/triggerd/triggerd/internal/testenv"
	"github.com/triggerd/triggerd/run"
	"github.com/triggerd/triggerd/workflows"
)

// TestSecurityEgress runs `triggerd serve`, built from this tree and
// configured by a file, against real Kafka and Temporal. With the egress
// policy on (egress.allow names only 127.0.0.2, a second loopback address
// standing for an allowed host), an http action aimed at 127.0.0.1 is
// refused with EGRESS_DENIED whether the address is written in the
// definition, rendered from the record, or reached through a redirect
// from the allowed host; the target sees no request and the refusals are
// counted. Once 127.0.0.1 is on the allow-list, the same three actions
// reach it.
func TestSecurityEgress(t *testing.T) {
	brokers := strings.Split(testenv.KafkaBrokers(t), ",")
	temporalAddr := testenv.TemporalAddress(t)
	tc, err := client.Dial(client.Options{HostPort: temporalAddr, Namespace: "default"})
	require.NoError(t, err)
	t.Cleanup(tc.Close)

	// The protected service on 127.0.0.1, and an allowed host on 127.0.0.2
	// that redirects to it.
	var mu sync.Mutex
	hits := map[string]int{}
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		mu.Lock()
		hits[r.URL.Path]++
		mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(target.Close)
	ln, err := net.Listen("tcp", "127.0.0.2:0")
	if err != nil {
		t.Skipf("127.0.0.2 is not available: %v", err)
	}
	redirector := httptest.NewUnstartedServer(http.RedirectHandler(target.URL+"/redirected", http.StatusFound))
	redirector.Listener.Close()
	redirector.Listener = ln
	redirector.Start()
	t.Cleanup(redirector.Close)
	hitCount := func() map[string]int {
		mu.Lock()
		defer mu.Unlock()
		out := map[string]int{}
		for k, v := range hits {
			out[k] = v
		}
		return out
	}

	dir := t.TempDir()
	bin := filepath.Join(dir, "triggerd")
	build := exec.Command("go", "build", "-o", bin, "./cmd/triggerd")
	build.Dir = ".."
	out, err := build.CombinedOutput()
	require.NoError(t, err, "build: %s", out)

	id := fmt.Sprintf("%d", time.Now().UnixNano())
	tags := map[string]string{
		"literal":  "egress-literal-" + id,
		"rendered": "egress-rendered-" + id,
		"redirect": "egress-redirect-" + id,
	}
	triggers := filepath.Join(dir, "triggers.yaml")
	require.NoError(t, os.WriteFile(triggers, fmt.Appendf(nil, `
triggers:
  - tag: %[1]s
    tables: [public.webhooks]
    events: [afterInsert]
    actions:
      - {name: call, type: http, config: {url: "%[4]s/literal", body: {id: "{{record.id}}"}}, retry: {maxAttempts: 5}}
  - tag: %[2]s
    tables: [public.webhooks]
    events: [afterInsert]
    actions:
      - {name: call, type: http, config: {url: "{{record.callback}}", body: {id: "{{record.id}}"}}, retry: {maxAttempts: 5}}
  - tag: %[3]s
    tables: [public.webhooks]
    events: [afterInsert]
    actions:
      - {name: call, type: http, config: {method: GET, url: "%[5]s/go", followRedirects: true}, retry: {maxAttempts: 5}}
`, tags["literal"], tags["rendered"], tags["redirect"], target.URL, redirector.URL), 0o600))

	// One phase: a process with egress.allow = allow reads its own topic,
	// where one event is published; it returns each trigger's result.
	phase := func(name string, allow []string) (map[string]run.Result, string) {
		topic, dlq := "triggerd.e2e.egress."+name+"."+id, "triggerd.e2e.egress.dlq."+name+"."+id
		createTopicsE2E(t, brokers, topic, dlq)
		apiAddr := freeAddr(t)
		cfg := filepath.Join(dir, name+".yaml")
		require.NoError(t, os.WriteFile(cfg, fmt.Appendf(nil, `
log: {level: info}
kafka: {brokers: [%q], topics: [%q], dlqTopic: %q, groupId: %q, commitInterval: 200ms}
temporal: {address: %q, taskQueue: %q}
api: {listen: %q, metricsPublic: true}
store: {driver: memory}
dataDir: %q
triggers: {path: %q}
egress: {allow: [%s]}
`, brokers[0], topic, dlq, "egress-"+name+"-"+id, temporalAddr, "egress-"+name+"-"+id, apiAddr, dir, triggers,
			strings.Join(allow, ", ")), 0o600))
		var logs syncBuffer
		cmd := exec.Command(bin, "serve", "--config", cfg)
		cmd.Stdout, cmd.Stderr = &logs, &logs
		require.NoError(t, cmd.Start())
		defer func() {
			stopProcess(cmd, 30*time.Second)
			if t.Failed() {
				t.Logf("%s process:\n%s", name, logs.String())
			}
		}()
		require.Eventually(t, func() bool {
			resp, err := http.Get("http://" + apiAddr + "/healthz")
			if err != nil {
				return false
			}
			resp.Body.Close()
			return resp.StatusCode == http.StatusOK
		}, 2*time.Minute, 200*time.Millisecond, "triggerd serve is not ready:\n%s", logs.String())

		eventID := "ev-" + name + "-" + id
		w := &kafka.Writer{Addr: kafka.TCP(brokers...), Topic: topic, RequiredAcks: kafka.RequireAll}
		defer w.Close()
		msg := kafka.Message{Key: []byte("1"), Value: fmt.Appendf(nil,
			`{"id": %q, "table": "public.webhooks", "operation": "insert", "record": {"id": 1, "callback": "%s/rendered"}}`,
			eventID, target.URL)}
		// A topic just created may not be known to the partition leader yet.
		var werr error
		require.Eventually(t, func() bool {
			werr = w.WriteMessages(context.Background(), msg)
			return werr == nil
		}, 30*time.Second, 200*time.Millisecond, "publish: %v", werr)

		results := map[string]run.Result{}
		for kind, tag := range tags {
			results[kind] = waitResult(t, tc, run.WorkflowID(tag, eventID))
		}
		return results, metricsText(t, apiAddr)
	}

	denied, metrics := phase("denied", []string{"127.0.0.2"})
	for kind, res := range denied {
		require.Len(t, res.Actions, 1, kind)
		a := res.Actions[0]
		assert.Equal(t, run.StatusFailed, a.Status, kind)
		assert.True(t, strings.HasPrefix(a.Error, "EGRESS_DENIED: "), "%s: %s", kind, a.Error)
		assert.Contains(t, a.Error, "127.0.0.1", kind)
		assert.Contains(t, a.Error, "default: loopback 127.0.0.0/8", kind)
		// Were EGRESS_DENIED retryable, every one of the 5 attempts would
		// be spent on it. A loaded machine may lose a first attempt to a
		// timeout, so the test does not insist on exactly one.
		assert.Less(t, a.Attempts, int32(5), "%s: EGRESS_DENIED is not retried", kind)
	}
	assert.Empty(t, hitCount(), "nothing reached 127.0.0.1")
	assert.Contains(t, metrics, `triggerd_egress_denied_total{policy="egress",rule="default: loopback 127.0.0.0/8"} 3`)

	allowed, _ := phase("allowed", []string{"127.0.0.2", "127.0.0.1"})
	for kind, res := range allowed {
		require.Len(t, res.Actions, 1, kind)
		assert.Equal(t, run.StatusSucceeded, res.Actions[0].Status, "%s: %s", kind, res.Actions[0].Error)
	}
	assert.Equal(t, map[string]int{"/literal": 1, "/rendered": 1, "/redirected": 1}, hitCount())
}

// waitResult waits for the run id to exist and close, and returns its
// result (for a failed run, the result its error carries).
func waitResult(t *testing.T, c client.Client, id string) run.Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	for {
		_, err := c.DescribeWorkflowExecution(ctx, id, "")
		if err == nil {
			break
		}
		var nf *serviceerror.NotFound
		require.ErrorAs(t, err, &nf, "describe %s", id)
		require.NoError(t, ctx.Err(), "run %s was not started", id)
		time.Sleep(100 * time.Millisecond)
	}
	var res run.Result
	if err := c.GetWorkflow(ctx, id, "").Get(ctx, &res); err != nil {
		var ok bool
		res, ok = workflows.ResultFromError(err)
		require.True(t, ok, "run %s: %v", id, err)
	}
	return res
}

func metricsText(t *testing.T, addr string) string {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/metrics")
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return string(b)
}

func createTopicsE2E(t *testing.T, brokers []string, topics ...string) {
	t.Helper()
	conn, err := kafka.Dial("tcp", brokers[0])
	require.NoError(t, err)
	defer conn.Close()
	ctrl, err := conn.Controller()
	require.NoError(t, err)
	cc, err := kafka.Dial("tcp", net.JoinHostPort(ctrl.Host, fmt.Sprint(ctrl.Port)))
	require.NoError(t, err)
	defer cc.Close()
	cfgs := make([]kafka.TopicConfig, 0, len(topics))
	for _, tp := range topics {
		cfgs = append(cfgs, kafka.TopicConfig{Topic: tp, NumPartitions: 1, ReplicationFactor: 1})
	}
	require.NoError(t, cc.CreateTopics(cfgs...))
}
