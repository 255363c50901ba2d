package trigger

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// base is a valid trigger; each case replaces or adds lines.
func validationCase(extra string) string {
	return "tag: t\n" + extra
}

func TestValidationRules(t *testing.T) {
	const ok = "tables: [users]\nevents: [afterInsert]\n"
	const logAct = "actions: [{type: log, config: {message: hi}}]\n"
	tests := []struct {
		name, yaml string
		want       []string // "field: reason" fragments, all must appear
	}{
		{"tag missing", "tables: [users]\nevents: [afterInsert]\n" + logAct, []string{"tag: is required"}},
		{"tag pattern", "tag: Bad_Tag\n" + ok + logAct, []string{`tag: "Bad_Tag" must match`}},
		{"tag not a string", "tag: [x]\n" + ok + logAct, []string{"tag: must be a string"}},
		{"tables missing", "tag: t\nevents: [afterInsert]\n" + logAct, []string{"tables: must list at least one table"}},
		{"table entry", "tag: t\ntables: [a..b]\nevents: [afterInsert]\n" + logAct, []string{"tables[0]: \"a..b\""}},
		{"events missing", "tag: t\ntables: [users]\n" + logAct, []string{"events: must list at least one event"}},
		{"unknown event", "tag: t\ntables: [users]\nevents: [afterInsert, onUpsert]\n" + logAct, []string{`events[1]: unknown event "onUpsert"`}},
		{"unknown field", validationCase(ok + logAct + "colour: red\n"), []string{"colour: unknown field"}},
		{"enabled type", validationCase(ok + logAct + "enabled: yes please\n"), []string{"enabled: must be true or false"}},
		{"priority type", validationCase(ok + logAct + "priority: high\n"), []string{"priority: must be an integer"}},
		{"actions missing", validationCase(ok), []string{"actions: must list at least one action"}},
		{"action type missing", validationCase(ok + "actions: [{config: {message: hi}}]\n"), []string{"actions[0].type: is required"}},
		{"unknown action type", validationCase(ok + "actions: [{type: sms.send}]\n"), []string{`actions[0].type: unknown action type "sms.send"`}},
		{"unknown action field", validationCase(ok + "actions: [{type: log, config: {message: hi}, when: now}]\n"), []string{"actions[0].when: unknown field"}},
		{"duplicate action name", validationCase(ok + "actions: [{type: log, name: a, config: {message: hi}}, {type: log, name: a, config: {message: hi}}]\n"), []string{`actions[1].name: duplicate action name "a"`}},
		{"unknown config key", validationCase(ok + "actions: [{type: log, config: {message: hi, colour: red}}]\n"), []string{"actions[0].config.colour: unknown key for log"}},
		{"required config key", validationCase(ok + "actions: [{type: http, config: {method: GET}}]\n"), []string{"actions[0].config.url: is required"}},
		{"http method", validationCase(ok + "actions: [{type: http, config: {url: 'http://x', method: FETCH}}]\n"), []string{"actions[0].config.method: must be one of"}},
		{"http url", validationCase(ok + "actions: [{type: http, config: {url: 'ftp://x'}}]\n"), []string{"actions[0].config.url: must be an absolute http or https URL"}},
		{"http headers", validationCase(ok + "actions: [{type: http, config: {url: 'http://x', headers: [a]}}]\n"), []string{"actions[0].config.headers: must be a mapping"}},
		{"http timeout", validationCase(ok + "actions: [{type: http, config: {url: 'http://x', timeout: soon}}]\n"), []string{"actions[0].config.timeout: must be a duration"}},
		{"publish target", validationCase(ok + "actions: [{type: broker.publish, config: {target: 'sqs:q', message: m}}]\n"), []string{`actions[0].config.target: "sqs:q": unknown broker "sqs"`}},
		{"publish rabbit", validationCase(ok + "actions: [{type: broker.publish, config: {target: 'rabbitmq:ex/', message: m}}]\n"), []string{"actions[0].config.target:"}},
		{"publish message", validationCase(ok + "actions: [{type: broker.publish, config: {target: 'kafka:t'}}]\n"), []string{"actions[0].config.message: is required"}},
		{"cache ttl", validationCase(ok + "actions: [{type: cache.set, config: {key: k, value: v, ttl: -5}}]\n"), []string{"actions[0].config.ttl: must be a non-negative number"}},
		{"cache key", validationCase(ok + "actions: [{type: cache.delete, config: {cache: c}}]\n"), []string{"actions[0].config.key: is required"}},
		{"log level", validationCase(ok + "actions: [{type: log, config: {message: hi, level: loud}}]\n"), []string{"actions[0].config.level: must be one of debug, info, warn, error"}},
		{"log alias conflict", validationCase(ok + "actions: [{type: log.error, config: {message: hi, level: info}}]\n"), []string{"actions[0].config.level: is info but type log.error sets level error"}},
		{"retry", validationCase(ok + "actions: [{type: log, config: {message: hi}, retry: {maxAttempts: 0, backoffMultiplier: 0.5, initialDelay: 10s, maxDelay: 1s, jitter: true}}]\n"),
			[]string{"actions[0].retry.jitter: unknown field", "actions[0].retry.maxAttempts: must be at least 1", "actions[0].retry.backoffMultiplier: must be at least 1", "actions[0].retry.maxDelay: must not be shorter than initialDelay"}},
		{"timeout", validationCase(ok + "actions: [{type: log, config: {message: hi}, timeout: later}]\n"), []string{"actions[0].timeout: must be a duration"}},
		{"template root", validationCase(ok + "actions: [{type: log, config: {message: 'hi {{ secrets.key }}'}}]\n"), []string{`actions[0].config.message: {{secrets.key}}: unknown root "secrets"`}},
		{"template scalar root", validationCase(ok + "actions: [{type: log, config: {message: '{{event.name}}'}}]\n"), []string{"event has no fields"}},
		{"template unterminated", validationCase(ok + "actions: [{type: log, config: {fields: {a: ['{{record.id']}, message: m}}]\n"), []string{"actions[0].config.fields.a[0]: unterminated placeholder"}},
		{"template later action", validationCase(ok + "actions: [{type: log, config: {message: '{{actions.b.output}}'}}, {type: log, name: b, config: {message: m}}]\n"), []string{`no earlier action of this trigger is named "b"`}},
		{"condition operator", validationCase(ok + logAct + "condition: {field: status, operator: ROUGHLY, value: 1}\n"), []string{`condition.operator: unknown operator "ROUGHLY"`}},
		{"condition value list", validationCase(ok + logAct + "condition: {field: status, operator: IN, value: a}\n"), []string{"condition.value: IN needs a list of values"}},
		{"condition missing value", validationCase(ok + logAct + "condition: {or: [{field: a, operator: equals}, {field: b, operator: gt}]}\n"),
			[]string{"condition.or[0].value: is required by EQUALS", `condition.or[1].operator: unknown operator "gt"`}},
		{"condition regex", validationCase(ok + logAct + "condition: {not: {field: email, operator: matches, value: '(['}}\n"), []string{"condition.not.value: invalid regular expression"}},
		{"condition no value allowed", validationCase(ok + logAct + "condition: {field: email, operator: IS_NULL, value: 3}\n"), []string{"condition.value: IS_NULL takes no value"}},
		{"condition two groups", validationCase(ok + logAct + "condition: {field: a, operator: IS_NULL, and: [{field: b, operator: IS_NULL}]}\n"), []string{"condition: must hold exactly one of"}},
		{"condition empty and", validationCase(ok + logAct + "condition: {and: []}\n"), []string{"condition.and: must not be empty"}},
		{"changed on non-record", validationCase(ok + logAct + "condition: {field: user.id, operator: CHANGED}\n"), []string{"condition.field: CHANGED compares record and previousRecord"}},
		{"bad path", validationCase(ok + logAct + "condition: {field: 'items[x]', operator: IS_NULL}\n"), []string{"condition.field: path \"items[x]\""}},
		{"not a mapping", "[1]", []string{"[0]: must be a mapping"}},
		{"bad yaml", "tag: [", []string{"invalid YAML"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			defs, err := Parse([]byte(tc.yaml), "bad.yaml")
			if err == nil {
				_, err = NewSet(defs)
			}
			require.Error(t, err)
			var ve *ValidationError
			require.ErrorAs(t, err, &ve)
			for _, w := range tc.want {
				assert.Contains(t, err.Error(), w)
			}
			for _, line := range strings.Split(err.Error(), "\n") {
				assert.True(t, strings.HasPrefix(line, "bad.yaml: "), line)
			}
		})
	}
}

