package activities

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/triggerd/triggerd/run"
	"github.com/triggerd/triggerd/run/errtype"
)

// seen is one request the test server received.
type seen struct {
	Method, Path, Query, Body string
	Header                    http.Header
}

// target is a local HTTP server whose response each test chooses.
type target struct {
	*httptest.Server
	mu   sync.Mutex
	reqs []seen
}

func newTarget(t *testing.T, h http.HandlerFunc) *target {
	t.Helper()
	tg := &target{}
	tg.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		tg.mu.Lock()
		tg.reqs = append(tg.reqs, seen{r.Method, r.URL.Path, r.URL.RawQuery, string(b), r.Header.Clone()})
		tg.mu.Unlock()
		h(w, r)
	}))
	t.Cleanup(tg.Close)
	return tg
}

func (tg *target) requests() []seen {
	tg.mu.Lock()
	defer tg.mu.Unlock()
	return append([]seen(nil), tg.reqs...)
}

func TestHTTPSendsJSONWithIdempotencyKey(t *testing.T) {
	tg := newTarget(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Request-Id", "r-1")
		w.Header().Set("X-Other", "dropped")
		w.WriteHeader(http.StatusCreated)
		_, _ = w.Write([]byte(`{"id": 42, "ok": true}`))
	})
	a := New(allowLoopback)
	out, err := a.HTTP(context.Background(), request(run.TypeHTTP, map[string]any{
		"url":     tg.URL + "/hooks/welcome",
		"headers": map[string]any{"Authorization": "Bearer x", "X-Count": 3.0, "Idempotency-Key": "overridden?"},
		"query":   map[string]any{"a": "1", "tags": []any{"x", "y"}},
		"body":    map[string]any{"user": map[string]any{"name": "Alice"}, "score": 12.5},
	}))
	require.NoError(t, err)
	o := out.(HTTPOutput)
	require.Equal(t, 201, o.Status)
	require.Equal(t, map[string]any{"id": 42.0, "ok": true}, o.Body)
	require.Equal(t, map[string]string{"Content-Type": "application/json", "X-Request-Id": "r-1"}, o.Headers)

	reqs := tg.requests()
	require.Len(t, reqs, 1)
	r := reqs[0]
	require.Equal(t, http.MethodPost, r.Method, "POST by default")
	require.Equal(t, "/hooks/welcome", r.Path)
	require.Equal(t, "a=1&tags=x&tags=y", r.Query)
	require.Equal(t, "triggerd/t/ev-1/a", r.Header.Get("Idempotency-Key"), "a config cannot replace the key")
	require.Equal(t, "application/json", r.Header.Get("Content-Type"))
	require.Equal(t, "Bearer x", r.Header.Get("Authorization"))
	require.Equal(t, "3", r.Header.Get("X-Count"))
	var body map[string]any
	require.NoError(t, json.Unmarshal([]byte(r.Body), &body))
	require.Equal(t, 12.5, body["score"])

	// The output survives the JSON round trip Temporal gives it.
	b, err := json.Marshal(out)
	require.NoError(t, err)
	require.JSONEq(t, `{"status":201,"headers":{"Content-Type":"application/json","X-Request-Id":"r-1"},"body":{"id":42,"ok":true}}`, string(b))
}

func TestHTTPStringBodyIsSentRaw(t *testing.T) {
	tg := newTarget(t, func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("plain ok")) })
	out, err := New(allowLoopback).HTTP(context.Background(), request(run.TypeHTTP, map[string]any{
		"method": "put", "url": tg.URL, "body": "a=1&b=2",
		"headers": map[string]any{"Content-Type": "application/x-www-form-urlencoded"},
	}))
	require.NoError(t, err)
	require.Equal(t, "plain ok", out.(HTTPOutput).Body)
	r := tg.requests()[0]
	require.Equal(t, http.MethodPut, r.Method)
	require.Equal(t, "a=1&b=2", r.Body)
	require.Equal(t, "application/x-www-form-urlencoded", r.Header.Get("Content-Type"))
}

func TestHTTPStatusMapping(t *testing.T) {
	for _, tt := range []struct {
		status    int
		typ       string
		retryable bool
	}{
		{400, errtype.HTTP4xx, false}, {404, errtype.HTTP4xx, false}, {408, errtype.HTTP408, true},
		{429, errtype.HTTP429, true}, {500, errtype.HTTP5xx, true}, {503, errtype.HTTP5xx, true},
	} {
		tg := newTarget(t, func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(tt.status)
			_, _ = w.Write([]byte("reason"))
		})
		_, err := New(allowLoopback).HTTP(context.Background(), request(run.TypeHTTP, map[string]any{"url": tg.URL}))
		appErr := appError(t, err, tt.typ, tt.retryable)
		require.Contains(t, appErr.Message(), "reason")
	}
}

func TestHTTPHonoursRetryAfter(t *testing.T) {
	tg := newTarget(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "17")
		w.WriteHeader(http.StatusTooManyRequests)
	})
	_, err := New(allowLoopback).HTTP(context.Background(), request(run.TypeHTTP, map[string]any{"url": tg.URL}))
	require.Equal(t, 17*time.Second, appError(t, err, errtype.HTTP429, true).NextRetryDelay())

	date := time.Now().Add(2 * time.Minute).UTC().Format(http.TimeFormat)
	tg = newTarget(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", date)
		w.WriteHeader(http.StatusServiceUnavailable)
	})
	_, err = New(allowLoopback).HTTP(context.Background(), request(run.TypeHTTP, map[string]any{"url": tg.URL}))
	d := appError(t, err, errtype.HTTP5xx, true).NextRetryDelay()
	require.InDelta(t, (2 * time.Minute).Seconds(), d.Seconds(), 2)
}

func TestHTTPDoesNotFollowRedirects(t *testing.T) {
	var final int
	var mu sync.Mutex
	tg := newTarget(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/final" {
			mu.Lock()
			final++
			mu.Unlock()
			return
		}
		http.Redirect(w, r, "/final", http.StatusTemporaryRedirect)
	})
	a := New(allowLoopback)
	_, err := a.HTTP(context.Background(), request(run.TypeHTTP, map[string]any{"url": tg.URL + "/start"}))
	require.Contains(t, appError(t, err, errtype.HTTP3xx, false).Message(), "/final")
	require.Len(t, tg.requests(), 1)
	require.Zero(t, final)
}

func TestHTTPCapsTheBody(t *testing.T) {
	big := strings.Repeat("x", maxResponseBody+100)
	tg := newTarget(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`"` + big + `"`))
	})
	out, err := New(allowLoopback).HTTP(context.Background(), request(run.TypeHTTP, map[string]any{"url": tg.URL}))
	require.NoError(t, err)
	o := out.(HTTPOutput)
	require.True(t, o.Truncated)
	require.Len(t, o.Body.(string), maxResponseBody)
}

func TestHTTPTimeoutIsRetryable(t *testing.T) {
	release := make(chan struct{})
	tg := newTarget(t, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	defer close(release)
	_, err := New(allowLoopback).HTTP(context.Background(), request(run.TypeHTTP, map[string]any{"url": tg.URL, "timeout": "50ms"}))
	appError(t, err, errtype.Timeout, true)
}

func TestHTTPConnectionRefusedIsRetryable(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())
	_, err = New(allowLoopback).HTTP(context.Background(), request(run.TypeHTTP, map[string]any{"url": "http://" + addr + "/x?token=secret"}))
	appErr := appError(t, err, errtype.ConnRefused, true)
	require.NotContains(t, appErr.Message(), "secret", "query strings are not quoted in errors")
}
