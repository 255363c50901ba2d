package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/worker"

	"github.com/triggerd/triggerd/config"
	"github.com/triggerd/triggerd/ingest"
	"github.com/triggerd/triggerd/run"
	"github.com/triggerd/triggerd/trigger"
	"github.com/triggerd/triggerd/workflows"
)

// dialTemporal connects to Temporal, waiting (with capped backoff) while
// it is unreachable: a process restarted during a Temporal outage must
// wait for it, not exit, or a supervisor without restarts loses it.
func dialTemporal(ctx context.Context, opts client.Options, address string, log *slog.Logger) (client.Client, error) {
	backoff := 200 * time.Millisecond
	for attempt := 1; ; attempt++ {
		c, err := client.DialContext(ctx, opts)
		if err == nil {
			return c, nil
		}
		if ctx.Err() != nil || !dialRetryable(err) {
			return nil, fmt.Errorf("connect to Temporal at %s: %w", address, err)
		}
		log.Warn("Temporal unreachable, waiting", "address", address, "attempt", attempt, "backoff", backoff, "error", err)
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("connect to Temporal at %s: %w", address, err)
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, 10*time.Second)
	}
}

// dialRetryable tells an unreachable server (worth waiting for) from a
// refusal that waiting does not change: a denied key, an unknown namespace.
func dialRetryable(err error) bool {
	var denied *serviceerror.PermissionDenied
	var nsNotFound *serviceerror.NamespaceNotFound
	var invalid *serviceerror.InvalidArgument
	return !errors.As(err, &denied) && !errors.As(err, &nsNotFound) && !errors.As(err, &invalid)
}

// newStarter is ingest's starter, with the batches of `for: all` triggers
// configured.
func newStarter(c client.Client, cfg *config.Config, opts ...ingest.StarterOption) *ingest.TemporalStarter {
	s := ingest.NewTemporalStarter(c, cfg.Temporal.TaskQueue, opts...)
	s.Batch = ingest.BatchOptions{Size: cfg.Delivery.BatchSize, Window: cfg.Delivery.BatchWindow, Linger: cfg.Delivery.BatchLinger}
	return s
}

// localActivities is the trigger option of delivery.localActivities and
// delivery.localActivityMaxTimeout: which actions run as local
// activities when their definition does not say.
func localActivities(d config.Delivery) trigger.Option {
	return trigger.WithLocalActivities(trigger.LocalActivities{
		Off: d.LocalActivities == config.LocalActivitiesOff, MaxTimeout: d.LocalActivityMaxTimeout,
	})
}

// registerQueues registers the activity that feeds the queues of queued
// actions.
func registerQueues(w worker.Worker, c client.Client, dc converter.DataConverter, cfg *config.Config) {
	qs := make(map[string]workflows.QueueConfig, len(cfg.Queues))
	for name, q := range cfg.Queues {
		qs[name] = workflows.QueueConfig{Concurrency: q.Concurrency}
	}
	(&workflows.Enqueuer{Client: c, TaskQueue: cfg.Temporal.TaskQueue, Queues: qs}).Register(w)
	(&workflows.Coverage{Client: c, DataConverter: dc}).Register(w)
}

// deliveryPlanner adds the process-wide delivery settings to each planned
// run (the global error handler, the cascade limit) and counts the runs
// that will fail their cascade check.
type deliveryPlanner struct {
	next     ingest.Planner
	env      string // config env: {{env}} of the runs
	onError  []run.Action
	maxDepth int
	hb       time.Duration
	rejected *prometheus.CounterVec
}

func newDeliveryPlanner(next ingest.Planner, d config.Delivery, reg prometheus.Registerer) (*deliveryPlanner, error) {
	raw := make([]any, len(d.OnError))
	for i, a := range d.OnError {
		raw[i] = a
	}
	onError, err := trigger.CompileOnError(raw, localActivities(d))
	if err != nil {
		return nil, fmt.Errorf("delivery.onError: %w", err)
	}
	p := &deliveryPlanner{next: next, onError: onError, maxDepth: d.MaxCascadeDepth, hb: d.HeartbeatTimeout,
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "triggerd_cascade_rejected_total",
			Help: "Runs started for a change whose cascade chain is too deep (reason=depth) or loops (reason=loop); they fail at once.",
		}, []string{"trigger", "reason"})}
	if reg != nil {
		if err := reg.Register(p.rejected); err != nil {
			return nil, err
		}
	}
	return p, nil
}

func (p *deliveryPlanner) Plan(ev run.Event) []run.Input {
	ins := p.next.Plan(ev)
	for i := range ins {
		in := &ins[i]
		if len(in.OnError) == 0 && len(p.onError) > 0 {
			in.OnError = slices.Clone(p.onError)
		}
		in.MaxCascadeDepth, in.HeartbeatTimeout, in.Env = p.maxDepth, p.hb, p.env
		switch {
		case slices.Contains(ev.Cascade, in.Trigger.Tag):
			p.rejected.WithLabelValues(in.Trigger.Tag, "loop").Inc()
		case len(ev.Cascade) > 0 && len(ev.Cascade)+1 > p.maxDepth:
			p.rejected.WithLabelValues(in.Trigger.Tag, "depth").Inc()
		}
	}
	return ins
}
