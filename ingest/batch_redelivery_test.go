package ingest_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"

	"github.com/triggerd/triggerd/ingest"
	"github.com/triggerd/triggerd/internal/testenv"
	"github.com/triggerd/triggerd/run"
	"github.com/triggerd/triggerd/workflows"
)

// docs/semantics.md, "for: all", through ingest's starter: ingest handed
// two events of a transaction to their batch and stopped; the restarted
// ingest redelivers the whole transaction after the batch closed
// (delivery.batchLinger shortened to 1ms). The third event runs, once,
// in a supplement run; the two others do not run again. Real Temporal.
func TestForAllRedeliveryAfterTheBatchClosed(t *testing.T) {
	c, err := client.Dial(client.Options{HostPort: testenv.TemporalAddress(t), Namespace: "default"})
	require.NoError(t, err)
	defer c.Close()
	queue := fmt.Sprintf("forall-redelivery-%d", time.Now().UnixNano())
	w := worker.New(c, queue, worker.Options{})
	workflows.Register(w)
	(&workflows.Coverage{Client: c}).Register(w)
	var mu sync.Mutex
	var ran [][]string
	w.RegisterActivityWithOptions(func(ctx context.Context, req run.ActionRequest) (any, error) {
		mu.Lock()
		defer mu.Unlock()
		ran = append(ran, []string{req.IdempotencyKey, fmt.Sprint(req.Config["ids"])})
		return nil, nil
	}, activity.RegisterOptions{Name: "record"})
	require.NoError(t, w.Start())
	defer w.Stop()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	s := ingest.NewTemporalStarter(c, queue)
	s.Batch = ingest.BatchOptions{Size: 100, Window: 2 * time.Second, Linger: time.Millisecond}
	tag := "forall-" + queue
	ev := func(n int) run.Input {
		return run.Input{
			Trigger:   run.TriggerRef{Tag: tag, Name: "all", Version: 1},
			EventName: "afterInsert",
			Event: run.Event{ID: fmt.Sprintf("ev-%d", n), Transaction: "9", Table: "orders",
				Operation: run.OperationInsert, Record: map[string]any{"id": n}, Source: run.Source{Topic: "t", Offset: int64(n)}},
			Actions: []run.Action{{Name: "a", Type: "record", Config: map[string]any{"ids": "{{records}}"}}},
			ForAll:  true,
		}
	}
	batchID := run.BatchWorkflowID(tag, "t", run.BatchKey(ev(1).Event, 100))
	deliver := func(ns ...int) {
		for _, n := range ns {
			require.NoError(t, s.Start(ctx, ev(n)))
		}
		require.NoError(t, c.GetWorkflow(ctx, batchID, "").Get(ctx, nil), "the batch closes after its linger")
	}
	deliver(1, 2)
	deliver(1, 2, 3)
	deliver(3)
	for _, id := range []string{"batch/t/tx-9", "batch/t/tx-9/2"} {
		require.NoError(t, c.GetWorkflow(ctx, run.WorkflowID(tag, id), "").Get(ctx, nil))
	}
	_, err = c.DescribeWorkflowExecution(ctx, run.WorkflowID(tag, "batch/t/tx-9/3"), "")
	require.Error(t, err, "no third run")
	mu.Lock()
	defer mu.Unlock()
	require.Equal(t, [][]string{
		{run.WorkflowID(tag, "batch/t/tx-9") + "/a", "[map[id:1] map[id:2]]"},
		{run.WorkflowID(tag, "batch/t/tx-9/2") + "/a", "[map[id:3]]"},
	}, ran)
}
