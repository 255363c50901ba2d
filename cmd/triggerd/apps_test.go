package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/triggerd/triggerd/config"
	"github.com/triggerd/triggerd/egress"
	"github.com/triggerd/triggerd/trigger"
)

const appsConfig = `
kafka: {brokers: [127.0.0.1:9092], topics: [orders]}
egress: {allow: [127.0.0.1]}
notifications:
  smtp: {host: 127.0.0.1, port: 1025, tls: none, from: orders@shop.example}
  callbacks: {webhooks: {url: "http://127.0.0.1:1/hooks"}}
  templates:
    order-emails:
      confirmation: {subject: "Order #{{orderNumber}}", body: "Thanks"}
integrations:
  stripe:
    baseUrl: http://127.0.0.1:1/v1
    auth: {type: bearer, token: "{{secret.TEST_STRIPE_KEY}}"}
    operations: {refund-payment: {path: /refunds}}
agents:
  support-agent: {url: "http://127.0.0.1:1/v1", model: local}
`

func TestValidateChecksAppReferences(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "c.yaml")
	trig := filepath.Join(dir, "t.yaml")
	if err := os.WriteFile(cfg, []byte(appsConfig), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(trig, []byte(`
tag: orders
tables: [orders]
events: [afterInsert]
actions:
  - {type: notification.email, config: {notification: "order-emails:confirmation", recipients: a@b.c}}
  - {type: notification.email, config: {notification: "order-emails:refund", recipients: a@b.c}}
  - {type: notification.email, config: {notification: "{{record.kind}}:x", recipients: a@b.c}}
  - {type: notification.callback, config: {notification: "hooks:created", callback: {body: {}}}}
  - {type: action.execute, config: {app: stripe, operation: refund-payment}}
  - {type: action.execute, config: {app: stripe, operation: charge}}
  - {type: action.execute, config: {app: paypal, operation: refund}}
  - {type: agent.run, config: {agent: sales-agent, prompt: hi}}
  - {type: notification.sms, config: {notification: "order-emails:confirmation", recipients: "+1555"}}
`), 0o600); err != nil {
		t.Fatal(err)
	}
	code, _, errOut := runCLI(t, nil, "validate", "--config", cfg, "--triggers", trig)
	if code != 1 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	want := []string{
		`trigger "orders": actions[1].config.notification: no template "order-emails:refund" in the config (notifications.templates.order-emails.refund)`,
		`actions[3].config.notification: no callback "hooks" in the config (notifications.callbacks.hooks)`,
		`actions[5].config.operation: integration "stripe" has no operation "charge"`,
		`actions[6].config.operation: no integration "paypal"`,
		`actions[7].config.agent: no agent "sales-agent" in the config (agents.sales-agent)`,
		`actions[8].type: notification.sms needs notifications.sms in the config`,
	}
	for _, w := range want {
		if !strings.Contains(errOut, w) {
			t.Errorf("missing %q in:\n%s", w, errOut)
		}
	}
	if n := strings.Count(strings.TrimSpace(errOut), "\n") + 1; n != len(want) {
		t.Errorf("%d problems, want %d:\n%s", n, len(want), errOut)
	}
}

func TestAppOptionsAfterConfigSecrets(t *testing.T) {
	p := filepath.Join(t.TempDir(), "c.yaml")
	if err := os.WriteFile(p, []byte(appsConfig), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(p, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = resolveConfigSecrets(cfg)
	if err == nil || !strings.Contains(err.Error(), "integrations.stripe.auth.token: unknown secret: secret TEST_STRIPE_KEY is not set") {
		t.Fatalf("missing secret: %v", err)
	}
	t.Setenv("TRIGGERD_SECRET_TEST_STRIPE_KEY", "sk_test")
	if err := resolveConfigSecrets(cfg); err != nil {
		t.Fatal(err)
	}
	if got := cfg.Integrations["stripe"].Auth.Token; got != "sk_test" {
		t.Fatalf("token %q", got)
	}
	opts, err := appOptions(cfg, egressPolicies{process: egress.Default()})
	if err != nil || len(opts) != 3 {
		t.Fatalf("options: %d, %v", len(opts), err)
	}

	cfg.Notifications.SMTP.TLS = config.SMTPTLSStartTLS
	cfg.Notifications.SMTP.CAFile = p // not PEM
	if _, err := appOptions(cfg, egressPolicies{process: egress.Default()}); err == nil || !strings.Contains(err.Error(), "notifications.smtp.caFile: no PEM certificate") {
		t.Fatalf("bad CA file: %v", err)
	}
}

// TestActionDocsExamples checks that every YAML example of the
// notification, action.execute and agent.run sections of docs/actions.md
// is valid: config sections load, action lists validate as a trigger's.
func TestActionDocsExamples(t *testing.T) {
	b, err := os.ReadFile("../../docs/actions.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	start := strings.Index(doc, "\n## notification.")
	if start < 0 {
		t.Fatal("no notification section in docs/actions.md")
	}
	blocks := strings.Split(doc[start:], "```yaml\n")[1:]
	var configs, actions int
	for i, blk := range blocks {
		yml := blk[:strings.Index(blk, "```")]
		switch {
		case strings.HasPrefix(yml, "- "):
			actions++
			def := "tag: docs\ntables: [orders]\nevents: [afterInsert]\nactions:\n" + indent(yml)
			defs, err := trigger.Parse([]byte(def), "actions.md")
			if err == nil {
				_, err = trigger.NewSet(defs)
			}
			if err != nil {
				t.Errorf("example %d:\n%s\n%v", i, yml, err)
			}
		default:
			configs++
			p := filepath.Join(t.TempDir(), "c.yaml")
			if err := os.WriteFile(p, []byte("kafka: {brokers: [127.0.0.1:9092], topics: [t]}\n"+yml), 0o600); err != nil {
				t.Fatal(err)
			}
			if _, err := config.Load(p, nil); err != nil {
				t.Errorf("config example %d:\n%s\n%v", i, yml, err)
			}
		}
	}
	if configs < 3 || actions < 6 {
		t.Errorf("found %d config and %d action examples", configs, actions)
	}
}

func indent(s string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	for i, l := range lines {
		lines[i] = "  " + l
	}
	return strings.Join(lines, "\n") + "\n"
}
