package cdctest_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/stretchr/testify/require"

	"github.com/triggerd/triggerd/internal/cdctest"
)

// goldenDir holds real Debezium output, one directory per test connector,
// for the decoding tests of package ingest.
const goldenDir = "../../ingest/testdata/debezium"

// recordGoldenVar asks TestDebeziumGolden to (re)write the golden files.
const recordGoldenVar = "TRIGGERD_RECORD_DEBEZIUM"

// goldenSchema replaces the test's random schema name in the golden files
// (<connector's schema prefix>golden), so that they do not change with
// every recording.
const goldenSchema = "golden"

// goldenSeed seeds the random TOAST value: the same bytes at every run.
const goldenSeed = 20241107

// goldenSQL is the scenario: a table with every PostgreSQL type that
// triggers read, and a table whose large column PostgreSQL TOASTs, under
// REPLICA IDENTITY DEFAULT (no before-image, unchanged TOASTed columns
// unavailable).
var goldenSQL = []struct{ name, sql string }{
	{"schema", `CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');
CREATE TABLE types (
  id              int PRIMARY KEY,
  c_numeric_scale numeric(12,2),
  c_numeric       numeric,
  c_money         money,
  c_date          date,
  c_time          time,
  c_timetz        timetz,
  c_timestamp     timestamp,
  c_timestamptz   timestamptz,
  c_interval      interval,
  c_json          json,
  c_jsonb         jsonb,
  c_uuid          uuid,
  c_bool          boolean,
  c_int2          smallint,
  c_int4          integer,
  c_int8          bigint,
  c_float4        real,
  c_float8        double precision,
  c_text          text,
  c_text_array    text[],
  c_int4_array    int4[],
  c_enum          mood,
  c_bytea         bytea,
  c_xml           xml,
  c_bit           bit(4),
  c_varbit        varbit(16)
);
ALTER TABLE types REPLICA IDENTITY FULL;
CREATE TABLE toast (id int PRIMARY KEY, note text, body text);`},
	{"types insert", `INSERT INTO types VALUES (1, 1234.50, 3.14159265358979323846, 12.34, '2024-03-01',
  '13:45:30.123456', '13:45:30.5+02', '2024-03-01 13:45:30.123456', '2024-03-01 13:45:30.123456+00',
  '1 year 2 mons 3 days 04:05:06.789', '{"kind":"a","n":1}', '{"kind": "a", "tags": ["x", "y"]}',
  'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', true, 32767, 2147483647, 9007199254740993, 1.5, 2.25,
  'héllo "quoted" <b>&', '{a,"b c",NULL}', '{1,2,3}', 'happy', '\xdeadbeef',
  '<order id="1"><total>12.5</total></order>', B'1010', B'110011')`},
	{"types update", `UPDATE types SET c_numeric_scale = 99.99, c_text = 'changed', c_enum = 'ok' WHERE id = 1`},
	{"types delete", `DELETE FROM types WHERE id = 1`},
	{"types insert for the snapshot", `INSERT INTO types (id, c_numeric_scale, c_date, c_timestamptz, c_jsonb, c_enum)
  VALUES (2, -0.5, '1969-12-31', '1969-12-31 23:59:59.999999+00', '[]', 'sad')`},
	{"toast insert", `INSERT INTO toast VALUES (1, 'first', $1)`},
	{"toast update of another column", `UPDATE toast SET note = 'second' WHERE id = 1`},
	{"toast delete", `DELETE FROM toast WHERE id = 1`},
}

// toastBody is ~10 KB of random letters and digits: PostgreSQL cannot
// compress it below the ~2 KB TOAST threshold, so it is stored out of line
// and an update that leaves it alone does not carry it.
func toastBody() string {
	const letters = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	r := rand.New(rand.NewPCG(goldenSeed, goldenSeed))
	b := make([]byte, 10_000)
	for i := range b {
		b[i] = letters[r.IntN(len(letters))]
	}
	return string(b)
}

