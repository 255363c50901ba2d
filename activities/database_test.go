package activities

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/triggerd/triggerd/internal/testenv"
	"github.com/triggerd/triggerd/run"
	"github.com/triggerd/triggerd/run/errtype"
)

// pgTest is a real PostgreSQL database with a schema of its own, dropped
// when the test ends, and Activities whose default database is it.
type pgTest struct {
	pool   *pgxpool.Pool
	schema string
	acts   *Activities
}

func newPGTest(t *testing.T, ddl ...string) *pgTest {
	t.Helper()
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, testenv.PostgresDSN(t))
	require.NoError(t, err)
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	schema := "triggerd_test_" + hex.EncodeToString(b)
	_, err = pool.Exec(ctx, "CREATE SCHEMA "+pgx.Identifier{schema}.Sanitize())
	require.NoError(t, err)
	t.Cleanup(func() {
		_, err := pool.Exec(context.Background(), "DROP SCHEMA "+pgx.Identifier{schema}.Sanitize()+" CASCADE")
		require.NoError(t, err)
		pool.Close()
	})
	for _, stmt := range ddl {
		_, err := pool.Exec(ctx, fmt.Sprintf(stmt, schema))
		require.NoError(t, err, stmt)
	}
	return &pgTest{pool: pool, schema: schema, acts: New(WithDatabases(map[string]DB{"default": pool}))}
}

// table is the schema-qualified name of a table of the test's schema.
func (p *pgTest) table(name string) string { return p.schema + "." + name }

func dbOut(t *testing.T, out any, err error) DatabaseOutput {
	t.Helper()
	require.NoError(t, err)
	o, ok := out.(DatabaseOutput)
	require.True(t, ok, "output is %T", out)
	return o
}

const auditDDL = `CREATE TABLE %s.audit_logs (
	id bigserial PRIMARY KEY,
	action text NOT NULL,
	user_id int,
	meta jsonb,
	at timestamptz,
	run_key text UNIQUE
)`

const statsDDL = `CREATE TABLE %s.user_stats (
	user_id int PRIMARY KEY,
	login_count int,
	score numeric,
	name text,
	note text
)`

func TestDatabaseInsertReturning(t *testing.T) {
	p := newPGTest(t, auditDDL)
	ctx := context.Background()
	out, err := p.acts.DatabaseInsert(ctx, request(run.TypeDatabaseInsert, map[string]any{
		"table": p.table("audit_logs"),
		// Ductape's name for values.
		"data": map[string]any{
			"action": "user_created", "user_id": float64(42),
			"meta": map[string]any{"plan": "pro"}, "at": "2026-01-02T03:04:05Z",
		},
		"returning": []any{"id", "action", "user_id"},
	}))
	o := dbOut(t, out, err)
	require.EqualValues(t, 1, o.RowsAffected)
	require.Nil(t, o.Matched)
	require.Len(t, o.Returning, 1)
	require.Equal(t, "user_created", o.Returning[0]["action"])
	require.EqualValues(t, 42, o.Returning[0]["user_id"])

	var plan string
	var at time.Time
	require.NoError(t, p.pool.QueryRow(ctx, "SELECT meta->>'plan', at FROM "+p.table("audit_logs")).Scan(&plan, &at))
	require.Equal(t, "pro", plan)
	require.True(t, at.Equal(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)), "at = %s", at)
}

