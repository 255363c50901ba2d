package trigger

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/triggerd/triggerd/run"
	"github.com/triggerd/triggerd/trigger/template"
)

func planTags(s *Set, ev run.Event) []string {
	var out []string
	for _, in := range s.Plan(ev) {
		out = append(out, in.Trigger.Tag+"/"+in.EventName)
	}
	return out
}

func TestPlanTablesEventsPriority(t *testing.T) {
	s := mustSet(t, `
triggers:
  - {tag: bare, tables: [users], events: [afterInsert], actions: [{type: log, config: {message: m}}]}
  - {tag: schema, tables: [public.users], events: [afterInsert], priority: 5, actions: [{type: log, config: {message: m}}]}
  - {tag: db, tables: [app.users], events: [afterInsert], priority: 5, actions: [{type: log, config: {message: m}}]}
  - {tag: full, tables: [app.audit.users], events: [afterInsert], actions: [{type: log, config: {message: m}}]}
  - {tag: write, name: Any write, tables: [USERS, orders], events: [afterWrite], priority: 1, actions: [{type: log, config: {message: m}}]}
  - {tag: a-update, tables: [users], events: [afterUpdate, afterDelete], actions: [{type: log, config: {message: m}}]}
  - {tag: before, tables: [users], events: [beforeInsert, beforeWrite], set: [{field: role, value: member}]}
  - {tag: off, enabled: false, tables: [users], events: [afterInsert], actions: [{type: log, config: {message: m}}]}
  - {tag: cond, tables: [users], events: [afterInsert], priority: 100, condition: {field: role, operator: EQUALS, value: admin}, actions: [{type: log, config: {message: m}}]}
`)
	tests := []struct {
		name string
		ev   run.Event
		want []string
	}{
		{"insert public", run.Event{Database: "app", Schema: "public", Table: "users", Operation: run.OperationInsert},
			[]string{"write/afterInsert", "db/afterInsert", "schema/afterInsert", "bare/afterInsert"}},
		{"insert other schema", run.Event{Database: "other", Schema: "audit", Table: "users", Operation: run.OperationInsert},
			[]string{"write/afterInsert", "bare/afterInsert"}},
		{"insert full qualification", run.Event{Database: "app", Schema: "audit", Table: "Users", Operation: run.OperationInsert},
			[]string{"write/afterInsert", "db/afterInsert", "bare/afterInsert", "full/afterInsert"}},
		{"insert with condition", run.Event{Table: "users", Operation: run.OperationInsert, Record: map[string]any{"role": "admin"}},
			[]string{"write/afterInsert", "bare/afterInsert", "cond/afterInsert"}},
		{"update", run.Event{Table: "users", Operation: run.OperationUpdate}, []string{"write/afterUpdate", "a-update/afterUpdate"}},
		{"delete", run.Event{Table: "users", Operation: run.OperationDelete}, []string{"write/afterDelete", "a-update/afterDelete"}},
		{"other table", run.Event{Table: "orders", Operation: run.OperationDelete}, []string{"write/afterDelete"}},
		{"unknown table", run.Event{Table: "nope", Operation: run.OperationInsert}, nil},
		{"snapshot read", run.Event{Table: "users", Operation: run.OperationRead}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, planTags(s, tc.ev))
		})
	}
	in := s.Plan(run.Event{ID: "e", Table: "orders", Operation: run.OperationInsert})
	require.Len(t, in, 1)
	assert.Equal(t, run.TriggerRef{Tag: "write", Name: "Any write", Version: 0}, in[0].Trigger)
	assert.Equal(t, "e", in[0].Event.ID)
	assert.Len(t, s.Definitions(), 9)
	assert.Empty(t, s.Warnings(), "before-triggers run in the gate, so they are no longer warned about")
}

func TestMatchExplains(t *testing.T) {
	s := mustSet(t, `
- {tag: a, tables: [users], events: [afterInsert], condition: {field: n, operator: GREATER_THAN, value: 5}, actions: [{type: log, config: {message: m}}]}
- {tag: b, tables: [orders], events: [afterInsert], actions: [{type: log, config: {message: m}}]}
- {tag: c, tables: [users], events: [afterDelete], actions: [{type: log, config: {message: m}}]}
`)
	res := s.Match(run.Event{Table: "users", Operation: run.OperationInsert, Record: map[string]any{"n": 3}})
	require.Len(t, res, 3)
	assert.False(t, res[0].Matched)
	assert.Equal(t, "condition is false", res[0].Reason)
	require.NotNil(t, res[0].Condition)
	assert.Equal(t, "n GREATER_THAN 5", res[0].Condition.Condition)
	assert.Equal(t, "table users is not one of orders", res[1].Reason)
	assert.Equal(t, "event afterInsert is not one of afterDelete", res[2].Reason)
}

// benchSet builds n triggers over 10 tables with a mix of conditions.
func benchSet(b *testing.B, n int) *Set {
	var sb strings.Builder
	sb.WriteString("triggers:\n")
	for i := 0; i < n; i++ {
		fmt.Fprintf(&sb, `  - tag: t-%03d
    tables: [public.table%d]
    events: [%s]
    priority: %d
    condition:
      and:
        - {field: record.status, operator: IN, value: [active, pending, paid]}
        - {field: record.total, operator: GREATER_THAN, value: %d}
        - {or: [{field: record.email, operator: ENDS_WITH, value: .com}, {field: 'record.items[0].sku', operator: MATCHES, value: '^X'}]}
    actions:
      - {type: http, config: {url: "https://hooks.example.com/{{record.id}}", body: {r: "{{record}}"}}}
      - {type: log, config: {message: "done {{record.id}}"}}
`, i, i%10, []string{"afterInsert", "afterWrite", "afterUpdate"}[i%3], i%7, i%50)
	}
	defs, err := Parse([]byte(sb.String()), "bench.yaml")
	require.NoError(b, err)
	s, err := NewSet(defs)
	require.NoError(b, err)
	return s
}

func BenchmarkPlan(b *testing.B) {
	s := benchSet(b, 50)
	ev := run.Event{ID: "e", Schema: "public", Table: "table3", Operation: run.OperationInsert,
		Record: map[string]any{"id": 1, "status": "paid", "total": "42.50", "email": "a@b.com",
			"items": []any{map[string]any{"sku": "X1"}}}}
	if len(s.Plan(ev)) == 0 {
		b.Fatal("nothing matched")
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		s.Plan(ev)
	}
}

func BenchmarkRenderConfig(b *testing.B) {
	s := benchSet(b, 1)
	cfg := s.Definitions()[0].Actions[0].Config
	sc := template.Scope{Record: map[string]any{"id": 1, "status": "paid", "total": 42.5}}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, err := template.RenderConfig(cfg, sc); err != nil {
			b.Fatal(err)
		}
	}
}
