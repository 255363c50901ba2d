package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/triggerd/triggerd/ingest"
	"github.com/triggerd/triggerd/internal/cdctest"
	"github.com/triggerd/triggerd/run"
)

// TestForAll proves docs/semantics.md's `for: all` against real
// PostgreSQL, Debezium, Kafka and Temporal: two transactions written with
// SQL run a `for: all` trigger once each, whichever of the topic's three
// partitions their rows landed on, with every row in {{records}} (the END
// on the transaction topic closes each batch: its window is an hour);
// delivering both topics again (a new consumer group) runs nothing twice.
func TestForAll(t *testing.T) {
	e := newEnv(t)
	h := cdctest.New(t)
	rcv := newReceiver()
	srv := httptest.NewServer(rcv)
	t.Cleanup(srv.Close)
	h.Exec(`CREATE TABLE users (id int PRIMARY KEY)`)
	h.CreateTopics(3, "users")
	topic, dlq := h.Topic("users"), "forall-dlq-"+e.suffix
	e.createTopics(t, dlq)
	e.startWorker(t)
	set := parseSet(t, fmt.Sprintf(`
tag: bulk-orders
for: all
tables: [%s]
events: [afterInsert]
actions:
  - type: http
    name: notify
    config: {url: "%s/bulk", body: {records: "{{records}}"}}
`, h.Table("users"), srv.URL))
	consume := func(group string) func() {
		starter := ingest.NewTemporalStarter(e.temporal, e.taskQueue)
		starter.Batch = ingest.BatchOptions{Size: 100, Window: time.Hour}
		return startIngest(t, e, ingest.Config{Topics: []string{topic, h.Connector().TransactionTopic()},
			GroupID: group, DLQTopic: dlq}, set, starter, ingest.Hooks{}, ingest.WithBatchCloser(starter))
	}

	h.Exec(`BEGIN; INSERT INTO users VALUES (1), (2), (3); COMMIT;`)
	h.Exec(`BEGIN; INSERT INTO users VALUES (4), (5); COMMIT;`)
	stop := consume("forall-" + e.suffix)
	eventually(t, "both transactions' runs", 90*time.Second, func() bool { return len(rcv.got("/bulk")) >= 2 })
	stop()

	byCount := map[string]bool{}
	for _, doc := range rcv.got("/bulk") {
		recs, _ := doc["records"].([]any)
		byCount[fmt.Sprint(len(recs))] = true
	}
	require.Equal(t, map[string]bool{"3": true, "2": true}, byCount, "one run per transaction: %v", rcv.got("/bulk"))
	for _, tx := range txIDs(t, h, 5) {
		require.NoError(t, e.waitRun(t, run.WorkflowID("bulk-orders", "batch/"+topic+"/tx-"+tx)))
	}

	// Everything again, through a new group: the batches find their runs.
	defer consume("forall-again-" + e.suffix)()
	// A marker transaction after the redelivered ones shows the consumer
	// is past them; its run is the only new one.
	h.Exec(`INSERT INTO users VALUES (99)`)
	eventually(t, "the marker's run", 90*time.Second, func() bool { return len(rcv.got("/bulk")) >= 3 })
	marker := txIDs(t, h, 6)
	require.NoError(t, e.waitRun(t, run.WorkflowID("bulk-orders", "batch/"+topic+"/tx-"+marker[len(marker)-1])))
	require.Len(t, rcv.got("/bulk"), 3, "the redelivered transactions ran nothing again")
}

// txIDs reads the first n change events of the test's users table and
// returns their source transactions (Debezium's source.txId), each once,
// in the order first seen.
func txIDs(t *testing.T, h *cdctest.Harness, n int) []string {
	t.Helper()
	var out []string
	seen := map[string]bool{}
	for _, m := range h.Read(context.Background(), "users", n) {
		var v struct {
			Source struct{ TxID json.Number } `json:"source"`
		}
		require.NoError(t, json.Unmarshal(m.Value, &v))
		if tx := v.Source.TxID.String(); !seen[tx] {
			seen[tx] = true
			out = append(out, tx)
		}
	}
	return out
}
