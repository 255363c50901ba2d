package main

import (
	"context"
	"log/slog"
	"net/http"

	"go.temporal.io/sdk/client"

	"github.com/triggerd/triggerd/config"
	"github.com/triggerd/triggerd/egress"
	"github.com/triggerd/triggerd/gate"
	"github.com/triggerd/triggerd/run"
	"github.com/triggerd/triggerd/trigger"
)

// newGate builds the before-trigger gate the API serves on
// /v1/gate/{table}/{operation}: it reads the registry's current set on
// every request (so reloads apply at once), and its SQL lookups use the
// databases of the database.* actions. With gate.record it also returns
// the recorder, which needs the Temporal client (attach) before the API
// serves. The returned func closes the databases.
//
// HTTP lookups connect through the egress policy pol; SQL lookups go to the
// configured databases, which are the operator's choice, not the
// definition's.
func newGate(cfg *config.Config, reg *trigger.Registry, m *metrics, pol *egress.Policy, logger *slog.Logger) (*gate.Gate, *temporalRecorder, func(), error) {
	pools, err := newDatabases(cfg.Databases)
	if err != nil {
		return nil, nil, nil, err
	}
	dbs := make(map[string]gate.DB, len(pools))
	for name, p := range pools {
		dbs[name] = p
	}
	o := gate.Options{
		Triggers: reg.Snapshot,
		// Each lookup has its own deadline (its timeout); the client adds
		// none, so the lookup's budget always decides. {{secret.NAME}} in a
		// lookup resolves here, in process, from the worker's sources.
		Lookups: gate.WithSecrets(&gate.Lookups{HTTP: &http.Client{Transport: pol.Transport()}, DBs: dbs}, newSecretResolver(cfg)),
		Logger:  logger,
		Metrics: gate.NewMetrics(m.registry),
	}
	var rec *temporalRecorder
	if cfg.Gate.Record {
		rec = &temporalRecorder{queue: cfg.Temporal.TaskQueue}
		o.Recorder = rec
	}
	return gate.New(o), rec, pools.close, nil
}

// temporalRecorder records gate decisions as triggerd.GateDecision runs,
// which the worker completes at once: the decision is the run's input and
// result, for inspection in the Temporal UI.
type temporalRecorder struct {
	c     client.Client
	queue string
	// newID names each run (newUUID when nil; tests pick theirs).
	newID func() (string, error)
}

// attach gives the recorder its client; it is nil-safe so that wiring
// needs no condition. Called before the API serves.
func (r *temporalRecorder) attach(c client.Client) {
	if r != nil {
		r.c = c
	}
}

func (r *temporalRecorder) Record(ctx context.Context, d run.GateDecision) error {
	newID := r.newID
	if newID == nil {
		newID = newUUID
	}
	id, err := newID()
	if err != nil {
		return err
	}
	_, err = r.c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: "gate-" + d.Table + "-" + id, TaskQueue: r.queue},
		run.GateWorkflowName, d)
	return err
}
