// Package overrides keeps settings changed at runtime (quota limits,
// breaker settings) where every process reads them, with a log of who
// changed what, and keeps each process's view of them fresh.
//
// It backs quotas and fallbacks alike; each stores its own value type
// under its own key prefix.
package overrides

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// Entry is a value set at runtime on a key, or (Removed) its removal, as
// recorded with its actor and time.
type Entry[T any] struct {
	Key     string    `json:"key"`
	Value   T         `json:"value"`
	Actor   string    `json:"actor"`
	At      time.Time `json:"at"`
	Removed bool      `json:"removed,omitempty"`
}

// Store keeps the current entries and the change log.
type Store[T any] interface {
	// Current returns the entries in force by key.
	Current(ctx context.Context) (map[string]Entry[T], error)
	// Set records e (e.Removed removes the key) and logs it.
	Set(ctx context.Context, e Entry[T]) error
	// Changes returns the latest changes, newest first, at most n.
	Changes(ctx context.Context, n int) ([]Entry[T], error)
}

// MaxChanges bounds the change log.
const MaxChanges = 1000

// Redis keeps entries in a hash (<prefix>overrides) and the log in a capped
// list (<prefix>changes).
type Redis[T any] struct {
	rdb    redis.UniversalClient
	prefix string
}

// NewRedis returns a store over rdb whose keys start with prefix.
func NewRedis[T any](rdb redis.UniversalClient, prefix string) *Redis[T] {
	return &Redis[T]{rdb: rdb, prefix: prefix}
}

func (r *Redis[T]) hash() string      { return r.prefix + "overrides" }
func (r *Redis[T]) changeLog() string { return r.prefix + "changes" }

// Current implements Store.
func (r *Redis[T]) Current(ctx context.Context) (map[string]Entry[T], error) {
	m, err := r.rdb.HGetAll(ctx, r.hash()).Result()
	if err != nil {
		return nil, fmt.Errorf("read overrides: %w", err)
	}
	out := make(map[string]Entry[T], len(m))
	for k, v := range m { // decoding only: order does not matter
		var e Entry[T]
		if err := json.Unmarshal([]byte(v), &e); err != nil {
			return nil, fmt.Errorf("override %q: %w", k, err)
		}
		out[k] = e
	}
	return out, nil
}

// Set implements Store: the entry and its log line in one transaction.
func (r *Redis[T]) Set(ctx context.Context, e Entry[T]) error {
	b, err := json.Marshal(e)
	if err != nil {
		return err
	}
	_, err = r.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		if e.Removed {
			p.HDel(ctx, r.hash(), e.Key)
		} else {
			p.HSet(ctx, r.hash(), e.Key, b)
		}
		p.LPush(ctx, r.changeLog(), b)
		p.LTrim(ctx, r.changeLog(), 0, MaxChanges-1)
		return nil
	})
	if err != nil {
		return fmt.Errorf("write override %q: %w", e.Key, err)
	}
	return nil
}

// Changes implements Store.
func (r *Redis[T]) Changes(ctx context.Context, n int) ([]Entry[T], error) {
	if n <= 0 || n > MaxChanges {
		n = MaxChanges
	}
	l, err := r.rdb.LRange(ctx, r.changeLog(), 0, int64(n-1)).Result()
	if err != nil {
		return nil, fmt.Errorf("read override changes: %w", err)
	}
	out := make([]Entry[T], 0, len(l))
	for _, v := range l {
		var e Entry[T]
		if err := json.Unmarshal([]byte(v), &e); err != nil {
			return nil, fmt.Errorf("override change: %w", err)
		}
		out = append(out, e)
	}
	return out, nil
}

// Memory keeps entries in the process (no Redis: one process).
type Memory[T any] struct {
	mu      sync.Mutex
	current map[string]Entry[T]
	log     []Entry[T]
}

// NewMemory returns an empty in-process store.
func NewMemory[T any]() *Memory[T] { return &Memory[T]{current: map[string]Entry[T]{}} }

// Current implements Store.
func (m *Memory[T]) Current(context.Context) (map[string]Entry[T], error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make(map[string]Entry[T], len(m.current))
	for k, v := range m.current { // copying only
		out[k] = v
	}
	return out, nil
}

// Set implements Store.
func (m *Memory[T]) Set(_ context.Context, e Entry[T]) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if e.Removed {
		delete(m.current, e.Key)
	} else {
		m.current[e.Key] = e
	}
	m.log = append(m.log, e)
	if len(m.log) > MaxChanges {
		m.log = m.log[len(m.log)-MaxChanges:]
	}
	return nil
}

// Changes implements Store.
func (m *Memory[T]) Changes(_ context.Context, n int) ([]Entry[T], error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if n <= 0 || n > len(m.log) {
		n = len(m.log)
	}
	out := make([]Entry[T], 0, n)
	for i := len(m.log) - 1; i >= 0 && len(out) < n; i-- {
		out = append(out, m.log[i])
	}
	return out, nil
}

// Live is a process's view of a Store: read on every decorated call, it
// is refreshed by Run every interval (and at once after Set), so a change
// made through any process applies here within that interval.
type Live[T any] struct {
	store   Store[T]
	what    string
	current atomic.Pointer[map[string]Entry[T]]
	mu      sync.Mutex // serialises refreshes
}

// NewLive returns a view of store; what names it in logs ("quota").
func NewLive[T any](store Store[T], what string) *Live[T] {
	l := &Live[T]{store: store, what: what}
	empty := map[string]Entry[T]{}
	l.current.Store(&empty)
	return l
}

// Store returns the underlying store.
func (l *Live[T]) Store() Store[T] { return l.store }

// Get returns the entry in force for key, as last read.
func (l *Live[T]) Get(key string) (Entry[T], bool) {
	e, ok := (*l.current.Load())[key]
	return e, ok
}

// Applied returns the entries in force, as last read, by key.
func (l *Live[T]) Applied() map[string]Entry[T] {
	cur := *l.current.Load()
	out := make(map[string]Entry[T], len(cur))
	for k, v := range cur { // copying only
		out[k] = v
	}
	return out
}

// Refresh rereads the store now.
func (l *Live[T]) Refresh(ctx context.Context) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	cur, err := l.store.Current(ctx)
	if err != nil {
		return err
	}
	l.current.Store(&cur)
	return nil
}

// Set records e and applies it to this process at once.
func (l *Live[T]) Set(ctx context.Context, e Entry[T]) error {
	if err := l.store.Set(ctx, e); err != nil {
		return err
	}
	return l.Refresh(ctx)
}

// Run rereads the store every interval until ctx is done. A failed read
// keeps the last entries and is logged once until reads work again.
func (l *Live[T]) Run(ctx context.Context, every time.Duration, log *slog.Logger) error {
	t := time.NewTicker(every)
	defer t.Stop()
	failing := false
	for {
		err := l.Refresh(ctx)
		switch {
		case err != nil && ctx.Err() == nil && !failing:
			log.Warn("cannot read "+l.what+" overrides; keeping the last ones", "error", err)
			failing = true
		case err == nil && failing:
			log.Info(l.what + " overrides readable again")
			failing = false
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}
