package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/triggerd/triggerd/api"
	"github.com/triggerd/triggerd/config"
	"github.com/triggerd/triggerd/trigger"
	"github.com/triggerd/triggerd/triggerstore"
	"github.com/triggerd/triggerd/triggersync"
)

// referencesConfig defines one of each kind of name an action may give.
const referencesConfig = `
kafka: {brokers: [127.0.0.1:9092], topics: [orders]}
redis: {address: "127.0.0.1:6379"}
caches: {sessions: {prefix: "s:"}}
storage: {media: {driver: local, dir: /tmp}}
notifications:
  smtp: {host: 127.0.0.1, port: 1025, tls: none, from: orders@shop.example}
  templates:
    order-emails:
      confirmation: {subject: "Order", body: "Thanks"}
integrations:
  stripe:
    baseUrl: http://127.0.0.1:1/v1
    operations: {refund-payment: {path: /refunds}}
quotas: {policies: {partner: {rate: 5}}}
databases:
  default: {driver: postgres, dsn: "postgres://127.0.0.1:5432/x"}
  reporting: {driver: postgres, dsn: "postgres://127.0.0.1:5432/r", tables: {public.daily: [insert, upsert]}}
`

func referencesChecker(t *testing.T) trigger.Checker {
	t.Helper()
	path := filepath.Join(t.TempDir(), "c.yaml")
	if err := os.WriteFile(path, []byte(referencesConfig), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	return configChecker(cfg)
}

// actionDoc is a trigger document with the one action act (JSON).
func actionDoc(tag, act string) json.RawMessage {
	return json.RawMessage(`{"tag": "` + tag + `", "tables": ["orders"], "events": ["afterInsert"], "actions": [` + act + `]}`)
}

var badReferences = []struct {
	name, action, field, reason string
}{
	{"cache", `{"type": "cache.get", "config": {"cache": "orders", "key": "k"}}`,
		"actions[0].config.cache", `"orders" is not configured (caches in the config: default, sessions)`},
	{"bucket", `{"type": "storage.delete", "config": {"storage": "photos", "path": "p"}}`,
		"actions[0].config.storage", `"photos" is not configured (storage in the config: media)`},
	{"template", `{"type": "notification.email", "config": {"notification": "order-emails:refund", "recipients": "a@b.c"}}`,
		"actions[0].config.notification", `no template "order-emails:refund"`},
	{"operation", `{"type": "action.execute", "config": {"app": "stripe", "operation": "charge"}}`,
		"actions[0].config.operation", `integration "stripe" has no operation "charge"`},
	{"integration", `{"type": "action.execute", "config": {"app": "paypal", "operation": "refund"}}`,
		"actions[0].config.operation", `no integration "paypal"`},
	{"quota", `{"type": "log", "config": {"message": "hi"}, "quota": "nope"}`,
		"actions[0].quota.policy", `"nope" is not defined in quotas.policies`},
	{"database", `{"type": "database.delete", "config": {"database": "crm", "table": "t", "where": {"id": 1}}}`,
		"actions[0].config.database", `"crm" is not configured (databases in the config: default, reporting)`},
	{"table", `{"type": "database.delete", "config": {"database": "reporting", "table": "public.daily", "where": {"id": 1}}}`,
		"actions[0].config.table", `delete on "public.daily" is not allowed by databases.reporting.tables: the action would fail with TABLE_NOT_ALLOWED`},
}

const goodReferences = `{"type": "cache.get", "config": {"cache": "sessions", "key": "k"}},
	{"type": "storage.delete", "config": {"storage": "media", "path": "p"}},
	{"type": "notification.email", "config": {"notification": "order-emails:confirmation", "recipients": "a@b.c"}},
	{"type": "action.execute", "config": {"app": "stripe", "operation": "refund-payment"}},
	{"type": "log", "config": {"message": "hi"}, "quota": "partner"},
	{"type": "database.delete", "config": {"table": "t", "where": {"id": 1}}},
	{"type": "database.insert", "config": {"database": "reporting", "table": "daily", "values": {"id": 1}}},
	{"type": "database.upsert", "config": {"database": "reporting", "table": "{{record.table}}", "values": {"id": 1}, "conflict": ["id"]}}`

// The API built with the configuration's checker refuses every write
// naming an unconfigured resource with a 422 at the action's field and
// stores nothing; configured names pass.
func TestAPIRefusesUnknownResources(t *testing.T) {
	ctx := context.Background()
	st := triggerstore.NewMemory()
	srv := httptest.NewServer(api.New(api.Options{Store: st, Check: referencesChecker(t), Auth: anonymousAuth(t)}).Handler())
	defer srv.Close()
	c := api.NewClient(srv.URL)
	var batch []json.RawMessage
	for _, tc := range badReferences {
		t.Run(tc.name, func(t *testing.T) {
			_, err := c.Create(ctx, actionDoc(tc.name, tc.action))
			var e *api.Error
			if !errors.As(err, &e) || e.Status != http.StatusUnprocessableEntity || len(e.Problems) != 1 ||
				e.Problems[0].Field != tc.field || !strings.Contains(e.Problems[0].Reason, tc.reason) {
				t.Fatalf("want 422 at %s (%s), got %v", tc.field, tc.reason, err)
			}
		})
		batch = append(batch, actionDoc(tc.name, tc.action))
	}
	batch = append([]json.RawMessage{actionDoc("good", goodReferences)}, batch...)
	_, err := c.Apply(ctx, batch, false)
	var e *api.Error
	if !errors.As(err, &e) || e.Status != http.StatusUnprocessableEntity || len(e.Problems) != len(badReferences) {
		t.Fatalf("apply: %v", err)
	}
	if e.Problems[0].Field != "triggers[1]."+badReferences[0].field {
		t.Fatalf("apply problem %+v", e.Problems[0])
	}
	if recs, _ := st.List(ctx); len(recs) != 0 {
		t.Fatalf("refused writes stored %d trigger(s)", len(recs))
	}
	if _, err := c.Create(ctx, actionDoc("good", goodReferences)); err != nil {
		t.Fatalf("configured names refused: %v", err)
	}
}

// `triggerd triggers apply` prints the server's problem and exits 1.
func TestTriggersApplyPrintsUnknownResource(t *testing.T) {
	st := triggerstore.NewMemory()
	srv := httptest.NewServer(api.New(api.Options{Store: st, Check: referencesChecker(t), Auth: anonymousAuth(t)}).Handler())
	defer srv.Close()
	file := filepath.Join(t.TempDir(), "t.json")
	if err := os.WriteFile(file, actionDoc("orders", badReferences[0].action), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := runCLI(t, []string{"TRIGGERD_SERVER=" + srv.URL}, "triggers", "apply", "-f", file)
	if code != 1 {
		t.Fatalf("exit %d\n%s%s", code, out, errOut)
	}
	want := `trigger "orders": triggers[0].actions[0].config.cache: "orders" is not configured`
	if !strings.Contains(errOut, want) {
		t.Fatalf("stderr lacks %q:\n%s", want, errOut)
	}
	if recs, _ := st.List(context.Background()); len(recs) != 0 {
		t.Fatalf("stored %d trigger(s)", len(recs))
	}
}

// Trigger files applied at start go through the same check: a bad file is
// reported with its path and field, and no file of the directory is
// applied.
func TestApplyFilesRefusesUnknownResources(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	good := filepath.Join(dir, "a.json")
	bad := filepath.Join(dir, "b.json")
	if err := os.WriteFile(good, actionDoc("good", goodReferences), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bad, actionDoc("bad", badReferences[0].action), 0o600); err != nil {
		t.Fatal(err)
	}
	st := triggerstore.NewMemory()
	var problems bytes.Buffer
	err := applyFiles(ctx, st, dir, referencesChecker(t), &problems, slog.New(slog.DiscardHandler))
	if err == nil || !strings.Contains(err.Error(), dir) {
		t.Fatalf("want an error naming %s, got %v", dir, err)
	}
	want := bad + `: trigger "bad": actions[0].config.cache: "orders" is not configured`
	if !strings.Contains(problems.String(), want) {
		t.Fatalf("problems lack %q:\n%s", want, problems.String())
	}
	if recs, _ := st.List(ctx); len(recs) != 0 {
		t.Fatalf("stored %d trigger(s) from a refused directory", len(recs))
	}
	if err := os.Remove(bad); err != nil {
		t.Fatal(err)
	}
	if err := applyFiles(ctx, st, dir, referencesChecker(t), &problems, slog.New(slog.DiscardHandler)); err != nil {
		t.Fatal(err)
	}
}

// A trigger stored under an older configuration that named a cache since
// removed does not stop the reload: it is logged with its field and every
// trigger stays loaded.
func TestReloadKeepsStoredTriggerNamingRemovedCache(t *testing.T) {
	ctx := context.Background()
	st := triggerstore.NewMemory()
	for _, d := range []json.RawMessage{actionDoc("stale", badReferences[0].action), actionDoc("good", goodReferences)} {
		tag, spec, err := api.Canonical(d) // no checker: as written before the change
		if err != nil {
			t.Fatal(err)
		}
		if _, err := st.Create(ctx, tag, spec, "test"); err != nil {
			t.Fatal(err)
		}
	}
	var logs bytes.Buffer
	reg := trigger.NewRegistry()
	r := triggersync.NewReloader(st, reg, time.Minute, slog.New(slog.NewTextHandler(&logs, nil)))
	r.Check = referencesChecker(t)
	if _, n, err := r.Reload(ctx); err != nil || n != 2 {
		t.Fatalf("reload: %d trigger(s), %v", n, err)
	}
	if got := len(reg.Snapshot().Definitions()); got != 2 {
		t.Fatalf("%d trigger(s) loaded, want 2", got)
	}
	if out := logs.String(); !strings.Contains(out, "tag=stale field=actions[0].config.cache") {
		t.Fatalf("no warning naming the field:\n%s", out)
	}
}

// A before-trigger's SQL lookup names a database too.
func TestCheckerReportsLookupDatabase(t *testing.T) {
	doc := json.RawMessage(`{"tag": "users-check", "tables": ["users"], "events": ["beforeInsert"],
		"lookups": [{"name": "existing", "sql": {"database": "crm", "query": "select 1"}}],
		"validate": [{"expr": "lookups.existing != null", "message": "x"}]}`)
	st := triggerstore.NewMemory()
	srv := httptest.NewServer(api.New(api.Options{Store: st, Check: referencesChecker(t), Auth: anonymousAuth(t)}).Handler())
	defer srv.Close()
	_, err := api.NewClient(srv.URL).Create(context.Background(), doc)
	var e *api.Error
	if !errors.As(err, &e) || len(e.Problems) != 1 || e.Problems[0].Field != "lookups[0].sql.database" ||
		!strings.Contains(e.Problems[0].Reason, `"crm" is not configured`) {
		t.Fatalf("want a 422 at lookups[0].sql.database, got %v", err)
	}
}
