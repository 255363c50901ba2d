package largepayload

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
)

// memStore is a Store in memory that counts calls and can fail.
type memStore struct {
	mu   sync.Mutex
	objs map[string][]byte
	puts int
	err  error
}

func newMemStore() *memStore { return &memStore{objs: map[string][]byte{}} }

func (m *memStore) Put(_ context.Context, key string, data []byte, _ string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.err != nil {
		return m.err
	}
	m.puts++
	m.objs[key] = bytes.Clone(data)
	return nil
}

func (m *memStore) Get(_ context.Context, key string) ([]byte, string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.err != nil {
		return nil, "", m.err
	}
	b, ok := m.objs[key]
	if !ok {
		return nil, "", errors.New("object not found")
	}
	return b, "", nil
}

type row struct {
	ID   int    `json:"id"`
	Body string `json:"body"`
}

func bigRow(n int) row { return row{ID: 7, Body: strings.Repeat("x", n)} }

func TestCodec_SmallPayloadsStayInline(t *testing.T) {
	st := newMemStore()
	dc := converter.NewCodecDataConverter(converter.GetDefaultDataConverter(), New(st, WithThreshold(1024)))
	p, err := dc.ToPayload(bigRow(100))
	require.NoError(t, err)
	assert.False(t, IsReference(p))
	assert.Equal(t, "json/plain", string(p.Metadata["encoding"]))
	assert.Zero(t, st.puts)
}

func TestCodec_LargePayloadByReference(t *testing.T) {
	st := newMemStore()
	codec := New(st, WithThreshold(1024), WithName("payloads"))
	dc := converter.NewCodecDataConverter(converter.GetDefaultDataConverter(), codec)

	in := bigRow(3 << 20) // a 3 MB row
	ps, err := dc.ToPayloads(in, "small")
	require.NoError(t, err)
	ref := ps.Payloads[0]
	require.True(t, IsReference(ref))
	assert.Less(t, proto.Size(ref), 400, "the history holds a small reference")
	assert.False(t, IsReference(ps.Payloads[1]), "the small argument stays inline")
	assert.Contains(t, string(ref.Data), `"store":"payloads","key":"payloads/sha256/`)
	require.Len(t, st.objs, 1)

	var out row
	var s string
	require.NoError(t, dc.FromPayloads(ps, &out, &s))
	assert.Equal(t, in, out)
	assert.Equal(t, "small", s)

	// A client without the codec refuses the reference loudly.
	err = converter.GetDefaultDataConverter().FromPayloads(ps, &out, &s)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "encoding")
}

// The key is the payload's SHA-256: encoding it again (a retried start)
// gives the same reference; a second codec (another process) stores the
// same object again under the same key, idempotently.
func TestCodec_ContentAddressed(t *testing.T) {
	st := newMemStore()
	p, err := converter.GetDefaultDataConverter().ToPayload(bigRow(4096))
	require.NoError(t, err)
	c1 := New(st, WithThreshold(1024))
	a, err := c1.Encode([]*commonpb.Payload{p})
	require.NoError(t, err)
	b, err := c1.Encode([]*commonpb.Payload{p})
	require.NoError(t, err)
	assert.True(t, proto.Equal(a[0], b[0]))
	assert.Equal(t, 1, st.puts, "stored once by this process")

	c2 := New(st, WithThreshold(1024))
	c, err := c2.Encode([]*commonpb.Payload{p})
	require.NoError(t, err)
	assert.True(t, proto.Equal(a[0], c[0]))
	assert.Len(t, st.objs, 1)

	again, err := c1.Encode(a)
	require.NoError(t, err)
	assert.True(t, proto.Equal(a[0], again[0]), "a reference is never wrapped again")
}

