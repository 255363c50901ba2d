package workflows

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/triggerd/triggerd/run"
	"github.com/triggerd/triggerd/run/errtype"
)

// attemptLog records, per call of the "flaky" fake, whether it ran as a
// local activity and its attempt.
type attemptLog struct {
	mu    sync.Mutex
	local []bool
	tries []int32
}

func (l *attemptLog) add(ctx context.Context) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	info := activity.GetInfo(ctx)
	l.local = append(l.local, info.IsLocalActivity)
	l.tries = append(l.tries, info.Attempt)
	return len(l.local)
}

// newLocalEnv adds "flaky" to newEnv's fakes: it fails with the retryable
// type in config.type (default HTTP_5XX) until its config.failures calls
// have failed, then echoes its config.
func newLocalEnv(t *testing.T) (*testsuite.TestWorkflowEnvironment, *attemptLog) {
	env, _ := newEnv(t)
	l := &attemptLog{}
	env.RegisterActivityWithOptions(func(ctx context.Context, req run.ActionRequest) (any, error) {
		n := l.add(ctx)
		failures, _ := req.Config["failures"].(float64)
		if float64(n) <= failures {
			typ, _ := req.Config["type"].(string)
			if typ == "" {
				typ = errtype.HTTP5xx
			}
			return nil, temporal.NewApplicationErrorWithOptions("flaky", typ, temporal.ApplicationErrorOptions{
				Details: []any{errtype.Details{Attempt: activity.GetInfo(ctx).Attempt}},
			})
		}
		return req.Config, nil
	}, activity.RegisterOptions{Name: "flaky"})
	return env, l
}

func TestLocalActionRetriesLocallyWithinTheBudget(t *testing.T) {
	env, l := newLocalEnv(t)
	env.ExecuteWorkflow(run.WorkflowName, input(run.Action{
		Name: "a", Type: "flaky", Local: true, Timeout: time.Second,
		Config: map[string]any{"failures": 2.0}, Retry: fastRetry(3),
	}))
	res := resultOf(t, env)
	require.Equal(t, run.StatusSucceeded, res.Status)
	assert.Equal(t, []bool{true, true, true}, l.local, "every attempt local")
	assert.Equal(t, []int32{1, 2, 3}, l.tries)
}

// An action whose attempts do not fit in the local budget makes the ones
// that fit locally, then waits on a durable timer and goes on as a
// regular activity: retries over minutes stay durable, and the run
// reports every attempt.
func TestLocalActionContinuesAsARegularActivity(t *testing.T) {
	env, l := newLocalEnv(t)
	var timers []time.Duration
	env.SetOnTimerScheduledListener(func(_ string, d time.Duration) { timers = append(timers, d) })
	retry := run.RetryPolicy{MaxAttempts: 5, InitialInterval: 4 * time.Second, BackoffCoefficient: 2, MaxInterval: time.Minute}
	env.ExecuteWorkflow(run.WorkflowName, input(run.Action{
		Name: "a", Type: "flaky", Local: true, Timeout: 10 * time.Second,
		Config: map[string]any{"failures": 10.0}, Retry: retry,
	}))
	res := resultOf(t, env)
	require.Equal(t, run.StatusFailed, res.Status)
	// 10s + 4s + 10s fit in 30s; a third attempt would not.
	assert.Equal(t, []bool{true, true, false, false, false}, l.local)
	assert.Equal(t, []int32{1, 2, 1, 2, 3}, l.tries)
	assert.Equal(t, int32(5), res.Actions[0].Attempts, "the run counts local and regular attempts")
	assert.Contains(t, res.Actions[0].Error, errtype.HTTP5xx)
	// The backoffs go on as the policy says: 4s between the local
	// attempts, 8s on the timer before the regular activity, then its own.
	assert.Contains(t, timers, 8*time.Second, "the policy's backoff after attempt 2, on a durable timer: %v", timers)
}

func TestLocalActionStopsOnAPermanentError(t *testing.T) {
	env, l := newLocalEnv(t)
	env.ExecuteWorkflow(run.WorkflowName, input(run.Action{
		Name: "a", Type: "flaky", Local: true, Timeout: 10 * time.Second,
		Config: map[string]any{"failures": 10.0, "type": errtype.HTTP4xx}, Retry: fastRetry(5),
	}))
	res := resultOf(t, env)
	require.Equal(t, run.StatusFailed, res.Status)
	assert.Equal(t, []bool{true}, l.local, "one attempt, never continued")
	assert.Equal(t, int32(1), res.Actions[0].Attempts)
}

