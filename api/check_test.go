package api_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/triggerd/triggerd/api"
	"github.com/triggerd/triggerd/trigger"
	"github.com/triggerd/triggerd/triggerstore"
)

// cacheDoc is a trigger whose second action writes to cache name.
func cacheDoc(tag, name string) json.RawMessage {
	return json.RawMessage(`{"tag": "` + tag + `", "tables": ["public.orders"], "events": ["afterInsert"], "actions": [
		{"type": "log", "config": {"message": "hi"}},
		{"type": "cache.set", "config": {"cache": "` + name + `", "key": "k", "value": "v"}}]}`)
}

// checkCaches is a Checker knowing the caches default and sessions.
func checkCaches(defs []trigger.Definition) []trigger.Problem {
	return trigger.CheckResources(defs, trigger.Resources{Caches: []string{"default", "sessions"}})
}

func TestWritesNamingUnknownResourcesAreRefused(t *testing.T) {
	ctx := context.Background()
	st := triggerstore.NewMemory()
	auth, token := adminAuth(t, "tester")
	srv := httptest.NewServer(api.New(api.Options{Store: st, Auth: auth, Check: checkCaches}).Handler())
	t.Cleanup(srv.Close)
	c := api.NewClient(srv.URL, api.WithToken(token))
	wantCacheProblem := func(t *testing.T, err error, field string) {
		t.Helper()
		e := wantStatus(t, err, http.StatusUnprocessableEntity, api.CodeInvalid)
		if len(e.Problems) != 1 || e.Problems[0].Field != field || !strings.Contains(e.Problems[0].Reason, `"orders" is not configured`) ||
			!strings.Contains(e.Problems[0].Reason, "default, sessions") {
			t.Fatalf("problems %+v, want one at %s", e.Problems, field)
		}
	}

	_, err := c.Create(ctx, cacheDoc("x", "orders"))
	wantCacheProblem(t, err, "actions[1].config.cache")
	_, err = c.Put(ctx, "x", cacheDoc("x", "orders"))
	wantCacheProblem(t, err, "actions[1].config.cache")
	_, err = c.Apply(ctx, []json.RawMessage{cacheDoc("ok", "sessions"), cacheDoc("x", "orders")}, false)
	wantCacheProblem(t, err, "triggers[1].actions[1].config.cache")
	if recs, _ := st.List(ctx); len(recs) != 0 {
		t.Fatalf("refused writes stored %d record(s)", len(recs))
	}

	// Configured names (and the implicit default cache) pass.
	if _, err := c.Create(ctx, cacheDoc("x", "sessions")); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Apply(ctx, []json.RawMessage{cacheDoc("y", "default")}, false); err != nil {
		t.Fatal(err)
	}
	// A patch that points the action at an unknown cache is refused and
	// leaves version 1 in place.
	_, err = c.Patch(ctx, "x", map[string]any{"actions": []any{
		map[string]any{"type": "cache.set", "config": map[string]any{"cache": "orders", "key": "k", "value": "v"}}}}, 0)
	e := wantStatus(t, err, http.StatusUnprocessableEntity, api.CodeInvalid)
	if len(e.Problems) != 1 || e.Problems[0].Field != "actions[0].config.cache" {
		t.Fatalf("patch problems %+v", e.Problems)
	}
	if tr, err := c.Get(ctx, "x"); err != nil || tr.Version != 1 {
		t.Fatalf("after refused patch: %+v %v", tr, err)
	}
}
