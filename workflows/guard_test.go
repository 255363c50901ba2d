package workflows

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/worker"

	"github.com/triggerd/triggerd/run"
	"github.com/triggerd/triggerd/run/errtype"
)

// refusal builds the errors the quota and breaker decorators return.
func refusal(typ, name string, wait time.Duration) error {
	d := errtype.Deferral{RetryAfter: wait}
	if typ == errtype.QuotaExceeded {
		d.Quota = name
	} else {
		d.Breaker = name
	}
	return temporal.NewApplicationErrorWithOptions(typ+" "+name, typ, temporal.ApplicationErrorOptions{
		NonRetryable: true, Category: temporal.ApplicationErrorCategoryBenign, Details: []any{d}})
}

// newGuardEnv adds fake guarded actions to newEnv's: "limited" is refused
// by a quota config.refuse times, then echoes; "open" is refused by an
// open breaker config.refuse times (always when absent), then echoes;
// broker.publish records dead letters.
func newGuardEnv(t *testing.T) (*testsuite.TestWorkflowEnvironment, *calls) {
	env, c := newEnv(t)
	refuser := func(typ, name string) func(ctx context.Context, req run.ActionRequest) (any, error) {
		return func(ctx context.Context, req run.ActionRequest) (any, error) {
			c.add(req)
			limit, ok := req.Config["refuse"].(float64)
			if !ok || float64(c.count(req.ActionName)) <= limit {
				return nil, refusal(typ, name, 5*time.Second)
			}
			return req.Config, nil
		}
	}
	env.RegisterActivityWithOptions(refuser(errtype.QuotaExceeded, "action:welcome/a"), activity.RegisterOptions{Name: "limited"})
	env.RegisterActivityWithOptions(refuser(errtype.BreakerOpen, "target:http:x"), activity.RegisterOptions{Name: "open"})
	env.RegisterActivityWithOptions(func(ctx context.Context, req run.ActionRequest) (any, error) {
		c.add(req)
		return "published", nil
	}, activity.RegisterOptions{Name: run.TypePublish})
	return env, c
}

func resultOf(t *testing.T, env *testsuite.TestWorkflowEnvironment) run.Result {
	t.Helper()
	require.True(t, env.IsWorkflowCompleted())
	var res run.Result
	if err := env.GetWorkflowError(); err != nil {
		r, ok := ResultFromError(err)
		require.True(t, ok, "%v", err)
		return r
	}
	require.NoError(t, env.GetWorkflowResult(&res))
	return res
}

func TestQuotaRefusalWaitsDurably(t *testing.T) {
	env, c := newGuardEnv(t)
	env.ExecuteWorkflow(run.WorkflowName, input(
		run.Action{Name: "a", Type: "limited", Config: map[string]any{"refuse": 2.0}, Retry: fastRetry(1)},
	))
	res := resultOf(t, env)
	require.Equal(t, run.StatusSucceeded, res.Status)
	g := res.Actions[0].Guard
	require.NotNil(t, g)
	assert.Equal(t, []run.QuotaWait{{Quota: "action:welcome/a", For: 10 * time.Second}}, g.Waits)
	assert.Equal(t, 10*time.Second, g.Waited)
	assert.Equal(t, 3, c.count("a"), "refused twice, then ran, with maxAttempts 1: waits spend no attempts")
}

func TestBreakerOpenRunsFallbacksInOrder(t *testing.T) {
	env, c := newGuardEnv(t)
	failing := run.Action{Type: "fail", Config: map[string]any{"type": errtype.HTTP5xx}, Retry: fastRetry(1)}
	env.ExecuteWorkflow(run.WorkflowName, input(
		run.Action{Name: "notify", Type: "open", Config: map[string]any{"url": "http://x/{{record.id}}"}, Retry: fastRetry(3),
			Guard: &run.Guard{Fallback: []run.Fallback{{Action: &failing}, {DeadLetter: "kafka:dead"}}}},
	))
	res := resultOf(t, env)
	require.Equal(t, run.StatusSucceeded, res.Status)
	g := res.Actions[0].Guard
	require.NotNil(t, g)
	assert.Equal(t, "target:http:x", g.Breaker)
	assert.Equal(t, "deadLetter kafka:dead", g.Path)
	assert.Contains(t, g.Reason, "fallback 1 (action fail) failed: HTTP_5XX")
	assert.Equal(t, "published", res.Actions[0].Output)

	all := c.all()
	require.Len(t, all, 3)
	assert.Equal(t, "notify/fallback[0]", all[1].ActionName)
	dl := all[2]
	assert.Equal(t, run.TypePublish, dl.Type)
	assert.Equal(t, "kafka:dead", dl.Config["target"])
	msg := dl.Config["message"].(map[string]any)
	assert.Equal(t, map[string]any{"url": "http://x/1"}, msg["config"], "the original rendered request")
	assert.Equal(t, "target:http:x", msg["breaker"])
}

