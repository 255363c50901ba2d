package workflows

import (
	"maps"
	"slices"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/workflow"

	"github.com/triggerd/triggerd/run"
	"github.com/triggerd/triggerd/run/searchattr"
	"github.com/triggerd/triggerd/trigger/template"
)

// A batch gathers the events of one `for: all` trigger that belong to one
// source transaction or offset bucket (run.BatchKey). Ingest signals each
// event to it with signal-with-start; once no event arrived for Window (or
// Size events are waiting) it starts one RunTrigger for all of them under
// the deterministic id triggerd/<tag>/batch/<topic>/<key>, with the records
// in the templates' records and previousRecords. It then lingers, so that
// an event delivered again joins nothing twice and a late one makes a
// follow-up batch (…/2, …/3). A batch reopened after it closed reads what
// its earlier runs covered (Coverage) and runs only the rest.

// Batch defaults.
const (
	DefaultBatchWindow = time.Second
	DefaultBatchSize   = 100
	DefaultBatchLinger = 10 * time.Minute
)

// Batch is the batch workflow (run.BatchWorkflowName).
func Batch(ctx workflow.Context, in run.BatchInput) error {
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
	// closeCh carries run.SignalBatchClose: ingest handed over every event
	// of the transaction, so the batch need not wait for its window. Old
	// histories have no such signal, so they replay unchanged: nothing
	// below issues a command only because of it.
	closeCh := workflow.GetSignalChannel(ctx, run.SignalBatchClose)
	closed := false
	drainClose := func() {
		for closeCh.ReceiveAsync(nil) {
			closed = true
		}
	}
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
		drainClose()
		if len(pending) == 0 {
			closed = false
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
		if len(pending) < in.Size && !closed {
			// Wait for the rest of the batch: Window after the last event,
			// unless ingest says the transaction is complete.
			more, err := workflow.AwaitWithTimeout(ctx, in.Window, func() bool { return ch.Len() > 0 || closeCh.Len() > 0 })
			if err != nil {
				return err
			}
			if more {
				continue
			}
		}
		closed = false
		n := min(len(pending), in.Size)
		covered, err := fireBatch(ctx, &in, pending[:n])
		if err != nil {
			return err
		}
		pending = pending[n:]
		if covered != nil {
			for _, id := range covered {
				seen[id] = true
			}
			pending = uncovered(pending, covered)
		}
		if workflow.GetInfo(ctx).GetContinueAsNewSuggested() {
			receive()
			in.Pending, in.Seen = pending, slices.Sorted(maps.Keys(seen))
			return workflow.NewContinueAsNewError(ctx, run.BatchWorkflowName, in)
		}
	}
}

// fireBatch starts the run of evs and waits until it has started. It
// returns the ids of events that earlier runs of the batch covered, which
// a batch reopened after it closed learns from Temporal (nil otherwise).
func fireBatch(ctx workflow.Context, in *run.BatchInput, evs []run.Input) ([]string, error) {
	var covered []string
	for {
		err := startBatchRun(ctx, in, evs)
		if err == nil || !childAlreadyStarted(err) {
			return covered, err
		}
		// The run exists: this batch closed and was reopened by a
		// redelivery. Run only the events no earlier run covered, in a
		// supplement run with the next id.
		tried := in.Fired
		cov, err := coveredByClosedRuns(ctx, in)
		if err != nil || cov == nil {
			return covered, err
		}
		in.Fired = max(cov.Runs, tried)
		covered = append(covered, cov.EventIDs...)
		if evs = uncovered(evs, cov.EventIDs); len(evs) == 0 {
			return covered, nil
		}
	}
}

// startBatchRun starts the next run of the batch, for evs.
func startBatchRun(ctx workflow.Context, in *run.BatchInput, evs []run.Input) error {
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
	cctx := workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{
		WorkflowID:            run.WorkflowID(in.Tag, batchEventID(in.Topic, in.Key, in.Fired)),
		WorkflowIDReusePolicy: enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		ParentClosePolicy:     enumspb.PARENT_CLOSE_POLICY_ABANDON,
		TypedSearchAttributes: searchattr.ForRun(runIn),
	})
	return workflow.ExecuteChildWorkflow(cctx, run.WorkflowName, runIn).GetChildWorkflowExecution().Get(ctx, nil)
}

// uncovered is evs without the events whose ids are in covered.
func uncovered(evs []run.Input, covered []string) []run.Input {
	set := make(map[string]bool, len(covered))
	for _, id := range covered {
		set[id] = true
	}
	var out []run.Input
	for _, e := range evs {
		if !set[e.Event.ID] {
			out = append(out, e)
		}
	}
	return out
}

// withBatch puts a `for: all` run's records, and the run's cascade chain,
// into its templates' scope.
func withBatch(sc *template.Scope, in run.Input) {
	sc.Cascade = in.Cascade
	if in.Batch != nil {
		sc.Records, sc.PreviousRecords = in.Batch.Records, in.Batch.PreviousRecords
	}
}
