package value

import (
	"cmp"
	"encoding/json"
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"
	"time"

	"github.com/triggerd/triggerd/run"
)

// Number reads v as a float64 whatever its JSON form: Go numeric types,
// json.Number, run.Decimal and numeric strings ("12.50"). NaN and
// infinities are not numbers here. Comparisons do not use it (they are
// exact, see compareNumbers); settings that take a number (durations,
// limits) do.
func Number(v any) (float64, bool) {
	var f float64
	switch x := v.(type) {
	case run.Decimal:
		f = x.Float64()
	case json.Number:
		g, err := x.Float64()
		if err != nil {
			return 0, false
		}
		f = g
	case string:
		if !numericString(x) {
			return 0, false
		}
		g, err := strconv.ParseFloat(x, 64)
		if err != nil {
			return 0, false
		}
		f = g
	default:
		if i, ok := asInt64(v); ok {
			return float64(i), true
		}
		switch x := v.(type) {
		case float64:
			f = x
		case float32:
			f = float64(x)
		case uint64:
			f = float64(x)
		case uint:
			f = float64(x)
		default:
			return 0, false
		}
	}
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, false
	}
	return f, true
}

// numericString is true for a string that reads as a finite decimal
// number: digits, a sign, a point and an exponent, nothing around them
// ("12.50", "-1e3"; not " 1", "0x10", "NaN" or "Inf").
func numericString(s string) bool {
	if s == "" || strings.ContainsFunc(s, func(r rune) bool {
		return !(r >= '0' && r <= '9' || r == '.' || r == '-' || r == '+' || r == 'e' || r == 'E')
	}) {
		return false
	}
	f, err := strconv.ParseFloat(s, 64)
	return err == nil && !math.IsInf(f, 0)
}

// asInt64 reads Go integers and integral json.Numbers.
func asInt64(v any) (int64, bool) {
	switch x := v.(type) {
	case int:
		return int64(x), true
	case int8:
		return int64(x), true
	case int16:
		return int64(x), true
	case int32:
		return int64(x), true
	case int64:
		return x, true
	case uint8:
		return int64(x), true
	case uint16:
		return int64(x), true
	case uint32:
		return int64(x), true
	case uint:
		if uint64(x) <= math.MaxInt64 {
			return int64(x), true
		}
	case uint64:
		if x <= math.MaxInt64 {
			return int64(x), true
		}
	case json.Number:
		i, err := strconv.ParseInt(string(x), 10, 64)
		return i, err == nil
	}
	return 0, false
}

// toRat reads v as an exact number. A float is the decimal it prints as
// (0.1 is 1/10, not the binary fraction nearest to it), which is what the
// YAML or JSON that held it said.
func toRat(v any) (*big.Rat, bool) {
	switch x := v.(type) {
	case run.Decimal:
		return x.Rat(), true
	case json.Number:
		return new(big.Rat).SetString(string(x))
	case string:
		if !numericString(x) {
			return nil, false
		}
		return new(big.Rat).SetString(x)
	case float32:
		return toRat(float64(x))
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return nil, false
		}
		return new(big.Rat).SetString(strconv.FormatFloat(x, 'g', -1, 64))
	case uint:
		return new(big.Rat).SetInt(new(big.Int).SetUint64(uint64(x))), true
	case uint64:
		return new(big.Rat).SetInt(new(big.Int).SetUint64(x)), true
	}
	if i, ok := asInt64(v); ok {
		return new(big.Rat).SetInt64(i), true
	}
	return nil, false
}

// compareNumbers orders two numbers exactly: integers as integers, two
// floats as floats, anything else (decimals, numeric strings, a float
// against a decimal) as exact fractions. ok is false when either is not
// a number.
func compareNumbers(a, b any) (int, bool) {
	if x, ok := asInt64(a); ok {
		if y, ok := asInt64(b); ok {
			return cmp.Compare(x, y), true
		}
	}
	if x, ok := shortFloat(a); ok {
		if y, ok := shortFloat(b); ok {
			return cmp.Compare(x, y), true
		}
	}
	x, ok := toRat(a)
	if !ok {
		return 0, false
	}
	y, ok := toRat(b)
	if !ok {
		return 0, false
	}
	return x.Cmp(y), true
}