func TestDatabaseValuesAreNeverSpliced(t *testing.T) {
	p := newPGTest(t, auditDDL, `CREATE TABLE %s.x (id int)`)
	ctx := context.Background()
	evil := `'; DROP TABLE x; --`
	_, err := p.acts.DatabaseInsert(ctx, request(run.TypeDatabaseInsert, map[string]any{
		"table": p.table("audit_logs"), "values": map[string]any{"action": evil},
	}))
	require.NoError(t, err)
	out, err := p.acts.DatabaseUpdate(ctx, request(run.TypeDatabaseUpdate, map[string]any{
		"table": p.table("audit_logs"), "set": map[string]any{"action": evil + "2"}, "where": map[string]any{"action": evil},
	}))
	require.EqualValues(t, 1, dbOut(t, out, err).RowsAffected)

	var got string
	require.NoError(t, p.pool.QueryRow(ctx, "SELECT action FROM "+p.table("audit_logs")).Scan(&got))
	require.Equal(t, evil+"2", got)
	var n int
	require.NoError(t, p.pool.QueryRow(ctx, "SELECT count(*) FROM "+p.table("x")).Scan(&n), "table x must survive")
}

func TestDatabaseUpdateOperators(t *testing.T) {
	p := newPGTest(t, statsDDL, `INSERT INTO %s.user_stats VALUES (1, 5, 10, 'a', 'keep'), (2, NULL, NULL, 'z', 'z')`)
	ctx := context.Background()
	out, err := p.acts.DatabaseUpdate(ctx, request(run.TypeDatabaseUpdate, map[string]any{
		"table": p.table("user_stats"),
		"set": map[string]any{
			"login_count": map[string]any{"$INC": float64(1)},
			"score":       map[string]any{"$DEC": 2.5},
			"name":        map[string]any{"$SET": "b"},
			"note":        map[string]any{"$UNSET": true},
		},
		"where":     map[string]any{"user_id": float64(1)},
		"returning": []any{"login_count", "name", "note"},
	}))
	o := dbOut(t, out, err)
	require.EqualValues(t, 1, o.RowsAffected)
	require.True(t, *o.Matched)
	require.EqualValues(t, 6, o.Returning[0]["login_count"])
	require.Equal(t, "b", o.Returning[0]["name"])
	require.Nil(t, o.Returning[0]["note"])

	// Ductape's form: Trigger.database.update('user_stats', { login_count:
	// { $INC: 1 } }, { user_id: ... }), on a NULL counter, plus a plain value.
	out, err = p.acts.DatabaseUpdate(ctx, request(run.TypeDatabaseUpdate, map[string]any{
		"table": p.table("user_stats"),
		"data":  map[string]any{"login_count": map[string]any{"$INC": float64(1)}, "name": "y"},
		"where": map[string]any{"user_id": "2"},
	}))
	require.EqualValues(t, 1, dbOut(t, out, err).RowsAffected)

	var score float64
	var count1, count2 int
	var name2 string
	require.NoError(t, p.pool.QueryRow(ctx, "SELECT score::float8 FROM "+p.table("user_stats")+" WHERE user_id = 1").Scan(&score))
	require.Equal(t, 7.5, score)
	require.NoError(t, p.pool.QueryRow(ctx, "SELECT login_count FROM "+p.table("user_stats")+" WHERE user_id = 1").Scan(&count1))
	require.Equal(t, 6, count1)
	require.NoError(t, p.pool.QueryRow(ctx, "SELECT login_count, name FROM "+p.table("user_stats")+" WHERE user_id = 2").Scan(&count2, &name2))
	require.Equal(t, 1, count2)
	require.Equal(t, "y", name2)
}

func TestDatabaseNoMatchIsReportedNotAnError(t *testing.T) {
	p := newPGTest(t, statsDDL)
	ctx := context.Background()
	out, err := p.acts.DatabaseUpdate(ctx, request(run.TypeDatabaseUpdate, map[string]any{
		"table": p.table("user_stats"), "set": map[string]any{"name": "n"}, "where": map[string]any{"user_id": float64(99)},
	}))
	o := dbOut(t, out, err)
	require.EqualValues(t, 0, o.RowsAffected)
	require.False(t, *o.Matched)

	out, err = p.acts.DatabaseDelete(ctx, request(run.TypeDatabaseDelete, map[string]any{
		"table": p.table("user_stats"), "where": map[string]any{"user_id": float64(99)},
	}))
	o = dbOut(t, out, err)
	require.EqualValues(t, 0, o.RowsAffected)
	require.False(t, *o.Matched)
}

