package trigger

import (
	"encoding/json"
	"fmt"
	"math"
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

// decodeDecimal is the hook for Debezium's default decimal encoding,
// {"scale": 2, "value": "<base64 big-endian two's complement>"}. It is not
// decoded yet (connectors are expected to use decimal.handling.mode=string
// or double), so such values compare as maps.
func decodeDecimal(map[string]any) (float64, bool) { return 0, false }

// isRealNumber is true for values that are numbers in their own right (not
// numeric strings).
func isRealNumber(v any) bool {
	if _, ok := v.(string); ok {
		return false
	}
	_, ok := toNumber(v)
	return ok
}

// toTime reads an RFC 3339 timestamp (or a time.Time).
func toTime(v any) (time.Time, bool) {
	switch x := v.(type) {
	case time.Time:
		return x, true
	case string:
		t, err := time.Parse(time.RFC3339Nano, x)
		return t, err == nil
	}
	return time.Time{}, false
}

// valuesEqual is the equality used by EQUALS, IN, CHANGED and friends:
//   - null equals only null (a missing field is null);
//   - numbers compare numerically, and a numeric string equals a number
//     with the same value ("12.50" == 12.5), but two strings compare as
//     strings unless both are RFC 3339 timestamps;
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
		return fmt.Sprintf("object with %d keys", len(x))
	}
	if f, ok := toNumber(v); ok {
		return strconv.FormatFloat(f, 'f', -1, 64)
	}
	return fmt.Sprintf("%T", v)
}
