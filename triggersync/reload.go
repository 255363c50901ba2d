package triggersync

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/triggerd/triggerd/trigger"
	"github.com/triggerd/triggerd/triggerstore"
)

// RevisionStore is what a Reloader needs of the store.
type RevisionStore interface {
	// Revision is a counter bumped by every change, so polling it is one
	// cheap query however many triggers there are.
	Revision(ctx context.Context) (int64, error)
	List(ctx context.Context) ([]triggerstore.Record, error)
}

// notifier is a store that announces committed changes
// (triggerstore.PostgresStore).
type notifier interface {
	Changes(ctx context.Context) <-chan int64
}

// Replacer takes a whole new set of definitions (trigger.Registry).
type Replacer interface {
	Replace(defs []trigger.Definition) error
}

// Reloader keeps a running process's triggers in step with the store: it
// polls the store's revision and, when it moved, loads every live trigger
// and replaces the registry's set at once. Runs already started are not
// affected: each carries a snapshot of its trigger's actions.
type Reloader struct {
	store    RevisionStore
	reg      Replacer
	interval time.Duration
	log      *slog.Logger
	// OnReload, if set, is called after every successful reload (metrics).
	OnReload func(revision int64, triggers int)
	// Check, if set, is run on every reload that sees a new revision. The
	// API refuses writes naming unconfigured resources, but a stored
	// trigger may have been valid under the configuration it was written
	// with: its problems are logged with their field and it stays loaded
	// (its runs fail with the same reason), so that one stale trigger
	// never stops the process or the other triggers.
	Check trigger.Checker
	// Options validate the stored definitions (trigger.WithLimits): the
	// same as the API writes them with.
	Options []trigger.Option

	mu       sync.Mutex // serialises reloads: the poller and POST /load
	loaded   bool
	revision int64
	count    int
}

// NewReloader returns a Reloader polling st every interval.
func NewReloader(st RevisionStore, reg Replacer, interval time.Duration, log *slog.Logger) *Reloader {
	return &Reloader{store: st, reg: reg, interval: interval, log: log}
}

// Reload loads the store's triggers now, whatever the revision.
func (r *Reloader) Reload(ctx context.Context) (int64, int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.reloadLocked(ctx)
}

func (r *Reloader) reloadLocked(ctx context.Context) (int64, int, error) {
	// The revision is read before the list: a change landing in between
	// is loaded now and loaded again at the next poll, never missed.
	rev, err := r.store.Revision(ctx)
	if err != nil {
		return 0, 0, fmt.Errorf("read store revision: %w", err)
	}
	recs, err := r.store.List(ctx)
	if err != nil {
		return 0, 0, fmt.Errorf("list triggers: %w", err)
	}
	defs, err := Definitions(recs, r.Options...)
	if err != nil {
		return 0, 0, err
	}
	if err := r.reg.Replace(defs); err != nil {
		return 0, 0, fmt.Errorf("load triggers at revision %d: %w", rev, err)
	}
	changed := !r.loaded || rev != r.revision
	r.loaded, r.revision, r.count = true, rev, len(defs)
	if changed {
		r.log.Info("triggers reloaded", "revision", rev, "triggers", len(defs))
		if r.Check != nil {
			for _, p := range r.Check(defs) {
				r.log.Warn("stored trigger names a resource the configuration does not define",
					"tag", p.Tag, "field", p.Field, "reason", p.Reason)
			}
		}
	}
	if r.OnReload != nil {
		r.OnReload(rev, len(defs))
	}
	return rev, len(defs), nil
}

// Poll reloads if the store's revision moved since the last load.
func (r *Reloader) Poll(ctx context.Context) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	rev, err := r.store.Revision(ctx)
	if err != nil {
		return fmt.Errorf("read store revision: %w", err)
	}
	if r.loaded && rev == r.revision {
		return nil
	}
	_, _, err = r.reloadLocked(ctx)
	return err
}

// Run polls until ctx is done. A failed poll (store unreachable, a stored
// definition this version cannot load) keeps the triggers loaded so far
// and is retried at the next tick: matching never stops for it.
//
// A store that announces its changes (PostgreSQL's LISTEN/NOTIFY) is also
// polled on every announcement, so changes are seen at once there; the
// ticker stays, since notifications can be lost across reconnects.
func (r *Reloader) Run(ctx context.Context) error {
	t := time.NewTicker(r.interval)
	defer t.Stop()
	var changes <-chan int64
	if n, ok := r.store.(notifier); ok {
		changes = n.Changes(ctx)
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case _, ok := <-changes:
			if !ok {
				changes = nil
				continue
			}
			if err := r.Poll(ctx); err != nil && ctx.Err() == nil {
				r.log.Warn("trigger reload failed; keeping the loaded triggers", "error", err)
			}
		case <-t.C:
			if err := r.Poll(ctx); err != nil && ctx.Err() == nil {
				r.log.Warn("trigger reload failed; keeping the loaded triggers", "error", err)
			}
		}
	}
}
