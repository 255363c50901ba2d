package activities

import (
	"context"
	"os"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/triggerd/triggerd/internal/testenv"
	"github.com/triggerd/triggerd/run"
	"github.com/triggerd/triggerd/workflows/errtype"
)

// testStorage runs the conformance suite every storage driver passes,
// through the actions, against the bucket "b" of a.
func testStorage(t *testing.T, a *Activities, missing *Activities) {
	ctx := context.Background()
	key := uniqueName(t, "obj") + "/avatar.png"
	req := request(TypeStorageUpload, map[string]any{
		"storage": "b", "path": key, "dataField": "avatar", "encoding": "base64", "mimeType": "image/png"})
	req.Context = &run.EventContext{Record: map[string]any{"avatar": "aGVsbG8="}}
	out, err := a.StorageUpload(ctx, req)
	require.NoError(t, err)
	require.Equal(t, StorageUploadOutput{Storage: "b", Path: key, Size: 5, ContentType: "image/png"}, out)
	b, ct, err := a.storage["b"].Get(ctx, key)
	require.NoError(t, err)
	require.Equal(t, "hello", string(b))
	require.Equal(t, "image/png", ct)

	_, err = a.StorageCopy(ctx, request(TypeStorageCopy, map[string]any{"storage": "b", "from": key, "to": key + ".copy"}))
	require.NoError(t, err)
	b, ct, err = a.storage["b"].Get(ctx, key+".copy")
	require.NoError(t, err)
	require.Equal(t, "hello", string(b))
	require.Equal(t, "image/png", ct)

	for _, want := range []bool{true, false} { // a second delete finds nothing
		out, err = a.StorageDelete(ctx, request(TypeStorageDelete, map[string]any{"storage": "b", "path": key}))
		require.NoError(t, err)
		require.Equal(t, want, out.(StorageDeleteOutput).Existed)
	}
	_, _, err = a.storage["b"].Get(ctx, key)
	require.ErrorIs(t, err, errObjectNotFound)

	_, err = missing.StorageUpload(ctx, request(TypeStorageUpload, map[string]any{"storage": "b", "path": "x", "data": "y"}))
	appError(t, err, errtype.NotConfigured, false)
	_, err = a.StorageUpload(ctx, request(TypeStorageUpload, map[string]any{"storage": "b", "path": "../x", "data": "y"}))
	appError(t, err, errtype.InvalidConfig, false)
	_, err = a.StorageUpload(ctx, request(TypeStorageUpload, map[string]any{"storage": "nope", "path": "x", "data": "y"}))
	appError(t, err, errtype.NotConfigured, false)
}

func TestStorageLocal(t *testing.T) {
	dir := t.TempDir()
	a := New(WithStorage(map[string]BucketConfig{"b": {Driver: "local", Dir: dir}}))
	missing := New(WithStorage(map[string]BucketConfig{"b": {Driver: "local", Dir: dir + "/absent"}}))
	testStorage(t, a, missing)
}

func TestStorageS3(t *testing.T) {
	bc := BucketConfig{Driver: "s3", Endpoint: testenv.S3Endpoint(t), Region: "us-east-1", PathStyle: true,
		Bucket: os.Getenv("TRIGGERD_TEST_S3_BUCKET"), AccessKey: os.Getenv("TRIGGERD_TEST_S3_ACCESS_KEY"),
		SecretKey: os.Getenv("TRIGGERD_TEST_S3_SECRET_KEY")}
	a := New(WithStorage(map[string]BucketConfig{"b": bc}))
	bc.Bucket = "no-such-bucket-triggerd"
	missing := New(WithStorage(map[string]BucketConfig{"b": bc}))
	testStorage(t, a, missing)
}
