package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/triggerd/triggerd/api"
	"github.com/triggerd/triggerd/egress"
	"github.com/triggerd/triggerd/triggerstore"
)

// loopbackEgress is the policy of tests whose targets listen on 127.0.0.1:
// the default refuses loopback, so these tests allow it explicitly.
func loopbackEgress(t testing.TB) *egress.Policy {
	t.Helper()
	p, err := egress.New([]string{"127.0.0.0/8", "::1"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

const egressTrigger = `
tag: hooks
tables: [orders]
events: [afterInsert]
actions:
  - {type: http, config: {url: "http://169.254.169.254/latest/meta-data/"}}
  - {type: http, config: {url: "http://127.0.0.1:8080/hooks/{{record.id}}"}}
  - {type: http, config: {url: "{{record.callback}}"}}
  - {type: http, config: {url: "https://hooks.example.com/x"}}
`

// validate reports malformed egress rules as problems, with their paths,
// and prints endpoints and literal URLs the policy refuses as warnings,
// which do not fail it.
func TestValidateEgress(t *testing.T) {
	dir := t.TempDir()
	trig := filepath.Join(dir, "t.yaml")
	if err := os.WriteFile(trig, []byte(egressTrigger), 0o600); err != nil {
		t.Fatal(err)
	}
	good := filepath.Join(dir, "good.yaml")
	if err := os.WriteFile(good, []byte(`
kafka: {brokers: [127.0.0.1:9092], topics: [orders]}
egress: {allow: [127.0.0.1]}
integrations:
  crm: {baseUrl: "http://10.0.0.5/api", operations: {ping: {path: /ping}}}
  erp: {baseUrl: "http://10.0.0.6/api", operations: {ping: {path: /ping}}, egress: {allow: [10.0.0.6]}}
`), 0o600); err != nil {
		t.Fatal(err)
	}
	code, _, errOut := runCLI(t, nil, "validate", "--config", good, "--triggers", trig)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, want := range []string{
		`warning: integrations.crm.baseUrl: every call would fail: egress denied: 10.0.0.5 is refused by default: private 10.0.0.0/8 (allow it with egress.allow)`,
		`warning: ` + trig + `: trigger "hooks": actions[0].config.url: every call would fail: egress denied: 169.254.169.254 is refused by default: cloud metadata endpoint`,
	} {
		if !strings.Contains(errOut, want) {
			t.Errorf("missing %q in:\n%s", want, errOut)
		}
	}
	if n := strings.Count(errOut, "warning:"); n != 2 {
		t.Errorf("%d warnings, want 2 (erp and 127.0.0.1 are allowed, templated hosts are decided at run time):\n%s", n, errOut)
	}

	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte(`
kafka: {brokers: [127.0.0.1:9092], topics: [orders]}
egress: {allow: [10.0.0.0/33], deny: ["*.example.com", ""]}
agents:
  bot: {url: "https://api.example.com/v1", model: m, egress: {allow: ["not a host"]}}
`), 0o600); err != nil {
		t.Fatal(err)
	}
	code, _, errOut = runCLI(t, nil, "validate", "--config", bad, "--triggers", trig)
	if code != 1 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, want := range []string{
		`egress.allow[0]: "10.0.0.0/33" is not a CIDR`,
		`egress.deny[1]: "" is empty`,
		`agents.bot.egress.allow[0]: "not a host" is not an IP address, a CIDR or a host name pattern`,
	} {
		if !strings.Contains(errOut, want) {
			t.Errorf("missing %q in:\n%s", want, errOut)
		}
	}
}

// The API stores a definition whose literal URL the policy refuses, and
// says so in the response.
func TestAPIWarnsAboutRefusedURLs(t *testing.T) {
	srv := httptest.NewServer(api.New(api.Options{Store: triggerstore.NewMemory(), Warn: egressWarner(egress.Default()), Auth: anonymousAuth(t)}).Handler())
	defer srv.Close()
	doc, err := json.Marshal(map[string]any{"tag": "hooks", "tables": []string{"orders"}, "events": []string{"afterInsert"},
		"actions": []any{
			map[string]any{"type": "http", "config": map[string]any{"url": "https://hooks.example.com/x"}},
			map[string]any{"type": "http", "config": map[string]any{"url": "http://localhost:9000/x"}},
		}})
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Post(srv.URL+"/v1/triggers", "application/json", strings.NewReader(string(doc)))
	if err != nil {
		t.Fatal(err)
	}
	var created api.Trigger
	if err := json.NewDecoder(resp.Body).Decode(&created); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated || len(created.Warnings) != 1 || created.Warnings[0].Field != "actions[1].config.url" ||
		!strings.Contains(created.Warnings[0].Reason, "localhost (127.0.0.1) is refused by default: loopback") {
		t.Fatalf("%d %+v", resp.StatusCode, created.Warnings)
	}

	resp, err = http.Post(srv.URL+"/v1/triggers:apply", "application/json", strings.NewReader(`{"triggers": [`+string(doc)+`]}`))
	if err != nil {
		t.Fatal(err)
	}
	var applied api.ApplyResult
	if err := json.NewDecoder(resp.Body).Decode(&applied); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || len(applied.Warnings) != 1 || applied.Warnings[0].Field != "triggers[0].actions[1].config.url" {
		t.Fatalf("%d %+v", resp.StatusCode, applied.Warnings)
	}
}
