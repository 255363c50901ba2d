package connect

import (
	"fmt"
	"strconv"
	"strings"
)

// Values of the connector settings ConnectorSettings mirrors (the
// Debezium PostgreSQL connector's properties of the same names).
const (
	DecimalPrecise = "precise"
	DecimalDouble  = "double"
	DecimalString  = "string"

	TimeAdaptive                 = "adaptive"
	TimeAdaptiveTimeMicroseconds = "adaptive_time_microseconds"
	TimeConnect                  = "connect"
	TimeIsoString                = "isostring"
	TimeMicroseconds             = "microseconds"
	TimeNanoseconds              = "nanoseconds"

	IntervalNumeric = "numeric"
	IntervalString  = "string"

	HstoreJSON = "json"
	HstoreMap  = "map"
)

// ConnectorSettings mirror the Debezium PostgreSQL connector settings that
// decide how a column is encoded: decimal.handling.mode,
// time.precision.mode, interval.handling.mode, money.fraction.digits and
// hstore.handling.mode. Without schemas, they are what tells 18000 days
// from 18000 milliseconds. Empty fields take Debezium's defaults.
type ConnectorSettings struct {
	DecimalHandlingMode  string
	TimePrecisionMode    string
	IntervalHandlingMode string
	MoneyFractionDigits  *int
	HstoreHandlingMode   string
}

// WithDefaults fills the empty fields with the connector's defaults.
func (c ConnectorSettings) WithDefaults() ConnectorSettings {
	def := func(s *string, v string) {
		if *s == "" {
			*s = v
		}
	}
	def(&c.DecimalHandlingMode, DecimalPrecise)
	def(&c.TimePrecisionMode, TimeAdaptive)
	def(&c.IntervalHandlingMode, IntervalNumeric)
	def(&c.HstoreHandlingMode, HstoreJSON)
	if c.MoneyFractionDigits == nil {
		two := 2
		c.MoneyFractionDigits = &two
	}
	return c
}

// Validate reports the first setting with an unknown value, naming it as
// the connector does.
func (c ConnectorSettings) Validate() error {
	check := func(name, v string, ok ...string) error {
		if v == "" {
			return nil
		}
		for _, o := range ok {
			if v == o {
				return nil
			}
		}
		return fmt.Errorf("%s: unknown value %q (want one of %s)", name, v, strings.Join(ok, ", "))
	}
	for _, err := range []error{
		check("decimal.handling.mode", c.DecimalHandlingMode, DecimalPrecise, DecimalDouble, DecimalString),
		check("time.precision.mode", c.TimePrecisionMode, TimeAdaptive, TimeAdaptiveTimeMicroseconds, TimeConnect, TimeIsoString, TimeMicroseconds, TimeNanoseconds),
		check("interval.handling.mode", c.IntervalHandlingMode, IntervalNumeric, IntervalString),
		check("hstore.handling.mode", c.HstoreHandlingMode, HstoreJSON, HstoreMap),
	} {
		if err != nil {
			return err
		}
	}
	if c.MoneyFractionDigits != nil && (*c.MoneyFractionDigits < 0 || *c.MoneyFractionDigits > 20) {
		return fmt.Errorf("money.fraction.digits: %d is out of range (0-20)", *c.MoneyFractionDigits)
	}
	return nil
}

// sourceType is the parameter Debezium adds with
// column.propagate.source.type; PostgresSchema sets it so that a decimal
// written as text or as a double still reads as a decimal.
const sourceType = "__debezium.source.column.type"

