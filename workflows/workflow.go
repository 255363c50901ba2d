package workflows

import (
	"errors"
	"fmt"
	"strings"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/triggerd/triggerd/fallbacks"
	"github.com/triggerd/triggerd/run"
	"github.com/triggerd/triggerd/run/errtype"
	"github.com/triggerd/triggerd/trigger/template"
)

// StatusCompletedWithErrors is the status of a run in which an action with
// continueOnError failed but every other action ran.
const StatusCompletedWithErrors = "completed_with_errors"

// Register registers RunTrigger under run.WorkflowName (and GateDecision
// under run.GateWorkflowName).
func Register(r worker.WorkflowRegistry) {
	r.RegisterWorkflowWithOptions(RunTrigger, workflowRegisterOptions())
	registerGate(r) // gate.go
	registerDeliveryWorkflows(r)
}

// RunTrigger runs in's actions in order and returns what each one did.
func RunTrigger(ctx workflow.Context, in run.Input) (run.Result, error) {
	return runTrigger(ctx, in, template.RenderConfigTrace)
}

// renderFunc is template.RenderConfigTrace's signature: the rendered config
// and notes on what did not resolve (a missing field). Tests pass a
// recording one.
type renderFunc func(cfg map[string]any, scope template.Scope) (map[string]any, []string, error)

func runTrigger(ctx workflow.Context, in run.Input, render renderFunc) (run.Result, error) {
	if in.Recorded != nil {
		// A run a delivery workflow carried and that failed (batched.go):
		// its failure, under its own id, for listing and re-running.
		return recordedFailure(in)
	}
	exec := workflow.GetInfo(ctx).WorkflowExecution
	st := newRunState(exec.ID, exec.RunID)
	// The whole output of each action, when the result only summarises
	// it. A query adds no event to the history.
	if err := workflow.SetQueryHandler(ctx, run.QueryOutput, st.output); err != nil {
		return run.Result{}, err
	}
	return runActions(ctx, render, in, st)
}

// runState is what one logical run keeps while it runs: its ids and the
// outputs of its actions so far.
type runState struct {
	wfID, runID string
	// outputs holds actions.<name> of the templates: {"output": out} of
	// each action that succeeded, whole.
	outputs map[string]any
}

func newRunState(wfID, runID string) *runState {
	return &runState{wfID: wfID, runID: runID, outputs: map[string]any{}}
}

// output answers run.QueryOutput: the whole output of the named action.
func (st *runState) output(action string) (any, error) {
	o, ok := st.outputs[action].(map[string]any)
	if !ok {
		return nil, fmt.Errorf("no output of action %q (it did not succeed, or no such action)", action)
	}
	return o["output"], nil
}

// runActions runs one logical run: the run's actions in order, under the
// workflow id st.wfID, which names the run and keys its actions'
// idempotency. RunTrigger runs one per workflow; a delivery workflow runs
// many side by side (delivery.go).
func runActions(ctx workflow.Context, render renderFunc, in run.Input, st *runState) (run.Result, error) {
	res := run.Result{
		Trigger:   in.Trigger,
		EventID:   in.Event.ID,
		EventName: in.EventName,
		Status:    run.StatusSucceeded,
		Actions:   make([]run.ActionResult, 0, len(in.Actions)),
		Notes:     runNotes(in),
	}
	ts := in.Event.Timestamp
	if ts.IsZero() {
		ts = workflow.Now(ctx)
	}
	if err := checkCascade(ctx, in, &res); err != nil {
		return res, err
	}

	for i, act := range in.Actions {
		name := actionName(act, i)
		ar := run.ActionResult{Name: name, Type: act.Type}
		out, notes, attempts, err := runAction(ctx, render, in, act, name, ts, st.outputs, st.wfID, st.runID, &ar.Guard)
		ar.Notes = notes
		if err == nil {
			ar.Status = fallbacks.Status(ar)
			ar.Output, ar.OutputBytes = summarizeOutput(out)
			ar.Attempts = attempts
			st.outputs[name] = map[string]any{"output": out}
			res.Actions = append(res.Actions, ar)
			continue
		}
		ar.Status = run.StatusFailed
		ar.Error = errtype.Message(err)
		ar.Attempts = attempts
		res.Actions = append(res.Actions, ar)
		if temporal.IsCanceledError(err) {
			// The run itself was cancelled: nothing is left to decide.
			res.Status = run.StatusFailed
			skipRest(&res, in.Actions, i+1)
			return res, err
		}
		if act.ContinueOnError {
			res.Status = StatusCompletedWithErrors
			continue
		}
		res.Status = run.StatusFailed
		skipRest(&res, in.Actions, i+1)
		runOnError(ctx, render, in, &res, ar, ts, st)
		return res, temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("action %q (%s) failed: %s", name, act.Type, ar.Error),
			errtype.ActionFailed, err, res)
	}
	return res, nil
}

