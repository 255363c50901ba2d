package ingest

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"

	"github.com/triggerd/triggerd/run"
)

// fakeDeliverySignaler records the delivery signals; each call waits for a value
// on release when it is set, and fails with tooBig when it carries more
// than one input and tooBig is set.
type fakeDeliverySignaler struct {
	fakeExecutor
	mu      sync.Mutex
	signals [][]run.Input
	ids     []string
	opts    []client.StartWorkflowOptions
	args    []any
	release chan struct{}
	tooBig  bool
	// backlogs are the answers to the backlog query, in turn; none: the
	// workflow does not exist.
	backlogs []run.DeliveryBacklog
	queries  int
}

func (f *fakeDeliverySignaler) QueryWorkflow(_ context.Context, id, _, query string, _ ...any) (converter.EncodedValue, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if query != run.QueryBacklog {
		return nil, fmt.Errorf("unexpected query %s", query)
	}
	f.queries++
	if len(f.backlogs) == 0 {
		return nil, serviceerror.NewNotFound("workflow not found")
	}
	b := f.backlogs[0]
	if len(f.backlogs) > 1 {
		f.backlogs = f.backlogs[1:]
	}
	p, err := converter.GetDefaultDataConverter().ToPayload(b)
	if err != nil {
		return nil, err
	}
	return encodedValue{p}, nil
}

// encodedValue is a query answer as the client returns it.
type encodedValue struct{ p *commonpb.Payload }

func (v encodedValue) HasValue() bool { return v.p != nil }
func (v encodedValue) Get(ptr any) error {
	return converter.GetDefaultDataConverter().FromPayload(v.p, ptr)
}

func (f *fakeDeliverySignaler) SignalWithStartWorkflow(_ context.Context, id, signal string, arg any,
	opts client.StartWorkflowOptions, _ any, args ...any) (client.WorkflowRun, error) {
	if f.release != nil {
		<-f.release
	}
	ins := arg.([]run.Input)
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.tooBig && len(ins) > 1 {
		return nil, serviceerror.NewInvalidArgument("Blob data size exceeds limit.")
	}
	f.signals = append(f.signals, ins)
	f.ids = append(f.ids, id)
	f.opts = append(f.opts, opts)
	f.args = append(f.args, args...)
	return nil, nil
}

func (f *fakeDeliverySignaler) eventIDs() [][]string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out [][]string
	for _, s := range f.signals {
		var ids []string
		for _, in := range s {
			ids = append(ids, in.Event.ID)
		}
		out = append(out, ids)
	}
	return out
}

func batchedInput(id string, partition int) run.Input {
	return run.Input{
		Trigger: run.TriggerRef{Tag: "hot"}, EventName: "afterInsert",
		Event:           run.Event{ID: id, Schema: "public", Table: "orders", Source: run.Source{Topic: "db.orders", Partition: partition}},
		BatchedDelivery: &run.BatchedDelivery{Max: 100},
	}
}

// waiting is how many runs wait for the next signal to id.
func (s *TemporalStarter) waiting(id string) int {
	s.delivery.mu.Lock()
	defer s.delivery.mu.Unlock()
	if q := s.delivery.queues[id]; q != nil {
		return len(q.waiting)
	}
	return 0
}

// Runs that arrive while a signal to their delivery workflow is in flight
// share the next one; every Start returns once its own signal is durable.
func TestBatchedStartsShareASignal(t *testing.T) {
	f := &fakeDeliverySignaler{release: make(chan struct{})}
	s := &TemporalStarter{client: f, taskQueue: "q", Batch: BatchOptions{Linger: time.Minute}}
	id := run.DeliveryWorkflowID("hot", "db.orders", 3)
	errs := make(chan error, 6)
	go func() { errs <- s.Start(context.Background(), batchedInput("e0", 3)) }()
	// e0's signal is in flight (blocked in the fake) once nothing waits.
	require.Eventually(t, func() bool {
		f.mu.Lock()
		defer f.mu.Unlock()
		s.delivery.mu.Lock()
		defer s.delivery.mu.Unlock()
		q := s.delivery.queues[id]
		return q != nil && q.sending && len(q.waiting) == 0
	}, 10*time.Second, time.Millisecond)
	for i := 1; i <= 5; i++ {
		go func() { errs <- s.Start(context.Background(), batchedInput(fmt.Sprintf("e%d", i), 3)) }()
	}
	require.Eventually(t, func() bool { return s.waiting(id) == 5 }, 10*time.Second, time.Millisecond)
	close(f.release)
	for range 6 {
		require.NoError(t, <-errs)
	}
	got := f.eventIDs()
	require.Len(t, got, 2, "one signal in flight, then one for the five that waited")
	assert.Equal(t, []string{"e0"}, got[0])
	assert.ElementsMatch(t, []string{"e1", "e2", "e3", "e4", "e5"}, got[1])
	assert.Equal(t, []string{id, id}, f.ids)
	assert.Equal(t, id, f.opts[0].ID)
	assert.Equal(t, "q", f.opts[0].TaskQueue)
	assert.Equal(t, run.DeliveryInput{Tag: "hot", Topic: "db.orders", Partition: 3, Linger: time.Minute}, f.args[0])
	assert.Equal(t, 0, s.waiting(id))
}

// A signal refused for its size is sent again one run at a time.
func TestBatchedSignalTooLargeIsSplit(t *testing.T) {
	f := &fakeDeliverySignaler{tooBig: true}
	s := &TemporalStarter{client: f, taskQueue: "q"}
	reqs := []*deliveryRequest{
		{in: batchedInput("a", 0), done: make(chan error, 1)},
		{in: batchedInput("b", 0), done: make(chan error, 1)},
	}
	q := &deliveryQueue{waiting: reqs, sending: true}
	s.delivery.queues = map[string]*deliveryQueue{"x": q}
	s.sendDeliveries("x", q)
	for _, r := range reqs {
		require.NoError(t, <-r.done)
	}
	assert.Equal(t, [][]string{{"a"}, {"b"}}, f.eventIDs())
}

// Before it hands a delivery workflow more than its backlog limit, ingest
// asks its backlog and waits while it is over half the limit or draining.
func TestBatchedFlowControl(t *testing.T) {
	limit := run.DeliveryBacklogLimit(100)
	f := &fakeDeliverySignaler{backlogs: []run.DeliveryBacklog{
		{Pending: limit, InFlight: 100}, {Pending: 10, Draining: true}, {Pending: 30, InFlight: 20},
	}}
	s := &TemporalStarter{client: f, taskQueue: "q"}
	id := run.DeliveryWorkflowID("hot", "db.orders", 0)
	q := &deliveryQueue{handed: limit}
	s.delivery.queues = map[string]*deliveryQueue{id: q}
	req := &deliveryRequest{in: batchedInput("x", 0), done: make(chan error, 1)}
	q.waiting, q.sending = []*deliveryRequest{req}, true
	s.sendDeliveries(id, q)
	require.NoError(t, <-req.done)
	assert.Equal(t, 3, f.queries, "asked until the backlog was low and not draining")
	assert.Equal(t, 51, q.handed, "what it reported, plus the run just handed over")

	// Within the limit, nothing is asked.
	f.queries = 0
	req = &deliveryRequest{in: batchedInput("y", 0), done: make(chan error, 1)}
	q.waiting, q.sending = []*deliveryRequest{req}, true
	s.sendDeliveries(id, q)
	require.NoError(t, <-req.done)
	assert.Zero(t, f.queries)
}
