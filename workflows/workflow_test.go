package workflows

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/triggerd/triggerd/run"
	"github.com/triggerd/triggerd/run/errtype"
)

// calls records the requests the fake activities received, in order.
type calls struct {
	mu   sync.Mutex
	reqs []run.ActionRequest
}

func (c *calls) add(req run.ActionRequest) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.reqs = append(c.reqs, req)
	return len(c.reqs)
}

func (c *calls) all() []run.ActionRequest {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]run.ActionRequest(nil), c.reqs...)
}

func (c *calls) count(name string) int {
	n := 0
	for _, r := range c.all() {
		if r.ActionName == name {
			n++
		}
	}
	return n
}

// newEnv returns a test environment with fake actions registered by name:
// echo returns its rendered config, fail fails with the application error
// type held in config.type (non-retryable when config.permanent is true).
// The test environment leaves an activity error's retry state unset, so
// attempts are only known through the details fail attaches.
func newEnv(t *testing.T) (*testsuite.TestWorkflowEnvironment, *calls) {
	t.Helper()
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	c := &calls{}
	env.RegisterWorkflowWithOptions(RunTrigger, workflowRegisterOptions())
	env.RegisterActivityWithOptions(func(ctx context.Context, req run.ActionRequest) (any, error) {
		c.add(req)
		return req.Config, nil
	}, activity.RegisterOptions{Name: "echo"})
	env.RegisterActivityWithOptions(func(ctx context.Context, req run.ActionRequest) (any, error) {
		c.add(req)
		typ, _ := req.Config["type"].(string)
		perm, _ := req.Config["permanent"].(bool)
		msg := "transient failure"
		if perm {
			msg = "permanent failure"
		}
		// Like the real activity worker, attach the attempt that failed.
		return nil, temporal.NewApplicationErrorWithOptions(msg, typ, temporal.ApplicationErrorOptions{
			NonRetryable: perm,
			Details:      []any{errtype.Details{Attempt: activity.GetInfo(ctx).Attempt}},
		})
	}, activity.RegisterOptions{Name: "fail"})
	return env, c
}

func input(actions ...run.Action) run.Input {
	return run.Input{
		Trigger:   run.TriggerRef{Tag: "welcome", Name: "Welcome", Version: 3},
		EventName: "afterInsert",
		Event: run.Event{
			ID: "ev-1", Table: "users", Database: "app", Operation: run.OperationInsert,
			Record:    map[string]any{"id": 1.0, "name": "Alice"},
			Timestamp: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
		},
		Actions: actions,
	}
}

func fastRetry(max int) run.RetryPolicy {
	return run.RetryPolicy{MaxAttempts: max, InitialInterval: time.Millisecond, BackoffCoefficient: 1}
}

func TestRunTriggerRunsActionsInOrder(t *testing.T) {
	env, c := newEnv(t)
	env.ExecuteWorkflow(run.WorkflowName, input(
		run.Action{Name: "first", Type: "echo", Config: map[string]any{"n": 1.0}},
		run.Action{Name: "second", Type: "echo", Config: map[string]any{"n": 2.0}},
		run.Action{Type: "echo", Config: map[string]any{"n": 3.0}},
	))
	require.True(t, env.IsWorkflowCompleted())
	require.NoError(t, env.GetWorkflowError())
	var res run.Result
	require.NoError(t, env.GetWorkflowResult(&res))

	require.Equal(t, run.StatusSucceeded, res.Status)
	require.Equal(t, "ev-1", res.EventID)
	require.Equal(t, "afterInsert", res.EventName)
	require.Len(t, res.Actions, 3)
	for i, name := range []string{"first", "second", "echo#3"} {
		require.Equal(t, name, res.Actions[i].Name)
		require.Equal(t, run.StatusSucceeded, res.Actions[i].Status)
		require.Equal(t, map[string]any{"n": float64(i + 1)}, res.Actions[i].Output)
	}
	reqs := c.all()
	require.Len(t, reqs, 3)
	wfID := reqs[0].WorkflowID
	require.NotEmpty(t, wfID)
	for i, r := range reqs {
		require.Equal(t, float64(i+1), r.Config["n"], "actions run in order")
		require.Equal(t, wfID+"/"+res.Actions[i].Name, r.IdempotencyKey)
		require.Equal(t, "welcome", r.TriggerTag)
		require.Equal(t, "echo", r.Type)
		require.NotEmpty(t, r.RunID)
	}
}

