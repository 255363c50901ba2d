package trigger

import (
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/triggerd/triggerd/run"
)

var tagPattern = regexp.MustCompile(run.TagPattern)

// Set is an immutable, validated set of trigger definitions. It is safe for
// concurrent use.
type Set struct {
	defs     []Definition
	entries  []*entry // enabled triggers, ordered by priority then tag
	all      []*entry // every valid trigger, disabled ones too, same order
	byTable  map[string][]*entry
	warnings []string
}

// entry is one enabled trigger compiled for matching.
type entry struct {
	def     Definition
	ref     run.TriggerRef
	tables  []tableRef
	after   map[string]bool // after* events listed
	cond    *compiled
	when    whenProgram
	actions []run.Action
	before  *beforeEntry // nil unless a before-trigger (before.go)
	onError []run.Action
}

// tableRef is one entry of tables: a name with optional qualifiers. A
// two-part entry's qualifier may be the schema or the database.
type tableRef struct {
	db, schema, qual, name string
}

// matches compares case-insensitively: SQL identifiers are folded by the
// databases triggerd reads from, and a mismatch in case is never intended.
func (t tableRef) matches(ev *run.Event) bool {
	if !strings.EqualFold(t.name, ev.Table) {
		return false
	}
	switch {
	case t.qual != "":
		return strings.EqualFold(t.qual, ev.Schema) || strings.EqualFold(t.qual, ev.Database)
	case t.db != "":
		return strings.EqualFold(t.db, ev.Database) && strings.EqualFold(t.schema, ev.Schema)
	}
	return true
}

// Definitions returns the definitions (disabled ones included) ordered by
// priority then tag. The slice is a copy; the definitions' maps must not be
// modified.
func (s *Set) Definitions() []Definition {
	return append([]Definition(nil), s.defs...)
}

// Warnings lists what is valid but probably not what was meant.
func (s *Set) Warnings() []string {
	return append([]string(nil), s.warnings...)
}

// eventName is the specific after* event an operation raises.
func eventName(op run.Operation) string {
	switch op {
	case run.OperationInsert:
		return EventAfterInsert
	case run.OperationUpdate:
		return EventAfterUpdate
	case run.OperationDelete:
		return EventAfterDelete
	}
	return ""
}

// Plan returns one run input per trigger that matches ev, ordered by
// priority (lower first) then tag. Each input has its own Actions and
// OnError slices, but their values (Config maps, RetryOn) are the Set's,
// shared by every run: treat them as read-only (a run's input is
// serialised for Temporal, which hands the workflow a copy of its own).
// A Registry's Plan also reports unknown conditions and refetches rows
// (RegistryOption).
func (s *Set) Plan(ev run.Event) []run.Input { return s.plan(ev, planHooks{}) }

// planHooks are what a Registry adds to planning.
type planHooks struct {
	observe      UnknownObserver
	fetch        RowFetcher
	fetchTimeout time.Duration
}

func (s *Set) plan(ev run.Event, h planHooks) []run.Input {
	name := eventName(ev.Operation)
	if name == "" {
		return nil
	}
	var out []run.Input
	lazy := &lazyEnv{}
	var fetched map[string]*refetched // by database
	for _, e := range s.byTable[strings.ToLower(ev.Table)] {
		evFor, lz, notes := &ev, lazy, []string(nil)
		if r := e.refetched(&ev, h, &fetched); r != nil {
			evFor, lz, notes = &r.ev, r.lazy, r.notes
		}
		if !e.def.Delivery.admits(evFor) {
			continue
		}
		lz.unknown = lz.unknown[:0]
		ok, _, _ := e.match(evFor, name, false, lz)
		if h.observe != nil {
			for _, u := range lz.unknown {
				h.observe(Unknown{Trigger: e.ref, Table: evFor.QualifiedTable(), Field: u.field, Condition: u.condition, Reason: u.reason})
			}
		}
		if ok {
			in := e.input(*evFor, name)
			if len(notes)+len(lz.unknown) > 0 {
				in.Notes = append(notes, unknownNotes(lz.unknown)...)
			}
			out = append(out, in)
		}
	}
	return out
}

