package activities

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/triggerd/triggerd/run"
	"github.com/triggerd/triggerd/run/errtype"
	"github.com/triggerd/triggerd/webhooksign"
)

// A receiver written against package webhooksign accepts what the action
// signs, and only with the right key.
func TestHTTPSignsTheBody(t *testing.T) {
	key := []byte("whsec_" + t.Name())
	type verdict struct {
		good, wrongKey error
		body           string
	}
	got := make(chan verdict, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		h := r.Header.Get(webhooksign.Header)
		got <- verdict{
			good:     webhooksign.Verify(h, b, key, time.Now(), 0),
			wrongKey: webhooksign.Verify(h, b, []byte("other"), time.Now(), 0),
			body:     string(b),
		}
	}))
	defer srv.Close()
	_, err := New(allowLoopback).HTTP(context.Background(), request(run.TypeHTTP, map[string]any{
		"url":  srv.URL,
		"body": map[string]any{"orderId": 7.0},
		"sign": map[string]any{"key": string(key)},
	}))
	require.NoError(t, err)
	v := <-got
	require.NoError(t, v.good)
	require.ErrorIs(t, v.wrongKey, webhooksign.ErrMismatch)
	require.JSONEq(t, `{"orderId":7}`, v.body)
}

func TestHTTPSignHeaderAndEmptyBody(t *testing.T) {
	tg := newTarget(t, func(http.ResponseWriter, *http.Request) {})
	_, err := New(allowLoopback).HTTP(context.Background(), request(run.TypeHTTP, map[string]any{
		"method": "GET", "url": tg.URL,
		"sign": map[string]any{"key": "k", "header": "X-Signature"},
	}))
	require.NoError(t, err)
	r := tg.requests()[0]
	require.Empty(t, r.Header.Get(webhooksign.Header))
	require.NoError(t, webhooksign.Verify(r.Header.Get("X-Signature"), nil, []byte("k"), time.Now(), 0),
		"a request without a body signs the empty body")
}

func TestHTTPFormBody(t *testing.T) {
	tg := newTarget(t, func(http.ResponseWriter, *http.Request) {})
	_, err := New(allowLoopback).HTTP(context.Background(), request(run.TypeHTTP, map[string]any{
		"url": tg.URL, "bodyType": "form",
		"body": map[string]any{"email": "a+b@example.com", "qty": 2.0, "tag": []any{"x", "y z"}},
	}))
	require.NoError(t, err)
	r := tg.requests()[0]
	require.Equal(t, "application/x-www-form-urlencoded", r.Header.Get("Content-Type"))
	vals, err := url.ParseQuery(r.Body)
	require.NoError(t, err)
	require.Equal(t, url.Values{"email": {"a+b@example.com"}, "qty": {"2"}, "tag": {"x", "y z"}}, vals)
}

func TestHTTPRawBodyWithContentTypeAndMethods(t *testing.T) {
	tg := newTarget(t, func(http.ResponseWriter, *http.Request) {})
	a := New(allowLoopback)
	for _, m := range []string{"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"} {
		_, err := a.HTTP(context.Background(), request(run.TypeHTTP, map[string]any{
			"method": m, "url": tg.URL, "bodyType": "raw", "body": "<order id=\"1\"/>", "contentType": "application/xml",
			"idempotencyHeader": "X-Idem",
		}))
		require.NoError(t, err, m)
	}
	reqs := tg.requests()
	require.Len(t, reqs, 7)
	for i, m := range []string{"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"} {
		require.Equal(t, m, reqs[i].Method)
		require.Equal(t, "application/xml", reqs[i].Header.Get("Content-Type"))
		require.Equal(t, "<order id=\"1\"/>", reqs[i].Body)
		require.Equal(t, "triggerd/t/ev-1/a", reqs[i].Header.Get("X-Idem"))
		require.Empty(t, reqs[i].Header.Get("Idempotency-Key"))
	}
}

func TestHTTPFollowRedirectsOptIn(t *testing.T) {
	tg := newTarget(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/final" {
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(`{"at":"final"}`))
			return
		}
		http.Redirect(w, r, "/final", http.StatusFound)
	})
	out, err := New(allowLoopback).HTTP(context.Background(), request(run.TypeHTTP, map[string]any{
		"method": "GET", "url": tg.URL + "/start", "followRedirects": true,
	}))
	require.NoError(t, err)
	require.Equal(t, map[string]any{"at": "final"}, out.(HTTPOutput).Body)
	require.Len(t, tg.requests(), 2)
}

func TestHTTPResponseHeadersAndCap(t *testing.T) {
	tg := newTarget(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Rate-Remaining", "9")
		w.Header().Set("Set-Cookie", "session=s3cret")
		_, _ = w.Write([]byte("0123456789"))
	})
	a := New(allowLoopback)
	out, err := a.HTTP(context.Background(), request(run.TypeHTTP, map[string]any{
		"url": tg.URL, "responseHeaders": []any{"x-rate-remaining"}, "maxResponseBytes": 4.0,
	}))
	require.NoError(t, err)
	o := out.(HTTPOutput)
	require.Equal(t, "9", o.Headers["X-Rate-Remaining"])
	require.Equal(t, "0123", o.Body)
	require.True(t, o.Truncated)

	out, err = a.HTTP(context.Background(), request(run.TypeHTTP, map[string]any{"url": tg.URL, "responseHeaders": []any{"*"}}))
	require.NoError(t, err)
	o = out.(HTTPOutput)
	require.Equal(t, "10", o.Headers["Content-Length"])
	require.NotContains(t, o.Headers, "Set-Cookie")
}

func TestHTTPInvalidConfigIsPermanent(t *testing.T) {
	tg := newTarget(t, func(http.ResponseWriter, *http.Request) {})
	for name, cfg := range map[string]map[string]any{
		"unknown key":      {"url": tg.URL, "bodyTyp": "form"},
		"unknown bodyType": {"url": tg.URL, "bodyType": "xml", "body": "x"},
		"form not a map":   {"url": tg.URL, "bodyType": "form", "body": "a=1"},
		"raw not a string": {"url": tg.URL, "bodyType": "raw", "body": map[string]any{}},
		"empty sign key":   {"url": tg.URL, "sign": map[string]any{"key": ""}},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := New(allowLoopback).HTTP(context.Background(), request(run.TypeHTTP, cfg))
			appError(t, err, errtype.InvalidConfig, false)
		})
	}
	require.Empty(t, tg.requests(), "nothing is sent for an invalid config")
}

func TestHTTPRedirectLoopIsPermanent(t *testing.T) {
	tg := newTarget(t, func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/again", http.StatusFound) })
	_, err := New(allowLoopback).HTTP(context.Background(), request(run.TypeHTTP, map[string]any{"method": "GET", "url": tg.URL, "followRedirects": true}))
	require.Contains(t, appError(t, err, errtype.HTTP3xx, false).Message(), "stopped after 10 redirects")
	require.Len(t, tg.requests(), 11)
}

func TestHTTPInvalidHeadersArePermanent(t *testing.T) {
	tg := newTarget(t, func(http.ResponseWriter, *http.Request) {})
	for name, h := range map[string]map[string]any{
		"newline in value": {"X-Name": "Ada\r\nX-Injected: 1"},
		"space in name":    {"X Name": "v"},
		"colon in name":    {"X:Name": "v"},
	} {
		_, err := New(allowLoopback).HTTP(context.Background(), request(run.TypeHTTP, map[string]any{"url": tg.URL, "headers": h}))
		require.Error(t, err, name)
		appError(t, err, errtype.InvalidConfig, false)
	}
	require.Empty(t, tg.requests())
}
