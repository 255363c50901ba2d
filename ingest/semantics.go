package ingest

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/segmentio/kafka-go"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	"github.com/triggerd/triggerd/run"
)

// applyHeaders applies the message's delivery headers to its events: a
// HeaderSkipTriggers header drops them all (an import that must not run
// triggers), a FieldSkipTriggers field in a record drops that event, and
// HeaderCascade (or, for a change written by a database action, the
// FieldCascade column, unless it is stale: see markerCascade) gives each
// the cascade chain of the run that produced it. A value that does not
// parse (headers.go) is an error: the message goes to the DLQ.
func applyHeaders(msg kafka.Message, events []run.Event) ([]run.Event, error) {
	h, err := parseHeaders(msg)
	if err != nil || h.skip {
		return nil, err
	}
	out := events[:0]
	for _, ev := range events {
		if v, ok := ev.Record[run.FieldSkipTriggers]; ok {
			skip, err := skipField(v)
			if err != nil {
				return nil, fmt.Errorf("record field %s: %w", run.FieldSkipTriggers, err)
			}
			if skip {
				continue
			}
		}
		switch {
		case len(h.chain) > 0:
			ev.Cascade = h.chain
		case ev.Record[run.FieldCascade] != nil:
			// A database write by a run: its marker column.
			chain, err := markerCascade(ev)
			if err != nil {
				return nil, fmt.Errorf("record field %s: %w", run.FieldCascade, err)
			}
			ev.Cascade = chain
		}
		out = append(out, ev)
	}
	return out, nil
}

// signalStarter is the part of client.Client that feeds lanes.
type signalStarter interface {
	SignalWithStartWorkflow(ctx context.Context, workflowID, signalName string, signalArg any,
		options client.StartWorkflowOptions, workflow any, workflowArgs ...any) (client.WorkflowRun, error)
}

// laneInput is the lane workflow's (empty) start argument; it mirrors
// workflows.LaneInput, which ingest does not import.
type laneInput struct {
	Pending []run.Input `json:"pending,omitempty"`
}

// startInLane hands a run with sync actions to the lane of its trigger and
// record: one durable signal, after which the lane runs it once the
// record's earlier changes have run (docs/semantics.md).
func (s *TemporalStarter) startInLane(ctx context.Context, in run.Input) error {
	ss, ok := s.client.(signalStarter)
	if !ok {
		return fmt.Errorf("start lane: client cannot signal-with-start")
	}
	id := run.LaneWorkflowID(in.Trigger.Tag, in.Event.QualifiedTable(), in.Event.Key)
	_, err := ss.SignalWithStartWorkflow(ctx, id, run.SignalLaneRun, in,
		client.StartWorkflowOptions{TaskQueue: s.taskQueue}, run.LaneWorkflowName, laneInput{})
	if err != nil {
		return fmt.Errorf("signal lane %s: %w", id, err)
	}
	return nil
}

// BatchOptions configure the batches of `for: all` triggers.
type BatchOptions struct {
	// Size is the most events in one batch, and the size of the offset
	// buckets that make a batch when events carry no transaction id.
	Size int
	// Window is how long a batch waits after its last event for more.
	Window time.Duration
	// Linger is how long a batch stays open after its last run.
	Linger time.Duration
}

// batchInput mirrors workflows.BatchInput, which ingest does not import.
type batchInput struct {
	Tag    string        `json:"tag"`
	Topic  string        `json:"topic"`
	Key    string        `json:"key"`
	Window time.Duration `json:"window"`
	Size   int           `json:"size"`
	Linger time.Duration `json:"linger,omitempty"`
}

// startInBatch hands the event of a `for: all` trigger to its batch (one
// durable signal); the batch starts one run for all its events.
func (s *TemporalStarter) startInBatch(ctx context.Context, in run.Input) error {
	ss, ok := s.client.(signalStarter)
	if !ok {
		return fmt.Errorf("start batch: client cannot signal-with-start")
	}
	key := run.BatchKey(in.Event, s.Batch.Size)
	id := run.BatchWorkflowID(in.Trigger.Tag, in.Event.Source.Topic, key)
	_, err := ss.SignalWithStartWorkflow(ctx, id, run.SignalBatchAdd, in,
		client.StartWorkflowOptions{TaskQueue: s.taskQueue}, run.BatchWorkflowName,
		batchInput{Tag: in.Trigger.Tag, Topic: in.Event.Source.Topic, Key: key, Window: s.Batch.Window, Size: s.Batch.Size, Linger: s.Batch.Linger})
	if err != nil {
		return fmt.Errorf("signal batch %s: %w", id, err)
	}
	return nil
}

// workflowSignaler is the part of client.Client that closes batches.
type workflowSignaler interface {
	SignalWorkflow(ctx context.Context, workflowID, runID, signalName string, arg any) error
}

// CloseBatch tells the batch of trigger tag for transaction txID on topic
// that it has every event (transactions.go): it runs them now rather than
// after its window. A batch that does not exist (it closed already) is
// not an error.
func (s *TemporalStarter) CloseBatch(ctx context.Context, tag, topic, txID string) error {
	sg, ok := s.client.(workflowSignaler)
	if !ok {
		return fmt.Errorf("close batch: client cannot signal")
	}
	id := run.BatchWorkflowID(tag, topic, run.BatchKey(run.Event{Transaction: txID}, s.Batch.Size))
	err := sg.SignalWorkflow(ctx, id, "", run.SignalBatchClose, nil)
	var nf *serviceerror.NotFound
	if err != nil && !errors.As(err, &nf) {
		return fmt.Errorf("signal batch %s: %w", id, err)
	}
	return nil
}
