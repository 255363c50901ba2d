package ingest

import (
	"encoding/json"
	"fmt"
	"slices"
	"sort"

	"github.com/triggerd/triggerd/ingest/connect"
	"github.com/triggerd/triggerd/run"
)

// ColumnTypes tells the PostgreSQL types of a table's columns, for change
// events that come without their Connect schema (schemas.enable=false):
// without it, 19737 cannot be told from a date, nor "AeI6" from 1234.50.
type ColumnTypes interface {
	// ColumnTypes returns column → type as PostgreSQL's format_type
	// writes it ("numeric(12,2)", "timestamp(3) without time zone",
	// "jsonb", "integer[]"), or nil when the table is unknown.
	ColumnTypes(database, schema, table string) map[string]string
}

// ReplicaIdentities tells a table's replica identity, which says what a
// before image holds: with FULL every column, with DEFAULT the primary key
// alone (Debezium fills the other columns with null or a zero value,
// which are not the row's values).
type ReplicaIdentities interface {
	// ReplicaIdentity returns pg_class.relreplident of schema.table: "f"
	// (FULL), "d" (DEFAULT), "i" (USING INDEX), "n" (NOTHING), or "" when
	// unknown.
	ReplicaIdentity(database, schema, table string) string
}

// ColumnTypeHints are column types given in the configuration, by table:
// "db.schema.table", "schema.table" or "table" → column → type. The most
// qualified entry that names the event's table wins.
type ColumnTypeHints map[string]map[string]string

// ColumnTypes implements ColumnTypes.
func (h ColumnTypeHints) ColumnTypes(database, schema, table string) map[string]string {
	for _, k := range []string{database + "." + schema + "." + table, schema + "." + table, table} {
		if m, ok := h[k]; ok {
			return m
		}
	}
	return nil
}

// Over returns column types that take h's entries first and the others
// (typically read from the database) for the columns h does not name.
func (h ColumnTypeHints) Over(others ColumnTypes) ColumnTypes {
	if others == nil {
		return h
	}
	return layered{h, others}
}

type layered struct {
	top    ColumnTypeHints
	bottom ColumnTypes
}

func (l layered) ColumnTypes(database, schema, table string) map[string]string {
	top := l.top.ColumnTypes(database, schema, table)
	bottom := l.bottom.ColumnTypes(database, schema, table)
	if bottom == nil {
		return top
	}
	if top == nil {
		return bottom
	}
	out := make(map[string]string, len(bottom)+len(top))
	for k, v := range bottom {
		out[k] = v
	}
	for k, v := range top {
		out[k] = v
	}
	return out
}

// rowDecoder turns the before and after rows of one Debezium event into
// what triggers see: placeholders become unavailable fields, and values
// are decoded by their Connect schema or, without one, by their column's
// type.
type rowDecoder struct {
	opts   DecodeOptions
	ph     *placeholder
	schema *connect.Schema // the row's struct schema, nil without schemas
	types  map[string]string
	table  string
	// unavailable and notes accumulate what the rows say.
	unavailable []string
	notes       []string
}

func (d *rowDecoder) connectOptions() connect.Options {
	return connect.Options{DecimalsAsNumbers: d.opts.DecimalsAsNumbers}
}

// row decodes one row in place. roots name it in Event.Unavailable and in
// notes ("record", "previousRecord", or both for a delete's before image).
func (d *rowDecoder) row(row map[string]any, roots ...string) {
	for _, col := range sortedColumns(row) {
		v := row[col]
		var s *connect.Schema
		if d.schema != nil {
			s = d.schema.FieldByName(col)
		}
		if v != nil && d.ph.is(v, s) {
			delete(row, col)
			for _, r := range roots {
				d.unavailable = append(d.unavailable, r+"."+col)
			}
			continue
		}
		if v == nil {
			continue
		}
		row[col] = d.value(col, v, s, roots[0])
	}
}

// value decodes one column's value; a value that cannot be decoded is
// kept as it came, with a note.
func (d *rowDecoder) value(col string, v any, s *connect.Schema, root string) any {
	switch {
	case s != nil:
		out, err := connect.Decode(s, v, d.connectOptions())
		if err != nil {
			d.note(col, root, "kept as sent: "+err.Error(), "undecodable")
			return v
		}
		return out
	case d.types != nil && d.types[col] != "":
		typ := d.types[col]
		out, note, err := connect.DecodeColumn(typ, v, d.opts.Connector, d.connectOptions())
		if err != nil {
			d.note(col, root, fmt.Sprintf("looks like an undecoded Debezium encoding for column type %s, kept as sent: %v", typ, err), "undecodable")
			return v
		}
		if note != "" {
			d.note(col, root, note, "settings mismatch")
		}
		return out
	}
	// No schema and no type: only the self-describing shape of an
	// unconstrained NUMERIC is certain.
	if m, ok := v.(map[string]any); ok {
		if out, ok := connect.DecodeVariableScale(m, d.connectOptions()); ok {
			return out
		}
	}
	return v
}

