package value

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/triggerd/triggerd/run"
)

// dec is a decimal as ingest decodes it (run.Decimal).
func dec(text string) run.Decimal {
	d, err := run.ParseDecimal(text)
	if err != nil {
		panic(err)
	}
	return d
}

// TestComparisonRules is the table of docs/triggers.md, "Comparison rules".
func TestComparisonRules(t *testing.T) {
	eq := []struct {
		a, b any
		want bool
	}{
		{nil, nil, true},
		{nil, 0, false},
		{nil, "", false},
		{12.5, "12.50", true},           // number vs numeric string
		{"12.50", "12.5", false},        // two strings compare as strings
		{3, 3.0, true},                  // int vs float
		{json.Number("100"), 100, true}, // json.Number
		{dec("12.50"), 12.5, true},      // decimal vs number
		{dec("12.50"), "12.5", true},    // decimal vs numeric string
		{dec("12.50"), dec("12.5"), true},
		{dec("9.99"), 9.99, true},
		{dec("12.50"), 12.51, false},
		{json.Number("0.1"), 0.1, true}, // a float is the decimal it prints as
		{dec("0.30"), 0.3, true},
		{json.Number("12345678901234567890.01"), json.Number("12345678901234567890.02"), false}, // exact beyond float64
		{json.Number("9007199254740993"), 9007199254740992, false},                              // past 2^53
		{time.Date(2026, 1, 2, 10, 0, 0, 0, time.UTC), "2026-01-02T11:00:00+01:00", true},
		{true, "true", false},
		{"2026-01-02T11:00:00+01:00", "2026-01-02T10:00:00Z", true},
		{"2026-01-02T10:00:00.000Z", "2026-01-02T10:00:00Z", true},
		{"2026-01-02", "2026-01-02T00:00:00Z", true},
		{"2026-01-02", "2026-01-03", false},
		{"abc", "ABC", false},
		{[]any{1, "a"}, []any{1.0, "a"}, true},
		{[]any{1}, []any{1, 2}, false},
		{map[string]any{"a": []any{1}}, map[string]any{"a": []any{1.0}}, true},
		{map[string]any{"a": 1}, map[string]any{"b": 1}, false},
		{"abc", 1, false},
	}
	for _, tc := range eq {
		assert.Equal(t, tc.want, Equal(tc.a, tc.b), "%v == %v", tc.a, tc.b)
		assert.Equal(t, tc.want, Equal(tc.b, tc.a), "%v == %v (swapped)", tc.b, tc.a)
	}
	ord := []struct {
		a, b any
		want int
		why  string
	}{
		{10, 9.5, 1, ""},
		{"9.99", "12.50", -1, ""}, // numeric strings order numerically
		{"9.99", 12, -1, ""},
		{dec("9.99"), dec("12.50"), -1, ""},
		{dec("-1.00"), 0, -1, ""},
		{dec("1234.50"), 1000, 1, ""},
		{json.Number("12345678901234567890.02"), dec("12345678901234567890.01"), 1, ""},
		{time.Date(2024, 1, 15, 10, 0, 0, 0, time.UTC), "2024-01-01", 1, ""},
		{"NaN", "apple", -1, ""}, // words, not numbers
		{"2026-01-02T10:00:00Z", "2026-01-02T09:00:00-02:00", -1, ""}, // instants, not text
		{"2026-01-02", "2026-01-01T23:59:59Z", 1, ""},
		{"apple", "banana", -1, ""},
		{nil, 1, 0, "field is null"},
		{1, nil, 0, "value is null"},
		{"abc", 10, 0, `cannot order "abc" against 10`},
		{true, false, 0, "cannot order true against false"},
		{[]any{1}, 1, 0, "cannot order list of 1 against 1"},
		{"2026-01-02T10:00:00Z", 5, 0, `cannot order "2026-01-02T10:00:00Z" against 5`},
		{dec("1.5"), "abc", 0, `cannot order 1.5 against "abc"`},
	}
	for _, tc := range ord {
		got, why := Compare(tc.a, tc.b)
		assert.Equal(t, tc.why, why, "%v <=> %v", tc.a, tc.b)
		if tc.why == "" {
			assert.Equal(t, tc.want, got, "%v <=> %v", tc.a, tc.b)
		}
	}
}

func TestToTime(t *testing.T) {
	for s, ok := range map[string]bool{
		"2026-01-02T10:00:00Z": true, "2026-01-02T10:00:00.123456789+02:00": true, "2026-01-02": true,
		"2026-13-02": false, "2026-01-02 10:00:00": false, "20260102": false, "12.5": false, "": false, "1735689600000": false,
	} {
		_, got := Time(s)
		assert.Equal(t, ok, got, s)
	}
	_, got := Time(1735689600000)
	assert.False(t, got, "epoch numbers are numbers")
}
