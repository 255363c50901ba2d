package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/stretchr/testify/require"
	"go.temporal.io/api/enums/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"

	"github.com/triggerd/triggerd/ingest"
	"github.com/triggerd/triggerd/internal/cdctest"
	"github.com/triggerd/triggerd/internal/testenv"
	"github.com/triggerd/triggerd/run"
	"github.com/triggerd/triggerd/workflows"
)

// TestChaos is the fault-injection proof of docs/semantics.md. It runs a
// private Temporal dev server and a private Kafka broker (so that killing
// them disturbs no other test), and the triggerd binary as two processes,
// ingest and worker. While N Debezium events flow through three triggers
// (async, sync, queued) it kill -9s ingest and the worker several times,
// both at once once, restarts Temporal once and Kafka once. Then:
//   - every matched (event, trigger) pair has exactly one run, completed;
//   - the webhook receiver saw every idempotency key at least once and,
//     honouring the keys, executed none twice;
//   - the sync trigger executed each record's changes in commit order;
//   - every queued item drained.
//
// CHAOS_EVENTS (default 2000) and CHAOS_FAULTS (default 8) scale it up for
// a local soak; CHAOS_TIMEOUT (default 6m) bounds the wait for the drain.
// CHAOS_SEED picks the generator's seed (default: the clock's), which the
// test logs and reports so that a failing run's events and fault schedule
// can be drawn again.
// CHAOS_TEMPORAL=postgres runs the private Temporal as a real server
// persisted in the services' PostgreSQL (temporal_pg_test.go) instead of
// the dev server's SQLite file.
func TestChaos(t *testing.T) {
	dir := testenv.Require(t, "TRIGGERD_SERVICES_DIR")
	if testing.Short() {
		t.Skip("chaos test skipped in -short mode")
	}
	nEvents := envInt("CHAOS_EVENTS", 2000)
	nFaults := envInt("CHAOS_FAULTS", 8)
	waitFor, _ := time.ParseDuration(envOr("CHAOS_TIMEOUT", "6m"))
	tmp := t.TempDir()
	seed := chaosSeed(t)
	rnd := rand.New(rand.NewPCG(seed, 7))
	begin := time.Now()

	// Private services.
	tmpl := newChaosTemporal(t, dir, tmp)
	tmpl.start(t)
	kaf := newPrivateKafka(t, filepath.Join(dir, "kafka", "libs"), tmp)
	kaf.start(t)
	topic, dlq := "chaos.items", "chaos.dlq"
	kaf.createTopics(t, topic, dlq)

	rcv := newIdemReceiver()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	srv := &http.Server{Handler: rcv}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	base := "http://" + ln.Addr().String()

	// The binary and its configuration.
	bin := filepath.Join(tmp, "triggerd")
	build := exec.Command("go", "build", "-o", bin, "../cmd/triggerd")
	build.Stderr = os.Stderr
	require.NoError(t, build.Run(), "build triggerd")
	triggersFile := filepath.Join(tmp, "triggers.yaml")
	require.NoError(t, os.WriteFile(triggersFile, []byte(chaosTriggers(base)), 0o600))
	cfgFile := filepath.Join(tmp, "config.yaml")
	require.NoError(t, os.WriteFile(cfgFile, []byte(fmt.Sprintf(`log: {level: warn}
kafka: {brokers: ["%s"], topics: [%s], groupId: chaos, dlqTopic: %s, commitBatch: 50, commitInterval: 300ms}
temporal: {address: "%s", namespace: default, taskQueue: chaos}
egress: {allow: [127.0.0.1]}
triggers: {path: %s}
store: {driver: memory}
queues: {chaos: {concurrency: 8}}
`, kaf.addr, topic, dlq, tmpl.addr, triggersFile)), 0o600))
	ingestP := &proc{name: "ingest", args: []string{bin, "ingest", "-c", cfgFile}, logDir: tmp, api: true}
	workerP := &proc{name: "worker", args: []string{bin, "worker", "-c", cfgFile}, logDir: tmp, api: true}
	ingestP.start(t)
	workerP.start(t)
	t.Cleanup(func() { ingestP.kill(); workerP.kill() })

	// The events: inserts (the even ids queued), then updates, a third of
	// them on chaosLanes "lane" records whose seq grows, which the sync
	// trigger must see in order.
	msgs, expect := chaosEvents(t, nEvents, topic)
	waves := 4
	per := (len(msgs) + waves - 1) / waves

	// Faults, interleaved with the publishing of the waves.
	faults := []string{"temporal", "kafka", "both"}
	for len(faults) < nFaults+3 {
		faults = append(faults, []string{"ingest", "worker"}[rnd.IntN(2)])
	}
	rnd.Shuffle(len(faults), func(i, j int) { faults[i], faults[j] = faults[j], faults[i] })
	counts := map[string]int{}
	published := 0
	for i, f := range faults {
		if published < len(msgs) && (i%max(1, len(faults)/waves) == 0) {
			end := min(published+per, len(msgs))
			publishRetrying(t, kaf.addr, topic, msgs[published:end]...)
			published = end
		}
		// Faults 4 to 10 seconds apart: a restarted ingest needs a few
		// seconds to rejoin its group, and each fault should find work
		// in flight.
		time.Sleep(time.Duration(4000+rnd.IntN(6000)) * time.Millisecond)
		counts[f]++
		switch f {
		case "ingest":
			ingestP.kill()
			time.Sleep(time.Duration(200+rnd.IntN(1500)) * time.Millisecond)
			ingestP.start(t)
		case "worker":
			workerP.kill()
			time.Sleep(time.Duration(200+rnd.IntN(1500)) * time.Millisecond)
			workerP.start(t)
		case "both":
			// Every triggerd process dies: the queue and the lanes live on
			// in Temporal and drain once they are back.
			ingestP.kill()
			workerP.kill()
			time.Sleep(2 * time.Second)
			ingestP.start(t)
			workerP.start(t)
		case "temporal":
			// Both processes are also restarted during the outage: they
			// must wait for Temporal, not exit.
			tmpl.kill()
			ingestP.kill()
			workerP.kill()
			ingestP.start(t)
			workerP.start(t)
			time.Sleep(3 * time.Second)
			tmpl.start(t)
		case "kafka":
			kaf.kill()
			time.Sleep(2 * time.Second)
			kaf.start(t)
		}
		t.Logf("chaos: fault %d/%d %s at %s", i+1, len(faults), f, time.Since(begin).Round(time.Second))
	}
	if published < len(msgs) {
		publishRetrying(t, kaf.addr, topic, msgs[published:]...)
	}
	faultsDone := time.Since(begin)

	// The drain: every expected webhook executed and every run closed.
	c, err := client.Dial(client.Options{HostPort: tmpl.addr, Namespace: "default"})
	require.NoError(t, err)
	defer c.Close()
	deadline := time.Now().Add(waitFor)
	for {
		missing := rcv.missing(expect.keys)
		if missing == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("chaos: %d of %d idempotency keys never executed: %s\ningest log:\n%s\nworker log:\n%s",
				missing, len(expect.keys), diagnoseMissing(c, rcv, expect), ingestP.tail(), workerP.tail())
		}
		time.Sleep(time.Second)
	}
	var runs map[string][]enums.WorkflowExecutionStatus
	for {
		runs = listRuns(t, c)
		open := 0
		for _, sts := range runs {
			for _, s := range sts {
				if s == enums.WORKFLOW_EXECUTION_STATUS_RUNNING {
					open++
				}
			}
		}
		if open == 0 && len(runs) >= len(expect.runs) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("chaos: runs still open: %d, listed %d of %d", open, len(runs), len(expect.runs))
		}
		time.Sleep(time.Second)
	}
	drained := time.Since(begin)

	// The assertions.
	var notOne, notCompleted, unexpected []string
	for id := range expect.runs {
		sts := runs[id]
		switch {
		case len(sts) != 1:
			notOne = append(notOne, fmt.Sprintf("%s: %d runs", id, len(sts)))
		case sts[0] != enums.WORKFLOW_EXECUTION_STATUS_COMPLETED:
			notCompleted = append(notCompleted, fmt.Sprintf("%s: %s", id, sts[0]))
		}
	}
	for id := range runs {
		if !expect.runs[id] {
			unexpected = append(unexpected, id)
		}
	}
	deliveries, executedTwice := rcv.stats()
	outOfOrder := rcv.outOfOrder()
	queue := queueStats(t, c)

	report := []string{
		fmt.Sprintf("chaos report: Temporal %s", tmpl.persistence),
		fmt.Sprintf("chaos report: events=%d matched pairs=%d (async=%d sync=%d queued=%d) webhook keys=%d",
			len(msgs), len(expect.runs), expect.byTag["chaos-async"], expect.byTag["chaos-sync"], expect.byTag["chaos-queued"], len(expect.keys)),
		fmt.Sprintf("chaos report: faults=%v; runs listed=%d, not exactly one=%d, not completed=%d, unexpected=%d",
			counts, len(runs), len(notOne), len(notCompleted), len(unexpected)),
		fmt.Sprintf("chaos report: webhook deliveries=%d (redelivered=%d), executed twice=%d, sync out of order=%d, queue=%+v",
			deliveries, deliveries-len(expect.keys), executedTwice, len(outOfOrder), queue),
		fmt.Sprintf("chaos report: faults over after %s, drained after %s", faultsDone.Round(time.Second), drained.Round(time.Second)),
		fmt.Sprintf("chaos report: seed %d (CHAOS_SEED=%d draws the same events and faults again)", seed, seed),
	}
	for _, l := range report {
		t.Log(l)
	}
	// go test hides a passing test's log without -v: CI asks for the
	// report in a file (CHAOS_REPORT) and prints it.
	if f := os.Getenv("CHAOS_REPORT"); f != "" {
		require.NoError(t, os.WriteFile(f, []byte(strings.Join(report, "\n")+"\n"), 0o644))
	}

	require.Empty(t, notOne, "every matched (event, trigger) pair has exactly one run")
	require.Empty(t, notCompleted, "every run completed")
	require.Empty(t, unexpected, "no run for an unmatched pair")
	require.Zero(t, executedTwice, "an idempotency-honouring target executed no key twice")
	require.Empty(t, outOfOrder, "sync runs of one record executed in commit order")
	require.Zero(t, rcv.missing(expect.keys), "every idempotency key reached the target")
	require.Zero(t, queue.Pending+queue.InFlight, "the queue drained")
}

