package trigger

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/triggerd/triggerd/run"
)

func TestDocumentRoundTrip(t *testing.T) {
	files, err := filepath.Glob("../examples/triggers/*.yaml")
	require.NoError(t, err)
	require.NotEmpty(t, files)
	var defs []Definition
	for _, f := range files {
		data, err := os.ReadFile(f)
		require.NoError(t, err)
		ds, err := Parse(data, f)
		require.NoError(t, err, f)
		defs = append(defs, ds...)
	}
	extra, err := Parse([]byte(`
tag: every-field
name: Every field
description: all of them
tables: [app.public.orders, users]
events: [afterInsert, afterWrite]
enabled: false
priority: -3
when: "record.total > 10"
condition:
  and:
    - {field: status, operator: IN, value: [a, 1, 2.5, null]}
    - {not: {field: record.x, operator: EQUALS, value: null}}
    - {or: [{field: y, operator: IS_NULL}, {field: z, operator: changedTo, value: {a: [1]}}]}
actions:
  - type: http
    name: h
    config: {url: "https://x.test/{{record.id | urlencode}}", body: {n: 1, f: 1.5, l: [true, null, "s"]}}
    retry: {maxAttempts: 7, initialDelay: 1500, maxDelay: 1m, backoffMultiplier: 1.5, retryOn: []}
    continueOnError: true
    timeout: 2s
  - type: log.error
    config: {message: m}
`), "x.yaml")
	require.NoError(t, err)
	defs = append(defs, extra...)
	before, err := Parse([]byte(`
tag: every-before-field
tables: [users]
events: [beforeInsert, beforeWrite]
condition: {field: kind, operator: EQUALS, value: person}
lookups:
  - {name: domain, http: {url: "https://x.test/{{record.email}}", method: GET, headers: {A: b}}, timeout: 50ms, onError: continue, default: {ok: true, n: 1}}
  - {name: banned, sql: {database: main, query: "select 1 where $1 = 'x'", args: ["{{record.email}}"]}}
set:
  - {field: email, value: "{{record.email | lower}}"}
  - {field: role, value: member, ifMissing: true}
  - {field: full_name, expr: "record.first + ' ' + record.last"}
validate:
  - {condition: {field: email, operator: MATCHES, value: "^[^@]+@[^@]+$"}, message: "{{record.email}} is not an email"}
  - {expr: "lookups.domain.ok == true", message: bad domain, field: email}
`), "b.yaml")
	require.NoError(t, err)
	defs = append(defs, before...)
	for _, d := range defs {
		d.Version, d.UpdatedBy, d.UpdatedAt = 9, "alice", time.Now()
		b, err := json.Marshal(d)
		require.NoError(t, err)
		assert.NotContains(t, string(b), "alice", "metadata is not part of the document")
		back, err := Parse(b, "stored.json")
		require.NoError(t, err, string(b))
		require.Len(t, back, 1)
		want := d
		want.File, want.Version, want.UpdatedBy, want.UpdatedAt = "stored.json", 0, "", time.Time{}
		want.pos = "" // where it sat in its file, like File
		assert.Equal(t, want, back[0], string(b))

		one, err := ParseDocument(b)
		require.NoError(t, err)
		want.File = ""
		assert.Equal(t, want, one)
		if one.When == "" || celBuilt {
			require.NoError(t, ValidateDefinition(one))
		}
	}
}