// The stub renderer returns the config unchanged, so this test checks what
// the workflow hands the renderer through a renderer-independent path: the
// request the activity gets and the result the run returns.
func TestRunTriggerContinueOnError(t *testing.T) {
	env, c := newEnv(t)
	env.ExecuteWorkflow(run.WorkflowName, input(
		run.Action{Name: "flaky", Type: "fail", Config: map[string]any{"type": errtype.HTTP5xx},
			Retry: fastRetry(2), ContinueOnError: true},
		run.Action{Name: "after", Type: "echo", Config: map[string]any{"ok": true}},
	))
	require.NoError(t, env.GetWorkflowError())
	var res run.Result
	require.NoError(t, env.GetWorkflowResult(&res))
	require.Equal(t, StatusCompletedWithErrors, res.Status)
	require.Equal(t, run.StatusFailed, res.Actions[0].Status)
	require.Contains(t, res.Actions[0].Error, "transient failure")
	require.EqualValues(t, 2, res.Actions[0].Attempts)
	require.Equal(t, run.StatusSucceeded, res.Actions[1].Status)
	require.Equal(t, 2, c.count("flaky"))
	require.Equal(t, 1, c.count("after"))
}

func TestRunTriggerNonRetryableStopsAtOnce(t *testing.T) {
	env, c := newEnv(t)
	env.ExecuteWorkflow(run.WorkflowName, input(
		run.Action{Name: "ok", Type: "echo"},
		run.Action{Name: "bad", Type: "fail", Config: map[string]any{"type": errtype.HTTP4xx, "permanent": true},
			Retry: fastRetry(5)},
		run.Action{Name: "never", Type: "echo"},
	))
	err := env.GetWorkflowError()
	require.Error(t, err)
	var appErr *temporal.ApplicationError
	require.True(t, errors.As(err, &appErr))
	require.Equal(t, errtype.ActionFailed, appErr.Type())
	require.Contains(t, err.Error(), `action "bad"`)

	res, ok := ResultFromError(err)
	require.True(t, ok, "the failure carries the result")
	require.Equal(t, run.StatusFailed, res.Status)
	require.Equal(t, []string{run.StatusSucceeded, run.StatusFailed, run.StatusSkipped},
		[]string{res.Actions[0].Status, res.Actions[1].Status, res.Actions[2].Status})
	require.EqualValues(t, 1, res.Actions[1].Attempts)
	require.Equal(t, 1, c.count("bad"), "a non-retryable error is not retried")
	require.Equal(t, 0, c.count("never"))
}

func TestRunTriggerRetriesUpToMaxAttempts(t *testing.T) {
	env, c := newEnv(t)
	env.ExecuteWorkflow(run.WorkflowName, input(
		run.Action{Name: "flaky", Type: "fail", Config: map[string]any{"type": errtype.ConnRefused}, Retry: fastRetry(4)},
	))
	err := env.GetWorkflowError()
	requireActionFailed(t, err, "flaky", errtype.ConnRefused)
	require.Equal(t, 4, c.count("flaky"))
	res, ok := ResultFromError(err)
	require.True(t, ok)
	require.EqualValues(t, 4, res.Actions[0].Attempts)
}

// requireActionFailed checks that err is the run's ActionFailed error for
// action, caused by an activity error of type cause: a run that failed for
// any other reason (a panic, a timeout, another action) does not pass.
func requireActionFailed(t *testing.T, err error, action, cause string) {
	t.Helper()
	var appErr *temporal.ApplicationError
	require.ErrorAs(t, err, &appErr)
	require.Equal(t, errtype.ActionFailed, appErr.Type(), "%v", err)
	require.Contains(t, appErr.Message(), fmt.Sprintf("action %q", action))
	var actErr *temporal.ActivityError
	require.ErrorAs(t, err, &actErr, "the action's own error is the cause")
	var causeErr *temporal.ApplicationError
	require.ErrorAs(t, actErr, &causeErr)
	require.Equal(t, cause, causeErr.Type(), "%v", err)
}

