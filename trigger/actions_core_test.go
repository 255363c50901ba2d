package trigger

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/triggerd/triggerd/trigger/template"
)

// loadProblems loads one trigger with the given actions and returns its
// problems, one per line ("" when it is valid).
func loadProblems(t *testing.T, actions string) string {
	t.Helper()
	defs, err := Parse([]byte("tag: t\ntables: [users]\nevents: [afterInsert]\nactions:\n"+actions), "t.yaml")
	if err == nil {
		_, err = NewSet(defs)
	}
	if err == nil {
		return ""
	}
	return err.Error()
}

func TestCoreActionConfigRules(t *testing.T) {
	for _, tc := range []struct {
		name, actions string
		want          []string
	}{
		{"http body type", `  - {type: http, config: {url: 'http://x', bodyType: xml}}`, []string{"actions[0].config.bodyType: must be one of json, form, raw"}},
		{"http form needs mapping", `  - {type: http, config: {url: 'http://x', bodyType: form, body: [1]}}`, []string{"actions[0].config.body: must be a mapping"}},
		{"http sign unknown key", `  - {type: http, config: {url: 'http://x', sign: {key: '{{secret.K}}', algo: md5}}}`, []string{"actions[0].config.sign.algo: unknown key (allowed: key, header)"}},
		{"http sign literal key", `  - {type: http, config: {url: 'http://x', sign: {key: hunter2}}}`, []string{"actions[0].config.sign.key: must be a secret reference"}},
		{"http sign key missing", `  - {type: http, config: {url: 'http://x', sign: {header: X-Sig}}}`, []string{"actions[0].config.sign.key: is required"}},
		{"http followRedirects", `  - {type: http, config: {url: 'http://x', followRedirects: maybe}}`, []string{"actions[0].config.followRedirects: must be true or false"}},
		{"http maxResponseBytes", `  - {type: http, config: {url: 'http://x', maxResponseBytes: -1}}`, []string{"actions[0].config.maxResponseBytes: must be a positive integer"}},
		{"http responseHeaders", `  - {type: http, config: {url: 'http://x', responseHeaders: Etag}}`, []string{"actions[0].config.responseHeaders: must be a list"}},
		{"http misspelt key", `  - {type: http, config: {url: 'http://x', folowRedirects: true}}`, []string{"actions[0].config.folowRedirects: unknown key for http"}},
		{"secret with function", `  - {type: log, config: {message: '{{secret.K | upper}}'}}`, []string{"secret.K takes no functions"}},
		{"secret bad name", `  - {type: log, config: {message: '{{secret.a-b}}'}}`, []string{"want {{secret.NAME}}"}},
		{"secret no name", `  - {type: log, config: {message: '{{secret}}'}}`, []string{"want {{secret.NAME}}"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := loadProblems(t, tc.actions)
			require.NotEmpty(t, got)
			for _, w := range tc.want {
				assert.Contains(t, got, w)
			}
		})
	}
	require.Empty(t, loadProblems(t, `  - type: http
    config:
      url: 'https://hooks.example.com/orders?x={{record.id}}'
      method: PUT
      bodyType: form
      body: {id: '{{record.id}}'}
      contentType: application/x-www-form-urlencoded
      followRedirects: true
      idempotencyHeader: X-Idem
      responseHeaders: ['*']
      maxResponseBytes: 1024
      headers: {Authorization: 'Bearer {{secret.API_TOKEN}}'}
      sign: {key: '{{ secret.WEBHOOK_KEY }}', header: X-Sig}
`))
}

func TestRenderKeepsSecretRefs(t *testing.T) {
	out, err := template.RenderConfig(map[string]any{
		"whole":  "{{secret.API_TOKEN}}",
		"spaced": "{{ secret.API_TOKEN }}",
		"mixed":  "Bearer {{secret.API_TOKEN}} for {{record.id}}",
	}, template.Scope{Record: map[string]any{"id": 7.0}})
	require.NoError(t, err)
	require.Equal(t, map[string]any{
		"whole":  "{{secret.API_TOKEN}}",
		"spaced": "{{ secret.API_TOKEN }}",
		"mixed":  "Bearer {{secret.API_TOKEN}} for 7",
	}, out)
}

// Data must not smuggle a secret reference into a config that the worker
// would then resolve.
func TestRenderRefusesSecretRefsInData(t *testing.T) {
	for name, scope := range map[string]template.Scope{
		"record field": {Record: map[string]any{"note": "x {{secret.API_TOKEN}}"}},
		"nested":       {Record: map[string]any{"note": []any{map[string]any{"a": "{{ secret.X }}"}}}},
		"output":       {Actions: map[string]any{"a": map[string]any{"output": "{{secret.API_TOKEN}}"}}},
	} {
		t.Run(name, func(t *testing.T) {
			expr := "{{record.note}}"
			if name == "output" {
				expr = "echo {{actions.a.output}}"
			}
			_, err := template.RenderConfig(map[string]any{"body": expr}, scope)
			require.Error(t, err)
			require.True(t, strings.Contains(err.Error(), "only a definition may write"), err.Error())
		})
	}
}