func TestParseDocumentErrors(t *testing.T) {
	tests := []struct{ doc, want string }{
		{`{"tag": "x", "tables": "users", "events": ["afterInsert"], "actions": [{"type": "log", "config": {"message": "m"}}], "colour": 1}`, `trigger "x": colour: unknown field`},
		{`{"tag": 5}`, "tag: must be a string"},
		{`[{"tag": "x"}]`, "must be one trigger (a JSON object)"},
		{`{"triggers": []}`, "triggers: unknown field (a document holds one trigger)"},
		{`{"tag": "x",`, "invalid JSON"},
		{`{"tag": "x", "priority": "high", "actions": [{"type": "nope"}]}`, `trigger "x": priority: must be an integer
trigger "x": tables: must list at least one table
trigger "x": events: must list at least one event
trigger "x": actions[0].type: unknown action type "nope"`},
	}
	for _, tc := range tests {
		_, err := ParseDocument([]byte(tc.doc))
		var ve *ValidationError
		require.ErrorAs(t, err, &ve, tc.doc)
		assert.Contains(t, err.Error(), tc.want, tc.doc)
	}
	d, err := ParseDocument([]byte("tag: y\ntables: [t]\nevents: [afterInsert]\nactions: [{type: log, config: {message: m}}]\n"))
	require.NoError(t, err, "YAML is accepted too")
	assert.Equal(t, "y", d.Tag)
}

func TestValidateDefinition(t *testing.T) {
	err := ValidateDefinition(Definition{Tag: "Bad Tag", Actions: []Action{{Type: "http", Config: map[string]any{"url": "{{nope}}"}}},
		Condition: &Condition{Field: "x", Operator: "MATCHES", Value: "(["}})
	assert.EqualError(t, err, `trigger "Bad Tag": tag: "Bad Tag" must match ^[a-z0-9][a-z0-9._-]*$
trigger "Bad Tag": tables: must list at least one table
trigger "Bad Tag": events: must list at least one event
trigger "Bad Tag": condition.value: invalid regular expression: error parsing regexp: missing closing ]: `+"`[`"+`
trigger "Bad Tag": actions[0].config.url: {{nope}}: unknown root "nope" (want one of actions, changedFields, database, env, event, operation, previousRecord, previousRecords, record, records, run, secret, table, timestamp, trigger, user)`)
	assert.NoError(t, ValidateDefinition(Definition{Tag: "ok", Tables: []string{"t"}, Events: []string{"after_insert"}, Actions: []Action{{Type: "log", Config: map[string]any{"message": "m"}}}}))
}

func TestPlanCarriesVersion(t *testing.T) {
	s, err := NewSet([]Definition{{Tag: "v", Version: 42, Enabled: true, Tables: []string{"t"}, Events: []string{"afterInsert"}, Actions: []Action{{Type: "log", Config: map[string]any{"message": "m"}}}}})
	require.NoError(t, err)
	in := s.Plan(run.Event{ID: "e", Table: "t", Operation: run.OperationInsert})
	require.Len(t, in, 1)
	assert.Equal(t, run.TriggerRef{Tag: "v", Version: 42}, in[0].Trigger)
}

// TestValidationReportsEverythingTogether checks the list in one
// definition: every problem is reported with its path, and nothing loads.
func TestValidationReportsEverythingTogether(t *testing.T) {
	defs, err := Parse([]byte(`
triggers:
  - tag: a
    tables: []
    events: []
    condition: {or: [{field: s, operator: ROUGHLY, value: 1}, {field: s, operator: MATCHES, value: "a(b"}]}
    actions:
      - {type: sms.send}
      - {type: log, config: {message: "{{ secrets.x }} {{ record.x | shout }}", colour: red}}
  - tag: a
    tables: [t]
    events: [afterInsert]
    actions: [{type: log, config: {message: m}}]
`), "all.yaml")
	require.NoError(t, err, "no structural problems: NewSet finds the rest")
	s, err := NewSet(defs)
	assert.Nil(t, s)
	var ve *ValidationError
	require.ErrorAs(t, err, &ve)
	var fields []string
	for _, p := range ve.Problems {
		fields = append(fields, p.Field)
	}
	assert.Equal(t, []string{"tables", "events", "condition.or[0].operator", "condition.or[1].value",
		"actions[0].type", "actions[1].config.colour", "actions[1].config.message", "actions[1].config.message", "tag"}, fields, err.Error())
}
