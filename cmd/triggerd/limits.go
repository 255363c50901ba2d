package main

import (
	"math"

	"github.com/triggerd/triggerd/api"
	"github.com/triggerd/triggerd/config"
	"github.com/triggerd/triggerd/trigger"
)

// triggerLimits are the definition limits of triggers.limits.
func triggerLimits(l config.TriggerLimits) trigger.Limits {
	return trigger.Limits{MaxConditions: l.MaxConditions, MaxDepth: l.MaxDepth, MaxActions: l.MaxActions,
		MaxWhenBytes: l.MaxWhenBytes, MaxWhenCost: l.MaxWhenCost, MaxTemplateBytes: l.MaxTemplateBytes}
}

// gateLimits are the gate's limits of gate.*.
func gateLimits(g config.Gate) api.GateLimits {
	return api.GateLimits{MaxRecords: g.MaxRecords, MaxBodyBytes: g.MaxBodyBytes, MaxResponseBytes: g.MaxResponseBytes}
}

// serverLimits leaves the limits to the server a command sends definitions
// to (its triggers.limits may be higher than the defaults): the CLI checks
// everything else before sending.
func serverLimits() trigger.Option {
	return trigger.WithLimits(trigger.Limits{MaxConditions: math.MaxInt32, MaxDepth: math.MaxInt32,
		MaxActions: math.MaxInt32, MaxWhenBytes: math.MaxInt32, MaxWhenCost: math.MaxInt32, MaxTemplateBytes: math.MaxInt32})
}
