package trigger

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"
	"time"
)

// toNumber reads v as a number whatever its JSON form: Go numeric types,
// json.Number, numeric strings ("12.50") and, through decodeDecimal, a
// Debezium decimal. NaN and infinities are not numbers here.
func toNumber(v any) (float64, bool) {
	var f float64
	switch x := v.(type) {
	case float64:
		f = x
	case float32:
		f = float64(x)
	case int:
		f = float64(x)
	case int8:
		f = float64(x)
	case int16:
		f = float64(x)
	case int32:
		f = float64(x)
	case int64:
		f = float64(x)
	case uint:
		f = float64(x)
	case uint8:
		f = float64(x)
	case uint16:
		f = float64(x)
	case uint32:
		f = float64(x)
	case uint64:
		f = float64(x)
	case json.Number:
		g, err := x.Float64()
		if err != nil {
			return 0, false
		}
		f = g
	case string:
		s := strings.TrimSpace(x)
		if s == "" || s != x {
			return 0, false
		}
		g, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return 0, false
		}
		f = g
	case map[string]any:
		return decodeDecimal(x)
	default:
		return 0, false
	}
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, false
	}
	return f, true
}

// decodeDecimal reads Debezium's binary decimal encoding (decimal.handling.mode
// =precise, and VariableScaleDecimal): {"scale": 2, "value": "<base64 of the
// unscaled value, big-endian two's complement>"}. "AQ==" with scale 2 is
// 0.01; "/w==" with scale 0 is -1. Any other map is not a number.
func decodeDecimal(m map[string]any) (float64, bool) {
	if len(m) != 2 {
		return 0, false
	}
	s, ok := m["value"].(string)
	if !ok {
		return 0, false
	}
	var scale int64
	switch x := m["scale"].(type) {
	case int:
		scale = int64(x)
	case int64:
		scale = x
	case float64:
		if x != math.Trunc(x) {
			return 0, false
		}
		scale = int64(x)
	case json.Number:
		n, err := x.Int64()
		if err != nil {
			return 0, false
		}
		scale = n
	default:
		return 0, false
	}
	if scale < -1000 || scale > 1000 {
		return 0, false
	}
	raw, err := base64.StdEncoding.DecodeString(s)
	if err != nil || len(raw) == 0 {
		return 0, false
	}
	n := new(big.Int).SetBytes(raw)
	if raw[0]&0x80 != 0 { // negative: subtract 2^(8*len)
		n.Sub(n, new(big.Int).Lsh(big.NewInt(1), uint(8*len(raw))))
	}
	r := new(big.Rat).SetInt(n)
	pow := new(big.Int).Exp(big.NewInt(10), big.NewInt(abs64(scale)), nil)
	if scale >= 0 {
		r.Quo(r, new(big.Rat).SetInt(pow))
	} else {
		r.Mul(r, new(big.Rat).SetInt(pow))
	}
	f, _ := r.Float64()
	if math.IsInf(f, 0) {
		return 0, false
	}
	return f, true
}

func abs64(n int64) int64 {
	if n < 0 {
		return -n
	}
	return n
}

// isRealNumber is true for values that are numbers in their own right (not
// numeric strings).
func isRealNumber(v any) bool {
	if _, ok := v.(string); ok {
		return false
	}
	_, ok := toNumber(v)
	return ok
}

// toTime reads a timestamp string: RFC 3339 with or without fractional
// seconds ("2026-01-02T10:00:00Z", "2026-01-02T10:00:00.5+01:00") or a
// date ("2026-01-02", midnight UTC), or a time.Time. Numbers are never
// times: epoch values compare as numbers.
func toTime(v any) (time.Time, bool) {
	switch x := v.(type) {
	case time.Time:
		return x, true
	case string:
		if len(x) < 10 || x[4] != '-' {
			return time.Time{}, false
		}
		if len(x) == 10 {
			t, err := time.Parse(time.DateOnly, x)
			return t, err == nil
		}
		t, err := time.Parse(time.RFC3339Nano, x)
		return t, err == nil
	}
	return time.Time{}, false
}

// valuesEqual is the equality used by EQUALS, IN, CHANGED and friends:
//   - null equals only null (a missing field is null);
//   - numbers compare numerically, and a numeric string equals a number
//     with the same value ("12.50" == 12.5), but two strings compare as
//     strings unless both are timestamps (RFC 3339 or dates);
//   - lists and maps compare element by element with these same rules.
func valuesEqual(a, b any) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	if isRealNumber(a) || isRealNumber(b) {
		x, ok1 := toNumber(a)
		y, ok2 := toNumber(b)
		return ok1 && ok2 && x == y
	}
	switch x := a.(type) {
	case string:
		y, ok := b.(string)
		if !ok {
			if t, ok := b.(time.Time); ok {
				u, ok := toTime(x)
				return ok && u.Equal(t)
			}
			return false
		}
		if x == y {
			return true
		}
		t1, ok1 := toTime(x)
		t2, ok2 := toTime(y)
		return ok1 && ok2 && t1.Equal(t2)
	case bool:
		y, ok := b.(bool)
		return ok && x == y
	case time.Time:
		t, ok := toTime(b)
		return ok && x.Equal(t)
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !valuesEqual(x[i], y[i]) {
				return false
			}
		}
		return true
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for k, v := range x {
			w, ok := y[k]
			if !ok || !valuesEqual(v, w) {
				return false
			}
		}
		return true
	}
	return false
}

// compareValues orders a and b for the GREATER_/LESS_ operators: numerically
// when both read as numbers (numeric strings included), as instants when
// both are RFC 3339 timestamps, lexically when both are other strings.
// Anything else (nulls, booleans, lists, a number against a word) is not
// ordered, and the reason says why.
func compareValues(a, b any) (int, string) {
	if a == nil {
		return 0, "field is null"
	}
	if b == nil {
		return 0, "value is null"
	}
	if x, ok := toNumber(a); ok {
		if y, ok := toNumber(b); ok {
			switch {
			case x < y:
				return -1, ""
			case x > y:
				return 1, ""
			}
			return 0, ""
		}
	}
	if x, ok := toTime(a); ok {
		if y, ok := toTime(b); ok {
			return x.Compare(y), ""
		}
	}
	x, ok1 := a.(string)
	y, ok2 := b.(string)
	if ok1 && ok2 && !isRealNumber(a) && !isRealNumber(b) {
		if _, n1 := toNumber(x); !n1 {
			if _, n2 := toNumber(y); !n2 {
				return strings.Compare(x, y), ""
			}
		}
	}
	return 0, fmt.Sprintf("cannot order %s against %s", describe(a), describe(b))
}

// isEmpty is true for null, "", an empty list and an empty map.
func isEmpty(v any) bool {
	switch x := v.(type) {
	case nil:
		return true
	case string:
		return x == ""
	case []any:
		return len(x) == 0
	case map[string]any:
		return len(x) == 0
	}
	return false
}

// describe names a value and its kind for traces.
func describe(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case string:
		return strconv.Quote(x)
	case bool:
		return strconv.FormatBool(x)
	case []any:
		return fmt.Sprintf("list of %d", len(x))
	case map[string]any:
		if f, ok := decodeDecimal(x); ok {
			return "decimal " + strconv.FormatFloat(f, 'f', -1, 64)
		}
		return fmt.Sprintf("object with %d keys", len(x))
	}
	if f, ok := toNumber(v); ok {
		return strconv.FormatFloat(f, 'f', -1, 64)
	}
	return fmt.Sprintf("%T", v)
}
