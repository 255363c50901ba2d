package template

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/triggerd/triggerd/run"
)

func TestRenderConfig(t *testing.T) {
	rec := map[string]any{"id": 7, "total": 12.5, "name": "Ada", "tags": []any{"a", "b"}, "addr": map[string]any{"city": "London", "zip": nil}, "big": 1e21}
	sc := Scope{
		Record: rec, PreviousRecord: map[string]any{"id": 7, "total": "12.5", "name": "Bob", "gone": 1},
		Event: "afterUpdate", Table: "users", Database: "app", Operation: "update",
		Timestamp: time.Date(2026, 11, 23, 10, 0, 0, 500, time.FixedZone("x", 3600)), Env: "dev",
		User: map[string]any{"id": "u1"}, Trigger: run.TriggerRef{Tag: "t", Name: "T", Version: 2}, RunID: "triggerd/t/e1",
		Actions: map[string]any{"webhook": map[string]any{"output": map[string]any{"status": 201, "body": map[string]any{"ids": []any{"x9"}}}}},
	}
	tests := []struct {
		in   any
		want any
	}{
		{"{{record}}", rec},
		{"{{ record.total }}", 12.5},
		{"{{record.id}}", 7},
		{"{{record.tags}}", []any{"a", "b"}},
		{"{{record.tags[1]}}", "b"},
		{"{{record.missing}}", nil},
		{"{{record.addr.zip}}", nil},
		{"x{{record.missing}}y", "xy"},
		{"user:{{record.id}}", "user:7"},
		{"{{record.name}} paid {{record.total}}", "Ada paid 12.5"},
		{"big {{record.big}}", "big 1000000000000000000000"},
		{"tags={{record.tags}}", `tags=["a","b"]`},
		{"addr={{record.addr}}", `addr={"city":"London","zip":null}`},
		{"{{previousRecord.name}}", "Bob"},
		{"{{event}} {{table}} {{database}} {{operation}} {{env}}", "afterUpdate users app update dev"},
		{"{{timestamp}}", "2026-11-23T09:00:00.0000005Z"},
		{"{{user.id}}", "u1"},
		{"{{trigger.tag}}/{{trigger.name}}/{{trigger.version}}", "t/T/2"},
		{"{{run.id}}", "triggerd/t/e1"},
		{"{{actions.webhook.output.status}}", 201},
		{"{{actions.webhook.output.body.ids[0]}}", "x9"},
		{"{{actions.nope.output}}", nil},
		{"{{changedFields}}", []any{"addr", "big", "gone", "name", "tags"}}, // keys on one side only count as changed
		{"no templates", "no templates"},
		{"{ {not} }", "{ {not} }"},
		{map[string]any{"a": []any{"{{record.id}}", map[string]any{"b": "{{record.name}}!"}}, "n": 5, "t": true},
			map[string]any{"a": []any{7, map[string]any{"b": "Ada!"}}, "n": 5, "t": true}},
	}
	for _, tc := range tests {
		got, err := RenderConfig(map[string]any{"v": tc.in}, sc)
		require.NoError(t, err, tc.in)
		assert.Equal(t, tc.want, got["v"], tc.in)
	}
}

func TestRenderConfigEdges(t *testing.T) {
	cfg := map[string]any{"v": "{{record.id}}", "l": []any{"{{record}}"}}
	got, err := RenderConfig(cfg, Scope{})
	require.NoError(t, err)
	assert.Equal(t, map[string]any{"v": nil, "l": []any{nil}}, got, "missing record renders null")
	assert.Equal(t, "{{record.id}}", cfg["v"], "input is not modified")

	got, err = RenderConfig(map[string]any{"c": "{{changedFields}}", "ts": "{{timestamp}}"}, Scope{Record: map[string]any{"a": 1}})
	require.NoError(t, err)
	assert.Equal(t, []any{}, got["c"], "no previous record, no changed fields")
	assert.Nil(t, got["ts"], "zero timestamp renders null")

	_, err = RenderConfig(map[string]any{"a": map[string]any{"b": "{{ secrets.x }}"}}, Scope{})
	assert.EqualError(t, err, `a.b: {{secrets.x}}: unknown root "secrets"`)
	_, err = RenderConfig(map[string]any{"a": "{{record"}, Scope{})
	assert.ErrorContains(t, err, "a: unterminated placeholder")

	got, err = RenderConfig(nil, Scope{})
	require.NoError(t, err)
	assert.Nil(t, got)
}
