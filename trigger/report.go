package trigger

import (
	"fmt"
	"strings"

	"github.com/triggerd/triggerd/run"
	"github.com/triggerd/triggerd/trigger/template"
)

// DryRunID is the run id templates see in a dry run ({{run.id}}).
const DryRunID = "dry-run"

// Report is the result of a dry run (Set.Test): the body of
// POST /v1/triggers/test and the output of `triggerd triggers test`.
type Report struct {
	// EventName is the trigger event the operation raises (afterInsert...),
	// empty for operations that raise none (snapshot reads).
	EventName string `json:"eventName,omitempty"`
	Table     string `json:"table"`
	Operation string `json:"operation"`
	// Matched lists the tags of the triggers that would run, in plan order.
	Matched []string `json:"matched"`
	// Triggers has one entry per trigger on the event's table, enabled or
	// not, in plan order.
	Triggers []TriggerReport `json:"triggers"`
	// Warnings are what decoding found doubtful in the event (a value
	// that looks like an undecoded Debezium encoding...), and what it
	// does not carry (Unavailable).
	Warnings []string `json:"warnings,omitempty"`
}

// TriggerReport explains one trigger of a dry run.
type TriggerReport struct {
	Tag     string `json:"tag"`
	Name    string `json:"name,omitempty"`
	Version int64  `json:"version,omitempty"`
	Enabled bool   `json:"enabled"`
	// Matched is true when the trigger would run.
	Matched bool `json:"matched"`
	// WouldMatch is true when the event satisfies the trigger, whether or
	// not it is enabled: a disabled trigger can be debugged before it is
	// turned on.
	WouldMatch bool `json:"wouldMatch"`
	// Reason says why it does not run: disabled, event, table, condition
	// or when.
	Reason string `json:"reason,omitempty"`
	// Condition and When are the traces of what was evaluated.
	Condition *Trace `json:"condition,omitempty"`
	When      *Trace `json:"when,omitempty"`
	// Actions are rendered for triggers that would match.
	Actions []ActionReport `json:"actions,omitempty"`
	// Notes say what a run would note: a condition branch that was
	// unknown, a refetch it would try first.
	Notes []string `json:"notes,omitempty"`
}

// ActionReport is one action of a dry run with its config rendered.
type ActionReport struct {
	Name string `json:"name"`
	Type string `json:"type"`
	// Config is rendered with run id "dry-run" and the event's timestamp;
	// outputs of earlier actions are unknown and render as missing.
	Config map[string]any `json:"config,omitempty"`
	// Notes list what rendered empty or null because it was missing,
	// e.g. "actions[0].config.url: record.nickname is missing".
	Notes []string `json:"notes,omitempty"`
	Error string   `json:"error,omitempty"`
}

// Test is a dry run: it says, for every trigger on ev's table (disabled
// ones included), whether ev matches it and why not, with the traces of
// its condition and `when:`, and renders the actions of the triggers that
// would match. It executes nothing.
func (s *Set) Test(ev run.Event) Report {
	name := eventName(ev.Operation)
	rep := Report{EventName: name, Table: ev.QualifiedTable(), Operation: string(ev.Operation), Matched: []string{}, Triggers: []TriggerReport{}}
	rep.Warnings = append(rep.Warnings, ev.Notes...)
	for _, u := range ev.Unavailable {
		why := template.ReasonUnavailable(u)
		if u == run.UnavailablePrevious {
			why = template.ReasonNoPrevious
		}
		rep.Warnings = append(rep.Warnings, why)
	}
	lazy := &lazyEnv{}
	for _, e := range s.all {
		if !e.tableOK(&ev) {
			continue
		}
		tr := TriggerReport{Tag: e.def.Tag, Name: e.def.Name, Version: e.def.Version, Enabled: e.def.Enabled}
		if name == "" {
			tr.Reason = fmt.Sprintf("operation %q raises no trigger event", ev.Operation)
			rep.Triggers = append(rep.Triggers, tr)
			continue
		}
		lazy.unknown = lazy.unknown[:0]
		tr.WouldMatch, tr.Condition, tr.When = e.match(&ev, name, true, lazy)
		if cols := refetchColumns(&ev); e.def.Refetch != nil && len(cols) > 0 {
			tr.Notes = append(tr.Notes, fmt.Sprintf("a run would first refetch %s from database %s (a dry run reads nothing)", strings.Join(cols, ", "), e.def.Refetch.Database))
		}
		if tr.WouldMatch {
			tr.Notes = append(tr.Notes, unknownNotes(lazy.unknown)...)
		}
		switch {
		case !tr.WouldMatch:
			tr.Reason = e.whyNot(&ev, name, tr.Condition, tr.When)
		case !e.def.Enabled:
			tr.Reason = "disabled (the event would match it)"
		default:
			tr.Matched = true
			rep.Matched = append(rep.Matched, e.def.Tag)
		}
		if tr.WouldMatch {
			tr.Actions = renderDryRun(e, &ev, name)
		}
		rep.Triggers = append(rep.Triggers, tr)
	}
	return rep
}

func renderDryRun(e *entry, ev *run.Event, name string) []ActionReport {
	sc := template.Scope{
		Record: ev.Record, PreviousRecord: ev.PreviousRecord, Event: name, Table: ev.Table,
		Database: ev.Database, Operation: string(ev.Operation), Timestamp: ev.Timestamp,
		User: ev.User, Trigger: e.ref, RunID: DryRunID,
		Unavailable: ev.Unavailable, OnUnknown: e.def.OnUnknown,
	}
	out := make([]ActionReport, 0, len(e.actions))
	for i, a := range e.actions {
		ar := ActionReport{Name: a.Name, Type: a.Type}
		cfg, notes, err := template.RenderConfigTrace(a.Config, sc)
		prefix := fmt.Sprintf("actions[%d].config", i)
		for _, n := range notes {
			ar.Notes = append(ar.Notes, template.JoinField(prefix, n))
		}
		if err != nil {
			ar.Error = err.Error()
		}
		ar.Config = cfg
		out = append(out, ar)
	}
	return out
}
