package workflows

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/workflow"

	"github.com/triggerd/triggerd/run"
)

// docs/semantics.md, "for: all": a batch runs its trigger once for all the
// events that reached it within the window, with their records in
// {{records}} and {{previousRecords}}; an event delivered again joins
// nothing twice, and a late one makes a follow-up batch.
func TestBatchRunsOncePerBatch(t *testing.T) {
	env, c := newEnv(t)
	env.RegisterWorkflowWithOptions(Batch, workflow.RegisterOptions{Name: run.BatchWorkflowName})
	ev := func(n int) run.Input {
		in := input(run.Action{Name: "all", Type: "echo", Config: map[string]any{
			"records": "{{records}}", "before": "{{previousRecords}}", "last": "{{record.id}}"}})
		in.Event.ID = fmt.Sprintf("ev-%d", n)
		in.Event.Record = map[string]any{"id": float64(n)}
		in.Event.PreviousRecord = map[string]any{"id": float64(n - 100)}
		in.ForAll = true
		return in
	}
	// 1, 2 and 3 (2 twice) within the window; 4 long after the batch ran;
	// 2 again after that.
	at := map[time.Duration]int{10 * time.Millisecond: 1, 20 * time.Millisecond: 2, 30 * time.Millisecond: 3,
		40 * time.Millisecond: 2, time.Minute: 4, 2 * time.Minute: 2}
	for d, n := range at {
		env.RegisterDelayedCallback(func() { env.SignalWorkflow(run.SignalBatchAdd, ev(n)) }, d)
	}
	env.ExecuteWorkflow(run.BatchWorkflowName, run.BatchInput{Tag: "welcome", Topic: "t", Key: "tx-9", Window: time.Second})
	require.NoError(t, env.GetWorkflowError())
	reqs := c.all()
	require.Len(t, reqs, 2, "one run for 1-3, one for the late 4")
	require.Equal(t, []any{map[string]any{"id": 1.0}, map[string]any{"id": 2.0}, map[string]any{"id": 3.0}}, reqs[0].Config["records"])
	require.Equal(t, []any{map[string]any{"id": -99.0}, map[string]any{"id": -98.0}, map[string]any{"id": -97.0}}, reqs[0].Config["before"])
	require.EqualValues(t, 3, reqs[0].Config["last"], "record is the batch's last record")
	require.Equal(t, run.WorkflowID("welcome", "batch/t/tx-9")+"/all", reqs[0].IdempotencyKey)
	require.Equal(t, []any{map[string]any{"id": 4.0}}, reqs[1].Config["records"])
	require.Equal(t, run.WorkflowID("welcome", "batch/t/tx-9/2")+"/all", reqs[1].IdempotencyKey)
}

// docs/debezium.md, "Transactions": run.SignalBatchClose (ingest saw every
// event of the transaction) runs the batch at once instead of after its
// window; a close with nothing pending does nothing.
func TestBatchClosedByIngest(t *testing.T) {
	env, c := newEnv(t)
	env.RegisterWorkflowWithOptions(Batch, workflow.RegisterOptions{Name: run.BatchWorkflowName})
	ev := func(n int) run.Input {
		in := input(run.Action{Name: "all", Type: "echo", Config: map[string]any{"records": "{{records}}"}})
		in.Event.ID = fmt.Sprintf("ev-%d", n)
		in.Event.Record = map[string]any{"id": float64(n)}
		in.ForAll = true
		return in
	}
	env.RegisterDelayedCallback(func() { env.SignalWorkflow(run.SignalBatchAdd, ev(1)) }, 10*time.Millisecond)
	env.RegisterDelayedCallback(func() { env.SignalWorkflow(run.SignalBatchAdd, ev(2)) }, 20*time.Millisecond)
	env.RegisterDelayedCallback(func() { env.SignalWorkflow(run.SignalBatchClose, nil) }, 30*time.Millisecond)
	env.RegisterDelayedCallback(func() { env.SignalWorkflow(run.SignalBatchClose, nil) }, 10*time.Minute)
	// Within the hour-long window of 1 and 2: without the close, all three
	// would be one run.
	env.RegisterDelayedCallback(func() { env.SignalWorkflow(run.SignalBatchAdd, ev(3)) }, 40*time.Minute)
	env.ExecuteWorkflow(run.BatchWorkflowName, run.BatchInput{Tag: "bulk", Topic: "t", Key: "tx-9", Window: time.Hour, Linger: 2 * time.Hour})
	require.NoError(t, env.GetWorkflowError())
	reqs := c.all()
	require.Len(t, reqs, 2)
	require.Equal(t, []any{map[string]any{"id": 1.0}, map[string]any{"id": 2.0}}, reqs[0].Config["records"])
	require.Equal(t, []any{map[string]any{"id": 3.0}}, reqs[1].Config["records"])
}

func TestBatchKey(t *testing.T) {
	require.Equal(t, "tx-77", run.BatchKey(run.Event{Transaction: "77", Source: run.Source{Partition: 1, Offset: 5}}, 100))
	require.Equal(t, "p1-o0", run.BatchKey(run.Event{Source: run.Source{Partition: 1, Offset: 99}}, 100))
	require.Equal(t, "p1-o1", run.BatchKey(run.Event{Source: run.Source{Partition: 1, Offset: 100}}, 100))
}
