package ingest

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/triggerd/triggerd/ingest/connect"
	"github.com/triggerd/triggerd/run"
)

// matrixColumn is one column of a table holding every PostgreSQL type
// the docs list: its Connect field schema and value as Debezium 3.6 (default
// settings) writes them through the JsonConverter, its PostgreSQL type
// (the hint for events without schemas) and what a trigger sees.
type matrixColumn struct {
	name, pgType, schema, value string
	want                        any
}

func mustDecimal(s string) run.Decimal {
	d, err := run.ParseDecimal(s)
	if err != nil {
		panic(err)
	}
	return d
}

var typeMatrix = []matrixColumn{
	{"id", "integer", `{"type":"int32","optional":false,"default":0}`, `7`, json.Number("7")},
	{"total", "numeric(12,2)", `{"type":"bytes","optional":true,"name":"org.apache.kafka.connect.data.Decimal","version":1,"parameters":{"scale":"2","connect.decimal.precision":"12"}}`, `"AeI6"`, mustDecimal("1234.50")},
	{"amount", "numeric", `{"type":"struct","fields":[{"type":"int32","optional":false,"field":"scale"},{"type":"bytes","optional":false,"field":"value"}],"optional":true,"name":"io.debezium.data.VariableScaleDecimal","version":1,"doc":"Variable scaled decimal"}`, `{"scale":3,"value":"ATjr"}`, mustDecimal("80.107")},
	{"price", "money", `{"type":"bytes","optional":true,"name":"org.apache.kafka.connect.data.Decimal","version":1,"parameters":{"scale":"2"}}`, `"MDk="`, mustDecimal("123.45")},
	{"created_on", "date", `{"type":"int32","optional":true,"name":"io.debezium.time.Date","version":1}`, `19737`, "2024-01-15"},
	{"at_time", "time without time zone", `{"type":"int64","optional":true,"name":"io.debezium.time.MicroTime","version":1}`, `36930123456`, "10:15:30.123456"},
	{"at_timetz", "time with time zone", `{"type":"string","optional":true,"name":"io.debezium.time.ZonedTime","version":1}`, `"10:15:30.123456Z"`, "10:15:30.123456Z"},
	{"created_at", "timestamp without time zone", `{"type":"int64","optional":true,"name":"io.debezium.time.MicroTimestamp","version":1}`, `1705313730123456`, time.Date(2024, 1, 15, 10, 15, 30, 123456000, time.UTC)},
	{"created_tz", "timestamp with time zone", `{"type":"string","optional":true,"name":"io.debezium.time.ZonedTimestamp","version":1}`, `"2024-01-15T10:15:30.123456Z"`, time.Date(2024, 1, 15, 10, 15, 30, 123456000, time.UTC)},
	{"wait", "interval", `{"type":"int64","optional":true,"name":"io.debezium.time.MicroDuration","version":1}`, `5400000000`, "PT1H30M"},
	{"doc", "json", `{"type":"string","optional":true,"name":"io.debezium.data.Json","version":1}`, `"{\"a\": [1, 2.50]}"`, map[string]any{"a": []any{json.Number("1"), json.Number("2.50")}}},
	{"payload", "jsonb", `{"type":"string","optional":true,"name":"io.debezium.data.Json","version":1}`, `"{\"n\": 1, \"kind\": \"a\"}"`, map[string]any{"kind": "a", "n": json.Number("1")}},
	{"uid", "uuid", `{"type":"string","optional":true,"name":"io.debezium.data.Uuid","version":1}`, `"a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"`, "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"},
	{"flag", "boolean", `{"type":"boolean","optional":true}`, `true`, true},
	{"small", "smallint", `{"type":"int16","optional":true}`, `-3`, json.Number("-3")},
	{"big", "bigint", `{"type":"int64","optional":true}`, `9007199254740993`, json.Number("9007199254740993")},
	{"f4", "real", `{"type":"float","optional":true}`, `1.5`, json.Number("1.5")},
	{"f8", "double precision", `{"type":"double","optional":true}`, `2.25`, json.Number("2.25")},
	{"body", "text", `{"type":"string","optional":true}`, `"hello"`, "hello"},
	{"tags", "text[]", `{"type":"array","items":{"type":"string","optional":true},"optional":true}`, `["a","b"]`, []any{"a", "b"}},
	{"nums", "integer[]", `{"type":"array","items":{"type":"int32","optional":true},"optional":true}`, `[1,2]`, []any{json.Number("1"), json.Number("2")}},
	{"status", "order_status", `{"type":"string","optional":true,"name":"io.debezium.data.Enum","version":1,"parameters":{"allowed":"new,paid,cancelled"}}`, `"paid"`, "paid"},
	{"data", "bytea", `{"type":"bytes","optional":true}`, `"3q2+7w=="`, "3q2+7w=="},
}

