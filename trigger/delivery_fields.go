package trigger

import (
	"fmt"
	"slices"

	"github.com/triggerd/triggerd/run"
	"github.com/triggerd/triggerd/trigger/template"
)

// Delivery holds a trigger's delivery fields (docs/semantics.md).
type Delivery struct {
	// OnlyOnChange skips updates whose before and after are equal (all
	// columns but IgnoreColumns). A non-empty IgnoreColumns implies it.
	OnlyOnChange  bool
	IgnoreColumns []string
	// Snapshot is what snapshot events (Debezium op "r", let through by
	// kafka.snapshotReads: insert) do for this trigger: SnapshotInsert
	// (the default: run as an insert) or SnapshotIgnore.
	Snapshot string
	// OnError are actions run when a run of the trigger fails; they see
	// {{actions.failed.output.action}}, .error and .attempts.
	OnError []Action
	// For is ForEach (one run per event, the default) or ForAll (one run
	// per source transaction or micro-batch).
	For string
	// Batch is delivery.batch: the runs are carried by a delivery
	// workflow, many at a time (delivery_batch.go); nil for a workflow per run.
	Batch *run.BatchedDelivery
}

// Values of Delivery.For.
const (
	ForEach = "each"
	ForAll  = "all"
)

// Values of Delivery.Snapshot.
const (
	SnapshotInsert = "insert"
	SnapshotIgnore = "ignore"
)

// ActionTiming is an action's timing and, for a queued one, its queue.
type ActionTiming struct {
	Timing string
	Queue  string
}

var deliveryFields = []string{"onlyOnChange", "ignoreColumns", "snapshot", "onError", "for"}
var actionTimingFields = []string{"timing", "queue"}

func decodeDelivery(m map[string]any, f func(string) string, p problems) Delivery {
	var s Delivery
	if v, ok := m["onlyOnChange"]; ok && v != nil {
		b, ok := v.(bool)
		if !ok {
			p.add(f("onlyOnChange"), "must be true or false")
		}
		s.OnlyOnChange = b
	}
	s.IgnoreColumns = getStrings(m, "ignoreColumns", f("ignoreColumns"), p)
	s.Snapshot = getString(m, "snapshot", f("snapshot"), p)
	s.For = getString(m, "for", f("for"), p)
	if v, ok := m["onError"]; ok && v != nil {
		l, ok := v.([]any)
		if !ok {
			p.add(f("onError"), "must be a list of actions")
		}
		for i, a := range l {
			s.OnError = append(s.OnError, decodeAction(a, i, fmt.Sprintf("%s[%d]", f("onError"), i), p))
		}
	}
	return s
}

func decodeActionTiming(m map[string]any, field string, p problems) ActionTiming {
	return ActionTiming{
		Timing: getString(m, "timing", template.JoinField(field, "timing"), p),
		Queue:  getString(m, "queue", template.JoinField(field, "queue"), p),
	}
}

func (s Delivery) document(doc map[string]any) {
	if s.OnlyOnChange {
		doc["onlyOnChange"] = true
	}
	if s.IgnoreColumns != nil {
		doc["ignoreColumns"] = stringsAny(s.IgnoreColumns)
	}
	if s.Snapshot != "" {
		doc["snapshot"] = s.Snapshot
	}
	if s.For != "" {
		doc["for"] = s.For
	}
	if s.OnError != nil {
		l := make([]any, len(s.OnError))
		for i, a := range s.OnError {
			l[i] = a.Document()
		}
		doc["onError"] = l
	}
}

func (t ActionTiming) document(doc map[string]any) {
	if t.Timing != "" {
		doc["timing"] = t.Timing
	}
	if t.Queue != "" {
		doc["queue"] = t.Queue
	}
}

