package trigger

import (
	"slices"
	"time"

	"github.com/triggerd/triggerd/run"
)

// RunSettings are the process-wide settings every planned run carries
// (the config's delivery section), added to what its trigger says.
type RunSettings struct {
	// OnError is the global error handler (CompileOnError): it runs when a
	// run of a trigger without onError actions of its own fails.
	OnError []run.Action
	// MaxCascadeDepth is the deepest cascade a run may continue
	// (run.DefaultCascadeDepth when not positive, in the workflow).
	MaxCascadeDepth int
	// HeartbeatTimeout is the heartbeat timeout of long actions.
	HeartbeatTimeout time.Duration
	// Env is the {{env}} of the runs' templates.
	Env string
}

// Reasons a CascadeObserver is given.
const (
	CascadeLoop  = "loop"
	CascadeDepth = "depth"
)

// CascadeObserver is told of every planned run that will fail its cascade
// check (reason CascadeLoop or CascadeDepth): the workflow fails it at
// once, and the observer counts it.
type CascadeObserver func(tag, reason string)

// planner is what a SettingsPlanner plans with: a *Registry or a *Set.
type planner interface {
	Plan(ev run.Event) []run.Input
}

// SettingsPlanner plans with a registry (or a set) and gives each run the
// process-wide RunSettings.
type SettingsPlanner struct {
	next     planner
	settings RunSettings
	observe  CascadeObserver
}

// NewSettingsPlanner returns a planner that plans with next and adds s to
// every run; observe may be nil.
func NewSettingsPlanner(next planner, s RunSettings, observe CascadeObserver) *SettingsPlanner {
	return &SettingsPlanner{next: next, settings: s, observe: observe}
}

// Plan plans ev with the underlying planner and applies the settings: the
// global error handler to runs without their own, the cascade limit, the
// heartbeat timeout and env to all.
func (p *SettingsPlanner) Plan(ev run.Event) []run.Input {
	ins := p.next.Plan(ev)
	for i := range ins {
		in := &ins[i]
		if len(in.OnError) == 0 && len(p.settings.OnError) > 0 {
			in.OnError = slices.Clone(p.settings.OnError)
		}
		in.MaxCascadeDepth, in.HeartbeatTimeout, in.Env = p.settings.MaxCascadeDepth, p.settings.HeartbeatTimeout, p.settings.Env
		if p.observe == nil {
			continue
		}
		switch {
		case slices.Contains(ev.Cascade, in.Trigger.Tag):
			p.observe(in.Trigger.Tag, CascadeLoop)
		case len(ev.Cascade) > 0 && len(ev.Cascade)+1 > p.settings.MaxCascadeDepth:
			p.observe(in.Trigger.Tag, CascadeDepth)
		}
	}
	return ins
}
