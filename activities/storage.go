package activities

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/minio/minio-go/v7"

	"github.com/triggerd/triggerd/run"
	"github.com/triggerd/triggerd/run/errtype"
)

// errObjectNotFound is what a blobStore returns for an object that is not
// there; errBucketNotFound for a bucket (or directory) that is not.
var (
	errObjectNotFound = errors.New("object not found")
	errBucketNotFound = errors.New("bucket not found")
)

// blobStore is one named bucket. Keys are slash-separated paths.
type blobStore interface {
	Put(ctx context.Context, key string, data []byte, contentType string) error
	Get(ctx context.Context, key string) (data []byte, contentType string, err error)
	// Delete reports whether the object existed; deleting a missing object
	// is not an error, so a retried delete succeeds.
	Delete(ctx context.Context, key string) (existed bool, err error)
	Copy(ctx context.Context, from, to string) error
}

// BucketConfig configures one named bucket: driver "local" (Dir) or "s3"
// (Endpoint such as http://127.0.0.1:9000, Region, Bucket, keys, PathStyle).
type BucketConfig struct {
	Driver    string
	Dir       string
	Endpoint  string
	Region    string
	Bucket    string
	AccessKey string
	SecretKey string
	PathStyle bool
	// Prefix is prepended to every key (objects of several environments
	// in one bucket).
	Prefix string
}

// WithStorage enables storage.* on the named buckets. A bucket whose config
// cannot be used (unknown driver, bad endpoint) fails each action on it as
// NOT_CONFIGURED, with the reason.
func WithStorage(buckets map[string]BucketConfig) Option {
	return func(a *Activities) {
		if a.storage == nil {
			a.storage = map[string]blobStore{}
		}
		for name, bc := range buckets {
			st, err := newBlobStore(bc)
			if err != nil {
				st = brokenStore{err: fmt.Errorf("storage %q: %w", name, err)}
			}
			a.storage[name] = st
		}
	}
}

// Bucket is one bucket opened outside the storage.* actions (the
// large-payload codec keeps payloads in one): Put, Get, Delete and Copy
// an object by key.
type Bucket struct{ blobStore }

// OpenBucket opens the bucket bc describes, with the same drivers as the
// storage.* actions.
func OpenBucket(bc BucketConfig) (Bucket, error) {
	st, err := newBlobStore(bc)
	if err != nil {
		return Bucket{}, err
	}
	return Bucket{st}, nil
}

func newBlobStore(bc BucketConfig) (blobStore, error) {
	st, err := newDriver(bc)
	if err != nil || bc.Prefix == "" {
		return st, err
	}
	return prefixedStore{prefix: bc.Prefix, next: st}, nil
}

func newDriver(bc BucketConfig) (blobStore, error) {
	switch bc.Driver {
	case "local":
		if bc.Dir == "" {
			return nil, errors.New("local driver needs dir")
		}
		return localStore{dir: bc.Dir}, nil
	case "s3":
		return newS3Store(bc)
	default:
		return nil, fmt.Errorf("unknown driver %q (want local or s3)", bc.Driver)
	}
}

// StorageUploadConfig is the config of storage.upload. The content is the
// record field named by DataField, else Data.
type StorageUploadConfig struct {
	Storage   string `json:"storage"`
	Path      string `json:"path"`
	DataField string `json:"dataField,omitempty"`
	Data      any    `json:"data,omitempty"`
	// Encoding is "text" (default: a string as is, anything else as JSON)
	// or "base64" (standard or URL alphabet, a data: URL prefix allowed).
	Encoding string `json:"encoding,omitempty"`
	MimeType string `json:"mimeType,omitempty"`
}

// StorageUploadOutput is the output of storage.upload.
type StorageUploadOutput struct {
	Storage     string `json:"storage"`
	Path        string `json:"path"`
	Size        int    `json:"size"`
	ContentType string `json:"contentType"`
}

// StorageDeleteConfig is the config of storage.delete.
type StorageDeleteConfig struct {
	Storage string `json:"storage"`
	Path    string `json:"path"`
}