// diagnoseMissing says, per trigger, how many keys were not executed and
// what became of their runs (not started: ingest; running: worker).
func diagnoseMissing(c client.Client, rcv *idemReceiver, exp chaosExpect) string {
	byState := map[string]int{}
	var sample []string
	for k := range exp.keys {
		if rcv.missing(map[string]bool{k: true}) == 0 {
			continue
		}
		id := k[:strings.LastIndex(k, "/")]
		tag := strings.Split(id, "/")[1]
		state := "not started"
		if d, err := c.DescribeWorkflowExecution(context.Background(), id, ""); err == nil {
			state = d.GetWorkflowExecutionInfo().GetStatus().String()
		}
		byState[tag+" "+state]++
		if len(sample) < 5 {
			sample = append(sample, id+" ("+state+")")
		}
	}
	return fmt.Sprintf("%v, e.g. %v", byState, sample)
}

func chaosTriggers(base string) string {
	return fmt.Sprintf(`triggers:
- tag: chaos-async
  tables: [users]
  events: [afterInsert, afterUpdate]
  condition: {field: record.async, operator: EQUALS, value: true}
  actions:
  - type: http
    name: notify
    timeout: 5s
    retry: {maxAttempts: 100, initialDelay: 200ms, maxDelay: 2s}
    config: {url: "%[1]s/async", method: POST, body: {id: "{{record.id}}", seq: "{{record.seq}}"}}
- tag: chaos-sync
  tables: [users]
  events: [afterUpdate]
  condition: {field: record.lane, operator: EQUALS, value: true}
  actions:
  - type: http
    name: ordered
    timing: sync
    timeout: 5s
    retry: {maxAttempts: 100, initialDelay: 200ms, maxDelay: 2s}
    config: {url: "%[1]s/sync", method: POST, body: {id: "{{record.id}}", seq: "{{record.seq}}"}}
- tag: chaos-queued
  tables: [users]
  events: [afterInsert]
  condition: {field: record.queued, operator: EQUALS, value: true}
  actions:
  - type: http
    name: later
    timing: queued
    queue: chaos
    timeout: 5s
    retry: {maxAttempts: 100, initialDelay: 200ms, maxDelay: 2s}
    config: {url: "%[1]s/queued", method: POST, body: {id: "{{record.id}}"}}
`, base)
}

