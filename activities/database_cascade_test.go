package activities

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/triggerd/triggerd/internal/cdctest"
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
	// fresh asserts that row id's marker is the chain and the xid of the
	// transaction that last wrote the row (its xmin), as Debezium's
	// source.txId of that write will be.
	fresh := func(id int, msg string) string {
		t.Helper()
		var m, xmin string
		require.NoError(t, p.pool.QueryRow(ctx, "SELECT _triggerd_cascade, xmin::text FROM "+p.table("orders")+" WHERE id = $1", id).Scan(&m, &xmin), msg)
		require.Equal(t, "on-signup,on-order@"+xmin, m, msg)
		gotChain, txID := run.ParseCascadeMarker(m)
		require.Equal(t, chain, gotChain, msg)
		require.Equal(t, xmin, txID, msg)
		return txID
	}
	reset := func(id int) {
		_, err := p.pool.Exec(ctx, "UPDATE "+p.table("orders")+" SET _triggerd_cascade = NULL WHERE id = $1", id)
		require.NoError(t, err)
	}

	do(p.acts.DatabaseInsert, run.TypeDatabaseInsert, map[string]any{
		"table": p.table("orders"), "values": map[string]any{"id": float64(1), "status": "new"}})
	fresh(1, "insert")

	reset(1)
	o := do(p.acts.DatabaseUpdate, run.TypeDatabaseUpdate, map[string]any{
		"table": p.table("orders"), "set": map[string]any{"status": "paid"}, "where": map[string]any{"id": float64(1)}})
	require.True(t, *o.Matched)
	updated := fresh(1, "update")

	// A later write by the application that leaves the column alone keeps
	// the marker, whose xid is no longer the row's: ingest sees it stale.
	_, err := p.pool.Exec(ctx, "UPDATE "+p.table("orders")+" SET status = 'refunded' WHERE id = 1")
	require.NoError(t, err)
	var m, xmin string
	require.NoError(t, p.pool.QueryRow(ctx, "SELECT _triggerd_cascade, xmin::text FROM "+p.table("orders")+" WHERE id = 1").Scan(&m, &xmin))
	require.Equal(t, "on-signup,on-order@"+updated, m)
	require.NotEqual(t, updated, xmin, "the application's write is another transaction")

	reset(1)
	do(p.acts.DatabaseUpsert, run.TypeDatabaseUpsert, map[string]any{
		"table": p.table("orders"), "values": map[string]any{"id": float64(1), "status": "shipped"}, "conflict": []any{"id"}})
	fresh(1, "upsert that updates (DO UPDATE)")

	do(p.acts.DatabaseUpsert, run.TypeDatabaseUpsert, map[string]any{
		"table": p.table("orders"), "values": map[string]any{"id": float64(3), "status": "new"}, "conflict": []any{"id"}})
	fresh(3, "upsert that inserts")

	reset(1)
	o = do(p.acts.DatabaseUpsert, run.TypeDatabaseUpsert, map[string]any{
		"table": p.table("orders"), "values": map[string]any{"id": float64(1)}, "conflict": []any{"id"}})
	require.EqualValues(t, 0, o.RowsAffected, "an upsert with nothing to update stays DO NOTHING")
	require.Nil(t, marker(1))

	// {{run.cascade}} keeps working: the action's own value wins, written
	// as it is (a plain chain, no xid).
	do(p.acts.DatabaseInsert, run.TypeDatabaseInsert, map[string]any{
		"table": p.table("orders"), "values": map[string]any{"id": float64(2), "_triggerd_cascade": "explicit"}})
	require.Equal(t, "explicit", *marker(2))

	// A table without the column is written as before.
	o = do(p.acts.DatabaseInsert, run.TypeDatabaseInsert, map[string]any{
		"table": p.table("plain"), "values": map[string]any{"id": float64(1), "status": "new"}})
	require.EqualValues(t, 1, o.RowsAffected)
}

// The xid in the marker is the one Debezium reports as source.txId for
// the write: read back from the real connector's topic, the action's
// change carries a marker naming its own transaction, and a later write
// by the application that leaves the column alone carries the same
// marker in a transaction of another xid, which ingest ignores as stale.
func TestCascadeMarkerXidIsTheDecodedTxID(t *testing.T) {
	h := cdctest.New(t)
	h.Exec(`CREATE TABLE orders (id int PRIMARY KEY, status text, _triggerd_cascade text)`)
	acts := New(WithDatabases(map[string]DB{"default": h.Pool()}))
	ctx := context.Background()

	req := request(run.TypeDatabaseInsert, map[string]any{
		"table": h.Table("orders"), "values": map[string]any{"id": float64(1), "status": "new"}})
	req.Cascade = []string{"on-signup", "on-order"}
	out, err := acts.DatabaseInsert(ctx, req)
	dbOut(t, out, err)
	h.Exec(`UPDATE orders SET status = 'paid' WHERE id = 1`)

	type change struct{ xid, marker string }
	var changes []change
	for _, m := range h.Read(ctx, "orders", 2) {
		var v struct {
			After  map[string]any `json:"after"`
			Source struct {
				TxID json.Number `json:"txId"`
			} `json:"source"`
		}
		require.NoError(t, json.Unmarshal(m.Value, &v), "%s", m.Value)
		marker, _ := v.After[run.FieldCascade].(string)
		changes = append(changes, change{xid: v.Source.TxID.String(), marker: marker})
	}

	chain, txID := run.ParseCascadeMarker(changes[0].marker)
	require.Equal(t, []string{"on-signup", "on-order"}, chain)
	require.True(t, run.SameTxID(txID, changes[0].xid), "fresh: marker %q, source.txId %s", changes[0].marker, changes[0].xid)

	require.Equal(t, changes[0].marker, changes[1].marker, "the column kept its value")
	_, txID = run.ParseCascadeMarker(changes[1].marker)
	require.False(t, run.SameTxID(txID, changes[1].xid), "stale: marker %q, source.txId %s", changes[1].marker, changes[1].xid)
}
