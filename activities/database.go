package activities

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/triggerd/triggerd/run"
	"github.com/triggerd/triggerd/run/errtype"
)

const (
	defaultDatabase = "default"
	// catalogTTL bounds how long a table's columns are trusted: long
	// enough to spare a catalog query per action, short enough that a
	// migration is picked up without restarting the worker.
	catalogTTL = 30 * time.Second
)

// DB is what the database actions need of a connection: *pgxpool.Pool and
// *pgx.Conn both satisfy it. Every statement is a Query so that RETURNING
// and the command tag come back the same way.
type DB interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

// WithDatabases enables the database.* actions against the named
// connections. The caller owns them (Close leaves them open).
func WithDatabases(dbs map[string]DB) Option {
	return func(a *Activities) {
		a.databases = make(map[string]*database, len(dbs))
		for name, db := range dbs {
			a.databases[name] = &database{db: db, tables: map[string]tableInfo{}}
		}
	}
}

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

// DatabaseInsertConfig is the config of database.insert. Data is
// Ductape's name for Values (Trigger.database.insert(table, data)).
type DatabaseInsertConfig struct {
	Database  string         `json:"database,omitempty"`
	Table     string         `json:"table"`
	Values    map[string]any `json:"values,omitempty"`
	Data      map[string]any `json:"data,omitempty"`
	Returning []string       `json:"returning,omitempty"`
	// IdempotencyColumn receives the action's idempotency key, and the
	// insert becomes ON CONFLICT (column) DO NOTHING: with a unique index
	// on that column a retried insert writes nothing the second time.
	IdempotencyColumn string `json:"idempotencyColumn,omitempty"`
}

// DatabaseUpdateConfig is the config of database.update. Data is
// Ductape's name for Set (Trigger.database.update(table, data, where)).
type DatabaseUpdateConfig struct {
	Database  string         `json:"database,omitempty"`
	Table     string         `json:"table"`
	Set       map[string]any `json:"set,omitempty"`
	Data      map[string]any `json:"data,omitempty"`
	Where     map[string]any `json:"where"`
	Returning []string       `json:"returning,omitempty"`
}

// DatabaseUpsertConfig is the config of database.upsert.
type DatabaseUpsertConfig struct {
	Database  string         `json:"database,omitempty"`
	Table     string         `json:"table"`
	Values    map[string]any `json:"values,omitempty"`
	Data      map[string]any `json:"data,omitempty"`
	Conflict  []string       `json:"conflict"`
	Returning []string       `json:"returning,omitempty"`
}

// DatabaseDeleteConfig is the config of database.delete.
type DatabaseDeleteConfig struct {
	Database  string         `json:"database,omitempty"`
	Table     string         `json:"table"`
	Where     map[string]any `json:"where"`
	Returning []string       `json:"returning,omitempty"`
}

// DatabaseOutput is the output of every database action. Matched is
// reported by update and delete only: false means the where clause
// matched no row, which is not an error but should not go unnoticed.
type DatabaseOutput struct {
	RowsAffected int64            `json:"rowsAffected"`
	Matched      *bool            `json:"matched,omitempty"`
	Returning    []map[string]any `json:"returning,omitempty"`
}

// DatabaseInsert inserts one row.
func (a *Activities) DatabaseInsert(ctx context.Context, req run.ActionRequest) (any, error) {
	var cfg DatabaseInsertConfig
	if err := decodeConfig(req.Config, &cfg); err != nil {
		return nil, err
	}
	values, err := pick("values", cfg.Values, cfg.Data)
	if err != nil {
		return nil, err
	}
	if cfg.IdempotencyColumn != "" {
		if req.IdempotencyKey == "" {
			return nil, invalidConfig("idempotencyColumn: the action has no idempotency key")
		}
		values[cfg.IdempotencyColumn] = req.IdempotencyKey
	}
	db, t, err := a.table(ctx, OpInsert, cfg.Database, cfg.Table)
	if err != nil {
		return nil, err
	}
	markCascade(t, values, req)
	var b stmt
	cols, err := b.insertValues(t, values)
	if err != nil {
		return nil, err
	}
	sql := "INSERT INTO " + t.ident.Sanitize() + cols
	if cfg.IdempotencyColumn != "" {
		sql += " ON CONFLICT (" + pgx.Identifier{cfg.IdempotencyColumn}.Sanitize() + ") DO NOTHING"
	}
	return b.run(ctx, db, t, sql, cfg.Returning, false)
}