// chaosLanes is the number of records the sync trigger serialises: each
// lane runs its record's changes one at a time, which is the throughput
// cost of sync.
const chaosLanes = 40

type chaosExpect struct {
	runs  map[string]bool // workflow ids
	keys  map[string]bool // idempotency keys the webhook must execute
	byTag map[string]int
}

// chaosEvents builds n Debezium messages and what they must cause, decoded
// with ingest's own decoder so that the event ids are the real ones.
func chaosEvents(t *testing.T, n int, topic string) ([]kafka.Message, chaosExpect) {
	exp := chaosExpect{runs: map[string]bool{}, keys: map[string]bool{}, byTag: map[string]int{}}
	inserts := n * 3 / 10
	var msgs []kafka.Message
	seq := map[int]int{}
	laneN, otherN := 0, 0
	// A record: lane records run the sync trigger on update, even ids the
	// queued one on insert, and other odd ids the async one; the rest
	// (a quarter of the events) match nothing.
	row := func(id, sq int) *chaosRow {
		return &chaosRow{ID: id, Seq: sq, Lane: id <= chaosLanes, Queued: id%2 == 0, Async: id > chaosLanes && id%2 == 1}
	}
	add := func(tag, action string, ev run.Event) {
		id := run.WorkflowID(tag, ev.ID)
		exp.runs[id] = true
		exp.keys[id+"/"+action] = true
		exp.byTag[tag]++
	}
	for i := range n {
		var before, after *chaosRow
		op := "c"
		id := i + 1
		if i < inserts {
			after = row(id, 0)
		} else {
			op = "u"
			if i%10 < 3 {
				id = laneN%chaosLanes + 1 // a lane record
				laneN++
			} else {
				id = chaosLanes + 1 + otherN%(inserts-chaosLanes)
				otherN++
			}
			seq[id]++
			before, after = row(id, seq[id]-1), row(id, seq[id])
		}
		m := chaosMessage(t, op, int64(1000+i*10), before, after)
		m.Topic = topic
		evs, err := ingest.Decode(m, ingest.DecodeOptions{})
		require.NoError(t, err)
		require.Len(t, evs, 1)
		ev := evs[0]
		if id > chaosLanes && id%2 == 1 {
			add("chaos-async", "notify", ev)
		}
		if op == "u" && id <= chaosLanes {
			add("chaos-sync", "ordered", ev)
		}
		if op == "c" && id%2 == 0 {
			add("chaos-queued", "later", ev)
		}
		m.Topic = ""
		msgs = append(msgs, m)
	}
	return msgs, exp
}

