package main

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"

	"github.com/triggerd/triggerd/config"
	"github.com/triggerd/triggerd/run"
	"github.com/triggerd/triggerd/trigger"
)

// The wiring of trigger.SettingsPlanner: delivery.onError compiled (its
// problems named under delivery.onError), the cascade rejections counted.
func TestNewPlanner(t *testing.T) {
	reg := prometheus.NewRegistry()
	triggers := trigger.NewRegistry()
	require.NoError(t, triggers.Register(trigger.Definition{Tag: "a", Tables: []string{"users"}, Events: []string{"afterInsert"},
		Enabled: true, Actions: []trigger.Action{{Type: run.TypeLog, Config: map[string]any{"message": "m"}}}}))
	cfg := &config.Config{Env: "prod", Delivery: config.Delivery{MaxCascadeDepth: 2, OnError: []map[string]any{
		{"type": "log", "name": "global", "config": map[string]any{"message": "{{actions.failed.output.error}}"}},
	}}}
	p, err := newPlanner(triggers, cfg, reg)
	require.NoError(t, err)

	ins := p.Plan(run.Event{Table: "users", Operation: run.OperationInsert, Cascade: []string{"x", "y"}})
	require.Len(t, ins, 1)
	require.Equal(t, "global", ins[0].OnError[0].Name)
	require.Equal(t, "prod", ins[0].Env)
	n, err := testutil.GatherAndCount(reg, "triggerd_cascade_rejected_total")
	require.NoError(t, err)
	require.Equal(t, 1, n)

	cfg.Delivery.OnError = []map[string]any{{"type": "nope"}}
	_, err = newPlanner(triggers, cfg, nil)
	require.ErrorContains(t, err, `delivery.onError: `)
}
