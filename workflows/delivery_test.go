package workflows

import (
	"context"
	"errors"
	"sort"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/triggerd/triggerd/run"
	"github.com/triggerd/triggerd/run/errtype"
)

// newDeliveryEnv is newEnv's with the delivery workflow and a fake of the
// lookup of what an earlier run remembered (remembered).
func newDeliveryEnv(t *testing.T, remembered ...string) (*testsuite.TestWorkflowEnvironment, *calls) {
	env, c := newEnv(t)
	env.RegisterWorkflowWithOptions(Delivery, workflow.RegisterOptions{Name: run.DeliveryWorkflowName})
	env.RegisterActivityWithOptions(func(ctx context.Context, id string) ([]string, error) {
		return remembered, nil
	}, activity.RegisterOptions{Name: deliverySeenActivity})
	return env, c
}

// batched is the input of the run of event id, with one local action.
func batched(id string, act run.Action) run.Input {
	in := input(act)
	in.Event.ID = id
	in.BatchedDelivery = &run.BatchedDelivery{Max: 2}
	return in
}

func TestDeliveryRunsEachEventOnceUnderItsOwnID(t *testing.T) {
	env, c := newDeliveryEnv(t, "ev-old")
	echo := run.Action{Name: "hook", Type: "echo", Local: true, Config: map[string]any{"id": "{{record.id}}", "run": "{{run.id}}"}}
	env.RegisterDelayedCallback(func() {
		env.SignalWorkflow(run.SignalDeliver, []run.Input{batched("ev-1", echo), batched("ev-2", echo), batched("ev-1", echo)})
	}, 0)
	env.RegisterDelayedCallback(func() {
		// ev-2 delivered again (ingest restarted before its commit), and
		// ev-old, which the previous run of this workflow id took.
		env.SignalWorkflow(run.SignalDeliver, []run.Input{batched("ev-2", echo), batched("ev-3", echo), batched("ev-old", echo)})
	}, time.Second)
	env.ExecuteWorkflow(run.DeliveryWorkflowName, run.DeliveryInput{Tag: "welcome", Topic: "t", Partition: 0, Linger: time.Minute})
	require.True(t, env.IsWorkflowCompleted())
	require.NoError(t, env.GetWorkflowError())
	var st DeliveryState
	require.NoError(t, env.GetWorkflowResult(&st))
	assert.Equal(t, 3, st.Done)
	assert.Equal(t, []string{"ev-old", "ev-1", "ev-2", "ev-3"}, st.Seen, "remembered for the next run of this id")

	var keys []string
	for _, r := range c.all() {
		keys = append(keys, r.IdempotencyKey)
		assert.Equal(t, r.WorkflowID, r.Config["run"], "templates see the run's own id")
	}
	sort.Strings(keys)
	assert.Equal(t, []string{"triggerd/welcome/ev-1/hook", "triggerd/welcome/ev-2/hook", "triggerd/welcome/ev-3/hook"}, keys,
		"the keys an unbatched run would use, each once")

	v, err := env.QueryWorkflow(run.QueryRun, "ev-2")
	require.NoError(t, err)
	var res run.Result
	require.NoError(t, v.Get(&res))
	assert.Equal(t, run.StatusSucceeded, res.Status)
	assert.Equal(t, "ev-2", res.EventID)
	assert.Contains(t, res.DeliveredBy, "/", "names the delivery workflow run")
	_, err = env.QueryWorkflow(run.QueryRun, "ev-9")
	require.Error(t, err)
}