// TestChaos is about process faults, not about decoding database changes:
// it kills its own Kafka broker and Temporal server, which a Kafka Connect
// worker would have to survive too, and it needs thousands of events on
// cue. So it publishes its change events itself, shaped byte for byte like
// the schemaless test connector's real output (Debezium 3.7 PostgreSQL,
// JsonConverter without schemas: ingest/testdata/debezium/schemaless):
// the same fields in the same order, "<txId>:<lsn>" transaction ids, the
// __debezium.context.* headers. TestChaosMessagesAreDebeziumShaped holds
// them to the recorded files.

// chaosRow is a row of the chaos table, its columns in table order.
type chaosRow struct {
	ID     int  `json:"id"`
	Seq    int  `json:"seq"`
	Lane   bool `json:"lane"`
	Queued bool `json:"queued"`
	Async  bool `json:"async"`
}

// dbzSource is Debezium's PostgreSQL source block, in its field order.
type dbzSource struct {
	Version   string  `json:"version"`
	Connector string  `json:"connector"`
	Name      string  `json:"name"`
	TsMs      int64   `json:"ts_ms"`
	Snapshot  string  `json:"snapshot"`
	DB        string  `json:"db"`
	Sequence  string  `json:"sequence"`
	TsUs      int64   `json:"ts_us"`
	TsNs      int64   `json:"ts_ns"`
	Schema    string  `json:"schema"`
	Table     string  `json:"table"`
	TxID      int64   `json:"txId"`
	LSN       int64   `json:"lsn"`
	Xmin      *int64  `json:"xmin"`
	Origin    *string `json:"origin"`
	OriginLSN *int64  `json:"origin_lsn"`
}

type dbzTransaction struct {
	ID                  string `json:"id"`
	TotalOrder          int64  `json:"total_order"`
	DataCollectionOrder int64  `json:"data_collection_order"`
}

