package cdctest_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/segmentio/kafka-go"
	"github.com/stretchr/testify/require"

	"github.com/triggerd/triggerd/internal/cdctest"
	"github.com/triggerd/triggerd/internal/testenv"
)

// TestMain skips the package, Example included (an example cannot skip
// itself), when the services are not set up, as testenv does for each
// test; under CI=true the tests run and fail.
func TestMain(m *testing.M) {
	if os.Getenv(testenv.ConnectURLVar) == "" && os.Getenv("CI") != "true" {
		fmt.Println("skipping internal/cdctest: " + testenv.ConnectURLVar + " is not set: start the services with scripts/services/up.sh and source scripts/services/env.sh")
		os.Exit(0)
	}
	os.Exit(m.Run())
}

var connectors = []string{cdctest.Schemas, cdctest.Schemaless}

// payload is the Debezium envelope of a message, with or without the
// schema wrapper.
func payload(t *testing.T, m kafka.Message) map[string]any {
	t.Helper()
	var v map[string]any
	require.NoError(t, json.Unmarshal(m.Value, &v), "value %s", m.Value)
	if p, ok := v["payload"].(map[string]any); ok && v["schema"] != nil {
		return p
	}
	return v
}

func ops(t *testing.T, msgs []kafka.Message) []string {
	t.Helper()
	out := make([]string, len(msgs))
	for i, m := range msgs {
		if m.Value == nil {
			out[i] = "tombstone"
			continue
		}
		out[i], _ = payload(t, m)["op"].(string)
	}
	return out
}

// A table created after the connector started is captured from its first
// change, on both connectors, without registering anything: insert,
// update, delete and the delete's tombstone, in order, on the table's
// topic, with the schema wrapper exactly when the connector has schemas.
func TestTableCreatedAfterTheConnectorIsCaptured(t *testing.T) {
	for _, name := range connectors {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			h := cdctest.New(t, cdctest.WithConnector(name))
			require.True(t, strings.HasPrefix(h.Schema(), h.Connector().SchemaPrefix))
			h.Exec(`CREATE TABLE orders (id int PRIMARY KEY, status text NOT NULL)`)
			h.Exec(`INSERT INTO orders VALUES (1, 'new')`)
			h.Exec(`UPDATE orders SET status = 'paid' WHERE id = 1`)
			h.Exec(`DELETE FROM orders WHERE id = 1`)

			msgs := h.Read(ctx, "orders", 4)
			require.Equal(t, []string{"c", "u", "d", "tombstone"}, ops(t, msgs))
			for _, m := range msgs {
				require.Equal(t, h.Topic("orders"), m.Topic)
			}
			var wrapped map[string]json.RawMessage
			require.NoError(t, json.Unmarshal(msgs[0].Value, &wrapped))
			_, hasSchema := wrapped["schema"]
			require.Equal(t, h.Connector().SchemasEnabled, hasSchema, "schema wrapper")
			src := payload(t, msgs[0])["source"].(map[string]any)
			require.Equal(t, h.Schema(), src["schema"])
			require.Equal(t, "orders", src["table"])
			require.Equal(t, h.Connector().Database, src["db"])
		})
	}
}

// Snapshot reads of a table on request: a blocking snapshot marks its
// reads like an initial snapshot, an incremental one as "incremental".
func TestSnapshotReads(t *testing.T) {
	for _, kind := range []string{cdctest.SnapshotBlocking, cdctest.SnapshotIncremental} {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			h := cdctest.New(t, cdctest.WithConnector(cdctest.Schemas))
			h.Exec(`CREATE TABLE users (id int PRIMARY KEY, name text)`)
			h.Exec(`INSERT INTO users VALUES (1, 'Ada'), (2, 'Grace')`)
			h.Snapshot(ctx, kind, "users")
			msgs := h.ReadUntil(ctx, h.Topic("users"), func(got []kafka.Message) bool {
				reads := 0
				for _, op := range ops(t, got) {
					if op == "r" {
						reads++
					}
				}
				return reads == 2
			})
			var marks []string
			for _, m := range msgs {
				if p := payload(t, m); p["op"] == "r" {
					marks = append(marks, p["source"].(map[string]any)["snapshot"].(string))
					require.NotNil(t, p["after"])
				}
			}
			if kind == cdctest.SnapshotIncremental {
				require.Equal(t, []string{"incremental", "incremental"}, marks)
			} else {
				require.NotContains(t, marks, "incremental")
				require.NotContains(t, marks, "false")
			}
		})
	}
}

// The transaction metadata topic has the BEGIN and END of a test's
// transaction, and the heartbeat topic has heartbeats. Debezium's
// PostgreSQL transaction ids are "<txId>:<lsn>": they differ between the
// events of one transaction (and between its BEGIN and END), only the
// source.txId before the colon is the transaction's.
func TestTransactionAndHeartbeatTopics(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	h := cdctest.New(t)
	h.Exec(`CREATE TABLE items (id int PRIMARY KEY)`)
	h.Exec(`INSERT INTO items VALUES (1), (2), (3)`)
	msgs := h.Read(ctx, "items", 3)
	txID := fmt.Sprint(payload(t, msgs[0])["source"].(map[string]any)["txId"])
	for _, m := range msgs {
		p := payload(t, m)
		require.Equal(t, txID, fmt.Sprint(p["source"].(map[string]any)["txId"]), "one transaction")
		require.True(t, strings.HasPrefix(p["transaction"].(map[string]any)["id"].(string), txID+":"))
	}
	var status []string
	h.ReadUntil(ctx, h.Connector().TransactionTopic(), func(got []kafka.Message) bool {
		status = status[:0]
		for _, m := range got {
			if p := payload(t, m); strings.HasPrefix(p["id"].(string), txID+":") {
				status = append(status, p["status"].(string))
				if p["status"] == "END" {
					require.EqualValues(t, 3, p["event_count"])
				}
			}
		}
		return len(status) == 2
	})
	// Keyed by their ids, BEGIN and END may be on different partitions of
	// the transaction topic: no order between them.
	require.ElementsMatch(t, []string{"BEGIN", "END"}, status)

	hb := h.ReadTopic(ctx, h.Connector().HeartbeatTopic(), 1)
	require.Contains(t, string(hb[0].Value), "ts_ms")
}

// A row of several megabytes reaches Kafka (the worker's
// producer.max.request.size and the topic's max.message.bytes allow it),
// and the shared connector keeps streaming after it.
func TestLargeRowReachesKafka(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	h := cdctest.New(t)
	h.Exec(`CREATE TABLE docs (id int PRIMARY KEY, body text)`)
	// md5 chains: 3 MB that PostgreSQL and Kafka cannot compress much.
	h.Exec(`INSERT INTO docs SELECT 1, string_agg(md5(g::text), '') FROM generate_series(1, 98304) g`)
	h.Exec(`INSERT INTO docs VALUES (2, 'small')`)
	msgs := h.ReadUntil(ctx, h.Topic("docs"), func(got []kafka.Message) bool { return len(got) == 2 })
	sizes := map[string]int{}
	for _, m := range msgs {
		sizes[string(m.Key)] = len(m.Value)
	}
	require.Greater(t, sizes[`{"id":1}`], 3<<20, "the 3 MB row")
	require.Less(t, sizes[`{"id":2}`], 4<<10)
	h.WaitStreaming(ctx)
}
