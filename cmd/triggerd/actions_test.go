package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/triggerd/triggerd/activities"
	"github.com/triggerd/triggerd/config"
	"github.com/triggerd/triggerd/run"
)

// The storage: and secrets: sections reach the actions: a bucket named in
// the config is written to, with a path holding a secret from the file.
func TestActionConfigWiring(t *testing.T) {
	dir := t.TempDir()
	secretsFile := filepath.Join(dir, "secrets.env")
	require.NoError(t, os.WriteFile(secretsFile, []byte("TENANT=acme\n"), 0o600))
	cfg := config.Default()
	cfg.Storage = map[string]config.Bucket{"uploads": {Driver: config.StorageLocal, Dir: dir, Prefix: "p/"}}
	cfg.Secrets.File = secretsFile
	a := activities.New(actionResourceOptions(cfg)...)
	upload := run.Chain(a.StorageUpload, secretsMiddleware(cfg))
	out, err := upload(context.Background(), run.ActionRequest{Config: map[string]any{
		"storage": "uploads", "path": "{{secret.TENANT}}/x.txt", "data": "hi",
	}})
	require.NoError(t, err)
	b, err := os.ReadFile(filepath.Join(dir, "p", "acme", "x.txt"))
	require.NoError(t, err)
	require.Equal(t, "hi", string(b))
	j, err := json.Marshal(out)
	require.NoError(t, err)
	require.JSONEq(t, `{"storage":"uploads","path":"[redacted]/x.txt","size":2,"contentType":"text/plain; charset=utf-8"}`, string(j),
		"the secret's value is redacted from the output")
}

// validate knows the configuration, so it reports caches and buckets the
// triggers name but the config does not define.
func TestValidateReportsUnknownCachesAndBuckets(t *testing.T) {
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "c.yaml")
	require.NoError(t, os.WriteFile(cfgPath, []byte(`
kafka: {brokers: ["127.0.0.1:9092"], topics: [t]}
redis: {address: "127.0.0.1:6379"}
caches: {users: {prefix: "users:"}}
storage: {media: {driver: local, dir: `+dir+`}}
`), 0o600))
	trig := filepath.Join(dir, "t.yaml")
	require.NoError(t, os.WriteFile(trig, []byte(`
tag: x
tables: [users]
events: [afterInsert]
actions:
  - {type: cache.get, config: {cache: users, key: k}}
  - {type: cache.get, config: {cache: sessions, key: k}}
  - {type: storage.delete, config: {storage: media, path: p}}
  - {type: storage.delete, config: {storage: photos, path: p}}
`), 0o600))
	code, _, errOut := runCLI(t, nil, "validate", "--config", cfgPath, "--triggers", trig)
	require.Equal(t, 1, code, errOut)
	require.Contains(t, errOut, `trigger "x": actions[1].config.cache: "sessions" is not configured (caches in the config: default, users)`)
	require.Contains(t, errOut, `trigger "x": actions[3].config.storage: "photos" is not configured (storage in the config: media)`)
	require.NotContains(t, errOut, "actions[0]")
	require.NotContains(t, errOut, "actions[2]")
}