func TestCodec_StoreFailuresAreReported(t *testing.T) {
	st := newMemStore()
	codec := New(st, WithThreshold(1024), WithName("payloads"))
	p, err := converter.GetDefaultDataConverter().ToPayload(bigRow(4096))
	require.NoError(t, err)

	st.err = errors.New("connection refused")
	_, err = codec.Encode([]*commonpb.Payload{p})
	var se *StoreError
	require.ErrorAs(t, err, &se)
	assert.Equal(t, "store", se.Op)
	assert.Contains(t, err.Error(), `in blob store "payloads": connection refused`)

	st.err = nil
	refs, err := codec.Encode([]*commonpb.Payload{p})
	require.NoError(t, err)

	// Fetched by another process (no cache): a missing object, a changed one.
	reader := New(st, WithName("payloads"))
	for key := range st.objs {
		st.objs[key] = append(st.objs[key], 'x')
	}
	_, err = reader.Decode(refs)
	require.ErrorAs(t, err, &se)
	assert.Contains(t, err.Error(), "does not match its SHA-256")
	clear(st.objs)
	_, err = reader.Decode(refs)
	require.ErrorAs(t, err, &se)
	assert.Equal(t, "fetch", se.Op)
	assert.Contains(t, err.Error(), "object not found")
}

func TestCodec_DecodeCache(t *testing.T) {
	st := newMemStore()
	codec := New(st, WithThreshold(1024), WithCacheBytes(10000))
	p, err := converter.GetDefaultDataConverter().ToPayload(bigRow(4096))
	require.NoError(t, err)
	refs, err := codec.Encode([]*commonpb.Payload{p})
	require.NoError(t, err)
	_, err = codec.Decode(refs)
	require.NoError(t, err)
	st.err = errors.New("store down")
	got, err := codec.Decode(refs)
	require.NoError(t, err, "a replay reads the cached payload")
	assert.True(t, proto.Equal(p, got[0]))

	// Beyond the cache's size the oldest payloads are dropped.
	st.err = nil
	p2, err := converter.GetDefaultDataConverter().ToPayload(bigRow(8000))
	require.NoError(t, err)
	refs2, err := codec.Encode([]*commonpb.Payload{p2})
	require.NoError(t, err)
	_, err = codec.Decode(refs2)
	require.NoError(t, err)
	assert.Nil(t, codec.cached(KeyPrefix+mustRef(t, refs[0]).SHA256))
}

func mustRef(t *testing.T, p *commonpb.Payload) Reference {
	t.Helper()
	var r Reference
	require.NoError(t, json.Unmarshal(p.Data, &r))
	return r
}

func TestHandler_DecodesForTheUI(t *testing.T) {
	st := newMemStore()
	codec := New(st, WithThreshold(1024))
	p, err := converter.GetDefaultDataConverter().ToPayload(bigRow(4096))
	require.NoError(t, err)
	refs, err := codec.Encode([]*commonpb.Payload{p})
	require.NoError(t, err)
	body, err := protojson.Marshal(&commonpb.Payloads{Payloads: refs})
	require.NoError(t, err)

	srv := httptest.NewServer(Handler(New(st), "http://localhost:8233"))
	defer srv.Close()

	// The UI's preflight.
	req, _ := http.NewRequest(http.MethodOptions, srv.URL+"/decode", nil)
	req.Header.Set("Origin", "http://localhost:8233")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "http://localhost:8233", resp.Header.Get("Access-Control-Allow-Origin"))
	assert.Contains(t, resp.Header.Get("Access-Control-Allow-Headers"), "X-Namespace")

	req, _ = http.NewRequest(http.MethodPost, srv.URL+"/decode", bytes.NewReader(body))
	req.Header.Set("Origin", "http://evil.example")
	req.Header.Set("Content-Type", "application/json")
	resp, err = http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Empty(t, resp.Header.Get("Access-Control-Allow-Origin"), "an origin not listed gets no CORS grant")
	var out struct {
		Payloads []*commonpb.Payload `json:"payloads"`
	}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&out))
	require.Len(t, out.Payloads, 1)
	var r row
	require.NoError(t, converter.GetDefaultDataConverter().FromPayload(out.Payloads[0], &r))
	assert.Equal(t, bigRow(4096), r)
}
