package ingest

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	"github.com/triggerd/triggerd/run"
)

// startInLane hands a run with sync actions to the lane of its trigger and
// record: one durable signal, after which the lane runs it once the
// record's earlier changes have run (docs/semantics.md).
func (s *TemporalStarter) startInLane(ctx context.Context, in run.Input) error {
	id := run.LaneWorkflowID(in.Trigger.Tag, in.Event.QualifiedTable(), in.Event.Key)
	_, err := s.client.SignalWithStartWorkflow(ctx, id, run.SignalLaneRun, in,
		client.StartWorkflowOptions{TaskQueue: s.taskQueue}, run.LaneWorkflowName, run.LaneInput{})
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

// startInBatch hands the event of a `for: all` trigger to its batch (one
// durable signal); the batch starts one run for all its events.
func (s *TemporalStarter) startInBatch(ctx context.Context, in run.Input) error {
	key := run.BatchKey(in.Event, s.Batch.Size)
	id := run.BatchWorkflowID(in.Trigger.Tag, in.Event.Source.Topic, key)
	_, err := s.client.SignalWithStartWorkflow(ctx, id, run.SignalBatchAdd, in,
		client.StartWorkflowOptions{TaskQueue: s.taskQueue}, run.BatchWorkflowName,
		run.BatchInput{Tag: in.Trigger.Tag, Topic: in.Event.Source.Topic, Key: key, Window: s.Batch.Window, Size: s.Batch.Size, Linger: s.Batch.Linger})
	if err != nil {
		return fmt.Errorf("signal batch %s: %w", id, err)
	}
	return nil
}

// CloseBatch tells the batch of trigger tag for transaction txID on topic
// that it has every event (transactions.go): it runs them now rather than
// after its window. A batch that does not exist (it closed already) is
// not an error.
func (s *TemporalStarter) CloseBatch(ctx context.Context, tag, topic, txID string) error {
	id := run.BatchWorkflowID(tag, topic, run.BatchKey(run.Event{Transaction: txID}, s.Batch.Size))
	err := s.client.SignalWorkflow(ctx, id, "", run.SignalBatchClose, nil)
	var nf *serviceerror.NotFound
	if err != nil && !errors.As(err, &nf) {
		return fmt.Errorf("signal batch %s: %w", id, err)
	}
	return nil
}
