package workflows

import (
	"errors"
	"math"
	"slices"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/triggerd/triggerd/fallbacks"
	"github.com/triggerd/triggerd/run"
	"github.com/triggerd/triggerd/run/errtype"
)

// An action with run.Action.Local runs as a Temporal local activity: the
// worker running the workflow task calls it in process and records its
// result as one marker when the task completes. No activity task is
// scheduled, matched, started and completed, and no second workflow task
// reads the result, so a one-action run costs 6 history events instead of
// 11 and a fraction of the server's work (docs/performance.md).
//
// It is the same activity, registered once under the action's type: the
// worker's middleware chain (quotas, breakers, secrets, attempt details)
// wraps it whichever way it is called, and the workflow handles its typed
// errors the same way (fallbacks.CallWithQuota).
//
// What differs is where retries happen. A local activity's attempts all
// run inside workflow tasks of the worker that started it: if that
// worker dies they are lost and start again on another, and while they
// run they hold the workflow task open. So an action runs locally only
// for as many attempts as fit in localRetryBudget (at least one); when
// those fail with a retryable error and its retry policy allows more, the
// run waits the policy's next backoff on a durable timer and continues
// with the remaining attempts as a regular activity, whose retries the
// server schedules durably, over minutes or hours if the policy says so.

// localRetryBudget is the most time the local attempts of one action may
// take, their timeouts and the backoffs between them counted in full.
const localRetryBudget = 30 * time.Second

// actionCall is how one action is executed: its timeouts, its retry
// policy and whether it runs as a local activity.
type actionCall struct {
	local     bool
	timeout   time.Duration
	heartbeat time.Duration
	retry     run.RetryPolicy
}

// fallbackCall is how a fallback action runs (fallbacks.NewExecuteFunc):
// like an action, with no heartbeat.
func fallbackCall(act run.Action, timeout time.Duration) fallbacks.ExecuteFunc {
	return newActionCall(act, timeout, 0).execute
}

// newActionCall is the call of act with the given timeout and heartbeat
// timeout. A long action, one that heartbeats, always runs as a regular
// activity: a local activity cannot heartbeat.
func newActionCall(act run.Action, timeout, heartbeat time.Duration) actionCall {
	return actionCall{local: act.Local && heartbeat == 0, timeout: timeout, heartbeat: heartbeat, retry: act.Retry}
}

// execute runs activity typ with req and returns its output.
func (c actionCall) execute(ctx workflow.Context, typ string, req run.ActionRequest) (any, error) {
	rp := RetryPolicy(c.retry)
	if !c.local {
		return c.activity(ctx, typ, req, rp)
	}
	return c.executeLocal(ctx, typ, req, rp)
}

// activity runs typ as a regular activity under retry policy rp.
func (c actionCall) activity(ctx workflow.Context, typ string, req run.ActionRequest, rp *temporal.RetryPolicy) (any, error) {
	actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: c.timeout,
		HeartbeatTimeout:    c.heartbeat,
		RetryPolicy:         rp,
	})
	var out any
	err := workflow.ExecuteActivity(actx, typ, req).Get(actx, &out)
	return out, err
}