// refetched returns ev with its unavailable columns read from e's refetch
// database, or nil when e has no refetch, nothing is unavailable, or no
// fetcher is configured. Each database is read once per event.
func (e *entry) refetched(ev *run.Event, h planHooks, cache *map[string]*refetched) *refetched {
	if e.def.Refetch == nil || h.fetch == nil || !e.eventOK(eventName(ev.Operation)) || !e.tableOK(ev) {
		return nil
	}
	cols := refetchColumns(ev)
	if len(cols) == 0 {
		return nil
	}
	db := e.def.Refetch.Database
	if r, ok := (*cache)[db]; ok {
		return r
	}
	if *cache == nil {
		*cache = map[string]*refetched{}
	}
	r := refetch(h.fetch, h.fetchTimeout, db, ev, cols)
	(*cache)[db] = r
	return r
}

// MatchResult explains whether one trigger matches an event.
type MatchResult struct {
	Trigger run.TriggerRef
	Matched bool
	// Reason says why a trigger did not match (table, event, condition).
	Reason string
	// Condition is the condition's trace, when it was evaluated.
	Condition *Trace
	// When is the `when:` expression's trace, when it was evaluated.
	When *Trace
}

// Match explains, for every enabled trigger in plan order, whether ev
// matches it and why not: the basis of a dry run.
func (s *Set) Match(ev run.Event) []MatchResult {
	name := eventName(ev.Operation)
	out := make([]MatchResult, 0, len(s.entries))
	lazy := &lazyEnv{}
	for _, e := range s.entries {
		r := MatchResult{Trigger: e.ref}
		if name == "" {
			r.Reason = fmt.Sprintf("operation %q raises no trigger event", ev.Operation)
		} else {
			r.Matched, r.Condition, r.When = e.match(&ev, name, true, lazy)
			if !r.Matched {
				r.Reason = e.whyNot(&ev, name, r.Condition, r.When)
			}
		}
		out = append(out, r)
	}
	return out
}

// match says whether ev (raising trigger event name) matches e. With
// trace, it also returns the traces of the condition and of `when:` that
// were evaluated: the condition first, and `when:` only if it held.
func (e *entry) match(ev *run.Event, name string, trace bool, lazy *lazyEnv) (bool, *Trace, *Trace) {
	if !e.eventOK(name) || !e.tableOK(ev) {
		return false, nil, nil
	}
	env := evalEnv{ev: ev, event: name, lazy: lazy}
	var ct, wt *Trace
	if e.cond != nil {
		t := e.cond.eval(env)
		if trace {
			ct = &t
		}
		if !t.Result {
			return false, ct, nil
		}
	}
	if e.when != nil {
		t := e.when.eval(env)
		if trace {
			wt = &t
		}
		if !t.Result {
			return false, ct, wt
		}
	}
	return true, ct, wt
}

func (e *entry) eventOK(name string) bool { return e.after[name] || e.after[EventAfterWrite] }

func (e *entry) tableOK(ev *run.Event) bool {
	for _, t := range e.tables {
		if t.matches(ev) {
			return true
		}
	}
	return false
}

func (e *entry) whyNot(ev *run.Event, name string, ct, wt *Trace) string {
	switch {
	case !e.eventOK(name):
		return fmt.Sprintf("event %s is not one of %s", name, strings.Join(e.def.Events, ", "))
	case !e.tableOK(ev):
		return fmt.Sprintf("table %s is not one of %s", ev.QualifiedTable(), strings.Join(e.def.Tables, ", "))
	case ct != nil && !ct.Result:
		return "condition is false"
	case wt != nil && !wt.Result:
		if wt.Reason != "" {
			return "when is false: " + wt.Reason
		}
		return "when is false"
	}
	return ""
}

// copyValue deep-copies a JSON-like value (maps and slices; the scalars
// are immutable).
func copyValue(v any) any {
	switch x := v.(type) {
	case map[string]any:
		if x == nil {
			return x
		}
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[k] = copyValue(e)
		}
		return m
	case []any:
		l := make([]any, len(x))
		for i, e := range x {
			l[i] = copyValue(e)
		}
		return l
	}
	return v
}
