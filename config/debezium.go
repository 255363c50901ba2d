package config

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
)

// Debezium configures how ingest reads the change events of Debezium
// connectors: their unavailable values, the encodings of events sent
// without schemas, and the captured database it may read directly
// (docs/debezium.md).
type Debezium struct {
	// UnavailableValuePlaceholder is the connector's
	// unavailable.value.placeholder (text, or "hex:" and octets). Default
	// __debezium_unavailable_value.
	UnavailableValuePlaceholder string `yaml:"unavailableValuePlaceholder"`
	// Decimals is how a decimal reaches runs and templates: "string" (the
	// default: a JSON string holding its exact text, "1234.50") or
	// "number" (a JSON number, which JSON readers may round past 15
	// significant digits). Conditions compare decimals exactly either way.
	Decimals string `yaml:"decimals"`
	// Connector mirrors the connector's settings, which decide how a
	// value is encoded in events without schemas (schemas.enable=false).
	Connector DebeziumConnector `yaml:"connector"`
	// ColumnTypes gives PostgreSQL column types by table
	// ("schema.table" or "table", then column), for events without
	// schemas: "numeric(12,2)", "date", "jsonb", "timestamp(3)".
	ColumnTypes map[string]map[string]string `yaml:"columnTypes"`
	// Database names the databases entry that is the captured database
	// itself: column types of schemaless events are read from it, and
	// the start-up check of replica identities runs against it.
	Database string `yaml:"database"`
	// RefetchTimeout bounds one refetch of a row (a trigger's refetch).
	// Default 5s.
	RefetchTimeout time.Duration `yaml:"refetchTimeout"`
}

// DebeziumConnector mirrors the Debezium PostgreSQL connector's settings
// of the same names; empty keys take the connector's defaults.
type DebeziumConnector struct {
	DecimalHandlingMode  string `yaml:"decimalHandlingMode"`
	TimePrecisionMode    string `yaml:"timePrecisionMode"`
	IntervalHandlingMode string `yaml:"intervalHandlingMode"`
	HstoreHandlingMode   string `yaml:"hstoreHandlingMode"`
	// MoneyFractionDigits is money.fraction.digits; 0 means the
	// connector's default, 2.
	MoneyFractionDigits int `yaml:"moneyFractionDigits"`
}

// Defaults and values of the debezium keys.
const (
	DefaultDebeziumPlaceholder = "__debezium_unavailable_value"
	DecimalsString             = "string"
	DecimalsNumber             = "number"
	DefaultRefetchTimeout      = 5 * time.Second
	DefaultMoneyFractionDigits = 2
)

func (d *Debezium) setDefaults() {
	if d.UnavailableValuePlaceholder == "" {
		d.UnavailableValuePlaceholder = DefaultDebeziumPlaceholder
	}
	if d.Decimals == "" {
		d.Decimals = DecimalsString
	}
	if d.RefetchTimeout == 0 {
		d.RefetchTimeout = DefaultRefetchTimeout
	}
	if d.Connector.MoneyFractionDigits == 0 {
		d.Connector.MoneyFractionDigits = DefaultMoneyFractionDigits
	}
}

func (c *Config) validateDebezium(v *validator) {
	d := c.Debezium
	v.oneOf("debezium.decimals", d.Decimals, DecimalsString, DecimalsNumber)
	if h, ok := strings.CutPrefix(d.UnavailableValuePlaceholder, "hex:"); ok {
		if len(h) == 0 || len(h)%2 != 0 || strings.Trim(strings.ToLower(h), "0123456789abcdef") != "" {
			v.add("debezium.unavailableValuePlaceholder", "%q after hex: must be hexadecimal octets", h)
		}
	}
	oneOfOrEmpty := func(field, value string, allowed ...string) {
		if value != "" {
			v.oneOf(field, value, allowed...)
		}
	}
	con := d.Connector
	oneOfOrEmpty("debezium.connector.decimalHandlingMode", con.DecimalHandlingMode, "precise", "double", "string")
	oneOfOrEmpty("debezium.connector.timePrecisionMode", con.TimePrecisionMode, "adaptive", "adaptive_time_microseconds", "connect", "isostring", "microseconds", "nanoseconds")
	oneOfOrEmpty("debezium.connector.intervalHandlingMode", con.IntervalHandlingMode, "numeric", "string")
	oneOfOrEmpty("debezium.connector.hstoreHandlingMode", con.HstoreHandlingMode, "json", "map")
	if con.MoneyFractionDigits < 0 || con.MoneyFractionDigits > 20 {
		v.add("debezium.connector.moneyFractionDigits", "must be 0..20, got %d", con.MoneyFractionDigits)
	}
	if d.RefetchTimeout < 0 {
		v.add("debezium.refetchTimeout", "must not be negative")
	}
	if d.Database != "" {
		if _, ok := c.Databases[d.Database]; !ok {
			v.add("debezium.database", "%q is not a configured database (databases: %s)", d.Database, strings.Join(slices.Sorted(maps.Keys(c.Databases)), ", "))
		}
	}
	for _, table := range slices.Sorted(maps.Keys(d.ColumnTypes)) {
		if strings.TrimSpace(table) == "" {
			v.add("debezium.columnTypes", "a table needs a name")
		}
		cols := d.ColumnTypes[table]
		for _, col := range slices.Sorted(maps.Keys(cols)) {
			if strings.TrimSpace(cols[col]) == "" {
				v.add(fmt.Sprintf("debezium.columnTypes.%s.%s", table, col), "must name a PostgreSQL type")
			}
		}
	}
}
