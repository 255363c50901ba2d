package activities

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/triggerd/triggerd/run"
)

// docs/semantics.md, "Cascades": a database action writes the run's chain
// into the marker column of a table that has one, without {{run.cascade}}
// in the config, so the change it causes carries the chain. Real
// PostgreSQL.
func TestDatabaseActionsMarkTheCascadeChain(t *testing.T) {
	p := newPGTest(t,
		`CREATE TABLE %s.orders (id int PRIMARY KEY, status text, _triggerd_cascade text)`,
		`CREATE TABLE %s.plain (id int PRIMARY KEY, status text)`)
	ctx := context.Background()
	chain := []string{"on-signup", "on-order"}
	do := func(f func(context.Context, run.ActionRequest) (any, error), typ string, cfg map[string]any) DatabaseOutput {
		req := request(typ, cfg)
		req.Cascade = chain
		out, err := f(ctx, req)
		return dbOut(t, out, err)
	}
	marker := func(id int) *string {
		var s *string
		require.NoError(t, p.pool.QueryRow(ctx, "SELECT _triggerd_cascade FROM "+p.table("orders")+" WHERE id = $1", id).Scan(&s))
		return s
	}
	reset := func(id int) {
		_, err := p.pool.Exec(ctx, "UPDATE "+p.table("orders")+" SET _triggerd_cascade = NULL WHERE id = $1", id)
		require.NoError(t, err)
	}

	do(p.acts.DatabaseInsert, TypeDatabaseInsert, map[string]any{
		"table": p.table("orders"), "values": map[string]any{"id": float64(1), "status": "new"}})
	require.Equal(t, "on-signup,on-order", *marker(1), "insert")

	reset(1)
	o := do(p.acts.DatabaseUpdate, TypeDatabaseUpdate, map[string]any{
		"table": p.table("orders"), "set": map[string]any{"status": "paid"}, "where": map[string]any{"id": float64(1)}})
	require.True(t, *o.Matched)
	require.Equal(t, "on-signup,on-order", *marker(1), "update")

	reset(1)
	do(p.acts.DatabaseUpsert, TypeDatabaseUpsert, map[string]any{
		"table": p.table("orders"), "values": map[string]any{"id": float64(1), "status": "shipped"}, "conflict": []any{"id"}})
	require.Equal(t, "on-signup,on-order", *marker(1), "upsert that updates")

	reset(1)
	o = do(p.acts.DatabaseUpsert, TypeDatabaseUpsert, map[string]any{
		"table": p.table("orders"), "values": map[string]any{"id": float64(1)}, "conflict": []any{"id"}})
	require.EqualValues(t, 0, o.RowsAffected, "an upsert with nothing to update stays DO NOTHING")
	require.Nil(t, marker(1))

	// {{run.cascade}} keeps working: the action's own value wins.
	do(p.acts.DatabaseInsert, TypeDatabaseInsert, map[string]any{
		"table": p.table("orders"), "values": map[string]any{"id": float64(2), "_triggerd_cascade": "explicit"}})
	require.Equal(t, "explicit", *marker(2))

	// A table without the column is written as before.
	o = do(p.acts.DatabaseInsert, TypeDatabaseInsert, map[string]any{
		"table": p.table("plain"), "values": map[string]any{"id": float64(1), "status": "new"}})
	require.EqualValues(t, 1, o.RowsAffected)
}
