package workflows

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/triggerd/triggerd/run"
	"github.com/triggerd/triggerd/run/errtype"
)

func appError(t *testing.T, err error) *temporal.ApplicationError {
	t.Helper()
	var appErr *temporal.ApplicationError
	require.True(t, errors.As(err, &appErr), "%v", err)
	return appErr
}

// docs/semantics.md, "Cascades": a run whose change comes from a chain of
// 3 triggers is at depth 4 and fails with the depth error, running nothing.
func TestCascadeDepthFailsTheRun(t *testing.T) {
	env, c := newEnv(t)
	in := input(run.Action{Name: "a", Type: "echo"})
	in.Event.Cascade = []string{"t1", "t2", "t3"}
	in.Cascade = append(in.Event.Cascade, in.Trigger.Tag)
	env.ExecuteWorkflow(run.WorkflowName, in)
	appErr := appError(t, env.GetWorkflowError())
	require.Equal(t, errtype.CascadeDepth, appErr.Type())
	require.Contains(t, appErr.Error(), "cascade depth 4 exceeds the limit 3 (t1 -> t2 -> t3 -> welcome)")
	require.Empty(t, c.all(), "no action ran")

	// Depth 3 is allowed, and the chain reaches the actions.
	env, c = newEnv(t)
	in.Event.Cascade = []string{"t1", "t2"}
	in.Cascade = []string{"t1", "t2", "welcome"}
	env.ExecuteWorkflow(run.WorkflowName, in)
	require.NoError(t, env.GetWorkflowError())
	require.Equal(t, []string{"t1", "t2", "welcome"}, c.all()[0].Cascade)

	// {{run.cascade}} is what a database action writes into the marker
	// column so that the change it causes carries the chain.
	env, c = newEnv(t)
	in.Actions = []run.Action{{Name: "write", Type: "echo", Config: map[string]any{"_triggerd_cascade": "{{run.cascade}}"}}}
	env.ExecuteWorkflow(run.WorkflowName, in)
	require.NoError(t, env.GetWorkflowError())
	require.Equal(t, "t1,t2,welcome", c.all()[0].Config["_triggerd_cascade"])
}

// A trigger that already ran in the chain is a loop (Gel's rule).
func TestCascadeLoopFailsTheRun(t *testing.T) {
	env, c := newEnv(t)
	in := input(run.Action{Name: "a", Type: "echo"})
	in.Event.Cascade = []string{"welcome", "other"}
	env.ExecuteWorkflow(run.WorkflowName, in)
	appErr := appError(t, env.GetWorkflowError())
	require.Equal(t, errtype.CascadeLoop, appErr.Type())
	require.Contains(t, appErr.Error(), `cascade loop: trigger "welcome" already ran in this chain (welcome -> other -> welcome)`)
	require.Empty(t, c.all())
}

// docs/semantics.md, "Failure handling": when an action exhausts its
// retries the run fails, and its onError actions run with the failed
// action, the error and the attempts in scope.
func TestOnErrorRunsAfterAFailure(t *testing.T) {
	env, c := newEnv(t)
	in := input(run.Action{Name: "call", Type: "fail", Config: map[string]any{"type": errtype.HTTP5xx}, Retry: fastRetry(2)})
	in.OnError = []run.Action{{Name: "alert", Type: "echo", Config: map[string]any{"x": 1.0}}}
	env.ExecuteWorkflow(run.WorkflowName, in)
	err := env.GetWorkflowError()
	require.Error(t, err)
	res, ok := ResultFromError(err)
	require.True(t, ok)
	require.Equal(t, run.StatusFailed, res.Status)
	require.Equal(t, int32(2), res.Actions[0].Attempts)
	require.Len(t, res.OnError, 1)
	require.Equal(t, "onError/alert", res.OnError[0].Name)
	require.Equal(t, run.StatusSucceeded, res.OnError[0].Status)
	require.Equal(t, 1, c.count("onError/alert"))
}

// The stub renderer of the tests passes configs through, so the failure
// scope is checked with the real one.
func TestOnErrorSeesTheFailure(t *testing.T) {
	env, c := newEnv(t)
	in := input(run.Action{Name: "call", Type: "fail", Config: map[string]any{"type": errtype.HTTP4xx, "permanent": true}, Retry: fastRetry(3)})
	in.OnError = []run.Action{{Name: "alert", Type: "echo", Config: map[string]any{
		"what": "{{actions.failed.output.action}}", "why": "{{actions.failed.output.error}}", "tries": "{{actions.failed.output.attempts}}"}}}
	env.ExecuteWorkflow(run.WorkflowName, in)
	require.Error(t, env.GetWorkflowError())
	req := c.all()[1]
	require.Equal(t, "call", req.Config["what"])
	require.Contains(t, req.Config["why"], "permanent failure")
	require.EqualValues(t, 1, req.Config["tries"])
}

