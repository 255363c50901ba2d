package connect

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/triggerd/triggerd/run"
)

func schemaOf(t *testing.T, js string) *Schema {
	t.Helper()
	var v any
	dec := json.NewDecoder(strings.NewReader(js))
	dec.UseNumber()
	require.NoError(t, dec.Decode(&v))
	s, err := ParseSchema(v)
	require.NoError(t, err)
	return s
}

func num(s string) json.Number { return json.Number(s) }

func dec(t *testing.T, s string) run.Decimal {
	t.Helper()
	d, err := run.ParseDecimal(s)
	require.NoError(t, err)
	return d
}

// The encodings are Debezium 3.6's (PostgresValueConverter and the
// io.debezium.time/data types) as Kafka Connect's JsonConverter writes them.
func TestDecode_LogicalTypes(t *testing.T) {
	ts := time.Date(2024, 1, 15, 10, 15, 30, 123456000, time.UTC)
	tests := []struct {
		name   string
		schema string
		value  any
		want   any
	}{
		{"Decimal base64 (numeric(12,2) 1234.50)", `{"type":"bytes","name":"org.apache.kafka.connect.data.Decimal","version":1,"parameters":{"scale":"2","connect.decimal.precision":"12"}}`, "AeI6", dec(t, "1234.50")},
		{"Decimal negative", `{"type":"bytes","name":"org.apache.kafka.connect.data.Decimal","parameters":{"scale":"0"}}`, "/w==", dec(t, "-1")},
		{"Decimal small", `{"type":"bytes","name":"org.apache.kafka.connect.data.Decimal","parameters":{"scale":"2"}}`, "AQ==", dec(t, "0.01")},
		{"Decimal decimal.format=NUMERIC", `{"type":"bytes","name":"org.apache.kafka.connect.data.Decimal","parameters":{"scale":"2"}}`, num("1234.50"), dec(t, "1234.50")},
		{"VariableScaleDecimal", `{"type":"struct","name":"io.debezium.data.VariableScaleDecimal","fields":[{"type":"int32","field":"scale"},{"type":"bytes","field":"value"}]}`, map[string]any{"scale": num("3"), "value": "AeI6"}, dec(t, "123.450")},
		{"Date", `{"type":"int32","name":"io.debezium.time.Date"}`, num("19737"), "2024-01-15"},
		{"connect Date", `{"type":"int32","name":"org.apache.kafka.connect.data.Date"}`, num("-1"), "1969-12-31"},
		{"Time (millis)", `{"type":"int32","name":"io.debezium.time.Time"}`, num("36930123"), "10:15:30.123"},
		{"MicroTime", `{"type":"int64","name":"io.debezium.time.MicroTime"}`, num("36930123456"), "10:15:30.123456"},
		{"NanoTime", `{"type":"int64","name":"io.debezium.time.NanoTime"}`, num("36930000000000"), "10:15:30"},
		{"connect Time", `{"type":"int32","name":"org.apache.kafka.connect.data.Time"}`, num("0"), "00:00:00"},
		{"MicroTime 24:00", `{"type":"int64","name":"io.debezium.time.MicroTime"}`, num("86400000000"), "24:00:00"},
		{"Timestamp (millis)", `{"type":"int64","name":"io.debezium.time.Timestamp"}`, num("1705313730123"), ts.Truncate(time.Millisecond)},
		{"MicroTimestamp", `{"type":"int64","name":"io.debezium.time.MicroTimestamp"}`, num("1705313730123456"), ts},
		{"NanoTimestamp", `{"type":"int64","name":"io.debezium.time.NanoTimestamp"}`, num("1705313730123456000"), ts},
		{"connect Timestamp", `{"type":"int64","name":"org.apache.kafka.connect.data.Timestamp"}`, num("1705313730123"), ts.Truncate(time.Millisecond)},
		{"MicroTimestamp infinity", `{"type":"int64","name":"io.debezium.time.MicroTimestamp"}`, num("9223372036825200000"), "infinity"},
		{"MicroTimestamp -infinity", `{"type":"int64","name":"io.debezium.time.MicroTimestamp"}`, num("-9223372036832400000"), "-infinity"},
		{"ZonedTimestamp", `{"type":"string","name":"io.debezium.time.ZonedTimestamp"}`, "2024-01-15T10:15:30.123456Z", ts},
		{"ZonedTime", `{"type":"string","name":"io.debezium.time.ZonedTime"}`, "10:15:30.123456Z", "10:15:30.123456Z"},
		{"IsoDate", `{"type":"string","name":"io.debezium.time.IsoDate"}`, "2024-01-15Z", "2024-01-15"},
		{"IsoTime", `{"type":"string","name":"io.debezium.time.IsoTime"}`, "10:15:30.123Z", "10:15:30.123"},
		{"IsoTimestamp", `{"type":"string","name":"io.debezium.time.IsoTimestamp"}`, "2024-01-15T10:15:30.123456Z", ts},
		{"MicroDuration", `{"type":"int64","name":"io.debezium.time.MicroDuration"}`, num("93784500000"), "P1DT2H3M4.5S"},
		{"MicroDuration zero", `{"type":"int64","name":"io.debezium.time.MicroDuration"}`, num("0"), "PT0S"},
		{"MicroDuration negative hours", `{"type":"int64","name":"io.debezium.time.MicroDuration"}`, num("-3600000000"), "-PT1H"},
		{"Interval", `{"type":"string","name":"io.debezium.time.Interval"}`, "P1Y2M3DT4H5M6.78S", "P1Y2M3DT4H5M6.78S"},
		{"Json", `{"type":"string","name":"io.debezium.data.Json"}`, `{"kind":"a","n":1.50,"l":[1]}`, map[string]any{"kind": "a", "n": num("1.50"), "l": []any{num("1")}}},
		{"Json scalar", `{"type":"string","name":"io.debezium.data.Json"}`, `"x"`, "x"},
		{"Uuid", `{"type":"string","name":"io.debezium.data.Uuid"}`, "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"},
		{"Enum", `{"type":"string","name":"io.debezium.data.Enum","parameters":{"allowed":"new,paid"}}`, "paid", "paid"},
		{"EnumSet", `{"type":"string","name":"io.debezium.data.EnumSet","parameters":{"allowed":"a,b,c"}}`, "a,c", []any{"a", "c"}},
		{"EnumSet empty", `{"type":"string","name":"io.debezium.data.EnumSet"}`, "", []any{}},
		{"Xml", `{"type":"string","name":"io.debezium.data.Xml"}`, "<a/>", "<a/>"},
		{"Bits (varbit B'101')", `{"type":"bytes","name":"io.debezium.data.Bits","parameters":{"length":"2147483647"}}`, "BQ==", "101"},
		{"Bits BIT(8) with source type", `{"type":"bytes","name":"io.debezium.data.Bits","parameters":{"length":"8","__debezium.source.column.type":"BIT"}}`, "BQ==", "00000101"},
		{"Bits two bytes", `{"type":"bytes","name":"io.debezium.data.Bits","parameters":{"length":"12"}}`, "AQg=", "100000000001"},
		{"bytes stay base64", `{"type":"bytes"}`, "3q2+7w==", "3q2+7w=="},
		{"array of dates", `{"type":"array","items":{"type":"int32","optional":true,"name":"io.debezium.time.Date"}}`, []any{num("0"), nil}, []any{"1970-01-01", nil}},
		{"array of decimals", `{"type":"array","items":{"type":"struct","name":"io.debezium.data.VariableScaleDecimal"}}`, []any{map[string]any{"scale": num("1"), "value": "Dw=="}}, []any{dec(t, "1.5")}},
		{"map of strings", `{"type":"map","keys":{"type":"string"},"values":{"type":"string","optional":true}}`, map[string]any{"a": "1"}, map[string]any{"a": "1"}},
		{"decimal.handling.mode=string with source type", `{"type":"string","parameters":{"__debezium.source.column.type":"NUMERIC"}}`, "1234.50", dec(t, "1234.50")},
		{"decimal.handling.mode=double with source type", `{"type":"double","parameters":{"__debezium.source.column.type":"numeric"}}`, num("1234.5"), dec(t, "1234.5")},
		{"NaN stays a word", `{"type":"string","parameters":{"__debezium.source.column.type":"NUMERIC"}}`, "NAN", "NAN"},
		{"plain int", `{"type":"int32"}`, num("7"), num("7")},
		{"null", `{"type":"int32","name":"io.debezium.time.Date","optional":true}`, nil, nil},
		{"unknown logical name", `{"type":"string","name":"io.debezium.data.Ltree"}`, "a.b", "a.b"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Decode(schemaOf(t, tt.schema), tt.value, Options{})
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestDecode_DecimalsAsNumbers(t *testing.T) {
	s := schemaOf(t, `{"type":"bytes","name":"org.apache.kafka.connect.data.Decimal","parameters":{"scale":"2"}}`)
	got, err := Decode(s, "AeI6", Options{DecimalsAsNumbers: true})
	require.NoError(t, err)
	assert.Equal(t, json.Number("1234.50"), got)
}

func TestDecode_Mismatch(t *testing.T) {
	tests := []struct {
		schema, want string
		value        any
	}{
		{`{"type":"int32","name":"io.debezium.time.Date"}`, `io.debezium.time.Date: want an integer, got the string "2024-01-15"`, "2024-01-15"},
		{`{"type":"bytes","name":"org.apache.kafka.connect.data.Decimal"}`, `org.apache.kafka.connect.data.Decimal: schema has no scale parameter`, "AeI6"},
		{`{"type":"bytes","name":"org.apache.kafka.connect.data.Decimal","parameters":{"scale":"2"}}`, `org.apache.kafka.connect.data.Decimal: want base64 bytes, got "not base64!"`, "not base64!"},
		{`{"type":"string","name":"io.debezium.data.Json"}`, `io.debezium.data.Json: want a JSON document, got "{oops"`, "{oops"},
		{`{"type":"array","items":{"type":"int32","name":"io.debezium.time.Date"}}`, `[1]: io.debezium.time.Date: want an integer, got a boolean`, []any{num("1"), true}},
		{`{"type":"int64","name":"io.debezium.time.MicroTimestamp"}`, `io.debezium.time.MicroTimestamp: 9000000000000000000us is outside years 0-9999`, num("9000000000000000000")},
	}
	for _, tt := range tests {
		_, err := Decode(schemaOf(t, tt.schema), tt.value, Options{})
		assert.EqualError(t, err, tt.want)
	}
}

func TestParseSchema_Errors(t *testing.T) {
	_, err := ParseSchema(map[string]any{"type": "struct", "fields": []any{map[string]any{"name": "x"}}})
	assert.EqualError(t, err, "schema.fields[0].type: missing")
	_, err = ParseSchema("x")
	assert.EqualError(t, err, "schema: not an object")
	deep := map[string]any{"type": "string"}
	for range maxSchemaDepth + 2 {
		deep = map[string]any{"type": "array", "items": deep}
	}
	_, err = ParseSchema(deep)
	assert.ErrorContains(t, err, "nested deeper than 64 levels")
}
