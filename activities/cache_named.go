package activities

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/triggerd/triggerd/run"
)

// DefaultCache is the cache an action without a cache key uses.
const DefaultCache = "default"

// invalidateBatch is the SCAN COUNT hint and the most keys one UNLINK
// removes: large enough to be quick, small enough that neither command
// holds Redis for long.
const invalidateBatch = 500

// CacheConfig is one named cache: a key prefix on the configured Redis
// (so caches never see each other's keys) and a TTL for cache.set without
// one. Named caches share one Redis client: a second server would be a
// second client to configure, watch and close for little gain, and a
// prefix already separates them.
type CacheConfig struct {
	Prefix string
	TTL    time.Duration
}

// WithCaches names caches; "default" may be among them (its prefix then
// applies to actions that name no cache).
func WithCaches(caches map[string]CacheConfig) Option {
	return func(a *Activities) {
		if a.caches == nil {
			a.caches = map[string]CacheConfig{}
		}
		for n, c := range caches {
			a.caches[n] = c
		}
	}
}

// cache returns the named cache; an unknown name fails without retry, as
// writing it to another cache would write where nobody asked.
func (a *Activities) cache(name string) (CacheConfig, error) {
	if name == "" {
		name = DefaultCache
	}
	if c, ok := a.caches[name]; ok {
		return c, nil
	}
	if name == DefaultCache {
		return CacheConfig{}, nil
	}
	return CacheConfig{}, notConfigured(fmt.Sprintf("cache %q", name))
}

// cacheConfig is what the configs of the cache.* actions share: the
// cache they name and, but for cache.invalidate, a key.
type cacheConfig interface {
	cacheName() string
	cacheKey() (key string, needed bool)
}

func (c *CacheSetConfig) cacheName() string               { return c.Cache }
func (c *CacheSetConfig) cacheKey() (string, bool)        { return c.Key, true }
func (c *CacheDeleteConfig) cacheName() string            { return c.Cache }
func (c *CacheDeleteConfig) cacheKey() (string, bool)     { return c.Key, true }
func (c *CacheGetConfig) cacheName() string               { return c.Cache }
func (c *CacheGetConfig) cacheKey() (string, bool)        { return c.Key, true }
func (c *CacheInvalidateConfig) cacheName() string        { return c.Cache }
func (c *CacheInvalidateConfig) cacheKey() (string, bool) { return "", false }

// cacheRequest checks that Redis is configured, decodes the config into
// cfg and returns the cache it names.
func (a *Activities) cacheRequest(req run.ActionRequest, cfg cacheConfig) (CacheConfig, error) {
	if a.redis == nil {
		return CacheConfig{}, notConfigured("redis (" + req.Type + ")")
	}
	if err := decodeConfig(req.Config, cfg); err != nil {
		return CacheConfig{}, err
	}
	c, err := a.cache(cfg.cacheName())
	if err != nil {
		return CacheConfig{}, err
	}
	if key, needed := cfg.cacheKey(); needed && key == "" {
		return CacheConfig{}, invalidConfig("key is required")
	}
	return c, nil
}

// CacheGetConfig is the config of cache.get.
type CacheGetConfig struct {
	Cache string `json:"cache,omitempty"`
	Key   string `json:"key"`
	// As is "json" (the stored text parsed), "text" (as stored) or ""
	// (JSON when the text parses, else the text).
	As string `json:"as,omitempty"`
}

// CacheGetOutput is the output of cache.get. A missing key is Found false
// and Value null, not an error: "not cached" is an answer later actions
// branch on ({{actions.lookup.output.found}}).
type CacheGetOutput struct {
	Key   string `json:"key"`
	Found bool   `json:"found"`
	Value any    `json:"value"`
	// TTL is the seconds left before expiry, -1 for none, 0 when missing.
	TTL float64 `json:"ttl"`
}

