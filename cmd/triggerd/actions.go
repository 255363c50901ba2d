package main

import (
	"github.com/triggerd/triggerd/activities"
	"github.com/triggerd/triggerd/config"
	"github.com/triggerd/triggerd/run"
)

// actionResourceOptions turns the named caches and buckets of the
// configuration into the actions' options.
func actionResourceOptions(cfg *config.Config) []activities.Option {
	var opts []activities.Option
	if len(cfg.Caches) > 0 {
		caches := make(map[string]activities.CacheConfig, len(cfg.Caches))
		for name, c := range cfg.Caches {
			caches[name] = activities.CacheConfig{Prefix: c.Prefix, TTL: c.TTL}
		}
		opts = append(opts, activities.WithCaches(caches))
	}
	if len(cfg.Storage) > 0 {
		buckets := make(map[string]activities.BucketConfig, len(cfg.Storage))
		for name, b := range cfg.Storage {
			buckets[name] = bucketConfig(b)
		}
		opts = append(opts, activities.WithStorage(buckets))
	}
	return opts
}

// bucketConfig is a bucket of `storage:` as the drivers take it.
func bucketConfig(b config.Bucket) activities.BucketConfig {
	return activities.BucketConfig{
		Driver: b.Driver, Dir: b.Dir, Endpoint: b.Endpoint, Region: b.Region, Bucket: b.Bucket,
		AccessKey: b.AccessKey, SecretKey: b.SecretKey, PathStyle: b.PathStyle, Prefix: b.Prefix,
	}
}

// secretsMiddleware resolves {{secret.NAME}} from TRIGGERD_SECRET_NAME,
// then from secrets.file, and redacts the values from what actions return.
func secretsMiddleware(cfg *config.Config) run.Middleware {
	return newSecretResolver(cfg).Middleware()
}
