package activities

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/triggerd/triggerd/run"
	"github.com/triggerd/triggerd/run/errtype"
)

// A symbolic link inside a local bucket cannot take an operation outside
// the bucket's directory: not an upload through a linked directory
// (relative or absolute link), not a read of a linked file (a copy would
// otherwise publish it), and nothing is written outside.
func TestLocalStorageRefusesSymlinkEscapes(t *testing.T) {
	base := t.TempDir()
	dir, outside := filepath.Join(base, "bucket"), filepath.Join(base, "outside")
	require.NoError(t, os.Mkdir(dir, 0o755))
	require.NoError(t, os.Mkdir(outside, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(outside, "secret.txt"), []byte("secret"), 0o600))
	require.NoError(t, os.Symlink("../outside", filepath.Join(dir, "rel")))
	require.NoError(t, os.Symlink(outside, filepath.Join(dir, "abs")))
	require.NoError(t, os.Symlink("../outside/secret.txt", filepath.Join(dir, "secret-link.txt")))
	require.NoError(t, os.Mkdir(filepath.Join(dir, "inside"), 0o755))
	require.NoError(t, os.Symlink("inside", filepath.Join(dir, "alias")))

	a := New(WithStorage(map[string]BucketConfig{"b": {Driver: "local", Dir: dir}}))
	ctx := context.Background()
	upload := func(path string) error {
		_, err := a.StorageUpload(ctx, request(run.TypeStorageUpload, map[string]any{"storage": "b", "path": path, "data": "pwned"}))
		return err
	}
	for _, path := range []string{"rel/evil.txt", "abs/evil.txt", "rel/../../outside/evil.txt"} {
		appError(t, upload(path), errtype.InvalidConfig, false)
	}
	_, err := a.StorageCopy(ctx, request(run.TypeStorageCopy, map[string]any{"storage": "b", "from": "secret-link.txt", "to": "published.txt"}))
	appError(t, err, errtype.InvalidConfig, false)
	entries, err := os.ReadDir(outside)
	require.NoError(t, err)
	require.Len(t, entries, 1, "only the original file is outside the bucket")
	_, err = os.Stat(filepath.Join(dir, "published.txt"))
	require.ErrorIs(t, err, os.ErrNotExist)

	// A link that stays inside the bucket is followed.
	require.NoError(t, upload("alias/ok.txt"))
	b, err := os.ReadFile(filepath.Join(dir, "inside", "ok.txt"))
	require.NoError(t, err)
	require.Equal(t, "pwned", string(b))
}

// The content types live outside the object namespace: no object key can
// name one, so an upload cannot overwrite another object's type.
func TestLocalStorageMetadataIsNotAnObject(t *testing.T) {
	dir := t.TempDir()
	a := New(WithStorage(map[string]BucketConfig{"b": {Driver: "local", Dir: dir}}))
	ctx := context.Background()
	_, err := a.StorageUpload(ctx, request(run.TypeStorageUpload, map[string]any{"storage": "b", "path": "report.html", "data": "<p>hi</p>", "mimeType": "text/html"}))
	require.NoError(t, err)
	for _, path := range []string{".content-type/report.html", ".Content-Type/report.html", "/.content-type/x"} {
		_, err = a.StorageUpload(ctx, request(run.TypeStorageUpload, map[string]any{"storage": "b", "path": path, "data": "application/x-evil"}))
		require.Contains(t, appError(t, err, errtype.InvalidConfig, false).Message(), "reserved", path)
	}
	_, err = a.StorageCopy(ctx, request(run.TypeStorageCopy, map[string]any{"storage": "b", "from": ".content-type/report.html", "to": "x.txt"}))
	appError(t, err, errtype.InvalidConfig, false)
	_, err = a.StorageCopy(ctx, request(run.TypeStorageCopy, map[string]any{"storage": "b", "from": "report.html", "to": "copy.html"}))
	require.NoError(t, err)
	ct, err := os.ReadFile(filepath.Join(dir, ".content-type", "copy.html"))
	require.NoError(t, err)
	require.Equal(t, "text/html", string(ct))
}
