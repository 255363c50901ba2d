// Package connect reads values written by Kafka Connect's JsonConverter
// through their Connect schema: the logical types of Kafka Connect
// (Decimal, Date, Time, Timestamp) and of Debezium (io.debezium.time.*,
// io.debezium.data.*), so that a NUMERIC(12,2) sent as the base64 string
// "AeI6" reads as 1234.50, a DATE sent as days since the epoch as
// "2024-01-15", and a JSONB sent as a JSON string as the object it holds.
//
// With schemas.enable=true every message carries its schema (ParseSchema
// reads it). Without schemas, PostgresSchema builds the schema Debezium's
// PostgreSQL connector would have sent for a column type, from the
// connector's settings (ConnectorSettings), so column type hints decode the
// same way.
//
// What each type becomes (the "natural" value a condition compares and a
// template renders) is documented in docs/debezium.md.
package connect

import (
	"encoding/json"
	"fmt"
	"strconv"
)

// Connect schema types (Schema.Type).
const (
	TypeInt8    = "int8"
	TypeInt16   = "int16"
	TypeInt32   = "int32"
	TypeInt64   = "int64"
	TypeFloat32 = "float"
	TypeFloat64 = "double"
	TypeBoolean = "boolean"
	TypeString  = "string"
	TypeBytes   = "bytes"
	TypeArray   = "array"
	TypeMap     = "map"
	TypeStruct  = "struct"
)

// Schema is a Kafka Connect schema as the JsonConverter writes it.
type Schema struct {
	Type     string
	Optional bool
	// Name is the logical type (org.apache.kafka.connect.data.Decimal,
	// io.debezium.time.Date...) or a struct's name; empty for plain types.
	Name       string
	Parameters map[string]string
	// Field is the field's name inside its struct.
	Field string
	// Fields are a struct's fields; Items an array's elements; Keys and
	// Values a map's.
	Fields       []*Schema
	Items        *Schema
	Keys, Values *Schema
}

// FieldByName returns the struct field named name, or nil.
func (s *Schema) FieldByName(name string) *Schema {
	if s == nil {
		return nil
	}
	for _, f := range s.Fields {
		if f.Field == name {
			return f
		}
	}
	return nil
}

// maxSchemaDepth bounds the nesting ParseSchema follows: real schemas are
// a handful of levels deep, and a hostile message must not exhaust the
// stack.
const maxSchemaDepth = 64

// ParseSchema reads a schema from its decoded JSON (maps, lists, strings,
// json.Number or float64, booleans), as the "schema" member of a message
// written with schemas.enable=true.
func ParseSchema(v any) (*Schema, error) { return parseSchema(v, "schema", 0) }

func parseSchema(v any, at string, depth int) (*Schema, error) {
	if depth > maxSchemaDepth {
		return nil, fmt.Errorf("%s: nested deeper than %d levels", at, maxSchemaDepth)
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%s: not an object", at)
	}
	s := &Schema{}
	var err error
	if s.Type, err = str(m, "type", at); err != nil {
		return nil, err
	}
	if s.Type == "" {
		return nil, fmt.Errorf("%s.type: missing", at)
	}
	if s.Name, err = str(m, "name", at); err != nil {
		return nil, err
	}
	if s.Field, err = str(m, "field", at); err != nil {
		return nil, err
	}
	if b, ok := m["optional"].(bool); ok {
		s.Optional = b
	}
	if p, ok := m["parameters"].(map[string]any); ok {
		s.Parameters = make(map[string]string, len(p))
		for k, e := range p {
			switch x := e.(type) {
			case string:
				s.Parameters[k] = x
			case json.Number:
				s.Parameters[k] = x.String()
			case float64:
				s.Parameters[k] = strconv.FormatFloat(x, 'f', -1, 64)
			}
		}
	}
	switch s.Type {
	case TypeStruct:
		l, _ := m["fields"].([]any)
		for i, f := range l {
			fs, err := parseSchema(f, fmt.Sprintf("%s.fields[%d]", at, i), depth+1)
			if err != nil {
				return nil, err
			}
			s.Fields = append(s.Fields, fs)
		}
	case TypeArray:
		if it, ok := m["items"]; ok && it != nil {
			if s.Items, err = parseSchema(it, at+".items", depth+1); err != nil {
				return nil, err
			}
		}
	case TypeMap:
		if k, ok := m["keys"]; ok && k != nil {
			if s.Keys, err = parseSchema(k, at+".keys", depth+1); err != nil {
				return nil, err
			}
		}
		if vs, ok := m["values"]; ok && vs != nil {
			if s.Values, err = parseSchema(vs, at+".values", depth+1); err != nil {
				return nil, err
			}
		}
	}
	return s, nil
}

func str(m map[string]any, key, at string) (string, error) {
	v, ok := m[key]
	if !ok || v == nil {
		return "", nil
	}
	s, ok := v.(string)
	if !ok {
		return "", fmt.Errorf("%s.%s: not a string", at, key)
	}
	return s, nil
}

// intParam reads an integer parameter (the scale of a Decimal, the length
// of Bits).
func (s *Schema) intParam(name string) (int, bool) {
	v, ok := s.Parameters[name]
	if !ok {
		return 0, false
	}
	n, err := strconv.Atoi(v)
	return n, err == nil
}
