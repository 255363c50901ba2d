package workflows

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"

	"github.com/triggerd/triggerd/internal/testenv"
	"github.com/triggerd/triggerd/run"
)

// docs/semantics.md, "for: all": ingest stopped after handing over part of
// a transaction; the rest is redelivered after the batch closed. The
// reopened batch runs only the events the closed run did not cover, and a
// redelivery of covered events starts nothing. Real Temporal server; the
// linger is shortened through BatchInput.Linger (delivery.batchLinger).
func TestBatchReopenedRunsOnlyUncoveredEvents(t *testing.T) {
	c, err := client.Dial(client.Options{HostPort: testenv.TemporalAddress(t), Namespace: "default"})
	require.NoError(t, err)
	defer c.Close()
	queue := fmt.Sprintf("batch-coverage-%d", time.Now().UnixNano())
	w := worker.New(c, queue, worker.Options{})
	Register(w)
	(&Coverage{Client: c}).Register(w)
	calls := &calls{}
	w.RegisterActivityWithOptions(func(ctx context.Context, req run.ActionRequest) (any, error) {
		calls.add(req)
		return req.Config, nil
	}, activity.RegisterOptions{Name: "echo"})
	require.NoError(t, w.Start())
	defer w.Stop()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	tag := "cov-" + queue
	ev := func(n int) run.Input {
		in := input(run.Action{Name: "all", Type: "echo", Config: map[string]any{"records": "{{records}}"}})
		in.Trigger.Tag = tag
		in.Event.ID = fmt.Sprintf("ev-%d", n)
		in.Event.Record = map[string]any{"id": float64(n)}
		in.ForAll = true
		return in
	}
	batchID := run.BatchWorkflowID(tag, "t", "tx-1")
	// deliver signals events to the batch as ingest does, and waits until
	// the batch has closed (its linger elapsed).
	deliver := func(ns ...int) {
		var wr client.WorkflowRun
		for _, n := range ns {
			wr, err = c.SignalWithStartWorkflow(ctx, batchID, run.SignalBatchAdd, ev(n),
				client.StartWorkflowOptions{TaskQueue: queue}, run.BatchWorkflowName,
				BatchInput{Tag: tag, Topic: "t", Key: "tx-1", Window: 2 * time.Second, Linger: time.Millisecond})
			require.NoError(t, err)
		}
		require.NoError(t, c.GetWorkflow(ctx, batchID, wr.GetRunID()).Get(ctx, nil))
	}
	// waitRun waits for the n-th run of the batch to complete.
	waitRun := func(n int) {
		require.NoError(t, c.GetWorkflow(ctx, run.WorkflowID(tag, batchEventID("t", "tx-1", n)), "").Get(ctx, nil))
	}

	deliver(1, 2) // ingest stopped here; 3 was never handed over
	waitRun(1)
	deliver(1, 2, 3) // the restarted ingest redelivers the transaction
	waitRun(2)
	deliver(2, 3) // and once more: everything is covered
	_, err = c.DescribeWorkflowExecution(ctx, run.WorkflowID(tag, batchEventID("t", "tx-1", 3)), "")
	require.Error(t, err, "no third run")

	reqs := calls.all()
	require.Len(t, reqs, 2)
	require.Equal(t, []any{map[string]any{"id": 1.0}, map[string]any{"id": 2.0}}, reqs[0].Config["records"])
	require.Equal(t, run.WorkflowID(tag, "batch/t/tx-1")+"/all", reqs[0].IdempotencyKey)
	require.Equal(t, []any{map[string]any{"id": 3.0}}, reqs[1].Config["records"], "the supplement run has only the missing event")
	require.Equal(t, run.WorkflowID(tag, "batch/t/tx-1/2")+"/all", reqs[1].IdempotencyKey)
}
