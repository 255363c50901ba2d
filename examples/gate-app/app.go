// Command gate-app is a small application that writes users to PostgreSQL
// through triggerd's gate: before each write it asks the gate, which runs
// the before-triggers (examples/triggers/users-gate.yaml normalises the
// email, defaults the role, computes full_name and refuses invalid
// emails), and it writes exactly the rows the gate returns.
//
// It publishes nothing: Debezium reads the committed rows from
// PostgreSQL's write-ahead log and publishes the change events to Kafka,
// where triggerd's ingest picks them up and the after-triggers run durably
// in Temporal. No change is lost between the commit and the event, and
// none is published for a write that was rolled back.
//
//	TRIGGERD_TOKEN=... go run ./examples/gate-app -db postgres://... -gate http://127.0.0.1:8080 \
//	    '{"email": "Ada@Example.COM", "first_name": "Ada", "last_name": "Lovelace"}'
package main

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/triggerd/triggerd/gate/gateclient"
)

// App writes users through the gate.
type App struct {
	DB   *pgxpool.Pool
	Gate *gateclient.Client
	// Table is the users table, schema-qualified (public.users).
	Table string
}

// CreateUsers asks the gate about rows and inserts what it returns in one
// transaction. A *gateclient.ValidationError means nothing was written.
func (a *App) CreateUsers(ctx context.Context, rows []map[string]any, user map[string]any) ([]map[string]any, error) {
	rows, err := a.Gate.Insert(ctx, a.Table, rows, gateclient.User(user))
	if err != nil {
		return nil, err
	}
	tx, err := a.DB.Begin(ctx)
	if err != nil {
		return nil, err
	}
	defer func() { _ = tx.Rollback(ctx) }()
	written := make([]map[string]any, 0, len(rows))
	for _, r := range rows {
		cols := columns(r)
		ph := make([]string, len(cols))
		args := make([]any, len(cols))
		for i, c := range cols {
			ph[i] = fmt.Sprintf("$%d", i+1)
			args[i] = r[c]
		}
		q := fmt.Sprintf("insert into %s (%s) values (%s) returning *", a.Table, quoteAll(cols), strings.Join(ph, ", "))
		res, err := tx.Query(ctx, q, args...)
		if err != nil {
			return nil, err
		}
		row, err := pgx.CollectExactlyOneRow(res, pgx.RowToMap)
		if err != nil {
			return nil, fmt.Errorf("insert into %s: %w", a.Table, err)
		}
		written = append(written, row)
	}
	// The after-triggers see these rows once Debezium has read the commit.
	if err := tx.Commit(ctx); err != nil {
		return nil, err
	}
	return written, nil
}

func columns(r map[string]any) []string {
	cols := make([]string, 0, len(r))
	for c := range r {
		cols = append(cols, c)
	}
	sort.Strings(cols)
	return cols
}

func quoteAll(cols []string) string {
	q := make([]string, len(cols))
	for i, c := range cols {
		q[i] = pgx.Identifier{c}.Sanitize()
	}
	return strings.Join(q, ", ")
}