// StorageDeleteOutput is the output of storage.delete; Existed is false
// when there was nothing to delete.
type StorageDeleteOutput struct {
	Storage string `json:"storage"`
	Path    string `json:"path"`
	Existed bool   `json:"existed"`
}

// StorageCopyConfig is the config of storage.copy (within one bucket).
type StorageCopyConfig struct {
	Storage string `json:"storage"`
	From    string `json:"from"`
	To      string `json:"to"`
}

// StorageCopyOutput is the output of storage.copy.
type StorageCopyOutput struct {
	Storage string `json:"storage"`
	From    string `json:"from"`
	To      string `json:"to"`
}

// StorageUpload writes an object.
func (a *Activities) StorageUpload(ctx context.Context, req run.ActionRequest) (any, error) {
	var cfg StorageUploadConfig
	if err := decodeConfig(req.Config, &cfg); err != nil {
		return nil, err
	}
	st, key, err := a.bucket(cfg.Storage, cfg.Path, "path")
	if err != nil {
		return nil, err
	}
	value := cfg.Data
	if cfg.DataField != "" {
		var rec map[string]any
		if req.Context != nil {
			rec = req.Context.Record
		}
		v, ok := rec[cfg.DataField]
		if !ok || v == nil {
			return nil, invalidConfig("dataField %q: the record has no such field", cfg.DataField)
		}
		value = v
	}
	if value == nil {
		return nil, invalidConfig("storage.upload needs dataField or data")
	}
	data, ctype, err := encodeContent(value, cfg.Encoding)
	if err != nil {
		return nil, err
	}
	if cfg.MimeType != "" {
		ctype = cfg.MimeType
	}
	if ctype == "" {
		ctype = "application/octet-stream"
	}
	if err := st.Put(ctx, key, data, ctype); err != nil {
		return nil, storageError(cfg.Storage, "upload "+key, err)
	}
	return StorageUploadOutput{Storage: cfg.Storage, Path: key, Size: len(data), ContentType: ctype}, nil
}

// StorageDelete deletes an object; a missing object is reported, not an
// error.
func (a *Activities) StorageDelete(ctx context.Context, req run.ActionRequest) (any, error) {
	var cfg StorageDeleteConfig
	if err := decodeConfig(req.Config, &cfg); err != nil {
		return nil, err
	}
	st, key, err := a.bucket(cfg.Storage, cfg.Path, "path")
	if err != nil {
		return nil, err
	}
	existed, err := st.Delete(ctx, key)
	if err != nil {
		return nil, storageError(cfg.Storage, "delete "+key, err)
	}
	return StorageDeleteOutput{Storage: cfg.Storage, Path: key, Existed: existed}, nil
}

// StorageCopy copies an object within a bucket.
func (a *Activities) StorageCopy(ctx context.Context, req run.ActionRequest) (any, error) {
	var cfg StorageCopyConfig
	if err := decodeConfig(req.Config, &cfg); err != nil {
		return nil, err
	}
	st, from, err := a.bucket(cfg.Storage, cfg.From, "from")
	if err != nil {
		return nil, err
	}
	to, err := cleanKey(cfg.To, "to")
	if err != nil {
		return nil, err
	}
	if err := st.Copy(ctx, from, to); err != nil {
		return nil, storageError(cfg.Storage, "copy "+from+" to "+to, err)
	}
	return StorageCopyOutput{Storage: cfg.Storage, From: from, To: to}, nil
}

func (a *Activities) bucket(name, path, field string) (blobStore, string, error) {
	if name == "" {
		return nil, "", invalidConfig("storage must name a bucket")
	}
	st, ok := a.storage[name]
	if !ok {
		return nil, "", notConfigured(fmt.Sprintf("storage %q", name))
	}
	if b, ok := st.(brokenStore); ok {
		return nil, "", permanent(errtype.NotConfigured, b.err)
	}
	key, err := cleanKey(path, field)
	return st, key, err
}

