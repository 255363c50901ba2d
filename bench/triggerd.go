package bench

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"

	"github.com/triggerd/triggerd/activities"
	"github.com/triggerd/triggerd/egress"
	"github.com/triggerd/triggerd/ingest"
	"github.com/triggerd/triggerd/run"
	"github.com/triggerd/triggerd/trigger"
	"github.com/triggerd/triggerd/workflows"
)

// Triggerd is how a triggerd scenario wires triggerd's real code: the
// trigger definitions it loads, and options of the ingest consumer, the
// starter and the worker. Each hook may be nil (the defaults are those of
// a plain `triggerd serve`). A new configuration (local activities, eager
// start, concurrent starts, batched delivery) is a Triggerd value passed
// to the triggerd* scenario constructors.
type Triggerd struct {
	// Triggers returns the YAML of the trigger definitions for tag, whose
	// one action posts {"id": "{{record.id}}", "sent": "{{record.sent_ns}}"}
	// to url. Default: DefaultTriggers.
	Triggers func(tag, url string) string
	// Consumer adjusts the ingest configuration.
	Consumer func(*ingest.Config)
	// Starter builds the starter ingest uses (default
	// ingest.NewTemporalStarter with ingest.WithColocatedWorker, as
	// `triggerd serve` makes it: the scenarios run the worker through the
	// same client).
	Starter func(c client.Client, taskQueue string) ingest.Starter
	// Worker adjusts the worker's options; Register registers what the
	// worker runs (default: workflows.Register and every action).
	Worker   func(*worker.Options)
	Register func(w worker.Worker, acts *activities.Activities)
	// TriggerOptions are passed to trigger.NewSet (e.g.
	// trigger.WithLocalActivities to measure the regular path).
	TriggerOptions []trigger.Option
	// Batched says the triggers deliver in batches (delivery.batch): the
	// runs are carried by the delivery workflows of the topic's
	// partitions, which the suite reads and ends afterwards.
	Batched bool
	// RunsScale multiplies Params.Runs for the completed-runs row (a
	// configuration that completes hundreds of runs per second needs
	// more of them to be measured).
	RunsScale int
}

// DefaultTriggers is one trigger on inserts into benchTable with one http
// action, as the measurements use.
func DefaultTriggers(tag, url string) string {
	return fmt.Sprintf(`
triggers:
  - tag: %s
    tables: [%s]
    events: [afterInsert]
    actions:
      - type: http
        name: webhook
        config:
          url: "%s"
          method: POST
          body: {id: "{{record.id}}", sent: "{{record.sent_ns}}"}
`, tag, benchTable, url)
}

// triggerSet parses the definitions of t for tag and url.
func (t Triggerd) triggerSet(tag, url string) (*trigger.Set, error) {
	yaml := DefaultTriggers(tag, url)
	if t.Triggers != nil {
		yaml = t.Triggers(tag, url)
	}
	defs, err := trigger.Parse([]byte(yaml), "bench.yaml")
	if err != nil {
		return nil, err
	}
	return trigger.NewSet(defs, t.TriggerOptions...)
}

// consumer builds an ingest consumer of topic that plans with set and
// starts through starter.
func (t Triggerd) consumer(e *Env, topic string, set *trigger.Set, starter ingest.Starter) (*ingest.Consumer, error) {
	cfg := ingest.Config{
		Brokers: e.Brokers, Topics: []string{topic}, GroupID: e.name("group"), DLQTopic: topic + "-dlq",
	}
	if t.Consumer != nil {
		t.Consumer(&cfg)
	}
	return ingest.NewConsumer(cfg, set, starter, e.Logger.With("component", "ingest"))
}

func (t Triggerd) starter(c client.Client, taskQueue string) ingest.Starter {
	if t.Starter != nil {
		return t.Starter(c, taskQueue)
	}
	return ingest.NewTemporalStarter(c, taskQueue, ingest.WithColocatedWorker())
}

// startWorker starts triggerd's worker on taskQueue; stop it with the
// returned func.
func (t Triggerd) startWorker(e *Env, taskQueue string) (func(), error) {
	opts := worker.Options{}
	if t.Worker != nil {
		t.Worker(&opts)
	}
	// The receiver listens on loopback, which the default egress policy
	// refuses: the benchmark allows exactly that.
	loopback, err := egress.New([]string{"127.0.0.0/8", "::1"}, nil)
	if err != nil {
		return nil, fmt.Errorf("egress policy: %w", err)
	}
	w := worker.New(e.Temporal.client, taskQueue, opts)
	acts := activities.New(activities.WithLogger(e.Logger.With("component", "actions")), activities.WithEgress(loopback))
	if t.Register != nil {
		t.Register(w, acts)
	} else {
		workflows.Register(w)
		acts.Register(w)
		// What a delivery workflow asks when it opens (batched delivery).
		(&workflows.Coverage{Client: e.Temporal.client}).Register(w)
	}
	if err := w.Start(); err != nil {
		return nil, fmt.Errorf("start worker: %w", err)
	}
	return func() { w.Stop(); _ = acts.Close() }, nil
}