func TestDatabaseUpsertAndDelete(t *testing.T) {
	p := newPGTest(t, statsDDL)
	ctx := context.Background()
	upsert := func(name string) DatabaseOutput {
		out, err := p.acts.DatabaseUpsert(ctx, request(run.TypeDatabaseUpsert, map[string]any{
			"table":     p.table("user_stats"),
			"values":    map[string]any{"user_id": float64(7), "name": name, "login_count": float64(1)},
			"conflict":  []any{"user_id"},
			"returning": []any{"*"},
		}))
		return dbOut(t, out, err)
	}
	require.Equal(t, "first", upsert("first").Returning[0]["name"])
	o := upsert("second")
	require.EqualValues(t, 1, o.RowsAffected)
	require.Equal(t, "second", o.Returning[0]["name"])
	var n int
	require.NoError(t, p.pool.QueryRow(ctx, "SELECT count(*) FROM "+p.table("user_stats")).Scan(&n))
	require.Equal(t, 1, n)

	out, err := p.acts.DatabaseDelete(ctx, request(run.TypeDatabaseDelete, map[string]any{
		"table": p.table("user_stats"), "where": map[string]any{"user_id": float64(7)}, "returning": []any{"name"},
	}))
	o = dbOut(t, out, err)
	require.EqualValues(t, 1, o.RowsAffected)
	require.True(t, *o.Matched)
	require.Equal(t, "second", o.Returning[0]["name"])
	require.NoError(t, p.pool.QueryRow(ctx, "SELECT count(*) FROM "+p.table("user_stats")).Scan(&n))
	require.Equal(t, 0, n)
}

func TestDatabaseRefusesWhatTheCatalogDoesNotHave(t *testing.T) {
	p := newPGTest(t, statsDDL)
	ctx := context.Background()
	_, err := p.acts.DatabaseInsert(ctx, request(run.TypeDatabaseInsert, map[string]any{
		"table": p.table("nope"), "values": map[string]any{"a": 1},
	}))
	require.Contains(t, appError(t, err, errtype.InvalidConfig, false).Message(), "nope")
	_, err = p.acts.DatabaseInsert(ctx, request(run.TypeDatabaseInsert, map[string]any{
		"table": p.table("user_stats"), "values": map[string]any{"user_id": 1, `name" = 'x'; --`: 1},
	}))
	require.Contains(t, appError(t, err, errtype.InvalidConfig, false).Message(), `name\" = 'x'; --`)
	_, err = p.acts.DatabaseUpdate(ctx, request(run.TypeDatabaseUpdate, map[string]any{
		"table": p.table("user_stats"), "set": map[string]any{"name": "n"}, "where": map[string]any{"missing": 1},
	}))
	require.Contains(t, appError(t, err, errtype.InvalidConfig, false).Message(), "missing")
	_, err = p.acts.DatabaseUpdate(ctx, request(run.TypeDatabaseUpdate, map[string]any{
		"table": p.table("user_stats"), "set": map[string]any{"name": "n"}, "returning": []any{"ghost"}, "where": map[string]any{"user_id": 1},
	}))
	require.Contains(t, appError(t, err, errtype.InvalidConfig, false).Message(), "ghost")
	// No filter, no update: it would hit every row.
	_, err = p.acts.DatabaseUpdate(ctx, request(run.TypeDatabaseUpdate, map[string]any{
		"table": p.table("user_stats"), "set": map[string]any{"name": "n"}, "where": map[string]any{},
	}))
	appError(t, err, errtype.InvalidConfig, false)
	_, err = p.acts.DatabaseDelete(ctx, request(run.TypeDatabaseDelete, map[string]any{"table": p.table("user_stats")}))
	appError(t, err, errtype.InvalidConfig, false)
	_, err = p.acts.DatabaseUpdate(ctx, request(run.TypeDatabaseUpdate, map[string]any{
		"table": p.table("user_stats"), "set": map[string]any{"name": map[string]any{"$PUSH": 1}}, "where": map[string]any{"user_id": 1},
	}))
	appError(t, err, errtype.InvalidConfig, false)
	_, err = p.acts.DatabaseDelete(ctx, request(run.TypeDatabaseDelete, map[string]any{
		"database": "reporting", "table": "t", "where": map[string]any{"a": 1},
	}))
	require.Contains(t, appError(t, err, errtype.NotConfigured, false).Message(), "reporting")
}

