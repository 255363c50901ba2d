package connect

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"strings"
	"time"

	"github.com/triggerd/triggerd/ingest/jsonvalue"
	"github.com/triggerd/triggerd/run"
)

// Logical type names (Schema.Name) that Decode reads.
const (
	ConnectDecimal   = "org.apache.kafka.connect.data.Decimal"
	ConnectDate      = "org.apache.kafka.connect.data.Date"
	ConnectTime      = "org.apache.kafka.connect.data.Time"
	ConnectTimestamp = "org.apache.kafka.connect.data.Timestamp"

	VariableScaleDecimal = "io.debezium.data.VariableScaleDecimal"
	Json                 = "io.debezium.data.Json"
	Uuid                 = "io.debezium.data.Uuid"
	Enum                 = "io.debezium.data.Enum"
	EnumSet              = "io.debezium.data.EnumSet"
	Bits                 = "io.debezium.data.Bits"
	Xml                  = "io.debezium.data.Xml"

	Date           = "io.debezium.time.Date"
	Time           = "io.debezium.time.Time"
	MicroTime      = "io.debezium.time.MicroTime"
	NanoTime       = "io.debezium.time.NanoTime"
	Timestamp      = "io.debezium.time.Timestamp"
	MicroTimestamp = "io.debezium.time.MicroTimestamp"
	NanoTimestamp  = "io.debezium.time.NanoTimestamp"
	ZonedTimestamp = "io.debezium.time.ZonedTimestamp"
	ZonedTime      = "io.debezium.time.ZonedTime"
	IsoDate        = "io.debezium.time.IsoDate"
	IsoTime        = "io.debezium.time.IsoTime"
	IsoTimestamp   = "io.debezium.time.IsoTimestamp"
	MicroDuration  = "io.debezium.time.MicroDuration"
	NanoDuration   = "io.debezium.time.NanoDuration"
	Interval       = "io.debezium.time.Interval"
)

// Formats of the natural values of dates and times of day.
const (
	DateLayout      = "2006-01-02"
	TimeOfDayLayout = "15:04:05.999999999"
)

// Debezium writes PostgreSQL's infinite timestamps as these epoch values
// (the PostgreSQL JDBC driver's sentinels), in milliseconds, microseconds
// and nanoseconds; they read as "infinity" and "-infinity".
var infinities = map[string][2]int64{
	"ms": {9223372036825200, -9223372036832400},
	"us": {9223372036825200000, -9223372036832400000},
	"ns": {9223372036854775807, -9223372036854775808},
}

type logicalDecoder func(s *Schema, v any, o Options) (any, error)

var logical = map[string]logicalDecoder{
	ConnectDecimal:       decodeDecimal,
	VariableScaleDecimal: decodeVariableScale,
	ConnectDate:          decodeDate,
	Date:                 decodeDate,
	ConnectTime:          timeOfDay(time.Millisecond),
	Time:                 timeOfDay(time.Millisecond),
	MicroTime:            timeOfDay(time.Microsecond),
	NanoTime:             timeOfDay(time.Nanosecond),
	ConnectTimestamp:     timestamp("ms"),
	Timestamp:            timestamp("ms"),
	MicroTimestamp:       timestamp("us"),
	NanoTimestamp:        timestamp("ns"),
	ZonedTimestamp:       decodeISOTimestamp,
	IsoTimestamp:         decodeISOTimestamp,
	ZonedTime:            passString,
	IsoDate:              withoutOffset,
	IsoTime:              withoutOffset,
	MicroDuration:        duration(time.Microsecond),
	NanoDuration:         duration(time.Nanosecond),
	Interval:             passString,
	Json:                 decodeJSON,
	Uuid:                 passString,
	Enum:                 passString,
	Xml:                  passString,
	EnumSet:              decodeEnumSet,
	Bits:                 decodeBits,
}

// decodeDecimal reads org.apache.kafka.connect.data.Decimal: the unscaled
// value as base64 big-endian two's complement bytes (the JsonConverter's
// default decimal.format=BASE64) or as a JSON number
// (decimal.format=NUMERIC), with the scale in the schema's parameters.
func decodeDecimal(s *Schema, v any, o Options) (any, error) {
	if n, ok := v.(json.Number); ok {
		return decimalOf(string(n), o)
	}
	scale, ok := s.intParam("scale")
	if !ok {
		return nil, errors.New("schema has no scale parameter")
	}
	raw, err := bytesOf(v)
	if err != nil {
		return nil, err
	}
	return unscaledDecimal(raw, scale, o)
}

// decodeVariableScale reads io.debezium.data.VariableScaleDecimal (an
// unconstrained NUMERIC): {"scale": 2, "value": "<base64 unscaled>"}.
func decodeVariableScale(_ *Schema, v any, o Options) (any, error) {
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("want {\"scale\", \"value\"}, got %s", kind(v))
	}
	scale, err := integer(m["scale"])
	if err != nil {
		return nil, fmt.Errorf("scale: %w", err)
	}
	raw, err := bytesOf(m["value"])
	if err != nil {
		return nil, fmt.Errorf("value: %w", err)
	}
	return unscaledDecimal(raw, int(scale), o)
}

