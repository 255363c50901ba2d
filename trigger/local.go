package trigger

import (
	"strings"
	"time"

	"github.com/triggerd/triggerd/run"
	"github.com/triggerd/triggerd/trigger/template"
)

// Which actions run as Temporal local activities (run.Action.Local): in
// the run's workflow task, their result recorded as one marker, with no
// activity task, no matching and no second workflow task. A run of one
// such action costs Temporal 6 history events instead of 11
// (docs/performance.md, "The fast path").
//
// By default an action is local when its type is a short call to a
// service (localByDefault) and its timeout is at most
// DefaultLocalMaxTimeout. An action's `local: true` or `local: false`
// overrides both; WithLocalActivities changes the threshold or turns the
// default off for the process.

// DefaultLocalMaxTimeout is the longest action timeout that runs as a
// local activity by default: the default action timeout, so that every
// action of a default type and timeout is local.
const DefaultLocalMaxTimeout = run.DefaultActionTimeout

// LocalActivities configures which actions run as local activities when
// their definition does not say (WithLocalActivities).
type LocalActivities struct {
	// Off runs no action as a local activity unless its definition says
	// `local: true`.
	Off bool
	// MaxTimeout is the longest action timeout that runs locally by
	// default; 0 means DefaultLocalMaxTimeout.
	MaxTimeout time.Duration
}

// WithLocalActivities sets which actions run as local activities by
// default (the process's delivery.localActivities).
func WithLocalActivities(l LocalActivities) Option {
	return func(o *options) { o.local = l }
}

// localByDefault reports whether actions of type typ are short calls to a
// service that run as local activities unless told otherwise. The others
// (notifications, apps, agents, storage, custom code) can run for long or
// are rate-limited by their providers; they stay regular activities.
func localByDefault(typ string) bool {
	switch typ {
	case run.TypeHTTP, run.TypePublish, run.TypeLog:
		return true
	}
	return strings.HasPrefix(typ, "cache.") || strings.HasPrefix(typ, "database.")
}

// local reports whether a runs as a local activity under l.
func (l LocalActivities) local(a Action) bool {
	switch {
	case a.Timing == run.TimingQueued || isChildType(a.Type):
		// A queued action is handed to its queue by an activity of its
		// own; a child workflow is a workflow command.
		return false
	case a.Local != nil:
		return *a.Local
	case l.Off:
		return false
	}
	max := l.MaxTimeout
	if max <= 0 {
		max = DefaultLocalMaxTimeout
	}
	return localByDefault(a.Type) && a.Timeout.Std() <= max
}

func isChildType(typ string) bool { return typ == "workflow.execute" || typ == "workflow.dispatch" }

// localize sets ra.Local, and that of its fallback actions, as l decides
// for a, the definition ra was compiled from.
func (l LocalActivities) localize(ra *run.Action, a Action) {
	ra.Local = l.local(a)
	if ra.Guard == nil {
		return
	}
	for i := range ra.Guard.Fallback {
		if fa := ra.Guard.Fallback[i].Action; fa != nil && i < len(a.Fallback) && a.Fallback[i].Action != nil {
			l.localize(fa, *a.Fallback[i].Action)
		}
	}
}

// localizeEntry decides Local for every action e runs.
func (l LocalActivities) localizeEntry(e *entry) {
	for i := range e.actions {
		if i < len(e.def.Actions) {
			l.localize(&e.actions[i], e.def.Actions[i])
		}
	}
	for i := range e.onError {
		if i < len(e.def.OnError) {
			l.localize(&e.onError[i], e.def.OnError[i])
		}
	}
}

// checkLocal refuses `local: true` where no local activity runs.
func checkLocal(a Action, field string, p problems) {
	if a.Local == nil || !*a.Local {
		return
	}
	switch {
	case a.Timing == run.TimingQueued:
		p.add(template.JoinField(field, "local"), "cannot be true with timing: queued (the queue runs the action)")
	case isChildType(a.Type):
		p.add(template.JoinField(field, "local"), "cannot be true for %s (a child workflow is not an activity)", a.Type)
	}
}

// decodeLocal reads an action's `local` field: nil when absent.
func decodeLocal(m map[string]any, field string, p problems) *bool {
	v, ok := m["local"]
	if !ok || v == nil {
		return nil
	}
	b, ok := v.(bool)
	if !ok {
		p.add(template.JoinField(field, "local"), "must be true or false")
	}
	return &b
}