// TestDebeziumGolden runs the scenario through both test connectors. With
// TRIGGERD_RECORD_DEBEZIUM=1 it saves every message (key, value and
// headers, as Debezium wrote them) under ingest/testdata/debezium/<connector>/;
// otherwise it checks that Debezium still writes what was saved, apart
// from positions and clocks (lsn, txId, sequence, ts_*, transaction ids):
// an upgrade of Debezium or a change of a connector setting that changes
// the output fails here, and the decoding tests get re-recorded files.
func TestDebeziumGolden(t *testing.T) {
	record := os.Getenv(recordGoldenVar) != ""
	t.Logf("TOAST value seed %d", goldenSeed)
	if record {
		require.NoError(t, os.MkdirAll(goldenDir, 0o755))
	}
	for _, name := range connectors {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			h := cdctest.New(t, cdctest.WithConnector(name))
			got := goldenScenario(t, h)
			dir := filepath.Join(goldenDir, strings.TrimPrefix(name, "triggerd-test-"))
			fixed := h.Connector().SchemaPrefix + goldenSchema
			files := map[string][]byte{}
			for i, m := range got {
				b, err := cdctest.EncodeMessage(m.msg)
				require.NoError(t, err)
				files[fmt.Sprintf("%02d-%s.json", i+1, m.name)] = bytes.ReplaceAll(b, []byte(h.Schema()), []byte(fixed))
			}
			if record {
				require.NoError(t, os.RemoveAll(dir))
				require.NoError(t, os.MkdirAll(dir, 0o755))
				for f, b := range files {
					require.NoError(t, os.WriteFile(filepath.Join(dir, f), b, 0o644))
				}
				return
			}
			saved, err := filepath.Glob(filepath.Join(dir, "*.json"))
			require.NoError(t, err)
			require.Len(t, saved, len(files), "files in %s: re-record with %s=1", dir, recordGoldenVar)
			for f, b := range files {
				want, err := os.ReadFile(filepath.Join(dir, f))
				require.NoError(t, err, "re-record with %s=1", recordGoldenVar)
				require.Equal(t, normalize(t, want), normalize(t, b), "%s/%s differs from Debezium's output (re-record with %s=1 if the change is intended)", dir, f, recordGoldenVar)
			}
		})
	}
	if record {
		var sql strings.Builder
		sql.WriteString("-- The SQL of internal/cdctest's TestDebeziumGolden, whose messages are in\n-- schemas/ and schemaless/ ($1 is a 10 KB random text).\n")
		for _, s := range goldenSQL {
			fmt.Fprintf(&sql, "\n-- %s\n%s;\n", s.name, s.sql)
		}
		require.NoError(t, os.WriteFile(filepath.Join(goldenDir, "scenario.sql"), []byte(sql.String()), 0o644))
	}
}

type namedMessage struct {
	name string
	msg  kafka.Message
}

