package activities

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/triggerd/triggerd/run"
	"github.com/triggerd/triggerd/run/errtype"
)

// With an allow-list, a database action may use only the listed tables and
// operations, on real PostgreSQL: a table off the list (as a record would
// choose it through a template), an unlisted operation, or a table that
// does not exist are refused with TABLE_NOT_ALLOWED before any statement,
// and nothing is written.
func TestDatabaseTableAllowList(t *testing.T) {
	p := newPGTest(t, statsDDL, `CREATE TABLE %s.secrets (user_id int PRIMARY KEY, name text)`)
	p.acts = New(WithDatabases(map[string]DB{"default": p.pool}),
		WithTableAllowLists(map[string]TableAllowList{"default": {p.table("user_stats"): {OpInsert, OpUpdate}}}))
	ctx := context.Background()
	insert := func(table string) error {
		_, err := p.acts.DatabaseInsert(ctx, request(run.TypeDatabaseInsert, map[string]any{
			"table": table, "values": map[string]any{"user_id": float64(1), "name": "n"},
		}))
		return err
	}
	require.NoError(t, insert(p.table("user_stats")))
	_, err := p.acts.DatabaseUpdate(ctx, request(run.TypeDatabaseUpdate, map[string]any{
		"table": p.table("user_stats"), "set": map[string]any{"name": "m"}, "where": map[string]any{"user_id": float64(1)},
	}))
	require.NoError(t, err)

	msg := appError(t, insert(p.table("secrets")), errtype.TableNotAllowed, false).Message()
	require.Contains(t, msg, "insert on table \""+p.table("secrets")+"\" is not allowed")
	require.Contains(t, msg, "databases.default.tables")
	appError(t, insert("secrets"), errtype.TableNotAllowed, false)
	appError(t, insert("pg_catalog.pg_authid"), errtype.TableNotAllowed, false)
	appError(t, insert(p.schema+".no_such_table"), errtype.TableNotAllowed, false)
	_, err = p.acts.DatabaseDelete(ctx, request(run.TypeDatabaseDelete, map[string]any{
		"table": p.table("user_stats"), "where": map[string]any{"user_id": float64(1)},
	}))
	require.Contains(t, appError(t, err, errtype.TableNotAllowed, false).Message(), "delete on table")
	_, err = p.acts.DatabaseUpsert(ctx, request(run.TypeDatabaseUpsert, map[string]any{
		"table": p.table("user_stats"), "values": map[string]any{"user_id": float64(1), "name": "x"}, "conflict": []any{"user_id"},
	}))
	appError(t, err, errtype.TableNotAllowed, false)

	var n int
	require.NoError(t, p.pool.QueryRow(ctx, "SELECT count(*) FROM "+p.table("secrets")).Scan(&n))
	require.Zero(t, n)
	require.NoError(t, p.pool.QueryRow(ctx, "SELECT count(*) FROM "+p.table("user_stats")).Scan(&n))
	require.Equal(t, 1, n, "the allowed delete and upsert were refused, the row stays")

	// An unqualified name is checked against the table the search path
	// resolves it to: the list names the test schema's table, and "user_stats"
	// resolves to it only when that schema is on the path.
	probe := "probe_" + p.schema // unique: the public schema is shared
	_, err = p.pool.Exec(ctx, "CREATE TABLE public."+probe+" (user_id int, name text)")
	require.NoError(t, err)
	t.Cleanup(func() { _, _ = p.pool.Exec(context.Background(), "DROP TABLE IF EXISTS public."+probe) })
	listed := New(WithDatabases(map[string]DB{"default": p.pool}),
		WithTableAllowLists(map[string]TableAllowList{"default": {p.schema + "." + probe: {OpInsert}}}))
	_, err = listed.DatabaseInsert(ctx, request(run.TypeDatabaseInsert, map[string]any{
		"table": probe, "values": map[string]any{"user_id": float64(1)},
	}))
	require.Contains(t, appError(t, err, errtype.TableNotAllowed, false).Message(), `"public.`+probe+`"`)
}
