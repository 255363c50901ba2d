package workflows

import (
	"errors"
	"fmt"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/triggerd/triggerd/run"
	"github.com/triggerd/triggerd/run/errtype"
	"github.com/triggerd/triggerd/trigger"
)

// guardVersion guards the commands quotas and breakers add (timers, the
// fallbacks' activities). It is asked for only once a decorator has turned
// a call away, which no history recorded before them contains, so older
// histories replay unchanged.
const guardVersion = "triggerd.guard"

// minGuardWait is the shortest wait after a refusal.
const minGuardWait = 100 * time.Millisecond

// activityGuard is what the decorators need of an action's guard: its
// quota and breaker, without the fallbacks only the workflow runs.
func activityGuard(g *run.Guard) *run.Guard {
	if g == nil || (g.Quota == nil && g.Breaker == nil) {
		return nil
	}
	return &run.Guard{Quota: g.Quota, Breaker: g.Breaker}
}

// deferral reads the decorator's refusal out of an activity error: its
// type (errtype.QuotaExceeded or errtype.BreakerOpen) and details, or ""
// for any other error.
func deferral(err error) (string, errtype.Deferral) {
	var appErr *temporal.ApplicationError
	var d errtype.Deferral
	if !errors.As(err, &appErr) {
		return "", d
	}
	switch appErr.Type() {
	case errtype.QuotaExceeded, errtype.BreakerOpen:
		if appErr.HasDetails() {
			_ = appErr.Details(&d)
		}
		return appErr.Type(), d
	}
	return "", d
}

// guardEnabled reports whether this run may add the guard's commands:
// false only when replaying a history recorded before they existed.
func guardEnabled(ctx workflow.Context) bool {
	return workflow.GetVersion(ctx, guardVersion, workflow.DefaultVersion, 1) != workflow.DefaultVersion
}

// callWithQuota executes activity typ as call says (a regular or a local
// activity, local.go) and waits out quota refusals with durable timers,
// trying again after each: the waits spend none of the action's retry
// attempts (each try is a fresh activity at attempt 1). Breaker refusals
// are returned to the caller.
func callWithQuota(ctx workflow.Context, call actionCall, typ string, req run.ActionRequest, rep **run.GuardReport) (any, error) {
	for {
		out, err := call.execute(ctx, typ, req)
		if err == nil {
			return out, nil
		}
		kind, d := deferral(err)
		if kind != errtype.QuotaExceeded || !guardEnabled(ctx) {
			return nil, err
		}
		// A refusal whose details were lost (a decorator that rebuilt
		// the error) must not turn into a tight loop.
		d.RetryAfter = max(d.RetryAfter, minGuardWait)
		r := report(rep)
		if n := len(r.Waits); n > 0 && r.Waits[n-1].Quota == d.Quota {
			r.Waits[n-1].For += d.RetryAfter
		} else {
			r.Waits = append(r.Waits, run.QuotaWait{Quota: d.Quota, For: d.RetryAfter})
		}
		r.Waited += d.RetryAfter
		if err := workflow.Sleep(ctx, d.RetryAfter); err != nil {
			return nil, err
		}
	}
}

func report(rep **run.GuardReport) *run.GuardReport {
	if *rep == nil {
		*rep = &run.GuardReport{}
	}
	return *rep
}

// pathSkip is the GuardReport.Path of an action a skip step gave up on;
// the run reports it as skipped.
const pathSkip = "skip"

// statusOf is the status of an action that returned no error.
func statusOf(ar run.ActionResult) string {
	if ar.Guard != nil && ar.Guard.Path == pathSkip {
		return run.StatusSkipped
	}
	return run.StatusSucceeded
}

// executeGuarded runs the action's activity under its guard: quota waits
// (callWithQuota), and when its breaker is open the fallbacks in order
// until one succeeds. A defer step waits for the breaker's next probe and
// tries the action itself again; skip ends the action as skipped. With no
// fallback left, the breaker's refusal is the action's failure.
func executeGuarded(ctx workflow.Context, call actionCall, act run.Action, req run.ActionRequest, scope trigger.Scope,
	render renderFunc, rep **run.GuardReport) (any, error) {
	for {
		out, err := callWithQuota(ctx, call, act.Type, req, rep)
		kind, d := deferral(err)
		if kind != errtype.BreakerOpen || !guardEnabled(ctx) {
			return out, err
		}
		d.RetryAfter = max(d.RetryAfter, minGuardWait)
		r := report(rep)
		r.Breaker, r.Reason = d.Breaker, errorMessage(err)
		var fallbacks []run.Fallback
		if act.Guard != nil {
			fallbacks = act.Guard.Fallback
		}
		retry := false
		for i, fb := range fallbacks {
			switch {
			case fb.Defer:
				r.Deferred++
				if err := workflow.Sleep(ctx, d.RetryAfter); err != nil {
					return nil, err
				}
				retry = true
			case fb.Skip:
				workflow.GetLogger(ctx).Warn("action skipped: its circuit breaker is open",
					"action", req.ActionName, "breaker", d.Breaker)
				r.Path = pathSkip
				return nil, nil
			default:
				fout, ferr := runFallback(ctx, fb, i, req, scope, render, d, rep)
				if ferr == nil {
					r.Path = fb.Describe()
					return fout, nil
				}
				// The action's error stays the breaker's; the reason
				// says what each failed step did.
				r.Reason += fmt.Sprintf("; fallback %d (%s) failed: %s", i+1, fb.Describe(), errorMessage(ferr))
			}
			if retry {
				break
			}
		}
		if !retry {
			return nil, err
		}
	}
}

// runFallback runs one action or dead-letter step.
func runFallback(ctx workflow.Context, fb run.Fallback, i int, req run.ActionRequest, scope trigger.Scope,
	render renderFunc, d errtype.Deferral, rep **run.GuardReport) (any, error) {
	name := fmt.Sprintf("%s/fallback[%d]", req.ActionName, i)
	freq := run.ActionRequest{
		WorkflowID: req.WorkflowID, RunID: req.RunID, TriggerTag: req.TriggerTag,
		ActionName: name, IdempotencyKey: req.WorkflowID + "/" + name,
	}
	// A dead letter is the last resort for the event: retried longer than
	// an action by default, since a broker hiccup must not lose it.
	act := run.Action{Type: run.TypePublish, Retry: run.RetryPolicy{MaxAttempts: 10, MaxInterval: 30 * time.Second}}
	switch {
	case fb.DeadLetter != "":
		freq.Type = run.TypePublish
		freq.Config = map[string]any{
			"target": fb.DeadLetter,
			"key":    req.IdempotencyKey,
			"message": map[string]any{
				"workflowId": req.WorkflowID, "trigger": req.TriggerTag, "action": req.ActionName,
				"type": req.Type, "config": req.Config, "breaker": d.Breaker, "reason": d.Reason,
			},
		}
	case fb.Action != nil:
		act = *fb.Action
		cfg, _, err := render(act.Config, scope)
		if err != nil {
			return nil, temporal.NewNonRetryableApplicationError(
				fmt.Sprintf("render fallback config: %v", err), errtype.RenderFailed, err)
		}
		freq.Type, freq.Config, freq.Guard = act.Type, cfg, activityGuard(act.Guard)
	default:
		return nil, temporal.NewNonRetryableApplicationError("empty fallback step", errtype.InvalidConfig, nil)
	}
	timeout := act.Timeout
	if timeout <= 0 {
		timeout = run.DefaultActionTimeout
	}
	return callWithQuota(ctx, newActionCall(act, timeout, 0), freq.Type, freq, rep)
}