func TestDatabaseConstraintViolationsArePermanent(t *testing.T) {
	p := newPGTest(t, auditDDL)
	ctx := context.Background()
	ins := func(values map[string]any) error {
		_, err := p.acts.DatabaseInsert(ctx, request(run.TypeDatabaseInsert, map[string]any{"table": p.table("audit_logs"), "values": values}))
		return err
	}
	require.NoError(t, ins(map[string]any{"action": "a", "run_key": "k"}))
	err := ins(map[string]any{"action": "b", "run_key": "k"})
	msg := appError(t, err, errtype.DBConstraint, false).Message()
	require.Contains(t, msg, "23505")
	require.Contains(t, msg, "audit_logs_run_key_key")

	err = ins(map[string]any{"user_id": 1})
	require.Contains(t, appError(t, err, errtype.DBConstraint, false).Message(), "23502")
}

func TestDatabaseIdempotentInsertRetried(t *testing.T) {
	p := newPGTest(t, auditDDL)
	ctx := context.Background()
	req := request(run.TypeDatabaseInsert, map[string]any{
		"table": p.table("audit_logs"), "values": map[string]any{"action": "order_placed"}, "idempotencyColumn": "run_key",
	})
	first, err := p.acts.DatabaseInsert(ctx, req)
	require.EqualValues(t, 1, dbOut(t, first, err).RowsAffected)
	second, err := p.acts.DatabaseInsert(ctx, req)
	require.EqualValues(t, 0, dbOut(t, second, err).RowsAffected)

	var n int
	var key string
	require.NoError(t, p.pool.QueryRow(ctx, "SELECT count(*), max(run_key) FROM "+p.table("audit_logs")).Scan(&n, &key))
	require.Equal(t, 1, n)
	require.Equal(t, req.IdempotencyKey, key)
}

func TestDatabaseUnreachableIsRetryable(t *testing.T) {
	pool, err := pgxpool.New(context.Background(), "postgres://u:p@127.0.0.1:1/db?sslmode=disable&connect_timeout=2")
	require.NoError(t, err)
	defer pool.Close()
	a := New(WithDatabases(map[string]DB{"default": pool}))
	_, err = a.DatabaseDelete(context.Background(), request(run.TypeDatabaseDelete, map[string]any{
		"table": "t", "where": map[string]any{"a": 1},
	}))
	appError(t, err, errtype.ConnRefused, true)
}

func TestClassifyPostgres(t *testing.T) {
	for code, want := range map[string]struct {
		typ       string
		retryable bool
	}{
		"23505": {errtype.DBConstraint, false}, "23503": {errtype.DBConstraint, false},
		"23502": {errtype.DBConstraint, false}, "23514": {errtype.DBConstraint, false},
		"40001": {errtype.DBUnavailable, true}, "40P01": {errtype.DBUnavailable, true},
		"57P01": {errtype.DBUnavailable, true}, "53300": {errtype.DBUnavailable, true},
		"08006": {errtype.DBUnavailable, true}, "42601": {errtype.DBRejected, false},
		"22P02": {errtype.DBRejected, false},
	} {
		err := classifyPostgres(fmt.Errorf("t: %w", &pgconn.PgError{Code: code, Message: "m", ConstraintName: "c"}))
		appError(t, err, want.typ, want.retryable)
	}
	appError(t, classifyPostgres(errors.New("conn closed")), errtype.DBUnavailable, true)
}