// countingStarter reports each start to m (as unit i of the event) after
// next made it durable.
type countingStarter struct {
	next  ingest.Starter
	m     *Measure
	index func(eventID string) int
}

func (s countingStarter) Start(ctx context.Context, in run.Input) error {
	if s.next != nil {
		if err := s.next.Start(ctx, in); err != nil {
			return err
		}
	}
	s.m.done(s.index(in.Event.ID), time.Now())
	return nil
}

// runConsumer runs c until ctx is done or stop is called; stop waits for
// it to return.
func runConsumer(ctx context.Context, c *ingest.Consumer) (stop func() error) {
	ctx, cancel := context.WithCancel(ctx)
	errc := make(chan error, 1)
	go func() { errc <- c.Run(ctx) }()
	return func() error { cancel(); return <-errc }
}

// triggerdSetup is what the triggerd scenarios share: a topic (and its
// DLQ), the trigger set, and the unit index of an event id.
type triggerdSetup struct {
	topic, tag string
	set        *trigger.Set
}

func (t Triggerd) setup(ctx context.Context, e *Env, url string) (*triggerdSetup, error) {
	s := &triggerdSetup{topic: e.name("events"), tag: e.name("trigger")}
	for _, topic := range []string{s.topic, s.topic + "-dlq"} {
		if err := e.createTopic(ctx, topic); err != nil {
			return nil, err
		}
	}
	set, err := t.triggerSet(s.tag, url)
	if err != nil {
		return nil, fmt.Errorf("trigger definitions: %w", err)
	}
	s.set = set
	return s, nil
}

// eventIndex maps an event id of e back to its unit index.
func (e *Env) eventIndex(id string) int {
	var i int
	_, _ = fmt.Sscanf(id[len(e.id)+1:], "%d", &i)
	return i
}

// triggerdDecode measures ingest's decode + match: a backlog of events
// through ingest.Consumer and the trigger set, with a starter that only
// counts.
func triggerdDecode(t Triggerd) func(context.Context, *Env, *Measure) error {
	return func(ctx context.Context, e *Env, m *Measure) error {
		s, err := t.setup(ctx, e, "http://127.0.0.1:9/unused")
		if err != nil {
			return err
		}
		return t.consumeBacklog(ctx, e, m, s, e.Params.DecodeEvents, countingStarter{m: m, index: e.eventIndex})
	}
}

// triggerdStarts measures workflow starts by ingest: a backlog through the
// consumer and the real starter, with no worker (the runs are terminated
// afterwards).
func triggerdStarts(t Triggerd) func(context.Context, *Env, *Measure) error {
	return func(ctx context.Context, e *Env, m *Measure) error {
		s, err := t.setup(ctx, e, "http://127.0.0.1:9/unused")
		if err != nil {
			return err
		}
		m.workflowID = func(i int) string { return run.WorkflowID(s.tag, e.eventID(i)) }
		m.leftOpen = true
		starter := countingStarter{next: t.starter(e.Temporal.client, e.name("tq")), m: m, index: e.eventIndex}
		return t.consumeBacklog(ctx, e, m, s, e.Params.Starts, starter)
	}
}

// triggerdStartLatency measures the start side of the latency: events
// produced at a steady rate, from the time each was due to the time
// ingest's start of its run was durable (no worker: the runs are
// terminated afterwards). Beside triggerd/latency at the same rate it
// says how much of event → webhook is ingest's.
func triggerdStartLatency(t Triggerd, perSecond float64) func(context.Context, *Env, *Measure) error {
	return func(ctx context.Context, e *Env, m *Measure) error {
		s, err := t.setup(ctx, e, "http://127.0.0.1:9/unused")
		if err != nil {
			return err
		}
		m.workflowID = func(i int) string { return run.WorkflowID(s.tag, e.eventID(i)) }
		m.leftOpen = true
		c, err := t.consumer(e, s.topic, s.set, startedAt{next: t.starter(e.Temporal.client, e.name("tq")), m: m})
		if err != nil {
			return err
		}
		stop := runConsumer(ctx, c)
		err = e.produceSteady(ctx, s.topic, perSecond, m)
		if err == nil {
			err = e.waitDelivered(ctx, m)
		}
		return firstErr(err, stop())
	}
}

