package fallbacks

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/sony/gobreaker/v2"
)

// Store is where breakers keep their shared state: gobreaker's
// SharedDataStore plus a listing for the API.
type Store interface {
	gobreaker.SharedDataStore
	// States returns every breaker's stored state by breaker name.
	States(ctx context.Context) (map[string][]byte, error)
}

// The keys gobreaker's distributed breaker asks the store for.
const (
	stateKeyPrefix = "gobreaker:state:"
	mutexKeyPrefix = "gobreaker:mutex:"
)

// lockTTL bounds how long a crashed holder can keep a breaker locked.
const lockTTL = 5 * time.Second

// lockWait bounds how long Lock waits before it reports failure.
// gobreaker then sleeps half a second between tries; waiting here with
// short polls keeps a contended breaker from adding those half seconds.
const lockWait = 3 * time.Second

// localLocks serialises the process's own holders of one breaker lock,
// so that they queue in the process instead of polling Redis. A waiter
// gives up after lockWait (a probe may hold the lock for as long as its
// call takes), and gobreaker then reports the breaker busy.
type localLocks struct {
	mu    sync.Mutex
	locks map[string]chan struct{}
}

func (l *localLocks) get(name string) chan struct{} {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.locks == nil {
		l.locks = map[string]chan struct{}{}
	}
	c, ok := l.locks[name]
	if !ok {
		c = make(chan struct{}, 1)
		l.locks[name] = c
	}
	return c
}

func (l *localLocks) lock(name string) error {
	t := time.NewTimer(lockWait)
	defer t.Stop()
	select {
	case l.get(name) <- struct{}{}:
		return nil
	case <-t.C:
		return fmt.Errorf("lock %s: busy", name)
	}
}

func (l *localLocks) unlock(name string) { <-l.get(name) }

// RedisStore keeps breaker state in Redis under prefix, shared by every
// process using the same Redis and prefix.
type RedisStore struct {
	rdb    redis.UniversalClient
	prefix string
	token  string
	local  localLocks
}

// NewRedisStore returns a store over rdb whose keys start with prefix.
func NewRedisStore(rdb redis.UniversalClient, prefix string) *RedisStore {
	return &RedisStore{rdb: rdb, prefix: prefix, token: strconv.FormatInt(time.Now().UnixNano(), 36)}
}

// unlockScript deletes the lock only if this process holds it.
var unlockScript = redis.NewScript(`if redis.call("GET", KEYS[1]) == ARGV[1] then return redis.call("DEL", KEYS[1]) end return 0`)

// Lock implements gobreaker.SharedDataStore.
func (s *RedisStore) Lock(name string) error {
	if err := s.local.lock(name); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), lockWait)
	defer cancel()
	for {
		ok, err := s.rdb.SetNX(ctx, s.prefix+name, s.token, lockTTL).Result()
		if err == nil && ok {
			return nil
		}
		if err == nil {
			err = errors.New("breaker locked by another process")
		}
		select {
		case <-ctx.Done():
			s.local.unlock(name)
			return fmt.Errorf("lock %s: %w", name, err)
		case <-time.After(2 * time.Millisecond):
		}
	}
}

// Unlock implements gobreaker.SharedDataStore.
func (s *RedisStore) Unlock(name string) error {
	defer s.local.unlock(name)
	return unlockScript.Run(context.Background(), s.rdb, []string{s.prefix + name}, s.token).Err()
}

// GetData implements gobreaker.SharedDataStore.
func (s *RedisStore) GetData(name string) ([]byte, error) {
	b, err := s.rdb.Get(context.Background(), s.prefix+name).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, nil
	}
	return b, err
}

// SetData implements gobreaker.SharedDataStore.
func (s *RedisStore) SetData(name string, data []byte) error {
	return s.rdb.Set(context.Background(), s.prefix+name, data, 0).Err()
}

// States implements Store.
func (s *RedisStore) States(ctx context.Context) (map[string][]byte, error) {
	out := map[string][]byte{}
	iter := s.rdb.Scan(ctx, 0, s.prefix+stateKeyPrefix+"*", 100).Iterator()
	for iter.Next(ctx) {
		k := iter.Val()
		b, err := s.rdb.Get(ctx, k).Bytes()
		if errors.Is(err, redis.Nil) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out[strings.TrimPrefix(k, s.prefix+stateKeyPrefix)] = b
	}
	return out, iter.Err()
}

// MemoryStore keeps breaker state in the process (no Redis: one process).
type MemoryStore struct {
	local localLocks
	mu    sync.Mutex
	data  map[string][]byte
}

// NewMemoryStore returns an empty in-process store.
func NewMemoryStore() *MemoryStore { return &MemoryStore{data: map[string][]byte{}} }

// Lock implements gobreaker.SharedDataStore.
func (s *MemoryStore) Lock(name string) error { return s.local.lock(name) }

// Unlock implements gobreaker.SharedDataStore.
func (s *MemoryStore) Unlock(name string) error { s.local.unlock(name); return nil }

// GetData implements gobreaker.SharedDataStore.
func (s *MemoryStore) GetData(name string) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.data[name], nil
}

// SetData implements gobreaker.SharedDataStore.
func (s *MemoryStore) SetData(name string, data []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.data[name] = append([]byte(nil), data...)
	return nil
}

// States implements Store.
func (s *MemoryStore) States(context.Context) (map[string][]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string][]byte{}
	for k, v := range s.data { // copying only
		if name, ok := strings.CutPrefix(k, stateKeyPrefix); ok {
			out[name] = v
		}
	}
	return out, nil
}