// executeLocal runs typ as a local activity for the attempts that fit in
// localRetryBudget, then, if they all failed and the policy allows more,
// continues as a regular activity after the next backoff.
func (c actionCall) executeLocal(ctx workflow.Context, typ string, req run.ActionRequest, rp *temporal.RetryPolicy) (any, error) {
	k := localAttempts(rp, c.timeout)
	lrp := *rp
	lrp.MaximumAttempts = k
	lctx := workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{
		StartToCloseTimeout: c.timeout,
		// The budget bounds the local attempts (the SDK defaults it to
		// one attempt's timeout, which would allow no retry at all).
		ScheduleToCloseTimeout: max(localRetryBudget, c.timeout),
		RetryPolicy:            &lrp,
	})
	var out any
	err := workflow.ExecuteLocalActivity(lctx, typ, req).Get(lctx, &out)
	if err == nil || !retryable(err, rp) {
		return out, err
	}
	// The attempts made: those the error reports (a Retry-After longer
	// than the budget can end the local attempts early), else all k.
	made := k
	if n := attemptOf(err); n > 0 {
		made = n
	}
	if made >= rp.MaximumAttempts {
		return nil, err
	}
	// Continue durably: the next backoff on a timer, then the remaining
	// attempts as a regular activity whose intervals go on from there.
	if err := workflow.Sleep(ctx, nextDelay(rp, made, err)); err != nil {
		return nil, err
	}
	rest := *rp
	rest.MaximumAttempts = rp.MaximumAttempts - made
	rest.InitialInterval = backoff(rp, made+1)
	rest.MaximumInterval = max(rest.MaximumInterval, rest.InitialInterval)
	out, err = c.activity(ctx, typ, req, &rest)
	return out, shiftAttempts(err, made)
}

// localAttempts is how many attempts of an action with this policy and
// timeout fit in localRetryBudget, each attempt counted at its full
// timeout: at least one, at most the policy's maximum.
func localAttempts(rp *temporal.RetryPolicy, timeout time.Duration) int32 {
	spent, k := timeout, int32(1)
	for k < rp.MaximumAttempts {
		next := spent + backoff(rp, k) + timeout
		if next > localRetryBudget {
			break
		}
		spent, k = next, k+1
	}
	return k
}

// backoff is the policy's wait after attempt n (1-based), as Temporal
// computes it: the initial interval times the coefficient to the power
// n-1, capped at the maximum interval.
func backoff(rp *temporal.RetryPolicy, n int32) time.Duration {
	d := time.Duration(float64(rp.InitialInterval) * math.Pow(rp.BackoffCoefficient, float64(n-1)))
	if d <= 0 || (rp.MaximumInterval > 0 && d > rp.MaximumInterval) {
		d = rp.MaximumInterval
	}
	return d
}

// nextDelay is the wait after attempt n failed with err: the delay the
// error asks for (an HTTP 429's Retry-After), else the policy's backoff.
func nextDelay(rp *temporal.RetryPolicy, n int32, err error) time.Duration {
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) && appErr.NextRetryDelay() > 0 {
		return appErr.NextRetryDelay()
	}
	return backoff(rp, n)
}

// retryable reports whether Temporal would retry err under rp: not a
// cancellation, not a non-retryable application error nor one of the
// policy's non-retryable types. Timeouts and panics are retried.
func retryable(err error, rp *temporal.RetryPolicy) bool {
	if temporal.IsCanceledError(err) {
		return false
	}
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) {
		return !appErr.NonRetryable() && !slices.Contains(rp.NonRetryableErrorTypes, appErr.Type())
	}
	return true
}

// attemptOf is the attempt the activity worker attached to err
// (errtype.Details), or 0.
func attemptOf(err error) int32 {
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) && appErr.HasDetails() {
		var d errtype.Details
		if appErr.Details(&d) == nil {
			return d.Attempt
		}
	}
	return 0
}

// shiftAttempts adds the n local attempts to the attempt an error of the
// regular activity that continued them reports, so that the run counts
// every attempt of the action.
func shiftAttempts(err error, n int32) error {
	a := attemptOf(err)
	if a == 0 {
		return err
	}
	var appErr *temporal.ApplicationError
	errors.As(err, &appErr)
	return temporal.NewApplicationErrorWithOptions(appErr.Message(), appErr.Type(), temporal.ApplicationErrorOptions{
		NonRetryable:   appErr.NonRetryable(),
		Cause:          err,
		NextRetryDelay: appErr.NextRetryDelay(),
		Category:       appErr.Category(),
		Details:        []any{errtype.Details{Attempt: a + n}},
	})
}
