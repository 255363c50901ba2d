package triggersync_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"

	"github.com/triggerd/triggerd/trigger"
	"github.com/triggerd/triggerd/triggerstore"
	"github.com/triggerd/triggerd/triggersync"
)

// cacheDoc is a trigger whose second action writes to cache name.
func cacheDoc(tag, name string) json.RawMessage {
	return json.RawMessage(`{"tag": "` + tag + `", "tables": ["public.orders"], "events": ["afterInsert"], "actions": [
		{"type": "log", "config": {"message": "hi"}},
		{"type": "cache.set", "config": {"cache": "` + name + `", "key": "k", "value": "v"}}]}`)
}

// replacer records the definitions a Reloader loads.
type replacer struct{ defs []trigger.Definition }

func (r *replacer) Replace(defs []trigger.Definition) error { r.defs = defs; return nil }

// A stored trigger naming a cache the configuration no longer defines is
// logged with its field; the reload succeeds and keeps every trigger, each
// with the version the store gave it.
func TestReloadLogsStoredTriggersNamingUnknownResources(t *testing.T) {
	ctx := context.Background()
	st := triggerstore.NewMemory()
	for _, doc := range []json.RawMessage{cacheDoc("stale", "orders"), cacheDoc("fine", "sessions")} {
		d, err := triggersync.ParseStored(doc)
		if err != nil {
			t.Fatal(err)
		}
		spec, err := json.Marshal(d.Document())
		if err != nil {
			t.Fatal(err)
		}
		if _, err := st.Create(ctx, d.Tag, spec, "test"); err != nil {
			t.Fatal(err)
		}
	}
	var logs bytes.Buffer
	reg := &replacer{}
	r := triggersync.NewReloader(st, reg, 0, slog.New(slog.NewTextHandler(&logs, nil)))
	r.Check = func(defs []trigger.Definition) []trigger.Problem {
		return trigger.CheckResources(defs, trigger.Resources{Caches: []string{"default", "sessions"}})
	}
	if _, n, err := r.Reload(ctx); err != nil || n != 2 || len(reg.defs) != 2 {
		t.Fatalf("reload: %d trigger(s), %v", n, err)
	}
	for _, d := range reg.defs {
		if d.Version != 1 || d.UpdatedBy != "test" {
			t.Errorf("%s: version %d by %q, want 1 by test", d.Tag, d.Version, d.UpdatedBy)
		}
	}
	out := logs.String()
	for _, want := range []string{"level=WARN", "tag=stale", "field=actions[1].config.cache", `\"orders\" is not configured`} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "tag=fine") {
		t.Errorf("a valid trigger was reported:\n%s", out)
	}
}
