package ingest_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"

	"github.com/triggerd/triggerd/ingest"
	"github.com/triggerd/triggerd/internal/testenv"
	"github.com/triggerd/triggerd/run"
	"github.com/triggerd/triggerd/workflows"
)

// colocated is a Temporal client with triggerd's worker polling a task
// queue of its own through it, as in `triggerd serve`; its "record" action
// records the idempotency key of every call.
type colocated struct {
	c     client.Client
	queue string
	mu    sync.Mutex
	calls []string
}

func newColocated(t *testing.T) *colocated {
	t.Helper()
	c, err := client.Dial(client.Options{HostPort: testenv.TemporalAddress(t), Namespace: "default"})
	require.NoError(t, err)
	t.Cleanup(c.Close)
	h := &colocated{c: c, queue: fmt.Sprintf("eager-%d", time.Now().UnixNano())}
	w := worker.New(c, h.queue, worker.Options{})
	workflows.Register(w)
	w.RegisterActivityWithOptions(func(_ context.Context, req run.ActionRequest) (any, error) {
		h.mu.Lock()
		defer h.mu.Unlock()
		h.calls = append(h.calls, req.IdempotencyKey)
		return nil, nil
	}, activity.RegisterOptions{Name: "record"})
	require.NoError(t, w.Start())
	t.Cleanup(w.Stop)
	return h
}

func (h *colocated) recorded() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.calls...)
}

// runInput is a run of trigger tag for event id with one "record" action.
func runInput(tag, id string) run.Input {
	return run.Input{
		Trigger:   run.TriggerRef{Tag: tag, Name: tag, Version: 1},
		EventName: "afterInsert",
		Event: run.Event{ID: id, Schema: "public", Table: "orders", Operation: run.OperationInsert, Key: id,
			Record: map[string]any{"id": id}, Source: run.Source{Topic: "orders", Offset: 1}},
		Actions: []run.Action{{Name: "a", Type: "record", Timeout: 10 * time.Second, Retry: run.RetryPolicy{MaxAttempts: 1}}},
	}
}

// eagerAccepted reads whether the server dispatched run id's first
// workflow task in the start's response (WorkflowExecutionStarted's
// eager_execution_accepted), once the run closed.
func eagerAccepted(ctx context.Context, t *testing.T, c client.Client, id string) bool {
	t.Helper()
	require.NoError(t, c.GetWorkflow(ctx, id, "").Get(ctx, nil), "run %s completes", id)
	it := c.GetWorkflowHistory(ctx, id, "", false, enums.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	first, err := it.Next()
	require.NoError(t, err)
	attrs := first.GetWorkflowExecutionStartedEventAttributes()
	require.NotNil(t, attrs, "the first event is the start")
	return attrs.GetEagerExecutionAccepted()
}

// With a worker of its task queue on the same client, the starter starts
// eagerly; a second start of the same run (a redelivery) is a success and
// starts nothing. Real Temporal.
func TestTemporalStarter_EagerWhenColocated(t *testing.T) {
	h := newColocated(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	s := ingest.NewTemporalStarter(h.c, h.queue, ingest.WithColocatedWorker())
	tag := "eager-" + h.queue
	in := runInput(tag, "ev-1")
	id := run.WorkflowID(tag, "ev-1")

	require.NoError(t, s.Start(ctx, in))
	assert.True(t, eagerAccepted(ctx, t, h.c, id), "the first workflow task came back in the start's response")
	desc, err := h.c.DescribeWorkflowExecution(ctx, id, "")
	require.NoError(t, err)

	require.NoError(t, s.Start(ctx, in), "already ran: the start is a success")
	again, err := h.c.DescribeWorkflowExecution(ctx, id, "")
	require.NoError(t, err)
	assert.Equal(t, desc.GetWorkflowExecutionInfo().GetExecution().GetRunId(), again.GetWorkflowExecutionInfo().GetExecution().GetRunId(),
		"no second run under the id")
	assert.Equal(t, []string{id + "/a"}, h.recorded(), "the action ran once")
}

// Without the option, or through a client whose process runs no worker of
// the task queue, starts are normal (the worker polls the runs). Real
// Temporal.
func TestTemporalStarter_NormalStartOtherwise(t *testing.T) {
	h := newColocated(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	remote, err := client.Dial(client.Options{HostPort: testenv.TemporalAddress(t), Namespace: "default"})
	require.NoError(t, err)
	defer remote.Close()
	tag := "normal-" + h.queue
	for name, s := range map[string]*ingest.TemporalStarter{
		"not co-located":          ingest.NewTemporalStarter(h.c, h.queue),
		"no worker on the client": ingest.NewTemporalStarter(remote, h.queue, ingest.WithColocatedWorker()),
	} {
		ev := "ev-" + name
		require.NoError(t, s.Start(ctx, runInput(tag, ev)), name)
		assert.False(t, eagerAccepted(ctx, t, h.c, run.WorkflowID(tag, ev)), name)
	}
}

// Runs that start by signal-with-start (a sync action's lane, a `for:
// all` batch) work as before through an eager starter. Real Temporal.
func TestTemporalStarter_EagerKeepsLanesAndBatches(t *testing.T) {
	h := newColocated(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	s := ingest.NewTemporalStarter(h.c, h.queue, ingest.WithColocatedWorker())
	s.Batch = ingest.BatchOptions{Size: 100, Window: 50 * time.Millisecond, Linger: time.Millisecond}

	lane := runInput("lane-"+h.queue, "ev-sync")
	lane.Actions[0].Timing = run.TimingSync
	require.NoError(t, s.Start(ctx, lane))
	laneRun := run.WorkflowID(lane.Trigger.Tag, "ev-sync")

	batch := runInput("batch-"+h.queue, "ev-all")
	batch.Event.Transaction = "7"
	batch.ForAll = true
	require.NoError(t, s.Start(ctx, batch))
	batchRun := run.WorkflowID(batch.Trigger.Tag, "batch/orders/tx-7")

	for _, id := range []string{laneRun, batchRun} {
		// The lane and the batch start the run as a child: wait for it
		// to exist, then for it to complete.
		require.Eventually(t, func() bool {
			_, err := h.c.DescribeWorkflowExecution(ctx, id, "")
			return err == nil
		}, time.Minute, 20*time.Millisecond, "run %s started", id)
		require.NoError(t, h.c.GetWorkflow(ctx, id, "").Get(ctx, nil), id)
	}
	assert.ElementsMatch(t, []string{laneRun + "/a", batchRun + "/a"}, h.recorded())
}
