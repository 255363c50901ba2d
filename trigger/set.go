package trigger

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
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

func parseTableRef(s string) (tableRef, error) {
	parts := strings.Split(strings.TrimSpace(s), ".")
	for _, p := range parts {
		if p == "" {
			return tableRef{}, fmt.Errorf("%q: want table, schema.table, db.table or db.schema.table", s)
		}
	}
	switch len(parts) {
	case 1:
		return tableRef{name: parts[0]}, nil
	case 2:
		return tableRef{qual: parts[0], name: parts[1]}, nil
	case 3:
		return tableRef{db: parts[0], schema: parts[1], name: parts[2]}, nil
	}
	return tableRef{}, fmt.Errorf("%q: want table, schema.table, db.table or db.schema.table", s)
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

// Load reads trigger definitions from a file (.yaml, .yml or .json) or from
// the files of a directory (not recursive, in name order). Every problem of
// every file is reported in one *ValidationError, and then no Set is
// returned: a deployment never runs half of its triggers.
func Load(path string, opts ...Option) (*Set, error) {
	o := newOptions(opts)
	info, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	files := []string{path}
	if info.IsDir() {
		des, err := os.ReadDir(path)
		if err != nil {
			return nil, err
		}
		files = files[:0]
		for _, de := range des {
			switch strings.ToLower(filepath.Ext(de.Name())) {
			case ".yaml", ".yml", ".json":
				if !de.IsDir() {
					files = append(files, filepath.Join(path, de.Name()))
				}
			}
		}
		sort.Strings(files)
	}
	var list []Problem
	var defs []Definition
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			list = append(list, Problem{File: f, Reason: err.Error()})
			continue
		}
		defs = append(defs, parseInto(data, f, &list)...)
	}
	s := buildReportingAll(defs, &list, o)
	if len(list) > 0 {
		return nil, &ValidationError{Problems: list}
	}
	if len(files) == 0 {
		s.warnings = append(s.warnings, fmt.Sprintf("%s: no .yaml, .yml or .json trigger files", path))
	}
	return s, nil
}

// NewSet validates defs (all of them, reporting every problem in one
// *ValidationError) and builds a Set. Definitions built in code get the
// same defaults as parsed ones for zero action fields (name, retry,
// timeout), but Enabled and Priority are taken as they are.
func NewSet(defs []Definition, opts ...Option) (*Set, error) {
	var list []Problem
	s := build(defs, &list, newOptions(opts))
	if len(list) > 0 {
		return nil, &ValidationError{Problems: list}
	}
	return s, nil
}

// buildReportingAll builds after a parse that may have found problems
// already: the semantic checks run too, but a field that already has a
// structural problem (tag: [x] is "not a string") is not reported again
// ("tag is required").
func buildReportingAll(defs []Definition, list *[]Problem, o options) *Set {
	type key struct{ file, tag, field string }
	seen := map[key]bool{}
	for _, p := range *list {
		seen[key{p.File, p.Tag, p.Field}] = true
	}
	var more []Problem
	s := build(defs, &more, o)
	for _, p := range more {
		if !seen[key{p.File, p.Tag, p.Field}] {
			*list = append(*list, p)
		}
	}
	return s
}

func build(defs []Definition, list *[]Problem, o options) *Set {
	s := &Set{byTable: map[string][]*entry{}}
	seen := map[string]string{} // tag -> file
	for i := range defs {
		d, e := compileDefinition(defs[i], list, o.limits)
		if d.Tag != "" {
			if f, dup := seen[d.Tag]; dup {
				where := ""
				if f != "" {
					where = " in " + f
				}
				problems{file: d.File, tag: d.Tag, list: list}.add("tag", "duplicate tag (already defined%s)", where)
			} else {
				seen[d.Tag] = d.File
			}
		}
		s.defs = append(s.defs, d)
		if e != nil {
			s.all = append(s.all, e)
			if d.Enabled {
				s.entries = append(s.entries, e)
			}
		}
	}
	less := func(a, b Definition) bool {
		if a.Priority != b.Priority {
			return a.Priority < b.Priority
		}
		return a.Tag < b.Tag
	}
	sort.SliceStable(s.defs, func(i, j int) bool { return less(s.defs[i], s.defs[j]) })
	sort.SliceStable(s.entries, func(i, j int) bool { return less(s.entries[i].def, s.entries[j].def) })
	sort.SliceStable(s.all, func(i, j int) bool { return less(s.all[i].def, s.all[j].def) })
	for _, e := range s.entries {
		names := map[string]bool{}
		for _, t := range e.tables {
			n := strings.ToLower(t.name)
			if !names[n] {
				names[n] = true
				s.byTable[n] = append(s.byTable[n], e)
			}
		}
	}
	return s
}

