package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/triggerd/triggerd/config"
)

const secretsConfig = `
kafka:
  brokers: [127.0.0.1:9092]
  topics: [orders]
  sasl: {mechanism: plain, username: triggerd, password: "{{secret.KAFKA_PASSWORD}}"}
redis: {address: 127.0.0.1:6379, password: "{{secret.REDIS_PASSWORD}}"}
notifications:
  smtp: {host: 127.0.0.1, port: 1025, tls: none, username: mailer, password: "{{secret.SMTP_PASSWORD}}", from: orders@shop.example}
  sms: {url: "http://127.0.0.1:1/sms", headers: {X-Account: "acct-{{secret.SMS_ACCOUNT}}"}}
  templates:
    order-emails:
      # a message template's placeholders are the action's variables, never resolved at start-up
      confirmation: {subject: "Order", body: "{{secret.NOT_MAILED}}"}
integrations:
  stripe:
    baseUrl: http://127.0.0.1:1/v1
    auth: {type: bearer, token: "{{secret.STRIPE_KEY}}"}
    operations:
      refund: {path: /refunds, headers: {Stripe-Account: "{{secret.STRIPE_ACCOUNT}}"}, body: {key: "{{secret.STRIPE_BODY}}", amount: "{{amount}}"}}
agents:
  support-agent: {url: "http://127.0.0.1:1/v1", model: local, apiKey: "{{ secret.OPENAI_KEY }}"}
temporal: {address: "127.0.0.1:7233", apiKey: "{{secret.TEMPORAL_KEY}}"}
storage:
  files: {driver: s3, endpoint: "http://127.0.0.1:9000", region: us-east-1, bucket: b, accessKey: "{{secret.S3_ACCESS}}", secretKey: "{{secret.S3_SECRET}}"}
secrets: {file: %s}
`

