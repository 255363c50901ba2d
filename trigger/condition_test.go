package trigger

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/triggerd/triggerd/run"
)

// evalOne compiles one condition (YAML) and evaluates it against ev.
func evalOne(t *testing.T, cond string, ev run.Event) Trace {
	t.Helper()
	defs, err := Parse([]byte("tag: c\ntables: [t]\nevents: [afterWrite]\nactions: [{type: log, config: {message: m}}]\ncondition: "+cond), "c.yaml")
	require.NoError(t, err, cond)
	var list []Problem
	c := compileCondition(defs[0].Condition, "condition", problems{list: &list})
	require.Empty(t, list, cond)
	if ev.Operation == "" {
		ev.Operation = run.OperationInsert
	}
	return c.eval(evalEnv{ev: &ev, event: eventName(ev.Operation)})
}

func TestOperators(t *testing.T) {
	rec := map[string]any{
		"status": "active", "total": 12.5, "count": 3, "price": "12.50", "big": json.Number("100"),
		"name": "Ada Lovelace", "email": "ada@example.com", "tags": []any{"a", "b", 3},
		"empty": "", "none": nil, "list0": []any{}, "map0": map[string]any{},
		"items":   []any{map[string]any{"sku": "X1", "qty": 2}, map[string]any{"sku": "Y2", "qty": []any{1, 2}}},
		"created": "2026-01-02T10:00:00Z", "flag": true, "addr": map[string]any{"city": "London"},
	}
	ev := run.Event{Table: "t", Database: "app", Schema: "public", Record: rec, User: map[string]any{"id": "u1"}}
	tests := []struct {
		cond string
		want bool
	}{
		{"{field: status, operator: EQUALS, value: active}", true},
		{"{field: record.status, operator: equals, value: Active}", false},
		{"{field: total, operator: EQUALS, value: 12.5}", true},
		{"{field: price, operator: EQUALS, value: 12.5}", true},    // numeric string vs number
		{"{field: price, operator: EQUALS, value: '12.5'}", false}, // two strings compare as strings
		{"{field: big, operator: EQUALS, value: 100}", true},       // json.Number
		{"{field: count, operator: EQUALS, value: 3.0}", true},     // int vs float
		{"{field: count, operator: EQUALS, value: '3'}", true},     // number vs numeric string
		{"{field: flag, operator: EQUALS, value: true}", true},
		{"{field: flag, operator: EQUALS, value: 'true'}", false}, // no bool coercion
		{"{field: missing, operator: EQUALS, value: null}", true}, // missing is null
		{"{field: none, operator: EQUALS, value: null}", true},
		{"{field: status, operator: EQUALS, value: null}", false},
		{"{field: tags, operator: EQUALS, value: [a, b, 3.0]}", true}, // deep, numeric
		{"{field: addr, operator: EQUALS, value: {city: London}}", true},
		{"{field: created, operator: EQUALS, value: '2026-01-02T11:00:00+01:00'}", true}, // same instant
		{"{field: status, operator: NOT_EQUALS, value: cancelled}", true},
		{"{field: missing, operator: notEquals, value: cancelled}", true},
		{"{field: total, operator: NOT_EQUALS, value: '12.5'}", false},
		{"{field: total, operator: GREATER_THAN, value: 12}", true},
		{"{field: price, operator: GREATER_THAN, value: '9.99'}", true}, // numeric strings numerically
		{"{field: total, operator: GREATER_THAN, value: 12.5}", false},
		{"{field: total, operator: GREATER_THAN_OR_EQUALS, value: 12.5}", true},
		{"{field: count, operator: LESS_THAN, value: 10}", true},
		{"{field: count, operator: lessThanOrEquals, value: 3}", true},
		{"{field: created, operator: LESS_THAN, value: '2026-01-03T00:00:00Z'}", true},
		{"{field: name, operator: GREATER_THAN, value: Ada}", true},  // lexical
		{"{field: status, operator: GREATER_THAN, value: 3}", false}, // mismatch
		{"{field: missing, operator: LESS_THAN, value: 3}", false},   // null
		{"{field: tags, operator: GREATER_THAN, value: 3}", false},
		{"{field: status, operator: IN, value: [pending, active]}", true},
		{"{field: count, operator: IN, value: ['3', 4]}", true},
		{"{field: status, operator: IN, value: []}", false},
		{"{field: missing, operator: IN, value: [null]}", true},
		{"{field: status, operator: NOT_IN, value: [deleted, banned]}", true},
		{"{field: missing, operator: NOT_IN, value: [x]}", true},
		{"{field: status, operator: NOT_IN, value: [active]}", false},
		{"{field: name, operator: CONTAINS, value: Love}", true},
		{"{field: tags, operator: CONTAINS, value: b}", true},
		{"{field: tags, operator: CONTAINS, value: '3'}", true},
		{"{field: tags, operator: CONTAINS, value: z}", false},
		{"{field: 'items[1].qty', operator: CONTAINS, value: 2}", true}, // nested array
		{"{field: total, operator: CONTAINS, value: 2}", false},         // mismatch
		{"{field: missing, operator: CONTAINS, value: a}", false},
		{"{field: email, operator: STARTS_WITH, value: ada@}", true},
		{"{field: email, operator: ENDS_WITH, value: .org}", false},
		{"{field: count, operator: STARTS_WITH, value: '3'}", false}, // not a string
		{"{field: email, operator: MATCHES, value: '^[a-z]+@example\\.com$'}", true},
		{"{field: name, operator: matches, value: '^ada'}", false},
		{"{field: missing, operator: MATCHES, value: '.*'}", false},
		{"{field: none, operator: IS_NULL}", true},
		{"{field: missing, operator: IS_NULL}", true},
		{"{field: empty, operator: IS_NULL}", false},
		{"{field: 'items[5].sku', operator: IS_NULL}", true},
		{"{field: status.deeper, operator: IS_NULL}", true},
		{"{field: 'items[0].sku', operator: IS_NOT_NULL}", true},
		{"{field: 'record.items[0][\"sku\"]', operator: EQUALS, value: X1}", true},
		{"{field: flag, operator: IS_NOT_NULL, value: null}", true},
		{"{field: empty, operator: IS_EMPTY}", true},
		{"{field: list0, operator: IS_EMPTY}", true},
		{"{field: map0, operator: IS_EMPTY}", true},
		{"{field: missing, operator: IS_EMPTY}", true},
		{"{field: count, operator: IS_EMPTY}", false},
		{"{field: tags, operator: IS_NOT_EMPTY}", true},
		{"{field: table, operator: EQUALS, value: t}", true},
		{"{field: database, operator: EQUALS, value: app}", true},
		{"{field: schema, operator: EQUALS, value: public}", true},
		{"{field: operation, operator: EQUALS, value: insert}", true},
		{"{field: event, operator: EQUALS, value: afterInsert}", true},
		{"{field: user.id, operator: EQUALS, value: u1}", true},
		{"{and: [{field: status, operator: EQUALS, value: active}, {field: total, operator: GREATER_THAN, value: 10}]}", true},
		{"{and: [{field: status, operator: EQUALS, value: active}, {field: total, operator: GREATER_THAN, value: 100}]}", false},
		{"{or: [{field: status, operator: EQUALS, value: x}, {field: total, operator: GREATER_THAN, value: 10}]}", true},
		{"{or: [{field: status, operator: EQUALS, value: x}, {field: status, operator: EQUALS, value: y}]}", false},
		{"{not: {field: status, operator: EQUALS, value: deleted}}", true},
		{"{not: {or: [{field: flag, operator: EQUALS, value: true}]}}", false},
	}
	for _, tc := range tests {
		t.Run(tc.cond, func(t *testing.T) {
			tr := evalOne(t, tc.cond, ev)
			assert.Equal(t, tc.want, tr.Result, "%+v", tr)
		})
	}
}