// PostgresSchema returns the Connect schema the Debezium PostgreSQL
// connector gives a column of type typ under settings c, for values that
// arrive without their schema. typ is a PostgreSQL type as format_type
// prints it or a user writes it: "numeric(12,2)", "timestamp(3) without
// time zone", "timestamptz", "jsonb", "integer[]", "_int4". A type it does
// not know (an enum, a domain, text) is a plain string; so is an empty typ.
func PostgresSchema(typ string, c ConnectorSettings) (*Schema, error) {
	c = c.WithDefaults()
	t := strings.ToLower(strings.TrimSpace(typ))
	if elem, ok := strings.CutSuffix(t, "[]"); ok {
		items, err := PostgresSchema(elem, c)
		if err != nil {
			return nil, err
		}
		return &Schema{Type: TypeArray, Items: items}, nil
	}
	if strings.HasPrefix(t, "_") && len(t) > 1 {
		return PostgresSchema(t[1:]+"[]", c)
	}
	base, mods, err := typeModifiers(t)
	if err != nil {
		return nil, fmt.Errorf("column type %q: %w", typ, err)
	}
	precision := -1
	if len(mods) > 0 {
		precision = mods[0]
	}
	switch base {
	case "bool", "boolean":
		return &Schema{Type: TypeBoolean}, nil
	case "smallint", "int2", "smallserial", "serial2":
		return &Schema{Type: TypeInt16}, nil
	case "integer", "int", "int4", "serial", "serial4":
		return &Schema{Type: TypeInt32}, nil
	case "bigint", "int8", "bigserial", "serial8", "oid":
		return &Schema{Type: TypeInt64}, nil
	case "real", "float4":
		return &Schema{Type: TypeFloat32}, nil
	case "double precision", "float8", "float":
		return &Schema{Type: TypeFloat64}, nil
	case "numeric", "decimal":
		scale := -1
		if len(mods) > 1 {
			scale = mods[1]
		} else if len(mods) == 1 {
			scale = 0
		}
		return decimalSchema(c, scale, "NUMERIC"), nil
	case "money":
		return decimalSchema(c, *c.MoneyFractionDigits, "MONEY"), nil
	case "date":
		switch c.TimePrecisionMode {
		case TimeIsoString:
			return &Schema{Type: TypeString, Name: IsoDate}, nil
		case TimeConnect:
			return &Schema{Type: TypeInt32, Name: ConnectDate}, nil
		}
		return &Schema{Type: TypeInt32, Name: Date}, nil
	case "time", "time without time zone":
		return timeSchema(c, precision), nil
	case "timetz", "time with time zone":
		return &Schema{Type: TypeString, Name: ZonedTime}, nil
	case "timestamp", "timestamp without time zone":
		return timestampSchema(c, precision), nil
	case "timestamptz", "timestamp with time zone":
		return &Schema{Type: TypeString, Name: ZonedTimestamp}, nil
	case "interval":
		if c.IntervalHandlingMode == IntervalString {
			return &Schema{Type: TypeString, Name: Interval}, nil
		}
		return &Schema{Type: TypeInt64, Name: MicroDuration}, nil
	case "json", "jsonb":
		return &Schema{Type: TypeString, Name: Json}, nil
	case "hstore":
		if c.HstoreHandlingMode == HstoreMap {
			return &Schema{Type: TypeMap, Keys: &Schema{Type: TypeString}, Values: &Schema{Type: TypeString, Optional: true}}, nil
		}
		return &Schema{Type: TypeString, Name: Json}, nil
	case "uuid":
		return &Schema{Type: TypeString, Name: Uuid}, nil
	case "xml":
		return &Schema{Type: TypeString, Name: Xml}, nil
	case "bytea":
		return &Schema{Type: TypeBytes}, nil
	case "bit", "bit varying", "varbit":
		length := precision
		if length < 0 && base == "bit" {
			length = 1 // BIT alone is BIT(1)
		}
		if length == 1 {
			return &Schema{Type: TypeBoolean}, nil
		}
		s := &Schema{Type: TypeBytes, Name: Bits, Parameters: map[string]string{}}
		if length > 1 {
			s.Parameters["length"] = strconv.Itoa(length)
			if base == "bit" {
				s.Parameters[sourceType] = "BIT"
			}
		}
		return s, nil
	}
	return &Schema{Type: TypeString}, nil
}

func decimalSchema(c ConnectorSettings, scale int, source string) *Schema {
	switch c.DecimalHandlingMode {
	case DecimalDouble:
		return &Schema{Type: TypeFloat64, Parameters: map[string]string{sourceType: source}}
	case DecimalString:
		return &Schema{Type: TypeString, Parameters: map[string]string{sourceType: source}}
	}
	if scale < 0 {
		return &Schema{Type: TypeStruct, Name: VariableScaleDecimal}
	}
	return &Schema{Type: TypeBytes, Name: ConnectDecimal, Parameters: map[string]string{"scale": strconv.Itoa(scale)}}
}

// timeSchema follows the connector: TIME(0-3) is milliseconds in the
// adaptive mode, TIME and TIME(4-6) microseconds.
func timeSchema(c ConnectorSettings, precision int) *Schema {
	switch c.TimePrecisionMode {
	case TimeIsoString:
		return &Schema{Type: TypeString, Name: IsoTime}
	case TimeConnect:
		return &Schema{Type: TypeInt32, Name: ConnectTime}
	case TimeNanoseconds:
		return &Schema{Type: TypeInt64, Name: NanoTime}
	case TimeAdaptive:
		if precision >= 0 && precision <= 3 {
			return &Schema{Type: TypeInt32, Name: Time}
		}
	}
	return &Schema{Type: TypeInt64, Name: MicroTime}
}

// timestampSchema: TIMESTAMP(0-3) is milliseconds in the adaptive modes,
// TIMESTAMP and TIMESTAMP(4-6) microseconds.
func timestampSchema(c ConnectorSettings, precision int) *Schema {
	switch c.TimePrecisionMode {
	case TimeIsoString:
		return &Schema{Type: TypeString, Name: IsoTimestamp}
	case TimeConnect:
		return &Schema{Type: TypeInt64, Name: ConnectTimestamp}
	case TimeNanoseconds:
		return &Schema{Type: TypeInt64, Name: NanoTimestamp}
	case TimeMicroseconds:
		return &Schema{Type: TypeInt64, Name: MicroTimestamp}
	}
	if precision >= 0 && precision <= 3 {
		return &Schema{Type: TypeInt64, Name: Timestamp}
	}
	return &Schema{Type: TypeInt64, Name: MicroTimestamp}
}

// typeModifiers splits "timestamp(3) without time zone" into
// "timestamp without time zone" and [3], "numeric(12, 2)" into "numeric"
// and [12 2].
func typeModifiers(t string) (string, []int, error) {
	open := strings.IndexByte(t, '(')
	if open < 0 {
		return strings.Join(strings.Fields(t), " "), nil, nil
	}
	closing := strings.IndexByte(t[open:], ')')
	if closing < 0 {
		return "", nil, fmt.Errorf("unclosed '('")
	}
	var mods []int
	for _, m := range strings.Split(t[open+1:open+closing], ",") {
		n, err := strconv.Atoi(strings.TrimSpace(m))
		if err != nil {
			return "", nil, fmt.Errorf("modifier %q is not an integer", strings.TrimSpace(m))
		}
		mods = append(mods, n)
	}
	base := strings.Join(strings.Fields(t[:open]+" "+t[open+closing+1:]), " ")
	return base, mods, nil
}