// goldenScenario runs goldenSQL, a blocking snapshot of types, and returns
// the messages in scenario order, named after their table and operation,
// followed by the transaction metadata of the first insert and a
// heartbeat.
func goldenScenario(t *testing.T, h *cdctest.Harness) []namedMessage {
	ctx := context.Background()
	h.Exec(goldenSQL[0].sql)
	// One partition: the messages of a table in the order of the changes.
	h.CreateTopics(1, "types", "toast")
	body := toastBody()
	for _, s := range goldenSQL[1:] {
		if strings.Contains(s.sql, "$1") {
			h.Exec(s.sql, body)
		} else {
			h.Exec(s.sql)
		}
	}
	h.Snapshot(ctx, cdctest.SnapshotBlocking, "types")

	var out []namedMessage
	types := h.Read(ctx, "types", 6)
	toast := h.Read(ctx, "toast", 4)
	for _, m := range append(types, toast...) {
		op := "tombstone"
		if m.Value != nil {
			op = payload(t, m)["op"].(string)
		}
		table := strings.TrimPrefix(m.Topic, h.Connector().TopicPrefix+"."+h.Schema()+".")
		out = append(out, namedMessage{table + "-" + op, m})
	}
	require.Equal(t, []string{"types-c", "types-u", "types-d", "types-tombstone", "types-c", "types-r",
		"toast-c", "toast-u", "toast-d", "toast-tombstone"}, names(out))
	// The update left the TOASTed body alone: Debezium had no value for it.
	toastAfter := payload(t, toast[1])["after"].(map[string]any)
	require.Equal(t, "__debezium_unavailable_value", toastAfter["body"], "TOASTed body unchanged by the update")
	require.Nil(t, payload(t, toast[1])["before"], "REPLICA IDENTITY DEFAULT: no before-image")

	txID := fmt.Sprint(payload(t, types[0])["source"].(map[string]any)["txId"])
	var begin, end kafka.Message
	h.ReadUntil(ctx, h.Connector().TransactionTopic(), func(got []kafka.Message) bool {
		for _, m := range got {
			p := payload(t, m)
			if id, _ := p["id"].(string); strings.HasPrefix(id, txID+":") {
				if p["status"] == "BEGIN" {
					begin = m
				} else {
					end = m
				}
			}
		}
		return begin.Value != nil && end.Value != nil
	})
	hb := h.ReadTopic(ctx, h.Connector().HeartbeatTopic(), 1)[0]
	return append(out, namedMessage{"transaction-begin", begin}, namedMessage{"transaction-end", end}, namedMessage{"heartbeat", hb})
}

func names(ms []namedMessage) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = m.name
	}
	return out
}

// volatile are the fields that differ between two runs of the same
// scenario: positions in the WAL and Kafka, transaction ids, clocks (and
// the header naming the task's run).
var volatile = map[string]bool{
	"offset": true, "partition": true, "lsn": true, "txId": true, "sequence": true, "xmin": true,
	"ts_ms": true, "ts_us": true, "ts_ns": true,
}

// txIDPattern is a Debezium PostgreSQL transaction id, "<txId>:<lsn>".
var txIDPattern = regexp.MustCompile(`^\d+:\d+$`)

// normalize decodes a saved message, its key and value too, replacing the
// volatile fields by a placeholder.
func normalize(t *testing.T, b []byte) any {
	t.Helper()
	var f map[string]any
	require.NoError(t, json.Unmarshal(b, &f))
	var walk func(v any) any
	walk = func(v any) any {
		switch v := v.(type) {
		case map[string]any:
			for k, x := range v {
				switch s, _ := x.(string); {
				case volatile[k] && x != nil:
					v[k] = "<" + k + ">"
				case k == "id" && txIDPattern.MatchString(s):
					v[k] = "<txid:lsn>"
				case k == "value" && v["key"] == "__debezium.context.runId":
					v[k] = "<runId>" // a header: one id per start of the task
				default:
					v[k] = walk(x)
				}
			}
		case []any:
			for i, x := range v {
				v[i] = walk(x)
			}
		}
		return v
	}
	return walk(f)
}

// The saved form keeps Debezium's bytes exactly.
func TestMessageFileRoundTrip(t *testing.T) {
	m := kafka.Message{Topic: "t", Partition: 2, Offset: 7, Key: []byte(`{"id":1}`),
		Value:   []byte(`{"payload":{"x":"<b>&amp;</b>","n":1.50,"s":"a\u00e9"}}`),
		Headers: []kafka.Header{{Key: "h", Value: []byte("v")}}, Time: time.Unix(0, 0)}
	path := filepath.Join(t.TempDir(), "m.json")
	require.NoError(t, cdctest.SaveMessage(path, m))
	got, err := cdctest.LoadMessage(path)
	require.NoError(t, err)
	m.Time = time.Time{}
	require.Equal(t, m, got)

	m.Value = nil
	require.NoError(t, cdctest.SaveMessage(path, m))
	got, err = cdctest.LoadMessage(path)
	require.NoError(t, err)
	require.Nil(t, got.Value, "a tombstone stays a tombstone")
}
