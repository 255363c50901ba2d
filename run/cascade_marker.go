package run

import (
	"strconv"
	"strings"
)

// CascadeTxIDSeparator separates the chain from the transaction id in a
// FieldCascade marker written by a database action: "t1,t2@4711". The
// transaction id is the 32-bit PostgreSQL xid of the write (the row's
// xmin), which is what Debezium reports as source.txId; a marker whose
// transaction id is not the event's was written by an earlier
// transaction and is stale.
const CascadeTxIDSeparator = "@"

// ParseCascadeMarker splits a FieldCascade value into its chain and the
// transaction id that wrote it. txID is "" for a marker without one (a
// value written by the user with {{run.cascade}}, or by a triggerd that
// predates transaction ids): only a trailing "@digits" counts as one.
func ParseCascadeMarker(v string) (chain []string, txID string) {
	if i := strings.LastIndex(v, CascadeTxIDSeparator); i >= 0 {
		if id := strings.TrimSpace(v[i+len(CascadeTxIDSeparator):]); isDigits(id) {
			return ParseCascade(v[:i]), id
		}
	}
	return ParseCascade(v), ""
}

// SameTxID reports whether two transaction ids name the same PostgreSQL
// transaction. Numeric ids are compared modulo 2^32: txid_current() and
// pg_current_xact_id() carry an epoch in their upper 32 bits, the xid of
// logical decoding (Debezium's source.txId) does not. Other ids (Oracle's
// hexadecimal txId, say) must be equal.
func SameTxID(a, b string) bool {
	x, errA := strconv.ParseUint(a, 10, 64)
	y, errB := strconv.ParseUint(b, 10, 64)
	if errA != nil || errB != nil {
		return a != "" && a == b
	}
	return uint32(x) == uint32(y)
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}