// compileDelivery validates d's delivery fields and its actions' timings,
// and compiles its onError actions.
func compileDelivery(d *Definition, p problems) []run.Action {
	switch d.Snapshot {
	case "", SnapshotInsert, SnapshotIgnore:
	default:
		p.add("snapshot", "unknown value %q (want %q or %q)", d.Snapshot, SnapshotInsert, SnapshotIgnore)
	}
	switch d.For {
	case "", ForEach, ForAll:
	default:
		p.add("for", "unknown value %q (want %q or %q)", d.For, ForEach, ForAll)
	}
	for i, c := range d.IgnoreColumns {
		if c == "" {
			p.add(fmt.Sprintf("ignoreColumns[%d]", i), "must not be empty")
		}
	}
	checkDeliveryBatch(d, p) // delivery_batch.go
	for i, a := range d.Actions {
		if d.For == ForAll && a.Timing == run.TimingSync {
			p.add(fmt.Sprintf("actions[%d].timing", i), "sync orders the runs of one record; a for: all trigger runs per batch")
		}
	}
	out, _ := compileActions(d.OnError, "onError", map[string]bool{template.FailedActionName: true}, p)
	for i, a := range d.OnError {
		if a.Timing == run.TimingSync {
			p.add(fmt.Sprintf("onError[%d].timing", i), "sync is not allowed in onError (the run has already failed)")
		}
	}
	return out
}

func checkTiming(a Action, field string, p problems) {
	switch a.Timing {
	case "", run.TimingAsync, run.TimingSync:
		if a.Queue != "" {
			p.add(template.JoinField(field, "queue"), "is only valid with timing: queued")
		}
	case run.TimingQueued:
		if a.Queue == "" {
			p.add(template.JoinField(field, "queue"), "is required with timing: queued")
		} else if !tagPattern.MatchString(a.Queue) {
			p.add(template.JoinField(field, "queue"), "%q must match %s", a.Queue, tagPattern)
		}
		if a.Type == run.TypeWorkflowExecute || a.Type == run.TypeWorkflowDispatch {
			p.add(template.JoinField(field, "timing"), "queued is not supported for %s (use workflow.dispatch, which does not wait)", a.Type)
		}
	default:
		p.add(template.JoinField(field, "timing"), "unknown timing %q (want sync, async or queued)", a.Timing)
	}
}

// CompileOnError validates a global error handler (config's onError) given
// in the file format, and compiles it; opts decide which of its actions
// run as local activities (WithLocalActivities).
func CompileOnError(raw []any, opts ...Option) ([]run.Action, error) {
	var list []Problem
	p := problems{list: &list}
	var acts []Action
	for i, a := range raw {
		acts = append(acts, decodeAction(a, i, fmt.Sprintf("onError[%d]", i), p))
	}
	out, norm := compileActions(acts, "onError", map[string]bool{template.FailedActionName: true}, p)
	if len(list) > 0 {
		return nil, &ValidationError{Problems: list}
	}
	local := newOptions(opts).local
	for i := range out {
		local.localize(&out[i], norm[i])
	}
	return out, nil
}

// admits reports whether ev may run the trigger at all, before its events,
// tables and conditions are looked at.
func (s Delivery) admits(ev *run.Event) bool {
	if ev.Snapshot && s.Snapshot == SnapshotIgnore {
		return false
	}
	if (s.OnlyOnChange || len(s.IgnoreColumns) > 0) && ev.Operation == run.OperationUpdate &&
		ev.Record != nil && ev.PreviousRecord != nil {
		for _, c := range template.ChangedFields(ev.PreviousRecord, ev.Record) {
			if !slices.Contains(s.IgnoreColumns, c) {
				return true
			}
		}
		return false
	}
	return true
}

// input builds the run input of e for ev.
func (e *entry) input(ev run.Event, name string) run.Input {
	// The actions are the Set's, compiled once and never modified: each
	// run gets its own slices, not copies of their configurations (a deep
	// copy per run was most of Plan's time, issue 13).
	in := run.Input{Trigger: e.ref, EventName: name, Event: ev, Actions: slices.Clone(e.actions)}
	if len(e.onError) > 0 {
		in.OnError = slices.Clone(e.onError)
	}
	in.Cascade = append(slices.Clone(ev.Cascade), e.ref.Tag)
	in.ForAll = e.def.For == ForAll
	in.BatchedDelivery = e.def.Batch
	in.OnUnknown = e.def.OnUnknown
	return in
}
