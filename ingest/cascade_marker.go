package ingest

import (
	"fmt"
	"strings"

	"github.com/triggerd/triggerd/run"
)

// markerCascade reads the cascade chain of ev from its FieldCascade
// marker column, nil when there is none or it is stale.
//
// The column keeps its value after the database action that wrote it, so
// a later write by the application that leaves it alone carries the old
// marker. Database actions therefore write "chain@xid", naming their own
// transaction: such a marker counts only on an event whose source
// transaction (Debezium's source.txId, the native envelope's txId) is
// that one. On an event that names no transaction it cannot be checked
// and is ignored: a stale chain fails a run that did nothing wrong, while
// a missing one only restarts the count (a native producer that relays
// such writes sets txId to keep it). A marker without a transaction
// id (written by the user with {{run.cascade}}, or by an older triggerd)
// is taken as it is. A marker that is not a string, or whose chain is not
// one (run.ValidateCascade), is an error.
func markerCascade(ev run.Event) ([]string, error) {
	s, ok := ev.Record[run.FieldCascade].(string)
	if !ok {
		return nil, fmt.Errorf("want a string, got %T", ev.Record[run.FieldCascade])
	}
	chain, txID := run.ParseCascadeMarker(s)
	raw := s
	if txID != "" {
		raw = s[:strings.LastIndex(s, run.CascadeTxIDSeparator)]
	}
	if err := run.ValidateCascade(raw); err != nil {
		return nil, err
	}
	if txID != "" && !run.SameTxID(txID, ev.SourceTxID) {
		return nil, nil
	}
	return chain, nil
}