type dbzEnvelope struct {
	Before      *chaosRow       `json:"before"`
	After       *chaosRow       `json:"after"`
	Source      dbzSource       `json:"source"`
	Transaction *dbzTransaction `json:"transaction"`
	Op          string          `json:"op"`
	TsMs        int64           `json:"ts_ms"`
	TsUs        int64           `json:"ts_us"`
	TsNs        int64           `json:"ts_ns"`
}

// chaosMessage is Debezium's message for a change of public.users at lsn,
// each in a transaction of its own.
func chaosMessage(t *testing.T, op string, lsn int64, before, after *chaosRow) kafka.Message {
	t.Helper()
	id := after
	if id == nil {
		id = before
	}
	const tsMs = 1700000000000
	txID := 700 + lsn/10
	v, err := json.Marshal(dbzEnvelope{
		Before: before, After: after,
		Source: dbzSource{
			Version: "3.7.1.Final", Connector: "postgresql", Name: "dbserver1", TsMs: tsMs, Snapshot: "false", DB: "app",
			Sequence: fmt.Sprintf(`["%d","%d"]`, lsn-8, lsn), TsUs: tsMs * 1000, TsNs: tsMs * 1000_000,
			Schema: "public", Table: "users", TxID: txID, LSN: lsn,
		},
		Transaction: &dbzTransaction{ID: fmt.Sprintf("%d:%d", txID, lsn), TotalOrder: 1, DataCollectionOrder: 1},
		Op:          op, TsMs: tsMs + 123, TsUs: (tsMs + 123) * 1000, TsNs: (tsMs + 123) * 1000_000,
	})
	require.NoError(t, err)
	return kafka.Message{
		Key:   []byte(fmt.Sprintf(`{"id":%d}`, id.ID)),
		Value: v,
		Headers: []kafka.Header{
			{Key: "__debezium.context.connectorLogicalName", Value: []byte("dbserver1")},
			{Key: "__debezium.context.taskId", Value: []byte("0")},
			{Key: "__debezium.context.connectorName", Value: []byte("postgresql")},
			{Key: "__debezium.context.runId", Value: []byte("01a250f0-a464-7a3e-98cf-d876b60a0eb7")},
		},
	}
}

// The chaos test's messages have the fields of real Debezium messages, in
// the same order, at every level: recorded inserts and updates from the
// schemaless test connector against chaosMessage's.
func TestChaosMessagesAreDebeziumShaped(t *testing.T) {
	for op, file := range map[string]string{"c": "01-types-c.json", "u": "02-types-u.json"} {
		real, err := cdctest.LoadMessage(filepath.Join("../ingest/testdata/debezium/schemaless", file))
		require.NoError(t, err)
		row := &chaosRow{ID: 1}
		var before *chaosRow
		if op == "u" {
			before = row
		}
		ours := chaosMessage(t, op, 1000, before, row)
		require.Equal(t, jsonShape(t, real.Key), jsonShape(t, ours.Key), "key")
		require.Equal(t, jsonShape(t, real.Value), jsonShape(t, ours.Value), "value of op %s", op)
		var realHeaders, ourHeaders []string
		for _, h := range real.Headers {
			realHeaders = append(realHeaders, h.Key)
		}
		for _, h := range ours.Headers {
			ourHeaders = append(ourHeaders, h.Key)
		}
		require.Equal(t, realHeaders, ourHeaders, "headers")
	}
}

// jsonShape lists the paths of b's object fields in document order, with
// the JSON kind of each value; before and after are rows of different
// tables, or null, and count as "row" either way.
func jsonShape(t *testing.T, b []byte) []string {
	t.Helper()
	var v any
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.UseNumber()
	var out []string
	var walk func(path string)
	walk = func(path string) {
		tok, err := dec.Token()
		require.NoError(t, err)
		switch tok {
		case json.Delim('{'):
			if path == ".before" || path == ".after" {
				out = append(out, path+" row")
				for dec.More() {
					_, err := dec.Token() // a column
					require.NoError(t, err)
					require.NoError(t, dec.Decode(&v)) // its value
				}
				_, err := dec.Token()
				require.NoError(t, err)
				return
			}
			for dec.More() {
				k, err := dec.Token()
				require.NoError(t, err)
				walk(path + "." + k.(string))
			}
			_, err := dec.Token()
			require.NoError(t, err)
		case json.Delim('['):
			for dec.More() {
				walk(path + "[]")
			}
			_, err := dec.Token()
			require.NoError(t, err)
		default:
			kind := "null"
			switch tok.(type) {
			case string:
				kind = "string"
			case json.Number:
				kind = "number"
			case bool:
				kind = "bool"
			}
			if path == ".before" || path == ".after" {
				kind = "row" // absent row (null)
			}
			out = append(out, path+" "+kind)
		}
	}
	walk("")
	return out
}

