package trigger

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/triggerd/triggerd/run"
)

// limitsDoc is a valid trigger document with the given condition, when
// and actions.
func limitsDoc(t *testing.T, cond any, when string, actions []any) []byte {
	t.Helper()
	doc := map[string]any{"tag": "limited", "tables": []any{"users"}, "events": []any{"afterInsert"}, "actions": actions}
	if cond != nil {
		doc["condition"] = cond
	}
	if when != "" {
		doc["when"] = when
	}
	b, err := json.Marshal(doc)
	require.NoError(t, err)
	return b
}

func logActions(n int) []any {
	out := make([]any, n)
	for i := range out {
		out[i] = map[string]any{"type": "log", "name": fmt.Sprintf("a%d", i), "config": map[string]any{"message": "hi"}}
	}
	return out
}

// flatConditions is an and of n comparisons (n+1 nodes).
func flatConditions(n int) map[string]any {
	l := make([]any, n)
	for i := range l {
		l[i] = map[string]any{"field": "id", "operator": "greaterThan", "value": i}
	}
	return map[string]any{"and": l}
}

// nestedConditions is depth nots around one comparison.
func nestedConditions(depth int) map[string]any {
	c := map[string]any{"field": "id", "operator": "greaterThan", "value": 1}
	for range depth - 1 {
		c = map[string]any{"not": c}
	}
	return c
}

// problemsOf parses doc with opts and returns its problems as
// "field: reason" lines (none when it is valid).
func problemsOf(t *testing.T, doc []byte, opts ...Option) []string {
	t.Helper()
	d, err := ParseDocument(doc, opts...)
	if err == nil {
		err = ValidateDefinition(d, opts...)
	}
	if err == nil {
		return nil
	}
	ve, ok := err.(*ValidationError)
	require.True(t, ok, "%T: %v", err, err)
	var out []string
	for _, p := range ve.Problems {
		out = append(out, p.Field+": "+p.Reason)
	}
	return out
}

// TestDefinitionLimits: each limit refuses a definition over it with the
// field and the limit's key, lets one at the limit through, and follows
// WithLimits.
func TestDefinitionLimits(t *testing.T) {
	long := strings.Repeat("x", DefaultMaxTemplateBytes+1)
	cases := []struct {
		name      string
		over, at  []byte
		want      string
		raised    Limits
		overRaise []byte // still over the raised limit
	}{
		{
			name: "conditions",
			over: limitsDoc(t, flatConditions(DefaultMaxConditions), "", logActions(1)),
			at:   limitsDoc(t, flatConditions(DefaultMaxConditions-1), "", logActions(1)),
			want: "condition: 257 conditions exceed the limit of 256 (triggers.limits.maxConditions)",
		},
		{
			name: "depth",
			over: limitsDoc(t, nestedConditions(DefaultMaxDepth+1), "", logActions(1)),
			at:   limitsDoc(t, nestedConditions(DefaultMaxDepth), "", logActions(1)),
			want: "condition: nested 17 deep, more than the limit of 16 (triggers.limits.maxDepth)",
		},
		{
			name: "actions",
			over: limitsDoc(t, nil, "", logActions(DefaultMaxActions+1)),
			at:   limitsDoc(t, nil, "", logActions(DefaultMaxActions)),
			want: "actions: 33 actions exceed the limit of 32 (triggers.limits.maxActions)",
		},
		{
			name: "when size",
			over: limitsDoc(t, nil, "record.id > 0"+strings.Repeat(" ", DefaultMaxWhenBytes), logActions(1)),
			at:   limitsDoc(t, nil, "record.id > 0"+strings.Repeat(" ", DefaultMaxWhenBytes-13), logActions(1)),
			want: "when: 4109 bytes exceed the limit of 4096 (triggers.limits.maxWhenBytes)",
		},
		{
			name: "template size",
			over: limitsDoc(t, nil, "", []any{map[string]any{"type": "log", "config": map[string]any{"message": long}}}),
			at:   limitsDoc(t, nil, "", []any{map[string]any{"type": "log", "config": map[string]any{"message": long[1:]}}}),
			want: "actions[0].config.message: 65537 bytes exceed the limit of 65536 (triggers.limits.maxTemplateBytes)",
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			assert.Contains(t, problemsOf(t, c.over), c.want)
			assert.Empty(t, problemsOf(t, c.at))
			// Raised limits let the bigger definition through; lowered
			// ones refuse the smaller.
			assert.Empty(t, problemsOf(t, c.over, WithLimits(Limits{MaxConditions: 1000, MaxDepth: 100, MaxActions: 100, MaxWhenBytes: 1 << 20, MaxTemplateBytes: 1 << 20})))
			assert.NotEmpty(t, problemsOf(t, c.at, WithLimits(Limits{MaxConditions: 2, MaxDepth: 2, MaxActions: 1, MaxWhenBytes: 10, MaxTemplateBytes: 10})))
		})
	}
}