// compileDefinition validates one definition against the limits and
// compiles it. It returns the definition with normalisations applied, and
// a nil entry if it has problems.
func compileDefinition(d Definition, list *[]Problem, lim Limits) (Definition, *entry) {
	before := len(*list)
	p := problems{file: d.File, tag: d.Tag, pos: d.pos, list: list}
	checkLimits(d, lim, p)
	switch {
	case d.Tag == "":
		p.add("tag", "is required")
	case !tagPattern.MatchString(d.Tag):
		p.add("tag", "%q must match %s", d.Tag, tagPattern)
	}
	e := &entry{after: map[string]bool{}}
	if len(d.Tables) == 0 {
		p.add("tables", "must list at least one table")
	}
	for i, t := range d.Tables {
		tr, err := parseTableRef(t)
		if err != nil {
			p.add(fmt.Sprintf("tables[%d]", i), "%v", err)
			continue
		}
		e.tables = append(e.tables, tr)
	}
	if len(d.Events) == 0 {
		p.add("events", "must list at least one event")
	}
	events := make([]string, 0, len(d.Events))
	for i, ev := range d.Events {
		ce, ok := NormalizeEvent(ev)
		if !ok {
			p.add(fmt.Sprintf("events[%d]", i), "unknown event %q", ev)
			continue
		}
		events = append(events, ce)
		if strings.HasPrefix(ce, "after") {
			e.after[ce] = true
		}
	}
	d.Events = events
	e.cond = compileCondition(d.Condition, "condition", p)
	if d.When != "" {
		e.when = compileWhen(d.When, "when", p, lim)
	}
	compileBefore(d, e, p, lim)
	if len(d.Actions) == 0 && !d.IsBefore() {
		p.add("actions", "must list at least one action")
	}
	e.actions, d.Actions = compileActions(d.Actions, "actions", nil, p)
	e.onError = compileDelivery(&d, p)
	d.UnknownHandling.validate(d.IsBefore(), p)
	e.def = d
	e.ref = run.TriggerRef{Tag: d.Tag, Name: d.Name, Version: d.Version}
	if len(*list) > before {
		return d, nil
	}
	return d, e
}

func defaultAction(a Action, i int) Action {
	if a.Name == "" {
		a.Name = fmt.Sprintf("%s-%d", a.Type, i)
	}
	if a.Retry.MaxAttempts == 0 {
		a.Retry.MaxAttempts = run.DefaultMaxAttempts
	}
	if a.Retry.InitialDelay == 0 {
		a.Retry.InitialDelay = Duration(run.DefaultInitialInterval)
	}
	if a.Retry.MaxDelay == 0 {
		a.Retry.MaxDelay = Duration(run.DefaultMaxInterval)
	}
	if a.Retry.BackoffMultiplier == 0 {
		a.Retry.BackoffMultiplier = run.DefaultBackoffCoefficient
	}
	if a.Timeout == 0 {
		a.Timeout = Duration(run.DefaultActionTimeout)
	}
	return a
}

func validateRetry(a Action, field string, p problems) {
	rf := joinField(field, "retry")
	if a.Retry.MaxAttempts < 1 {
		p.add(joinField(rf, "maxAttempts"), "must be at least 1")
	}
	if a.Retry.BackoffMultiplier < 1 {
		p.add(joinField(rf, "backoffMultiplier"), "must be at least 1")
	}
	if a.Retry.MaxDelay < a.Retry.InitialDelay {
		p.add(joinField(rf, "maxDelay"), "must not be shorter than initialDelay")
	}
	if a.Timeout <= 0 {
		p.add(joinField(field, "timeout"), "must be positive")
	}
}

func toRunAction(a Action) run.Action {
	return run.Action{
		Name:   a.Name,
		Type:   a.Type,
		Config: a.Config,
		Retry: run.RetryPolicy{
			MaxAttempts:        a.Retry.MaxAttempts,
			InitialInterval:    a.Retry.InitialDelay.Std(),
			MaxInterval:        a.Retry.MaxDelay.Std(),
			BackoffCoefficient: a.Retry.BackoffMultiplier,
			RetryOn:            a.Retry.RetryOn,
		},
		ContinueOnError: a.ContinueOnError,
		Timeout:         a.Timeout.Std(),
		Guard:           guardOf(a),
		Timing:          a.Timing,
		Queue:           a.Queue,
	}
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
