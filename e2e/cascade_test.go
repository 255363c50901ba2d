package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"

	"github.com/triggerd/triggerd/activities"
	"github.com/triggerd/triggerd/internal/cdctest"
	"github.com/triggerd/triggerd/run"
	"github.com/triggerd/triggerd/run/errtype"
	"github.com/triggerd/triggerd/trigger"
)

// TestCascade proves docs/semantics.md's cascade rules against real Kafka
// and Temporal: triggers whose broker.publish writes back to the ingested
// topic carry the chain in the triggerd-cascade header. A chain of four
// triggers fails at depth 4 with the depth error, a two-trigger loop fails
// with the loop error when the first trigger comes round again, and ingest
// goes on to the next event afterwards.
func TestCascade(t *testing.T) {
	e := newEnv(t)
	topic, dlq := "cascade-"+e.suffix, "cascade-dlq-"+e.suffix
	e.createTopics(t, topic, dlq)
	e.startWorker(t)

	// publishes writes a native change of table back to the ingested
	// topic: the action carries the run's cascade chain in its header.
	publishes := func(tag, on, table string) string {
		return fmt.Sprintf(`
  - tag: %s
    tables: [%s]
    events: [afterInsert]
    actions:
      - type: broker.publish
        name: next
        config:
          target: "kafka:%s"
          key: "{{run.id}}"
          message: {id: "{{run.id}}-next", table: %s, operation: insert, record: {n: 1}}`, tag, on, topic, table)
	}
	logs := func(tag, on string) string {
		return fmt.Sprintf(`
  - {tag: %s, tables: [%s], events: [afterInsert], actions: [{type: log, config: {message: done}}]}`, tag, on)
	}
	defs, err := trigger.Parse([]byte("triggers:"+
		publishes("cas-t1", "c1", "c2")+publishes("cas-t2", "c2", "c3")+publishes("cas-t3", "c3", "c4")+logs("cas-t4", "c4")+
		publishes("cas-la", "l1", "l2")+publishes("cas-lb", "l2", "l1")+logs("cas-after", "after")+"\n"), "cascade.yaml")
	require.NoError(t, err)
	set, err := trigger.NewSet(defs)
	require.NoError(t, err)
	e.startConsumer(t, set, "cascade-"+e.suffix, []string{topic}, dlq)

	native := func(id, table string) kafka.Message {
		b, err := json.Marshal(map[string]any{"id": id, "table": table, "operation": "insert", "record": map[string]any{"n": 0}})
		require.NoError(t, err)
		return kafka.Message{Key: []byte(id), Value: b}
	}
	root, loopRoot, after := "root-"+e.suffix, "loop-"+e.suffix, "after-"+e.suffix
	publishRetrying(t, e.brokers[0], topic, native(root, "c1"), native(loopRoot, "l1"))

	next := func(tag, event string) (string, string) {
		id := run.WorkflowID(tag, event)
		return id, id + "-next"
	}
	w1, ev2 := next("cas-t1", root)
	w2, ev3 := next("cas-t2", ev2)
	w3, ev4 := next("cas-t3", ev3)
	w4 := run.WorkflowID("cas-t4", ev4)
	for _, id := range []string{w1, w2, w3} {
		require.NoError(t, e.waitRun(t, id), id)
	}
	err = e.waitRun(t, w4)
	requireAppError(t, err, errtype.CascadeDepth, "cascade depth 4 exceeds the limit 3 (cas-t1 -> cas-t2 -> cas-t3 -> cas-t4)")

	la1, l2 := next("cas-la", loopRoot)
	lb, l1again := next("cas-lb", l2)
	la2 := run.WorkflowID("cas-la", l1again)
	require.NoError(t, e.waitRun(t, la1))
	require.NoError(t, e.waitRun(t, lb))
	err = e.waitRun(t, la2)
	requireAppError(t, err, errtype.CascadeLoop, `cascade loop: trigger "cas-la" already ran in this chain (cas-la -> cas-lb -> cas-la)`)

	// Ingest is not stuck: the next change runs as usual.
	publishRetrying(t, e.brokers[0], topic, native(after, "after"))
	require.NoError(t, e.waitRun(t, run.WorkflowID("cas-after", after)))
}

