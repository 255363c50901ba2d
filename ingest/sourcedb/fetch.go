package sourcedb

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/triggerd/triggerd/ingest/connect"
	"github.com/triggerd/triggerd/run"
)

// Fetcher reads the current values of a changed row's columns from a
// named database, found by the row's primary key (a trigger's refetch;
// it implements trigger.RowFetcher). Values are decoded as ingest decodes
// change events: a numeric as a run.Decimal, a timestamp as a time.Time,
// a jsonb as the document, a bytea in base64.
//
// The row is read as it is now, which may be newer than the change: a
// refetch fills what the event lacks, it does not travel back in time.
type Fetcher struct {
	dbs  map[string]Querier
	opts connect.Options
	// Observe, when set, is told of every read: its database, how long it
	// took and its error (a latency metric).
	Observe func(database string, took time.Duration, err error)

	mu     sync.Mutex
	tables map[string]*tableShape // by database and schema.table
}

// tableShape is what a fetch needs of a table: its primary key and the
// type of every column.
type tableShape struct {
	ident   pgx.Identifier
	pk      []string
	types   map[string]string
	fetched time.Time
}

// shapeTTL bounds how long a table's shape is trusted.
const shapeTTL = time.Minute

// NewFetcher returns a Fetcher over the named databases. decimalsAsNumbers
// is ingest's setting (DecodeOptions.DecimalsAsNumbers).
func NewFetcher(dbs map[string]Querier, decimalsAsNumbers bool) *Fetcher {
	return &Fetcher{dbs: dbs, opts: connect.Options{DecimalsAsNumbers: decimalsAsNumbers}, tables: map[string]*tableShape{}}
}

// FetchRow implements trigger.RowFetcher.
func (f *Fetcher) FetchRow(ctx context.Context, database string, ev *run.Event, columns []string) (row map[string]any, err error) {
	begin := time.Now()
	defer func() {
		if f.Observe != nil {
			f.Observe(database, time.Since(begin), err)
		}
	}()
	db, ok := f.dbs[database]
	if !ok {
		return nil, fmt.Errorf("database %q is not configured", database)
	}
	shape, err := f.shape(ctx, database, db, ev)
	if err != nil {
		return nil, err
	}
	if len(shape.pk) == 0 {
		return nil, fmt.Errorf("table %s has no primary key to find the row by", shape.ident.Sanitize())
	}
	var sel []string
	for _, c := range columns {
		typ, ok := shape.types[c]
		if !ok {
			return nil, fmt.Errorf("table %s has no column %q", shape.ident.Sanitize(), c)
		}
		expr := pgx.Identifier{c}.Sanitize()
		if baseType(typ) == "money" {
			expr += "::numeric" // money's text depends on the server's locale
		}
		sel = append(sel, "to_jsonb("+expr+")::text")
	}
	var where []string
	var args []any
	for i, k := range shape.pk {
		v, ok := ev.Record[k]
		if !ok || v == nil {
			return nil, fmt.Errorf("the event has no value of the primary key column %q", k)
		}
		// The key's text, cast by the server to the column's type: the
		// index on the key serves the read whatever the type.
		where = append(where, fmt.Sprintf("%s = $%d::text::%s", pgx.Identifier{k}.Sanitize(), i+1, shape.types[k]))
		args = append(args, keyText(v))
	}
	q := "SELECT " + strings.Join(sel, ", ") + " FROM " + shape.ident.Sanitize() + " WHERE " + strings.Join(where, " AND ")
	rows, err := db.Query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", shape.ident.Sanitize(), err)
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("read %s: %w", shape.ident.Sanitize(), err)
		}
		return nil, nil
	}
	texts := make([]*string, len(columns))
	dest := make([]any, len(columns))
	for i := range texts {
		dest[i] = &texts[i]
	}
	if err := rows.Scan(dest...); err != nil {
		return nil, fmt.Errorf("read %s: %w", shape.ident.Sanitize(), err)
	}
	row = make(map[string]any, len(columns))
	for i, c := range columns {
		if texts[i] == nil {
			row[c] = nil
			continue
		}
		v, err := fromJSONB(shape.types[c], *texts[i], f.opts)
		if err != nil {
			return nil, fmt.Errorf("column %s: %w", c, err)
		}
		row[c] = v
	}
	return row, rows.Err()
}

