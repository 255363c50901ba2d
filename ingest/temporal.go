package ingest

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"

	"github.com/triggerd/triggerd/run"
	"github.com/triggerd/triggerd/run/searchattr"
)

// workflowClient is the part of client.Client the TemporalStarter uses:
// it starts runs, feeds lanes, batches and delivery workflows
// (signal-with-start), closes batches (a signal) and asks a delivery
// workflow its backlog (a query).
type workflowClient interface {
	ExecuteWorkflow(ctx context.Context, options client.StartWorkflowOptions, workflow any, args ...any) (client.WorkflowRun, error)
	SignalWithStartWorkflow(ctx context.Context, workflowID, signalName string, signalArg any,
		options client.StartWorkflowOptions, workflow any, workflowArgs ...any) (client.WorkflowRun, error)
	SignalWorkflow(ctx context.Context, workflowID, runID, signalName string, arg any) error
	QueryWorkflow(ctx context.Context, workflowID, runID, queryType string, args ...any) (converter.EncodedValue, error)
}

// TemporalStarter starts each run as a Temporal workflow whose id is
// derived from the trigger and the event, so that starting the same run
// twice is a no-op.
type TemporalStarter struct {
	client    workflowClient
	taskQueue string
	// Batch configures the batches of `for: all` triggers.
	Batch BatchOptions
	// delivery coalesces the signals of batched delivery (batched.go).
	delivery deliverySignals
	// eager asks for eager workflow start (WithColocatedWorker).
	eager bool
}

// StarterOption configures a TemporalStarter.
type StarterOption func(*TemporalStarter)

// WithColocatedWorker says that a worker of the starter's task queue runs
// in this process on the same client (`triggerd serve`). The starter then
// asks for eager workflow start: Temporal returns the run's first
// workflow task in the start's response and the local worker runs it at
// once, saving the server a dispatch through matching and the run a poll
// round trip. When no local worker has a free workflow-task slot (or it
// has not started, or has stopped) the SDK makes a normal start, and so
// it does against a server with eager start disabled
// (system.enableEagerWorkflowStart). Runs that start by signal (sync
// lanes, `for: all` batches) are never eager: signal-with-start has no
// eager form.
//
// Eager start does not change the id semantics: a run whose id exists
// (running: USE_EXISTING; closed: REJECT_DUPLICATE) is not started again
// and its start is a success, with no task returned.
//
// Without this option starts are normal; use it only when the client is
// the worker's (the SDK matches a local worker by client and task queue).
func WithColocatedWorker() StarterOption { return func(s *TemporalStarter) { s.eager = true } }

// NewTemporalStarter returns a Starter that starts run.WorkflowName on
// taskQueue through c.
func NewTemporalStarter(c client.Client, taskQueue string, opts ...StarterOption) *TemporalStarter {
	s := &TemporalStarter{client: c, taskQueue: taskQueue}
	for _, o := range opts {
		o(s)
	}
	return s
}

// Start starts the workflow of in. It returns nil once the start is
// durable, including when a run with the same id is running or already
// ran. An error means the start is not known to be durable: a
// *RejectedError when Temporal refused it for good (classifyStartError),
// else a transient error to retry.
func (s *TemporalStarter) Start(ctx context.Context, in run.Input) error {
	var err error
	switch {
	case in.BatchedDelivery != nil:
		return s.startBatched(ctx, in) // batched.go
	case in.ForAll:
		err = s.startInBatch(ctx, in)
	case in.HasSync():
		err = s.startInLane(ctx, in)
	default:
		opts := startOptions(in, s.taskQueue)
		opts.EnableEagerStart = s.eager
		_, err = s.client.ExecuteWorkflow(ctx, opts, run.WorkflowName, in)
		if err == nil || isAlreadyStarted(err) {
			return nil
		}
		err = fmt.Errorf("start workflow %s: %w", run.WorkflowID(in.Trigger.Tag, in.Event.ID), err)
	}
	return classifyStartError(err)
}

// classifyStartError marks the errors that starting the same run again
// cannot fix as *RejectedError; the message then goes to the DLQ and its
// partition moves on. They are errors about the request itself: a payload
// over the server's blob size limit (InvalidArgument "Blob data size
// exceeds limit"), a request over the gRPC message size limit, any other
// invalid argument, an unknown namespace, a value the data converter
// cannot serialise. Everything else (Unavailable, DeadlineExceeded,
// ResourceExhausted by rate limits, Internal, PermissionDenied, a blob
// store that cannot be reached, ...) is an outage of something the
// operator can fix, and is retried: the partition waits rather than
// dead-letters every event.
func classifyStartError(err error) error {
	if err == nil || IsRejected(err) {
		return err
	}
	var invalid *serviceerror.InvalidArgument
	var nsNotFound *serviceerror.NamespaceNotFound
	var exhausted *serviceerror.ResourceExhausted
	switch {
	case errors.As(err, &invalid):
		if strings.Contains(strings.ToLower(invalid.Message), "size exceeds limit") {
			return &RejectedError{Reason: "over Temporal's payload size limit (large events pass by reference when temporal.largePayloads.storage is set)", Err: err}
		}
		return &RejectedError{Reason: "invalid argument", Err: err}
	case errors.As(err, &nsNotFound):
		return &RejectedError{Reason: "unknown namespace", Err: err}
	case errors.As(err, &exhausted) && strings.Contains(exhausted.Message, "larger than max"):
		// The SDK turns gRPC statuses into serviceerrors, a request
		// over the client's or the server's message size included.
		return &RejectedError{Reason: "over the gRPC message size limit", Err: err}
	case errors.Is(err, converter.ErrUnableToEncode):
		return &RejectedError{Reason: "cannot be serialised", Err: err}
	}
	return err
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
		TypedSearchAttributes:    searchattr.ForRun(in),
		Memo:                     map[string]any{"summary": summary},
		StaticSummary:            summary,
	}
}

// isAlreadyStarted reports whether err says a workflow with the id exists
// (running, or closed under REJECT_DUPLICATE), i.e. the start is a
// duplicate that is already durable.
func isAlreadyStarted(err error) bool {
	var already *serviceerror.WorkflowExecutionAlreadyStarted
	return errors.As(err, &already) || temporal.IsWorkflowExecutionAlreadyStartedError(err)
}