// A long action heartbeats, which a local activity cannot: it runs as a
// regular activity whatever Local says.
func TestLongActionIsNeverLocal(t *testing.T) {
	env, l := newLocalEnv(t)
	env.ExecuteWorkflow(run.WorkflowName, input(run.Action{
		Name: "a", Type: "flaky", Local: true, Timeout: 10 * time.Minute, Retry: fastRetry(1),
	}))
	require.Equal(t, run.StatusSucceeded, resultOf(t, env).Status)
	assert.Equal(t, []bool{false}, l.local)
}

// Quota refusals of a local action are waited out on durable timers and
// breaker refusals run the fallbacks, exactly as for a regular activity.
func TestLocalActionUnderItsGuard(t *testing.T) {
	env, c := newGuardEnv(t)
	env.ExecuteWorkflow(run.WorkflowName, input(
		run.Action{Name: "a", Type: "limited", Local: true, Config: map[string]any{"refuse": 2.0}, Retry: fastRetry(1)},
		run.Action{Name: "b", Type: "open", Local: true, Config: map[string]any{"url": "http://x"},
			Guard: &run.Guard{Fallback: []run.Fallback{{DeadLetter: "kafka:dead"}}}},
	))
	res := resultOf(t, env)
	require.Equal(t, run.StatusSucceeded, res.Status)
	require.NotNil(t, res.Actions[0].Guard)
	assert.Equal(t, 10*time.Second, res.Actions[0].Guard.Waited)
	require.NotNil(t, res.Actions[1].Guard)
	assert.Equal(t, "deadLetter kafka:dead", res.Actions[1].Guard.Path)
	assert.Equal(t, 3, c.count("a"))
	assert.Equal(t, 1, c.count("b/fallback[0]"))
}

func TestLocalAttemptsFitTheBudget(t *testing.T) {
	rp := func(max int32, initial time.Duration) *temporal.RetryPolicy {
		return &temporal.RetryPolicy{MaximumAttempts: max, InitialInterval: initial, BackoffCoefficient: 2, MaximumInterval: time.Minute}
	}
	assert.Equal(t, int32(1), localAttempts(rp(3, time.Second), 30*time.Second), "default action: one local attempt")
	assert.Equal(t, int32(3), localAttempts(rp(3, time.Second), 5*time.Second), "5+1+5+2+5 = 18s")
	assert.Equal(t, int32(5), localAttempts(rp(100, 200*time.Millisecond), 5*time.Second), "the chaos test's actions")
	assert.Equal(t, int32(1), localAttempts(rp(1, time.Second), time.Second))
	assert.Equal(t, int32(1), localAttempts(rp(3, time.Second), time.Minute), "a timeout over the budget still gets its attempt")
	assert.Equal(t, 16*time.Second, backoff(rp(10, time.Second), 5))
	assert.Equal(t, time.Minute, backoff(rp(100, time.Second), 40), "capped")
}

func TestSummarizeOutput(t *testing.T) {
	small := map[string]any{"status": 200.0}
	out, n := summarizeOutput(small)
	assert.Equal(t, small, out)
	assert.Zero(t, n)

	big := map[string]any{"status": 200.0, "headers": map[string]any{"Content-Type": "text/plain"}, "body": strings.Repeat("x", 10000)}
	out, n = summarizeOutput(big)
	assert.Equal(t, map[string]any{"status": 200.0, "headers": map[string]any{"Content-Type": "text/plain"}}, out)
	assert.Greater(t, n, 10000)

	out, n = summarizeOutput(strings.Repeat("é", 5000))
	s, _ := out.(string)
	assert.LessOrEqual(t, len(s), summaryFieldBytes)
	assert.True(t, strings.HasPrefix(strings.Repeat("é", 5000), s), "cut on a character boundary")
	assert.Greater(t, n, 10000)
}

// The result holds a summary of a large output; the run's output query
// returns it whole, and a later action's templates see it whole.
func TestLargeOutputSummarizedAndQueried(t *testing.T) {
	env, c := newEnv(t)
	body := strings.Repeat("y", 8000)
	env.ExecuteWorkflow(run.WorkflowName, input(
		run.Action{Name: "big", Type: "echo", Local: true, Config: map[string]any{"status": 201.0, "body": body}},
		run.Action{Name: "next", Type: "echo", Local: true, Config: map[string]any{"got": "{{actions.big.output.body}}"}},
	))
	res := resultOf(t, env)
	require.Equal(t, run.StatusSucceeded, res.Status)
	assert.Equal(t, map[string]any{"status": 201.0}, res.Actions[0].Output)
	assert.Greater(t, res.Actions[0].OutputBytes, 8000)
	assert.Equal(t, body, c.all()[1].Config["got"])

	v, err := env.QueryWorkflow(run.QueryOutput, "big")
	require.NoError(t, err)
	var whole map[string]any
	require.NoError(t, v.Get(&whole))
	assert.Equal(t, body, whole["body"])
	_, err = env.QueryWorkflow(run.QueryOutput, "nope")
	require.Error(t, err)
}
