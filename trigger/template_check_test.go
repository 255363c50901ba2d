package trigger

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A definition's templates are checked when it loads (template.Check),
// every problem located by its field.

func TestTemplatesValidatedAtLoad(t *testing.T) {
	_, err := NewSet([]Definition{{Tag: "t", Tables: []string{"u"}, Events: []string{"afterInsert"}, Enabled: true, Actions: []Action{
		{Type: "http", Name: "first", Config: map[string]any{"url": "https://x.test", "body": map[string]any{"ok": "{{actions.first.output}}"}}},
		{Type: "log", Config: map[string]any{"message": "{{actions.first.output.status}} {{ nope }} {{record[}}"}},
	}}})
	require.Error(t, err)
	assert.Equal(t, `trigger "t": actions[0].config.body.ok: {{actions.first.output}}: actions.first: no earlier action of this trigger is named "first"
trigger "t": actions[1].config.message: {{nope}}: unknown root "nope" (want one of actions, changedFields, database, env, event, operation, previousRecord, previousRecords, record, records, run, secret, table, timestamp, trigger, user)
trigger "t": actions[1].config.message: {{record[}}: path "record[": unclosed '['`, err.Error())
}

func TestTemplateFunctionsValidatedAtLoad(t *testing.T) {
	_, err := NewSet([]Definition{{Tag: "t", Tables: []string{"u"}, Events: []string{"afterInsert"}, Actions: []Action{
		{Type: "log", Config: map[string]any{"message": "{{ record.name | shout }}", "fields": map[string]any{
			"a": "{{ record.x | default }}", "b": "{{ record.x | upper 1 }}", "c": "{{ record.x | }}", "d": "{{ record.x | default nope }}"}}},
	}}})
	require.Error(t, err)
	assert.Equal(t, `trigger "t": actions[0].config.fields.a: {{record.x | default}}: default needs an argument, e.g. default "x"
trigger "t": actions[0].config.fields.b: {{record.x | upper 1}}: upper takes no argument
trigger "t": actions[0].config.fields.c: {{record.x |}}: empty function after '|'
trigger "t": actions[0].config.fields.d: {{record.x | default nope}}: default: argument nope must be a quoted string, a number, true, false or null
trigger "t": actions[0].config.message: {{record.name | shout}}: unknown function "shout" (want one of default, json, lower, trim, upper, urlencode)`, err.Error())
}