// matrixMessage builds a Debezium change event of the type matrix table,
// with the JsonConverter's schema wrapper when withSchema is set. values
// overrides a column's value (raw JSON).
func matrixMessage(op string, withSchema bool, values map[string]string, before bool) []byte {
	var fields, row []string
	for _, c := range typeMatrix {
		fields = append(fields, strings.TrimSuffix(c.schema, "}")+fmt.Sprintf(`,"field":%q}`, c.name))
		v := c.value
		if o, ok := values[c.name]; ok {
			v = o
		}
		row = append(row, fmt.Sprintf("%q:%s", c.name, v))
	}
	rowJSON := "{" + strings.Join(row, ",") + "}"
	beforeJSON := "null"
	if before {
		beforeJSON = rowJSON
	}
	afterJSON := rowJSON
	if op == "d" {
		afterJSON = "null"
	}
	source := `{"version":"3.6.1.Final","connector":"postgresql","name":"dbz","ts_ms":1705313730000,"snapshot":"false","db":"app","sequence":"[null,\"24023928\"]","ts_us":1705313730000000,"ts_ns":1705313730000000000,"schema":"public","table":"types","txId":771,"lsn":24023928,"xmin":null}`
	payload := fmt.Sprintf(`{"before":%s,"after":%s,"source":%s,"transaction":null,"op":%q,"ts_ms":1705313730123,"ts_us":1705313730123456,"ts_ns":1705313730123456000}`, beforeJSON, afterJSON, source, op)
	if !withSchema {
		return []byte(payload)
	}
	value := `{"type":"struct","fields":[` + strings.Join(fields, ",") + `],"optional":true,"name":"dbz.public.types.Value"`
	envelope := `{"type":"struct","fields":[` + value + `,"field":"before"},` + value + `,"field":"after"},` +
		`{"type":"struct","fields":[{"type":"string","optional":false,"field":"version"},{"type":"string","optional":false,"field":"connector"},{"type":"string","optional":false,"field":"name"},{"type":"int64","optional":false,"field":"ts_ms"},{"type":"string","optional":true,"name":"io.debezium.data.Enum","version":1,"parameters":{"allowed":"true,first,first_in_data_collection,last_in_data_collection,last,false,incremental"},"default":"false","field":"snapshot"},{"type":"string","optional":false,"field":"db"},{"type":"string","optional":true,"field":"sequence"},{"type":"int64","optional":true,"field":"ts_us"},{"type":"int64","optional":true,"field":"ts_ns"},{"type":"string","optional":false,"field":"schema"},{"type":"string","optional":false,"field":"table"},{"type":"int64","optional":true,"field":"txId"},{"type":"int64","optional":true,"field":"lsn"},{"type":"int64","optional":true,"field":"xmin"}],"optional":false,"name":"io.debezium.connector.postgresql.Source","version":1,"field":"source"},` +
		`{"type":"struct","fields":[{"type":"string","optional":false,"field":"id"},{"type":"int64","optional":false,"field":"total_order"},{"type":"int64","optional":false,"field":"data_collection_order"}],"optional":true,"name":"event.block","version":1,"field":"transaction"},` +
		`{"type":"string","optional":false,"field":"op"},{"type":"int64","optional":true,"field":"ts_ms"},{"type":"int64","optional":true,"field":"ts_us"},{"type":"int64","optional":true,"field":"ts_ns"}],"optional":false,"name":"dbz.public.types.Envelope","version":2}`
	return []byte(`{"schema":` + envelope + `,"payload":` + payload + `}`)
}

