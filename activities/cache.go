package activities

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/triggerd/triggerd/run"
	"github.com/triggerd/triggerd/run/errtype"
)

// CacheSetConfig is the config of cache.set.
type CacheSetConfig struct {
	// Cache names the cache (WithCaches); "" and "default" are the
	// default one.
	Cache string `json:"cache,omitempty"`
	Key   string `json:"key"`
	// Value is stored as is when it is a string, JSON-encoded otherwise.
	Value any `json:"value"`
	// TTL is seconds or a duration string; 0 means the cache's default
	// TTL, or no expiry when it has none.
	TTL Duration `json:"ttl,omitempty"`
}

// CacheSetOutput is the output of cache.set.
type CacheSetOutput struct {
	Key string `json:"key"`
	// TTL is the expiry in seconds, 0 for none.
	TTL float64 `json:"ttl"`
}

// CacheDeleteConfig is the config of cache.delete.
type CacheDeleteConfig struct {
	Cache string `json:"cache,omitempty"`
	Key   string `json:"key"`
}

// CacheDeleteOutput is the output of cache.delete.
type CacheDeleteOutput struct {
	Key     string `json:"key"`
	Deleted int64  `json:"deleted"`
}

// CacheSet stores a value under a key, replacing any previous one.
func (a *Activities) CacheSet(ctx context.Context, req run.ActionRequest) (any, error) {
	var cfg CacheSetConfig
	c, err := a.cacheRequest(req, &cfg)
	if err != nil {
		return nil, err
	}
	val, _, err := encodeValue(cfg.Value)
	if err != nil {
		return nil, invalidConfig("value: %v", err)
	}
	ttl := time.Duration(cfg.TTL)
	if ttl == 0 {
		ttl = c.TTL
	}
	if ttl > 0 && ttl < time.Millisecond {
		// Redis's smallest expiry; go-redis would send 0, meaning none.
		ttl = time.Millisecond
	}
	if err := a.redis.Set(ctx, c.Prefix+cfg.Key, val, ttl).Err(); err != nil {
		return nil, classifyRedis(fmt.Errorf("set %s: %w", cfg.Key, err))
	}
	return CacheSetOutput{Key: cfg.Key, TTL: ttl.Seconds()}, nil
}

// CacheDelete removes a key; deleting a missing key succeeds with 0.
func (a *Activities) CacheDelete(ctx context.Context, req run.ActionRequest) (any, error) {
	var cfg CacheDeleteConfig
	c, err := a.cacheRequest(req, &cfg)
	if err != nil {
		return nil, err
	}
	n, err := a.redis.Del(ctx, c.Prefix+cfg.Key).Result()
	if err != nil {
		return nil, classifyRedis(fmt.Errorf("delete %s: %w", cfg.Key, err))
	}
	return CacheDeleteOutput{Key: cfg.Key, Deleted: n}, nil
}

// transientRedisReplies are error replies of a server that is starting,
// failing over or out of memory for now: worth retrying.
var transientRedisReplies = []string{"LOADING", "READONLY", "MASTERDOWN", "TRYAGAIN", "CLUSTERDOWN", "BUSY", "OOM"}

// classifyRedis retries transport failures and transient replies; any
// other error reply (WRONGTYPE, NOAUTH...) will not change on retry.
func classifyRedis(err error) error {
	var reply redis.Error
	if errors.As(err, &reply) {
		msg := reply.Error()
		for _, p := range transientRedisReplies {
			if strings.HasPrefix(msg, p) {
				return transient(errtype.CacheUnavailable, err, 0)
			}
		}
		return permanent(errtype.CacheRejected, err)
	}
	if t := networkType(err); t == errtype.Timeout {
		return transient(t, err, 0)
	}
	return transient(errtype.CacheUnavailable, err, 0)
}
