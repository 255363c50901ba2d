package config

// TriggerLimits bound what one trigger definition may hold, whether it
// comes from a file or through the API. Zero means the default of package
// trigger (trigger.DefaultLimits); a definition over a limit is refused
// with the limit's key.
//
//	triggers:
//	  limits: {maxConditions: 100, maxActions: 10}
type TriggerLimits struct {
	// MaxConditions bounds the condition tree's nodes (and, or, not and
	// comparisons together).
	MaxConditions int `yaml:"maxConditions"`
	// MaxDepth bounds the nesting of the condition tree.
	MaxDepth int `yaml:"maxDepth"`
	// MaxActions bounds the actions of one trigger.
	MaxActions int `yaml:"maxActions"`
	// MaxWhenBytes bounds each CEL expression (when:, and a
	// before-trigger's rules); MaxWhenCost is the CEL cost one
	// evaluation may spend.
	MaxWhenBytes int `yaml:"maxWhenBytes"`
	MaxWhenCost  int `yaml:"maxWhenCost"`
	// MaxTemplateBytes bounds each string of an action's config.
	MaxTemplateBytes int `yaml:"maxTemplateBytes"`
}

func (c *Config) validateLimits(v *validator) {
	l := c.Triggers.Limits
	nonNegative(v, "triggers.limits.maxConditions", l.MaxConditions)
	nonNegative(v, "triggers.limits.maxDepth", l.MaxDepth)
	nonNegative(v, "triggers.limits.maxActions", l.MaxActions)
	nonNegative(v, "triggers.limits.maxWhenBytes", l.MaxWhenBytes)
	nonNegative(v, "triggers.limits.maxWhenCost", l.MaxWhenCost)
	nonNegative(v, "triggers.limits.maxTemplateBytes", l.MaxTemplateBytes)
	nonNegative(v, "gate.maxRecords", c.Gate.MaxRecords)
	nonNegative(v, "gate.maxBodyBytes", c.Gate.MaxBodyBytes)
	nonNegative(v, "gate.maxResponseBytes", c.Gate.MaxResponseBytes)
}
