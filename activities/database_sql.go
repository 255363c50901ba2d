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

	"github.com/jackc/pgx/v5"
)

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
