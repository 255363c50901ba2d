package ingest

import (
	"bytes"
	"context"
	"encoding/json"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/triggerd/triggerd/run"
)

// A `for: all` batch waits delivery.batchWindow after its last event for
// more. When Debezium's transaction metadata topic is consumed, ingest
// knows better: the END event of a transaction lists how many events each
// table had (data_collections). Once ingest has processed that many events
// of a table in that transaction, and handed the matching ones to their
// batches, it tells those batches to run now (run.SignalBatchClose)
// instead of waiting for the timer.
//
// The count lives in this process only. When the transaction topic and a
// table's partitions are read by different processes, or the process
// restarted in the middle of a transaction, the count never completes and
// the timer closes the batch as before: the close is an optimisation, never
// needed for correctness.

// txTTL, maxTxs and maxTrackedEvents bound what the tracker remembers;
// a transaction evicted early only waits for its batches' timers.
const (
	txTTL            = 10 * time.Minute
	maxTxs           = 10000
	maxTrackedEvents = 1 << 20
)

// TransactionTopicSuffix ends the name of Debezium's transaction metadata
// topic (<topic.prefix>.transaction, the connector's default
// topic.transaction): consuming such a topic turns the tracker on from the
// start, so that the first transaction's events are counted too.
const TransactionTopicSuffix = ".transaction"

// txTracker counts the events of source transactions per table.
type txTracker struct {
	now func() time.Time

	mu sync.Mutex
	// active turns on when a transaction topic is consumed, or with the
	// first transaction boundary seen: without one there is nothing to
	// count for.
	active bool
	txs    map[string]*txState
	order  []string // transaction ids by first sight, for eviction
	events int      // event ids remembered, over all transactions
}

type txState struct {
	first time.Time
	// expected is the END's event count per data collection, nil before
	// the END arrived.
	expected map[string]int
	tables   map[txTable]*txTableState
	events   int
}

// txTable is a table as an event names it.
type txTable struct{ database, table string }

type txTableState struct {
	seen    map[string]bool // event ids processed
	batches map[batchRef]bool
	closed  bool
}

// batchRef names the batch of a `for: all` trigger for one transaction.
type batchRef struct{ tag, topic, txID string }

func newTxTracker(now func() time.Time) *txTracker {
	return &txTracker{now: now, txs: map[string]*txState{}}
}

