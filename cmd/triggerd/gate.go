package main

import (
	"log/slog"
	"net/http"

	"github.com/triggerd/triggerd/config"
	"github.com/triggerd/triggerd/gate"
	"github.com/triggerd/triggerd/trigger"
)

// newGate builds the before-trigger gate the API serves on
// /v1/gate/{table}/{operation}: it reads the registry's current set on
// every request (so reloads apply at once), and its SQL lookups use the
// databases of the database.* actions. The returned func closes them.
func newGate(cfg *config.Config, reg *trigger.Registry, m *metrics, logger *slog.Logger) (*gate.Gate, func(), error) {
	pools, err := newDatabases(cfg.Databases)
	if err != nil {
		return nil, nil, err
	}
	dbs := make(map[string]gate.DB, len(pools))
	for name, p := range pools {
		dbs[name] = p
	}
	g := gate.New(gate.Options{
		Triggers: reg.Snapshot,
		// Each lookup has its own deadline (its timeout); the client adds
		// none, so the shortest budget always wins.
		Lookups: &gate.Lookups{HTTP: &http.Client{}, DBs: dbs},
		Logger:  logger,
		Metrics: gate.NewMetrics(m.registry),
	})
	return g, pools.close, nil
}