// runAction renders one action's config and executes its activity. It
// returns the decoded output, or the failure, the render notes and the
// attempts made.
func runAction(ctx workflow.Context, render renderFunc, in run.Input, act run.Action, name string, ts time.Time,
	outputs map[string]any, wfID, runID string, guard **run.GuardReport) (any, []string, int32, error) {
	scope := template.Scope{
		Record:         in.Event.Record,
		PreviousRecord: in.Event.PreviousRecord,
		Event:          in.EventName,
		Table:          in.Event.Table,
		Database:       in.Event.Database,
		Operation:      string(in.Event.Operation),
		Timestamp:      ts,
		Env:            in.Env,
		User:           in.Event.User,
		Trigger:        in.Trigger,
		// The workflow id, not Temporal's run id: it names the trigger run
		// and is stable, which is what templates use it for (dedupe keys).
		RunID:   wfID,
		Actions: copyOutputs(outputs),
		// What the event does not carry renders as the trigger says.
		Unavailable: in.Event.Unavailable,
		OnUnknown:   in.OnUnknown,
	}
	withBatch(&scope, in)
	cfg, notes, err := render(act.Config, scope)
	if err != nil {
		return nil, notes, 0, temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("render config: %v", err), errtype.RenderFailed, err)
	}
	if isChildAction(act.Type) {
		out, err := runChild(ctx, act, cfg, name, wfID)
		return out, notes, 0, err
	}
	timeout := act.Timeout
	if timeout <= 0 {
		timeout = run.DefaultActionTimeout
	}
	hb := heartbeatTimeout(ctx, in, timeout)
	req := run.ActionRequest{
		WorkflowID:     wfID,
		RunID:          runID,
		TriggerTag:     in.Trigger.Tag,
		ActionName:     name,
		Type:           act.Type,
		Config:         cfg,
		IdempotencyKey: wfID + "/" + name,
		Guard:          fallbacks.ActivityGuard(act.Guard),
		Cascade:        in.Cascade,
	}
	if act.Timing == run.TimingQueued {
		out, err := enqueue(ctx, act, req, hb)
		return out, notes, 0, err
	}
	// A custom function is handed the event, and so is storage.upload (its
	// content may be a record field, dataField).
	if act.Type == run.TypeCustom || act.Type == run.TypeStorageUpload {
		req.Context = eventContext(in, outputs)
	}
	call := newActionCall(act, timeout, hb) // local.go
	renderFallback := func(cfg map[string]any) (map[string]any, error) {
		out, _, err := render(cfg, scope)
		return out, err
	}
	out, err := fallbacks.ExecuteGuarded(ctx, call.execute, act, req, renderFallback, fallbackCall, guard)
	if err != nil {
		return nil, notes, attemptsOf(err, act.Retry), err
	}
	return out, notes, 0, nil
}

// runNotes are the event's and the input's notes, which the result
// carries so that a run says what decoding and planning found doubtful.
func runNotes(in run.Input) []string {
	if len(in.Event.Notes)+len(in.Notes) == 0 {
		return nil
	}
	return append(append([]string(nil), in.Event.Notes...), in.Notes...)
}

// actionName is the action's name, or for an unnamed one its type and
// position, so that idempotency keys and actions.<name> stay distinct.
func actionName(a run.Action, i int) string {
	if a.Name != "" {
		return a.Name
	}
	return fmt.Sprintf("%s#%d", a.Type, i+1)
}

