// Package triggerstore persists trigger definitions as versioned resources.
//
// The store knows nothing of the trigger language: a definition is an opaque
// JSON document keyed by its tag. Every change appends a version to the tag's
// history (deletions included), so old definitions stay readable and a run can
// record exactly which version it executed.
//
// Three drivers implement Store: MemoryStore (unit tests of other packages),
// SQLiteStore (the embedded default) and PostgresStore. They share one
// behaviour, pinned down by the conformance suite in triggerstore/storetest,
// and the two SQL drivers share one schema shape:
//
//   - triggerd_trigger_versions: every version of every tag, primary key
//     (tag, version), with seq, the global change sequence number;
//   - triggerd_triggers: the latest version of each tag ever written
//     (deleted rows included, so a recreated tag continues its numbering);
//   - triggerd_revision: a single row holding the last seq handed out.
package triggerstore

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"
)

// Errors returned (wrapped) by every driver; test them with errors.Is.
var (
	ErrNotFound        = errors.New("trigger not found")
	ErrExists          = errors.New("trigger already exists")
	ErrVersionConflict = errors.New("version conflict")
)

// errInvalid is wrapped around argument errors (empty tag, malformed spec).
// It is not exported because callers validate definitions long before they
// reach the store; it only has to produce a clear message.
var errInvalid = errors.New("invalid argument")

// Record is one version of one trigger.
type Record struct {
	Tag string `json:"tag"`
	// Version counts per tag from 1. Numbers are never reused: a tag deleted
	// at version 2 and created again continues at version 3.
	Version int64 `json:"version"`
	// Spec is the definition document in canonical JSON (compact, object
	// keys sorted); nil when Deleted.
	Spec    json.RawMessage `json:"spec,omitempty"`
	Deleted bool            `json:"deleted,omitempty"`
	// Actor is who made the change, as given by the caller.
	Actor string `json:"actor"`
	// ChangedAt is set by the store, in UTC, truncated to microseconds so
	// every driver (PostgreSQL timestamps have microsecond precision) returns
	// the same value it was given.
	ChangedAt time.Time `json:"changedAt"`
}

// ChangeKind names the operation of a Change.
type ChangeKind string

// The kinds of change Apply understands.
const (
	ChangeCreate ChangeKind = "create"
	ChangeUpdate ChangeKind = "update"
	ChangeUpsert ChangeKind = "upsert" // create, or update when the tag is live
	ChangeDelete ChangeKind = "delete"
)

// Change is one element of an Apply batch.
type Change struct {
	Kind ChangeKind
	Tag  string
	Spec json.RawMessage // ignored for deletes
	// IfVersion, when not 0, must equal the tag's current version (the
	// latest one, a deletion included) or the change fails with
	// ErrVersionConflict: optimistic concurrency for read-modify-write
	// clients such as a partial update through the API.
	IfVersion int64
}

// Store keeps trigger definitions and their history.
type Store interface {
	// Create stores version 1 of a new tag (or the next version of a deleted
	// one). ErrExists when a live trigger has the tag.
	Create(ctx context.Context, tag string, spec json.RawMessage, actor string) (Record, error)
	// Update stores a new version of a live trigger. ErrNotFound;
	// ErrVersionConflict when ifVersion is not 0 and not current. A spec equal
	// to the current one (after canonicalisation) creates no version and
	// returns the current record.
	Update(ctx context.Context, tag string, spec json.RawMessage, actor string, ifVersion int64) (Record, error)
	// Delete records a deletion version. ErrNotFound unless live.
	Delete(ctx context.Context, tag, actor string) (Record, error)
	// Apply runs the changes in order in one transaction, all or nothing,
	// and returns one Record per change (the current record for no-ops).
	Apply(ctx context.Context, changes []Change, actor string) ([]Record, error)
	// Get returns the current live version. ErrNotFound if none or deleted.
	Get(ctx context.Context, tag string) (Record, error)
	// List returns every live trigger, sorted by tag (byte order).
	List(ctx context.Context) ([]Record, error)
	// History returns every version ascending, deletions included.
	// ErrNotFound if the tag never existed.
	History(ctx context.Context, tag string) ([]Record, error)
	// GetVersion returns one version (possibly a deletion). ErrNotFound.
	GetVersion(ctx context.Context, tag string, version int64) (Record, error)
	// Revision returns the global change sequence: it grows with every
	// version written for any tag and never otherwise, so a poller detects
	// "nothing changed" with one cheap query.
	Revision(ctx context.Context) (int64, error)
	Close() error
}