func (d *rowDecoder) note(col, root, text, reason string) {
	d.notes = append(d.notes, fmt.Sprintf("%s.%s: %s", root, col, text))
	if d.opts.Undecoded != nil {
		d.opts.Undecoded(d.table, col, reason)
	}
}

func sortedColumns(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out) // notes in a stable order
	return out
}

// rowSchema returns the struct schema of the rows (the envelope's "after"
// or "before" field) of a message written with schemas.enable=true; nil
// when the message has no schema, or one without row fields.
func rowSchema(obj map[string]any) (*connect.Schema, error) {
	sch, ok := obj["schema"].(map[string]any)
	if !ok {
		return nil, nil
	}
	fields, _ := sch["fields"].([]any)
	var found any
	for _, name := range []string{"after", "before"} {
		for _, f := range fields {
			if m, ok := f.(map[string]any); ok && m["field"] == name {
				found = m
				break
			}
		}
		if found != nil {
			break
		}
	}
	if found == nil {
		return nil, nil
	}
	s, err := connect.ParseSchema(found)
	if err != nil {
		return nil, err
	}
	if s.Type != connect.TypeStruct {
		return nil, fmt.Errorf("schema of the row: type %q, want struct", s.Type)
	}
	return s, nil
}

// decodeRows applies the row decoder to ev's rows. before and after are
// the payload's rows (after is nil for a delete); key is the message's
// key (the primary key's columns).
func decodeRows(ev *run.Event, obj map[string]any, before, after map[string]any, key []byte, opts DecodeOptions) error {
	ph, err := parsePlaceholder(opts.Placeholder)
	if err != nil {
		return err
	}
	s, err := rowSchema(obj)
	if err != nil {
		return fmt.Errorf("schema: %w", err)
	}
	d := &rowDecoder{opts: opts, ph: ph, schema: s, table: ev.QualifiedTable()}
	if s == nil {
		if opts.ColumnTypes != nil {
			d.types = opts.ColumnTypes.ColumnTypes(ev.Database, ev.Schema, ev.Table)
		}
		if d.types == nil {
			d.notes = append(d.notes, fmt.Sprintf("no Connect schema and no column types for %s: numeric, date, time, timestamp and json columns are seen as Debezium encoded them (see docs/debezium.md)", d.table))
			if opts.Undecoded != nil {
				opts.Undecoded(d.table, "", "no column types")
			}
		}
	}
	if before != nil && opts.ReplicaIdentities != nil {
		switch opts.ReplicaIdentities.ReplicaIdentity(ev.Database, ev.Schema, ev.Table) {
		case "d", "n":
			// The before image holds the key alone: the rest is not the
			// row's.
			roots := []string{"previousRecord"}
			if ev.Operation == run.OperationDelete {
				roots = []string{"record", "previousRecord"}
			}
			d.keyOnly(before, keyColumns(key), roots...)
		}
	}
	switch ev.Operation {
	case run.OperationDelete:
		d.row(before, "record", "previousRecord")
	default:
		d.row(after, "record")
		if before != nil {
			d.row(before, "previousRecord")
		}
	}
	if ev.Operation == run.OperationUpdate && before == nil {
		d.unavailable = append(d.unavailable, run.UnavailablePrevious)
	}
	ev.Unavailable = append(ev.Unavailable, d.unavailable...)
	ev.Notes = append(ev.Notes, d.notes...)
	return nil
}

// keyOnly removes from row every column that is not one of keys, and
// lists them as unavailable under roots.
func (d *rowDecoder) keyOnly(row map[string]any, keys []string, roots ...string) {
	if len(keys) == 0 {
		return // a keyless message: nothing tells the key from the rest
	}
	for _, col := range sortedColumns(row) {
		if slices.Contains(keys, col) {
			continue
		}
		delete(row, col)
		for _, r := range roots {
			d.unavailable = append(d.unavailable, r+"."+col)
		}
	}
}

// keyColumns are the fields of a Debezium key (a JSON object, wrapped in
// {"schema","payload"} or not).
func keyColumns(key []byte) []string {
	var obj map[string]json.RawMessage
	if !isJSONObject(key) || json.Unmarshal(key, &obj) != nil {
		return nil
	}
	if p, ok := obj["payload"]; ok && len(obj) == 2 && obj["schema"] != nil {
		obj = nil
		if json.Unmarshal(p, &obj) != nil {
			return nil
		}
	}
	out := make([]string, 0, len(obj))
	for k := range obj {
		out = append(out, k)
	}
	return out
}
