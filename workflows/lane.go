package workflows

import (
	"errors"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/triggerd/triggerd/run"
	"github.com/triggerd/triggerd/run/searchattr"
)

// A lane runs the sync runs of one (trigger, record key) one after another,
// in the order ingest signalled them, which is the order of the record's
// changes in its Kafka partition. Ingest only waits for the durable signal
// (signal-with-start), so it is never blocked by a slow run; the lane is
// what serialises them.

// Lane tunables. A lane closes after laneIdle without work (signal-with-
// start opens a new one) and continues as new every laneMaxRuns runs so
// its history stays small.
const (
	laneIdle    = time.Minute
	laneMaxRuns = 200
)

// Lane is the lane workflow (run.LaneWorkflowName).
func Lane(ctx workflow.Context, in run.LaneInput) error {
	ch := workflow.GetSignalChannel(ctx, run.SignalLaneRun)
	pending := in.Pending
	done := 0
	for {
		pending = drain(ch, pending)
		if len(pending) == 0 {
			ok, err := workflow.AwaitWithTimeout(ctx, laneIdle, func() bool { return ch.Len() > 0 })
			if err != nil {
				return err
			}
			if !ok {
				// Idle: close, unless a signal slipped in (Temporal then
				// refuses the completion and replays us with it).
				if pending = drain(ch, pending); len(pending) == 0 {
					return nil
				}
			}
			continue
		}
		next := pending[0]
		pending = pending[1:]
		if err := runInLane(ctx, next); err != nil {
			return err
		}
		done++
		if done >= laneMaxRuns || workflow.GetInfo(ctx).GetContinueAsNewSuggested() {
			return workflow.NewContinueAsNewError(ctx, run.LaneWorkflowName, run.LaneInput{Pending: drain(ch, pending)})
		}
	}
}

func drain(ch workflow.ReceiveChannel, pending []run.Input) []run.Input {
	for {
		var in run.Input
		if !ch.ReceiveAsync(&in) {
			return pending
		}
		pending = append(pending, in)
	}
}

// runInLane runs in as a child RunTrigger under the run's usual workflow id
// and waits for it. A child that already exists (a signal delivered again
// after an ingest crash) ran before, in order: it is skipped.
func runInLane(ctx workflow.Context, in run.Input) error {
	cctx := workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{
		WorkflowID:            run.WorkflowID(in.Trigger.Tag, in.Event.ID),
		WorkflowIDReusePolicy: enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		ParentClosePolicy:     enumspb.PARENT_CLOSE_POLICY_ABANDON,
		TypedSearchAttributes: searchattr.ForRun(in),
	})
	fut := workflow.ExecuteChildWorkflow(cctx, run.WorkflowName, in)
	if err := fut.GetChildWorkflowExecution().Get(ctx, nil); err != nil {
		if childAlreadyStarted(err) {
			return nil
		}
		return err
	}
	// The run's own failure is the run's business (onError, runs list):
	// the lane goes on with the record's next change.
	_ = fut.Get(ctx, nil)
	return nil
}

// childAlreadyStarted reports whether starting a child failed because a
// workflow with its id exists. The server reports
// ChildWorkflowExecutionAlreadyStartedError, the SDK's test environment the
// service error.
func childAlreadyStarted(err error) bool {
	var already *temporal.ChildWorkflowExecutionAlreadyStartedError
	var svcAlready *serviceerror.WorkflowExecutionAlreadyStarted
	return errors.As(err, &already) || errors.As(err, &svcAlready)
}
