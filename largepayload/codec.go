// Package largepayload passes Temporal payloads over a size by reference.
//
// Codec is a converter.PayloadCodec: on the way to Temporal it stores every
// payload whose serialised size exceeds a threshold in a blob store (a
// bucket of `storage:`, a local directory or S3) under the SHA-256 of its
// bytes, and replaces it by a small reference payload; on the way back it
// fetches and restores it. Installed on the data converter of every client
// of the namespace (ingest, worker, `triggerd runs`), it makes a change
// event of several megabytes run its triggers like any other: the run's
// input, the signals of lanes and batches, activity inputs and results are
// all encoded by the same converter, and workflow and activity code never
// see a reference.
//
// The key is content-addressed, so storing the same payload again (a
// retried start, a replay) writes the same object: retries stay
// idempotent. Codecs run outside workflow code (the SDK calls them when it
// serialises), so workflows stay deterministic. Blobs hold what the history
// would have held: templates are rendered in the workflow with
// {{secret.NAME}} unresolved (the worker's secrets middleware resolves them
// inside the activity), so no resolved secret is ever stored.
//
// A reference payload has the metadata encoding "triggerd/blob-ref": a
// client without the codec fails loudly ("payload encoding is not
// supported") instead of decoding a reference as data. The Temporal UI
// shows references as they are unless it is pointed at a codec server
// (Handler).
package largepayload

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"
	"google.golang.org/protobuf/proto"
)

// Store keeps blobs under slash-separated keys (activities.Bucket: a local
// directory or an S3 bucket).
type Store interface {
	Put(ctx context.Context, key string, data []byte, contentType string) error
	Get(ctx context.Context, key string) (data []byte, contentType string, err error)
}

// Encoding is the metadata encoding of a reference payload.
const Encoding = "triggerd/blob-ref"

// KeyPrefix prefixes the key of every stored payload: KeyPrefix + the hex
// SHA-256 of the payload's serialised bytes.
const KeyPrefix = "payloads/sha256/"

// contentType of a stored payload: a serialised temporal.api.common.v1.Payload.
const contentType = "application/x-protobuf; messageType=temporal.api.common.v1.Payload"

// Defaults of the options.
const (
	// DefaultThreshold is the size (bytes) over which a payload is stored:
	// half of Temporal's default 2 MiB blob limit.
	DefaultThreshold = 1 << 20
	// DefaultTimeout bounds one call to the store.
	DefaultTimeout = 30 * time.Second
	// DefaultCacheBytes bounds the decoded payloads kept in memory, so that
	// replaying a workflow does not fetch its input again.
	DefaultCacheBytes = 64 << 20
)

// storedTTL is how long the codec trusts that a payload it stored is still
// in the store and skips storing it again (a workflow replay encodes its
// activities' inputs again). Far below any sensible retention rule.
const storedTTL = 10 * time.Minute

// Reference is the data of a reference payload (JSON).
type Reference struct {
	// Store names the bucket, for people reading a history.
	Store string `json:"store,omitempty"`
	Key   string `json:"key"`
	// Size is the serialised payload's size in bytes; SHA256 its digest,
	// checked when it is read back.
	Size   int    `json:"size"`
	SHA256 string `json:"sha256"`
}

// Codec stores large payloads by reference (see the package comment).
type Codec struct {
	store     Store
	name      string
	threshold int
	timeout   time.Duration

	mu         sync.Mutex
	stored     map[string]time.Time // key → when this process stored it
	cache      map[string]*commonpb.Payload
	cacheOrder []string
	cacheBytes int
	cacheMax   int
	now        func() time.Time
}

// Option customises a Codec.
type Option func(*Codec)

// WithThreshold sets the size over which a payload is stored by reference.
func WithThreshold(bytes int) Option { return func(c *Codec) { c.threshold = bytes } }

// WithTimeout bounds each call to the store.
func WithTimeout(d time.Duration) Option { return func(c *Codec) { c.timeout = d } }

// WithName names the store in references and errors (the bucket's name).
func WithName(name string) Option { return func(c *Codec) { c.name = name } }

// WithCacheBytes bounds the cache of decoded payloads (0 disables it).
func WithCacheBytes(n int) Option { return func(c *Codec) { c.cacheMax = n } }

// New returns a Codec storing large payloads in store.
func New(store Store, opts ...Option) *Codec {
	c := &Codec{
		store: store, threshold: DefaultThreshold, timeout: DefaultTimeout, cacheMax: DefaultCacheBytes,
		stored: map[string]time.Time{}, cache: map[string]*commonpb.Payload{}, now: time.Now,
	}
	for _, o := range opts {
		o(c)
	}
	return c
}

var _ converter.PayloadCodec = (*Codec)(nil)

// StoreError is a failure of the blob store. It is transient as far as the
// codec knows: ingest retries the start, the worker the workflow task.
type StoreError struct {
	Op, Store, Key string
	Err            error
}

