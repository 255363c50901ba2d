package workflows

import (
	"context"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/triggerd/triggerd/run"
	"github.com/triggerd/triggerd/run/errtype"
)

// TestRecordFastPathHistories records the shapes the fast path added, next
// to the others (it adds files, it does not re-record them): RunTrigger
// with local actions (one of them guarded, one whose output the result
// summarises), a local action that ran out of local attempts and went on
// as a regular activity, a recorded failure of a batched run, and a
// delivery workflow that ran several events, one twice signalled and one
// failing, until it closed.
func TestRecordFastPathHistories(t *testing.T) {
	c, w, queue := newRecorder(t, "replay-fast-")
	registerGuardedFakes(w)
	var failed sync.Map
	// flaky fails its first two calls per run with a retryable error.
	w.RegisterActivityWithOptions(func(ctx context.Context, req run.ActionRequest) (any, error) {
		n, _ := failed.LoadOrStore(req.WorkflowID, new(int))
		if *n.(*int)++; *n.(*int) <= 2 {
			return nil, temporal.NewApplicationErrorWithOptions("flaky", errtype.HTTP5xx, temporal.ApplicationErrorOptions{
				Details: []any{errtype.Details{Attempt: activity.GetInfo(ctx).Attempt}}})
		}
		return req.Config, nil
	}, activity.RegisterOptions{Name: "flaky"})
	w.RegisterActivityWithOptions(func(ctx context.Context, req run.ActionRequest) (any, error) {
		return nil, temporal.NewApplicationErrorWithOptions("rejected", errtype.HTTP4xx, temporal.ApplicationErrorOptions{
			NonRetryable: true, Details: []any{errtype.Details{Attempt: activity.GetInfo(ctx).Attempt}}})
	}, activity.RegisterOptions{Name: "fail"})
	(&Coverage{Client: c}).Register(w)
	require.NoError(t, w.Start())
	defer w.Stop()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	runs := map[string]run.Input{
		"local": input(
			run.Action{Name: "hook", Type: "echo", Local: true, Config: map[string]any{"url": "http://x/{{record.id}}", "big": strings.Repeat("b", 6000)}},
			run.Action{Name: "limited", Type: "limited", Local: true, Config: map[string]any{"prev": "{{actions.hook.output.url}}"}},
		),
		// 12s timeouts: two local attempts (12s + 0.1s + 12s) fit the
		// budget, a third does not: it is a regular activity.
		"local_continued": input(run.Action{Name: "flaky", Type: "flaky", Local: true, Timeout: 12 * time.Second,
			Retry: run.RetryPolicy{MaxAttempts: 3, InitialInterval: 100 * time.Millisecond, BackoffCoefficient: 1, MaxInterval: time.Second}}),
	}
	rec := input(run.Action{Name: "a", Type: "echo"})
	rec.Recorded = &run.RecordedFailure{Type: errtype.ActionFailed, Message: "recorded", Result: run.Result{Status: run.StatusFailed}}
	runs["recorded_failure"] = rec
	for name, in := range runs {
		id := run.WorkflowID("replay-"+name, queue)
		wr, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: queue}, run.WorkflowName, in)
		require.NoError(t, err)
		err = wr.Get(ctx, nil)
		if name == "recorded_failure" {
			require.Error(t, err)
		} else {
			require.NoError(t, err, name)
		}
		// A recorded failure runs no action, so the mutations of
		// TestReplayDetectsNonDeterminism would not change its commands.
		dir := historiesDir
		if name == "recorded_failure" {
			dir = semanticsHistoriesDir
		}
		saveHistory(ctx, t, c, filepath.Join(dir, name+".json"), id, wr.GetRunID())
	}

	// A delivery workflow: three events in two signals (one of them
	// signalled twice), one failing; it closes after its linger.
	tag := "replay-" + queue
	ev := func(id string, act run.Action) run.Input {
		in := input(act)
		in.Trigger.Tag, in.Event.ID = tag, id
		in.BatchedDelivery = &run.BatchedDelivery{Max: 2}
		return in
	}
	ok := run.Action{Name: "hook", Type: "echo", Local: true, Config: map[string]any{"id": "{{record.id}}"}}
	bad := run.Action{Name: "rejected", Type: "fail", Local: true}
	did := run.DeliveryWorkflowID(tag, "t", 0)
	var wr client.WorkflowRun
	for _, batch := range [][]run.Input{{ev("e1", ok), ev("e2", bad)}, {ev("e1", ok), ev("e3", ok)}} {
		var err error
		wr, err = c.SignalWithStartWorkflow(ctx, did, run.SignalDeliver, batch, client.StartWorkflowOptions{TaskQueue: queue},
			run.DeliveryWorkflowName, run.DeliveryInput{Tag: tag, Topic: "t", Linger: 2 * time.Second})
		require.NoError(t, err)
	}
	var st DeliveryState
	require.NoError(t, c.GetWorkflow(ctx, did, wr.GetRunID()).Get(ctx, &st))
	require.Equal(t, 2, st.Done)
	require.Equal(t, 1, st.Failed)
	saveHistory(ctx, t, c, filepath.Join(semanticsHistoriesDir, "delivery.json"), did, wr.GetRunID())
}
