package quotas

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/triggerd/triggerd/run"
)

// Override is a limit set at runtime on a quota key (action:<tag>/<name>,
// target:<target> or shared:<name>). It wins over config and trigger
// definitions until it is removed. Changes are recorded with their actor.
type Override struct {
	Key   string    `json:"key"`
	Limit run.Limit `json:"limit"`
	Actor string    `json:"actor"`
	At    time.Time `json:"at"`
	// Removed marks, in the change log, an override that was removed.
	Removed bool `json:"removed,omitempty"`
}

// OverrideStore keeps runtime overrides where every process reads them.
type OverrideStore interface {
	// Overrides returns the current overrides by key.
	Overrides(ctx context.Context) (map[string]Override, error)
	// Set records o (o.Removed removes the key's override) and appends it
	// to the change log.
	Set(ctx context.Context, o Override) error
	// Changes returns the latest changes, newest first, at most n.
	Changes(ctx context.Context, n int) ([]Override, error)
}

// maxChanges bounds the change log.
const maxChanges = 1000

// RedisOverrides keeps overrides in a Redis hash and the change log in a
// capped list, under prefix.
type RedisOverrides struct {
	rdb    redis.UniversalClient
	prefix string
}

// NewRedisOverrides returns a store over rdb whose keys start with prefix.
func NewRedisOverrides(rdb redis.UniversalClient, prefix string) *RedisOverrides {
	return &RedisOverrides{rdb: rdb, prefix: prefix}
}

func (r *RedisOverrides) hash() string      { return r.prefix + "overrides" }
func (r *RedisOverrides) changeLog() string { return r.prefix + "changes" }

// Overrides implements OverrideStore.
func (r *RedisOverrides) Overrides(ctx context.Context) (map[string]Override, error) {
	m, err := r.rdb.HGetAll(ctx, r.hash()).Result()
	if err != nil {
		return nil, fmt.Errorf("read quota overrides: %w", err)
	}
	out := make(map[string]Override, len(m))
	for k, v := range m { // decoding only: order does not matter
		var o Override
		if err := json.Unmarshal([]byte(v), &o); err != nil {
			return nil, fmt.Errorf("quota override %q: %w", k, err)
		}
		out[k] = o
	}
	return out, nil
}

// Set implements OverrideStore. The override and its log entry are written
// in one transaction.
func (r *RedisOverrides) Set(ctx context.Context, o Override) error {
	b, err := json.Marshal(o)
	if err != nil {
		return err
	}
	_, err = r.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		if o.Removed {
			p.HDel(ctx, r.hash(), o.Key)
		} else {
			p.HSet(ctx, r.hash(), o.Key, b)
		}
		p.LPush(ctx, r.changeLog(), b)
		p.LTrim(ctx, r.changeLog(), 0, maxChanges-1)
		return nil
	})
	if err != nil {
		return fmt.Errorf("write quota override %q: %w", o.Key, err)
	}
	return nil
}

// Changes implements OverrideStore.
func (r *RedisOverrides) Changes(ctx context.Context, n int) ([]Override, error) {
	if n <= 0 || n > maxChanges {
		n = maxChanges
	}
	l, err := r.rdb.LRange(ctx, r.changeLog(), 0, int64(n-1)).Result()
	if err != nil {
		return nil, fmt.Errorf("read quota changes: %w", err)
	}
	out := make([]Override, 0, len(l))
	for _, v := range l {
		var o Override
		if err := json.Unmarshal([]byte(v), &o); err != nil {
			return nil, fmt.Errorf("quota change: %w", err)
		}
		out = append(out, o)
	}
	return out, nil
}

// MemoryOverrides keeps overrides in the process (no Redis: one process).
type MemoryOverrides struct {
	mu      sync.Mutex
	current map[string]Override
	log     []Override
}

// NewMemoryOverrides returns an empty in-process store.
func NewMemoryOverrides() *MemoryOverrides {
	return &MemoryOverrides{current: map[string]Override{}}
}

// Overrides implements OverrideStore.
func (m *MemoryOverrides) Overrides(context.Context) (map[string]Override, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make(map[string]Override, len(m.current))
	for k, v := range m.current { // copying only
		out[k] = v
	}
	return out, nil
}

// Set implements OverrideStore.
func (m *MemoryOverrides) Set(_ context.Context, o Override) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if o.Removed {
		delete(m.current, o.Key)
	} else {
		m.current[o.Key] = o
	}
	m.log = append(m.log, o)
	if len(m.log) > maxChanges {
		m.log = m.log[len(m.log)-maxChanges:]
	}
	return nil
}

// Changes implements OverrideStore.
func (m *MemoryOverrides) Changes(_ context.Context, n int) ([]Override, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if n <= 0 || n > len(m.log) {
		n = len(m.log)
	}
	out := make([]Override, 0, n)
	for i := len(m.log) - 1; i >= 0 && len(out) < n; i-- {
		out = append(out, m.log[i])
	}
	return out, nil
}

// sortedKeys lists m's keys in order.
func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}