func writeSecretsConfig(t *testing.T, secretsFile string) *config.Config {
	t.Helper()
	dir := t.TempDir()
	sf := filepath.Join(dir, "secrets.yaml")
	if err := os.WriteFile(sf, []byte(secretsFile), 0o600); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "c.yaml")
	if err := os.WriteFile(p, []byte(strings.Replace(secretsConfig, "%s", sf, 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(p, nil)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// The process's own credentials resolve at start-up from the sources of
// {{secret.NAME}} in actions: the environment first, then secrets.file.
func TestResolveConfigSecrets(t *testing.T) {
	t.Setenv("TRIGGERD_SECRET_STRIPE_KEY", "sk_env")
	cfg := writeSecretsConfig(t, `
STRIPE_KEY: sk_file_loses
KAFKA_PASSWORD: kp
REDIS_PASSWORD: rp
SMTP_PASSWORD: sp
SMS_ACCOUNT: "42"
STRIPE_ACCOUNT: acct_1
STRIPE_BODY: b
OPENAI_KEY: ok
TEMPORAL_KEY: tk
S3_ACCESS: ak
S3_SECRET: sk
`)
	if err := resolveConfigSecrets(cfg); err != nil {
		t.Fatal(err)
	}
	stripe := cfg.Integrations["stripe"]
	for _, c := range [][2]string{
		{stripe.Auth.Token, "sk_env"},
		{cfg.Kafka.SASL.Password, "kp"},
		{cfg.Redis.Password, "rp"},
		{cfg.Notifications.SMTP.Password, "sp"},
		{cfg.Notifications.SMS.Headers["X-Account"], "acct-42"},
		{stripe.Operations["refund"].Headers["Stripe-Account"], "acct_1"},
		{cfg.Agents["support-agent"].APIKey, "ok"},
		{cfg.Temporal.APIKey, "tk"},
		{cfg.Storage["files"].AccessKey, "ak"},
		{cfg.Storage["files"].SecretKey, "sk"},
		// Not credentials: left as written.
		{cfg.Notifications.Templates["order-emails"]["confirmation"].Body, "{{secret.NOT_MAILED}}"},
	} {
		if c[0] != c[1] {
			t.Errorf("got %q, want %q", c[0], c[1])
		}
	}
	body := stripe.Operations["refund"].Body.(map[string]any)
	if body["key"] != "b" || body["amount"] != "{{amount}}" {
		t.Errorf("operation body %v", body)
	}
}

// Every missing secret is reported with its field path; none is partly
// applied to a running process, since the start stops.
func TestResolveConfigSecretsMissingNamesTheField(t *testing.T) {
	cfg := writeSecretsConfig(t, "KAFKA_PASSWORD: kp\nSTRIPE_ACCOUNT: a\nSTRIPE_BODY: b\nSMS_ACCOUNT: s\nS3_ACCESS: a\n")
	err := resolveConfigSecrets(cfg)
	if err == nil {
		t.Fatal("missing secrets accepted")
	}
	for _, want := range []string{
		"integrations.stripe.auth.token: unknown secret: secret STRIPE_KEY is not set (set TRIGGERD_SECRET_STRIPE_KEY or add it to secrets.file)",
		"redis.password: unknown secret: secret REDIS_PASSWORD",
		"notifications.smtp.password: unknown secret: secret SMTP_PASSWORD",
		"agents.support-agent.apiKey: unknown secret: secret OPENAI_KEY",
		"temporal.apiKey: unknown secret: secret TEMPORAL_KEY",
		"storage.files.secretKey: unknown secret: secret S3_SECRET",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("missing %q in:\n%v", want, err)
		}
	}
	if strings.Contains(err.Error(), "kafka") {
		t.Errorf("a resolved secret reported: %v", err)
	}
}

// "${NAME}" (the earlier environment reference) is refused with the
// replacement, rather than sent as a password.
func TestResolveConfigSecretsRefusesDollarBraces(t *testing.T) {
	cfg := config.Default()
	cfg.Agents = map[string]config.Agent{"bot": {URL: "http://x", Model: "m", APIKey: "${OPENAI_API_KEY}"}}
	err := resolveConfigSecrets(cfg)
	want := `agents.bot.apiKey: "${OPENAI_API_KEY}" is no longer read from the environment: write "{{secret.OPENAI_API_KEY}}" and set TRIGGERD_SECRET_OPENAI_API_KEY`
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("got %v, want %q", err, want)
	}
}

// The worker stops before connecting anywhere when a secret is missing.
func TestWorkerStartStopsOnMissingConfigSecret(t *testing.T) {
	p := filepath.Join(t.TempDir(), "c.yaml")
	if err := os.WriteFile(p, []byte(appsConfig), 0o600); err != nil {
		t.Fatal(err)
	}
	code, _, errOut := runCLI(t, nil, "worker", "--config", p)
	if code == 0 || !strings.Contains(errOut, "integrations.stripe.auth.token: unknown secret: secret TEST_STRIPE_KEY is not set") {
		t.Fatalf("exit %d: %s", code, errOut)
	}
}

// validate reports "${NAME}" without needing any secret.
func TestValidateReportsDollarBraces(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "c.yaml")
	cfg := strings.Replace(appsConfig, `"{{secret.TEST_STRIPE_KEY}}"`, `"${TEST_STRIPE_KEY}"`, 1)
	if err := os.WriteFile(p, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	code, _, errOut := runCLI(t, nil, "validate", "--config", p, "--triggers", "../../examples/triggers")
	want := p + `: integrations.stripe.auth.token: "${TEST_STRIPE_KEY}" is no longer read from the environment: write "{{secret.TEST_STRIPE_KEY}}" and set TRIGGERD_SECRET_TEST_STRIPE_KEY`
	if code != 1 || !strings.Contains(errOut, want) {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	// Written {{secret.…}}, the config validates without the secret.
	if err := os.WriteFile(p, []byte(appsConfig), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, _, errOut := runCLI(t, nil, "validate", "--config", p, "--triggers", "../../examples/triggers"); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
}

// publish resolves the Kafka SASL password as the worker does.
func TestPublishKafkaConfigSecrets(t *testing.T) {
	p := filepath.Join(t.TempDir(), "c.yaml")
	if err := os.WriteFile(p, []byte(`
kafka:
  brokers: [127.0.0.1:9092]
  topics: [orders]
  sasl: {mechanism: plain, username: triggerd, password: "{{secret.PUBLISH_KAFKA_PW}}"}
`), 0o600); err != nil {
		t.Fatal(err)
	}
	a := &app{configPath: p}
	if _, err := a.publishKafkaConfig(); err == nil || !strings.Contains(err.Error(), "kafka.sasl.password: unknown secret: secret PUBLISH_KAFKA_PW is not set") {
		t.Fatalf("missing secret: %v", err)
	}
	t.Setenv("TRIGGERD_SECRET_PUBLISH_KAFKA_PW", "pw")
	k, err := a.publishKafkaConfig()
	if err != nil || k.SASL.Password != "pw" {
		t.Fatalf("%+v, %v", k.SASL, err)
	}
}
