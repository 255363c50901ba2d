package main

import (
	"encoding/json"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/triggerd/triggerd/api"
	"github.com/triggerd/triggerd/triggerstore"
)

// TestTriggersCLI runs the triggers and test commands in-process against
// an API server over a real SQLite store.
func TestTriggersCLI(t *testing.T) {
	st, err := triggerstore.OpenSQLite(filepath.Join(t.TempDir(), "triggers.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	const token = "ada-token-0123456789abcdef0123"
	srv := httptest.NewServer(api.New(api.Options{Store: st, Auth: tokenAuth(t, "ada", token)}).Handler())
	defer srv.Close()
	env := []string{"TRIGGERD_SERVER=" + srv.URL, "TRIGGERD_TOKEN=" + token}
	examples := filepath.Join("..", "..", "examples")
	run := func(wantCode int, args ...string) string {
		t.Helper()
		code, out, errOut := runCLI(t, env, args...)
		if code != wantCode {
			t.Fatalf("%v: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", args, code, wantCode, out, errOut)
		}
		return out + errOut
	}
	mustContain := func(out string, wants ...string) {
		t.Helper()
		for _, w := range wants {
			if !strings.Contains(out, w) {
				t.Fatalf("output lacks %q:\n%s", w, out)
			}
		}
	}

	out := run(0, "triggers", "apply", "-f", filepath.Join(examples, "triggers"))
	mustContain(out, "+ created   send-welcome-webhook (v1)", "+ created   order-cancelled (v1)", "4 created, 0 updated, 0 unchanged, 0 deleted")
	out = run(0, "triggers", "apply", "-f", filepath.Join(examples, "triggers"))
	mustContain(out, "= unchanged send-welcome-webhook (v1)", "= unchanged order-cancelled (v1)", "0 created, 0 updated, 4 unchanged, 0 deleted")

	out = run(0, "triggers", "list")
	mustContain(out, "TAG", "order-cancelled", "send-welcome-webhook", "ada", "afterInsert")
	out = run(0, "triggers", "list", "--table", "public.users", "--event", "afterInsert")
	if strings.Contains(out, "order-cancelled") || !strings.Contains(out, "send-welcome-webhook") {
		t.Fatalf("filtered list:\n%s", out)
	}

	out = run(0, "triggers", "get", "send-welcome-webhook")
	mustContain(out, "# send-welcome-webhook version 1, by ada", "tag: send-welcome-webhook", "enabled: true")
	out = run(0, "triggers", "get", "send-welcome-webhook", "-o", "json")
	var tr api.Trigger
	if err := json.Unmarshal([]byte(out), &tr); err != nil || tr.Version != 1 {
		t.Fatalf("get -o json: %v\n%s", err, out)
	}

	mustContain(run(0, "triggers", "disable", "send-welcome-webhook"), "disabled send-welcome-webhook (v2)")
	mustContain(run(0, "triggers", "list", "--enabled=false"), "send-welcome-webhook")
	mustContain(run(0, "triggers", "get", "send-welcome-webhook", "--version", "2"), "enabled: false")

	// A disabled trigger is reported as one that would match, not run.
	out = run(0, "triggers", "test", "-f", filepath.Join(examples, "events", "user-insert.debezium.json"))
	mustContain(out, "✗ send-welcome-webhook (v2): not matched: disabled", "no trigger would run")
	mustContain(run(0, "triggers", "enable", "send-welcome-webhook"), "enabled send-welcome-webhook (v3)")
	out = run(0, "triggers", "test", "-f", filepath.Join(examples, "events", "user-insert.debezium.json"))
	mustContain(out, "event: afterInsert on public.users (insert)", "✓ send-welcome-webhook (v3): matched",
		"welcome-webhook (http)", "ada@example.com", "would run: send-welcome-webhook")
	out = run(0, "triggers", "test", "-f", filepath.Join(examples, "events", "order-cancel.native.json"), "-o", "json")
	mustContain(out, `"matched": [`, `"order-cancelled"`, `"condition"`)

	out = run(0, "triggers", "history", "send-welcome-webhook")
	mustContain(out, "v1  ", "created", "v2", "updated  false", "v3")

	// Invalid files are refused before anything is sent.
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	os.WriteFile(bad, []byte("tag: broken\ntables: [users]\nevents: [afterNothing]\nactions: [{type: log}]\n"), 0o600)
	mustContain(run(1, "triggers", "apply", "-f", bad), "bad.yaml", "afterNothing")

	// --prune makes the files the whole truth.
	only := filepath.Join(t.TempDir(), "orders.yaml")
	b, _ := os.ReadFile(filepath.Join(examples, "triggers", "orders.yaml"))
	os.WriteFile(only, b, 0o600)
	mustContain(run(0, "triggers", "apply", "-f", only, "--prune"), "= unchanged order-cancelled (v1)", "- deleted   send-welcome-webhook (was v3)")

	mustContain(run(0, "triggers", "delete", "order-cancelled"), "- deleted order-cancelled")
	mustContain(run(1, "triggers", "get", "order-cancelled"), "not_found")
	mustContain(run(1, "triggers", "delete", "order-cancelled"), "not_found")
	mustContain(run(0, "triggers", "list"), "no triggers")
}
