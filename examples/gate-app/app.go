// Command gate-app is a small application that writes users to PostgreSQL
// through triggerd's gate: before each write it asks the gate, which runs
// the before-triggers (examples/triggers/users-gate.yaml normalises the
// email, defaults the role, computes full_name and refuses invalid
// emails), and it writes exactly the rows the gate returns. After the
// commit it publishes a change event in triggerd's native envelope to
// Kafka, where triggerd's ingest picks it up and the after-triggers run
// durably in Temporal.
//
// In production the change event comes from CDC (Debezium reading the
// write-ahead log), and the application publishes nothing; this example
// publishes the same event itself because it must run without a Kafka
// Connect cluster. Either way the after-triggers see the committed row.
//
//	go run ./examples/gate-app -db postgres://... -gate http://127.0.0.1:8080 \
//	    -brokers 127.0.0.1:9092 -topic app.public.users \
//	    '{"email": "Ada@Example.COM", "first_name": "Ada", "last_name": "Lovelace"}'
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/triggerd/triggerd/gate/gateclient"
)

// Publisher sends a change event to the topic the ingest reads.
type Publisher interface {
	Publish(ctx context.Context, key, value []byte) error
}

// App writes users through the gate.
type App struct {
	DB   *pgxpool.Pool
	Gate *gateclient.Client
	// Table is the users table, schema-qualified (public.users).
	Table  string
	Events Publisher
	// Now is the clock of the change events.
	Now func() time.Time
}

// CreateUsers asks the gate about rows, inserts what it returns in one
// transaction and, after the commit, publishes one change event per row.
// A *gateclient.ValidationError means nothing was written.
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
	var txid int64
	if err := tx.QueryRow(ctx, "select txid_current()").Scan(&txid); err != nil {
		return nil, err
	}
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
	if err := tx.Commit(ctx); err != nil {
		return nil, err
	}
	// After the commit, never before: an after-trigger must only see rows
	// that exist. A crash between commit and publish loses the event,
	// which is why production uses CDC (or an outbox table) instead.
	var errs []error
	for _, row := range written {
		if err := a.publish(ctx, txid, row, user); err != nil {
			errs = append(errs, err)
		}
	}
	return written, errors.Join(errs...)
}

// publish sends the native envelope of an insert (docs/architecture.md).
func (a *App) publish(ctx context.Context, txid int64, row, user map[string]any) error {
	id := fmt.Sprint(row["id"])
	ev := map[string]any{
		// The id names the change: redelivering it starts no second run.
		"id":          fmt.Sprintf("gate-app-%s-insert-%s-%d", a.Table, id, txid),
		"table":       a.Table,
		"operation":   "insert",
		"timestamp":   a.now().UTC().Format(time.RFC3339Nano),
		"record":      row,
		"user":        user,
		"transaction": fmt.Sprint(txid),
	}
	value, err := json.Marshal(ev)
	if err != nil {
		return err
	}
	return a.Events.Publish(ctx, []byte(id), value)
}

func (a *App) now() time.Time {
	if a.Now != nil {
		return a.Now()
	}
	return time.Now()
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
