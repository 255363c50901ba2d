package workflows

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/triggerd/triggerd/run"
	"github.com/triggerd/triggerd/run/errtype"
	"github.com/triggerd/triggerd/trigger/template"
)

// deliveryChange names the GetVersion marker of the cascade checks and
// error handlers: runs recorded before them replay without. The marker's
// value is in recorded histories: it never changes.
const deliveryChange = "semantics-cascade-onerror"

// checkCascade fails a run whose change was produced by too deep a chain
// of triggers, or by a chain in which this trigger already ran (a loop).
// A change from outside triggerd has an empty chain and is never checked.
func checkCascade(ctx workflow.Context, in run.Input, res *run.Result) error {
	chain := in.Event.Cascade
	if len(chain) == 0 || workflow.GetVersion(ctx, deliveryChange, workflow.DefaultVersion, 1) == workflow.DefaultVersion {
		return nil
	}
	limit := in.MaxCascadeDepth
	if limit <= 0 {
		limit = run.DefaultCascadeDepth
	}
	path := strings.Join(append(slices.Clone(chain), in.Trigger.Tag), " -> ")
	var typ, msg string
	switch {
	case slices.Contains(chain, in.Trigger.Tag):
		typ, msg = errtype.CascadeLoop, fmt.Sprintf("cascade loop: trigger %q already ran in this chain (%s)", in.Trigger.Tag, path)
	case len(chain)+1 > limit:
		typ, msg = errtype.CascadeDepth, fmt.Sprintf("cascade depth %d exceeds the limit %d (%s)", len(chain)+1, limit, path)
	default:
		return nil
	}
	res.Status = run.StatusFailed
	skipRest(res, in.Actions, 0)
	return temporal.NewNonRetryableApplicationError(msg, typ, nil, *res)
}

// runOnError runs the run's error handlers after failed failed the run.
// They see the failure as {{actions.failed.output.action}}, .type, .error
// and .attempts; a failing handler is recorded and does not stop the next.
func runOnError(ctx workflow.Context, render renderFunc, in run.Input, res *run.Result, failed run.ActionResult, ts time.Time, st *runState) {
	if len(in.OnError) == 0 || workflow.GetVersion(ctx, deliveryChange, workflow.DefaultVersion, 1) == workflow.DefaultVersion {
		return
	}
	outputs := map[string]any{template.FailedActionName: map[string]any{"output": map[string]any{
		"action": failed.Name, "type": failed.Type, "error": failed.Error, "attempts": failed.Attempts,
	}}}
	for i, act := range in.OnError {
		name := "onError/" + actionName(act, i)
		ar := run.ActionResult{Name: name, Type: act.Type}
		out, notes, attempts, err := runAction(ctx, render, in, act, name, ts, outputs, st.wfID, st.runID, &ar.Guard)
		ar.Notes, ar.Attempts = notes, attempts
		if err != nil {
			ar.Status, ar.Error = run.StatusFailed, errtype.Message(err)
		} else {
			ar.Status = run.StatusSucceeded
			ar.Output, ar.OutputBytes = summarizeOutput(out)
			outputs[actionName(act, i)] = map[string]any{"output": out}
		}
		res.OnError = append(res.OnError, ar)
	}
}