func matrixHints() ColumnTypeHints {
	m := map[string]string{}
	for _, c := range typeMatrix {
		m[c.name] = c.pgType
	}
	return ColumnTypeHints{"public.types": m}
}

func decodeOne(t *testing.T, value []byte, opts DecodeOptions) run.Event {
	t.Helper()
	evs, err := Decode(msgOf(`{"id":7}`, string(value)), opts)
	require.NoError(t, err)
	require.Len(t, evs, 1)
	return evs[0]
}

func TestDecode_TypeMatrix(t *testing.T) {
	for _, tc := range []struct {
		name string
		msg  []byte
		opts DecodeOptions
	}{
		{"schemas.enable=true", matrixMessage("c", true, nil, false), DecodeOptions{}},
		{"schemas.enable=false with column types", matrixMessage("c", false, nil, false), DecodeOptions{ColumnTypes: matrixHints()}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ev := decodeOne(t, tc.msg, tc.opts)
			assert.Empty(t, ev.Notes)
			assert.Empty(t, ev.Unavailable)
			for _, c := range typeMatrix {
				assert.Equal(t, c.want, ev.Record[c.name], c.name)
			}
		})
	}
}

func TestDecode_SchemalessWithoutTypesSaysSo(t *testing.T) {
	var undecoded []string
	ev := decodeOne(t, matrixMessage("c", false, nil, false), DecodeOptions{Undecoded: func(table, col, reason string) {
		undecoded = append(undecoded, table+"/"+col+"/"+reason)
	}})
	assert.Equal(t, []string{"no Connect schema and no column types for public.types: numeric, date, time, timestamp and json columns are seen as Debezium encoded them (see docs/debezium.md)"}, ev.Notes)
	assert.Equal(t, []string{"public.types//no column types"}, undecoded)
	assert.Equal(t, "AeI6", ev.Record["total"], "left as it came")
	assert.Equal(t, mustDecimal("80.107"), ev.Record["amount"], "the shape of an unconstrained numeric is certain")
}

func TestDecode_DecimalsAsNumbers(t *testing.T) {
	ev := decodeOne(t, matrixMessage("c", true, nil, false), DecodeOptions{DecimalsAsNumbers: true})
	assert.Equal(t, json.Number("1234.50"), ev.Record["total"])
	b, err := json.Marshal(ev.Record["total"])
	require.NoError(t, err)
	assert.Equal(t, "1234.50", string(b))
	ev = decodeOne(t, matrixMessage("c", true, nil, false), DecodeOptions{})
	b, err = json.Marshal(ev.Record)
	require.NoError(t, err)
	assert.Contains(t, string(b), `"total":"1234.50"`)
	assert.Contains(t, string(b), `"created_at":"2024-01-15T10:15:30.123456Z"`)
	assert.Contains(t, string(b), `"created_on":"2024-01-15"`)
}

func TestDecode_UndecodableIsNoted(t *testing.T) {
	var undecoded []string
	opts := DecodeOptions{
		ColumnTypes: ColumnTypeHints{"types": {"amount": "numeric", "created_on": "date"}},
		Undecoded:   func(table, col, reason string) { undecoded = append(undecoded, col+"/"+reason) },
	}
	ev := decodeOne(t, matrixMessage("c", false, map[string]string{"amount": `"ATjr"`, "created_on": `"2024-01-15Z"`}, false), opts)
	assert.Equal(t, "ATjr", ev.Record["amount"])
	assert.Equal(t, "2024-01-15", ev.Record["created_on"])
	assert.Equal(t, []string{
		`record.amount: looks like an undecoded Debezium encoding for column type numeric, kept as sent: io.debezium.data.VariableScaleDecimal: want {"scale", "value"}, got the string "ATjr"`,
		`record.created_on: read by its form as date (io.debezium.time.Date: want an integer, got the string "2024-01-15Z" under the connector settings given to triggerd)`,
	}, ev.Notes)
	assert.Equal(t, []string{"amount/undecodable", "created_on/settings mismatch"}, undecoded)

	// With a schema, a value that does not fit it is kept and noted.
	ev = decodeOne(t, matrixMessage("c", true, map[string]string{"created_on": `"tomorrow"`}, false), DecodeOptions{})
	assert.Equal(t, "tomorrow", ev.Record["created_on"])
	assert.Equal(t, []string{`record.created_on: kept as sent: io.debezium.time.Date: want an integer, got the string "tomorrow"`}, ev.Notes)
}

