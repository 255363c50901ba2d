package trigger

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/triggerd/triggerd/run"
	"github.com/triggerd/triggerd/trigger/template"
	"github.com/triggerd/triggerd/trigger/value"
)

// BeforeTrigger is one enabled before-trigger of a Set, compiled and ready
// for the gate. It is immutable and safe for concurrent use.
type BeforeTrigger struct{ e *entry }

// Ref names the trigger (tag, name, version).
func (b BeforeTrigger) Ref() run.TriggerRef { return b.e.ref }

// BeforeTriggers returns the enabled before-triggers for table (a bare
// name matches every entry naming it; schema.table and db.schema.table
// match as an event's table does) and op, beforeWrite included, in
// priority order then tag.
func (s *Set) BeforeTriggers(table string, op run.Operation) []BeforeTrigger {
	name := beforeEventName(op)
	if name == "" {
		return nil
	}
	ev := run.Event{Table: table}
	parts := strings.Split(table, ".")
	switch len(parts) {
	case 2:
		ev.Schema, ev.Table = parts[0], parts[1]
	case 3:
		ev.Database, ev.Schema, ev.Table = parts[0], parts[1], parts[2]
	}
	var out []BeforeTrigger
	for _, e := range s.byTable[strings.ToLower(ev.Table)] {
		if e.before == nil || !(e.before.events[name] || e.before.events[EventBeforeWrite]) {
			continue
		}
		if e.tableOK(&ev) || (len(parts) == 1 && e.namesTable(table)) {
			out = append(out, BeforeTrigger{e})
		}
	}
	return out
}

// Lookuper performs the I/O of lookups for the gate: kind is "http" or
// "sql" and cfg the rendered configuration. It must honour ctx, which
// carries the lookup's time budget, and must only read.
type Lookuper interface {
	Lookup(ctx context.Context, kind string, cfg map[string]any) (any, error)
}

// BeforeState is one record going through the gate. Run changes
// Event.Record in place, so the next trigger sees the previous one's
// changes; Event.PreviousRecord is never changed.
type BeforeState struct {
	Event run.Event
	// Now is the request's time ({{timestamp}}).
	Now time.Time
}

// BeforeResult is what one before-trigger did to one record.
type BeforeResult struct {
	Trigger run.TriggerRef `json:"trigger"`
	Matched bool           `json:"matched"`
	// Reason says why the trigger did not match.
	Reason     string         `json:"reason,omitempty"`
	Lookups    []LookupResult `json:"lookups,omitempty"`
	Changes    []FieldChange  `json:"changes,omitempty"`
	Violations []Violation    `json:"violations,omitempty"`
}

// LookupResult reports one lookup.
type LookupResult struct {
	Name string `json:"name"`
	Kind string `json:"kind"`
	// Error is why it failed; Policy is then the failure policy applied.
	Error  string        `json:"error,omitempty"`
	Policy string        `json:"policy,omitempty"`
	Took   time.Duration `json:"tookNs"`
}

// FieldChange is one field a set rule changed.
type FieldChange struct {
	Field string `json:"field"`
	From  any    `json:"from"`
	To    any    `json:"to"`
	Rule  string `json:"rule"`
}

// Violation is one reason a record is rejected.
type Violation struct {
	// Field is the record field at fault, when known.
	Field   string `json:"field,omitempty"`
	Message string `json:"message"`
	// Rule locates the rule in the trigger ("validate[0]", "lookups[1]").
	Rule string `json:"rule"`
}