func TestBreakerOpenSkipAndNoFallback(t *testing.T) {
	env, _ := newGuardEnv(t)
	env.ExecuteWorkflow(run.WorkflowName, input(
		run.Action{Name: "maybe", Type: "open", Guard: &run.Guard{Fallback: []run.Fallback{{Skip: true}}}},
		run.Action{Name: "then", Type: "echo"},
		run.Action{Name: "must", Type: "open"},
	))
	res := resultOf(t, env)
	require.Equal(t, run.StatusFailed, res.Status)
	assert.Equal(t, run.StatusSkipped, res.Actions[0].Status)
	assert.Equal(t, "skip", res.Actions[0].Guard.Path)
	assert.Equal(t, run.StatusSucceeded, res.Actions[1].Status)
	assert.Equal(t, run.StatusFailed, res.Actions[2].Status)
	assert.Contains(t, res.Actions[2].Error, errtype.BreakerOpen)
	assert.Equal(t, "target:http:x", res.Actions[2].Guard.Breaker)
}

func TestBreakerOpenEveryFallbackFailed(t *testing.T) {
	env, _ := newGuardEnv(t)
	failing := run.Action{Type: "fail", Config: map[string]any{"type": errtype.HTTP5xx}, Retry: fastRetry(1)}
	env.ExecuteWorkflow(run.WorkflowName, input(
		run.Action{Name: "notify", Type: "open", Guard: &run.Guard{Fallback: []run.Fallback{{Action: &failing}}}},
	))
	res := resultOf(t, env)
	require.Equal(t, run.StatusFailed, res.Status)
	a := res.Actions[0]
	assert.Contains(t, a.Error, errtype.BreakerOpen, "the action's error stays the breaker's")
	assert.Contains(t, a.Guard.Reason, "fallback 1 (action fail) failed: HTTP_5XX")
	assert.Empty(t, a.Guard.Path)
}

func TestBreakerOpenDefersUntilProbe(t *testing.T) {
	env, c := newGuardEnv(t)
	env.ExecuteWorkflow(run.WorkflowName, input(
		run.Action{Name: "later", Type: "open", Config: map[string]any{"refuse": 2.0},
			Guard: &run.Guard{Fallback: []run.Fallback{{Defer: true}}}},
	))
	res := resultOf(t, env)
	require.Equal(t, run.StatusSucceeded, res.Status)
	g := res.Actions[0].Guard
	assert.Equal(t, 2, g.Deferred)
	assert.Empty(t, g.Path, "the action itself ran in the end")
	assert.Equal(t, 3, c.count("later"))
}

// registerGuardedFakes registers the activities of the guarded replay
// scenario: "limited" is refused by a quota on its first call in a run,
// "open" always by an open breaker, broker.publish echoes.
func registerGuardedFakes(w worker.ActivityRegistry) {
	var seen sync.Map
	w.RegisterActivityWithOptions(func(ctx context.Context, req run.ActionRequest) (any, error) {
		if _, again := seen.LoadOrStore(req.WorkflowID, true); !again {
			return nil, refusal(errtype.QuotaExceeded, "action:welcome/limited", 200*time.Millisecond)
		}
		return req.Config, nil
	}, activity.RegisterOptions{Name: "limited"})
	w.RegisterActivityWithOptions(func(ctx context.Context, req run.ActionRequest) (any, error) {
		return nil, refusal(errtype.BreakerOpen, "target:http:x", time.Minute)
	}, activity.RegisterOptions{Name: "open"})
	w.RegisterActivityWithOptions(func(ctx context.Context, req run.ActionRequest) (any, error) {
		return req.Config, nil
	}, activity.RegisterOptions{Name: run.TypePublish})
}

// A queued action refused by its quota waits in its queue, durably, and
// runs: the queue counts it done, not failed.
func TestQueuedActionWaitsOutItsQuota(t *testing.T) {
	env, c := newGuardEnv(t)
	env.RegisterWorkflowWithOptions(Queue, queueOpts())
	env.ExecuteWorkflow(run.QueueWorkflowName, run.QueueInput{Name: "q", Concurrency: 1, Pending: []run.QueueItem{{
		Request: run.ActionRequest{Type: "limited", ActionName: "a", IdempotencyKey: "k", Config: map[string]any{"refuse": 1.0}},
		Retry:   fastRetry(1),
	}}})
	require.NoError(t, env.GetWorkflowError())
	var st QueueStats
	require.NoError(t, env.GetWorkflowResult(&st))
	assert.Equal(t, QueueStats{Done: 1}, st)
	assert.Equal(t, 2, c.count("a"), "refused once, then ran")
}