// The connector's placeholder takes a form per column type; every one is
// recognised before any decoding, so a placeholder in a jsonb, numeric or
// date[] column is unavailable, not garbage.
func TestDecode_Placeholders(t *testing.T) {
	p, err := parsePlaceholder("")
	require.NoError(t, err)
	ints := make([]string, len(p.ints))
	for i, n := range p.ints {
		ints[i] = fmt.Sprint(n)
	}
	toasted := map[string]string{
		"body":    `"__debezium_unavailable_value"`,
		"payload": `"__debezium_unavailable_value"`,
		"doc":     `"__debezium_unavailable_value"`,
		"data":    `"X19kZWJleml1bV91bmF2YWlsYWJsZV92YWx1ZQ=="`,
		"tags":    `["__debezium_unavailable_value"]`,
		"nums":    "[" + strings.Join(ints, ",") + "]",
	}
	for _, withSchema := range []bool{true, false} {
		t.Run(fmt.Sprint("schema=", withSchema), func(t *testing.T) {
			ev := decodeOne(t, matrixMessage("u", withSchema, toasted, false), DecodeOptions{ColumnTypes: matrixHints()})
			assert.ElementsMatch(t, []string{"record.body", "record.payload", "record.doc", "record.data", "record.tags", "record.nums", "previousRecord"}, ev.Unavailable)
			for col := range toasted {
				assert.NotContains(t, ev.Record, col)
			}
			assert.Equal(t, mustDecimal("1234.50"), ev.Record["total"])
			assert.Empty(t, ev.Notes)
		})
	}
	// A delete's before image is both record and previousRecord.
	ev := decodeOne(t, matrixMessage("d", true, map[string]string{"body": `"__debezium_unavailable_value"`}, true), DecodeOptions{})
	assert.Equal(t, []string{"record.body", "previousRecord.body"}, ev.Unavailable)
	// A configured placeholder, in hex.
	ev = decodeOne(t, matrixMessage("u", true, map[string]string{"body": `"??"`, "data": `"Pz8="`}, true), DecodeOptions{Placeholder: "hex:3f3f"})
	assert.Equal(t, []string{"record.body", "record.data", "previousRecord.body", "previousRecord.data"}, ev.Unavailable)
}

func TestPlaceholderForms(t *testing.T) {
	p, err := parsePlaceholder("")
	require.NoError(t, err)
	// java.util.UUID.nameUUIDFromBytes("__debezium_unavailable_value".getBytes())
	assert.Equal(t, "b68a35a7-17ad-35b3-af2a-ae46edb4545a", p.uuid)
	assert.Equal(t, `{"__debezium_unavailable_value":"__debezium_unavailable_value"}`, p.hstoreJSON)
	uuidArray := &connect.Schema{Type: connect.TypeArray, Items: &connect.Schema{Type: connect.TypeString, Name: connect.Uuid}}
	assert.True(t, p.is([]any{p.uuid}, uuidArray))
	assert.True(t, p.is(map[string]any{p.text: p.text}, &connect.Schema{Type: connect.TypeMap}))
	assert.False(t, p.is("hello", nil))
	assert.False(t, p.is([]any{json.Number("1")}, nil))
	_, err = parsePlaceholder("hex:zz")
	assert.EqualError(t, err, `placeholder: "zz" after hex: is not hexadecimal`)
}

func TestDecode_NativeUpdateWithoutPrevious(t *testing.T) {
	evs, err := Decode(msgOf("", `{"id":"e1","table":"users","operation":"update","record":{"id":1}}`), DecodeOptions{})
	require.NoError(t, err)
	assert.Equal(t, []string{run.UnavailablePrevious}, evs[0].Unavailable)
}
