package workflows

import (
	"fmt"
	"maps"
	"slices"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/workflow"

	"github.com/triggerd/triggerd/run"
	"github.com/triggerd/triggerd/trigger"
)

// A batch gathers the events of one `for: all` trigger that belong to one
// source transaction or offset bucket (run.BatchKey). Ingest signals each
// event to it with signal-with-start; once no event arrived for Window (or
// Size events are waiting) it starts one RunTrigger for all of them under
// the deterministic id triggerd/<tag>/batch/<topic>/<key>, with the records
// in the templates' records and previousRecords. It then lingers, so that
// an event delivered again joins nothing twice and a late one makes a
// follow-up batch (…/2, …/3).

// BatchInput is a batch's configuration and carried-over state.
type BatchInput struct {
	Tag    string        `json:"tag"`
	Topic  string        `json:"topic"`
	Key    string        `json:"key"`
	Window time.Duration `json:"window"`
	Size   int           `json:"size"`
	// Linger is how long the batch stays open after its last run, to
	// recognise redeliveries. Default 10 minutes.
	Linger  time.Duration `json:"linger"`
	Fired   int           `json:"fired"`
	Seen    []string      `json:"seen,omitempty"`
	Pending []run.Input   `json:"pending,omitempty"`
}

// Batch defaults.
const (
	DefaultBatchWindow = time.Second
	DefaultBatchSize   = 100
	DefaultBatchLinger = 10 * time.Minute
)

// Batch is the batch workflow (run.BatchWorkflowName).
func Batch(ctx workflow.Context, in BatchInput) error {
	if in.Window <= 0 {
		in.Window = DefaultBatchWindow
	}
	if in.Size <= 0 {
		in.Size = DefaultBatchSize
	}
	if in.Linger <= 0 {
		in.Linger = DefaultBatchLinger
	}
	ch := workflow.GetSignalChannel(ctx, run.SignalBatchAdd)
	seen := map[string]bool{}
	for _, id := range in.Seen {
		seen[id] = true
	}
	pending := in.Pending
	for _, p := range pending {
		seen[p.Event.ID] = true
	}
	receive := func() {
		for {
			var ev run.Input
			if !ch.ReceiveAsync(&ev) {
				return
			}
			if !seen[ev.Event.ID] {
				seen[ev.Event.ID] = true
				pending = append(pending, ev)
			}
		}
	}
	for {
		receive()
		if len(pending) == 0 {
			ok, err := workflow.AwaitWithTimeout(ctx, in.Linger, func() bool { return ch.Len() > 0 })
			if err != nil {
				return err
			}
			if !ok {
				if receive(); len(pending) == 0 {
					return nil
				}
			}
			continue
		}
		if len(pending) < in.Size {
			// Wait for the rest of the batch: Window after the last event.
			more, err := workflow.AwaitWithTimeout(ctx, in.Window, func() bool { return ch.Len() > 0 })
			if err != nil {
				return err
			}
			if more {
				continue
			}
		}
		n := min(len(pending), in.Size)
		if err := fireBatch(ctx, &in, pending[:n]); err != nil {
			return err
		}
		pending = pending[n:]
		if workflow.GetInfo(ctx).GetContinueAsNewSuggested() {
			receive()
			in.Pending, in.Seen = pending, slices.Sorted(maps.Keys(seen))
			return workflow.NewContinueAsNewError(ctx, run.BatchWorkflowName, in)
		}
	}
}

// fireBatch starts the run of evs and waits until it has started.
func fireBatch(ctx workflow.Context, in *BatchInput, evs []run.Input) error {
	first, last := evs[0], evs[len(evs)-1]
	b := &run.Batch{Key: in.Key}
	for _, e := range evs {
		b.EventIDs = append(b.EventIDs, e.Event.ID)
		b.Records = append(b.Records, e.Event.Record)
		b.PreviousRecords = append(b.PreviousRecords, e.Event.PreviousRecord)
	}
	runIn := first
	runIn.Event, runIn.ForAll, runIn.Batch = last.Event, false, b
	in.Fired++
	eventID := "batch/" + in.Topic + "/" + in.Key
	if in.Fired > 1 {
		eventID += fmt.Sprintf("/%d", in.Fired)
	}
	cctx := workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{
		WorkflowID:            run.WorkflowID(in.Tag, eventID),
		WorkflowIDReusePolicy: enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		ParentClosePolicy:     enumspb.PARENT_CLOSE_POLICY_ABANDON,
		TypedSearchAttributes: RunSearchAttributes(runIn),
	})
	// A run that exists already ran these events (a batch reopened by a
	// redelivery after it closed).
	err := workflow.ExecuteChildWorkflow(cctx, run.WorkflowName, runIn).GetChildWorkflowExecution().Get(ctx, nil)
	if err != nil && !childAlreadyStarted(err) {
		return err
	}
	return nil
}

// withBatch puts a `for: all` run's records, and the run's cascade chain,
// into its templates' scope.
func withBatch(sc *trigger.Scope, in run.Input) {
	sc.Cascade = in.Cascade
	if in.Batch != nil {
		sc.Records, sc.PreviousRecords = in.Batch.Records, in.Batch.PreviousRecords
	}
}
