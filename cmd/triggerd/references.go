package main

import (
	"fmt"

	"github.com/triggerd/triggerd/api"
	"github.com/triggerd/triggerd/config"
	"github.com/triggerd/triggerd/trigger"
)

// configChecker is the one check of the names trigger actions give to
// what the configuration defines: caches and buckets, notification
// templates and callbacks, integration operations, agents, quota and
// breaker policies. `triggerd validate`, the API's writes, the trigger
// files applied at start and the reloader all use it.
func configChecker(cfg *config.Config) api.Checker {
	return func(defs []trigger.Definition) []trigger.Problem {
		probs := trigger.CheckResources(defs, trigger.Resources{Caches: cfg.CacheNames(), Buckets: cfg.StorageNames()})
		probs = append(probs, appReferences(cfg, defs)...)       // apps.go
		probs = append(probs, guardPolicyProblems(cfg, defs)...) // guards_cli.go
		return probs
	}
}

// printReferenceProblems prints configChecker's problems and returns their
// count; it needs both a valid config and a valid set.
func (a *app) printReferenceProblems(cfg *config.Config, set *trigger.Set) int {
	if cfg == nil || set == nil {
		return 0
	}
	probs := configChecker(cfg)(set.Definitions())
	for _, p := range probs {
		fmt.Fprintln(a.stderr, p.String())
	}
	return len(probs)
}
