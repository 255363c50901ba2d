package activities

import (
	"context"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/triggerd/triggerd/internal/testenv"
	"github.com/triggerd/triggerd/run"
)

func newRedis(t *testing.T) *redis.Client {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: testenv.RedisAddr(t)})
	t.Cleanup(func() { _ = c.Close() })
	require.NoError(t, c.Ping(context.Background()).Err(), "ping redis")
	return c
}

func TestCacheSetGetTTLDelete(t *testing.T) {
	rdb := newRedis(t)
	ctx := context.Background()
	a := New(WithRedis(rdb))
	key := uniqueName(t, "triggerd-test:user")
	t.Cleanup(func() { rdb.Del(context.Background(), key, key+":raw", key+":forever") })

	out, err := a.CacheSet(ctx, request(run.TypeCacheSet, map[string]any{
		"key": key, "value": map[string]any{"id": 1.0, "name": "Alice"}, "ttl": 600.0,
	}))
	require.NoError(t, err)
	require.Equal(t, CacheSetOutput{Key: key, TTL: 600}, out)
	require.JSONEq(t, `{"id":1,"name":"Alice"}`, rdb.Get(ctx, key).Val(), "a non-string value is JSON-encoded")
	ttl := rdb.TTL(ctx, key).Val()
	require.Greater(t, ttl, 590*time.Second)
	require.LessOrEqual(t, ttl, 600*time.Second)

	_, err = a.CacheSet(ctx, request(run.TypeCacheSet, map[string]any{"key": key + ":raw", "value": "plain", "ttl": "1m30s"}))
	require.NoError(t, err)
	require.Equal(t, "plain", rdb.Get(ctx, key+":raw").Val(), "a string is stored as is")
	require.Greater(t, rdb.TTL(ctx, key+":raw").Val(), 80*time.Second)

	_, err = a.CacheSet(ctx, request(run.TypeCacheSet, map[string]any{"key": key + ":forever", "value": 1.0}))
	require.NoError(t, err)
	require.Equal(t, time.Duration(-1), rdb.TTL(ctx, key+":forever").Val(), "no ttl, no expiry")

	out, err = a.CacheDelete(ctx, request(run.TypeCacheDelete, map[string]any{"key": key}))
	require.NoError(t, err)
	require.Equal(t, CacheDeleteOutput{Key: key, Deleted: 1}, out)
	require.Zero(t, rdb.Exists(ctx, key).Val())

	out, err = a.CacheDelete(ctx, request(run.TypeCacheDelete, map[string]any{"key": key}))
	require.NoError(t, err, "deleting a missing key succeeds")
	require.Equal(t, CacheDeleteOutput{Key: key, Deleted: 0}, out)
}
