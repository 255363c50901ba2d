package trigger

import (
	"encoding/base64"
	"encoding/json"
	"math/big"
	"testing"

	"github.com/stretchr/testify/assert"
)

// dec builds a Debezium binary decimal from an unscaled value and a scale.
func dec(unscaled int64, scale int) map[string]any {
	n := big.NewInt(unscaled)
	var b []byte
	if n.Sign() >= 0 {
		b = n.Bytes()
		if len(b) == 0 || b[0]&0x80 != 0 {
			b = append([]byte{0}, b...)
		}
	} else {
		// two's complement in the fewest bytes
		size := (n.BitLen() + 8) / 8
		m := new(big.Int).Add(new(big.Int).Lsh(big.NewInt(1), uint(8*size)), n)
		b = m.FillBytes(make([]byte, size))
	}
	return map[string]any{"scale": scale, "value": base64.StdEncoding.EncodeToString(b)}
}

func TestDecodeDecimal(t *testing.T) {
	tests := []struct {
		in   map[string]any
		want float64
		ok   bool
	}{
		{dec(1250, 2), 12.5, true},
		{dec(-1, 0), -1, true},
		{dec(-12345, 3), -12.345, true},
		{dec(128, 0), 128, true}, // needs a leading zero byte
		{dec(0, 2), 0, true},
		{map[string]any{"scale": 2, "value": "AQ=="}, 0.01, true},
		{map[string]any{"scale": 0, "value": "/w=="}, -1, true},
		{map[string]any{"scale": json.Number("1"), "value": "AQ=="}, 0.1, true},
		{map[string]any{"scale": 2.0, "value": "AQ=="}, 0.01, true},
		{map[string]any{"scale": -2, "value": "AQ=="}, 100, true},
		{map[string]any{"scale": 2, "value": "not base64!"}, 0, false},
		{map[string]any{"scale": 2, "value": ""}, 0, false},
		{map[string]any{"scale": "2", "value": "AQ=="}, 0, false},
		{map[string]any{"scale": 2.5, "value": "AQ=="}, 0, false},
		{map[string]any{"scale": 2, "value": "AQ==", "x": 1}, 0, false},
		{map[string]any{"value": "AQ=="}, 0, false},
	}
	for _, tc := range tests {
		got, ok := decodeDecimal(tc.in)
		assert.Equal(t, tc.ok, ok, "%v", tc.in)
		assert.InDelta(t, tc.want, got, 1e-12, "%v", tc.in)
	}
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
		{dec(1250, 2), 12.5, true},      // Debezium decimal vs number
		{dec(1250, 2), "12.5", true},    // Debezium decimal vs numeric string
		{dec(1250, 2), dec(125, 1), true},
		{map[string]any{"scale": 2, "value": "BOI="}, 12.5, true}, // the docs' table
		{map[string]any{"scale": 2, "value": "A+c="}, 9.99, true},
		{dec(1250, 2), 12.51, false},
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
		assert.Equal(t, tc.want, valuesEqual(tc.a, tc.b), "%v == %v", tc.a, tc.b)
		assert.Equal(t, tc.want, valuesEqual(tc.b, tc.a), "%v == %v (swapped)", tc.b, tc.a)
	}
	ord := []struct {
		a, b any
		want int
		why  string
	}{
		{10, 9.5, 1, ""},
		{"9.99", "12.50", -1, ""}, // numeric strings order numerically
		{"9.99", 12, -1, ""},
		{dec(999, 2), dec(1250, 2), -1, ""},
		{dec(-100, 2), 0, -1, ""},
		{"2026-01-02T10:00:00Z", "2026-01-02T09:00:00-02:00", -1, ""}, // instants, not text
		{"2026-01-02", "2026-01-01T23:59:59Z", 1, ""},
		{"apple", "banana", -1, ""},
		{nil, 1, 0, "field is null"},
		{1, nil, 0, "value is null"},
		{"abc", 10, 0, `cannot order "abc" against 10`},
		{true, false, 0, "cannot order true against false"},
		{[]any{1}, 1, 0, "cannot order list of 1 against 1"},
		{"2026-01-02T10:00:00Z", 5, 0, `cannot order "2026-01-02T10:00:00Z" against 5`},
	}
	for _, tc := range ord {
		got, why := compareValues(tc.a, tc.b)
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
		_, got := toTime(s)
		assert.Equal(t, ok, got, s)
	}
	_, got := toTime(1735689600000)
	assert.False(t, got, "epoch numbers are numbers")
}
