package main

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/triggerd/triggerd/config"
	"github.com/triggerd/triggerd/trigger"
)

// configChecker is the one check of the names trigger actions give to
// what the configuration defines: caches and buckets, notification
// templates and callbacks, integration operations, agents, databases,
// quota and breaker policies. `triggerd validate`, the API's writes, the trigger
// files applied at start and the reloader all use it.
func configChecker(cfg *config.Config) trigger.Checker {
	return func(defs []trigger.Definition) []trigger.Problem {
		probs := trigger.CheckResources(defs, trigger.Resources{Caches: cfg.CacheNames(), Buckets: cfg.StorageNames()})
		probs = append(probs, appReferences(cfg, defs)...)       // apps.go
		probs = append(probs, guardPolicyProblems(cfg, defs)...) // quotas_breakers_cli.go
		probs = append(probs, databaseProblems(cfg, defs)...)
		probs = append(probs, refetchProblems(cfg, defs)...) // debezium.go
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

// databaseProblems reports the database.* actions and the SQL lookups of
// before-triggers that name a database (absent: "default") cfg does not
// define, and the database.* actions whose literal table (or operation) the
// database's allow-list (databases.<name>.tables) does not allow; a
// templated name is known at run time.
func databaseProblems(cfg *config.Config, defs []trigger.Definition) []trigger.Problem {
	var out []trigger.Problem
	check := func(d trigger.Definition, field string, c map[string]any) (string, bool) {
		name, _ := c["database"].(string)
		if strings.Contains(name, "{{") {
			return "", false
		}
		if name == "" {
			name = "default"
		}
		if _, ok := cfg.Databases[name]; ok {
			return name, true
		}
		out = append(out, trigger.Problem{File: d.File, Tag: d.Tag, Field: field + ".database",
			Reason: fmt.Sprintf("%q is not configured (databases in the config: %s)", name, databaseNames(cfg))})
		return "", false
	}
	for _, d := range defs {
		for i, a := range d.Actions {
			if !strings.HasPrefix(a.Type, "database.") {
				continue
			}
			field := fmt.Sprintf("actions[%d].config", i)
			if name, ok := check(d, field, a.Config); ok && cfg.Databases[name].Tables != nil {
				if reason := tableProblem(name, cfg.Databases[name].Tables, strings.TrimPrefix(a.Type, "database."), a.Config); reason != "" {
					out = append(out, trigger.Problem{File: d.File, Tag: d.Tag, Field: field + ".table", Reason: reason})
				}
			}
		}
		for i, l := range d.Before.Lookups {
			if l.Kind == "sql" {
				check(d, fmt.Sprintf("lookups[%d].sql", i), l.Config)
			}
		}
	}
	return out
}

// tableProblem says why a database action's literal table is off its
// database's allow-list, "" when it is on it (or is a template). An
// unqualified name passes when a listed table has that name: the search
// path decides at run time.
func tableProblem(dbName string, tables map[string][]string, op string, c map[string]any) string {
	table, _ := c["table"].(string)
	if table == "" || strings.Contains(table, "{{") {
		return ""
	}
	qualified := strings.Contains(table, ".")
	for listed, ops := range tables {
		_, name, _ := strings.Cut(listed, ".")
		if (listed == table || !qualified && name == table) && slices.Contains(ops, op) {
			return ""
		}
	}
	return fmt.Sprintf("%s on %q is not allowed by databases.%s.tables: the action would fail with TABLE_NOT_ALLOWED", op, table, dbName)
}

// databaseNames lists the configured databases for problems, "none" when
// there are none.
func databaseNames(cfg *config.Config) string {
	if len(cfg.Databases) == 0 {
		return "none"
	}
	return strings.Join(slices.Sorted(maps.Keys(cfg.Databases)), ", ")
}
