package sourcedb

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"
)

// Catalog tells the PostgreSQL types of a table's columns, read from
// information_schema.columns once per table and kept for TTL
// (ingest.ColumnTypes). A table that cannot be read (the database is
// down, the table unknown) is asked again after RetryAfter.
type Catalog struct {
	db  Querier
	log *slog.Logger
	// TTL is how long a table's types are trusted (a migration is seen
	// after it), RetryAfter how soon a failed read is tried again, and
	// Timeout bounds one read.
	TTL, RetryAfter, Timeout time.Duration

	mu     sync.RWMutex
	tables map[string]catalogEntry
	now    func() time.Time
}

type catalogEntry struct {
	types    map[string]string
	identity string // pg_class.relreplident, "" when unknown
	expires  time.Time
}

// Defaults of a Catalog's durations.
const (
	DefaultCatalogTTL     = time.Minute
	DefaultCatalogRetry   = 10 * time.Second
	DefaultCatalogTimeout = 2 * time.Second
)

// NewCatalog returns a Catalog reading from db. A nil logger discards.
func NewCatalog(db Querier, log *slog.Logger) *Catalog {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Catalog{db: db, log: log, TTL: DefaultCatalogTTL, RetryAfter: DefaultCatalogRetry, Timeout: DefaultCatalogTimeout,
		tables: map[string]catalogEntry{}, now: time.Now}
}

// ColumnTypes returns column → type of schema.table ("public" when the
// event names no schema), nil when unknown. database is not used: the
// Catalog reads the one database it was given.
func (c *Catalog) ColumnTypes(_, schema, table string) map[string]string {
	return c.entry(schema, table).types
}

// ReplicaIdentity returns the table's pg_class.relreplident ("f" FULL,
// "d" DEFAULT, "i" USING INDEX, "n" NOTHING), "" when unknown
// (ingest.ReplicaIdentities).
func (c *Catalog) ReplicaIdentity(_, schema, table string) string {
	return c.entry(schema, table).identity
}

func (c *Catalog) entry(schema, table string) catalogEntry {
	if schema == "" {
		schema = "public"
	}
	key := schema + "." + table
	c.mu.RLock()
	e, ok := c.tables[key]
	c.mu.RUnlock()
	now := c.now()
	if ok && now.Before(e.expires) {
		return e
	}
	ctx, cancel := context.WithTimeout(context.Background(), c.Timeout)
	defer cancel()
	types, identity, err := c.read(ctx, schema, table)
	switch {
	case err != nil:
		c.log.Warn("cannot read column types; events of the table are read as they come until it can", "table", key, "error", err)
		if ok { // keep what was known
			types, identity = e.types, e.identity
		}
		e = catalogEntry{types: types, identity: identity, expires: now.Add(c.RetryAfter)}
	case len(types) == 0:
		e = catalogEntry{expires: now.Add(c.RetryAfter)}
	default:
		e = catalogEntry{types: types, identity: identity, expires: now.Add(c.TTL)}
	}
	c.mu.Lock()
	c.tables[key] = e
	c.mu.Unlock()
	return e
}

// columnTypesSQL writes each column's type as format_type would, from
// information_schema.columns: numeric(12,2), timestamp(3) without time
// zone, _int4 for an integer[] (the element's udt_name), the enum's name
// for a user-defined type; a domain reads as its base type.
const columnTypesSQL = `
SELECT column_name,
       CASE
         WHEN data_type IN ('numeric', 'decimal') AND numeric_precision IS NOT NULL
           THEN data_type || '(' || numeric_precision || ',' || coalesce(numeric_scale, 0) || ')'
         WHEN data_type IN ('time without time zone', 'timestamp without time zone') AND datetime_precision IS NOT NULL
           THEN split_part(data_type, ' ', 1) || '(' || datetime_precision || ')'
         WHEN data_type = 'bit' AND character_maximum_length IS NOT NULL
           THEN 'bit(' || character_maximum_length || ')'
         WHEN data_type IN ('ARRAY', 'USER-DEFINED') THEN udt_name
         ELSE data_type
       END
FROM information_schema.columns
WHERE table_schema = $1 AND table_name = $2`

func (c *Catalog) read(ctx context.Context, schema, table string) (map[string]string, string, error) {
	rows, err := c.db.Query(ctx, columnTypesSQL, schema, table)
	if err != nil {
		return nil, "", fmt.Errorf("read information_schema.columns: %w", err)
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var col, typ string
		if err := rows.Scan(&col, &typ); err != nil {
			return nil, "", fmt.Errorf("read information_schema.columns: %w", err)
		}
		out[col] = typ
	}
	if err := rows.Err(); err != nil {
		return nil, "", fmt.Errorf("read information_schema.columns: %w", err)
	}
	rows.Close()
	if len(out) == 0 {
		return out, "", nil
	}
	ids, err := c.db.Query(ctx, `SELECT c.relreplident::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = $1 AND c.relname = $2`, schema, table)
	if err != nil {
		return nil, "", fmt.Errorf("read pg_class.relreplident: %w", err)
	}
	defer ids.Close()
	var identity string
	if ids.Next() {
		if err := ids.Scan(&identity); err != nil {
			return nil, "", fmt.Errorf("read pg_class.relreplident: %w", err)
		}
	}
	if err := ids.Err(); err != nil {
		return nil, "", fmt.Errorf("read pg_class.relreplident: %w", err)
	}
	return out, identity, nil
}