// shortFloat reads v as a float64 when that comparison is exact: a float
// (the decimal it prints as orders as the float does), an integer within
// ±2^53, or a written number of at most 15 significant digits (distinct
// such decimals are distinct floats, in the same order). Anything longer,
// and decimals, are compared as fractions: this is only the fast path.
func shortFloat(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, !math.IsNaN(x) && !math.IsInf(x, 0)
	case json.Number:
		return shortDecimal(string(x))
	case string:
		if !numericString(x) {
			return 0, false
		}
		return shortDecimal(x)
	}
	if i, ok := asInt64(v); ok && i <= 1<<53 && i >= -(1<<53) {
		return float64(i), true
	}
	return 0, false
}

func shortDecimal(s string) (float64, bool) {
	mant, _, _ := strings.Cut(strings.ToLower(s), "e")
	digits := 0
	for _, c := range strings.TrimLeft(strings.TrimLeft(mant, "+-"), "0.") {
		if c >= '0' && c <= '9' {
			digits++
		}
	}
	if digits > 15 {
		return 0, false
	}
	f, err := strconv.ParseFloat(s, 64)
	return f, err == nil && !math.IsInf(f, 0)
}

// isRealNumber is true for values that are numbers in their own right (not
// numeric strings): Go numbers, json.Number and run.Decimal.
func isRealNumber(v any) bool {
	if _, ok := v.(string); ok {
		return false
	}
	_, ok := toRat(v)
	return ok
}

// Time reads a timestamp: a time.Time, an RFC 3339 string with or
// without fractional seconds ("2026-01-02T10:00:00Z",
// "2026-01-02T10:00:00.5+01:00") or a date ("2026-01-02", midnight UTC).
// Numbers are never times: epoch values compare as numbers.
func Time(v any) (time.Time, bool) {
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

// Equal is the equality used by EQUALS, IN, CHANGED and friends:
//   - null equals only null (a missing field is null);
//   - numbers compare exactly, and a numeric string equals a number
//     with the same value ("12.50" == 12.5), but two strings compare as
//     strings unless both are timestamps (RFC 3339 or dates);
//   - a time.Time equals a timestamp string of the same instant;
//   - lists and maps compare element by element with these same rules.
func Equal(a, b any) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	if isRealNumber(a) || isRealNumber(b) {
		c, ok := compareNumbers(a, b)
		return ok && c == 0
	}
	switch x := a.(type) {
	case string:
		y, ok := b.(string)
		if !ok {
			if t, ok := b.(time.Time); ok {
				u, ok := Time(x)
				return ok && u.Equal(t)
			}
			return false
		}
		if x == y {
			return true
		}
		t1, ok1 := Time(x)
		t2, ok2 := Time(y)
		return ok1 && ok2 && t1.Equal(t2)
	case bool:
		y, ok := b.(bool)
		return ok && x == y
	case time.Time:
		t, ok := Time(b)
		return ok && x.Equal(t)
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !Equal(x[i], y[i]) {
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
			if !ok || !Equal(v, w) {
				return false
			}
		}
		return true
	}
	return false
}

// Compare orders a and b for the GREATER_/LESS_ operators: exactly
// as numbers when both read as numbers (numeric strings included), as
// instants when both are timestamps, lexically when both are other
// strings. Anything else (nulls, booleans, lists, a number against a
// word) is not ordered, and the reason says why.
func Compare(a, b any) (int, string) {
	if a == nil {
		return 0, "field is null"
	}
	if b == nil {
		return 0, "value is null"
	}
	if c, ok := compareNumbers(a, b); ok {
		return c, ""
	}
	if x, ok := Time(a); ok {
		if y, ok := Time(b); ok {
			return x.Compare(y), ""
		}
	}
	x, ok1 := a.(string)
	y, ok2 := b.(string)
	if ok1 && ok2 && !numericString(x) && !numericString(y) {
		return strings.Compare(x, y), ""
	}
	return 0, fmt.Sprintf("cannot order %s against %s", Describe(a), Describe(b))
}

// IsEmpty is true for null, "", an empty list and an empty map.
func IsEmpty(v any) bool {
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

// Describe names a value and its kind for traces.
func Describe(v any) string {
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
	case run.Decimal:
		return x.String()
	case json.Number:
		return x.String()
	case time.Time:
		return x.UTC().Format(time.RFC3339Nano)
	}
	if f, ok := Number(v); ok {
		return strconv.FormatFloat(f, 'f', -1, 64)
	}
	return fmt.Sprintf("%T", v)
}