// event records that ev was processed and handed to the batches of the
// `for: all` triggers tags, and returns the batches that are now complete.
func (t *txTracker) event(ev run.Event, tags []string) []batchRef {
	if ev.Transaction == "" {
		return nil
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.active {
		return nil
	}
	st := t.state(ev.Transaction)
	k := txTable{ev.Database, ev.QualifiedTable()}
	ts := st.tables[k]
	if ts == nil {
		ts = &txTableState{seen: map[string]bool{}, batches: map[batchRef]bool{}}
		st.tables[k] = ts
	}
	if !ts.seen[ev.ID] {
		ts.seen[ev.ID] = true
		st.events++
		t.events++
	}
	for _, tag := range tags {
		ts.batches[batchRef{tag: tag, topic: ev.Source.Topic, txID: ev.Transaction}] = true
	}
	return t.complete(ev.Transaction, st)
}

// boundary records a transaction's BEGIN or END and returns the batches
// that are now complete.
func (t *txTracker) boundary(b txBoundary) []batchRef {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.active = true
	if b.status != "END" {
		return nil
	}
	st := t.state(b.id)
	st.expected = b.counts
	return t.complete(b.id, st)
}

// complete closes the tables of st whose count is reached, returns their
// batches, and forgets the transaction once every table it lists is done.
func (t *txTracker) complete(id string, st *txState) []batchRef {
	if st.expected == nil {
		return nil
	}
	var out []batchRef
	for k, ts := range st.tables {
		if ts.closed {
			continue
		}
		n, ok := expectedCount(st.expected, k)
		if !ok || len(ts.seen) < n {
			continue
		}
		ts.closed = true
		for b := range ts.batches {
			out = append(out, b)
		}
	}
	done := 0
	for _, ts := range st.tables {
		if ts.closed {
			done++
		}
	}
	if done == len(st.expected) {
		t.forget(id)
	}
	return out
}

// activate turns counting on (a transaction topic is consumed).
func (t *txTracker) activate() {
	t.mu.Lock()
	t.active = true
	t.mu.Unlock()
}

func (t *txTracker) forget(id string) {
	if st := t.txs[id]; st != nil {
		t.events -= st.events
		delete(t.txs, id)
	}
}

// expectedCount finds the END's count for a table. Connectors name a data
// collection schema.table (PostgreSQL), database.table (MySQL) or
// database.schema.table (SQL Server, Db2, Oracle).
func expectedCount(counts map[string]int, k txTable) (int, bool) {
	for _, name := range []string{k.table, k.database + "." + k.table} {
		if n, ok := counts[name]; ok {
			return n, true
		}
	}
	return 0, false
}

// state returns the state of transaction id, evicting old ones.
func (t *txTracker) state(id string) *txState {
	if st := t.txs[id]; st != nil {
		return st
	}
	now := t.now()
	for len(t.order) > 0 {
		oldest := t.order[0]
		st, ok := t.txs[oldest]
		if ok && len(t.txs) < maxTxs && t.events < maxTrackedEvents && now.Sub(st.first) < txTTL {
			break
		}
		t.forget(oldest)
		t.order = t.order[1:]
	}
	if len(t.order) > 2*maxTxs {
		// Transactions completed out of order leave ids behind the oldest
		// live one.
		t.order = slices.DeleteFunc(t.order, func(id string) bool { return t.txs[id] == nil })
	}
	st := &txState{first: now, tables: map[txTable]*txTableState{}}
	t.txs[id] = st
	t.order = append(t.order, id)
	return st
}

// txBoundary is a Debezium transaction metadata message.
type txBoundary struct {
	status string // BEGIN or END
	id     string // normalised as Event.Transaction
	counts map[string]int
}

// decodeTxBoundary reads a transaction metadata message (the connector's
// <topic.prefix>.transaction topic), wrapped in the JsonConverter's schema
// envelope or not.
func decodeTxBoundary(msg kafka.Message) (txBoundary, bool) {
	if !bytes.Contains(msg.Value, []byte(`"status"`)) {
		return txBoundary{}, false
	}
	var v struct {
		Schema  json.RawMessage `json:"schema"`
		Payload json.RawMessage `json:"payload"`
		txMetadata
	}
	if json.Unmarshal(msg.Value, &v) != nil {
		return txBoundary{}, false
	}
	md := v.txMetadata
	if len(v.Schema) > 0 && len(v.Payload) > 0 {
		if json.Unmarshal(v.Payload, &md) != nil {
			return txBoundary{}, false
		}
	}
	if (md.Status != "BEGIN" && md.Status != "END") || md.ID == "" {
		return txBoundary{}, false
	}
	b := txBoundary{status: md.Status, id: transactionKey(md.ID)}
	if md.Status == "END" {
		b.counts = make(map[string]int, len(md.DataCollections))
		for _, dc := range md.DataCollections {
			b.counts[dc.DataCollection] = dc.EventCount
		}
	}
	return b, true
}

type txMetadata struct {
	Status          string `json:"status"`
	ID              string `json:"id"`
	DataCollections []struct {
		DataCollection string `json:"data_collection"`
		EventCount     int    `json:"event_count"`
	} `json:"data_collections"`
}

// pgTransactionID is PostgreSQL's transaction.id, "<txid>:<lsn>", in which
// the LSN is that of the event (and of the commit on END).
var pgTransactionID = regexp.MustCompile(`^([0-9]+):[0-9]+$`)

// transactionKey normalises a Debezium transaction id so that every event
// of a transaction, and its END, share it: PostgreSQL's "<txid>:<lsn>"
// becomes the txid (source.txId); other connectors' ids are already
// stable across the transaction.
func transactionKey(id string) string {
	if m := pgTransactionID.FindStringSubmatch(id); m != nil {
		return m[1]
	}
	return id
}

// BatchCloser tells the `for: all` batch of trigger tag for transaction
// txID on topic that its transaction is complete, so that it runs now
// instead of waiting for its timer (TemporalStarter.CloseBatch).
type BatchCloser interface {
	CloseBatch(ctx context.Context, tag, topic, txID string) error
}

// WithBatchCloser lets the consumer close `for: all` batches early, as
// soon as Debezium's transaction topic says their transaction is complete
// (usually the TemporalStarter that also starts the runs). Without it
// batches close on their timers.
//
// It is given explicitly rather than found by a type assertion on the
// Starter: a Starter wrapped by a decorator (a counter, a metrics or
// fault-injecting wrapper, as tests and the benchmark use) would hide the
// method and silently turn the early close off, and an optional
// capability is easier to see in NewConsumer's call than in a type switch.
func WithBatchCloser(bc BatchCloser) Option { return func(c *Consumer) { c.batchCloser = bc } }

// closeBatchTimeout bounds one close signal; a lost one only means the
// batch waits for its timer.
const closeBatchTimeout = 30 * time.Second

// consumesTransactionTopic turns the tracker on when topics include a
// transaction metadata topic.
func (c *Consumer) consumesTransactionTopic(topics []string) {
	if slices.ContainsFunc(topics, func(t string) bool { return strings.HasSuffix(t, TransactionTopicSuffix) }) {
		c.txs.activate()
	}
}

// eventDone feeds the transaction tracker with a processed event.
func (c *Consumer) eventDone(ev run.Event, forAll []string) {
	c.closeBatches(c.txs.event(ev, forAll))
}

// boundaryDone feeds the tracker with msg if it is a transaction boundary.
func (c *Consumer) boundaryDone(msg kafka.Message) {
	if b, ok := decodeTxBoundary(msg); ok {
		c.closeBatches(c.txs.boundary(b))
	}
}

// closeBatches signals the batches in the background: the signal is an
// optimisation, and the partition must not wait for it.
func (c *Consumer) closeBatches(refs []batchRef) {
	bc := c.batchCloser
	if bc == nil || len(refs) == 0 {
		return
	}
	for _, b := range refs {
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), closeBatchTimeout)
			defer cancel()
			if err := bc.CloseBatch(ctx, b.tag, b.topic, b.txID); err != nil {
				c.logger.Info("closing a batch early failed; its timer closes it", "trigger", b.tag, "topic", b.topic, "transaction", b.txID, "error", err)
			}
		}()
	}
}