// shape returns the primary key and column types of ev's table, read from
// the catalog at most once a minute.
func (f *Fetcher) shape(ctx context.Context, database string, db Querier, ev *run.Event) (*tableShape, error) {
	schema := ev.Schema
	if schema == "" {
		schema = "public"
	}
	key := database + "\x00" + schema + "." + ev.Table
	f.mu.Lock()
	s, ok := f.tables[key]
	f.mu.Unlock()
	if ok && time.Since(s.fetched) < shapeTTL {
		return s, nil
	}
	s = &tableShape{ident: pgx.Identifier{schema, ev.Table}, types: map[string]string{}, fetched: time.Now()}
	rows, err := db.Query(ctx, `
SELECT a.attname, format_type(a.atttypid, a.atttypmod),
       coalesce(a.attnum = ANY(i.indkey), false)
FROM pg_attribute a
LEFT JOIN pg_index i ON i.indrelid = a.attrelid AND i.indisprimary
WHERE a.attrelid = to_regclass($1) AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY a.attnum`, s.ident.Sanitize())
	if err != nil {
		return nil, fmt.Errorf("read the catalog of %s: %w", s.ident.Sanitize(), err)
	}
	defer rows.Close()
	for rows.Next() {
		var col, typ string
		var isKey bool
		if err := rows.Scan(&col, &typ, &isKey); err != nil {
			return nil, fmt.Errorf("read the catalog of %s: %w", s.ident.Sanitize(), err)
		}
		s.types[col] = typ
		if isKey {
			s.pk = append(s.pk, col)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read the catalog of %s: %w", s.ident.Sanitize(), err)
	}
	if len(s.types) == 0 {
		return nil, fmt.Errorf("table %s not found", s.ident.Sanitize())
	}
	f.mu.Lock()
	f.tables[key] = s
	f.mu.Unlock()
	return s, nil
}

// keyText renders a decoded key value as PostgreSQL reads it back.
func keyText(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case time.Time:
		return x.Format(time.RFC3339Nano)
	case fmt.Stringer:
		return x.String()
	}
	return fmt.Sprint(v)
}

// baseType is typ without array brackets and modifiers: "numeric" for
// "numeric(12,2)[]", "timestamp without time zone" for "timestamp(3)
// without time zone".
func baseType(typ string) string {
	t := strings.TrimSuffix(strings.ToLower(typ), "[]")
	if open := strings.IndexByte(t, '('); open >= 0 {
		if closing := strings.IndexByte(t[open:], ')'); closing >= 0 {
			t = t[:open] + t[open+closing+1:]
		}
	}
	return strings.Join(strings.Fields(t), " ")
}

// fromJSONB decodes a column's to_jsonb text into what a change event's
// value decodes to.
func fromJSONB(typ, text string, o connect.Options) (any, error) {
	dec := json.NewDecoder(strings.NewReader(text))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	return convert(baseType(typ), v, o)
}

func convert(base string, v any, o connect.Options) (any, error) {
	if l, ok := v.([]any); ok && base != "json" && base != "jsonb" {
		out := make([]any, len(l))
		for i, e := range l {
			c, err := convert(base, e, o)
			if err != nil {
				return nil, err
			}
			out[i] = c
		}
		return out, nil
	}
	if v == nil {
		return nil, nil
	}
	switch base {
	case "numeric", "decimal", "money":
		n, ok := v.(json.Number)
		if !ok {
			return v, nil // NaN, Infinity
		}
		return connect.DecimalOf(string(n), o)
	case "bytea":
		s, _ := v.(string)
		b, err := hex.DecodeString(strings.TrimPrefix(s, `\x`))
		if err != nil {
			return nil, errors.New("bytea: not hex")
		}
		return base64.StdEncoding.EncodeToString(b), nil
	case "timestamp without time zone", "timestamp":
		s, _ := v.(string)
		t, err := time.Parse("2006-01-02T15:04:05.999999999", s)
		if err != nil {
			return v, nil // infinity
		}
		return t.UTC(), nil
	case "timestamp with time zone", "timestamptz":
		s, _ := v.(string)
		t, err := time.Parse("2006-01-02T15:04:05.999999999Z07:00", s)
		if err != nil {
			return v, nil
		}
		return t.UTC(), nil
	case "time with time zone", "timetz":
		s, _ := v.(string)
		for _, layout := range []string{"15:04:05.999999999Z07:00", "15:04:05.999999999Z07", "15:04:05.999999999Z07:00:00"} {
			if t, err := time.Parse(layout, s); err == nil {
				// Debezium writes a timetz in UTC.
				return t.UTC().Format("15:04:05.999999999") + "Z", nil
			}
		}
		return v, nil
	}
	return v, nil
}
