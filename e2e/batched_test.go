package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"

	"github.com/triggerd/triggerd/ingest"
	"github.com/triggerd/triggerd/internal/testenv"
	"github.com/triggerd/triggerd/run"
	"github.com/triggerd/triggerd/workflows"
)

// slowReceiver wraps idemReceiver (which honours Idempotency-Key): each
// request takes delay, so that batches are in flight when the worker is
// killed, and records whose id is in refuse get a 400 until accept is set.
type slowReceiver struct {
	idem     *idemReceiver
	delay    time.Duration
	inFlight atomic.Int32
	refuse   map[string]bool
	accept   atomic.Bool
}

func (r *slowReceiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	r.inFlight.Add(1)
	defer r.inFlight.Add(-1)
	body, _ := io.ReadAll(req.Body)
	time.Sleep(r.delay)
	var doc map[string]any
	_ = json.Unmarshal(body, &doc)
	if r.refuse[fmt.Sprint(doc["id"])] && !r.accept.Load() {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	req.Body = io.NopCloser(bytes.NewReader(body))
	r.idem.ServeHTTP(w, req)
}

// TestBatchedDelivery runs `triggerd ingest` and `triggerd worker` as
// processes against the shared Kafka and Temporal, with two triggers on
// one topic: a batched one (delivery.batch) and a plain one on the fast
// path (local activities, the default). While the batches are in flight
// the worker is killed with SIGKILL, later ingest too; both restart.
// Then:
//   - every event's batched run executed its webhook exactly once at an
//     idempotent receiver (none lost, none executed twice), under the key
//     an unbatched run would have had;
//   - every event has its run, and its result, in its delivery workflow
//     (the QueryRun query), and no workflow of its own unless it failed;
//   - the runs that failed (a 400) are failed RunTrigger workflows under
//     their own ids, listed by `triggerd runs list --failed` and re-run
//     by `triggerd runs rerun` to success with the same keys;
//   - `triggerd runs get` finds a run, batched or failed, by its id;
//   - the fast-path runs recorded local-activity markers and no activity
//     task, 6 history events when undisturbed.
func TestBatchedDelivery(t *testing.T) {
	brokers := testenv.KafkaBrokers(t)
	addr := testenv.TemporalAddress(t)
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	c, err := client.Dial(client.Options{HostPort: addr, Namespace: "default"})
	require.NoError(t, err)
	t.Cleanup(c.Close)
	begin := time.Now()
	suffix := fmt.Sprint(time.Now().UnixNano())
	topic, dlq := "e2e-batched-"+suffix, "e2e-batched-dlq-"+suffix
	batchedTag, fastTag := "batched-"+suffix, "fast-"+suffix
	createTopics(t, strings.Split(brokers, ",")[0], topic, dlq)

	const n = 240
	refuse := map[string]bool{}
	for id := 7; id <= n; id += 60 {
		refuse[fmt.Sprint(id)] = true
	}
	rcv := &slowReceiver{idem: newIdemReceiver(), delay: 150 * time.Millisecond, refuse: refuse}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	srv := &http.Server{Handler: rcv}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	base := "http://" + ln.Addr().String()

	tmp := t.TempDir()
	bin := filepath.Join(tmp, "triggerd")
	build := exec.Command("go", "build", "-o", bin, "./cmd/triggerd")
	build.Dir = ".."
	out, err := build.CombinedOutput()
	require.NoError(t, err, "build: %s", out)
	triggersFile := filepath.Join(tmp, "triggers.yaml")
	require.NoError(t, os.WriteFile(triggersFile, fmt.Appendf(nil, `triggers:
- tag: %[2]s
  tables: [users]
  events: [afterInsert]
  delivery: {batch: {max: 20}}
  actions:
  - {type: http, name: hook, timeout: 5s, retry: {maxAttempts: 2, initialDelay: 100ms},
     config: {url: "%[1]s/batched", method: POST, body: {id: "{{record.id}}"}}}
- tag: %[3]s
  tables: [users]
  events: [afterInsert]
  condition: {field: record.fast, operator: EQUALS, value: true}
  actions:
  - {type: http, name: hook, timeout: 5s, config: {url: "%[1]s/fast", method: POST, body: {id: "{{record.id}}"}}}
`, base, batchedTag, fastTag), 0o600))
	cfgFile := filepath.Join(tmp, "config.yaml")
	tq := "e2e-batched-" + suffix
	require.NoError(t, os.WriteFile(cfgFile, fmt.Appendf(nil, `log: {level: warn}
kafka: {brokers: [%q], topics: [%s], groupId: %s, dlqTopic: %s, commitBatch: 20, commitInterval: 200ms, partitionConcurrency: 16}
temporal: {address: %q, namespace: default, taskQueue: %s}
egress: {allow: [127.0.0.1]}
triggers: {path: %s}
store: {driver: memory}
delivery: {batchLinger: 2m}
`, brokers, topic, "g-"+suffix, dlq, addr, tq, triggersFile), 0o600))
	ingestP := &proc{name: "ingest", args: []string{bin, "ingest", "-c", cfgFile}, logDir: tmp, api: true}
	workerP := &proc{name: "worker", args: []string{bin, "worker", "-c", cfgFile}, logDir: tmp, api: true}
	workerP.start(t)
	ingestP.start(t)
	t.Cleanup(func() { ingestP.kill(); workerP.kill() })

	// The events, and the keys their runs must execute.
	var msgs []kafka.Message
	batchedKeys, fastKeys, refusedIDs := map[string]bool{}, map[string]bool{}, map[string]string{}
	events := map[string]bool{}
	for i := 1; i <= n; i++ {
		m := debeziumMessage(t, "c", int64(5000+i*10), nil, map[string]any{"id": i, "fast": i%12 == 0}, false)
		m.Topic = topic
		evs, err := ingest.Decode(m, ingest.DecodeOptions{})
		require.NoError(t, err)
		ev := evs[0]
		m.Topic = ""
		msgs = append(msgs, m)
		id := run.WorkflowID(batchedTag, ev.ID)
		events[ev.ID] = i%8 == 0 || refuse[fmt.Sprint(i)]
		if refuse[fmt.Sprint(i)] {
			refusedIDs[id] = ev.ID
		} else {
			batchedKeys[id+"/hook"] = true
		}
		if i%12 == 0 {
			fastKeys[run.WorkflowID(fastTag, ev.ID)+"/hook"] = true
		}
	}
	publishRetrying(t, brokers, topic, msgs[:n/2]...)

	// Kill the worker while webhooks are in flight: batches it was
	// running are lost with it and run again on the new worker.
	eventually(t, "batched webhooks in flight", 2*time.Minute, func() bool {
		return rcv.idem.executedCount() >= 30 && rcv.inFlight.Load() > 0
	})
	workerP.kill()
	t.Logf("worker killed with %d webhooks executed", rcv.idem.executedCount())
	publishRetrying(t, brokers, topic, msgs[n/2:]...)
	time.Sleep(time.Second)
	workerP.start(t)
	// Then ingest, while it signals the second half: what it handed over
	// and did not commit is signalled again and must run once.
	eventually(t, "more webhooks executed", 2*time.Minute, func() bool { return rcv.idem.executedCount() >= n/2+20 })
	ingestP.kill()
	ingestP.start(t)

	all := map[string]bool{}
	for k := range batchedKeys {
		all[k] = true
	}
	for k := range fastKeys {
		all[k] = true
	}
	eventually(t, "every webhook executed", 4*time.Minute, func() bool { return rcv.idem.missing(all) == 0 })
	t.Logf("all executed at %s", time.Since(begin).Round(time.Second))
	deliveries, twice := rcv.idem.stats()
	t.Logf("batched delivery: %d keys, %d deliveries (%d repeated after the kills), executed twice %d",
		len(all), deliveries, deliveries-len(all), twice)
	require.Zero(t, twice, "an idempotency-honouring target executed no key twice")

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	// The failed runs: failed workflows of their own ids, carrying the
	// result, and none for the runs that succeeded.
	eventually(t, "the failed runs recorded", time.Minute, func() bool {
		for id := range refusedIDs {
			d, err := c.DescribeWorkflowExecution(ctx, id, "")
			if err != nil || d.GetWorkflowExecutionInfo().GetStatus() != enums.WORKFLOW_EXECUTION_STATUS_FAILED {
				return false
			}
		}
		return true
	})
	for id := range refusedIDs {
		err := c.GetWorkflow(ctx, id, "").Get(ctx, nil)
		res, ok := workflows.ResultFromError(err)
		require.True(t, ok, "%s: %v", id, err)
		assert.Contains(t, res.Actions[0].Error, "HTTP_4XX")
		assert.Contains(t, res.DeliveredBy, "triggerd-delivery/"+batchedTag+"/")
	}
	for k := range batchedKeys {
		_, err := c.DescribeWorkflowExecution(ctx, strings.TrimSuffix(k, "/hook"), "")
		require.Error(t, err, "a batched run that succeeded has no workflow of its own")
		break
	}
	// Each event's run is in the delivery workflow of its partition, with
	// its result (a sample: each query is a workflow task on the worker).
	for evID, sampled := range events {
		if !sampled {
			continue
		}
		var res run.Result
		found := 0
		for p := range 3 {
			v, err := c.QueryWorkflow(ctx, run.DeliveryWorkflowID(batchedTag, topic, p), "", run.QueryRun, evID)
			if err == nil {
				require.NoError(t, v.Get(&res))
				found++
			}
		}
		require.Equal(t, 1, found, "one delivery workflow ran %s", evID)
		want := run.StatusSucceeded
		if _, failed := refusedIDs[run.WorkflowID(batchedTag, evID)]; failed {
			want = run.StatusFailed
		}
		assert.Equal(t, want, res.Status, evID)
	}

	t.Logf("runs checked at %s", time.Since(begin).Round(time.Second))
	// The fast path: local-activity markers, no activity task.
	six := 0
	for k := range fastKeys {
		id := strings.TrimSuffix(k, "/hook")
		// A run whose workflow task the killed worker held executed its
		// webhook but recorded nothing yet: the next worker completes it
		// once the task times out, so wait for the run to close.
		require.NoError(t, c.GetWorkflow(ctx, id, "").Get(ctx, nil), id)
		types := historyTypes(ctx, t, c, id)
		assert.NotContains(t, types, enums.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED, id)
		assert.Contains(t, types, enums.EVENT_TYPE_MARKER_RECORDED, id)
		if len(types) == 6 {
			six++
		}
	}
	assert.Positive(t, six, "an undisturbed fast-path run has 6 history events")

	t.Logf("fast path checked at %s", time.Since(begin).Round(time.Second))
	// The failed runs are listed and re-run, under the same keys.
	runsCmd := func(args ...string) string {
		out, err := exec.Command(bin, append([]string{"runs"}, append(args, "-c", cfgFile)...)...).CombinedOutput()
		require.NoError(t, err, "runs %v: %s", args, out)
		return string(out)
	}
	// `runs get` finds a batched run that succeeded in its delivery
	// workflow, and a failed one as the workflow of its own id.
	for k := range batchedKeys {
		var shown run.Result
		require.NoError(t, json.Unmarshal([]byte(runsCmd("get", strings.TrimSuffix(k, "/hook"))), &shown))
		assert.Equal(t, run.StatusSucceeded, shown.Status)
		assert.Contains(t, shown.DeliveredBy, "triggerd-delivery/")
		break
	}
	for id := range refusedIDs {
		var shown run.Result
		require.NoError(t, json.Unmarshal([]byte(runsCmd("get", id)), &shown))
		assert.Equal(t, run.StatusFailed, shown.Status)
		break
	}
	listed := runsCmd("list", "--failed", "--limit", "1000")
	t.Logf("listed at %s", time.Since(begin).Round(time.Second))
	rcv.accept.Store(true)
	for id := range refusedIDs {
		require.Contains(t, listed, id)
		runsCmd("rerun", id)
	}
	for id := range refusedIDs {
		require.NoError(t, c.GetWorkflow(ctx, id, "").Get(ctx, nil), "re-run of %s", id)
		require.Zero(t, rcv.idem.missing(map[string]bool{id + "/hook": true}), "re-run executed %s", id)
	}
	_, twice = rcv.idem.stats()
	require.Zero(t, twice)
}

// historyTypes lists the event types of workflow id's history.
func historyTypes(ctx context.Context, t *testing.T, c client.Client, id string) []enums.EventType {
	t.Helper()
	var out []enums.EventType
	it := c.GetWorkflowHistory(ctx, id, "", false, enums.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		ev, err := it.Next()
		require.NoError(t, err)
		out = append(out, ev.GetEventType())
	}
	return out
}

// executedCount is how many keys the receiver executed.
func (r *idemReceiver) executedCount() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.executed)
}
