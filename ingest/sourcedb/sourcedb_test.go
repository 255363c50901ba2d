package sourcedb

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/triggerd/triggerd/internal/testenv"
	"github.com/triggerd/triggerd/run"
)

// testSchema creates a schema of its own in the test PostgreSQL, with a
// table holding the types a refetch and the catalog must read, and drops
// it at the end.
func testSchema(t *testing.T) (*pgxpool.Pool, string) {
	t.Helper()
	dsn := testenv.PostgresDSN(t)
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, dsn)
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	schema := fmt.Sprintf("sourcedb_%d", rand.Uint64()%1_000_000_000)
	t.Logf("schema %s", schema)
	stmts := []string{
		"CREATE SCHEMA " + schema,
		fmt.Sprintf("CREATE TYPE %s.mood AS ENUM ('sad', 'happy')", schema),
		fmt.Sprintf(`CREATE TABLE %s.docs (
			id bigint PRIMARY KEY, total numeric(12,2), amount numeric, price money, created_on date,
			at_time time, at_timetz timetz, created_at timestamp(3), created_tz timestamptz, body text,
			payload jsonb, tags text[], nums int4[], data bytea, mood %s.mood, flags bit(4))`, schema, schema),
		fmt.Sprintf(`INSERT INTO %s.docs VALUES (7, 1234.50, 80.107, 123.45, '2024-01-15', '10:15:30.123456', '12:15:30+02',
			'2024-01-15 10:15:30.123', '2024-01-15 11:15:30.123456+01', 'long text', '{"kind": "a", "n": 1.50}',
			'{a,b}', '{1,2}', '\xdeadbeef', 'happy', B'1010')`, schema),
		fmt.Sprintf("CREATE TABLE %s.full_table (id int PRIMARY KEY)", schema),
		fmt.Sprintf("ALTER TABLE %s.full_table REPLICA IDENTITY FULL", schema),
	}
	for _, s := range stmts {
		_, err := pool.Exec(ctx, s)
		require.NoError(t, err, s)
	}
	t.Cleanup(func() { _, _ = pool.Exec(context.Background(), "DROP SCHEMA "+schema+" CASCADE") })
	return pool, schema
}

func TestCatalog(t *testing.T) {
	pool, schema := testSchema(t)
	c := NewCatalog(pool, nil)
	types := c.ColumnTypes("", schema, "docs")
	assert.Equal(t, map[string]string{
		"id": "bigint", "total": "numeric(12,2)", "amount": "numeric", "price": "money", "created_on": "date",
		"at_time": "time(6)", "at_timetz": "time with time zone", "created_at": "timestamp(3)",
		"created_tz": "timestamp with time zone", "body": "text", "payload": "jsonb", "tags": "_text", "nums": "_int4",
		"data": "bytea", "mood": "mood", "flags": "bit(4)",
	}, types)
	assert.Nil(t, c.ColumnTypes("", schema, "nosuch"))
	assert.Equal(t, "d", c.ReplicaIdentity("", schema, "docs"))
	assert.Equal(t, "f", c.ReplicaIdentity("", schema, "full_table"))
	assert.Equal(t, "", c.ReplicaIdentity("", schema, "nosuch"))
}

func TestCheckReplicaIdentity(t *testing.T) {
	pool, schema := testSchema(t)
	warnings, err := CheckReplicaIdentity(context.Background(), pool, map[string][]string{
		schema + ".docs":       {"b", "a"},
		schema + ".full_table": {"c"},
		"elsewhere.nosuch":     {"d"},
	})
	require.NoError(t, err)
	require.Len(t, warnings, 1)
	assert.Equal(t, fmt.Sprintf("table %s.docs has REPLICA IDENTITY DEFAULT, not FULL, but triggers a, b read its previous row (previousRecord, the CHANGED family, changedFields or onlyOnChange): its updates carry no before image, so what they read of it is unknown and they do not run (ALTER TABLE %s.docs REPLICA IDENTITY FULL)", schema, schema), warnings[0])
}

func TestFetchRow(t *testing.T) {
	pool, schema := testSchema(t)
	var observed []string
	f := NewFetcher(map[string]Querier{"main": pool}, false)
	f.Observe = func(db string, took time.Duration, err error) { observed = append(observed, fmt.Sprint(db, " ", err)) }
	ev := &run.Event{Schema: schema, Table: "docs", Operation: run.OperationUpdate, Record: map[string]any{"id": json.Number("7")}}
	cols := []string{"total", "amount", "price", "created_on", "at_time", "at_timetz", "created_at", "created_tz", "body", "payload", "tags", "nums", "data", "mood"}
	row, err := f.FetchRow(context.Background(), "main", ev, cols)
	require.NoError(t, err)
	dec := func(s string) run.Decimal { d, err := run.ParseDecimal(s); require.NoError(t, err); return d }
	assert.Equal(t, map[string]any{
		"total": dec("1234.50"), "amount": dec("80.107"), "price": dec("123.45"), "created_on": "2024-01-15",
		"at_time": "10:15:30.123456", "at_timetz": "10:15:30Z",
		"created_at": time.Date(2024, 1, 15, 10, 15, 30, 123000000, time.UTC),
		"created_tz": time.Date(2024, 1, 15, 10, 15, 30, 123456000, time.UTC),
		"body":       "long text", "payload": map[string]any{"kind": "a", "n": json.Number("1.50")},
		"tags": []any{"a", "b"}, "nums": []any{json.Number("1"), json.Number("2")}, "data": "3q2+7w==", "mood": "happy",
	}, row)

	ev.Record["id"] = json.Number("8")
	row, err = f.FetchRow(context.Background(), "main", ev, []string{"body"})
	require.NoError(t, err)
	assert.Nil(t, row, "a row that is gone")

	_, err = f.FetchRow(context.Background(), "main", ev, []string{"nosuch"})
	assert.ErrorContains(t, err, `has no column "nosuch"`)
	_, err = f.FetchRow(context.Background(), "other", ev, []string{"body"})
	assert.EqualError(t, err, `database "other" is not configured`)
	delete(ev.Record, "id")
	_, err = f.FetchRow(context.Background(), "main", ev, []string{"body"})
	assert.EqualError(t, err, `the event has no value of the primary key column "id"`)
	assert.Len(t, observed, 5)
	assert.True(t, strings.HasPrefix(observed[0], "main <nil>"))
}