// TestCascadeThroughTheDatabase is TestCascade with the chain travelling
// through PostgreSQL and Debezium instead of a Kafka header
// (docs/semantics.md, "Cascades"): each trigger's database.insert writes
// the next table, whose _triggerd_cascade column the action fills with
// its chain and transaction id; Debezium captures the row and ingest reads
// the chain back, fresh because the marker's xid is the change's
// source.txId. The fourth trigger of a chain fails on the depth limit, a
// two-trigger loop on the loop rule; an update by the application that
// leaves the column alone carries the old marker under another
// transaction, and its run starts a new chain; and ingest goes on.
func TestCascadeThroughTheDatabase(t *testing.T) {
	e := newEnv(t)
	h := cdctest.New(t)
	tables := []string{"c1", "c2", "c3", "c4", "l1", "l2", "after"}
	for _, tbl := range tables {
		h.Exec(fmt.Sprintf(`CREATE TABLE %s (id int PRIMARY KEY, n int, _triggerd_cascade text)`, tbl))
	}
	h.CreateTopics(3, tables...)
	topics := make([]string, len(tables))
	for i, tbl := range tables {
		topics[i] = h.Topic(tbl)
	}
	dlq := "dbcascade-dlq-" + e.suffix
	e.createTopics(t, dlq)
	e.startWorker(t, activities.WithDatabases(map[string]activities.DB{"default": h.Pool()}))

	// inserts writes a row of table next with the id of the row it saw.
	inserts := func(tag, on, next string, id string) string {
		return fmt.Sprintf(`
  - tag: %s
    tables: [%s]
    events: [afterInsert]
    actions:
      - type: database.insert
        config: {table: %s, values: {id: %s, n: 1}}`, tag, h.Table(on), h.Table(next), id)
	}
	logs := func(tag, on, event string) string {
		return fmt.Sprintf(`
  - {tag: %s, tables: [%s], events: [%s], actions: [{type: log, config: {message: done}}]}`, tag, h.Table(on), event)
	}
	defs, err := trigger.Parse([]byte("triggers:"+
		inserts("dbc-t1", "c1", "c2", `"{{record.id}}"`)+inserts("dbc-t2", "c2", "c3", `"{{record.id}}"`)+
		inserts("dbc-t3", "c3", "c4", `"{{record.id}}"`)+logs("dbc-t4", "c4", "afterInsert")+
		inserts("dbc-la", "l1", "l2", `"{{record.id}}"`)+inserts("dbc-lb", "l2", "l1", "2")+
		logs("dbc-update", "c2", "afterUpdate")+logs("dbc-after", "after", "afterInsert")+"\n"), "dbcascade.yaml")
	require.NoError(t, err)
	set, err := trigger.NewSet(defs)
	require.NoError(t, err)
	starter, _ := e.startConsumer(t, set, "dbcascade-"+e.suffix, topics, dlq)

	// The application's writes: no marker, an outside change.
	h.Exec(`INSERT INTO c1 (id, n) VALUES (1, 0)`)
	h.Exec(`INSERT INTO l1 (id, n) VALUES (1, 0)`)

	runOf := func(tag string) string {
		t.Helper()
		var id string
		eventually(t, "a run of "+tag, 90*time.Second, func() bool {
			for _, in := range starter.inputs() {
				if in.Trigger.Tag == tag {
					id = run.WorkflowID(tag, in.Event.ID)
					return true
				}
			}
			return false
		})
		return id
	}
	for _, tag := range []string{"dbc-t1", "dbc-t2", "dbc-t3"} {
		require.NoError(t, e.waitRun(t, runOf(tag)), tag)
	}
	requireAppError(t, e.waitRun(t, runOf("dbc-t4")), errtype.CascadeDepth,
		"cascade depth 4 exceeds the limit 3 (dbc-t1 -> dbc-t2 -> dbc-t3 -> dbc-t4)")
	require.NoError(t, e.waitRun(t, runOf("dbc-la")))
	require.NoError(t, e.waitRun(t, runOf("dbc-lb")))
	var loop string
	eventually(t, "dbc-la's second run", 90*time.Second, func() bool {
		for _, in := range starter.inputs() {
			if in.Trigger.Tag == "dbc-la" && slices.Equal(in.Cascade, []string{"dbc-la", "dbc-lb", "dbc-la"}) {
				loop = run.WorkflowID("dbc-la", in.Event.ID)
				return true
			}
		}
		return false
	})
	requireAppError(t, e.waitRun(t, loop), errtype.CascadeLoop,
		`cascade loop: trigger "dbc-la" already ran in this chain (dbc-la -> dbc-lb -> dbc-la)`)

	// The row dbc-t1 wrote keeps its marker; the application's update of
	// another column brings it back in a transaction of its own: stale.
	var marker string
	require.NoError(t, h.Pool().QueryRow(context.Background(), `SELECT _triggerd_cascade FROM c2 WHERE id = 1`).Scan(&marker))
	chain, _ := run.ParseCascadeMarker(marker)
	require.Equal(t, []string{"dbc-t1"}, chain, "marker %q", marker)
	h.Exec(`UPDATE c2 SET n = 5 WHERE id = 1`)
	require.NoError(t, e.waitRun(t, runOf("dbc-update")))
	for _, in := range starter.inputs() {
		if in.Trigger.Tag == "dbc-update" {
			require.Equal(t, []string{"dbc-update"}, in.Cascade, "a new chain: the marker %q is stale", marker)
		}
	}

	// Ingest is not stuck: the next change runs as usual.
	h.Exec(`INSERT INTO after (id, n) VALUES (1, 0)`)
	require.NoError(t, e.waitRun(t, runOf("dbc-after")))
}

// waitRun waits for the run id to exist and returns how it ended.
func (e *env) waitRun(t *testing.T, id string) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	eventually(t, "run "+id, 90*time.Second, func() bool {
		_, err := e.temporal.DescribeWorkflowExecution(ctx, id, "")
		return err == nil
	})
	return e.temporal.GetWorkflow(ctx, id, "").Get(ctx, nil)
}

func requireAppError(t *testing.T, err error, typ, msg string) {
	t.Helper()
	require.Error(t, err)
	var appErr *temporal.ApplicationError
	require.ErrorAs(t, err, &appErr)
	require.Equal(t, typ, appErr.Type())
	require.Contains(t, appErr.Message(), msg)
}