func TestValidationAllTogether(t *testing.T) {
	defs, err := Parse([]byte(`
- tag: x
  tables: [users]
  events: [afterInsert]
  condition: {field: a, operator: nope}
  actions:
    - {type: http, config: {}}
    - {type: bogus}
- tag: x
  tables: [users]
  events: [afterInsert]
  actions: [{type: log, config: {message: hi}}]
`), "bad.yaml")
	require.NoError(t, err)
	s, err := NewSet(defs)
	require.Nil(t, s)
	assert.Equal(t, `bad.yaml: trigger "x": condition.operator: unknown operator "nope"
bad.yaml: trigger "x": actions[0].config.url: is required
bad.yaml: trigger "x": actions[1].type: unknown action type "bogus" (known: `+strings.Join(KnownActionTypes(), ", ")+`)
bad.yaml: trigger "x": tag: duplicate tag (already defined in bad.yaml)`, err.Error())
}

func TestNewSetFromCode(t *testing.T) {
	s, err := NewSet([]Definition{{Tag: "code", Tables: []string{"users"}, Events: []string{"AFTER_DELETE"}, Enabled: true,
		Actions: []Action{{Type: "log.info", Config: map[string]any{"message": "bye"}}}}})
	require.NoError(t, err)
	d := s.Definitions()[0]
	assert.Equal(t, []string{"afterDelete"}, d.Events)
	assert.Equal(t, "log", d.Actions[0].Type)
	assert.Equal(t, "log.info-0", d.Actions[0].Name)
	assert.Equal(t, "info", d.Actions[0].Config["level"])
	assert.Equal(t, 3, d.Actions[0].Retry.MaxAttempts)
}

func TestProblemsOfTaglessTriggerUsePosition(t *testing.T) {
	_, err := Parse([]byte(`
triggers:
  - {tag: a, tables: [users], events: [afterInsert], actions: [{type: log, config: {message: m}}]}
  - {tables: [users], events: [afterInsert], priority: x, actions: [{type: log, config: {}}]}
`), "p.yaml")
	require.Error(t, err)
	assert.Equal(t, `p.yaml: triggers[1].priority: must be an integer
p.yaml: triggers[1].tag: is required
p.yaml: triggers[1].actions[0].config.message: is required`, err.Error())
}