func (e *StoreError) Error() string {
	return fmt.Sprintf("large payload %s %s in blob store %q: %v", e.Op, e.Key, e.Store, e.Err)
}

func (e *StoreError) Unwrap() error { return e.Err }

// Encode replaces each payload over the threshold by a reference to its
// stored copy.
func (c *Codec) Encode(payloads []*commonpb.Payload) ([]*commonpb.Payload, error) {
	out := make([]*commonpb.Payload, len(payloads))
	for i, p := range payloads {
		if IsReference(p) || proto.Size(p) <= c.threshold {
			out[i] = p
			continue
		}
		ref, err := c.put(p)
		if err != nil {
			return nil, err
		}
		out[i] = ref
	}
	return out, nil
}

func (c *Codec) put(p *commonpb.Payload) (*commonpb.Payload, error) {
	// Deterministic: the metadata map must serialise the same way every
	// time, or the same payload would get another key.
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(p)
	if err != nil {
		return nil, fmt.Errorf("large payload: serialise: %w", err)
	}
	sum := sha256.Sum256(b)
	digest := hex.EncodeToString(sum[:])
	key := KeyPrefix + digest
	if !c.recentlyStored(key) {
		ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
		err := c.store.Put(ctx, key, b, contentType)
		cancel()
		if err != nil {
			return nil, &StoreError{Op: "store", Store: c.name, Key: key, Err: err}
		}
		c.markStored(key)
	}
	data, err := json.Marshal(Reference{Store: c.name, Key: key, Size: len(b), SHA256: digest})
	if err != nil {
		return nil, err
	}
	return &commonpb.Payload{Metadata: map[string][]byte{converter.MetadataEncoding: []byte(Encoding)}, Data: data}, nil
}

// Decode replaces each reference by the payload it names.
func (c *Codec) Decode(payloads []*commonpb.Payload) ([]*commonpb.Payload, error) {
	out := make([]*commonpb.Payload, len(payloads))
	for i, p := range payloads {
		if !IsReference(p) {
			out[i] = p
			continue
		}
		d, err := c.get(p)
		if err != nil {
			return nil, err
		}
		out[i] = d
	}
	return out, nil
}

func (c *Codec) get(p *commonpb.Payload) (*commonpb.Payload, error) {
	var ref Reference
	if err := json.Unmarshal(p.GetData(), &ref); err != nil || ref.Key == "" {
		return nil, fmt.Errorf("large payload: malformed reference %q", p.GetData())
	}
	if d := c.cached(ref.Key); d != nil {
		return d, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
	b, _, err := c.store.Get(ctx, ref.Key)
	cancel()
	if err != nil {
		return nil, &StoreError{Op: "fetch", Store: c.name, Key: ref.Key, Err: err}
	}
	sum := sha256.Sum256(b)
	if hex.EncodeToString(sum[:]) != ref.SHA256 {
		return nil, &StoreError{Op: "fetch", Store: c.name, Key: ref.Key, Err: errors.New("content does not match its SHA-256")}
	}
	var d commonpb.Payload
	if err := proto.Unmarshal(b, &d); err != nil {
		return nil, &StoreError{Op: "fetch", Store: c.name, Key: ref.Key, Err: fmt.Errorf("not a payload: %w", err)}
	}
	c.remember(ref.Key, &d, len(b))
	return &d, nil
}

// IsReference reports whether p is a reference payload.
func IsReference(p *commonpb.Payload) bool {
	return string(p.GetMetadata()[converter.MetadataEncoding]) == Encoding
}

func (c *Codec) recentlyStored(key string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	at, ok := c.stored[key]
	return ok && c.now().Sub(at) < storedTTL
}

func (c *Codec) markStored(key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	if len(c.stored) >= 4096 {
		for k, at := range c.stored {
			if now.Sub(at) >= storedTTL {
				delete(c.stored, k)
			}
		}
		if len(c.stored) >= 4096 {
			clear(c.stored)
		}
	}
	c.stored[key] = now
}

func (c *Codec) cached(key string) *commonpb.Payload {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.cache[key]
}

// remember caches a decoded payload, evicting the oldest beyond cacheMax.
// Payloads are immutable once decoded: the SDK only reads them.
func (c *Codec) remember(key string, p *commonpb.Payload, size int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if size > c.cacheMax || c.cache[key] != nil {
		return
	}
	for c.cacheBytes+size > c.cacheMax && len(c.cacheOrder) > 0 {
		old := c.cacheOrder[0]
		c.cacheOrder = c.cacheOrder[1:]
		c.cacheBytes -= proto.Size(c.cache[old])
		delete(c.cache, old)
	}
	c.cache[key] = p
	c.cacheOrder = append(c.cacheOrder, key)
	c.cacheBytes += size
}
