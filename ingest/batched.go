package ingest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	"github.com/triggerd/triggerd/run"
	"github.com/triggerd/triggerd/run/searchattr"
)

// Batched delivery (a trigger's delivery.batch, run.BatchedDelivery): the
// run is not started as a workflow of its own but signalled to the
// trigger's delivery workflow for the event's partition
// (run.DeliveryWorkflowID), which runs many side by side. The signal is
// durable once SignalWithStartWorkflow returns, and only then is the
// message done, as for a start.
//
// Runs bound for the same delivery workflow while a signal to it is in
// flight share the next signal (group commit): a partition with several
// messages in its window, or several partitions of one process, make one
// signal per round trip rather than one per event, which is where most of
// the server's work per event went.
//
// A signal is durable long before its runs have run, so ingest could hand
// a delivery workflow a whole backlog at once and grow its history past
// Temporal's limits. Flow control: ingest counts what it handed over since
// it last asked, and before that would pass run.DeliveryBacklogLimit it
// asks the workflow its backlog (run.QueryBacklog) and waits until it is
// down to half the limit (or done draining before it continues as new).

// maxSignalInputs bounds the inputs of one delivery signal. A signal over
// Temporal's payload limit is sent again one input per signal, so that
// only the input that is too large on its own is refused.
const maxSignalInputs = 100

// deliverySignals coalesces the runs signalled to each delivery workflow.
// Its zero value is ready to use.
type deliverySignals struct {
	mu     sync.Mutex
	queues map[string]*deliveryQueue // by workflow id
}

// deliveryQueue holds the runs waiting for the next signal to one
// delivery workflow; sending is true while a goroutine sends them.
type deliveryQueue struct {
	waiting []*deliveryRequest
	sending bool
	// handed is the workflow's backlog as far as this process knows: what
	// it reported when last asked plus what was signalled since.
	handed int
}

type deliveryRequest struct {
	in   run.Input
	done chan error // buffered: the sender never blocks on it
}

// startBatched hands in to its delivery workflow and returns once the
// signal carrying it is durable.
func (s *TemporalStarter) startBatched(ctx context.Context, in run.Input) error {
	id := run.DeliveryWorkflowID(in.Trigger.Tag, in.Event.Source.Topic, in.Event.Source.Partition)
	req := &deliveryRequest{in: in, done: make(chan error, 1)}
	d := &s.delivery
	d.mu.Lock()
	if d.queues == nil {
		d.queues = map[string]*deliveryQueue{}
	}
	q := d.queues[id]
	if q == nil {
		q = &deliveryQueue{}
		d.queues[id] = q
	}
	q.waiting = append(q.waiting, req)
	if !q.sending {
		q.sending = true
		go s.sendDeliveries(id, q)
	}
	d.mu.Unlock()
	select {
	case err := <-req.done:
		return err
	case <-ctx.Done():
		// The signal may still be sent: the run is then taken once,
		// and the message, not done, is read again and dropped by the
		// delivery workflow as one it has seen.
		return ctx.Err()
	}
}

// sendDeliveries sends q's waiting runs, up to maxSignalInputs a signal,
// until none is left.
func (s *TemporalStarter) sendDeliveries(id string, q *deliveryQueue) {
	d := &s.delivery
	for {
		d.mu.Lock()
		n := min(len(q.waiting), maxSignalInputs)
		if n == 0 {
			// The queue stays (one per delivery workflow this process
			// feeds): it keeps the backlog estimate.
			q.sending = false
			d.mu.Unlock()
			return
		}
		reqs := q.waiting[:n:n]
		q.waiting = q.waiting[n:]
		d.mu.Unlock()

		limit := run.DeliveryBacklogLimit(reqs[0].in.BatchedDelivery.Max)
		var err error
		if q.handed+n > limit {
			q.handed, err = s.awaitDeliveryRoom(id, limit)
		}
		if err == nil {
			q.handed += n
			err = s.signalDelivery(id, reqs)
		}
		if err != nil && len(reqs) > 1 && IsRejected(err) {
			// Refused for its size, most likely: each on its own, so
			// that only a run too large by itself is refused.
			for _, r := range reqs {
				r.done <- s.signalDelivery(id, []*deliveryRequest{r})
			}
			continue
		}
		for _, r := range reqs {
			r.done <- err
		}
	}
}

// awaitDeliveryRoom waits until delivery workflow id holds at most half
// of limit runs and is not draining, and returns what it holds. A
// workflow that does not exist holds nothing. It gives up after
// deliverySignalTimeout (the worker may be down): the runs waiting are
// then not done, and ingest tries them again.
func (s *TemporalStarter) awaitDeliveryRoom(id string, limit int) (int, error) {
	ctx, cancel := context.WithTimeout(context.Background(), deliverySignalTimeout)
	defer cancel()
	pause := 50 * time.Millisecond
	for {
		v, err := s.client.QueryWorkflow(ctx, id, "", run.QueryBacklog)
		var nf *serviceerror.NotFound
		if errors.As(err, &nf) {
			return 0, nil
		}
		var b run.DeliveryBacklog
		if err == nil {
			err = v.Get(&b)
		}
		if err != nil {
			return 0, fmt.Errorf("ask delivery %s its backlog: %w", id, err)
		}
		if held := b.Pending + b.InFlight; !b.Draining && held <= limit/2 {
			return held, nil
		}
		select {
		case <-ctx.Done():
			return 0, fmt.Errorf("delivery %s is still full (%d runs held, draining %v): %w", id, b.Pending+b.InFlight, b.Draining, ctx.Err())
		case <-time.After(pause):
		}
		pause = min(2*pause, time.Second)
	}
}

// deliverySignalTimeout bounds one signal-with-start: a caller whose
// context ends stops waiting, but the signal carries the runs of others.
const deliverySignalTimeout = 30 * time.Second

// signalDelivery signals reqs' inputs to delivery workflow id, starting
// it if it is not running.
func (s *TemporalStarter) signalDelivery(id string, reqs []*deliveryRequest) error {
	ins := make([]run.Input, len(reqs))
	for i, r := range reqs {
		ins[i] = r.in
	}
	first := ins[0]
	ctx, cancel := context.WithTimeout(context.Background(), deliverySignalTimeout)
	defer cancel()
	summary := fmt.Sprintf("batched delivery of %s for %s[%d]", first.Trigger.Tag, first.Event.Source.Topic, first.Event.Source.Partition)
	_, err := s.client.SignalWithStartWorkflow(ctx, id, run.SignalDeliver, ins, client.StartWorkflowOptions{
		ID:                    id,
		TaskQueue:             s.taskQueue,
		TypedSearchAttributes: searchattr.ForTrigger(first.Trigger.Tag, first.Event.QualifiedTable()),
		StaticSummary:         summary,
	}, run.DeliveryWorkflowName, run.DeliveryInput{
		Tag: first.Trigger.Tag, Topic: first.Event.Source.Topic, Partition: first.Event.Source.Partition, Linger: s.Batch.Linger,
	})
	if err != nil {
		return classifyStartError(fmt.Errorf("signal delivery %s: %w", id, err))
	}
	return nil
}