// startedAt reports each start next made durable to m as a delivery of
// the event's row (its id and the time it was produced).
type startedAt struct {
	next ingest.Starter
	m    *Measure
}

func (s startedAt) Start(ctx context.Context, in run.Input) error {
	if err := s.next.Start(ctx, in); err != nil {
		return err
	}
	id, err1 := strconv.Atoi(fmt.Sprint(in.Event.Record["id"]))
	sent, err2 := strconv.ParseInt(fmt.Sprint(in.Event.Record["sent_ns"]), 10, 64)
	if err1 == nil && err2 == nil {
		s.m.deliver(id, time.Unix(0, sent), time.Now())
	}
	return nil
}

// consumeBacklog writes n events to the setup's topic, then runs an
// ingest consumer through starter (which reports to m) until all n are
// done.
func (t Triggerd) consumeBacklog(ctx context.Context, e *Env, m *Measure, s *triggerdSetup, n int, starter ingest.Starter) error {
	m.expect(n)
	if err := e.produceBacklog(ctx, s.topic, n); err != nil {
		return err
	}
	c, err := t.consumer(e, s.topic, s.set, starter)
	if err != nil {
		return err
	}
	stop := runConsumer(ctx, c)
	werr := m.wait(ctx)
	return firstErr(werr, stop())
}

// triggerdRuns measures completed one-action runs: a backlog through
// ingest and the worker, each run posting to the receiver.
func triggerdRuns(t Triggerd) func(context.Context, *Env, *Measure) error {
	return func(ctx context.Context, e *Env, m *Measure) error {
		n := e.Params.Runs * max(t.RunsScale, 1)
		m.expect(n)
		return t.endToEnd(ctx, e, m, func(ctx context.Context, topic string) error {
			return e.produceBacklog(ctx, topic, n)
		})
	}
}

// triggerdLatency measures event → webhook latency with events produced
// at a steady rate.
func triggerdLatency(t Triggerd, perSecond float64) func(context.Context, *Env, *Measure) error {
	return func(ctx context.Context, e *Env, m *Measure) error {
		return t.endToEnd(ctx, e, m, func(ctx context.Context, topic string) error {
			return e.produceSteady(ctx, topic, perSecond, m)
		})
	}
}

// endToEnd runs the worker and the consumer while produce writes the
// events, and waits for their webhooks.
func (t Triggerd) endToEnd(ctx context.Context, e *Env, m *Measure, produce func(context.Context, string) error) error {
	path := e.name("hook")
	url := e.receiver.sink(path, m)
	defer e.receiver.drop(path)
	s, err := t.setup(ctx, e, url)
	if err != nil {
		return err
	}
	tq := e.name("tq")
	m.workflowID = func(i int) string { return run.WorkflowID(s.tag, e.eventID(i)) }
	if t.Batched {
		m.workflowID = nil
		for p := range 3 { // createTopic's partitions
			m.carriers = append(m.carriers, run.DeliveryWorkflowID(s.tag, s.topic, p))
		}
	}
	stopWorker, err := t.startWorker(e, tq)
	if err != nil {
		return err
	}
	defer stopWorker()
	c, err := t.consumer(e, s.topic, s.set, t.starter(e.Temporal.client, tq))
	if err != nil {
		return err
	}
	stop := runConsumer(ctx, c)
	err = produce(ctx, s.topic)
	if err == nil {
		err = e.waitDelivered(ctx, m)
		e.waitClosed(ctx, m)
	}
	return firstErr(err, stop())
}

// waitDelivered waits for every expected unit: for a steady-rate run (one
// that called began) at most Params.Drain after the producer stopped, for
// a backlog until ctx ends. Units still missing then are reported by the
// suite, not as an error.
func (e *Env) waitDelivered(ctx context.Context, m *Measure) error {
	m.mu.Lock()
	steady := !m.start.IsZero() && m.steady
	m.mu.Unlock()
	if steady {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, e.Params.Drain)
		defer cancel()
	}
	if err := m.wait(ctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return nil
}

func allUnits(n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = i
	}
	return out
}

func firstErr(errs ...error) error {
	for _, err := range errs {
		if err != nil && !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded) {
			return err
		}
	}
	return nil
}
