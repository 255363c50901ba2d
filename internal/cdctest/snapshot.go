package cdctest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
)

// Kinds of snapshot Snapshot asks for.
const (
	// SnapshotBlocking pauses streaming while it reads the tables, and
	// marks its reads as an initial snapshot does (source.snapshot "first",
	// "true", "last"...).
	SnapshotBlocking = "blocking"
	// SnapshotIncremental reads the tables in chunks between streamed
	// changes (source.snapshot "incremental").
	SnapshotIncremental = "incremental"
)

// Snapshot asks the connector, through its signal table, to read every
// row of tables (of the test's schema) as snapshot reads (op "r"), as it
// does at its first start on an existing database. It returns once the
// signal is committed; the reads arrive on the tables' topics after it
// (wait for them with ReadUntil).
func (h *Harness) Snapshot(ctx context.Context, kind string, tables ...string) {
	h.t.Helper()
	if kind != SnapshotBlocking && kind != SnapshotIncremental {
		h.t.Fatalf("cdctest: snapshot kind %q: want %q or %q", kind, SnapshotBlocking, SnapshotIncremental)
	}
	if h.connector.SignalTable == "" {
		h.t.Fatalf("cdctest: connector %s has no signal.data.collection", h.connector.Name)
	}
	collections := make([]string, len(tables))
	for i, tbl := range tables {
		collections[i] = h.Table(tbl)
	}
	data, err := json.Marshal(map[string]any{"data-collections": collections, "type": kind})
	if err != nil {
		h.t.Fatalf("cdctest: %v", err)
	}
	id := make([]byte, 8)
	_, _ = rand.Read(id)
	ctx, cancel := h.wait(ctx)
	defer cancel()
	if _, err := h.pool.Exec(ctx, fmt.Sprintf("INSERT INTO %s (id, type, data) VALUES ($1, 'execute-snapshot', $2)", h.connector.SignalTable),
		"cdctest-"+hex.EncodeToString(id), string(data)); err != nil {
		h.t.Fatalf("cdctest: snapshot signal: %v", err)
	}
	h.logger.Info("cdctest: snapshot requested", "kind", kind, "tables", collections)
}