// TestTenThousandConditionsRefused is the case: such a trigger is
// refused by every loader (the API's ParseDocument, files, NewSet).
func TestTenThousandConditionsRefused(t *testing.T) {
	doc := limitsDoc(t, flatConditions(10_000), "", logActions(1))
	assert.Contains(t, problemsOf(t, doc), "condition: 10001 conditions exceed the limit of 256 (triggers.limits.maxConditions)")
	defs, err := Parse(doc, "big.json")
	require.NoError(t, err, "structurally fine")
	_, err = NewSet(defs)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "big.json: trigger \"limited\": condition: 10001 conditions exceed")
	d := Definition{Tag: "big", Tables: []string{"users"}, Events: []string{"afterInsert"}, Actions: []Action{{Type: "log", Config: map[string]any{"message": "m"}}}}
	d.Condition = &Condition{}
	for i := range 300 {
		d.Condition.And = append(d.Condition.And, &Condition{Field: "id", Operator: OpGreaterThan, Value: i, HasValue: true})
	}
	_, err = NewSet([]Definition{d})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "301 conditions exceed the limit of 256")
	reg := NewRegistry(WithLimits(Limits{MaxConditions: 1000}))
	require.NoError(t, reg.Replace([]Definition{d}), "a registry with raised limits loads it")
}

// TestWhenCostLimit: an expression whose cheapest evaluation is over the
// cost limit is refused at load; one that only may be is bounded at run
// time, where it evaluates to false with the reason.
func TestWhenCostLimitIsConfigurable(t *testing.T) {
	// A literal list's comprehension costs at least its length.
	big := "[" + strings.TrimSuffix(strings.Repeat("1,", 600), ",") + "].all(x, x == 1)"
	lim := WithLimits(Limits{MaxWhenCost: 500})
	assert.Contains(t, strings.Join(problemsOf(t, limitsDoc(t, nil, big, logActions(1)), lim), "\n"),
		"more than the limit of 500 (triggers.limits.maxWhenCost)")
	assert.Empty(t, problemsOf(t, limitsDoc(t, nil, big, logActions(1))), "within the default")

	// Iterating over the record is cheap or not depending on the record.
	doc := limitsDoc(t, nil, "record.tags.all(t, t != 'x')", logActions(1))
	d, err := ParseDocument(doc, lim)
	require.NoError(t, err)
	set, err := NewSet([]Definition{d}, lim)
	require.NoError(t, err)
	tags := make([]any, 2000)
	for i := range tags {
		tags[i] = "a"
	}
	insert := func(rec map[string]any) run.Event {
		return run.Event{Table: "users", Operation: run.OperationInsert, Record: rec}
	}
	rep := set.Test(insert(map[string]any{"tags": tags}))
	require.Len(t, rep.Triggers, 1)
	assert.False(t, rep.Triggers[0].Matched)
	require.NotNil(t, rep.Triggers[0].When)
	assert.Contains(t, rep.Triggers[0].When.Reason, "cost limit")
	rep = set.Test(insert(map[string]any{"tags": []any{"a"}}))
	assert.True(t, rep.Triggers[0].Matched, "%+v", rep.Triggers[0])
}