// Run evaluates the trigger on st: condition and when, then lookups (each
// under its own timeout, through lk), set rules and validate rules.
// Rejection is reported in the result's Violations, never as an error:
// Run itself does not fail.
func (b BeforeTrigger) Run(ctx context.Context, st *BeforeState, lk Lookuper) BeforeResult {
	e, be := b.e, b.e.before
	res := BeforeResult{Trigger: e.ref}
	name := beforeEventName(st.Event.Operation)
	ev := &st.Event
	lookups := map[string]any{}
	env := evalEnv{ev: ev, event: name, lookups: lookups}
	if e.cond != nil {
		if t := e.cond.eval(env); !t.Result {
			res.Reason = "condition is false"
			return res
		}
	}
	if e.when != nil {
		if t := e.when.eval(env); !t.Result {
			res.Reason = "when is false"
			if t.Reason != "" {
				res.Reason += ": " + t.Reason
			}
			return res
		}
	}
	res.Matched = true
	scope := func() *template.Scope {
		return &template.Scope{Record: ev.Record, PreviousRecord: ev.PreviousRecord, Event: name, Table: ev.Table,
			Database: ev.Database, Operation: string(ev.Operation), Timestamp: st.Now, User: ev.User,
			Trigger: e.ref, Lookups: lookups}
	}
	for i, l := range be.lookups {
		rule := fmt.Sprintf("lookups[%d]", i)
		lr := LookupResult{Name: l.Name, Kind: l.Kind}
		start := time.Now()
		v, err := b.lookup(ctx, l, scope(), lk)
		lr.Took = time.Since(start)
		if err != nil {
			lr.Error, lr.Policy = err.Error(), l.OnError
			if l.OnError == LookupReject {
				res.Lookups = append(res.Lookups, lr)
				res.Violations = append(res.Violations, Violation{Rule: rule, Message: fmt.Sprintf("lookup %s failed: %v", l.Name, err)})
				return res
			}
			v = copyValue(l.Default)
		}
		lookups[l.Name] = v
		res.Lookups = append(res.Lookups, lr)
	}
	for i, r := range be.set {
		rule := fmt.Sprintf("set[%d]", i)
		col := r.field.Root
		old, had := ev.Record[col]
		if r.src.IfMissing && had && old != nil && old != "" {
			continue
		}
		var v any
		var err error
		if r.expr != nil {
			v, err = r.expr.eval(evalEnv{ev: ev, event: name, lookups: lookups})
		} else {
			v, err = template.Render(r.value, *scope())
		}
		if err != nil {
			res.Violations = append(res.Violations, Violation{Field: col, Rule: rule, Message: fmt.Sprintf("cannot compute %s: %v", col, err)})
			return res
		}
		if had && value.Equal(old, v) {
			continue
		}
		if ev.Record == nil {
			ev.Record = map[string]any{}
		}
		ev.Record[col] = v
		res.Changes = append(res.Changes, FieldChange{Field: col, From: old, To: v, Rule: rule})
	}
	for i, r := range be.validate {
		var t Trace
		env := evalEnv{ev: ev, event: name, lookups: lookups}
		if r.cond != nil {
			t = r.cond.eval(env)
		} else {
			t = r.when.eval(env)
		}
		if t.Result {
			continue
		}
		msg, err := template.Render(r.message, *scope())
		if err != nil {
			msg = r.message
		}
		s, _ := template.Text(msg)
		res.Violations = append(res.Violations, Violation{Field: r.field, Rule: fmt.Sprintf("validate[%d]", i), Message: s})
	}
	return res
}

func (b BeforeTrigger) lookup(ctx context.Context, l compiledLookup, sc *template.Scope, lk Lookuper) (any, error) {
	if lk == nil {
		return nil, fmt.Errorf("no lookups are configured in this process")
	}
	cfg, err := template.RenderConfig(l.Config, *sc)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, l.Timeout.Std())
	defer cancel()
	v, err := lk.Lookup(ctx, l.Kind, cfg)
	if err != nil && ctx.Err() == context.DeadlineExceeded {
		return nil, fmt.Errorf("timed out after %s", l.Timeout.Std())
	}
	return v, err
}

func (v *valueProgram) eval(env evalEnv) (any, error) {
	out, _, err := v.prg.Eval(env.celVars(false))
	if err != nil {
		return nil, err
	}
	return celToGo(out), nil
}