// idemReceiver is a webhook target that honours Idempotency-Key: it counts
// every delivery but executes a key only once, recording per path and
// record the order in which it executed.
type idemReceiver struct {
	mu        sync.Mutex
	delivered map[string]int
	executed  map[string]int
	order     map[string][]int // "id" -> seqs executed by /sync
}

func newIdemReceiver() *idemReceiver {
	return &idemReceiver{delivered: map[string]int{}, executed: map[string]int{}, order: map[string][]int{}}
}

func (r *idemReceiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	var doc map[string]any
	_ = json.Unmarshal(body, &doc)
	key := req.Header.Get("Idempotency-Key")
	r.mu.Lock()
	defer r.mu.Unlock()
	r.delivered[key]++
	if r.executed[key] > 0 {
		// Honouring the key: a repeated delivery is acknowledged, not run.
		w.WriteHeader(http.StatusOK)
		return
	}
	r.executed[key]++
	if req.URL.Path == "/sync" {
		id := fmt.Sprint(doc["id"])
		s, _ := strconv.Atoi(fmt.Sprint(doc["seq"]))
		r.order[id] = append(r.order[id], s)
	}
	w.WriteHeader(http.StatusNoContent)
}

func (r *idemReceiver) missing(keys map[string]bool) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for k := range keys {
		if r.executed[k] == 0 {
			n++
		}
	}
	return n
}

func (r *idemReceiver) stats() (deliveries, executedTwice int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for k, d := range r.delivered {
		deliveries += d
		if r.executed[k] > 1 {
			executedTwice++
		}
	}
	return deliveries, executedTwice
}

// outOfOrder lists the lane records whose seqs did not execute in order.
func (r *idemReceiver) outOfOrder() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for id, seqs := range r.order {
		if !slices.IsSorted(seqs) {
			out = append(out, fmt.Sprintf("%s: %v", id, seqs))
		}
	}
	return out
}

func listRuns(t *testing.T, c client.Client) map[string][]enums.WorkflowExecutionStatus {
	out := map[string][]enums.WorkflowExecutionStatus{}
	var token []byte
	for {
		resp, err := c.ListWorkflow(context.Background(), &workflowservice.ListWorkflowExecutionsRequest{
			Query: fmt.Sprintf("WorkflowType = '%s'", run.WorkflowName), NextPageToken: token, PageSize: 1000,
		})
		require.NoError(t, err)
		for _, e := range resp.GetExecutions() {
			id := e.GetExecution().GetWorkflowId()
			out[id] = append(out[id], e.GetStatus())
		}
		if token = resp.GetNextPageToken(); len(token) == 0 {
			return out
		}
	}
}

// queueStats asks the chaos queue what is left, if it is still open (a
// drained queue closes after being idle, which also means it is empty).
func queueStats(t *testing.T, c client.Client) workflows.QueueStats {
	var st workflows.QueueStats
	v, err := c.QueryWorkflow(context.Background(), run.QueueWorkflowID("chaos"), "", workflows.QueryQueueStats)
	if err != nil {
		t.Logf("queue query: %v (a closed queue is drained)", err)
		return st
	}
	require.NoError(t, v.Get(&st))
	return st
}

func publishRetrying(t *testing.T, addr, topic string, msgs ...kafka.Message) {
	t.Helper()
	w := &kafka.Writer{Addr: kafka.TCP(addr), Topic: topic, RequiredAcks: kafka.RequireAll, Balancer: &kafka.Hash{},
		BatchSize: 200, BatchTimeout: 5 * time.Millisecond}
	defer w.Close()
	for attempt := 1; ; attempt++ {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		err := w.WriteMessages(ctx, msgs...)
		cancel()
		if err == nil {
			return
		}
		// A partial write is retried whole: duplicates are the same
		// changes (same source positions) and must be deduplicated.
		if attempt > 30 {
			t.Fatalf("publish: %v", err)
		}
		time.Sleep(time.Second)
	}
}

// proc is a triggerd process that the test kills with SIGKILL.
type proc struct {
	name   string
	args   []string
	logDir string
	env    []string // added to the test's environment
	cmd    *exec.Cmd
	starts int
	api    bool // a triggerd process, which serves /healthz
}