func skipRest(res *run.Result, actions []run.Action, from int) {
	for j := from; j < len(actions); j++ {
		res.Actions = append(res.Actions, run.ActionResult{
			Name: actionName(actions[j], j), Type: actions[j].Type, Status: run.StatusSkipped,
		})
	}
}

// copyOutputs gives each render its own top-level map, so that a renderer
// that keeps or mutates its scope cannot change what later actions see.
func copyOutputs(m map[string]any) map[string]any {
	c := make(map[string]any, len(m))
	for k, v := range m { // copying only: order does not matter
		c[k] = v
	}
	return c
}

// attemptsOf reports how many attempts a failed activity made: the attempt
// the activity worker attached to its error (errtype.Details), else the
// maximum when Temporal says the attempts ran out, else 0 (unknown).
func attemptsOf(err error, p run.RetryPolicy) int32 {
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) && appErr.HasDetails() {
		var d errtype.Details
		if appErr.Details(&d) == nil && d.Attempt > 0 {
			return d.Attempt
		}
	}
	var actErr *temporal.ActivityError
	if errors.As(err, &actErr) {
		switch actErr.RetryState() {
		case enumspb.RETRY_STATE_MAXIMUM_ATTEMPTS_REACHED:
			return RetryPolicy(p).MaximumAttempts
		case enumspb.RETRY_STATE_NON_RETRYABLE_FAILURE, enumspb.RETRY_STATE_RETRY_POLICY_NOT_SET:
			if RetryPolicy(p).MaximumAttempts == 1 {
				return 1
			}
		}
	}
	return 0
}

// RetryPolicy maps an action's retry configuration onto Temporal's, filling
// unset fields with the package defaults and turning retryOn into the deny
// list described in the package doc.
func RetryPolicy(p run.RetryPolicy) *temporal.RetryPolicy {
	rp := &temporal.RetryPolicy{
		InitialInterval:    p.InitialInterval,
		BackoffCoefficient: p.BackoffCoefficient,
		MaximumInterval:    p.MaxInterval,
		MaximumAttempts:    int32(p.MaxAttempts),
	}
	if rp.MaximumAttempts <= 0 {
		rp.MaximumAttempts = run.DefaultMaxAttempts
	}
	if rp.InitialInterval <= 0 {
		rp.InitialInterval = run.DefaultInitialInterval
	}
	if rp.BackoffCoefficient < 1 {
		rp.BackoffCoefficient = run.DefaultBackoffCoefficient
	}
	if rp.MaximumInterval <= 0 {
		rp.MaximumInterval = run.DefaultMaxInterval
	}
	if rp.MaximumInterval < rp.InitialInterval {
		// Temporal rejects such a policy when it schedules the activity.
		rp.MaximumInterval = rp.InitialInterval
	}
	rp.NonRetryableErrorTypes = append(rp.NonRetryableErrorTypes, errtype.Permanent()...)
	if len(p.RetryOn) > 0 {
		for _, t := range errtype.Retryable() {
			if !retryOnNames(p.RetryOn, t) {
				rp.NonRetryableErrorTypes = append(rp.NonRetryableErrorTypes, t)
			}
		}
	}
	return rp
}

func retryOnNames(retryOn []string, typ string) bool {
	for _, r := range retryOn {
		if r != "" && strings.Contains(strings.ToUpper(typ), strings.ToUpper(r)) {
			return true
		}
	}
	return false
}

// ResultFromError returns the run.Result carried by the error of a run that
// failed on an action (errtype.ActionFailed), as a client sees it from
// WorkflowRun.Get.
func ResultFromError(err error) (run.Result, bool) {
	var appErr *temporal.ApplicationError
	if !errors.As(err, &appErr) || appErr.Type() != errtype.ActionFailed || !appErr.HasDetails() {
		return run.Result{}, false
	}
	var res run.Result
	if appErr.Details(&res) != nil {
		return run.Result{}, false
	}
	return res, true
}

func workflowRegisterOptions() workflow.RegisterOptions {
	return workflow.RegisterOptions{Name: run.WorkflowName}
}
