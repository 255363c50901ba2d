package config

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestActionResourcesConfig(t *testing.T) {
	dir := t.TempDir()
	secretsFile := filepath.Join(dir, "secrets.yaml")
	require.NoError(t, os.WriteFile(secretsFile, []byte("K: v\n"), 0o600))
	path := filepath.Join(dir, "triggerd.yaml")
	require.NoError(t, os.WriteFile(path, []byte(`
kafka: {brokers: ["127.0.0.1:9092"], topics: [db.users]}
redis: {address: "127.0.0.1:6379"}
caches:
  sessions: {prefix: "sess:", ttl: 30m}
  default: {ttl: 1h}
secrets: {file: `+secretsFile+`}
storage:
  uploads: {driver: local, dir: /var/lib/triggerd/uploads}
  media: {driver: s3, endpoint: "http://127.0.0.1:9000", bucket: media, pathStyle: true, prefix: orders/}
`), 0o600))
	c, err := Load(path, nil)
	require.NoError(t, err)
	require.Equal(t, Cache{Prefix: "sess:", TTL: 30 * time.Minute}, c.Caches["sessions"])
	require.Equal(t, []string{"default", "sessions"}, c.CacheNames())
	require.Equal(t, []string{"media", "uploads"}, c.StorageNames())
	require.Equal(t, "orders/", c.Storage["media"].Prefix)
	require.Equal(t, secretsFile, c.Secrets.File)

	c, err = Load(path, []string{"TRIGGERD_SECRETS_FILE=" + filepath.Join(dir, "absent.yaml")})
	require.Error(t, err)
	require.Contains(t, err.Error(), "secrets.file: cannot read")
	require.NotNil(t, c)
}

func TestActionResourcesProblems(t *testing.T) {
	path := filepath.Join(t.TempDir(), "triggerd.yaml")
	require.NoError(t, os.WriteFile(path, []byte(`
kafka: {brokers: ["127.0.0.1:9092"], topics: [db.users]}
caches:
  a: {prefix: "app:", ttl: -1s}
  b: {prefix: "app:users:"}
  c: {}
  bad name: {prefix: "x:"}
  d: {prefx: "y:"}
storage:
  l: {driver: local, dir: rel/dir, bucket: x}
  s: {driver: s3, endpoint: "ftp://x", accessKey: k}
  z: {driver: gcs}
  p: {driver: local, dir: /tmp/x, prefix: "../up"}
`), 0o600))
	_, err := Load(path, nil)
	require.Error(t, err)
	msg := err.Error()
	for _, want := range []string{
		"caches.d.prefx: line 8: unknown key",
		"caches: need redis.address",
		"caches.a.ttl: must not be negative",
		`caches.a.prefix: "app:" overlaps caches.b.prefix "app:users:"`,
		"caches.c.prefix: must not be empty",
		"caches.bad name: name must match",
		`storage.l.dir: must be an absolute path, got "rel/dir"`,
		"storage.l.bucket: only for the s3 driver",
		`storage.s.endpoint: must be http(s)://host[:port], got "ftp://x"`,
		"storage.s.bucket: must not be empty",
		"storage.s.accessKey: accessKey and secretKey must be set together",
		`storage.z.driver: must be one of local, s3, got "gcs"`,
		`storage.p.prefix: must be relative and without '..'`,
	} {
		require.Contains(t, msg, want)
	}
}
