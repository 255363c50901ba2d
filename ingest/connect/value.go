package connect

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Options tune Decode.
type Options struct {
	// DecimalsAsNumbers makes decimals json.Numbers, which cross Temporal
	// and render as JSON numbers, instead of run.Decimal values, which
	// render as JSON strings holding their exact text.
	DecimalsAsNumbers bool
}

// maxValueDepth bounds the nesting Decode follows.
const maxValueDepth = 64

// Decode returns v, as the JsonConverter wrote it under schema s, as the
// value a trigger sees: a decimal as a run.Decimal (or json.Number), a
// date as "2006-01-02", a time of day as "15:04:05.999999", a timestamp
// as a time.Time in UTC, JSON as the document it holds, an interval as an
// ISO 8601 duration. A nil v is nil. A value that does not fit its schema
// returns an error naming the logical type and what was found; the caller
// keeps it as it came (and says so).
func Decode(s *Schema, v any, o Options) (any, error) { return decode(s, v, o, 0) }

func decode(s *Schema, v any, o Options, depth int) (any, error) {
	if v == nil || s == nil {
		return v, nil
	}
	if depth > maxValueDepth {
		return nil, fmt.Errorf("nested deeper than %d levels", maxValueDepth)
	}
	if isDecimalSource(s.Parameters[sourceType]) && (s.Type == TypeString || s.Type == TypeFloat64) {
		// decimal.handling.mode=string or double, with the column's type
		// propagated: a decimal all the same.
		return sourceDecimal(v, o)
	}
	if s.Name != "" {
		if dec, ok := logical[s.Name]; ok {
			out, err := dec(s, v, o)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", s.Name, err)
			}
			return out, nil
		}
	}
	switch s.Type {
	case TypeStruct:
		m, ok := v.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("struct: want an object, got %s", kind(v))
		}
		out := make(map[string]any, len(m))
		for k, e := range m {
			d, err := decode(s.FieldByName(k), e, o, depth+1)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", k, err)
			}
			out[k] = d
		}
		return out, nil
	case TypeArray:
		l, ok := v.([]any)
		if !ok {
			return nil, fmt.Errorf("array: want a list, got %s", kind(v))
		}
		out := make([]any, len(l))
		for i, e := range l {
			d, err := decode(s.Items, e, o, depth+1)
			if err != nil {
				return nil, fmt.Errorf("[%d]: %w", i, err)
			}
			out[i] = d
		}
		return out, nil
	case TypeMap:
		return decodeMap(s, v, o, depth)
	}
	return v, nil
}

// decodeMap reads a map: an object when its keys are strings, else the
// JsonConverter's list of [key, value] pairs, kept as such.
func decodeMap(s *Schema, v any, o Options, depth int) (any, error) {
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			d, err := decode(s.Values, e, o, depth+1)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", k, err)
			}
			out[k] = d
		}
		return out, nil
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			pair, ok := e.([]any)
			if !ok || len(pair) != 2 {
				return nil, fmt.Errorf("map[%d]: want a [key, value] pair", i)
			}
			k, err := decode(s.Keys, pair[0], o, depth+1)
			if err != nil {
				return nil, fmt.Errorf("map[%d] key: %w", i, err)
			}
			val, err := decode(s.Values, pair[1], o, depth+1)
			if err != nil {
				return nil, fmt.Errorf("map[%d] value: %w", i, err)
			}
			out[i] = []any{k, val}
		}
		return out, nil
	}
	return nil, fmt.Errorf("map: want an object or a list of pairs, got %s", kind(v))
}

// integer reads a JSON integer (json.Number, or float64 holding a whole
// number, as encoding/json decodes without UseNumber).
func integer(v any) (int64, error) {
	switch x := v.(type) {
	case json.Number:
		n, err := x.Int64()
		if err != nil {
			return 0, fmt.Errorf("want an integer, got %s", x)
		}
		return n, nil
	case float64:
		if x != math.Trunc(x) || math.Abs(x) > 1<<53 {
			return 0, fmt.Errorf("want an integer, got %s", strconv.FormatFloat(x, 'g', -1, 64))
		}
		return int64(x), nil
	case int64:
		return x, nil
	case int:
		return int64(x), nil
	}
	return 0, fmt.Errorf("want an integer, got %s", kind(v))
}

// text reads a JSON string.
func text(v any) (string, error) {
	s, ok := v.(string)
	if !ok {
		return "", fmt.Errorf("want a string, got %s", kind(v))
	}
	return s, nil
}

// bytesOf reads Connect bytes, which the JsonConverter writes in base64.
func bytesOf(v any) ([]byte, error) {
	s, err := text(v)
	if err != nil {
		return nil, err
	}
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("want base64 bytes, got %q", abbreviate(s))
	}
	return b, nil
}

func kind(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case string:
		return fmt.Sprintf("the string %q", abbreviate(x))
	case json.Number:
		return "the number " + x.String()
	case float64:
		return "the number " + strconv.FormatFloat(x, 'g', -1, 64)
	case bool:
		return "a boolean"
	case []any:
		return "a list"
	case map[string]any:
		return "an object"
	}
	return fmt.Sprintf("%T", v)
}

// abbreviate keeps error messages short whatever the value's size.
func abbreviate(s string) string {
	const max = 40
	if len(s) <= max {
		return s
	}
	return s[:max] + "…"
}

// sourceDecimal reads a decimal written as text or as a JSON number.
func sourceDecimal(v any, o Options) (any, error) {
	switch x := v.(type) {
	case string:
		if strings.EqualFold(x, "NaN") || strings.Contains(strings.ToLower(x), "infinity") {
			return x, nil // PostgreSQL's special values stay words
		}
		return DecimalOf(x, o)
	case json.Number:
		return DecimalOf(string(x), o)
	}
	return nil, fmt.Errorf("decimal: want text or a number, got %s", kind(v))
}
