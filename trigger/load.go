package trigger

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/triggerd/triggerd/run"
	"github.com/triggerd/triggerd/trigger/template"
)

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
			o.local.localizeEntry(e)
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
	rf := template.JoinField(field, "retry")
	if a.Retry.MaxAttempts < 1 {
		p.add(template.JoinField(rf, "maxAttempts"), "must be at least 1")
	}
	if a.Retry.BackoffMultiplier < 1 {
		p.add(template.JoinField(rf, "backoffMultiplier"), "must be at least 1")
	}
	if a.Retry.MaxDelay < a.Retry.InitialDelay {
		p.add(template.JoinField(rf, "maxDelay"), "must not be shorter than initialDelay")
	}
	if a.Timeout <= 0 {
		p.add(template.JoinField(field, "timeout"), "must be positive")
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
