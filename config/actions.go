package config

import (
	"maps"
	"net/url"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"
)

// Cache is a named cache of the cache.* actions:
//
//	caches:
//	  sessions: {prefix: "sess:", ttl: 30m}
//	  products: {prefix: "prod:"}
//
// Every cache lives on the Redis of redis.address, its keys under its prefix,
// so that cache.invalidate on one cache never touches another's keys. An
// action without a cache key uses "default" (no prefix unless configured).
type Cache struct {
	Prefix string `yaml:"prefix"`
	// TTL applies to cache.set without a ttl; 0 means no expiry.
	TTL time.Duration `yaml:"ttl"`
}

// Secrets says where {{secret.NAME}} placeholders are resolved from,
// besides TRIGGERD_SECRET_NAME variables (which take precedence).
type Secrets struct {
	// File is a YAML or JSON mapping of names to values, or a dotenv file
	// (NAME=value lines, by the .env extension). The worker re-reads it
	// when it changes.
	File string `yaml:"file"`
}

// Values of Bucket.Driver.
const (
	StorageLocal = "local"
	StorageS3    = "s3"
)

// Bucket is a named bucket of the storage.* actions:
//
//	storage:
//	  uploads: {driver: local, dir: /var/lib/triggerd/uploads}
//	  media:   {driver: s3, endpoint: "https://s3.eu-west-1.amazonaws.com", region: eu-west-1, bucket: media, prefix: "orders/"}
//
// With accessKey and secretKey empty, an s3 bucket reads AWS_ACCESS_KEY_ID
// and AWS_SECRET_ACCESS_KEY, which keeps the key out of the file.
type Bucket struct {
	Driver    string `yaml:"driver"`
	Dir       string `yaml:"dir"`
	Endpoint  string `yaml:"endpoint"`
	Region    string `yaml:"region"`
	Bucket    string `yaml:"bucket"`
	AccessKey string `yaml:"accessKey"`
	SecretKey string `yaml:"secretKey"`
	// PathStyle addresses the bucket in the path (MinIO, S3Proxy), not
	// in the host name.
	PathStyle bool `yaml:"pathStyle"`
	// Prefix is prepended to every object key, so one bucket can hold the
	// objects of several environments.
	Prefix string `yaml:"prefix"`
}

var resourceName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)

func (c *Config) validateActions(v *validator) {
	names := slices.Sorted(maps.Keys(c.Caches))
	if len(names) > 0 && c.Redis.Address == "" {
		v.add("caches", "need redis.address")
	}
	for _, name := range names {
		field := "caches." + name
		cc := c.Caches[name]
		if !resourceName.MatchString(name) {
			v.add(field, "name must match %s", resourceName)
		}
		if cc.TTL < 0 {
			v.add(field+".ttl", "must not be negative, got %s", cc.TTL)
		}
		if cc.Prefix == "" && name != "default" {
			v.add(field+".prefix", "must not be empty (only the default cache may use the whole keyspace)")
		}
		// A prefix that starts another one would let cache.invalidate on
		// the shorter one delete the other cache's keys.
		for _, other := range names {
			op := c.Caches[other].Prefix
			if other != name && cc.Prefix != "" && strings.HasPrefix(op, cc.Prefix) && (op != cc.Prefix || other > name) {
				v.add(field+".prefix", "%q overlaps caches.%s.prefix %q", cc.Prefix, other, op)
			}
		}
	}
	v.file("secrets.file", c.Secrets.File)
	for _, name := range slices.Sorted(maps.Keys(c.Storage)) {
		field := "storage." + name
		b := c.Storage[name]
		if !resourceName.MatchString(name) {
			v.add(field, "name must match %s", resourceName)
		}
		switch b.Driver {
		case StorageLocal:
			v.required(field+".dir", b.Dir)
			if b.Dir != "" && !filepath.IsAbs(b.Dir) {
				v.add(field+".dir", "must be an absolute path, got %q", b.Dir)
			}
			for _, kv := range [][2]string{{"endpoint", b.Endpoint}, {"region", b.Region}, {"bucket", b.Bucket}, {"accessKey", b.AccessKey}, {"secretKey", b.SecretKey}} {
				if kv[1] != "" {
					v.add(field+"."+kv[0], "only for the s3 driver")
				}
			}
		case StorageS3:
			u, err := url.Parse(b.Endpoint)
			if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
				v.add(field+".endpoint", "must be http(s)://host[:port], got %q", b.Endpoint)
			}
			v.required(field+".bucket", b.Bucket)
			if (b.AccessKey == "") != (b.SecretKey == "") {
				v.add(field+".accessKey", "accessKey and secretKey must be set together")
			}
			if b.Dir != "" {
				v.add(field+".dir", "only for the local driver")
			}
		default:
			v.add(field+".driver", "must be one of %s, %s, got %q", StorageLocal, StorageS3, b.Driver)
		}
		if strings.HasPrefix(b.Prefix, "/") || strings.Contains(b.Prefix, "..") {
			v.add(field+".prefix", "must be relative and without '..', got %q", b.Prefix)
		}
	}
}

// CacheNames lists the caches an action may name, "default" included.
func (c *Config) CacheNames() []string {
	names := slices.Collect(maps.Keys(c.Caches))
	if !slices.Contains(names, "default") {
		names = append(names, "default")
	}
	slices.Sort(names)
	return names
}

// StorageNames lists the configured buckets.
func (c *Config) StorageNames() []string { return slices.Sorted(maps.Keys(c.Storage)) }
