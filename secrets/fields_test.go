package secrets_test

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/triggerd/triggerd/secrets"
)

type fieldsAuth struct {
	Token string `yaml:"token"`
}

type fieldsApp struct {
	Auth    fieldsAuth        `yaml:"auth"`
	Headers map[string]string `yaml:"headers"`
	Body    any               `yaml:"body"`
	Port    int               `yaml:"port"`
}

type fieldsConfig struct {
	Apps      map[string]fieldsApp       `yaml:"apps"`
	Brokers   []string                   `yaml:"brokers"`
	Redis     *struct{ Password string } `yaml:"redis"`
	Templates map[string]string          `yaml:"templates"`
	Nothing   *fieldsAuth                `yaml:"nothing"`
	private   string
}

func TestResolveFields(t *testing.T) {
	r := secrets.NewResolver([]secrets.Source{env(map[string]string{"TRIGGERD_SECRET_TOK": "t0k", "TRIGGERD_SECRET_PW": "pw"})})
	cfg := &fieldsConfig{
		Apps: map[string]fieldsApp{"crm": {
			Auth:    fieldsAuth{Token: "{{secret.TOK}}"},
			Headers: map[string]string{"X-Key": "key-{{ secret.PW }}", "X-Plain": "{{record.id}}"},
			Body:    map[string]any{"list": []any{"{{secret.TOK}}", 1}, "n": 2},
			Port:    1,
		}},
		Brokers:   []string{"a:1", "{{secret.PW}}@b:2"},
		Redis:     &struct{ Password string }{Password: "{{secret.PW}}"},
		Templates: map[string]string{"mail": "{{secret.TOK}}"},
		private:   "{{secret.TOK}}",
	}
	require.NoError(t, r.ResolveFields(cfg, secrets.SkipFields("templates")))
	crm := cfg.Apps["crm"]
	require.Equal(t, "t0k", crm.Auth.Token)
	require.Equal(t, map[string]string{"X-Key": "key-pw", "X-Plain": "{{record.id}}"}, crm.Headers)
	require.Equal(t, map[string]any{"list": []any{"t0k", 1}, "n": 2}, crm.Body)
	require.Equal(t, []string{"a:1", "pw@b:2"}, cfg.Brokers)
	require.Equal(t, "pw", cfg.Redis.Password, "a field without a yaml tag is walked too")
	require.Equal(t, "{{secret.TOK}}", cfg.Templates["mail"], "skipped")
	require.Equal(t, "{{secret.TOK}}", cfg.private, "unexported fields are not touched")
}

func TestResolveFieldsReportsEveryField(t *testing.T) {
	r := secrets.NewResolver([]secrets.Source{env(nil)})
	cfg := &fieldsConfig{
		Apps:    map[string]fieldsApp{"crm": {Auth: fieldsAuth{Token: "{{secret.CRM_TOKEN}}"}, Headers: map[string]string{"X-Key": "${CRM_KEY}"}}},
		Brokers: []string{"ok", "{{secret.BROKER}}"},
	}
	err := r.ResolveFields(cfg)
	require.ErrorIs(t, err, secrets.ErrUnknown)
	require.ErrorContains(t, err, "apps.crm.auth.token: unknown secret: secret CRM_TOKEN is not set (set TRIGGERD_SECRET_CRM_TOKEN or add it to secrets.file)")
	require.ErrorContains(t, err, `apps.crm.headers.X-Key: "${CRM_KEY}" is no longer read from the environment: write "{{secret.CRM_KEY}}"`)
	require.ErrorContains(t, err, "brokers[1]: unknown secret: secret BROKER")
	require.Equal(t, "{{secret.CRM_TOKEN}}", cfg.Apps["crm"].Auth.Token, "left as written")

	require.Error(t, r.ResolveFields(*cfg), "needs a pointer")
	var nilCfg *fieldsConfig
	require.Error(t, r.ResolveFields(nilCfg))
}

func TestResolveRedacts(t *testing.T) {
	r := secrets.NewResolver([]secrets.Source{env(map[string]string{"TRIGGERD_SECRET_TOK": "a/b c"})})
	out, redact, err := r.Resolve(map[string]any{"url": "https://x/?k={{secret.TOK}}", "n": 1})
	require.NoError(t, err)
	require.Equal(t, map[string]any{"url": "https://x/?k=a/b c", "n": 1}, out)
	require.Equal(t, "GET https://x/?k=[redacted] and [redacted]", redact("GET https://x/?k=a%2Fb+c and a/b c"))

	in := map[string]any{"url": "https://x/"}
	out, redact, err = r.Resolve(in)
	require.NoError(t, err)
	require.Equal(t, in, out)
	require.Nil(t, redact, "nothing used, nothing to mask")

	_, _, err = r.Resolve("{{secret.NOPE}}")
	require.True(t, errors.Is(err, secrets.ErrUnknown))
}
