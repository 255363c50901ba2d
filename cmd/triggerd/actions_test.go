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