func TestCacheActionRules(t *testing.T) {
	for _, tc := range []struct{ name, actions, want string }{
		{"get as", `  - {type: cache.get, config: {key: k, as: xml}}`, "actions[0].config.as: must be one of json, text"},
		{"get key", `  - {type: cache.get, config: {cache: c}}`, "actions[0].config.key: is required"},
		{"get misspelt", `  - {type: cache.get, config: {key: k, ttl: 3}}`, "actions[0].config.ttl: unknown key for cache.get"},
		{"invalidate all", `  - {type: cache.invalidate, config: {pattern: '**'}}`, `actions[0].config.pattern: "**" matches the whole cache`},
		{"invalidate required", `  - {type: cache.invalidate, config: {cache: c}}`, "actions[0].config.pattern: is required"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.Contains(t, loadProblems(t, tc.actions), tc.want)
		})
	}
	require.Empty(t, loadProblems(t, `  - {name: lookup, type: cache.get, config: {cache: users, key: 'user:{{record.id}}', as: json}}
  - {type: cache.invalidate, config: {cache: users, pattern: 'user:{{record.id}}:*'}}
  - {type: log, config: {message: 'cached: {{actions.lookup.output.found}}'}}
`))
}

func TestCheckResources(t *testing.T) {
	defs, err := Parse([]byte(`
tag: t
tables: [users]
events: [afterInsert]
actions:
  - {type: cache.set, config: {key: k, value: v}}
  - {type: cache.get, config: {cache: sessions, key: k}}
  - {type: cache.delete, config: {cache: nope, key: k}}
  - {type: cache.delete, config: {cache: '{{record.c}}', key: k}}
  - {type: storage.delete, config: {storage: media, path: p}}
  - {type: storage.delete, config: {storage: gone, path: p}}
`), "t.yaml")
	require.NoError(t, err)
	probs := CheckResources(defs, Resources{Caches: []string{"default", "sessions"}, Buckets: []string{"media"}})
	var got []string
	for _, p := range probs {
		got = append(got, p.String())
	}
	require.Equal(t, []string{
		`t.yaml: trigger "t": actions[2].config.cache: "nope" is not configured (caches in the config: default, sessions)`,
		`t.yaml: trigger "t": actions[5].config.storage: "gone" is not configured (storage in the config: media)`,
	}, got)
}

func TestPublishActionRules(t *testing.T) {
	for _, tc := range []struct{ name, actions, want string }{
		{"format", `  - {type: broker.publish, config: {target: 'kafka:t', message: x, format: avro}}`, "actions[0].config.format: must be one of json, raw, base64"},
		{"raw needs string", `  - {type: broker.publish, config: {target: 'kafka:t', message: {a: 1}, format: raw}}`, "actions[0].config.message: must be a string with format raw"},
		{"bool", `  - {type: broker.publish, config: {target: 'rabbitmq:q', message: x, persistent: sometimes}}`, "actions[0].config.persistent: must be true or false"},
		{"exchange on kafka", `  - {type: broker.publish, config: {target: 'kafka:t', message: x, exchange: e}}`, "actions[0].config.exchange: exchange and routingKey are for rabbitmq targets"},
		{"bare rabbitmq", `  - {type: broker.publish, config: {target: rabbitmq, message: x}}`, "actions[0].config.target"},
		{"misspelt", `  - {type: broker.publish, config: {target: 'kafka:t', message: x, routing_key: k}}`, "actions[0].config.routing_key: unknown key for broker.publish"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.Contains(t, loadProblems(t, tc.actions), tc.want)
		})
	}
	require.Empty(t, loadProblems(t, `  - type: broker.publish
    config:
      target: rabbitmq
      exchange: orders
      routingKey: 'order.{{record.status}}'
      message: '{{record}}'
      contentType: application/vnd.order+json
      persistent: true
      confirm: true
      mandatory: false
      headers: {source: triggerd}
  - {type: broker.publish, config: {target: 'kafka:orders', key: '{{record.id}}', format: base64, message: '{{record.payload}}'}}
`))
}

func TestStorageActionRules(t *testing.T) {
	for _, tc := range []struct{ name, actions, want string }{
		{"escape", `  - {type: storage.delete, config: {storage: b, path: 'a/../../etc/passwd'}}`, `actions[0].config.path: "a/../../etc/passwd" leaves the bucket`},
		{"copy escape", `  - {type: storage.copy, config: {storage: b, from: x, to: '../y'}}`, "actions[0].config.to:"},
		{"encoding", `  - {type: storage.upload, config: {storage: b, path: x, data: y, encoding: hex}}`, "actions[0].config.encoding: must be one of text, base64"},
		{"no content", `  - {type: storage.upload, config: {storage: b, path: x}}`, "actions[0].config: storage.upload takes exactly one of data and dataField"},
		{"misspelt", `  - {type: storage.upload, config: {storage: b, path: x, data: y, contentType: z}}`, "actions[0].config.contentType: unknown key for storage.upload"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.Contains(t, loadProblems(t, tc.actions), tc.want)
		})
	}
	require.Empty(t, loadProblems(t, `  - {type: storage.upload, config: {storage: media, path: 'avatars/{{record.id}}.png', dataField: avatar, encoding: base64, mimeType: image/png}}
  - {type: storage.copy, config: {storage: media, from: 'avatars/{{record.id}}.png', to: 'archive/{{record.id}}.png'}}
  - {type: storage.delete, config: {storage: media, path: 'avatars/{{record.id}}.png'}}
`))
}

func TestSecretsRefusedWhereTheWorkflowRuns(t *testing.T) {
	got := loadProblems(t, `  - {type: workflow.dispatch, config: {workflow: w, input: {token: '{{secret.API_TOKEN}}'}}}`)
	require.Contains(t, got, "actions[0].config.input: {{secret.…}} is resolved by the activity worker only")
	got = loadProblems(t, `  - {type: broker.publish, config: {target: 'kafka:t', message: x, confirm: false}}`)
	require.Contains(t, got, "actions[0].config.confirm: is a RabbitMQ option")
}
