package overrides

import (
	"context"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/triggerd/triggerd/internal/testenv"
)

type limit struct {
	Rate int `json:"rate"`
}

// storeConformance is what every Store does, in memory or in Redis.
func storeConformance(t *testing.T, s Store[limit]) {
	ctx := context.Background()
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	require.NoError(t, s.Set(ctx, Entry[limit]{Key: "a", Value: limit{3}, Actor: "x", At: at}))
	require.NoError(t, s.Set(ctx, Entry[limit]{Key: "b", Value: limit{9}, Actor: "y", At: at}))
	require.NoError(t, s.Set(ctx, Entry[limit]{Key: "a", Actor: "z", At: at, Removed: true}))
	cur, err := s.Current(ctx)
	require.NoError(t, err)
	assert.Equal(t, map[string]Entry[limit]{"b": {Key: "b", Value: limit{9}, Actor: "y", At: at}}, cur)
	ch, err := s.Changes(ctx, 2)
	require.NoError(t, err)
	require.Len(t, ch, 2)
	assert.Equal(t, "z", ch[0].Actor, "newest first")
	assert.True(t, ch[0].Removed)
	assert.Equal(t, "y", ch[1].Actor)
	all, err := s.Changes(ctx, 0)
	require.NoError(t, err)
	assert.Len(t, all, 3)
}

func TestMemory(t *testing.T) { storeConformance(t, NewMemory[limit]()) }

func TestRedis(t *testing.T) {
	rc := redis.NewClient(&redis.Options{Addr: testenv.RedisAddr(t)})
	defer rc.Close()
	storeConformance(t, NewRedis[limit](rc, fmt.Sprintf("test:%s:%d:", t.Name(), time.Now().UnixNano())))
}

// A change through one process's store reaches another's Live view when it
// refreshes.
func TestLiveFollowsTheStore(t *testing.T) {
	store := NewMemory[limit]()
	writer, reader := NewLive(store, "test"), NewLive(store, "test")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { _ = reader.Run(ctx, 10*time.Millisecond, slog.New(slog.DiscardHandler)) }()
	require.NoError(t, writer.Set(ctx, Entry[limit]{Key: "k", Value: limit{1}}))
	_, ok := writer.Get("k")
	assert.True(t, ok, "the writer applies its own change at once")
	require.Eventually(t, func() bool { e, ok := reader.Get("k"); return ok && e.Value.Rate == 1 }, 5*time.Second, 5*time.Millisecond)
	assert.Len(t, reader.Applied(), 1)
}
