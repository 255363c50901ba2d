package activities_test

import (
	"context"
	"errors"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"testing"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/triggerd/triggerd/activities"
	"github.com/triggerd/triggerd/activities/storagetest"
	"github.com/triggerd/triggerd/internal/testenv"
)

// storageHarness builds the actions of a worker with bucket "b" = bc, and
// of one whose bucket "b" = missing.
func storageHarness(bc, missing activities.BucketConfig, read func(ctx context.Context, path string) (storagetest.Object, bool, error)) storagetest.Harness {
	a := activities.New(activities.WithStorage(map[string]activities.BucketConfig{"b": bc}))
	m := activities.New(activities.WithStorage(map[string]activities.BucketConfig{"b": missing}))
	return storagetest.Harness{
		Upload: a.StorageUpload, Delete: a.StorageDelete, Copy: a.StorageCopy,
		Bucket: "b", Read: read, MissingUpload: m.StorageUpload,
	}
}

func TestLocalStorageConformance(t *testing.T) {
	for name, prefix := range map[string]string{"plain": "", "prefix": "env/test/"} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			bc := activities.BucketConfig{Driver: "local", Dir: dir, Prefix: prefix}
			missing := bc
			missing.Dir = filepath.Join(dir, "absent")
			storagetest.Run(t, storageHarness(bc, missing, func(_ context.Context, path string) (storagetest.Object, bool, error) {
				// The local driver's layout: the object at <dir>/<key>, its
				// content type at <dir>/.content-type/<key>.
				b, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(prefix+path)))
				if errors.Is(err, os.ErrNotExist) {
					return storagetest.Object{}, false, nil
				}
				if err != nil {
					return storagetest.Object{}, false, err
				}
				ct, err := os.ReadFile(filepath.Join(dir, ".content-type", filepath.FromSlash(prefix+path)))
				return storagetest.Object{Data: b, ContentType: string(ct)}, true, err
			}))
		})
	}
}

func TestS3StorageConformance(t *testing.T) {
	endpoint := testenv.S3Endpoint(t)
	bucket := os.Getenv("TRIGGERD_TEST_S3_BUCKET")
	access, secret := os.Getenv("TRIGGERD_TEST_S3_ACCESS_KEY"), os.Getenv("TRIGGERD_TEST_S3_SECRET_KEY")
	u, err := url.Parse(endpoint)
	if err != nil {
		t.Fatal(err)
	}
	// The test's own client, independent of the driver's.
	c, err := minio.New(u.Host, &minio.Options{Creds: credentials.NewStaticV4(access, secret, ""), Secure: u.Scheme == "https",
		Region: "us-east-1", BucketLookup: minio.BucketLookupPath})
	if err != nil {
		t.Fatal(err)
	}
	for name, prefix := range map[string]string{"plain": "", "prefix": "tenants/acme/"} {
		t.Run(name, func(t *testing.T) {
			bc := activities.BucketConfig{Driver: "s3", Endpoint: endpoint, Region: "us-east-1", Bucket: bucket,
				AccessKey: access, SecretKey: secret, PathStyle: true, Prefix: prefix}
			missing := bc
			missing.Bucket = "no-such-bucket-triggerd"
			storagetest.Run(t, storageHarness(bc, missing, func(ctx context.Context, path string) (storagetest.Object, bool, error) {
				obj, err := c.GetObject(ctx, bucket, prefix+path, minio.GetObjectOptions{})
				if err != nil {
					return storagetest.Object{}, false, err
				}
				defer obj.Close()
				b, err := io.ReadAll(obj)
				if minio.ToErrorResponse(err).Code == "NoSuchKey" {
					return storagetest.Object{}, false, nil
				}
				if err != nil {
					return storagetest.Object{}, false, err
				}
				st, err := obj.Stat()
				return storagetest.Object{Data: b, ContentType: st.ContentType}, true, err
			}))
		})
	}
}
