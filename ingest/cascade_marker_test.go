package ingest

import (
	"fmt"
	"testing"

	"github.com/segmentio/kafka-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/triggerd/triggerd/run"
)

// docs/semantics.md, "Cascades": a database action's marker names the
// transaction that wrote it; ingest takes its chain only from the change
// event of that transaction (Debezium's source.txId, 771 in pgSource).
func TestCascadeMarkerFreshStaleLegacy(t *testing.T) {
	for _, tc := range []struct {
		name, marker string
		headers      []kafka.Header
		want         []string
	}{
		{name: "fresh: the action's own write", marker: `"t1,t2@771"`, want: []string{"t1", "t2"}},
		{name: "fresh: xid with an epoch", marker: fmt.Sprintf(`"t1,t2@%d"`, uint64(1)<<32+771), want: []string{"t1", "t2"}},
		{name: "stale: a later write left the column alone", marker: `"t1,t2@770"`},
		{name: "legacy: no xid ({{run.cascade}}, older triggerd)", marker: `"t1,t2"`, want: []string{"t1", "t2"}},
		{name: "null marker", marker: `null`},
		{name: "a header wins over a stale marker", marker: `"t1,t2@770"`,
			headers: []kafka.Header{{Key: run.HeaderCascade, Value: []byte("h1")}}, want: []string{"h1"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			value := dbz("u", `{"id":1,"_triggerd_cascade":null}`, `{"id":1,"_triggerd_cascade":`+tc.marker+`}`)
			m := msgOf(`{"id":1}`, value)
			m.Headers = tc.headers
			evs, err := Decode(m, DecodeOptions{})
			require.NoError(t, err)
			require.Len(t, evs, 1)
			assert.Equal(t, "771", evs[0].SourceTxID)
			got, err := applyHeaders(m, evs)
			require.NoError(t, err)
			require.Len(t, got, 1)
			assert.Equal(t, tc.want, got[0].Cascade)
		})
	}
}

// The native envelope names its transaction with the optional txId; a
// marker with an xid is trusted only when it is there and the same.
func TestCascadeMarkerNativeEnvelope(t *testing.T) {
	native := func(txID, marker string) string {
		v := `{"id":"c1","table":"public.orders","operation":"update","record":{"id":1,"_triggerd_cascade":` + marker + `}`
		if txID != "" {
			v += `,"txId":` + txID
		}
		return v + `}`
	}
	for _, tc := range []struct {
		name, txID, marker string
		want               []string
	}{
		{name: "no txId: an xid marker is not trusted", marker: `"t1@9"`},
		{name: "txId as a number, same", txID: `9`, marker: `"t1@9"`, want: []string{"t1"}},
		{name: "txId as a string, same", txID: `"9"`, marker: `"t1@9"`, want: []string{"t1"}},
		{name: "txId differs", txID: `10`, marker: `"t1@9"`},
		{name: "no txId, legacy marker", marker: `"t1"`, want: []string{"t1"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := kafka.Message{Value: []byte(native(tc.txID, tc.marker))}
			evs, err := Decode(m, DecodeOptions{})
			require.NoError(t, err)
			got, err := applyHeaders(m, evs)
			require.NoError(t, err)
			require.Len(t, got, 1)
			assert.Equal(t, tc.want, got[0].Cascade)
		})
	}
	_, err := Decode(kafka.Message{Value: []byte(native(`true`, `"t1"`))}, DecodeOptions{})
	require.ErrorContains(t, err, "txId: want a string or a number, not")
}
