package ingest

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/triggerd/triggerd/run"
)

func txEvent(id, tx, table string) run.Event {
	return run.Event{ID: id, Transaction: tx, Schema: "public", Table: table, Database: "app", Source: run.Source{Topic: "dbz.public." + table}}
}

func end(id string, counts map[string]int) txBoundary {
	return txBoundary{status: "END", id: id, counts: counts}
}

func TestTxTracker_ClosesWhenEveryEventOfTheTableWasProcessed(t *testing.T) {
	tr := newTxTracker(time.Now)
	tr.activate()
	usersBatch := batchRef{tag: "bulk", topic: "dbz.public.users", txID: "771"}

	assert.Empty(t, tr.event(txEvent("e1", "771", "users"), []string{"bulk"}))
	assert.Empty(t, tr.event(txEvent("e2", "771", "users"), nil), "processed, matched no for: all trigger")
	assert.Empty(t, tr.boundary(end("771", map[string]int{"public.users": 3, "public.orders": 1})), "one users event still to come")
	assert.Empty(t, tr.event(txEvent("e2", "771", "users"), nil), "a redelivery counts once")
	assert.Equal(t, []batchRef{usersBatch}, tr.event(txEvent("e3", "771", "users"), []string{"bulk"}))
	assert.Empty(t, tr.event(txEvent("e3", "771", "users"), []string{"bulk"}), "closed once")
	// orders: no for: all batch, nothing to close; the transaction is then
	// complete and forgotten.
	assert.Empty(t, tr.event(txEvent("o1", "771", "orders"), nil))
	assert.Empty(t, tr.txs)
	assert.Zero(t, tr.events)
}

func TestTxTracker_EndFirst(t *testing.T) {
	tr := newTxTracker(time.Now)
	assert.Empty(t, tr.boundary(txBoundary{status: "BEGIN", id: "9"}), "a boundary turns the tracker on")
	assert.Empty(t, tr.boundary(end("9", map[string]int{"app.users": 2})), "MySQL names database.table")
	ev := func(id string) run.Event {
		return run.Event{ID: id, Transaction: "9", Table: "users", Database: "app", Source: run.Source{Topic: "t"}}
	}
	assert.Empty(t, tr.event(ev("a"), []string{"x", "y"}))
	got := tr.event(ev("b"), nil)
	slices.SortFunc(got, func(a, b batchRef) int { return strings.Compare(a.tag, b.tag) })
	assert.Equal(t, []batchRef{{tag: "x", topic: "t", txID: "9"}, {tag: "y", topic: "t", txID: "9"}}, got)
}

func TestTxTracker_OffUntilATransactionTopicIsConsumed(t *testing.T) {
	tr := newTxTracker(time.Now)
	assert.Empty(t, tr.event(txEvent("e1", "1", "users"), []string{"bulk"}))
	assert.Empty(t, tr.txs, "nothing remembered without a transaction topic")

	c := &Consumer{txs: tr}
	c.consumesTransactionTopic([]string{"dbz.public.users"})
	assert.False(t, tr.active)
	c.consumesTransactionTopic([]string{"dbz.public.users", "dbz" + TransactionTopicSuffix})
	assert.True(t, tr.active)
}

func TestTxTracker_ForgetsOldTransactions(t *testing.T) {
	clk := &fakeClock{t: time.Unix(0, 0)}
	tr := newTxTracker(clk.now)
	tr.activate()
	tr.event(txEvent("e1", "1", "users"), []string{"bulk"})
	clk.advance(txTTL)
	tr.event(txEvent("e2", "2", "users"), []string{"bulk"})
	assert.NotContains(t, tr.txs, "1", "expired")
	assert.Empty(t, tr.boundary(end("1", map[string]int{"public.users": 1})), "the END of a forgotten transaction closes nothing")
	assert.Equal(t, 1, tr.events)
}

func TestDecodeTxBoundary(t *testing.T) {
	for _, tc := range []struct {
		name, value string
		want        txBoundary
		ok          bool
	}{
		{"postgres END", `{"status":"END","id":"571:53195832","ts_ms":1,"event_count":2,"data_collections":[{"data_collection":"s1.a","event_count":1},{"data_collection":"s2.a","event_count":1}]}`,
			txBoundary{status: "END", id: "571", counts: map[string]int{"s1.a": 1, "s2.a": 1}}, true},
		{"wrapped BEGIN", `{"schema":{"type":"struct","name":"io.debezium.connector.common.TransactionMetadataValue"},"payload":{"status":"BEGIN","id":"571:53195829","event_count":null,"data_collections":null}}`,
			txBoundary{status: "BEGIN", id: "571"}, true},
		{"SQL Server id kept", `{"status":"END","id":"00000025:00000d08:0025","event_count":1,"data_collections":[{"data_collection":"testDB.dbo.a","event_count":1}]}`,
			txBoundary{status: "END", id: "00000025:00000d08:0025", counts: map[string]int{"testDB.dbo.a": 1}}, true},
		{"a change event", `{"op":"c","after":{"status":"END","id":1},"source":{}}`, txBoundary{}, false},
		{"not JSON", `"status"`, txBoundary{}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := decodeTxBoundary(kafka.Message{Value: []byte(tc.value)})
			require.Equal(t, tc.ok, ok)
			assert.Equal(t, tc.want, got)
		})
	}
}

