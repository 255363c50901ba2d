package ingest

import (
	"context"
	"errors"
	"fmt"

	"go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/triggerd/triggerd/run"
)

// Search attribute keys set on every run (all registered as Keyword).
var (
	saTriggerTag = temporal.NewSearchAttributeKeyKeyword(run.SearchAttrTriggerTag)
	saTable      = temporal.NewSearchAttributeKeyKeyword(run.SearchAttrTable)
	saEvent      = temporal.NewSearchAttributeKeyKeyword(run.SearchAttrEvent)
	saRecordKey  = temporal.NewSearchAttributeKeyKeyword(run.SearchAttrRecordKey)
)

// workflowExecutor is the part of client.Client the TemporalStarter uses.
type workflowExecutor interface {
	ExecuteWorkflow(ctx context.Context, options client.StartWorkflowOptions, workflow any, args ...any) (client.WorkflowRun, error)
}

// TemporalStarter starts each run as a Temporal workflow whose id is
// derived from the trigger and the event, so that starting the same run
// twice is a no-op.
type TemporalStarter struct {
	client    workflowExecutor
	taskQueue string
	// Batch configures the batches of `for: all` triggers.
	Batch BatchOptions
}

// NewTemporalStarter returns a Starter that starts run.WorkflowName on
// taskQueue through c.
func NewTemporalStarter(c client.Client, taskQueue string) *TemporalStarter {
	return &TemporalStarter{client: c, taskQueue: taskQueue}
}

// Start starts the workflow of in. It returns nil once the start is
// durable, including when a run with the same id is running or already
// ran; an error means the start is not known to be durable and must be
// retried.
func (s *TemporalStarter) Start(ctx context.Context, in run.Input) error {
	if in.ForAll {
		return s.startInBatch(ctx, in)
	}
	if in.HasSync() {
		return s.startInLane(ctx, in)
	}
	_, err := s.client.ExecuteWorkflow(ctx, startOptions(in, s.taskQueue), run.WorkflowName, in)
	if err == nil || isAlreadyStarted(err) {
		return nil
	}
	return fmt.Errorf("start workflow %s: %w", run.WorkflowID(in.Trigger.Tag, in.Event.ID), err)
}

func startOptions(in run.Input, taskQueue string) client.StartWorkflowOptions {
	table := in.Event.QualifiedTable()
	summary := fmt.Sprintf("%s on %s %s key=%s", in.Trigger.Tag, table, in.Event.Operation, in.Event.Key)
	return client.StartWorkflowOptions{
		ID:        run.WorkflowID(in.Trigger.Tag, in.Event.ID),
		TaskQueue: taskQueue,
		// A closed run with this id means the trigger already ran for this
		// change: never run it again. A running one is the same run
		// started by an earlier delivery: attach to it.
		WorkflowIDReusePolicy:    enums.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		WorkflowIDConflictPolicy: enums.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
		TypedSearchAttributes: temporal.NewSearchAttributes(
			saTriggerTag.ValueSet(in.Trigger.Tag),
			saTable.ValueSet(table),
			saEvent.ValueSet(in.EventName),
			saRecordKey.ValueSet(in.Event.Key),
		),
		Memo:          map[string]any{"summary": summary},
		StaticSummary: summary,
	}
}

// isAlreadyStarted reports whether err says a workflow with the id exists
// (running, or closed under REJECT_DUPLICATE), i.e. the start is a
// duplicate that is already durable.
func isAlreadyStarted(err error) bool {
	var already *serviceerror.WorkflowExecutionAlreadyStarted
	return errors.As(err, &already) || temporal.IsWorkflowExecutionAlreadyStartedError(err)
}
