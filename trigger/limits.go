package trigger

import (
	"fmt"
	"sort"

	"github.com/triggerd/triggerd/trigger/template"
)

// Limits bound what one definition may hold. Definitions are written by
// API callers, so nothing about their size may be left to chance: a
// trigger with ten thousand conditions, a megabyte of CEL or a template
// the size of a database dump is refused at load with the limit it
// exceeds, rather than stored and evaluated on every event. A zero field
// means its default (DefaultLimits).
type Limits struct {
	// MaxConditions bounds the nodes of a condition tree (and, or, not
	// and comparisons together), counted over the trigger's condition
	// and a before-trigger's validate conditions.
	MaxConditions int
	// MaxDepth bounds the nesting of a condition tree.
	MaxDepth int
	// MaxActions bounds the actions of one trigger.
	MaxActions int
	// MaxWhenBytes bounds each CEL expression (when:, a before-trigger's
	// set and validate expr).
	MaxWhenBytes int
	// MaxWhenCost is the CEL cost one evaluation may spend: an expression
	// that exceeds it evaluates to false (an error in the gate), and one
	// whose cheapest evaluation already exceeds it is refused at load.
	MaxWhenCost int
	// MaxTemplateBytes bounds each string of an action's config, a
	// lookup's config, a set value or a validate message.
	MaxTemplateBytes int
}

// Defaults of Limits: generous for hand-written triggers, small enough
// that one definition cannot weigh on every event or on the store.
const (
	DefaultMaxConditions    = 256
	DefaultMaxDepth         = 16
	DefaultMaxActions       = 32
	DefaultMaxWhenBytes     = 4 << 10
	DefaultMaxWhenCost      = WhenCostLimit
	DefaultMaxTemplateBytes = 64 << 10
)

// DefaultLimits returns the limits with every default.
func DefaultLimits() Limits { return Limits{}.withDefaults() }

func (l Limits) withDefaults() Limits {
	def := func(n *int, v int) {
		if *n <= 0 {
			*n = v
		}
	}
	def(&l.MaxConditions, DefaultMaxConditions)
	def(&l.MaxDepth, DefaultMaxDepth)
	def(&l.MaxActions, DefaultMaxActions)
	def(&l.MaxWhenBytes, DefaultMaxWhenBytes)
	def(&l.MaxWhenCost, DefaultMaxWhenCost)
	def(&l.MaxTemplateBytes, DefaultMaxTemplateBytes)
	return l
}

// Option configures how definitions are loaded and validated (Load, Parse,
// ParseDocument, ValidateDefinition, NewSet, NewRegistry).
type Option func(*options)

type options struct {
	limits Limits
	hooks  planHooks       // a Registry's (refetch.go, unknown.go)
	local  LocalActivities // local.go
}

// WithLimits sets the limits definitions are checked against (zero fields
// keep their defaults).
func WithLimits(l Limits) Option { return func(o *options) { o.limits = l.withDefaults() } }

func newOptions(opts []Option) options {
	o := options{limits: DefaultLimits()}
	for _, f := range opts {
		f(&o)
	}
	return o
}

// The names of the limits in problems: the configuration keys that set
// them, so that the reader knows what to change.
const (
	limitConditions = "triggers.limits.maxConditions"
	limitDepth      = "triggers.limits.maxDepth"
	limitActions    = "triggers.limits.maxActions"
	limitWhenBytes  = "triggers.limits.maxWhenBytes"
	limitWhenCost   = "triggers.limits.maxWhenCost"
	limitTemplate   = "triggers.limits.maxTemplateBytes"
)

// checkLimits reports every part of d over l. It runs before the
// definition is compiled; compileWhen checks the CEL sizes and costs.
func checkLimits(d Definition, l Limits, p problems) {
	if n := len(d.Actions); n > l.MaxActions {
		p.add("actions", "%d actions exceed the limit of %d (%s)", n, l.MaxActions, limitActions)
	}
	checkConditionLimits(d.Condition, "condition", l, p)
	for i, r := range d.Before.Validate {
		checkConditionLimits(r.Condition, fmt.Sprintf("validate[%d].condition", i), l, p)
	}
	for i, a := range d.Actions {
		checkTemplateSizes(a.Config, fmt.Sprintf("actions[%d].config", i), l, p)
	}
	for i, lk := range d.Before.Lookups {
		checkTemplateSizes(lk.Config, fmt.Sprintf("lookups[%d].%s", i, lk.Kind), l, p)
	}
	for i, r := range d.Before.Set {
		checkTemplateSizes(r.Value, fmt.Sprintf("set[%d].value", i), l, p)
	}
	for i, r := range d.Before.Validate {
		checkTemplateSizes(r.Message, fmt.Sprintf("validate[%d].message", i), l, p)
	}
}

func checkConditionLimits(c *Condition, field string, l Limits, p problems) {
	if c == nil {
		return
	}
	n, depth := conditionSize(c, 1)
	if n > l.MaxConditions {
		p.add(field, "%d conditions exceed the limit of %d (%s)", n, l.MaxConditions, limitConditions)
	}
	if depth > l.MaxDepth {
		p.add(field, "nested %d deep, more than the limit of %d (%s)", depth, l.MaxDepth, limitDepth)
	}
}

// conditionSize counts the nodes of c and the depth of its deepest one.
func conditionSize(c *Condition, depth int) (nodes, deepest int) {
	if c == nil {
		return 0, 0
	}
	nodes, deepest = 1, depth
	add := func(sub *Condition) {
		n, d := conditionSize(sub, depth+1)
		nodes += n
		deepest = max(deepest, d)
	}
	for _, s := range c.And {
		add(s)
	}
	for _, s := range c.Or {
		add(s)
	}
	add(c.Not)
	return nodes, deepest
}

// checkTemplateSizes reports each string of v longer than the limit, by
// its field path.
func checkTemplateSizes(v any, field string, l Limits, p problems) {
	switch x := v.(type) {
	case string:
		if len(x) > l.MaxTemplateBytes {
			p.add(field, "%d bytes exceed the limit of %d (%s)", len(x), l.MaxTemplateBytes, limitTemplate)
		}
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			checkTemplateSizes(x[k], template.JoinField(field, k), l, p)
		}
	case []any:
		for i, e := range x {
			checkTemplateSizes(e, fmt.Sprintf("%s[%d]", field, i), l, p)
		}
	}
}
