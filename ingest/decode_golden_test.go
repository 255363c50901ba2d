package ingest

import (
	"encoding/json"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/triggerd/triggerd/ingest/connect"
	"github.com/triggerd/triggerd/internal/cdctest"
	"github.com/triggerd/triggerd/run"
)

// goldenColumnTypes are the types of the golden table (testdata/debezium/
// scenario.sql) as hints for the events without schemas.
var goldenColumnTypes = map[string]string{
	"id": "int", "c_numeric_scale": "numeric(12,2)", "c_numeric": "numeric", "c_money": "money", "c_date": "date",
	"c_time": "time", "c_timetz": "timetz", "c_timestamp": "timestamp", "c_timestamptz": "timestamptz",
	"c_interval": "interval", "c_json": "json", "c_jsonb": "jsonb", "c_uuid": "uuid", "c_bool": "boolean",
	"c_int2": "smallint", "c_int4": "integer", "c_int8": "bigint", "c_float4": "real", "c_float8": "double precision",
	"c_text": "text", "c_text_array": "text[]", "c_int4_array": "int4[]", "c_enum": "mood", "c_bytea": "bytea",
	"c_xml": "xml", "c_bit": "bit(4)", "c_varbit": "varbit(16)",
}

// goldenOptions decode each connector's golden messages: the schemas
// connector with Debezium's defaults, the schemaless one (the settings of
// deploy/debezium/postgres-connector.json) with its settings mirrored and
// the column types given.
var goldenOptions = map[string]DecodeOptions{
	"schemas": {},
	"schemaless": {
		Connector:   connect.ConnectorSettings{DecimalHandlingMode: connect.DecimalString, TimePrecisionMode: connect.TimeConnect, IntervalHandlingMode: connect.IntervalString},
		ColumnTypes: ColumnTypeHints{"types": goldenColumnTypes, "toast": {"id": "int", "note": "text", "body": "text"}},
	},
}

func goldenEvent(t *testing.T, dir, file string) run.Event {
	t.Helper()
	msg, err := cdctest.LoadMessage(filepath.Join("testdata", "debezium", dir, file))
	require.NoError(t, err)
	evs, err := Decode(msg, goldenOptions[dir])
	require.NoError(t, err)
	require.Len(t, evs, 1)
	return evs[0]
}

