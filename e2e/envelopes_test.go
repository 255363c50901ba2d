package e2e

import (
	"encoding/json"
	"testing"

	"github.com/segmentio/kafka-go"
	"github.com/stretchr/testify/require"
)

// Hand-written Debezium change events, for the tests of ingest's own
// mechanics that need a message on an exact partition or offset (a retry
// held on one partition, a rejected start, a transaction closed by its
// END). Tests about database changes write SQL and read Debezium's output
// instead (internal/cdctest).

// txMessage is a Debezium insert of users row id inside transaction tx,
// with Debezium's transaction metadata block.
func txMessage(t *testing.T, lsn int64, id int, tx string) kafka.Message {
	t.Helper()
	m := debeziumMessage(t, "c", lsn, nil, map[string]any{"id": id}, false)
	var payload map[string]any
	require.NoError(t, json.Unmarshal(m.Value, &payload))
	payload["transaction"] = map[string]any{"id": tx, "total_order": id, "data_collection_order": id}
	v, err := json.Marshal(payload)
	require.NoError(t, err)
	m.Value = v
	return m
}

// debeziumMessage builds a Debezium change event for a row of public.users,
// with or without the schema wrapper, keyed like Debezium keys it.
func debeziumMessage(t *testing.T, op string, lsn int64, before, after map[string]any, wrapped bool) kafka.Message {
	t.Helper()
	id := after["id"]
	if id == nil {
		id = before["id"]
	}
	payload := map[string]any{
		"before": before,
		"after":  after,
		"source": map[string]any{
			"version": "2.7.0.Final", "connector": "postgresql", "name": "dbserver1",
			"ts_ms": 1700000000000, "db": "app", "schema": "public", "table": "users",
			"txId": lsn / 10, "lsn": lsn,
		},
		"op":    op,
		"ts_ms": 1700000000123,
	}
	var value any = payload
	if wrapped {
		value = map[string]any{"schema": map[string]any{"type": "struct", "name": "dbserver1.public.users.Envelope"}, "payload": payload}
	}
	v, err := json.Marshal(value)
	require.NoError(t, err)
	k, err := json.Marshal(map[string]any{"schema": map[string]any{"type": "struct"}, "payload": map[string]any{"id": id}})
	require.NoError(t, err)
	return kafka.Message{Key: k, Value: v}
}