// CacheGet reads a key.
func (a *Activities) CacheGet(ctx context.Context, req run.ActionRequest) (any, error) {
	var cfg CacheGetConfig
	c, err := a.cacheRequest(req, &cfg)
	if err != nil {
		return nil, err
	}
	if cfg.As != "" && cfg.As != "json" && cfg.As != "text" {
		return nil, invalidConfig("as %q: want json or text", cfg.As)
	}
	key := c.Prefix + cfg.Key
	// One round trip for the value and its TTL.
	pipe := a.redis.Pipeline()
	get := pipe.Get(ctx, key)
	ttl := pipe.PTTL(ctx, key)
	if _, err := pipe.Exec(ctx); err != nil && err != redis.Nil {
		return nil, classifyRedis(fmt.Errorf("get %s: %w", cfg.Key, err))
	}
	out := CacheGetOutput{Key: cfg.Key}
	s, err := get.Result()
	if err == redis.Nil {
		return out, nil
	}
	out.Found = true
	switch d := ttl.Val(); {
	case d < 0:
		out.TTL = -1
	default:
		out.TTL = d.Seconds()
	}
	switch cfg.As {
	case "text":
		out.Value = s
	case "json":
		if err := json.Unmarshal([]byte(s), &out.Value); err != nil {
			return nil, invalidConfig("value of %s is not JSON (use as: text): %v", cfg.Key, err)
		}
	default:
		if json.Unmarshal([]byte(s), &out.Value) != nil {
			out.Value = s
		}
	}
	return out, nil
}

// CacheInvalidateConfig is the config of cache.invalidate.
type CacheInvalidateConfig struct {
	Cache string `json:"cache,omitempty"`
	// Pattern is a Redis glob (user:42:*) within the cache.
	Pattern string `json:"pattern"`
}

// CacheInvalidateOutput is the output of cache.invalidate.
type CacheInvalidateOutput struct {
	Pattern string `json:"pattern"`
	Deleted int64  `json:"deleted"`
}

// CacheInvalidate deletes the keys matching a pattern. It walks the
// keyspace with SCAN and deletes in batches with UNLINK (memory freed in
// the background): KEYS would block Redis for the whole keyspace. A retry
// after a failure simply scans again; keys already gone are not counted.
func (a *Activities) CacheInvalidate(ctx context.Context, req run.ActionRequest) (any, error) {
	var cfg CacheInvalidateConfig
	c, err := a.cacheRequest(req, &cfg)
	if err != nil {
		return nil, err
	}
	if strings.TrimSpace(cfg.Pattern) == "" {
		return nil, invalidConfig("pattern is required")
	}
	if strings.Trim(cfg.Pattern, "*") == "" {
		// Most likely a template that rendered empty: "{{record.x}}*".
		return nil, invalidConfig("pattern %q matches the whole cache", cfg.Pattern)
	}
	if _, cluster := a.redis.(*redis.ClusterClient); cluster {
		// SCAN walks one node of a cluster and a multi-key UNLINK fails
		// across slots: refusing beats deleting a fraction of the keys.
		return nil, notConfigured("cache.invalidate on a Redis Cluster client")
	}
	match := escapeGlob(c.Prefix) + cfg.Pattern
	out := CacheInvalidateOutput{Pattern: cfg.Pattern}
	batch := make([]string, 0, invalidateBatch)
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		n, err := a.redis.Unlink(ctx, batch...).Result()
		if err != nil {
			return classifyRedis(fmt.Errorf("unlink keys matching %s: %w", cfg.Pattern, err))
		}
		out.Deleted += n
		batch = batch[:0]
		return nil
	}
	var cursor uint64
	for {
		keys, next, err := a.redis.Scan(ctx, cursor, match, invalidateBatch).Result()
		if err != nil {
			return nil, classifyRedis(fmt.Errorf("scan keys matching %s: %w", cfg.Pattern, err))
		}
		for _, k := range keys {
			batch = append(batch, k)
			if len(batch) == invalidateBatch {
				if err := flush(); err != nil {
					return nil, err
				}
			}
		}
		if cursor = next; cursor == 0 {
			break
		}
	}
	if err := flush(); err != nil {
		return nil, err
	}
	return out, nil
}

// escapeGlob quotes Redis glob characters so a prefix matches literally.
func escapeGlob(s string) string {
	var b strings.Builder
	for _, r := range s {
		if strings.ContainsRune(`*?[]\`, r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}