func TestChangedFamily(t *testing.T) {
	upd := run.Event{Table: "t", Operation: run.OperationUpdate,
		Record:         map[string]any{"status": "cancelled", "total": 10.0, "meta": map[string]any{"v": 2}, "same": "x"},
		PreviousRecord: map[string]any{"status": "paid", "total": "10", "meta": map[string]any{"v": 1}, "same": "x"}}
	ins := run.Event{Table: "t", Operation: run.OperationInsert, Record: upd.Record}
	noBefore := run.Event{Table: "t", Operation: run.OperationUpdate, Record: upd.Record}
	tests := []struct {
		name string
		ev   run.Event
		cond string
		want bool
	}{
		{"changed", upd, "{field: status, operator: CHANGED}", true},
		{"changed nested", upd, "{field: record.meta.v, operator: CHANGED}", true},
		{"numeric forms are not a change", upd, "{field: total, operator: CHANGED}", false},
		{"not changed", upd, "{field: same, operator: NOT_CHANGED}", true},
		{"not changed false", upd, "{field: status, operator: NOT_CHANGED}", false},
		{"changed to", upd, "{field: status, operator: CHANGED_TO, value: cancelled}", true},
		{"changed to other", upd, "{field: status, operator: changedTo, value: refunded}", false},
		{"changed from", upd, "{field: status, operator: CHANGED_FROM, value: paid}", true},
		{"changed from via previousRecord path", upd, "{field: previousRecord.status, operator: CHANGED_FROM, value: paid}", true},
		{"unchanged is not changed to", upd, "{field: same, operator: CHANGED_TO, value: x}", false},
		{"appeared", upd, "{field: newcol, operator: CHANGED}", false},
		{"insert never changed", ins, "{field: status, operator: CHANGED}", false},
		{"insert never not changed", ins, "{field: status, operator: NOT_CHANGED}", false},
		{"insert never changed to", ins, "{field: status, operator: CHANGED_TO, value: cancelled}", false},
		{"update without before image", noBefore, "{field: status, operator: CHANGED}", false},
		{"example condition", upd, "{and: [{field: record.status, operator: CHANGED_TO, value: cancelled}, {field: previousRecord.status, operator: NOT_EQUALS, value: cancelled}]}", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tr := evalOne(t, tc.cond, tc.ev)
			assert.Equal(t, tc.want, tr.Result, "%+v", tr)
		})
	}
}

