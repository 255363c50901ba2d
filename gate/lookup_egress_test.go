package gate_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/triggerd/triggerd/egress"
	"github.com/triggerd/triggerd/gate"
)

// Without a client of its own, an HTTP lookup connects through the default
// egress policy: a lookup aimed at loopback is refused before it connects.
func TestHTTPLookupDefaultPolicy(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { hits.Add(1) }))
	defer srv.Close()
	_, err := (&gate.Lookups{}).Lookup(context.Background(), "http", map[string]any{"url": srv.URL})
	var d *egress.DeniedError
	if !errors.As(err, &d) {
		t.Fatalf("lookup: %v", err)
	}
	if hits.Load() != 0 {
		t.Fatal("the refused lookup reached the server")
	}
	allow, err := egress.New([]string{"127.0.0.1"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	l := &gate.Lookups{HTTP: &http.Client{Transport: allow.Transport()}}
	if _, err := l.Lookup(context.Background(), "http", map[string]any{"url": srv.URL}); err != nil {
		t.Fatal(err)
	}
	if hits.Load() != 1 {
		t.Fatalf("hits %d", hits.Load())
	}
}
