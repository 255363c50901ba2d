package trigger

import (
	"os"
	"testing"

	"github.com/segmentio/kafka-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/triggerd/triggerd/ingest"
	"github.com/triggerd/triggerd/run"
)

// TestOperatorsAwkwardValues runs structured operators over Debezium
// decimals, date strings, nested arrays and nulls.
func TestOperatorsAwkwardValues(t *testing.T) {
	rec := map[string]any{
		"amount": dec("12.50"), "neg": dec("-5.00"), "day": "2026-01-02", "at": "2026-01-02T10:00:00.5Z",
		"matrix": []any{[]any{1, 2}, []any{3, map[string]any{"k": nil}}}, "nums": []any{"1", 2.0},
		"nil": nil, "str": "12.50",
	}
	ev := run.Event{Table: "t", Operation: run.OperationUpdate, Record: rec,
		PreviousRecord: map[string]any{"amount": dec("12.5"), "day": "2026-01-01", "matrix": []any{[]any{1, 2}, []any{3, map[string]any{}}}}}
	tests := []struct {
		cond   string
		want   bool
		reason string
	}{
		{"{field: amount, operator: EQUALS, value: 12.5}", true, ""},
		{"{field: amount, operator: EQUALS, value: '12.50'}", true, ""},
		{"{field: amount, operator: GREATER_THAN, value: 12}", true, ""},
		{"{field: amount, operator: LESS_THAN, value: '12.6'}", true, ""},
		{"{field: neg, operator: LESS_THAN, value: 0}", true, ""},
		{"{field: amount, operator: IN, value: [1, 12.5]}", true, ""},
		{"{field: amount, operator: NOT_CHANGED}", true, ""}, // 12.50 vs 12.5: same number
		{"{field: str, operator: EQUALS, value: 12.5}", true, ""},
		{"{field: str, operator: GREATER_THAN, value: '9'}", true, ""},
		{"{field: day, operator: LESS_THAN, value: '2026-01-02T00:00:01Z'}", true, ""},
		{"{field: day, operator: EQUALS, value: '2026-01-02T00:00:00Z'}", true, ""},
		{"{field: at, operator: GREATER_THAN, value: '2026-01-02T10:00:00Z'}", true, ""},
		{"{field: day, operator: CHANGED_FROM, value: '2026-01-01'}", true, ""},
		{"{field: 'matrix[1][0]', operator: EQUALS, value: 3}", true, ""},
		{"{field: 'matrix[1][1].k', operator: IS_NULL}", true, ""},
		{"{field: 'matrix[1][1].k', operator: CHANGED}", false, ""}, // null vs missing: unchanged
		{"{field: 'matrix[5][0]', operator: IS_NULL}", true, ""},
		{"{field: 'matrix[0]', operator: CONTAINS, value: 2}", true, ""},
		{"{field: nums, operator: CONTAINS, value: 1}", true, ""},
		{"{field: matrix, operator: EQUALS, value: [[1, 2], [3, {k: null}]]}", true, ""},
		{"{field: nil, operator: GREATER_THAN, value: 1}", false, "field is null"},
		{"{field: nil, operator: STARTS_WITH, value: a}", false, "field is null"},
		{"{field: amount, operator: STARTS_WITH, value: '1'}", false, "STARTS_WITH needs a string, field is 12.50"},
		{"{field: day, operator: GREATER_THAN, value: 5}", false, `cannot order "2026-01-02" against 5`},
	}
	for _, tc := range tests {
		tr := evalOne(t, tc.cond, ev)
		assert.Equal(t, tc.want, tr.Result, tc.cond)
		assert.Contains(t, tr.Reason, tc.reason, tc.cond)
	}
}

// TestExampleDebeziumDecimalEvent dry-runs the sample triggers against the
// sample update whose total is a Debezium binary decimal, decoded as
// ingest decodes it.
func TestExampleDebeziumDecimalEvent(t *testing.T) {
	data, err := os.ReadFile("../examples/events/order-cancel.debezium.json")
	require.NoError(t, err)
	evs, err := ingest.Decode(kafka.Message{Topic: "dbserver1.public.orders", Value: data}, ingest.DecodeOptions{})
	require.NoError(t, err)
	require.Len(t, evs, 1)
	ev := evs[0]
	s, err := Load("../examples/triggers")
	require.NoError(t, err)
	rep := s.Test(ev)
	assert.Equal(t, []string{"order-cancelled"}, rep.Matched)
	tr := evalOne(t, "{and: [{field: total, operator: EQUALS, value: 129.9}, {field: total, operator: NOT_CHANGED}, {field: total, operator: GREATER_THAN, value: '100'}]}", ev)
	assert.True(t, tr.Result, "%+v", tr)
}

// dec is a decimal as ingest decodes it (run.Decimal).
func dec(text string) run.Decimal {
	d, err := run.ParseDecimal(text)
	if err != nil {
		panic(err)
	}
	return d
}
