package connect

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Without schemas, a column type and the connector's settings decide how
// a value is read, as PostgresValueConverter.schemaBuilder decides.
func TestDecodeColumn(t *testing.T) {
	two := 4
	ts := time.Date(2024, 1, 15, 10, 15, 30, 123456000, time.UTC)
	tests := []struct {
		typ      string
		settings ConnectorSettings
		value    any
		want     any
		note     bool
	}{
		{"numeric(12,2)", ConnectorSettings{}, "AeI6", dec(t, "1234.50"), false},
		{"NUMERIC(12, 2)", ConnectorSettings{}, "AeI6", dec(t, "1234.50"), false},
		{"decimal(5)", ConnectorSettings{}, "AeI6", dec(t, "123450"), false},
		{"numeric", ConnectorSettings{}, map[string]any{"scale": num("2"), "value": "AeI6"}, dec(t, "1234.50"), false},
		{"numeric(12,2)", ConnectorSettings{DecimalHandlingMode: DecimalString}, "1234.50", dec(t, "1234.50"), false},
		{"numeric(12,2)", ConnectorSettings{DecimalHandlingMode: DecimalDouble}, num("1234.5"), dec(t, "1234.5"), false},
		{"money", ConnectorSettings{}, "AeI6", dec(t, "1234.50"), false},
		{"money", ConnectorSettings{MoneyFractionDigits: &two}, "AeI6", dec(t, "12.3450"), false},
		{"date", ConnectorSettings{}, num("19737"), "2024-01-15", false},
		{"date", ConnectorSettings{TimePrecisionMode: TimeIsoString}, "2024-01-15Z", "2024-01-15", false},
		{"time(3)", ConnectorSettings{}, num("36930123"), "10:15:30.123", false},
		{"time", ConnectorSettings{}, num("36930123456"), "10:15:30.123456", false},
		{"time without time zone", ConnectorSettings{TimePrecisionMode: TimeConnect}, num("36930123"), "10:15:30.123", false},
		{"timetz", ConnectorSettings{}, "10:15:30Z", "10:15:30Z", false},
		{"timestamp", ConnectorSettings{}, num("1705313730123456"), ts, false},
		{"timestamp(3) without time zone", ConnectorSettings{}, num("1705313730123"), ts.Truncate(time.Millisecond), false},
		{"timestamp(6)", ConnectorSettings{TimePrecisionMode: TimeNanoseconds}, num("1705313730123456000"), ts, false},
		{"timestamp", ConnectorSettings{TimePrecisionMode: TimeIsoString}, "2024-01-15T10:15:30.123456Z", ts, false},
		{"timestamptz", ConnectorSettings{}, "2024-01-15T10:15:30.123456Z", ts, false},
		{"timestamp with time zone", ConnectorSettings{}, "2024-01-15T10:15:30.123456Z", ts, false},
		{"interval", ConnectorSettings{}, num("3600000000"), "PT1H", false},
		{"interval", ConnectorSettings{IntervalHandlingMode: IntervalString}, "P1D", "P1D", false},
		{"jsonb", ConnectorSettings{}, `{"kind":"a"}`, map[string]any{"kind": "a"}, false},
		{"json", ConnectorSettings{}, `[1,2]`, []any{num("1"), num("2")}, false},
		{"hstore", ConnectorSettings{}, `{"a":"1"}`, map[string]any{"a": "1"}, false},
		{"uuid", ConnectorSettings{}, "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", false},
		{"bytea", ConnectorSettings{}, "3q2+7w==", "3q2+7w==", false},
		{"bit(8)", ConnectorSettings{}, "BQ==", "00000101", false},
		{"bit", ConnectorSettings{}, true, true, false},
		{"varbit", ConnectorSettings{}, "BQ==", "101", false},
		{"integer[]", ConnectorSettings{}, []any{num("1"), num("2")}, []any{num("1"), num("2")}, false},
		{"_date", ConnectorSettings{}, []any{num("19737")}, []any{"2024-01-15"}, false},
		{"numeric(5,1)[]", ConnectorSettings{}, []any{"Dw=="}, []any{dec(t, "1.5")}, false},
		{"my_enum", ConnectorSettings{}, "paid", "paid", false},
		{"text", ConnectorSettings{}, "AeI6", "AeI6", false},
		{"", ConnectorSettings{}, "x", "x", false},
		// The settings given to triggerd say otherwise; the form is clear.
		{"numeric(12,2)", ConnectorSettings{}, "1234.50", dec(t, "1234.50"), true},
		{"date", ConnectorSettings{TimePrecisionMode: TimeIsoString}, num("19737"), "2024-01-15", true},
		{"timestamp", ConnectorSettings{}, "2024-01-15T10:15:30.123456Z", ts, true},
		{"jsonb", ConnectorSettings{}, map[string]any{"kind": "a"}, map[string]any{"kind": "a"}, true},
		{"date[]", ConnectorSettings{}, []any{"2024-01-15"}, []any{"2024-01-15"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.typ+"/"+tt.settings.DecimalHandlingMode+tt.settings.TimePrecisionMode, func(t *testing.T) {
			got, note, err := DecodeColumn(tt.typ, tt.value, tt.settings, Options{})
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
			assert.Equal(t, tt.note, note != "", "note: %q", note)
		})
	}
}

func TestDecodeColumn_Undecodable(t *testing.T) {
	// An unconstrained numeric whose value came as bare bytes: the scale
	// was only in the schema, which was not sent.
	_, _, err := DecodeColumn("numeric", "AeI6", ConnectorSettings{}, Options{})
	assert.EqualError(t, err, `io.debezium.data.VariableScaleDecimal: want {"scale", "value"}, got the string "AeI6"`)
	// A timestamp as an integer when the settings say isostring: its unit
	// is not known.
	_, _, err = DecodeColumn("timestamp", json.Number("1705313730123456"), ConnectorSettings{TimePrecisionMode: TimeIsoString}, Options{})
	assert.EqualError(t, err, `io.debezium.time.IsoTimestamp: want a string, got the number 1705313730123456`)
	_, _, err = DecodeColumn("numeric(12,x)", "AeI6", ConnectorSettings{}, Options{})
	assert.EqualError(t, err, `column type "numeric(12,x)": modifier "x" is not an integer`)
}

func TestConnectorSettings_Validate(t *testing.T) {
	assert.NoError(t, ConnectorSettings{}.Validate())
	assert.EqualError(t, ConnectorSettings{TimePrecisionMode: "adaptive_micro"}.Validate(),
		"time.precision.mode: unknown value \"adaptive_micro\" (want one of adaptive, adaptive_time_microseconds, connect, isostring, microseconds, nanoseconds)")
}