// Canonicalize returns the canonical form of a JSON document: compact, object
// keys sorted (encoding/json sorts map keys), numbers kept verbatim
// (json.Number) so no precision is lost, no HTML escaping. Two documents that
// differ only in formatting or key order have byte-equal canonical forms; this
// is what the "unchanged update" check compares.
func Canonicalize(doc json.RawMessage) (json.RawMessage, error) {
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("spec is not valid JSON: %w", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("spec has data after the JSON document")
	}
	if v == nil {
		return nil, errors.New("spec is null")
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, fmt.Errorf("encode spec: %w", err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// txn is what the shared write logic needs from a driver's transaction.
// Drivers guarantee that nothing else writes between the first latest() and
// the commit: SQLite through BEGIN IMMEDIATE, PostgreSQL by locking the
// triggerd_revision row, the memory store by its mutex.
type txn interface {
	// latest returns the newest version of tag, deleted or not.
	latest(ctx context.Context, tag string) (Record, bool, error)
	// insert appends rec to the history with sequence number seq and makes
	// it the tag's latest version.
	insert(ctx context.Context, rec Record, seq int64) error
}

// now returns the store's change timestamp; see Record.ChangedAt.
func now() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }

// applyBatch runs changes against tx. rev is the revision before the batch;
// the returned revision is the seq of the last version written (rev when
// every change was a no-op). Errors name the change that failed.
func applyBatch(ctx context.Context, tx txn, rev int64, changes []Change, actor string) ([]Record, int64, error) {
	at := now()
	out := make([]Record, 0, len(changes))
	for i, ch := range changes {
		rec, wrote, err := applyChange(ctx, tx, ch, actor, at, rev+1)
		if err != nil {
			if len(changes) > 1 {
				err = fmt.Errorf("change %d: %w", i, err)
			}
			return nil, 0, err
		}
		if wrote {
			rev++
		}
		out = append(out, rec)
	}
	return out, rev, nil
}

func applyChange(ctx context.Context, tx txn, ch Change, actor string, at time.Time, seq int64) (Record, bool, error) {
	rec, wrote, err := applyChangeErr(ctx, tx, ch, actor, at, seq)
	if err != nil {
		return Record{}, false, fmt.Errorf("%s %q: %w", ch.Kind, ch.Tag, err)
	}
	return rec, wrote, nil
}

func applyChangeErr(ctx context.Context, tx txn, ch Change, actor string, at time.Time, seq int64) (Record, bool, error) {
	if ch.Tag == "" {
		return Record{}, false, fmt.Errorf("%w: empty tag", errInvalid)
	}
	var spec json.RawMessage
	if ch.Kind != ChangeDelete {
		var err error
		if spec, err = Canonicalize(ch.Spec); err != nil {
			return Record{}, false, fmt.Errorf("%w: %v", errInvalid, err)
		}
	}
	cur, exists, err := tx.latest(ctx, ch.Tag)
	if err != nil {
		return Record{}, false, err
	}
	live := exists && !cur.Deleted
	kind := ch.Kind
	if kind == ChangeUpsert {
		kind = ChangeCreate
		if live {
			kind = ChangeUpdate
		}
	}
	switch kind {
	case ChangeCreate:
		if live {
			return Record{}, false, ErrExists
		}
	case ChangeUpdate, ChangeDelete:
		if !live {
			return Record{}, false, ErrNotFound
		}
	default:
		return Record{}, false, fmt.Errorf("%w: unknown change kind %q", errInvalid, ch.Kind)
	}
	if ch.IfVersion != 0 && ch.IfVersion != cur.Version {
		return Record{}, false, fmt.Errorf("%w: expected version %d, current is %d", ErrVersionConflict, ch.IfVersion, cur.Version)
	}
	if kind == ChangeUpdate && bytes.Equal(cur.Spec, spec) {
		return cur, false, nil
	}
	rec := Record{Tag: ch.Tag, Version: cur.Version + 1, Spec: spec, Deleted: kind == ChangeDelete, Actor: actor, ChangedAt: at}
	if err := tx.insert(ctx, rec, seq); err != nil {
		return Record{}, false, err
	}
	return rec, true, nil
}

// one runs a single change through a driver's Apply.
func one(ctx context.Context, s Store, ch Change, actor string) (Record, error) {
	recs, err := s.Apply(ctx, []Change{ch}, actor)
	if err != nil {
		return Record{}, err
	}
	return recs[0], nil
}