// A queued action is handed to its queue (the enqueue activity) and the run
// goes on without waiting for it.
func TestQueuedActionIsEnqueued(t *testing.T) {
	env, c := newEnv(t)
	var got []run.QueueItem
	env.RegisterActivityWithOptions(func(ctx context.Context, queue string, it run.QueueItem) error {
		require.Equal(t, "mail", queue)
		got = append(got, it)
		return nil
	}, activity.RegisterOptions{Name: enqueueActivity})
	env.ExecuteWorkflow(run.WorkflowName, input(
		run.Action{Name: "later", Type: "echo", Timing: run.TimingQueued, Queue: "mail", Timeout: 3 * time.Second},
		run.Action{Name: "now", Type: "echo"},
	))
	require.NoError(t, env.GetWorkflowError())
	require.Len(t, got, 1)
	require.Equal(t, "echo", got[0].Request.Type)
	require.Equal(t, int64(3000), got[0].Timeout)
	require.Equal(t, 0, c.count("later"), "the run did not execute it")
	require.Equal(t, 1, c.count("now"))
}

// The queue executes what it receives once per idempotency key, and
// closes when idle with everything done.
func TestQueueDrainsAndDeduplicates(t *testing.T) {
	env, c := newEnv(t)
	env.RegisterWorkflowWithOptions(Queue, queueOpts())
	item := func(key string) run.QueueItem {
		return run.QueueItem{Request: run.ActionRequest{Type: "echo", ActionName: key, IdempotencyKey: key}, Retry: fastRetry(1)}
	}
	for i, k := range []string{"a", "b", "a", "c"} {
		env.RegisterDelayedCallback(func() { env.SignalWorkflow(run.SignalEnqueue, item(k)) }, time.Duration(i+1)*time.Second)
	}
	env.ExecuteWorkflow(run.QueueWorkflowName, run.QueueInput{Name: "q", Concurrency: 2})
	require.NoError(t, env.GetWorkflowError())
	var st QueueStats
	require.NoError(t, env.GetWorkflowResult(&st))
	require.Equal(t, QueueStats{Done: 3}, st)
	require.Equal(t, 1, c.count("a"))
	require.Equal(t, 1, c.count("b"))
	require.Equal(t, 1, c.count("c"))
}

// A queue continues as new after queueMaxItems items, carrying the rest.
func TestQueueContinuesAsNew(t *testing.T) {
	env, _ := newEnv(t)
	env.RegisterWorkflowWithOptions(Queue, queueOpts())
	var pending []run.QueueItem
	for i := range queueMaxItems + 3 {
		pending = append(pending, run.QueueItem{Request: run.ActionRequest{Type: "echo", IdempotencyKey: string(rune('a'+i%26)) + time.Duration(i).String()}, Retry: fastRetry(1)})
	}
	env.ExecuteWorkflow(run.QueueWorkflowName, run.QueueInput{Name: "q", Concurrency: 16, Pending: pending})
	err := env.GetWorkflowError()
	require.Error(t, err)
	require.True(t, workflow.IsContinueAsNewError(err), "%v", err)
}

func queueOpts() workflow.RegisterOptions {
	return workflow.RegisterOptions{Name: run.QueueWorkflowName}
}

// docs/semantics.md, "Timing": a lane runs its record's sync runs one
// after another in the order they were signalled, each as the child
// RunTrigger under the run's own id; a run signalled again (an ingest
// redelivery) does not run twice.
func TestLaneRunsInOrderOnce(t *testing.T) {
	env, c := newEnv(t)
	env.RegisterWorkflowWithOptions(Lane, workflow.RegisterOptions{Name: run.LaneWorkflowName})
	ev := func(n int) run.Input {
		in := input(run.Action{Name: "ordered", Type: "echo", Timing: run.TimingSync, Config: map[string]any{"n": float64(n)}})
		in.Event.ID = fmt.Sprintf("ev-%d", n)
		return in
	}
	for i, n := range []int{1, 2, 3, 2} {
		env.RegisterDelayedCallback(func() { env.SignalWorkflow(run.SignalLaneRun, ev(n)) }, time.Duration(i)*time.Millisecond)
	}
	env.ExecuteWorkflow(run.LaneWorkflowName, run.LaneInput{})
	require.NoError(t, env.GetWorkflowError())
	var order []float64
	for _, r := range c.all() {
		order = append(order, r.Config["n"].(float64))
	}
	require.Equal(t, []float64{1, 2, 3}, order)
}
