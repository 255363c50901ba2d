package main

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/worker"

	"github.com/triggerd/triggerd/config"
	"github.com/triggerd/triggerd/ingest"
	"github.com/triggerd/triggerd/trigger"
	"github.com/triggerd/triggerd/workflows"
)

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

// newPlanner is ingest's planner: reg, with the config's delivery settings
// added to every run (trigger.SettingsPlanner) and the runs that will fail
// their cascade check counted.
func newPlanner(reg *trigger.Registry, cfg *config.Config, promReg prometheus.Registerer) (*trigger.SettingsPlanner, error) {
	raw := make([]any, len(cfg.Delivery.OnError))
	for i, a := range cfg.Delivery.OnError {
		raw[i] = a
	}
	onError, err := trigger.CompileOnError(raw, localActivities(cfg.Delivery))
	if err != nil {
		return nil, fmt.Errorf("delivery.onError: %w", err)
	}
	rejected := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "triggerd_cascade_rejected_total",
		Help: "Runs started for a change whose cascade chain is too deep (reason=depth) or loops (reason=loop); they fail at once.",
	}, []string{"trigger", "reason"})
	if promReg != nil {
		if err := promReg.Register(rejected); err != nil {
			return nil, err
		}
	}
	return trigger.NewSettingsPlanner(reg, trigger.RunSettings{
		OnError: onError, MaxCascadeDepth: cfg.Delivery.MaxCascadeDepth, HeartbeatTimeout: cfg.Delivery.HeartbeatTimeout, Env: cfg.Env,
	}, func(tag, reason string) { rejected.WithLabelValues(tag, reason).Inc() }), nil
}