// cleanKey refuses paths that would leave the bucket's root (.., absolute)
// so that a templated path cannot reach other files of a local driver.
func cleanKey(p, field string) (string, error) {
	k := strings.TrimPrefix(p, "/")
	if k == "" || !filepath.IsLocal(filepath.FromSlash(k)) || strings.HasSuffix(k, "/") {
		return "", invalidConfig("%s %q is not a relative object path", field, p)
	}
	return k, nil
}

// encodeContent turns the configured value into bytes and, for a base64
// data: URL, the content type it names.
func encodeContent(v any, encoding string) ([]byte, string, error) {
	switch strings.ToLower(encoding) {
	case "", "text":
		if s, ok := v.(string); ok {
			return []byte(s), "text/plain; charset=utf-8", nil
		}
		b, err := json.Marshal(v)
		if err != nil {
			return nil, "", invalidConfig("data: %v", err)
		}
		return b, "application/json", nil
	case "base64":
		s, ok := v.(string)
		if !ok {
			return nil, "", invalidConfig("base64 content must be a string, not %T", v)
		}
		var ctype string
		if rest, ok := strings.CutPrefix(s, "data:"); ok {
			meta, payload, found := strings.Cut(rest, ",")
			if !found || !strings.HasSuffix(meta, ";base64") {
				return nil, "", invalidConfig("data: URL is not base64")
			}
			ctype, s = strings.TrimSuffix(meta, ";base64"), payload
		}
		b, err := decodeBase64(s)
		if err != nil {
			return nil, "", invalidConfig("content is not valid base64")
		}
		return b, ctype, nil
	default:
		return nil, "", invalidConfig("encoding %q: want base64 or text", encoding)
	}
}

// storageError classifies a driver error: a missing bucket or object is
// permanent (retrying cannot create it), a transport failure or a 5xx is
// retried, any other refusal is permanent.
func storageError(bucket, op string, err error) error {
	if errors.Is(err, context.Canceled) {
		return err
	}
	wrapped := fmt.Errorf("storage %q: %s: %w", bucket, op, err)
	if errors.Is(err, errBucketNotFound) {
		return permanent(errtype.NotConfigured, wrapped)
	}
	if errors.Is(err, errObjectNotFound) || errors.Is(err, errReservedKey) {
		return permanent(errtype.InvalidConfig, wrapped)
	}
	if t := networkType(err); t != "" {
		return transient(t, wrapped, 0)
	}
	var resp minio.ErrorResponse
	if errors.As(err, &resp) && resp.StatusCode >= 400 && resp.StatusCode < 500 {
		return permanent(errtype.HTTP4xx, wrapped)
	}
	if errors.As(err, &resp) && resp.StatusCode >= 500 {
		return transient(errtype.HTTP5xx, wrapped, 0)
	}
	var pe *os.PathError
	if errors.As(err, &pe) {
		// Permissions, a full disk, a path through a file: not transient.
		return permanent(errtype.InvalidConfig, wrapped)
	}
	return transient(errtype.Unclassified, wrapped, 0)
}

// brokenStore stands for a bucket whose config could not be used.
type brokenStore struct{ err error }

func (b brokenStore) Put(context.Context, string, []byte, string) error { return b.err }
func (b brokenStore) Get(context.Context, string) ([]byte, string, error) {
	return nil, "", b.err
}
func (b brokenStore) Delete(context.Context, string) (bool, error) { return false, b.err }
func (b brokenStore) Copy(context.Context, string, string) error   { return b.err }

// prefixedStore puts every key of a bucket under a prefix.
type prefixedStore struct {
	prefix string
	next   blobStore
}

func (p prefixedStore) Put(ctx context.Context, key string, data []byte, contentType string) error {
	return p.next.Put(ctx, p.prefix+key, data, contentType)
}

func (p prefixedStore) Get(ctx context.Context, key string) ([]byte, string, error) {
	return p.next.Get(ctx, p.prefix+key)
}

func (p prefixedStore) Delete(ctx context.Context, key string) (bool, error) {
	return p.next.Delete(ctx, p.prefix+key)
}

func (p prefixedStore) Copy(ctx context.Context, from, to string) error {
	return p.next.Copy(ctx, p.prefix+from, p.prefix+to)
}