func TestRunTriggerRetryOnStopsOtherTypes(t *testing.T) {
	env, c := newEnv(t)
	p := fastRetry(4)
	p.RetryOn = []string{errtype.HTTP5xx}
	env.ExecuteWorkflow(run.WorkflowName, input(
		run.Action{Name: "refused", Type: "fail", Config: map[string]any{"type": errtype.ConnRefused}, Retry: p},
	))
	requireActionFailed(t, env.GetWorkflowError(), "refused", errtype.ConnRefused)
	require.Equal(t, 1, c.count("refused"), "ECONNREFUSED is not in retryOn")
}

func TestRunTriggerUnknownActionTypeFails(t *testing.T) {
	env, _ := newEnv(t)
	env.ExecuteWorkflow(run.WorkflowName, input(run.Action{Name: "x", Type: "nope", Retry: fastRetry(1)}))
	// The SDK's own type for an activity no worker registered.
	requireActionFailed(t, env.GetWorkflowError(), "x", "ActivityNotRegisteredError")
}

func TestRetryPolicy(t *testing.T) {
	permanent := errtype.Permanent()
	allBut := func(keep ...string) []string {
		out := append([]string(nil), permanent...)
		for _, t := range errtype.Retryable() {
			kept := false
			for _, k := range keep {
				kept = kept || k == t
			}
			if !kept {
				out = append(out, t)
			}
		}
		return out
	}
	tests := []struct {
		name string
		in   run.RetryPolicy
		want temporal.RetryPolicy
	}{
		{"defaults", run.RetryPolicy{}, temporal.RetryPolicy{
			MaximumAttempts: 3, InitialInterval: time.Second, BackoffCoefficient: 2,
			MaximumInterval: 30 * time.Second, NonRetryableErrorTypes: permanent}},
		{"all set", run.RetryPolicy{MaxAttempts: 7, InitialInterval: 2 * time.Second, MaxInterval: 30 * time.Second, BackoffCoefficient: 1.5},
			temporal.RetryPolicy{MaximumAttempts: 7, InitialInterval: 2 * time.Second, BackoffCoefficient: 1.5,
				MaximumInterval: 30 * time.Second, NonRetryableErrorTypes: permanent}},
		{"max below initial", run.RetryPolicy{MaxAttempts: 2, InitialInterval: 10 * time.Second, MaxInterval: time.Second, BackoffCoefficient: 2},
			temporal.RetryPolicy{MaximumAttempts: 2, InitialInterval: 10 * time.Second, BackoffCoefficient: 2,
				MaximumInterval: 10 * time.Second, NonRetryableErrorTypes: permanent}},
		{"single attempt", run.RetryPolicy{MaxAttempts: 1},
			temporal.RetryPolicy{MaximumAttempts: 1, InitialInterval: time.Second, BackoffCoefficient: 2,
				MaximumInterval: 30 * time.Second, NonRetryableErrorTypes: permanent}},
		{"retryOn exact", run.RetryPolicy{MaxAttempts: 5, RetryOn: []string{"HTTP_5XX", "ECONNREFUSED"}},
			temporal.RetryPolicy{MaximumAttempts: 5, InitialInterval: time.Second, BackoffCoefficient: 2,
				MaximumInterval: 30 * time.Second, NonRetryableErrorTypes: allBut(errtype.HTTP5xx, errtype.ConnRefused)}},
		{"retryOn substring any case", run.RetryPolicy{MaxAttempts: 5, RetryOn: []string{"http_4", "unavailable"}},
			temporal.RetryPolicy{MaximumAttempts: 5, InitialInterval: time.Second, BackoffCoefficient: 2,
				MaximumInterval: 30 * time.Second, NonRetryableErrorTypes: allBut(errtype.HTTP429, errtype.HTTP408,
					errtype.BrokerUnavailable, errtype.CacheUnavailable, errtype.DBUnavailable)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, &tt.want, RetryPolicy(tt.in))
		})
	}
}