// DecodeVariableScale reports whether m has the shape of an
// io.debezium.data.VariableScaleDecimal and decodes it; events without
// schemas carry the shape alone.
func DecodeVariableScale(m map[string]any, o Options) (any, bool) {
	if len(m) != 2 || m["scale"] == nil || m["value"] == nil {
		return nil, false
	}
	d, err := decodeVariableScale(nil, m, o)
	return d, err == nil
}

// UnscaledDecimal decodes the base64 big-endian two's complement bytes of
// a decimal's unscaled value with a known scale (a NUMERIC(p,s) column's
// value without its schema).
func UnscaledDecimal(b64 string, scale int, o Options) (any, error) {
	raw, err := bytesOf(b64)
	if err != nil {
		return nil, err
	}
	return unscaledDecimal(raw, scale, o)
}

func unscaledDecimal(raw []byte, scale int, o Options) (any, error) {
	n := new(big.Int).SetBytes(raw)
	if len(raw) > 0 && raw[0]&0x80 != 0 { // negative: subtract 2^(8·len)
		n.Sub(n, new(big.Int).Lsh(big.NewInt(1), uint(8*len(raw))))
	}
	d, err := run.NewDecimal(n, int32(scale))
	if err != nil {
		return nil, err
	}
	if o.DecimalsAsNumbers {
		return json.Number(d.String()), nil
	}
	return d, nil
}

// DecimalOf reads a decimal written as text ("1234.50", Debezium's
// decimal.handling.mode=string) or as a JSON number.
func DecimalOf(s string, o Options) (any, error) { return decimalOf(s, o) }

func decimalOf(s string, o Options) (any, error) {
	d, err := run.ParseDecimal(s)
	if err != nil {
		return nil, err
	}
	if o.DecimalsAsNumbers {
		return json.Number(d.String()), nil
	}
	return d, nil
}

// decodeDate reads days since the epoch.
func decodeDate(_ *Schema, v any, _ Options) (any, error) {
	days, err := integer(v)
	if err != nil {
		return nil, err
	}
	t := time.Unix(days*86400, 0).UTC()
	if t.Year() < 0 || t.Year() > 9999 {
		return infinityOr(days > 0), nil
	}
	return t.Format(DateLayout), nil
}

// DateOfDays renders days since the epoch as a date.
func DateOfDays(days int64) string {
	v, _ := decodeDate(nil, json.Number(fmt.Sprint(days)), Options{})
	s, _ := v.(string)
	return s
}

func infinityOr(positive bool) string {
	if positive {
		return "infinity"
	}
	return "-infinity"
}

// timeOfDay reads a time since midnight in unit.
func timeOfDay(unit time.Duration) logicalDecoder {
	return func(_ *Schema, v any, _ Options) (any, error) {
		n, err := integer(v)
		if err != nil {
			return nil, err
		}
		return TimeOfDay(time.Duration(n) * unit), nil
	}
}

// TimeOfDay renders a time since midnight as "15:04:05.999999999"; a
// PostgreSQL TIME may be 24:00:00.
func TimeOfDay(d time.Duration) string {
	if d == 24*time.Hour {
		return "24:00:00"
	}
	return time.Unix(0, 0).UTC().Add(d).Format(TimeOfDayLayout)
}

// timestamp reads an epoch timestamp in unit ("ms", "us", "ns"). A
// TIMESTAMP without time zone is read as UTC, as Debezium writes it.
func timestamp(unit string) logicalDecoder {
	return func(_ *Schema, v any, _ Options) (any, error) {
		n, err := integer(v)
		if err != nil {
			return nil, err
		}
		return Epoch(n, unit)
	}
}

// Epoch returns the instant n units ("ms", "us", "ns") after the epoch,
// or "infinity"/"-infinity" for Debezium's infinite timestamps.
func Epoch(n int64, unit string) (any, error) {
	inf := infinities[unit]
	switch n {
	case inf[0]:
		return "infinity", nil
	case inf[1]:
		return "-infinity", nil
	}
	var t time.Time
	switch unit {
	case "ms":
		t = time.UnixMilli(n)
	case "us":
		t = time.UnixMicro(n)
	default:
		t = time.Unix(0, n)
	}
	t = t.UTC()
	if t.Year() < 0 || t.Year() > 9999 {
		return nil, fmt.Errorf("%d%s is outside years 0-9999", n, unit)
	}
	return t, nil
}

// decodeISOTimestamp reads an ISO 8601 timestamp with offset (Debezium's
// ZonedTimestamp, in UTC, and IsoTimestamp).
func decodeISOTimestamp(_ *Schema, v any, _ Options) (any, error) {
	s, err := text(v)
	if err != nil {
		return nil, err
	}
	switch s {
	case "infinity", "-infinity":
		return s, nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return nil, fmt.Errorf("want an ISO 8601 timestamp, got %q", abbreviate(s))
	}
	if t.Year() < 0 || t.Year() > 9999 {
		return s, nil
	}
	return t.UTC(), nil
}