// DatabaseUpsert inserts one row or, when it conflicts on the conflict
// columns, updates the existing row with the other values.
func (a *Activities) DatabaseUpsert(ctx context.Context, req run.ActionRequest) (any, error) {
	var cfg DatabaseUpsertConfig
	if err := decodeConfig(req.Config, &cfg); err != nil {
		return nil, err
	}
	values, err := pick("values", cfg.Values, cfg.Data)
	if err != nil {
		return nil, err
	}
	if len(cfg.Conflict) == 0 {
		return nil, invalidConfig("conflict: list the columns of a unique key")
	}
	db, t, err := a.table(ctx, OpUpsert, cfg.Database, cfg.Table)
	if err != nil {
		return nil, err
	}
	marked := markCascade(t, values, req)
	var b stmt
	cols, err := b.insertValues(t, values)
	if err != nil {
		return nil, err
	}
	conflict := make([]string, len(cfg.Conflict))
	for i, c := range cfg.Conflict {
		if err := t.check("conflict", c); err != nil {
			return nil, err
		}
		if _, ok := values[c]; !ok {
			return nil, invalidConfig("conflict: column %q has no value in values", c)
		}
		conflict[i] = pgx.Identifier{c}.Sanitize()
	}
	var sets []string
	for _, c := range slices.Sorted(maps.Keys(values)) {
		if !slices.Contains(cfg.Conflict, c) && (!marked || c != run.FieldCascade) {
			q := pgx.Identifier{c}.Sanitize()
			sets = append(sets, q+" = EXCLUDED."+q)
		}
	}
	if marked && len(sets) > 0 {
		// Only alongside a real change: the marker alone must not turn
		// "the row is there already" into a write.
		q := pgx.Identifier{run.FieldCascade}.Sanitize()
		sets = append(sets, q+" = EXCLUDED."+q)
	}
	sql := "INSERT INTO " + t.ident.Sanitize() + cols + " ON CONFLICT (" + strings.Join(conflict, ", ") + ")"
	if len(sets) == 0 {
		// Nothing to update: the row is there already, as wanted.
		sql += " DO NOTHING"
	} else {
		sql += " DO UPDATE SET " + strings.Join(sets, ", ")
	}
	return b.run(ctx, db, t, sql, cfg.Returning, false)
}

// DatabaseUpdate updates the rows matching where (equality on every
// column, ANDed). Each value of set is a plain value or one operator:
// {"$SET": v}, {"$INC": n}, {"$DEC": n} or {"$UNSET": true} (NULL).
func (a *Activities) DatabaseUpdate(ctx context.Context, req run.ActionRequest) (any, error) {
	var cfg DatabaseUpdateConfig
	if err := decodeConfig(req.Config, &cfg); err != nil {
		return nil, err
	}
	set, err := pick("set", cfg.Set, cfg.Data)
	if err != nil {
		return nil, err
	}
	db, t, err := a.table(ctx, OpUpdate, cfg.Database, cfg.Table)
	if err != nil {
		return nil, err
	}
	markCascade(t, set, req)
	var b stmt
	assigns := make([]string, 0, len(set))
	for _, c := range slices.Sorted(maps.Keys(set)) {
		if err := t.check("set", c); err != nil {
			return nil, err
		}
		expr, err := b.assignment(c, set[c])
		if err != nil {
			return nil, err
		}
		assigns = append(assigns, expr)
	}
	where, err := b.where(t, cfg.Where)
	if err != nil {
		return nil, err
	}
	sql := "UPDATE " + t.ident.Sanitize() + " SET " + strings.Join(assigns, ", ") + where
	return b.run(ctx, db, t, sql, cfg.Returning, true)
}

