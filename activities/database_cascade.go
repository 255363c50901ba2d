package activities

import (
	"github.com/triggerd/triggerd/run"
)

// cascadeMarker is the value markCascade puts in a row's values: the
// statement builder writes it as an SQL expression, not a plain value,
// so that the marker also names the transaction that wrote it.
type cascadeMarker struct{ chain string }

// markCascade writes the run's cascade chain into the table's marker
// column (run.FieldCascade) when the table has one, so that the change
// data capture event of this write brings the chain back to ingest
// without the user writing {{run.cascade}}. A value the action sets
// itself wins. It reports whether it added the column.
//
// Deletes are not marked: the event of a delete carries no new row.
func markCascade(t tableInfo, values map[string]any, req run.ActionRequest) bool {
	if len(req.Cascade) == 0 || !t.columns[run.FieldCascade] {
		return false
	}
	if _, set := values[run.FieldCascade]; set {
		return false
	}
	values[run.FieldCascade] = cascadeMarker{chain: run.FormatCascade(req.Cascade)}
	return true
}

// marker is the SQL expression of m: "chain@xid", the chain a bind
// parameter, xid the transaction's own. The column keeps its value after
// this write, so a later write by the application that leaves it alone
// brings the same marker back in its change event; the xid lets ingest
// tell that event (another transaction, source.txId differs) from this
// one. txid_current() carries an epoch in its upper 32 bits; modulo 2^32
// it is the xid of the row's xmin and of Debezium's source.txId.
func (b *stmt) marker(m cascadeMarker) string {
	return "(" + b.param(m.chain) + "::text || '" + run.CascadeTxIDSeparator + "' || (txid_current() % 4294967296)::text)"
}

// value is the SQL of v in a VALUES list or a SET: a placeholder, or the
// marker's expression.
func (b *stmt) value(v any) string {
	if m, ok := v.(cascadeMarker); ok {
		return b.marker(m)
	}
	return b.param(v)
}
