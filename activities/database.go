package activities

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/triggerd/triggerd/run"
	"github.com/triggerd/triggerd/run/errtype"
)

// defaultDatabase is the connection of an action that names none.
const defaultDatabase = "default"

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
