// Package storagetest is the conformance suite of the storage.* actions:
// every storage driver (a local directory, S3, S3 under a key prefix)
// must pass Run against the real backend. The suite drives the actions
// and checks, through the harness's own reader of the backend, what was
// stored where.
package storagetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"mime"
	"testing"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/triggerd/triggerd/run"
	"github.com/triggerd/triggerd/run/errtype"
)

// Object is what the backend holds under a key.
type Object struct {
	Data        []byte
	ContentType string
}

// Harness is what Run needs of a driver.
type Harness struct {
	// Upload, Delete and Copy are the storage.upload, storage.delete and
	// storage.copy actions of workers configured with Bucket.
	Upload, Delete, Copy run.ActionFunc
	// Bucket is the configured name of the bucket under test.
	Bucket string
	// Read reads path as the backend stores it, under the bucket's prefix
	// if it has one (so the suite checks the prefix is applied); found is
	// false when there is no such object.
	Read func(ctx context.Context, path string) (obj Object, found bool, err error)
	// MissingUpload is storage.upload of a worker whose Bucket does not
	// exist on the backend (a missing directory or S3 bucket).
	MissingUpload run.ActionFunc
}

// Run runs the suite. Every path it writes is under a prefix unique to
// the run, so suites can share a backend.
func Run(t *testing.T, h Harness) {
	base := fmt.Sprintf("conformance-%d", time.Now().UnixNano())
	p := func(name string) string { return base + "/" + name }
	ctx := context.Background()

	t.Run("UploadText", func(t *testing.T) {
		out := call(t, h.Upload, h.req(map[string]any{"path": p("note.txt"), "data": "hello"}, nil))
		want := fmt.Sprintf(`{"contentType":"text/plain; charset=utf-8","path":%q,"size":5,"storage":%q}`, p("note.txt"), h.Bucket)
		if out != want {
			t.Errorf("output %s, want %s", out, want)
		}
		h.expect(t, ctx, p("note.txt"), "hello", "text/plain; charset=utf-8")
	})
	t.Run("UploadJSON", func(t *testing.T) {
		call(t, h.Upload, h.req(map[string]any{"path": p("doc.json"), "data": map[string]any{"id": 7.0}}, nil))
		h.expect(t, ctx, p("doc.json"), `{"id":7}`, "application/json")
	})
	t.Run("UploadBase64FromRecordField", func(t *testing.T) {
		rec := &run.EventContext{Record: map[string]any{"avatar": "AAEC/w=="}}
		call(t, h.Upload, h.req(map[string]any{"path": p("a/b/avatar.png"), "dataField": "avatar", "encoding": "base64", "mimeType": "image/png"}, rec))
		h.expect(t, ctx, p("a/b/avatar.png"), "\x00\x01\x02\xff", "image/png")
	})
	t.Run("UploadDataURL", func(t *testing.T) {
		call(t, h.Upload, h.req(map[string]any{"path": p("pixel.gif"), "data": "data:image/gif;base64,R0lGODlh", "encoding": "base64"}, nil))
		h.expect(t, ctx, p("pixel.gif"), "GIF89a", "image/gif")
	})
	t.Run("Overwrite", func(t *testing.T) {
		for _, v := range []string{"first", "second"} {
			call(t, h.Upload, h.req(map[string]any{"path": p("over.txt"), "data": v}, nil))
		}
		h.expect(t, ctx, p("over.txt"), "second", "text/plain; charset=utf-8")
	})
	t.Run("Copy", func(t *testing.T) {
		call(t, h.Upload, h.req(map[string]any{"path": p("src.bin"), "data": "AAEC", "encoding": "base64", "mimeType": "application/x-thing"}, nil))
		call(t, h.Copy, h.req(map[string]any{"from": p("src.bin"), "to": p("copies/dst.bin")}, nil))
		h.expect(t, ctx, p("copies/dst.bin"), "\x00\x01\x02", "application/x-thing")
		h.expect(t, ctx, p("src.bin"), "\x00\x01\x02", "application/x-thing")
	})
	t.Run("DeleteIsIdempotent", func(t *testing.T) {
		call(t, h.Upload, h.req(map[string]any{"path": p("gone.txt"), "data": "x"}, nil))
		for _, existed := range []bool{true, false} {
			out := call(t, h.Delete, h.req(map[string]any{"path": p("gone.txt")}, nil))
			want := fmt.Sprintf(`{"existed":%v,"path":%q,"storage":%q}`, existed, p("gone.txt"), h.Bucket)
			if out != want {
				t.Errorf("output %s, want %s", out, want)
			}
		}
		if _, found, err := h.Read(ctx, p("gone.txt")); err != nil || found {
			t.Errorf("after delete: found=%v err=%v", found, err)
		}
	})
	t.Run("PermanentErrors", func(t *testing.T) {
		for name, tc := range map[string]struct {
			f   run.ActionFunc
			req run.ActionRequest
			typ string
		}{
			"path escapes":    {h.Upload, h.req(map[string]any{"path": "../escape.txt", "data": "x"}, nil), errtype.InvalidConfig},
			"unknown key":     {h.Upload, h.req(map[string]any{"path": p("x"), "data": "x", "contentType": "y"}, nil), errtype.InvalidConfig},
			"bad base64":      {h.Upload, h.req(map[string]any{"path": p("x"), "data": "%%", "encoding": "base64"}, nil), errtype.InvalidConfig},
			"copy missing":    {h.Copy, h.req(map[string]any{"from": p("nothing-here"), "to": p("y")}, nil), errtype.InvalidConfig},
			"unknown bucket":  {h.Upload, run.ActionRequest{Config: map[string]any{"storage": "no-such-name", "path": "x", "data": "y"}}, errtype.NotConfigured},
			"missing backend": {h.MissingUpload, h.req(map[string]any{"path": p("x"), "data": "y"}, nil), errtype.NotConfigured},
		} {
			_, err := tc.f(ctx, tc.req)
			var appErr *temporal.ApplicationError
			if !errors.As(err, &appErr) || appErr.Type() != tc.typ || !appErr.NonRetryable() {
				t.Errorf("%s: got %v, want a non-retryable %s", name, err, tc.typ)
			}
		}
		if _, found, _ := h.Read(ctx, p("x")); found {
			t.Errorf("a failed upload stored an object")
		}
	})
}

