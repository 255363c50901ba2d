package triggerstore

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"sync"
)

// MemoryStore is a Store held in process memory, for unit tests of other
// packages. It behaves exactly like the SQL drivers (same conformance suite)
// but forgets everything when the process ends.
type MemoryStore struct {
	mu       sync.RWMutex
	history  map[string][]Record // tag -> versions ascending
	revision int64
	closed   bool
}

var _ Store = (*MemoryStore)(nil)

// NewMemory returns an empty MemoryStore.
func NewMemory() *MemoryStore {
	return &MemoryStore{history: make(map[string][]Record)}
}

// memTxn stages writes on top of the committed history so a failing batch
// leaves nothing behind: the staged versions are simply dropped.
type memTxn struct {
	s      *MemoryStore
	staged map[string][]Record
}

func (t *memTxn) latest(_ context.Context, tag string) (Record, bool, error) {
	if v := t.staged[tag]; len(v) > 0 {
		return v[len(v)-1], true, nil
	}
	if v := t.s.history[tag]; len(v) > 0 {
		return v[len(v)-1], true, nil
	}
	return Record{}, false, nil
}

func (t *memTxn) insert(_ context.Context, rec Record, _ int64) error {
	t.staged[rec.Tag] = append(t.staged[rec.Tag], rec)
	return nil
}

func (s *MemoryStore) Create(ctx context.Context, tag string, spec json.RawMessage, actor string) (Record, error) {
	return one(ctx, s, Change{Kind: ChangeCreate, Tag: tag, Spec: spec}, actor)
}

func (s *MemoryStore) Update(ctx context.Context, tag string, spec json.RawMessage, actor string, ifVersion int64) (Record, error) {
	return one(ctx, s, Change{Kind: ChangeUpdate, Tag: tag, Spec: spec, IfVersion: ifVersion}, actor)
}

func (s *MemoryStore) Delete(ctx context.Context, tag, actor string) (Record, error) {
	return one(ctx, s, Change{Kind: ChangeDelete, Tag: tag}, actor)
}

func (s *MemoryStore) Apply(ctx context.Context, changes []Change, actor string) ([]Record, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.check(ctx); err != nil {
		return nil, err
	}
	tx := &memTxn{s: s, staged: make(map[string][]Record)}
	recs, rev, err := applyBatch(ctx, tx, s.revision, changes, actor)
	if err != nil {
		return nil, fmt.Errorf("triggerstore: %w", err)
	}
	for tag, v := range tx.staged {
		s.history[tag] = append(s.history[tag], v...)
	}
	s.revision = rev
	return recs, nil
}

func (s *MemoryStore) Get(ctx context.Context, tag string) (Record, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if err := s.check(ctx); err != nil {
		return Record{}, err
	}
	v := s.history[tag]
	if len(v) == 0 || v[len(v)-1].Deleted {
		return Record{}, fmt.Errorf("triggerstore: get %q: %w", tag, ErrNotFound)
	}
	return v[len(v)-1], nil
}

func (s *MemoryStore) List(ctx context.Context) ([]Record, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if err := s.check(ctx); err != nil {
		return nil, err
	}
	out := []Record{}
	for _, v := range s.history {
		if last := v[len(v)-1]; !last.Deleted {
			out = append(out, last)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Tag < out[j].Tag })
	return out, nil
}

func (s *MemoryStore) History(ctx context.Context, tag string) ([]Record, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if err := s.check(ctx); err != nil {
		return nil, err
	}
	v := s.history[tag]
	if len(v) == 0 {
		return nil, fmt.Errorf("triggerstore: history %q: %w", tag, ErrNotFound)
	}
	return slices.Clone(v), nil
}

func (s *MemoryStore) GetVersion(ctx context.Context, tag string, version int64) (Record, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if err := s.check(ctx); err != nil {
		return Record{}, err
	}
	v := s.history[tag]
	if version < 1 || version > int64(len(v)) {
		return Record{}, fmt.Errorf("triggerstore: get %q version %d: %w", tag, version, ErrNotFound)
	}
	return v[version-1], nil
}

func (s *MemoryStore) Revision(ctx context.Context) (int64, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if err := s.check(ctx); err != nil {
		return 0, err
	}
	return s.revision, nil
}

// Close marks the store closed; later calls fail like those of a closed SQL
// store would, which catches use-after-close in tests.
func (s *MemoryStore) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	return nil
}

func (s *MemoryStore) check(ctx context.Context) error {
	if s.closed {
		return fmt.Errorf("triggerstore: store is closed")
	}
	return ctx.Err()
}
