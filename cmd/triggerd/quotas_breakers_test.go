package main

import (
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/triggerd/triggerd/api"
	"github.com/triggerd/triggerd/fallbacks"
	"github.com/triggerd/triggerd/quotas"
)

func TestValidateChecksGuardPolicies(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "c.yaml")
	os.WriteFile(cfg, []byte(`kafka: {brokers: [k:9092], topics: [t]}
quotas: {policies: {partner: {rate: 5}}}
`), 0o600)
	trig := filepath.Join(dir, "t.yaml")
	os.WriteFile(trig, []byte(`tag: x
tables: [users]
events: [afterInsert]
actions:
  - type: log
    config: {message: hi}
    quota: partner
    breaker: flaky
    fallback: [{action: {type: log, config: {message: fb}, quota: nope}}]
`), 0o600)
	code, _, errOut := runCLI(t, nil, "validate", "--config", cfg, "--triggers", trig)
	if code != 1 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, want := range []string{
		`trigger "x": actions[0].breaker.policy: "flaky" is not defined in breakers.policies`,
		`trigger "x": actions[0].fallback[0].action.quota.policy: "nope" is not defined in quotas.policies`,
	} {
		if !strings.Contains(errOut, want) {
			t.Errorf("missing %q in:\n%s", want, errOut)
		}
	}
	if strings.Contains(errOut, `"partner"`) {
		t.Errorf("a defined policy reported:\n%s", errOut)
	}
}

func TestQuotasAndBreakersCLI(t *testing.T) {
	q := quotas.New(quotas.Config{}, quotas.NewMemoryLimiter(), quotas.NewMemoryOverrides(), nil)
	b := fallbacks.New(fallbacks.Config{}, fallbacks.NewMemoryStore(), nil)
	const token = "carol-token-0123456789abcdef01"
	srv := httptest.NewServer(api.New(api.Options{Quotas: q, Breakers: b, Auth: tokenAuth(t, "carol", token)}).Handler())
	defer srv.Close()
	env := []string{"TRIGGERD_SERVER=" + srv.URL, "TRIGGERD_TOKEN=" + token}

	code, out, errOut := runCLI(t, env, "quotas", "set", "target:http:api.partner.com", "--rate", "5", "--period", "1s", "--burst", "5")
	if code != 0 || !strings.Contains(out, "target:http:api.partner.com: 5/1s, burst 5 (set by carol)") {
		t.Fatalf("set: %d %q %q", code, out, errOut)
	}
	code, out, _ = runCLI(t, env, "quotas", "list")
	if code != 0 || !strings.Contains(out, "target:http:api.partner.com") || !strings.Contains(out, "override") || !strings.Contains(out, "carol") {
		t.Fatalf("list: %d %q", code, out)
	}
	code, out, _ = runCLI(t, env, "quotas", "get", "target:http:api.partner.com")
	if code != 0 || !strings.Contains(out, "5/1s, burst 5") {
		t.Fatalf("get: %d %q", code, out)
	}
	code, _, errOut = runCLI(t, env, "quotas", "get", "target:none")
	if code != 1 || !strings.Contains(errOut, `no quota "target:none"`) {
		t.Fatalf("get unknown: %d %q", code, errOut)
	}
	code, _, errOut = runCLI(t, env, "quotas", "set", "target:x", "--rate", "1", "--period", "soon")
	if code != 1 || !strings.Contains(errOut, "period") {
		t.Fatalf("bad set: %d %q", code, errOut)
	}
	code, _, errOut = runCLI(t, env, "quotas", "set", "target:x")
	if code != 1 || !strings.Contains(errOut, "--rate") {
		t.Fatalf("empty set: %d %q", code, errOut)
	}
	code, out, _ = runCLI(t, env, "quotas", "set", "target:http:api.partner.com", "--remove")
	if code != 0 || !strings.Contains(out, "override removed by carol") {
		t.Fatalf("remove: %d %q", code, out)
	}
	code, out, _ = runCLI(t, env, "quotas", "history")
	if code != 0 || strings.Count(out, "target:http:api.partner.com") != 2 || !strings.Contains(out, "removed") {
		t.Fatalf("changes: %d %q", code, out)
	}
	code, out, errOut = runCLI(t, env, "breakers", "set", "target:http:api.partner.com", "--consecutive-failures", "3", "--open-timeout", "1m")
	if code != 0 || !strings.Contains(out, "target:http:api.partner.com: consecutiveFailures 3, openTimeout 1m0s (set by carol)") {
		t.Fatalf("breakers set: %d %q %q", code, out, errOut)
	}
	code, out, _ = runCLI(t, env, "breakers", "list")
	if code != 0 || !strings.Contains(out, "BREAKER") || !strings.Contains(out, "settings overrides:") {
		t.Fatalf("breakers list: %d %q", code, out)
	}
	code, out, _ = runCLI(t, env, "breakers", "get", "target:http:api.partner.com")
	if code != 0 || !strings.Contains(out, "consecutiveFailures 3") {
		t.Fatalf("breakers get: %d %q", code, out)
	}
	code, _, errOut = runCLI(t, env, "breakers", "get", "target:none")
	if code != 1 || !strings.Contains(errOut, `no breaker "target:none"`) {
		t.Fatalf("breakers get unknown: %d %q", code, errOut)
	}
	code, out, _ = runCLI(t, env, "breakers", "history")
	if code != 0 || !strings.Contains(out, "consecutiveFailures 3") {
		t.Fatalf("breakers changes: %d %q", code, out)
	}
	code, _, errOut = runCLI(t, env, "breakers", "reset", "target:none")
	if code != 1 || !strings.Contains(errOut, "no such breaker") {
		t.Fatalf("breakers reset: %d %q", code, errOut)
	}
}
