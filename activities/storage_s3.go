package activities

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// s3Store is a bucket on an S3-compatible server.
type s3Store struct {
	c      *minio.Client
	bucket string
}

func newS3Store(bc BucketConfig) (blobStore, error) {
	u, err := url.Parse(bc.Endpoint)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return nil, fmt.Errorf("endpoint %q: want http(s)://host[:port]", bc.Endpoint)
	}
	if bc.Bucket == "" {
		return nil, errors.New("s3 driver needs bucket")
	}
	// Without keys in the config, the AWS variables: they keep the key
	// out of the config file.
	creds := credentials.NewEnvAWS()
	if bc.AccessKey != "" {
		creds = credentials.NewStaticV4(bc.AccessKey, bc.SecretKey, "")
	}
	lookup := minio.BucketLookupAuto
	if bc.PathStyle {
		lookup = minio.BucketLookupPath
	}
	c, err := minio.New(u.Host, &minio.Options{
		Creds:        creds,
		Secure:       u.Scheme == "https",
		Region:       bc.Region,
		BucketLookup: lookup,
		// Temporal retries the action; retrying inside it as well would
		// multiply attempts and hide the failure from the run's result.
		MaxRetries: 1,
	})
	if err != nil {
		return nil, fmt.Errorf("s3 client: %w", err)
	}
	return s3Store{c: c, bucket: bc.Bucket}, nil
}

// s3Err maps S3's NoSuchBucket/NoSuchKey codes onto the driver sentinels.
func s3Err(err error) error {
	switch minio.ToErrorResponse(err).Code {
	case "NoSuchBucket":
		return fmt.Errorf("%w: %w", errBucketNotFound, err)
	case "NoSuchKey":
		return fmt.Errorf("%w: %w", errObjectNotFound, err)
	}
	return err
}

func (s s3Store) Put(ctx context.Context, key string, data []byte, contentType string) error {
	_, err := s.c.PutObject(ctx, s.bucket, key, bytes.NewReader(data), int64(len(data)),
		minio.PutObjectOptions{ContentType: contentType})
	return s3Err(err)
}

func (s s3Store) Get(ctx context.Context, key string) ([]byte, string, error) {
	obj, err := s.c.GetObject(ctx, s.bucket, key, minio.GetObjectOptions{})
	if err != nil {
		return nil, "", s3Err(err)
	}
	defer obj.Close()
	b, err := io.ReadAll(obj)
	if err != nil {
		return nil, "", s3Err(err)
	}
	st, err := obj.Stat()
	if err != nil {
		return nil, "", s3Err(err)
	}
	return b, st.ContentType, nil
}

// Delete stats the object first: S3's delete succeeds on a missing key and
// so cannot say whether there was anything to delete.
func (s s3Store) Delete(ctx context.Context, key string) (bool, error) {
	_, err := s.c.StatObject(ctx, s.bucket, key, minio.StatObjectOptions{})
	existed := true
	if err != nil {
		if err := s3Err(err); !errors.Is(err, errObjectNotFound) {
			return false, err
		}
		existed = false
	}
	if err := s.c.RemoveObject(ctx, s.bucket, key, minio.RemoveObjectOptions{}); err != nil {
		return false, s3Err(err)
	}
	return existed, nil
}

func (s s3Store) Copy(ctx context.Context, from, to string) error {
	_, err := s.c.CopyObject(ctx,
		minio.CopyDestOptions{Bucket: s.bucket, Object: to},
		minio.CopySrcOptions{Bucket: s.bucket, Object: from})
	return s3Err(err)
}
