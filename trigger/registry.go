package trigger

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/triggerd/triggerd/run"
)

// Registry holds the triggers a process runs: the persisted set (replaced
// whole on every reload) plus triggers registered in memory for this
// process only (Ductape's register/unregister). It is safe for concurrent
// use. Readers (Plan, TriggersFor, Test, Execute, Snapshot) load an
// immutable *Set through an atomic pointer and never lock; writers
// (Replace, Register, Unregister) serialise on a mutex, build a new Set and
// swap it in. A change never affects a run already planned: Plan returns
// copies.
type Registry struct {
	mu        sync.Mutex
	persisted []Definition
	local     map[string]Definition // registered in memory, by tag
	snap      atomic.Pointer[Set]
	// opts validate every set the registry builds (the limits); hooks
	// are what its Plan adds (unknown reports, refetch).
	opts  []Option
	hooks planHooks
}

// WithUnknownObserver makes a Registry's Plan report every condition
// evaluated on an unavailable value (NewUnknownLog logs and counts them).
// Only NewRegistry reads it.
func WithUnknownObserver(o UnknownObserver) Option {
	return func(opts *options) { opts.hooks.observe = o }
}

// WithRowFetcher lets a Registry's triggers with refetch read their
// unavailable columns through f, each read bounded by timeout
// (DefaultRefetchTimeout if not positive). Without it, refetch does
// nothing and the columns stay unavailable. Only NewRegistry reads it.
func WithRowFetcher(f RowFetcher, timeout time.Duration) Option {
	return func(opts *options) { opts.hooks.fetch, opts.hooks.fetchTimeout = f, timeout }
}

// NewRegistry returns an empty registry whose sets are built with opts.
func NewRegistry(opts ...Option) *Registry {
	r := &Registry{local: map[string]Definition{}, opts: opts, hooks: newOptions(opts).hooks}
	empty, _ := NewSet(nil)
	r.snap.Store(empty)
	return r
}

// Snapshot returns the current set. It is immutable: later changes to the
// registry build a new one.
func (r *Registry) Snapshot() *Set { return r.snap.Load() }

// Replace swaps in defs as the persisted set, validated as a whole with
// the registered triggers. On error (a *ValidationError) the current set
// stays. A persisted tag equal to a registered one is a duplicate: the
// registered trigger must be unregistered first.
func (r *Registry) Replace(defs []Definition) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	defs = append([]Definition(nil), defs...)
	if err := r.rebuild(defs, r.local); err != nil {
		return err
	}
	r.persisted = defs
	return nil
}

// Register adds def to this process only. The definition is validated
// alone and against the current set; a tag that is already persisted or
// registered is refused (a *ValidationError on field "tag").
func (r *Registry) Register(def Definition) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, dup := r.local[def.Tag]; dup && def.Tag != "" {
		return &ValidationError{Problems: []Problem{{File: def.File, Tag: def.Tag, Field: "tag", Reason: "duplicate tag (already registered in this process)"}}}
	}
	for _, d := range r.persisted {
		if d.Tag == def.Tag && def.Tag != "" {
			return &ValidationError{Problems: []Problem{{File: def.File, Tag: def.Tag, Field: "tag", Reason: "duplicate tag (a persisted trigger has it)"}}}
		}
	}
	local := make(map[string]Definition, len(r.local)+1)
	for k, v := range r.local {
		local[k] = v
	}
	local[def.Tag] = def
	if err := r.rebuild(r.persisted, local); err != nil {
		return err
	}
	r.local = local
	return nil
}

// Unregister removes a trigger registered with Register and reports
// whether there was one. Persisted triggers are not affected.
func (r *Registry) Unregister(tag string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.local[tag]; !ok {
		return false
	}
	local := make(map[string]Definition, len(r.local))
	for k, v := range r.local {
		if k != tag {
			local[k] = v
		}
	}
	if err := r.rebuild(r.persisted, local); err != nil {
		// Removing a trigger cannot make a valid set invalid.
		panic(fmt.Sprintf("trigger: registry: %v", err))
	}
	r.local = local
	return true
}

// Registered lists the tags registered in memory, sorted.
func (r *Registry) Registered() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Sorted(maps.Keys(r.local))
}

func (r *Registry) rebuild(persisted []Definition, local map[string]Definition) error {
	all := append([]Definition(nil), persisted...)
	for _, tag := range slices.Sorted(maps.Keys(local)) {
		all = append(all, local[tag])
	}
	s, err := NewSet(all, r.opts...)
	if err != nil {
		return err
	}
	r.snap.Store(s)
	return nil
}

// Plan returns the runs ev starts (see Set.Plan), from the current set.
func (r *Registry) Plan(ev run.Event) []run.Input { return r.Snapshot().plan(ev, r.hooks) }

// TriggersFor returns the enabled triggers on table for event (see
// Set.TriggersFor): Ductape's getTriggersForEvent.
func (r *Registry) TriggersFor(table, event string) []Definition {
	return r.Snapshot().TriggersFor(table, event)
}

// Test is a dry run of ev against the current set (see Set.Test).
func (r *Registry) Test(ev run.Event) Report { return r.Snapshot().Test(ev) }

// Execute plans ev and calls start for every run, in plan order, with the
// same snapshot of the set: Ductape's execute. start is typically a
// Temporal client start (see ingest); every run is attempted, and the
// errors are joined. It returns the planned inputs.
func (r *Registry) Execute(ctx context.Context, ev run.Event, start func(context.Context, run.Input) error) ([]run.Input, error) {
	ins := r.Plan(ev)
	var errs []error
	for _, in := range ins {
		if err := ctx.Err(); err != nil {
			errs = append(errs, err)
			break
		}
		if err := start(ctx, in); err != nil {
			errs = append(errs, fmt.Errorf("trigger %q: %w", in.Trigger.Tag, err))
		}
	}
	return ins, errors.Join(errs...)
}

// TriggersFor returns the enabled definitions that list table (a bare
// table, which matches every entry naming that table whatever its
// qualifiers, or schema.table / db.schema.table, matched as an event's
// table is) and whose events include event. event may be an
// after* event (afterWrite triggers are included for insert, update and
// delete) or a before* event (only triggers that list it). Ordered by
// priority then tag.
func (s *Set) TriggersFor(table, event string) []Definition {
	name, ok := NormalizeEvent(event)
	if !ok {
		return nil
	}
	ev := run.Event{Table: table}
	if parts := strings.Split(table, "."); len(parts) == 2 {
		ev.Schema, ev.Table = parts[0], parts[1]
	} else if len(parts) == 3 {
		ev.Database, ev.Schema, ev.Table = parts[0], parts[1], parts[2]
	}
	bare := !strings.Contains(table, ".")
	var out []Definition
	for _, e := range s.entries {
		if !e.tableOK(&ev) && !(bare && e.namesTable(table)) {
			continue
		}
		hit := contains(e.def.Events, name)
		if !hit && strings.HasPrefix(name, "after") && name != EventAfterWrite {
			hit = e.after[EventAfterWrite]
		}
		if hit {
			out = append(out, e.def)
		}
	}
	return out
}

// Len returns how many definitions the set holds, disabled ones included.
func (s *Set) Len() int { return len(s.defs) }

// namesTable is true when one of e's tables has this name, qualified or not.
func (e *entry) namesTable(name string) bool {
	for _, t := range e.tables {
		if strings.EqualFold(t.name, name) {
			return true
		}
	}
	return false
}