// A batched run that fails runs its error handlers like any run, and is
// then recorded as a failed RunTrigger under its own id, whose input
// carries the failure and the original input (for runs rerun).
func TestDeliveryRecordsAFailedRun(t *testing.T) {
	env, c := newDeliveryEnv(t)
	var childIDs []string
	var childIn run.Input
	env.SetOnChildWorkflowStartedListener(func(info *workflow.Info, _ workflow.Context, args converter.EncodedValues) {
		childIDs = append(childIDs, info.WorkflowExecution.ID)
		require.NoError(t, args.Get(&childIn))
	})
	bad := batched("ev-bad", run.Action{Name: "rejected", Type: "fail", Local: true,
		Config: map[string]any{"type": errtype.HTTP4xx, "permanent": true}, Retry: fastRetry(3)})
	bad.OnError = []run.Action{{Name: "alert", Type: "echo", Local: true, Config: map[string]any{"why": "{{actions.failed.output.error}}"}}}
	good := batched("ev-good", run.Action{Name: "hook", Type: "echo", Local: true})
	env.RegisterDelayedCallback(func() { env.SignalWorkflow(run.SignalDeliver, []run.Input{bad, good}) }, 0)
	env.ExecuteWorkflow(run.DeliveryWorkflowName, run.DeliveryInput{Tag: "welcome", Topic: "t", Linger: time.Minute})
	require.NoError(t, env.GetWorkflowError())
	var st DeliveryState
	require.NoError(t, env.GetWorkflowResult(&st))
	assert.Equal(t, 1, st.Done)
	assert.Equal(t, 1, st.Failed)
	assert.Equal(t, 1, c.count("onError/alert"), "the failed run's onError ran")
	assert.Equal(t, []string{"triggerd/welcome/ev-bad"}, childIDs)
	require.NotNil(t, childIn.Recorded)
	assert.Equal(t, errtype.ActionFailed, childIn.Recorded.Type)
	assert.Equal(t, run.StatusFailed, childIn.Recorded.Result.Status)
	assert.Equal(t, "rejected", childIn.Recorded.Result.Actions[0].Name)
	assert.Equal(t, bad.Actions, childIn.Actions, "the original input, to run again")
}

// RunTrigger started with a recorded failure runs nothing and fails with
// it, as the run itself would have.
func TestRecordedFailureFailsWithoutRunning(t *testing.T) {
	env, c := newEnv(t)
	in := input(run.Action{Name: "a", Type: "echo"})
	res := run.Result{Trigger: in.Trigger, EventID: "ev-1", Status: run.StatusFailed,
		Actions: []run.ActionResult{{Name: "a", Type: "echo", Status: run.StatusFailed, Error: "HTTP_4XX: no"}}}
	in.Recorded = &run.RecordedFailure{Type: errtype.ActionFailed, Message: `action "a" (echo) failed: HTTP_4XX: no`, Result: res}
	env.ExecuteWorkflow(run.WorkflowName, in)
	got, ok := ResultFromError(env.GetWorkflowError())
	require.True(t, ok)
	assert.Equal(t, res, got)
	assert.Empty(t, c.all())
}

// A delivery workflow continues as new after MaxRuns runs: it finishes
// what it holds (telling ingest it is draining), then carries the ids it
// remembers and nothing pending.
func TestDeliveryContinuesAsNew(t *testing.T) {
	env, c := newDeliveryEnv(t)
	act := run.Action{Name: "hook", Type: "echo", Local: true}
	var backlogs []run.DeliveryBacklog
	env.RegisterDelayedCallback(func() {
		env.SignalWorkflow(run.SignalDeliver, []run.Input{batched("ev-1", act), batched("ev-2", act), batched("ev-3", act)})
	}, 0)
	env.SetOnLocalActivityCompletedListener(func(*activity.Info, converter.EncodedValue, error) {
		v, err := env.QueryWorkflow(run.QueryBacklog)
		require.NoError(t, err)
		var b run.DeliveryBacklog
		require.NoError(t, v.Get(&b))
		backlogs = append(backlogs, b)
	})
	env.ExecuteWorkflow(run.DeliveryWorkflowName, run.DeliveryInput{Tag: "welcome", Topic: "t", Linger: time.Minute, MaxRuns: 2})
	var can *workflow.ContinueAsNewError
	require.True(t, errors.As(env.GetWorkflowError(), &can), "%v", env.GetWorkflowError())
	var next run.DeliveryInput
	require.NoError(t, converter.GetDefaultDataConverter().FromPayloads(can.Input, &next))
	assert.Equal(t, []string{"ev-1", "ev-2", "ev-3"}, next.Seen)
	assert.Empty(t, next.Pending)
	assert.True(t, next.Resumed, "the next run does not look up the previous one again")
	assert.Equal(t, 3, next.Done)
	assert.Equal(t, 3, len(c.all()))
	require.NotEmpty(t, backlogs)
	assert.True(t, backlogs[len(backlogs)-1].Draining, "ingest is told to wait: %+v", backlogs)
}

func TestRecentIDsForgetsTheOldest(t *testing.T) {
	r := newRecentIDs(2, []string{"a", "b"})
	assert.False(t, r.add("a"))
	assert.True(t, r.add("c"))
	assert.Equal(t, []string{"b", "c"}, r.list())
	assert.True(t, r.add("a"), "forgotten")
}
