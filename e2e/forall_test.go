package e2e

import (
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/stretchr/testify/require"

	"github.com/triggerd/triggerd/run"
	"github.com/triggerd/triggerd/trigger"
)

// TestForAll proves docs/semantics.md's `for: all` against real Kafka and
// Temporal: Debezium events carrying transaction metadata run a `for: all`
// trigger once per transaction, whichever partitions the rows landed on,
// with every row in {{records}}; delivering the whole topic again (a new
// consumer group) runs nothing twice.
func TestForAll(t *testing.T) {
	e := newEnv(t)
	rcv := newReceiver()
	srv := httptest.NewServer(rcv)
	t.Cleanup(srv.Close)
	topic, dlq := "forall-"+e.suffix, "forall-dlq-"+e.suffix
	e.createTopics(t, topic, dlq)
	e.startWorker(t)
	defs, err := trigger.Parse([]byte(fmt.Sprintf(`
tag: bulk-orders
for: all
tables: [users]
events: [afterInsert]
actions:
  - type: http
    name: notify
    config: {url: "%s/bulk", body: {records: "{{records}}"}}
`, srv.URL)), "forall.yaml")
	require.NoError(t, err)
	set, err := trigger.NewSet(defs)
	require.NoError(t, err)

	txA, txB := "A"+e.suffix, "B"+e.suffix
	var msgs []kafka.Message
	for i, tx := range []string{txA, txA, txA, txB, txB} {
		msgs = append(msgs, txMessage(t, int64(5000+i*10), i+1, tx))
	}
	publishRetrying(t, e.brokers[0], topic, msgs...)
	_, stop := e.startConsumer(t, set, "forall-"+e.suffix, []string{topic}, dlq)
	eventually(t, "both transactions' runs", 90*time.Second, func() bool { return len(rcv.got("/bulk")) >= 2 })
	stop()

	byCount := map[string]bool{}
	for _, doc := range rcv.got("/bulk") {
		recs, _ := doc["records"].([]any)
		byCount[fmt.Sprint(len(recs))] = true
	}
	require.Equal(t, map[string]bool{"3": true, "2": true}, byCount, "one run per transaction: %v", rcv.got("/bulk"))
	for _, tx := range []string{txA, txB} {
		id := run.WorkflowID("bulk-orders", "batch/"+topic+"/tx-"+tx)
		require.NoError(t, e.waitRun(t, id))
	}

	// Everything again, through a new group: the batches find their runs.
	_, stop = e.startConsumer(t, set, "forall-again-"+e.suffix, []string{topic}, dlq)
	defer stop()
	// A marker transaction after the redelivered ones shows the consumer
	// is past them; its run is the only new one.
	publishRetrying(t, e.brokers[0], topic, txMessage(t, 9000, 99, "C"+e.suffix))
	eventually(t, "the marker's run", 90*time.Second, func() bool { return len(rcv.got("/bulk")) >= 3 })
	require.NoError(t, e.waitRun(t, run.WorkflowID("bulk-orders", "batch/"+topic+"/tx-C"+e.suffix)))
	require.Len(t, rcv.got("/bulk"), 3, "the redelivered transactions ran nothing again")
}

// txMessage is a Debezium insert of users row id inside transaction tx,
// with Debezium's transaction metadata block.
func txMessage(t *testing.T, lsn int64, id int, tx string) kafka.Message {
	t.Helper()
	m := debeziumMessage(t, "c", lsn, nil, map[string]any{"id": id}, false)
	var payload map[string]any
	require.NoError(t, json.Unmarshal(m.Value, &payload))
	payload["transaction"] = map[string]any{"id": tx, "total_order": id, "data_collection_order": id}
	v, err := json.Marshal(payload)
	require.NoError(t, err)
	m.Value = v
	return m
}

// debeziumMessage builds a Debezium change event for a row of public.users,
// with or without the schema wrapper, keyed like Debezium keys it.
func debeziumMessage(t *testing.T, op string, lsn int64, before, after map[string]any, wrapped bool) kafka.Message {
	t.Helper()
	id := after["id"]
	if id == nil {
		id = before["id"]
	}
	payload := map[string]any{
		"before": before,
		"after":  after,
		"source": map[string]any{
			"version": "2.7.0.Final", "connector": "postgresql", "name": "dbserver1",
			"ts_ms": 1700000000000, "db": "app", "schema": "public", "table": "users",
			"txId": lsn / 10, "lsn": lsn,
		},
		"op":    op,
		"ts_ms": 1700000000123,
	}
	var value any = payload
	if wrapped {
		value = map[string]any{"schema": map[string]any{"type": "struct", "name": "dbserver1.public.users.Envelope"}, "payload": payload}
	}
	v, err := json.Marshal(value)
	require.NoError(t, err)
	k, err := json.Marshal(map[string]any{"schema": map[string]any{"type": "struct"}, "payload": map[string]any{"id": id}})
	require.NoError(t, err)
	return kafka.Message{Key: k, Value: v}
}
