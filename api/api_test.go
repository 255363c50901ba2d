package api_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/triggerd/triggerd/api"
	"github.com/triggerd/triggerd/internal/testenv"
	"github.com/triggerd/triggerd/triggerstore"
)

// stores runs f against every store driver: the API must behave the same
// on each.
func stores(t *testing.T, f func(t *testing.T, st triggerstore.Store)) {
	t.Run("memory", func(t *testing.T) { f(t, triggerstore.NewMemory()) })
	t.Run("sqlite", func(t *testing.T) {
		st, err := triggerstore.OpenSQLite(filepath.Join(t.TempDir(), "triggers.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		f(t, st)
	})
	t.Run("postgres", func(t *testing.T) {
		dsn := testenv.PostgresDSN(t)
		// A schema per test keeps runs (and parallel packages) apart.
		schema := fmt.Sprintf("api_test_%d", time.Now().UnixNano())
		st, err := triggerstore.OpenPostgres(context.Background(), dsn, triggerstore.WithSchema(schema))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		f(t, st)
	})
}

// doc is a trigger document on public.orders.
func doc(tag string, extra ...string) json.RawMessage {
	fields := []string{
		fmt.Sprintf(`"tag": %q`, tag),
		`"tables": ["public.orders"]`,
		`"events": ["afterUpdate"]`,
		`"condition": {"field": "record.status", "operator": "CHANGED_TO", "value": "cancelled"}`,
		`"actions": [{"type": "log", "name": "say", "config": {"message": "order {{record.id}} cancelled"}}]`,
	}
	fields = append(fields, extra...)
	return json.RawMessage("{" + strings.Join(fields, ", ") + "}")
}

type fixture struct {
	t       *testing.T
	srv     *httptest.Server
	c       *api.Client
	token   string
	reloads atomic.Int32
}

func newFixture(t *testing.T, st triggerstore.Store) *fixture {
	f := &fixture{t: t}
	var auth *api.Auth
	auth, f.token = adminAuth(t, "tester")
	s := api.New(api.Options{Store: st, Auth: auth, MaxBodyBytes: 64 << 10, Reload: func(ctx context.Context) (int64, int, error) {
		f.reloads.Add(1)
		rev, err := st.Revision(ctx)
		return rev, 0, err
	}})
	f.srv = httptest.NewServer(s.Handler())
	t.Cleanup(f.srv.Close)
	f.c = api.NewClient(f.srv.URL, api.WithToken(f.token))
	return f
}

// call sends a raw request and returns the status and the body.
func (f *fixture) call(method, path string, body string, hdr ...string) (int, string) {
	f.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, _ := http.NewRequest(method, f.srv.URL+path, rd)
	req.Header.Set("Authorization", "Bearer "+f.token)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func wantStatus(t *testing.T, err error, status int, code string) *api.Error {
	t.Helper()
	var e *api.Error
	if !errors.As(err, &e) || e.Status != status || e.Code != code {
		t.Fatalf("want %d %s, got %v", status, code, err)
	}
	return e
}

func TestTriggersCRUD(t *testing.T) {
	stores(t, func(t *testing.T, st triggerstore.Store) {
		ctx := context.Background()
		f := newFixture(t, st)

		// Create: 201, version 1, actor recorded.
		tr, err := f.c.Create(ctx, doc("order-cancelled"))
		if err != nil {
			t.Fatal(err)
		}
		if tr.Version != 1 || tr.UpdatedBy != "tester" || tr.UpdatedAt.IsZero() || !strings.Contains(string(tr.Definition), `"enabled":true`) {
			t.Fatalf("created %+v %s", tr, tr.Definition)
		}
		// The actor is the token's name, not a header the caller sets.
		code, body := f.call("POST", "/v1/triggers", string(doc("other")), "X-Triggerd-Actor", "mallory")
		if code != http.StatusCreated || !strings.Contains(body, `"updatedBy":"tester"`) {
			t.Fatalf("actor: %d %s", code, body)
		}
		// Duplicate: 409.
		_, err = f.c.Create(ctx, doc("order-cancelled"))
		wantStatus(t, err, http.StatusConflict, api.CodeConflict)
		// Invalid: 422 with every problem and its field path; nothing stored.
		_, err = f.c.Create(ctx, json.RawMessage(`{"tag": "bad", "tables": [], "events": ["afterNothing"],
			"condition": {"field": "record.x", "operator": "MATCHES", "value": "("}, "actions": [{"type": "nope"}]}`))
		e := wantStatus(t, err, http.StatusUnprocessableEntity, api.CodeInvalid)
		fields := map[string]bool{}
		for _, p := range e.Problems {
			fields[p.Field] = true
		}
		for _, want := range []string{"tables", "events[0]", "actions[0].type"} {
			if !fields[want] {
				t.Errorf("no problem on %s: %+v", want, e.Problems)
			}
		}
		if _, err := f.c.Get(ctx, "bad"); err == nil {
			t.Fatal("invalid trigger stored")
		}
		// Malformed: 400.
		if code, body := f.call("POST", "/v1/triggers", "{not json"); code != http.StatusBadRequest || !strings.Contains(body, `"bad_request"`) {
			t.Fatalf("bad json: %d %s", code, body)
		}
		// Too large: 413.
		if code, body := f.call("POST", "/v1/triggers", `{"tag": "`+strings.Repeat("x", 70<<10)+`"}`); code != http.StatusRequestEntityTooLarge ||
			!strings.Contains(body, `"limit":"api.maxBodyBytes"`) || !strings.Contains(body, `"too_large"`) {
			t.Fatalf("large body: %d %s", code, body)
		}

		// Get: 200 with ETag, 404.
		code, body = f.call("GET", "/v1/triggers/order-cancelled", "")
		if code != http.StatusOK || !strings.Contains(body, `"version":1`) {
			t.Fatalf("get: %d %s", code, body)
		}
		_, err = f.c.Get(ctx, "missing")
		wantStatus(t, err, http.StatusNotFound, api.CodeNotFound)

		// PATCH: a merge patch, re-validated, conditional on If-Match.
		tr, err = f.c.Patch(ctx, "order-cancelled", map[string]any{"enabled": false}, 1)
		if err != nil {
			t.Fatal(err)
		}
		if tr.Version != 2 || !strings.Contains(string(tr.Definition), `"enabled":false`) || !strings.Contains(string(tr.Definition), "CHANGED_TO") {
			t.Fatalf("patched %+v %s", tr, tr.Definition)
		}
		_, err = f.c.Patch(ctx, "order-cancelled", map[string]any{"enabled": true}, 1)
		wantStatus(t, err, http.StatusConflict, api.CodeConflict)
		_, err = f.c.Patch(ctx, "order-cancelled", map[string]any{"events": []string{"afterNothing"}}, 0)
		e = wantStatus(t, err, http.StatusUnprocessableEntity, api.CodeInvalid)
		if len(e.Problems) == 0 || e.Problems[0].Field != "events[0]" {
			t.Fatalf("patch problems %+v", e.Problems)
		}
		_, err = f.c.Patch(ctx, "missing", map[string]any{"enabled": false}, 0)
		wantStatus(t, err, http.StatusNotFound, api.CodeNotFound)
		if code, _ := f.call("PATCH", "/v1/triggers/order-cancelled", `[1]`); code != http.StatusBadRequest {
			t.Fatalf("patch with a list: %d", code)
		}
		if code, _ := f.call("PATCH", "/v1/triggers/order-cancelled", `{}`, "If-Match", "abc"); code != http.StatusBadRequest {
			t.Fatalf("bad If-Match: %d", code)
		}
		// Unchanged patch: no new version.
		if tr, err = f.c.Patch(ctx, "order-cancelled", map[string]any{"enabled": false}, 0); err != nil || tr.Version != 2 {
			t.Fatalf("no-op patch: %+v %v", tr, err)
		}

		// List with filters.
		no := false
		for _, tc := range []struct {
			o    api.ListOptions
			want []string
		}{
			{api.ListOptions{}, []string{"order-cancelled", "other"}},
			{api.ListOptions{Enabled: &no}, []string{"order-cancelled"}},
			{api.ListOptions{Table: "orders", Event: "afterUpdate"}, []string{"order-cancelled", "other"}},
			{api.ListOptions{Table: "public.users"}, nil},
			{api.ListOptions{Event: "afterInsert"}, nil},
		} {
			list, err := f.c.List(ctx, tc.o)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, tr := range list {
				got = append(got, tr.Tag)
			}
			if strings.Join(got, ",") != strings.Join(tc.want, ",") {
				t.Errorf("list %+v: got %v, want %v", tc.o, got, tc.want)
			}
		}
		if code, _ := f.call("GET", "/v1/triggers?enabled=maybe", ""); code != http.StatusBadRequest {
			t.Fatalf("bad filter: %d", code)
		}

		// PUT: replace (200), unchanged (same version), create (201), tag mismatch (422).
		tr, err = f.c.Put(ctx, "other", doc("other", `"priority": 5`))
		if err != nil || tr.Version != 2 {
			t.Fatalf("put replace: %+v %v", tr, err)
		}
		if tr, err = f.c.Put(ctx, "other", doc("other", `"priority": 5`)); err != nil || tr.Version != 2 {
			t.Fatalf("put unchanged: %+v %v", tr, err)
		}
		if code, body := f.call("PUT", "/v1/triggers/third", string(doc("third"))); code != http.StatusCreated {
			t.Fatalf("put create: %d %s", code, body)
		}
		_, err = f.c.Put(ctx, "third", doc("fourth"))
		wantStatus(t, err, http.StatusUnprocessableEntity, api.CodeInvalid)
		if code, _ := f.call("PUT", "/v1/triggers/other", string(doc("other")), "If-Match", `"1"`); code != http.StatusConflict {
			t.Fatalf("put stale If-Match: %d", code)
		}

		// Versions: every one readable.
		vs, err := f.c.History(ctx, "order-cancelled")
		if err != nil || len(vs) != 2 || vs[0].Version != 1 || vs[1].Version != 2 {
			t.Fatalf("history %+v %v", vs, err)
		}
		v1, err := f.c.GetVersion(ctx, "order-cancelled", 1)
		if err != nil || !strings.Contains(string(v1.Definition), `"enabled":true`) {
			t.Fatalf("version 1: %+v %v", v1, err)
		}
		_, err = f.c.GetVersion(ctx, "order-cancelled", 9)
		wantStatus(t, err, http.StatusNotFound, api.CodeNotFound)
		_, err = f.c.History(ctx, "missing")
		wantStatus(t, err, http.StatusNotFound, api.CodeNotFound)
		if code, _ := f.call("GET", "/v1/triggers/order-cancelled/versions/x", ""); code != http.StatusBadRequest {
			t.Fatalf("bad version: %d", code)
		}

		// Delete: 409 on a stale If-Match, 204, then 404; the history keeps the deletion.
		if code, _ := f.call("DELETE", "/v1/triggers/third", "", "If-Match", "7"); code != http.StatusConflict {
			t.Fatalf("delete stale If-Match: %d", code)
		}
		if code, _ := f.call("DELETE", "/v1/triggers/third", "", "If-Match", "1"); code != http.StatusNoContent {
			t.Fatalf("delete: %d", code)
		}
		wantStatus(t, f.c.Delete(ctx, "third"), http.StatusNotFound, api.CodeNotFound)
		_, err = f.c.Get(ctx, "third")
		wantStatus(t, err, http.StatusNotFound, api.CodeNotFound)
		vs, err = f.c.History(ctx, "third")
		if err != nil || len(vs) != 2 || !vs[1].Deleted {
			t.Fatalf("history after delete %+v %v", vs, err)
		}

		// Load, OpenAPI, unknown endpoint.
		if lr, err := f.c.Load(ctx); err != nil || lr.Revision == 0 || f.reloads.Load() != 1 {
			t.Fatalf("load %+v %v", lr, err)
		}
		if code, body := f.call("GET", "/openapi.yaml", ""); code != http.StatusOK || !strings.Contains(body, "openapi: 3.1") {
			t.Fatalf("openapi: %d", code)
		}
		if code, body := f.call("GET", "/v1/nothing", ""); code != http.StatusNotFound || !strings.Contains(body, "not_found") {
			t.Fatalf("unknown: %d %s", code, body)
		}
	})
}

func TestApply(t *testing.T) {
	stores(t, func(t *testing.T, st triggerstore.Store) {
		ctx := context.Background()
		f := newFixture(t, st)
		if _, err := f.c.Create(ctx, doc("stale")); err != nil {
			t.Fatal(err)
		}
		batch := []json.RawMessage{doc("a"), doc("b")}
		res, err := f.c.Apply(ctx, batch, false)
		if err != nil || len(res.Created) != 2 || res.Created[0].Tag != "a" || res.Created[0].Version != 1 {
			t.Fatalf("first apply %+v %v", res, err)
		}
		res, err = f.c.Apply(ctx, batch, false)
		if err != nil || len(res.Unchanged) != 2 || len(res.Created)+len(res.Updated)+len(res.Deleted) != 0 {
			t.Fatalf("second apply %+v %v", res, err)
		}
		res, err = f.c.Apply(ctx, []json.RawMessage{doc("a", `"enabled": false`), doc("b"), doc("c")}, true)
		if err != nil || len(res.Updated) != 1 || res.Updated[0] != (api.Applied{Tag: "a", Version: 2, PreviousVersion: 1}) ||
			len(res.Created) != 1 || len(res.Unchanged) != 1 || len(res.Deleted) != 1 || res.Deleted[0].Tag != "stale" {
			t.Fatalf("apply with prune %+v %v", res, err)
		}

		// One invalid trigger (and a duplicate) refuse the whole batch.
		rev, _ := st.Revision(ctx)
		_, err = f.c.Apply(ctx, []json.RawMessage{doc("d"), doc("a", `"priority": "high"`), doc("d")}, true)
		e := wantStatus(t, err, http.StatusUnprocessableEntity, api.CodeInvalid)
		got := map[string]bool{}
		for _, p := range e.Problems {
			got[p.Field] = true
		}
		if !got["triggers[1].priority"] || !got["triggers[2].tag"] {
			t.Fatalf("problems %+v", e.Problems)
		}
		if rev2, _ := st.Revision(ctx); rev2 != rev {
			t.Fatalf("revision moved %d → %d: something was stored", rev, rev2)
		}
		if _, err := f.c.Get(ctx, "d"); err == nil {
			t.Fatal("d stored by a refused batch")
		}
		if code, _ := f.call("POST", "/v1/triggers:apply", `{"triggers": [], "bogus": 1}`); code != http.StatusBadRequest {
			t.Fatalf("unknown apply field: %d", code)
		}
	})
}

func TestDryRun(t *testing.T) {
	stores(t, func(t *testing.T, st triggerstore.Store) {
		ctx := context.Background()
		f := newFixture(t, st)
		for _, d := range []json.RawMessage{
			doc("order-cancelled"),
			json.RawMessage(`{"tag": "welcome", "tables": ["users"], "events": ["afterInsert"],
				"condition": {"field": "record.email", "operator": "ENDS_WITH", "value": "@example.com"},
				"actions": [{"type": "http", "name": "hook", "config": {"url": "http://hooks.local/{{record.id}}", "body": "{{record}}"}}]}`),
		} {
			if _, err := f.c.Create(ctx, d); err != nil {
				t.Fatal(err)
			}
		}
		debezium, err := os.ReadFile(filepath.Join("..", "examples", "events", "user-insert.debezium.json"))
		if err != nil {
			t.Fatal(err)
		}
		native, err := os.ReadFile(filepath.Join("..", "examples", "events", "order-cancel.native.json"))
		if err != nil {
			t.Fatal(err)
		}
		for name, tc := range map[string]struct {
			body    []byte
			matched string
			want    []string
		}{
			"debezium": {debezium, "welcome", []string{"ENDS_WITH", "hooks.local/42"}},
			"native":   {native, "order-cancelled", []string{"CHANGED_TO", "order 1001 cancelled"}},
			"wrapped":  {[]byte(`{"event": ` + string(native) + `}`), "order-cancelled", []string{"CHANGED_TO"}},
		} {
			rep, err := f.c.Test(ctx, tc.body)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			s := string(rep)
			for _, w := range append(tc.want, tc.matched) {
				if !strings.Contains(s, w) {
					t.Errorf("%s: report lacks %q:\n%s", name, w, s)
				}
			}
			assertMatched(t, rep, tc.matched)
		}
		if _, err := f.c.Test(ctx, []byte(`{"hello": 1}`)); err == nil {
			t.Fatal("unknown envelope accepted")
		} else {
			wantStatus(t, err, http.StatusBadRequest, api.CodeBadRequest)
		}
	})
}
