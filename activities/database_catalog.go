package activities

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
)

// catalogTTL bounds how long a table's columns are trusted: long enough to
// spare a catalog query per action, short enough that a migration is
// picked up without restarting the worker.
const catalogTTL = 30 * time.Second

// database is a named connection with its catalog cache.
type database struct {
	db     DB
	mu     sync.Mutex
	tables map[string]tableInfo // by the table as written in the config
}

type tableInfo struct {
	ident   pgx.Identifier // schema-qualified, as resolved by the catalog
	columns map[string]bool
	fetched time.Time
}

// table returns the named connection and the table's catalog entry, once
// the database's allow-list (if any) allows op on the table.
func (a *Activities) table(ctx context.Context, op, dbName, table string) (DB, tableInfo, error) {
	if dbName == "" {
		dbName = defaultDatabase
	}
	d, ok := a.databases[dbName]
	if !ok {
		return nil, tableInfo{}, notConfigured(fmt.Sprintf("database %q", dbName))
	}
	if table == "" {
		return nil, tableInfo{}, invalidConfig("table is required")
	}
	if err := a.allowTable(dbName, op, table); err != nil {
		return nil, tableInfo{}, err
	}
	t, err := d.lookup(ctx, table)
	if err != nil {
		return nil, tableInfo{}, err
	}
	if err := a.allowResolved(dbName, op, t.ident); err != nil {
		return nil, tableInfo{}, err
	}
	return d.db, t, nil
}

// lookup resolves table ("name" through the search path, or
// "schema.name") in the catalog. Only tables that exist are cached, so a
// table created after a refusal is seen at once.
func (d *database) lookup(ctx context.Context, table string) (tableInfo, error) {
	d.mu.Lock()
	t, ok := d.tables[table]
	d.mu.Unlock()
	if ok && time.Since(t.fetched) < catalogTTL {
		return t, nil
	}
	var ident pgx.Identifier
	switch parts := strings.Split(table, "."); len(parts) {
	case 1, 2:
		ident = pgx.Identifier(parts)
	default:
		return tableInfo{}, invalidConfig("table %q: want name or schema.name", table)
	}
	for _, p := range ident {
		if p == "" {
			return tableInfo{}, invalidConfig("table %q: want name or schema.name", table)
		}
	}
	// The quoted name is a bind parameter of to_regclass, never SQL text;
	// to_regclass returns NULL (no rows here) for a table that does not
	// exist or that we may not see.
	rows, err := d.db.Query(ctx, `
SELECT n.nspname, c.relname, a.attname
FROM pg_catalog.pg_attribute a
JOIN pg_catalog.pg_class c ON c.oid = a.attrelid
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE a.attrelid = to_regclass($1) AND a.attnum > 0 AND NOT a.attisdropped`, ident.Sanitize())
	if err != nil {
		return tableInfo{}, classifyPostgres(fmt.Errorf("look up table %s: %w", table, err))
	}
	t = tableInfo{columns: map[string]bool{}, fetched: time.Now()}
	var schema, name, col string
	_, err = pgx.ForEachRow(rows, []any{&schema, &name, &col}, func() error {
		t.columns[col] = true
		return nil
	})
	if err != nil {
		return tableInfo{}, classifyPostgres(fmt.Errorf("look up table %s: %w", table, err))
	}
	if len(t.columns) == 0 {
		return tableInfo{}, invalidConfig("table %q does not exist (or this role cannot see it)", table)
	}
	t.ident = pgx.Identifier{schema, name}
	d.mu.Lock()
	d.tables[table] = t
	d.mu.Unlock()
	return t, nil
}

// check refuses a column the table does not have, naming it.
func (t tableInfo) check(key, col string) error {
	if !t.columns[col] {
		return invalidConfig("%s: table %s has no column %q", key, t.ident.Sanitize(), col)
	}
	return nil
}