// withoutOffset reads IsoDate ("2017-09-15Z") and IsoTime
// ("04:05:11.789Z"), always in UTC, as a date and a time of day without
// the offset, as the adaptive modes give them.
func withoutOffset(_ *Schema, v any, _ Options) (any, error) {
	s, err := text(v)
	if err != nil {
		return nil, err
	}
	return StripUTC(s), nil
}

// StripUTC removes a trailing "Z" or "+00:00" offset.
func StripUTC(s string) string {
	if t, ok := strings.CutSuffix(s, "Z"); ok {
		return t
	}
	if t, ok := strings.CutSuffix(s, "+00:00"); ok {
		return t
	}
	return s
}

func passString(_ *Schema, v any, _ Options) (any, error) {
	if _, err := text(v); err != nil {
		return nil, err
	}
	return v, nil
}

// duration reads MicroDuration/NanoDuration (Debezium's approximate
// length of an interval: a month is 30.4375 days) as an ISO 8601 duration
// in days, hours, minutes and seconds.
func duration(unit time.Duration) logicalDecoder {
	return func(_ *Schema, v any, _ Options) (any, error) {
		n, err := integer(v)
		if err != nil {
			return nil, err
		}
		return ISODuration(n, unit), nil
	}
}

// ISODuration renders n units as "P1DT2H3M4.5S" ("PT0S" for zero).
func ISODuration(n int64, unit time.Duration) string {
	neg := n < 0
	u := new(big.Int).Abs(big.NewInt(n))
	u.Mul(u, big.NewInt(int64(unit))) // nanoseconds, exactly
	day := big.NewInt(int64(24 * time.Hour))
	days, rest := new(big.Int).QuoRem(u, day, new(big.Int))
	d := time.Duration(rest.Int64())
	var b strings.Builder
	if neg {
		b.WriteByte('-')
	}
	b.WriteByte('P')
	if days.Sign() > 0 {
		b.WriteString(days.String() + "D")
	}
	if d > 0 || days.Sign() == 0 {
		b.WriteByte('T')
		h, m := d/time.Hour, (d%time.Hour)/time.Minute
		sec := d % time.Minute
		if h > 0 {
			fmt.Fprintf(&b, "%dH", h)
		}
		if m > 0 {
			fmt.Fprintf(&b, "%dM", m)
		}
		if sec > 0 || (h == 0 && m == 0) {
			s := fmt.Sprintf("%d.%09d", sec/time.Second, sec%time.Second)
			s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
			b.WriteString(s + "S")
		}
	}
	return b.String()
}

// decodeJSON reads io.debezium.data.Json: a JSON document written as a
// string. Numbers inside keep their exact form (json.Number).
func decodeJSON(_ *Schema, v any, _ Options) (any, error) {
	s, err := text(v)
	if err != nil {
		return nil, err
	}
	return ParseJSON(s)
}

// ParseJSON decodes exactly one JSON value, numbers as json.Number. Most
// documents take jsonvalue's fast path; the rest go through encoding/json.
func ParseJSON(s string) (any, error) {
	if v, ok := jsonvalue.ParseString(s); ok {
		return v, nil
	}
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	var out any
	if err := dec.Decode(&out); err != nil {
		return nil, fmt.Errorf("want a JSON document, got %q", abbreviate(s))
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("want one JSON document, got %q", abbreviate(s))
	}
	return out, nil
}

// decodeEnumSet reads a SET value, "a,b", as the list of its members.
func decodeEnumSet(_ *Schema, v any, _ Options) (any, error) {
	s, err := text(v)
	if err != nil {
		return nil, err
	}
	out := []any{}
	if s == "" {
		return out, nil
	}
	for _, e := range strings.Split(s, ",") {
		out = append(out, e)
	}
	return out, nil
}

// decodeBits reads io.debezium.data.Bits (little-endian bytes: bit 0 is
// the lowest bit of the first byte) as the bit string SQL writes,
// most significant bit first: B'101' reads "101". Leading zeros are not
// sent, so the string has as many digits as the highest set bit needs,
// unless the schema says the column is BIT(n) (the connector's
// column.propagate.source.type), when it has n.
func decodeBits(s *Schema, v any, _ Options) (any, error) {
	raw, err := bytesOf(v)
	if err != nil {
		return nil, err
	}
	n := len(raw) * 8
	if s != nil && strings.EqualFold(s.Parameters["__debezium.source.column.type"], "BIT") {
		if l, ok := s.intParam("length"); ok && l > 0 && l <= 1<<20 {
			n = l
		}
	}
	var b bytes.Buffer
	for i := n - 1; i >= 0; i-- {
		bit := byte('0')
		if i/8 < len(raw) && raw[i/8]>>(i%8)&1 == 1 {
			bit = '1'
		}
		b.WriteByte(bit)
	}
	out := b.String()
	if s == nil || !strings.EqualFold(s.Parameters["__debezium.source.column.type"], "BIT") {
		out = strings.TrimLeft(out, "0")
		if out == "" {
			out = "0"
		}
	}
	return out, nil
}