// DatabaseDelete deletes the rows matching where.
func (a *Activities) DatabaseDelete(ctx context.Context, req run.ActionRequest) (any, error) {
	var cfg DatabaseDeleteConfig
	if err := decodeConfig(req.Config, &cfg); err != nil {
		return nil, err
	}
	db, t, err := a.table(ctx, OpDelete, cfg.Database, cfg.Table)
	if err != nil {
		return nil, err
	}
	var b stmt
	where, err := b.where(t, cfg.Where)
	if err != nil {
		return nil, err
	}
	return b.run(ctx, db, t, "DELETE FROM "+t.ident.Sanitize()+where, cfg.Returning, true)
}

// pick returns the one of Ductape's and our name for a mapping that is
// set, as a copy the caller may extend.
func pick(key string, ours, ductape map[string]any) (map[string]any, error) {
	if len(ours) > 0 && len(ductape) > 0 {
		return nil, invalidConfig("%s and data are the same thing: set one", key)
	}
	src := ours
	if len(src) == 0 {
		src = ductape
	}
	if len(src) == 0 {
		return nil, invalidConfig("%s is required and must not be empty", key)
	}
	out := make(map[string]any, len(src)+1)
	for k, v := range src {
		out[k] = v
	}
	return out, nil
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

// stmt accumulates the bind parameters of one statement. Values only ever
// become parameters; identifiers are checked against the catalog and
// quoted.
type stmt struct{ args []any }

// param adds v and returns its placeholder.
func (b *stmt) param(v any) string {
	b.args = append(b.args, bindValue(v))
	return fmt.Sprintf("$%d", len(b.args))
}

// insertValues is " (cols) VALUES ($1, ...)" in a stable column order.
func (b *stmt) insertValues(t tableInfo, values map[string]any) (string, error) {
	cols := slices.Sorted(maps.Keys(values))
	qcols := make([]string, len(cols))
	ph := make([]string, len(cols))
	for i, c := range cols {
		if err := t.check("values", c); err != nil {
			return "", err
		}
		qcols[i] = pgx.Identifier{c}.Sanitize()
		ph[i] = b.value(values[c])
	}
	return " (" + strings.Join(qcols, ", ") + ") VALUES (" + strings.Join(ph, ", ") + ")", nil
}

// assignment is the SET expression of column c for a plain value or an
// operator object.
func (b *stmt) assignment(c string, v any) (string, error) {
	q := pgx.Identifier{c}.Sanitize()
	if m, ok := v.(cascadeMarker); ok {
		return q + " = " + b.marker(m), nil
	}
	op, arg, isOp, err := operator(v)
	if err != nil {
		return "", invalidConfig("set.%s: %v", c, err)
	}
	if !isOp {
		return q + " = " + b.param(v), nil
	}
	switch op {
	case "$SET":
		return q + " = " + b.param(arg), nil
	case "$UNSET":
		if arg != true {
			return "", invalidConfig("set.%s: $UNSET takes true", c)
		}
		return q + " = NULL", nil
	case "$INC", "$DEC":
		if _, ok := arg.(float64); !ok {
			return "", invalidConfig("set.%s: %s takes a number, got %T", c, op, arg)
		}
		sign := "+"
		if op == "$DEC" {
			sign = "-"
		}
		// A NULL counter counts from zero, as Ductape's (Mongo-style)
		// $INC on a missing field does, instead of staying NULL.
		return q + " = COALESCE(" + q + ", 0) " + sign + " " + b.param(arg), nil
	}
	return "", invalidConfig("set.%s: unknown operator %s (want $SET, $INC, $DEC or $UNSET)", c, op)
}

// operator recognizes {"$OP": arg}. A mapping whose keys do not start with
// $ is a plain (JSON) value; one mixing both is an error.
func operator(v any) (op string, arg any, ok bool, err error) {
	m, isMap := v.(map[string]any)
	if !isMap {
		return "", nil, false, nil
	}
	dollar := 0
	for k, x := range m {
		if strings.HasPrefix(k, "$") {
			dollar++
			op, arg = strings.ToUpper(k), x
		}
	}
	switch {
	case dollar == 0:
		return "", nil, false, nil
	case dollar > 1 || len(m) > 1:
		return "", nil, false, errors.New("an operator object holds exactly one operator")
	}
	return op, arg, true, nil
}

// where is " WHERE a = $n AND b = $m". It refuses an empty filter so that
// an update or delete never touches every row by accident. A nil value
// matches NULL.
func (b *stmt) where(t tableInfo, where map[string]any) (string, error) {
	if len(where) == 0 {
		return "", invalidConfig("where is required and must not be empty")
	}
	conds := make([]string, 0, len(where))
	for _, c := range slices.Sorted(maps.Keys(where)) {
		if err := t.check("where", c); err != nil {
			return "", err
		}
		q := pgx.Identifier{c}.Sanitize()
		if where[c] == nil {
			conds = append(conds, q+" IS NULL")
			continue
		}
		conds = append(conds, q+" = "+b.param(where[c]))
	}
	return " WHERE " + strings.Join(conds, " AND "), nil
}

// run executes sql with RETURNING cols, if any, and reads the result.
func (b *stmt) run(ctx context.Context, db DB, t tableInfo, sql string, returning []string, reportMatch bool) (any, error) {
	if len(returning) > 0 {
		qs := make([]string, len(returning))
		for i, c := range returning {
			if c == "*" {
				qs[i] = "*"
				continue
			}
			if err := t.check("returning", c); err != nil {
				return nil, err
			}
			qs[i] = pgx.Identifier{c}.Sanitize()
		}
		sql += " RETURNING " + strings.Join(qs, ", ")
	}
	rows, err := db.Query(ctx, sql, b.args...)
	if err != nil {
		return nil, classifyPostgres(fmt.Errorf("%s: %w", t.ident.Sanitize(), err))
	}
	out := DatabaseOutput{}
	for rows.Next() {
		m, err := pgx.RowToMap(rows)
		if err != nil {
			rows.Close()
			return nil, classifyPostgres(fmt.Errorf("%s: read returning: %w", t.ident.Sanitize(), err))
		}
		out.Returning = append(out.Returning, jsonSafe(m))
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, classifyPostgres(fmt.Errorf("%s: %w", t.ident.Sanitize(), err))
	}
	out.RowsAffected = rows.CommandTag().RowsAffected()
	if reportMatch {
		matched := out.RowsAffected > 0
		out.Matched = &matched
	}
	return out, nil
}

// bindValue adapts a JSON-decoded value to a parameter: a whole float64
// becomes an int64 (so it binds to integer columns), and a mapping or a
// list is sent as JSON text, for json and jsonb columns.
func bindValue(v any) any {
	switch x := v.(type) {
	case float64:
		if x == math.Trunc(x) && math.Abs(x) < 1<<53 {
			return int64(x)
		}
	case map[string]any, []any:
		b, err := json.Marshal(x)
		if err == nil {
			return string(b)
		}
	}
	return v
}

// jsonSafe makes a returned row encodable by Temporal's JSON converter:
// types pgx returns that do not encode as JSON usefully become strings.
func jsonSafe(m map[string]any) map[string]any {
	for k, v := range m {
		if _, err := json.Marshal(v); err != nil {
			m[k] = fmt.Sprint(v)
		}
	}
	return m
}

// classifyPostgres decides retryability by SQLSTATE: a constraint
// violation (class 23) or any other SQL error will fail the same way
// again; serialization failures, deadlocks, shutdowns, lack of resources
// and connection failures will not.
func classifyPostgres(err error) error {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch {
		case strings.HasPrefix(pe.Code, "23"):
			msg := fmt.Sprintf("%v (SQLSTATE %s", err, pe.Code)
			if pe.ConstraintName != "" {
				msg += ", constraint " + pe.ConstraintName
			}
			return permanent(errtype.DBConstraint, errors.New(msg+")"))
		case pe.Code == "40001", pe.Code == "40P01", pe.Code == "55P03",
			strings.HasPrefix(pe.Code, "08"), strings.HasPrefix(pe.Code, "53"),
			strings.HasPrefix(pe.Code, "57P"):
			return transient(errtype.DBUnavailable, err, 0)
		}
		return permanent(errtype.DBRejected, err)
	}
	if t := networkType(err); t != "" {
		return transient(t, err, 0)
	}
	return transient(errtype.DBUnavailable, err, 0)
}
