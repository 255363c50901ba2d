package template

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/triggerd/triggerd/run"
)

func fullScope() Scope {
	return Scope{
		Record:         map[string]any{"id": 7, "name": "Ada Lovelace", "padded": "  Ada \t", "email": "ada+x@example.com", "nickname": nil, "items": []any{map[string]any{"sku": "X1"}}, "status": "paid"},
		PreviousRecord: map[string]any{"id": 7, "name": "Ada", "padded": "  Ada \t", "email": "ada+x@example.com", "status": "pending"},
		Event:          "afterUpdate", Table: "users", Database: "app", Operation: "update", Env: "staging",
		Timestamp: time.Date(2026, 1, 2, 10, 0, 0, 0, time.UTC), User: map[string]any{"id": "u1"},
		Trigger: run.TriggerRef{Tag: "t", Name: "T", Version: 3}, RunID: "triggerd/t/e1",
		Actions: map[string]any{"first": map[string]any{"output": map[string]any{"status": 201, "body": map[string]any{"id": "x"}}}},
	}
}

// TestEveryPlaceholder covers the Ductape list and triggerd's additions.
func TestEveryPlaceholder(t *testing.T) {
	tests := []struct {
		in   string
		want any
	}{
		{"{{record.id}}", 7},
		{"{{record.items[0].sku}}", "X1"},
		{"{{previousRecord.name}}", "Ada"},
		{"{{event}}", "afterUpdate"},
		{"{{table}}", "users"},
		{"{{database}}", "app"},
		{"{{env}}", "staging"},
		{"{{timestamp}}", "2026-01-02T10:00:00Z"},
		{"{{operation}}", "update"},
		{"{{user.id}}", "u1"},
		{"{{changedFields}}", []any{"items", "name", "status"}}, // nickname: null vs missing is no change
		{"changed: {{changedFields}}", `changed: ["items","name","status"]`},
		{"{{trigger.tag}}", "t"},
		{"{{trigger.name}}", "T"},
		{"{{trigger.version}}", int64(3)},
		{"{{run.id}}", "triggerd/t/e1"},
		{"{{actions.first.output.status}}", 201},
		{"{{actions.first.output.body}}", map[string]any{"id": "x"}},
		{"id={{ record.id }}&n={{record.name}}", "id=7&n=Ada Lovelace"},
	}
	sc := fullScope()
	for _, tc := range tests {
		got, notes, err := RenderConfigTrace(map[string]any{"v": tc.in}, sc)
		require.NoError(t, err, tc.in)
		assert.Empty(t, notes, tc.in)
		assert.Equal(t, tc.want, got["v"], tc.in)
	}
}

func TestTemplateFunctions(t *testing.T) {
	tests := []struct {
		in   string
		want any
	}{
		{"{{ record.email | urlencode }}", "ada%2Bx%40example.com"},
		{"https://x.test/?e={{record.email|urlencode}}", "https://x.test/?e=ada%2Bx%40example.com"},
		{"{{ record.items | json }}", `[{"sku":"X1"}]`},
		{"{{ record.nickname | json }}", "null"},
		{"{{ record.nickname | default \"friend\" }}", "friend"},
		{"{{ record.missing | default 'a | b' }}", "a | b"},
		{"{{ record.missing | default 0 }}", 0},
		{"{{ record.name | default \"x\" }}", "Ada Lovelace"},
		{"{{ record.name | upper }}", "ADA LOVELACE"},
		{"{{ record.name | lower }}", "ada lovelace"},
		{"{{ record.padded | trim }}", "Ada"},
		{"{{ record.padded | trim | upper }}", "ADA"},
		{"{{ record.missing | trim }}", nil},
		{"{{ record.nickname | default \"Friend\" | upper | urlencode }}", "FRIEND"},
		{"Hi {{ record.nickname | default \"friend\" | upper }}!", "Hi FRIEND!"},
		{"{{ record.id | upper }}", "7"},
		{"{{ record.missing | upper }}", nil},
		{`{{ record["odd|key"] | default "k" }}`, "k"},
	}
	sc := fullScope()
	for _, tc := range tests {
		got, err := RenderConfig(map[string]any{"v": tc.in}, sc)
		require.NoError(t, err, tc.in)
		assert.Equal(t, tc.want, got["v"], tc.in)
	}
}

func TestRenderNotesMissing(t *testing.T) {
	cfg := map[string]any{
		"url":  "https://x.test/{{record.nickname}}/{{record.missing}}",
		"body": map[string]any{"v": "{{previousRecord.gone}}", "l": []any{"{{user.id}}"}, "d": "{{record.gone | default 1}}"},
		"top":  "{{actions.first.output}}",
	}
	got, notes, err := RenderConfigTrace(cfg, Scope{Record: map[string]any{"nickname": nil}})
	require.NoError(t, err)
	assert.Equal(t, "https://x.test//", got["url"], "missing renders empty in strings")
	assert.Equal(t, map[string]any{"v": nil, "l": []any{nil}, "d": 1}, got["body"], "and null as whole values")
	assert.Equal(t, []string{
		"body.l[0]: user.id is missing",
		"body.v: previousRecord.gone is missing",
		"top: actions.first.output is missing",
		"url: record.missing is missing",
	}, notes, "a present null is not missing; a default silences the note")
}
