package connect

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// DecodeColumn decodes v, a value sent without its schema, by its column's
// PostgreSQL type typ and the connector settings c (PostgresSchema). When
// v does not fit what c says but its form is unambiguous for the type (a
// decimal written as text although c says precise, a date as an ISO
// string), it is read by its form and note says so: the settings given to
// triggerd differ from the connector's. An error means v could not be read
// as typ at all; the caller keeps it as it came.
func DecodeColumn(typ string, v any, c ConnectorSettings, o Options) (out any, note string, err error) {
	s, err := PostgresSchema(typ, c)
	if err != nil {
		return nil, "", err
	}
	out, err = Decode(s, v, o)
	if err == nil {
		return out, "", nil
	}
	if alt, ok := byForm(s, v, o); ok {
		return alt, fmt.Sprintf("read by its form as %s (%v under the connector settings given to triggerd)", typ, err), nil
	}
	return nil, "", err
}

// byForm reads v by what it looks like, for the kind of value s holds.
func byForm(s *Schema, v any, o Options) (any, bool) {
	switch {
	case v == nil:
		return nil, true
	case s.Type == TypeArray:
		l, ok := v.([]any)
		if !ok {
			return nil, false
		}
		out := make([]any, len(l))
		for i, e := range l {
			d, err := Decode(s.Items, e, o)
			if err != nil {
				if d, ok = byForm(s.Items, e, o); !ok {
					return nil, false
				}
			}
			out[i] = d
		}
		return out, true
	case isDecimalSchema(s):
		switch x := v.(type) {
		case string:
			d, err := DecimalOf(x, o)
			return d, err == nil
		case json.Number:
			d, err := DecimalOf(string(x), o)
			return d, err == nil
		case map[string]any:
			return DecodeVariableScale(x, o)
		}
	case s.Name == Date || s.Name == ConnectDate || s.Name == IsoDate:
		switch x := v.(type) {
		case string:
			d := StripUTC(x)
			_, err := time.Parse(DateLayout, d)
			return d, err == nil
		case json.Number:
			d, err := decodeDate(s, x, o)
			return d, err == nil
		}
	case s.Name == Time || s.Name == MicroTime || s.Name == NanoTime || s.Name == ConnectTime || s.Name == IsoTime:
		if x, ok := v.(string); ok {
			t := StripUTC(x)
			_, err := time.Parse(TimeOfDayLayout, t)
			return t, err == nil
		}
	case s.Name == Timestamp || s.Name == MicroTimestamp || s.Name == NanoTimestamp || s.Name == ConnectTimestamp || s.Name == IsoTimestamp:
		if x, ok := v.(string); ok {
			if t, err := time.Parse(time.RFC3339Nano, x); err == nil {
				return t.UTC(), true
			}
			if t, err := time.Parse("2006-01-02T15:04:05.999999999", x); err == nil {
				return t.UTC(), true
			}
		}
	case s.Name == Json:
		switch v.(type) {
		case map[string]any, []any:
			return v, true // already a document
		}
	}
	return nil, false
}

func isDecimalSchema(s *Schema) bool {
	return s.Name == ConnectDecimal || s.Name == VariableScaleDecimal || isDecimalSource(s.Parameters[sourceType])
}

func isDecimalSource(t string) bool {
	switch strings.ToUpper(t) {
	case "NUMERIC", "DECIMAL", "MONEY":
		return true
	}
	return false
}
