package activities

import (
	"context"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/triggerd/triggerd/run"
	"github.com/triggerd/triggerd/run/errtype"
)

func TestCacheGetFoundAndMissing(t *testing.T) {
	rdb := newRedis(t)
	ctx := context.Background()
	prefix := uniqueName(t, "triggerd-test:get") + ":"
	t.Cleanup(func() { rdb.Del(context.Background(), prefix+"user:1", prefix+"raw", prefix+"num") })
	a := New(WithRedis(rdb), WithCaches(map[string]CacheConfig{"users": {Prefix: prefix, TTL: time.Hour}}))

	_, err := a.CacheSet(ctx, request(run.TypeCacheSet, map[string]any{"cache": "users", "key": "user:1", "value": map[string]any{"name": "Alice"}}))
	require.NoError(t, err)
	require.JSONEq(t, `{"name":"Alice"}`, rdb.Get(ctx, prefix+"user:1").Val(), "stored under the cache's prefix")
	require.Greater(t, rdb.TTL(ctx, prefix+"user:1").Val(), 59*time.Minute, "the cache's default TTL")

	out, err := a.CacheGet(ctx, request(run.TypeCacheGet, map[string]any{"cache": "users", "key": "user:1"}))
	require.NoError(t, err)
	o := out.(CacheGetOutput)
	require.True(t, o.Found)
	require.Equal(t, map[string]any{"name": "Alice"}, o.Value)
	require.Greater(t, o.TTL, 3500.0)

	require.NoError(t, rdb.Set(ctx, prefix+"raw", "not json {", 0).Err())
	require.NoError(t, rdb.Set(ctx, prefix+"num", "42", 0).Err())
	out, err = a.CacheGet(ctx, request(run.TypeCacheGet, map[string]any{"cache": "users", "key": "raw"}))
	require.NoError(t, err)
	require.Equal(t, CacheGetOutput{Key: "raw", Found: true, Value: "not json {", TTL: -1}, out)
	out, err = a.CacheGet(ctx, request(run.TypeCacheGet, map[string]any{"cache": "users", "key": "num", "as": "text"}))
	require.NoError(t, err)
	require.Equal(t, "42", out.(CacheGetOutput).Value)
	_, err = a.CacheGet(ctx, request(run.TypeCacheGet, map[string]any{"cache": "users", "key": "raw", "as": "json"}))
	appError(t, err, errtype.InvalidConfig, false)

	out, err = a.CacheGet(ctx, request(run.TypeCacheGet, map[string]any{"cache": "users", "key": "user:2"}))
	require.NoError(t, err, "a missing key is an answer, not an error")
	require.Equal(t, CacheGetOutput{Key: "user:2"}, out)
}

func TestCacheInvalidateScansInBatches(t *testing.T) {
	rdb := newRedis(t)
	ctx := context.Background()
	prefix := uniqueName(t, "triggerd-test:inv[x]") + ":" // glob characters in the prefix match literally
	other := uniqueName(t, "triggerd-test:other") + ":"
	a := New(WithRedis(rdb), WithCaches(map[string]CacheConfig{"products": {Prefix: prefix}, "other": {Prefix: other}}))
	n := 3*invalidateBatch + 7 // several SCAN pages and UNLINK batches
	pipe := rdb.Pipeline()
	for i := range n {
		pipe.Set(ctx, fmt.Sprintf("%sproduct:%d", prefix, i), "x", time.Hour)
	}
	pipe.Set(ctx, prefix+"category:1", "keep", time.Hour)
	pipe.Set(ctx, other+"product:1", "keep", time.Hour)
	_, err := pipe.Exec(ctx)
	require.NoError(t, err)
	t.Cleanup(func() { rdb.Del(context.Background(), prefix+"category:1", other+"product:1") })

	out, err := a.CacheInvalidate(ctx, request(run.TypeCacheInvalidate, map[string]any{"cache": "products", "pattern": "product:*"}))
	require.NoError(t, err)
	require.Equal(t, CacheInvalidateOutput{Pattern: "product:*", Deleted: int64(n)}, out)
	keys, _, err := rdb.Scan(ctx, 0, escapeGlob(prefix)+"*", 10000).Result()
	require.NoError(t, err)
	require.Equal(t, []string{prefix + "category:1"}, keys)
	require.Equal(t, "keep", rdb.Get(ctx, other+"product:1").Val(), "another cache is untouched")

	out, err = a.CacheInvalidate(ctx, request(run.TypeCacheInvalidate, map[string]any{"cache": "products", "pattern": "product:*"}))
	require.NoError(t, err, "a retry finds nothing left and succeeds")
	require.Equal(t, int64(0), out.(CacheInvalidateOutput).Deleted)
}

func TestCacheErrorsArePermanent(t *testing.T) {
	rdb := newRedis(t)
	a := New(WithRedis(rdb))
	ctx := context.Background()
	_, err := a.CacheGet(ctx, request(run.TypeCacheGet, map[string]any{"cache": "nope", "key": "k"}))
	require.Contains(t, appError(t, err, errtype.NotConfigured, false).Message(), `cache "nope"`)
	_, err = a.CacheInvalidate(ctx, request(run.TypeCacheInvalidate, map[string]any{"pattern": " "}))
	appError(t, err, errtype.InvalidConfig, false)
	_, err = a.CacheInvalidate(ctx, request(run.TypeCacheInvalidate, map[string]any{"patern": "x*"}))
	appError(t, err, errtype.InvalidConfig, false)
	key := uniqueName(t, "triggerd-test:list")
	require.NoError(t, rdb.RPush(ctx, key, "a").Err())
	t.Cleanup(func() { rdb.Del(context.Background(), key) })
	_, err = a.CacheGet(ctx, request(run.TypeCacheGet, map[string]any{"key": key}))
	appError(t, err, errtype.CacheRejected, false) // WRONGTYPE
	_, err = New().CacheGet(ctx, request(run.TypeCacheGet, map[string]any{"key": key}))
	appError(t, err, errtype.NotConfigured, false)
}

// A Redis that cannot be reached is retried.
func TestCacheUnreachableIsRetryable(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())
	rdb := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1})
	t.Cleanup(func() { _ = rdb.Close() })
	a := New(WithRedis(rdb))
	_, err = a.CacheGet(context.Background(), request(run.TypeCacheGet, map[string]any{"key": "k"}))
	appError(t, err, errtype.CacheUnavailable, true)
	_, err = a.CacheInvalidate(context.Background(), request(run.TypeCacheInvalidate, map[string]any{"pattern": "k*"}))
	appError(t, err, errtype.CacheUnavailable, true)
}

func TestCacheInvalidateRefusesClusterClients(t *testing.T) {
	rc := redis.NewClusterClient(&redis.ClusterOptions{Addrs: []string{"127.0.0.1:1"}})
	t.Cleanup(func() { _ = rc.Close() })
	_, err := New(WithRedis(rc)).CacheInvalidate(context.Background(), request(run.TypeCacheInvalidate, map[string]any{"pattern": "k:*"}))
	appError(t, err, errtype.NotConfigured, false)
}