func (h Harness) req(cfg map[string]any, ec *run.EventContext) run.ActionRequest {
	cfg["storage"] = h.Bucket
	return run.ActionRequest{ActionName: "store", Config: cfg, IdempotencyKey: "conformance", Context: ec}
}

func (h Harness) expect(t *testing.T, ctx context.Context, path, data, contentType string) {
	t.Helper()
	obj, found, err := h.Read(ctx, path)
	switch {
	case err != nil:
		t.Fatalf("read %s: %v", path, err)
	case !found:
		t.Fatalf("%s was not stored", path)
	case string(obj.Data) != data:
		t.Errorf("%s holds %q, want %q", path, obj.Data, data)
	case !sameMediaType(obj.ContentType, contentType):
		t.Errorf("%s has content type %q, want %q", path, obj.ContentType, contentType)
	}
}

// sameMediaType reports whether two Content-Type values name the same media
// type: equal type/subtype and equal parameters. They are compared parsed,
// not as strings, because a backend may store the value in another
// equivalent spelling: RFC 9110 section 8.3.1 makes the type, subtype and
// parameter names case-insensitive and allows optional whitespace around
// ";", and S3-compatible servers differ (S3Proxy answers
// "text/plain;charset=utf-8" for a stored "text/plain; charset=utf-8").
// Parameter values are compared exactly: only the charset value is
// case-insensitive, and the suite always expects lower case.
func sameMediaType(got, want string) bool {
	if got == want {
		return true
	}
	gt, gp, gerr := mime.ParseMediaType(got)
	wt, wp, werr := mime.ParseMediaType(want)
	return gerr == nil && werr == nil && gt == wt && maps.Equal(gp, wp)
}

// call runs an action that must succeed and returns its output as JSON,
// the form a workflow history records.
func call(t *testing.T, f run.ActionFunc, req run.ActionRequest) string {
	t.Helper()
	out, err := f(context.Background(), req)
	if err != nil {
		t.Fatalf("%v: %v", req.Config, err)
	}
	return mustJSON(t, out)
}

// mustJSON encodes v with sorted keys (through a map), so outputs compare
// as text.
func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var m any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	b, err = json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
