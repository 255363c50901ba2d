package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"

	"github.com/triggerd/triggerd/run"
	"github.com/triggerd/triggerd/trigger"
	"github.com/triggerd/triggerd/workflows/errtype"
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