func TestTrace(t *testing.T) {
	ev := run.Event{Table: "t", Operation: run.OperationInsert, Record: map[string]any{"status": "active", "total": "abc"}}
	tr := evalOne(t, "{and: [{field: status, operator: EQUALS, value: active}, {field: total, operator: GREATER_THAN, value: 10}, {field: x, operator: IS_NULL}]}", ev)
	assert.False(t, tr.Result)
	require.Len(t, tr.Children, 2, "and stops at the first false")
	assert.Equal(t, `status EQUALS "active"`, tr.Children[0].Condition)
	assert.True(t, tr.Children[0].Result)
	assert.Equal(t, "total GREATER_THAN 10", tr.Children[1].Condition)
	assert.Equal(t, `cannot order "abc" against 10`, tr.Children[1].Reason)
	assert.Equal(t, "abc", tr.Children[1].Actual)
	assert.Contains(t, tr.Reason, "total GREATER_THAN 10")

	tr = evalOne(t, "{field: status, operator: CHANGED}", ev)
	assert.Equal(t, "CHANGED applies to updates only (operation is insert)", tr.Reason)
}

func TestNormalizeOperator(t *testing.T) {
	for in, want := range map[string]string{"equals": OpEquals, "notEquals": OpNotEquals, "GREATER_THAN_OR_EQUALS": OpGreaterThanOrEquals,
		"greaterThanOrEquals": OpGreaterThanOrEquals, "changedTo": OpChangedTo, "is_not_empty": OpIsNotEmpty, "in": OpIn} {
		got, ok := NormalizeOperator(in)
		assert.True(t, ok, in)
		assert.Equal(t, want, got, in)
	}
	assert.Len(t, operators, 20)
}