// tail returns the end of the process's log, for failure messages.
func (p *proc) tail() string {
	b, _ := os.ReadFile(p.logFile())
	if len(b) > 3000 {
		b = b[len(b)-3000:]
	}
	return string(b)
}

func (p *proc) logFile() string { return filepath.Join(p.logDir, p.name+".log") }

func (p *proc) start(t *testing.T) {
	t.Helper()
	f, err := os.OpenFile(p.logFile(), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	require.NoError(t, err)
	p.starts++
	fmt.Fprintf(f, "==== start %d at %s\n", p.starts, time.Now().Format(time.RFC3339Nano))
	p.cmd = exec.Command(p.args[0], p.args[1:]...)
	p.cmd.Stdout, p.cmd.Stderr = f, f
	p.cmd.Env = append(os.Environ(), p.env...)
	if p.api {
		// Each start its own port: a killed process's port may linger.
		p.cmd.Env = append(p.cmd.Env, fmt.Sprintf("TRIGGERD_API_LISTEN=127.0.0.1:%d", freePort(t)))
	}
	// Pdeathsig: a test killed before its cleanup leaves no process behind.
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	require.NoError(t, p.cmd.Start(), "start %s", p.name)
	go func(c *exec.Cmd, f *os.File) { _ = c.Wait(); _ = f.Close() }(p.cmd, f)
}

func (p *proc) kill() {
	if p.cmd == nil || p.cmd.Process == nil {
		return
	}
	_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
	for range 100 {
		if err := p.cmd.Process.Signal(syscall.Signal(0)); err != nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	p.cmd = nil
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// privateTemporal is a Temporal server of the test's own, with its data
// kept across a restart: a dev server and its SQLite file, or a real
// server on PostgreSQL (temporal_pg_test.go).
type privateTemporal struct {
	bin, dir    string
	port        int
	ports       []int
	addr        string
	p           *proc
	persistence string
	// setUp runs once, after the first start (namespace, search attributes).
	setUp func(t *testing.T)
}

// newChaosTemporal returns the private Temporal CHAOS_TEMPORAL names.
func newChaosTemporal(t *testing.T, servicesDir, tmp string) *privateTemporal {
	switch v := envOr("CHAOS_TEMPORAL", "sqlite"); v {
	case "sqlite":
		return newPrivateTemporal(t, filepath.Join(servicesDir, "bin", "temporal"), tmp)
	case "postgres":
		return newPrivateTemporalPG(t, servicesDir, tmp)
	default:
		t.Fatalf("CHAOS_TEMPORAL=%q: want sqlite or postgres", v)
		return nil
	}
}

func newPrivateTemporal(t *testing.T, bin, tmp string) *privateTemporal {
	pt := &privateTemporal{bin: bin, dir: tmp, port: freePort(t), persistence: "dev server, SQLite file"}
	pt.ports = []int{freePort(t), freePort(t)}
	pt.addr = fmt.Sprintf("127.0.0.1:%d", pt.port)
	pt.p = &proc{name: "temporal", logDir: tmp, args: []string{bin, "server", "start-dev", "--headless",
		"--ip", "127.0.0.1", "--port", strconv.Itoa(pt.port), "--http-port", strconv.Itoa(pt.ports[0]),
		"--metrics-port", strconv.Itoa(pt.ports[1]), "--db-filename", filepath.Join(tmp, "temporal.db"),
		"--namespace", "default", "--log-level", "error",
		"--search-attribute", "TriggerTag=Keyword", "--search-attribute", "TriggerTable=Keyword",
		"--search-attribute", "TriggerEvent=Keyword", "--search-attribute", "RecordKey=Keyword"}}
	t.Cleanup(pt.kill)
	return pt
}

func (pt *privateTemporal) start(t *testing.T) {
	t.Helper()
	pt.p.start(t)
	deadline := time.Now().Add(90 * time.Second)
	for {
		c, err := client.Dial(client.Options{HostPort: pt.addr, Namespace: "default"})
		if err == nil {
			_, err = c.CheckHealth(context.Background(), &client.CheckHealthRequest{})
			c.Close()
			if err == nil {
				if pt.setUp != nil && pt.p.starts == 1 {
					pt.setUp(t)
				}
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("private temporal not ready: %v; its log ends:\n%s", err, pt.p.tail())
		}
		time.Sleep(300 * time.Millisecond)
	}
}

func (pt *privateTemporal) kill() { pt.p.kill() }

// privateKafka is a KRaft broker of the test's own on free ports, with
// its log directory kept across a restart.
type privateKafka struct {
	addr string
	p    *proc
}

func newPrivateKafka(t *testing.T, libs, tmp string) *privateKafka {
	t.Helper()
	port, ctl := freePort(t), freePort(t)
	kdir := filepath.Join(tmp, "kafka")
	require.NoError(t, os.MkdirAll(filepath.Join(kdir, "data"), 0o755))
	conf := filepath.Join(kdir, "server.properties")
	require.NoError(t, os.WriteFile(conf, []byte(fmt.Sprintf(`process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:%[2]d
controller.listener.names=CONTROLLER
listeners=PLAINTEXT://127.0.0.1:%[1]d,CONTROLLER://127.0.0.1:%[2]d
advertised.listeners=PLAINTEXT://127.0.0.1:%[1]d
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
log.dirs=%[3]s/data
num.partitions=3
default.replication.factor=1
auto.create.topics.enable=true
offsets.topic.replication.factor=1
offsets.topic.num.partitions=3
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
num.network.threads=2
num.io.threads=2
`, port, ctl, kdir)), 0o600))
	cp := filepath.Join(libs, "*")
	// The shared broker's cluster id is a valid one; the cluster is another.
	id, err := os.ReadFile(filepath.Join(filepath.Dir(libs), "cluster-id"))
	require.NoError(t, err, "kafka cluster id")
	out, err := exec.Command("java", "-cp", cp, "kafka.tools.StorageTool", "format", "-t", strings.TrimSpace(string(id)), "-c", conf).CombinedOutput()
	require.NoError(t, err, "kafka format: %s", out)
	pk := &privateKafka{addr: fmt.Sprintf("127.0.0.1:%d", port)}
	pk.p = &proc{name: "kafka", logDir: tmp, args: []string{"java", "-Xms128m", "-Xmx384m", "-XX:+UseSerialGC",
		"-Dkafka.logs.dir=" + filepath.Join(kdir, "logs"), "-cp", cp, "kafka.Kafka", conf}}
	t.Cleanup(pk.kill)
	return pk
}

func (pk *privateKafka) start(t *testing.T) {
	t.Helper()
	pk.p.start(t)
	deadline := time.Now().Add(120 * time.Second)
	for {
		conn, err := kafka.Dial("tcp", pk.addr)
		if err == nil {
			_, err = conn.Brokers()
			_ = conn.Close()
			if err == nil {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("private kafka not ready: %v (log %s)", err, pk.p.logFile())
		}
		time.Sleep(500 * time.Millisecond)
	}
}

func (pk *privateKafka) kill() { pk.p.kill() }

func (pk *privateKafka) createTopics(t *testing.T, topics ...string) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		err := func() error {
			conn, err := kafka.Dial("tcp", pk.addr)
			if err != nil {
				return err
			}
			defer conn.Close()
			ctl, err := conn.Controller()
			if err != nil {
				return err
			}
			cc, err := kafka.Dial("tcp", net.JoinHostPort(ctl.Host, strconv.Itoa(ctl.Port)))
			if err != nil {
				return err
			}
			defer cc.Close()
			var cfgs []kafka.TopicConfig
			for _, tp := range topics {
				cfgs = append(cfgs, kafka.TopicConfig{Topic: tp, NumPartitions: 3, ReplicationFactor: 1})
			}
			return cc.CreateTopics(cfgs...)
		}()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("create topics: %v", err)
		}
		time.Sleep(time.Second)
	}
}

// chaosSeed is CHAOS_SEED, or the clock's nanoseconds when it is not
// set; either way it is logged first, since a run that fails after
// minutes must say how to draw it again.
func chaosSeed(t *testing.T) uint64 {
	seed := uint64(time.Now().UnixNano())
	if v := os.Getenv("CHAOS_SEED"); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		require.NoError(t, err, "CHAOS_SEED must be an unsigned integer")
		seed = n
	}
	t.Logf("chaos seed %d (rerun with CHAOS_SEED=%d)", seed, seed)
	return seed
}

func envInt(name string, def int) int {
	if n, err := strconv.Atoi(os.Getenv(name)); err == nil && n > 0 {
		return n
	}
	return def
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}