// TestDecode_Golden reads Debezium's own output for the INSERT of
// testdata/debezium/scenario.sql and finds the values the SQL wrote.
func TestDecode_Golden(t *testing.T) {
	at := time.Date(2024, 3, 1, 13, 45, 30, 123456000, time.UTC)
	common := map[string]any{
		"id": json.Number("1"), "c_numeric_scale": mustDecimal("1234.50"), "c_numeric": mustDecimal("3.14159265358979323846"),
		"c_money": mustDecimal("12.34"), "c_date": "2024-03-01", "c_timetz": "11:45:30.5Z", "c_timestamptz": at,
		"c_json": map[string]any{"kind": "a", "n": json.Number("1")}, "c_jsonb": map[string]any{"kind": "a", "tags": []any{"x", "y"}},
		"c_uuid": "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", "c_bool": true, "c_int2": json.Number("32767"),
		"c_int4": json.Number("2147483647"), "c_int8": json.Number("9007199254740993"), "c_float4": json.Number("1.5"),
		"c_float8": json.Number("2.25"), "c_text": `héllo "quoted" <b>&`, "c_text_array": []any{"a", "b c", nil},
		"c_int4_array": []any{json.Number("1"), json.Number("2"), json.Number("3")}, "c_enum": "happy", "c_bytea": "3q2+7w==",
		"c_xml": `<order id="1"><total>12.5</total></order>`, "c_varbit": "110011",
	}
	want := map[string]map[string]any{
		// Debezium's defaults keep microseconds; a MicroDuration is the
		// interval's approximate length (a month is 30.4375 days).
		"schemas": {"c_time": "13:45:30.123456", "c_timestamp": at, "c_interval": "P429DT7H5M6.789S", "c_bit": "1010"},
		// time.precision.mode=connect keeps milliseconds;
		// interval.handling.mode=string keeps the interval exactly.
		"schemaless": {"c_time": "13:45:30.123", "c_timestamp": at.Truncate(time.Millisecond), "c_interval": "P1Y2M3DT4H5M6.789S", "c_bit": "1010"},
	}
	for dir, extra := range want {
		t.Run(dir, func(t *testing.T) {
			ev := goldenEvent(t, dir, "01-types-c.json")
			assert.Empty(t, ev.Notes)
			assert.Empty(t, ev.Unavailable)
			for col, v := range common {
				assert.Equal(t, v, ev.Record[col], col)
			}
			for col, v := range extra {
				assert.Equal(t, v, ev.Record[col], col)
			}
			assert.Len(t, ev.Record, len(common)+len(extra))

			upd := goldenEvent(t, dir, "02-types-u.json")
			assert.Equal(t, mustDecimal("99.99"), upd.Record["c_numeric_scale"])
			assert.Equal(t, mustDecimal("1234.50"), upd.PreviousRecord["c_numeric_scale"], "REPLICA IDENTITY FULL: a before image")
			assert.Equal(t, "2024-03-01", upd.PreviousRecord["c_date"])
			assert.Empty(t, upd.Unavailable)

			ins := goldenEvent(t, dir, "05-types-c.json")
			assert.Equal(t, mustDecimal("-0.50"), ins.Record["c_numeric_scale"])
			assert.Equal(t, "1969-12-31", ins.Record["c_date"])
			assert.Equal(t, time.Date(1969, 12, 31, 23, 59, 59, 999999000, time.UTC), ins.Record["c_timestamptz"])
			assert.Equal(t, []any{}, ins.Record["c_jsonb"])
		})
	}
}

// TestDecode_GoldenToast: an update of a table with REPLICA IDENTITY
// DEFAULT that leaves its TOAST column alone carries the placeholder and
// no before image; both are unavailable, not data.
func TestDecode_GoldenToast(t *testing.T) {
	for dir := range goldenOptions {
		t.Run(dir, func(t *testing.T) {
			ev := goldenEvent(t, dir, "08-toast-u.json")
			assert.Equal(t, []string{"record.body", run.UnavailablePrevious}, ev.Unavailable)
			assert.Equal(t, map[string]any{"id": json.Number("1"), "note": "second"}, ev.Record)
			assert.Nil(t, ev.PreviousRecord)

			ins := goldenEvent(t, dir, "07-toast-c.json")
			body, _ := ins.Record["body"].(string)
			assert.Equal(t, 10000, len(body), "a real TOASTed value is data")
		})
	}
}

type identities map[string]string

func (i identities) ReplicaIdentity(_, _, table string) string { return i[table] }

// A delete on a table with REPLICA IDENTITY DEFAULT: its before image
// holds the key, and Debezium fills the rest with nulls. Knowing the
// identity (debezium.database), those columns are unavailable, not null.
func TestDecode_GoldenDeleteDefaultIdentity(t *testing.T) {
	for dir, opts := range goldenOptions {
		t.Run(dir, func(t *testing.T) {
			msg, err := cdctest.LoadMessage(filepath.Join("testdata", "debezium", dir, "09-toast-d.json"))
			require.NoError(t, err)
			evs, err := Decode(msg, opts)
			require.NoError(t, err)
			assert.Equal(t, map[string]any{"id": json.Number("1"), "note": nil, "body": nil}, evs[0].Record, "without the identity, the nulls are taken as they are")

			opts.ReplicaIdentities = identities{"toast": "d", "types": "f"}
			evs, err = Decode(msg, opts)
			require.NoError(t, err)
			assert.Equal(t, map[string]any{"id": json.Number("1")}, evs[0].Record)
			assert.Equal(t, []string{"record.body", "previousRecord.body", "record.note", "previousRecord.note"}, evs[0].Unavailable)

			full := goldenEvent(t, dir, "03-types-d.json")
			assert.Empty(t, full.Unavailable)
		})
	}
}