func TestTransactionKey(t *testing.T) {
	assert.Equal(t, "781", transactionKey("781:39950456"))
	assert.Equal(t, "3E11FA47-71CA-11E1-9E33-C80AA9429562:23", transactionKey("3E11FA47-71CA-11E1-9E33-C80AA9429562:23"), "a MySQL GTID")
	assert.Equal(t, "00000025:00000d08:0025", transactionKey("00000025:00000d08:0025"))
	assert.Equal(t, "0a001b00f5030000", transactionKey("0a001b00f5030000"), "Oracle")
}

func TestDecode_TransactionOfEachConnector(t *testing.T) {
	for _, tc := range []struct{ name, source, transaction, want string }{
		{"postgres, no metadata", `"txId":771,"lsn":24023928`, `null`, "771"},
		{"postgres, metadata", `"txId":771,"lsn":24023928`, `{"id":"771:24023928","total_order":1,"data_collection_order":1}`, "771"},
		{"sql server", `"change_lsn":"00000025:00000d08:0002","commit_lsn":"00000025:00000d08:0025"`, `null`, "00000025:00000d08:0025"},
		{"oracle", `"txId":"0a001b00f5030000","scn":"2"`, `null`, "0a001b00f5030000"},
		{"mysql gtid", `"file":"binlog.000003","pos":154,"row":0,"gtid":"3E11FA47-71CA-11E1-9E33-C80AA9429562:23"`, `null`, "3E11FA47-71CA-11E1-9E33-C80AA9429562:23"},
		{"mysql without gtid", `"file":"binlog.000003","pos":154,"row":0,"gtid":null`, `null`, ""},
		{"mongodb", `"ord":1,"lsid":"{\"id\": {\"$binary\": \"x\"}}","txnNumber":3`, `null`, `{"id": {"$binary": "x"}}:3`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := `{"before":null,"after":{"id":1},"source":{"name":"s","db":"app","table":"users",` + tc.source + `},"op":"c","transaction":` + tc.transaction + `}`
			evs, err := Decode(kafka.Message{Value: []byte(v)}, DecodeOptions{})
			require.NoError(t, err)
			assert.Equal(t, tc.want, evs[0].Transaction)
		})
	}
}

func TestDecode_HeartbeatsSkipped(t *testing.T) {
	for _, v := range []string{
		`{"ts_ms":1700000000000}`,
		`{"schema":{"type":"struct","fields":[{"type":"int64","optional":false,"field":"ts_ms"}],"optional":false,"name":"io.debezium.connector.common.Heartbeat"},"payload":{"ts_ms":1700000000000}}`,
	} {
		evs, err := Decode(kafka.Message{Value: []byte(v)}, DecodeOptions{})
		require.NoError(t, err, v)
		assert.Empty(t, evs)
	}
	_, err := Decode(kafka.Message{Value: []byte(`{"ts_ms":1,"other":2}`)}, DecodeOptions{})
	assert.Error(t, err, "anything else without an envelope is malformed")
}

// closerFunc is a BatchCloser made of a function.
type closerFunc func(ctx context.Context, tag, topic, txID string) error

func (f closerFunc) CloseBatch(ctx context.Context, tag, topic, txID string) error {
	return f(ctx, tag, topic, txID)
}

// The END of a transaction closes its batches through the BatchCloser the
// consumer was given (WithBatchCloser), whatever its Starter is: here a
// plain recording starter, as a decorated starter would be.
func TestConsumer_ClosesBatchesThroughTheGivenCloser(t *testing.T) {
	closed := make(chan batchRef, 1)
	c := newTestConsumer(t, nil, &recordingStarter{}, nil, WithBatchCloser(closerFunc(func(_ context.Context, tag, topic, txID string) error {
		closed <- batchRef{tag, topic, txID}
		return nil
	})))
	c.txs.activate()
	c.eventDone(txEvent("e1", "771", "users"), []string{"bulk"})
	c.closeBatches(c.txs.boundary(end("771", map[string]int{"public.users": 1})))
	select {
	case got := <-closed:
		assert.Equal(t, batchRef{tag: "bulk", topic: "dbz.public.users", txID: "771"}, got)
	case <-time.After(30 * time.Second):
		t.Fatal("the batch was not closed")
	}
}
