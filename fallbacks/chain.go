package fallbacks

import (
	"errors"
	"fmt"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/triggerd/triggerd/run"
	"github.com/triggerd/triggerd/run/errtype"
)

// The workflow side of an action's guard: quota refusals waited out with
// durable timers, and the fallback chain run when the action's breaker is
// open. It runs inside the trigger workflow (package workflows), which
// hands it how to execute an activity (ExecuteFunc) and how to render a
// fallback action's config (RenderFunc); the code is deterministic.

// ExecuteFunc executes activity typ of an action with req, as a regular or
// a local activity (the workflow decides which), and returns its output.
type ExecuteFunc func(ctx workflow.Context, typ string, req run.ActionRequest) (any, error)

// NewExecuteFunc returns the ExecuteFunc of a fallback action act with its
// timeout.
type NewExecuteFunc func(act run.Action, timeout time.Duration) ExecuteFunc

// RenderFunc renders a fallback action's config templates in the scope of
// the action it stands in for.
type RenderFunc func(cfg map[string]any) (map[string]any, error)

// guardVersion guards the commands quotas and breakers add (timers, the
// fallbacks' activities). It is asked for only once a decorator has turned
// a call away, which no history recorded before them contains, so older
// histories replay unchanged.
const guardVersion = "triggerd.guard"

// minGuardWait is the shortest wait after a refusal.
const minGuardWait = 100 * time.Millisecond

// ActivityGuard is what the decorators need of an action's guard: its
// quota and breaker, without the fallbacks only the workflow runs.
func ActivityGuard(g *run.Guard) *run.Guard {
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

// CallWithQuota executes activity typ with exec and waits out quota refusals with durable timers,
// trying again after each: the waits spend none of the action's retry
// attempts (each try is a fresh activity at attempt 1). Breaker refusals
// are returned to the caller.
func CallWithQuota(ctx workflow.Context, exec ExecuteFunc, typ string, req run.ActionRequest, rep **run.GuardReport) (any, error) {
	for {
		out, err := exec(ctx, typ, req)
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

// Status is the status of an action that returned no error: skipped when
// a skip step gave up on it.
func Status(ar run.ActionResult) string {
	if ar.Guard != nil && ar.Guard.Path == pathSkip {
		return run.StatusSkipped
	}
	return run.StatusSucceeded
}

// ExecuteGuarded runs the action's activity under its guard: quota waits
// (CallWithQuota), and when its breaker is open the fallbacks in order
// until one succeeds. A defer step waits for the breaker's next probe and
// tries the action itself again; skip ends the action as skipped. With no
// fallback left, the breaker's refusal is the action's failure.
func ExecuteGuarded(ctx workflow.Context, exec ExecuteFunc, act run.Action, req run.ActionRequest,
	render RenderFunc, newExec NewExecuteFunc, rep **run.GuardReport) (any, error) {
	for {
		out, err := CallWithQuota(ctx, exec, act.Type, req, rep)
		kind, d := deferral(err)
		if kind != errtype.BreakerOpen || !guardEnabled(ctx) {
			return out, err
		}
		d.RetryAfter = max(d.RetryAfter, minGuardWait)
		r := report(rep)
		r.Breaker, r.Reason = d.Breaker, errtype.Message(err)
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
				fout, ferr := runFallback(ctx, fb, i, req, render, newExec, d, rep)
				if ferr == nil {
					r.Path = fb.Describe()
					return fout, nil
				}
				// The action's error stays the breaker's; the reason
				// says what each failed step did.
				r.Reason += fmt.Sprintf("; fallback %d (%s) failed: %s", i+1, fb.Describe(), errtype.Message(ferr))
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
func runFallback(ctx workflow.Context, fb run.Fallback, i int, req run.ActionRequest,
	render RenderFunc, newExec NewExecuteFunc, d errtype.Deferral, rep **run.GuardReport) (any, error) {
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
		cfg, err := render(act.Config)
		if err != nil {
			return nil, temporal.NewNonRetryableApplicationError(
				fmt.Sprintf("render fallback config: %v", err), errtype.RenderFailed, err)
		}
		freq.Type, freq.Config, freq.Guard = act.Type, cfg, ActivityGuard(act.Guard)
	default:
		return nil, temporal.NewNonRetryableApplicationError("empty fallback step", errtype.InvalidConfig, nil)
	}
	timeout := act.Timeout
	if timeout <= 0 {
		timeout = run.DefaultActionTimeout
	}
	return CallWithQuota(ctx, newExec(act, timeout), freq.Type, freq, rep)
}
