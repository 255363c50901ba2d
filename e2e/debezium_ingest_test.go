package e2e

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"

	"github.com/triggerd/triggerd/ingest"
	"github.com/triggerd/triggerd/internal/cdctest"
	"github.com/triggerd/triggerd/internal/testenv"
	"github.com/triggerd/triggerd/largepayload"
	"github.com/triggerd/triggerd/run"
	"github.com/triggerd/triggerd/trigger"
)

// The tests of this file write SQL to PostgreSQL and let Debezium (in
// Kafka Connect, internal/cdctest) produce the change events that ingest
// reads: docs/debezium.md's "Transactions", "Large rows" and "Topic
// discovery" on Debezium's own output.

func parseSet(t *testing.T, doc string) *trigger.Set {
	t.Helper()
	defs, err := trigger.Parse([]byte(doc), "debezium.yaml")
	require.NoError(t, err)
	set, err := trigger.NewSet(defs)
	require.NoError(t, err)
	return set
}

// A three-row PostgreSQL transaction gives ONE run of a `for: all` trigger
// with the three records. Debezium writes transaction.id as
// "<txid>:<lsn>", different for each row; ingest groups by the txid, and
// the END on the connector's transaction topic closes the batch: its window
// is an hour, so the run can only come from the END.
func TestDebeziumForAllOneRunPerTransaction(t *testing.T) {
	h := cdctest.New(t, cdctest.WithConnector(cdctest.Schemaless))
	e := newEnv(t)
	rcv := newReceiver()
	srv := httptest.NewServer(rcv)
	t.Cleanup(srv.Close)
	h.Exec(`CREATE TABLE orders (id int PRIMARY KEY, total int NOT NULL)`)
	h.CreateTopics(1, "orders")
	dlq := "dbz-forall-dlq-" + e.suffix
	e.createTopics(t, dlq)
	e.startWorker(t)
	tag := "bulk-" + e.suffix
	set := parseSet(t, fmt.Sprintf(`
tag: %s
for: all
tables: [%s]
events: [afterInsert]
actions:
  - type: http
    config: {url: "%s/bulk", body: {records: "{{records}}"}}
`, tag, h.Table("orders"), srv.URL))
	starter := ingest.NewTemporalStarter(e.temporal, e.taskQueue)
	starter.Batch = ingest.BatchOptions{Size: 100, Window: time.Hour}
	startIngest(t, e, ingest.Config{Topics: []string{h.Topic("orders"), h.Connector().TransactionTopic()},
		GroupID: "dbz-forall-" + e.suffix, DLQTopic: dlq}, set, starter, ingest.Hooks{}, ingest.WithBatchCloser(starter))

	h.Exec(`BEGIN;
INSERT INTO orders VALUES (1, 10);
INSERT INTO orders VALUES (2, 20);
INSERT INTO orders VALUES (3, 30);
COMMIT;`)

	// What Debezium made of it: one txId, three different transaction ids.
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var txIDs, ids []string
	for _, m := range h.Read(ctx, "orders", 3) {
		var v struct {
			Source      struct{ TxID json.Number } `json:"source"`
			Transaction struct{ ID string }        `json:"transaction"`
		}
		require.NoError(t, json.Unmarshal(m.Value, &v))
		txIDs = append(txIDs, v.Source.TxID.String())
		ids = append(ids, v.Transaction.ID)
	}
	require.Equal(t, []string{txIDs[0], txIDs[0], txIDs[0]}, txIDs, "one source transaction")
	require.Len(t, uniqStrings(ids), 3, "PostgreSQL's transaction.id differs per event: %v", ids)
	require.True(t, strings.HasPrefix(ids[0], txIDs[0]+":"), ids[0])

	eventually(t, "the transaction's run", 2*time.Minute, func() bool { return len(rcv.got("/bulk")) >= 1 })
	recs, _ := rcv.got("/bulk")[0]["records"].([]any)
	require.Len(t, recs, 3, "one run with the three rows: %v", rcv.got("/bulk"))
	for i, r := range recs {
		require.EqualValues(t, (i+1)*10, r.(map[string]any)["total"])
	}
	runID := run.WorkflowID(tag, "batch/"+h.Topic("orders")+"/tx-"+txIDs[0])
	require.NoError(t, e.waitRun(t, runID))
	_, err := e.temporal.DescribeWorkflowExecution(context.Background(), runID+"/2", "")
	var nf *serviceerror.NotFound
	require.True(t, errors.As(err, &nf), "no second run of the transaction: %v", err)
}

func uniqStrings(ss []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range ss {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

// A 3 MB row, through Debezium, runs its trigger by reference
// (temporal.largePayloads on S3), and the changes behind it on its
// partition and on another table's topic run too. The shared test
// connectors would fail on such a row (their topics take Kafka's 1 MB
// default), so the test's tables live in a schema they do not capture and
// a connector of its own, whose producer and topics take 16 MiB
// (producer.override.max.request.size, max.message.bytes), reads them, as a
// deployment with large rows must (docs/debezium.md, "Large rows").
func TestDebeziumLargeRowRunsByReference(t *testing.T) {
	h := cdctest.New(t, cdctest.WithConnector(cdctest.Schemaless))
	e := newEnv(t)
	rcv := newReceiver()
	srv := httptest.NewServer(rcv)
	t.Cleanup(srv.Close)
	schema := "e2elarge_" + e.suffix // outside the shared connectors' cdcp_/cdcs_ schemas
	h.Exec(`CREATE SCHEMA ` + schema)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		_, _ = h.Pool().Exec(ctx, `DROP SCHEMA IF EXISTS `+schema+` CASCADE`)
	})
	h.Exec(`CREATE TABLE ` + schema + `.docs (id int PRIMARY KEY, body text NOT NULL)`)
	h.Exec(`CREATE TABLE ` + schema + `.notes (id int PRIMARY KEY, body text NOT NULL)`)
	prefix := "e2elarge" + e.suffix
	docs, notes := prefix+"."+schema+".docs", prefix+"."+schema+".notes"
	// Kafka's default max.message.bytes is 1 MB: the row's topic is made
	// to take it before the first change.
	e.createBigTopics(t, 1, docs, notes)
	dlq := "dbz-large-dlq-" + e.suffix
	e.createTopics(t, dlq)
	startLargeRowConnector(t, h, prefix, schema+".docs,"+schema+".notes")

	dc := converter.NewCodecDataConverter(converter.GetDefaultDataConverter(),
		largepayload.New(s3Bucket(t, "e2e-dbz-large-"+e.suffix), largepayload.WithName("payloads")))
	c, err := client.Dial(client.Options{HostPort: testenv.TemporalAddress(t), Namespace: "default", DataConverter: dc})
	require.NoError(t, err)
	t.Cleanup(c.Close)
	startWorkerOn(t, e, c, dc)
	set := parseSet(t, fmt.Sprintf(`
triggers:
  - tag: docs-%[1]s
    tables: [%[2]s]
    events: [afterInsert]
    actions:
      - type: http
        config: {url: "%[4]s/docs/{{record.id}}", body: {body: "{{record.body}}"}}
  - tag: notes-%[1]s
    tables: [%[3]s]
    events: [afterInsert]
    actions:
      - type: http
        config: {url: "%[4]s/notes/{{record.id}}", body: {body: "{{record.body}}"}}
`, e.suffix, schema+".docs", schema+".notes", srv.URL))
	startIngest(t, e, ingest.Config{Topics: []string{docs, notes}, GroupID: "dbz-large-" + e.suffix, DLQTopic: dlq},
		set, ingest.NewTemporalStarter(c, e.taskQueue), ingest.Hooks{})

	seed := uint64(time.Now().UnixNano())
	t.Logf("row content seed %d", seed)
	raw := make([]byte, 3<<19)
	rnd := rand.New(rand.NewPCG(seed, 11))
	for i := range raw {
		raw[i] = byte(rnd.UintN(256))
	}
	big := hex.EncodeToString(raw) // 3 MiB of text PostgreSQL cannot compress away
	h.Exec(`INSERT INTO `+schema+`.docs VALUES (1, $1)`, big)
	h.Exec(`INSERT INTO ` + schema + `.docs VALUES (2, 'behind the large row')`)
	h.Exec(`INSERT INTO ` + schema + `.notes VALUES (1, 'another topic')`)

	eventually(t, "the three rows ran", 3*time.Minute, func() bool {
		return len(rcv.got("/docs/1")) == 1 && len(rcv.got("/docs/2")) == 1 && len(rcv.got("/notes/1")) == 1
	})
	require.Equal(t, big, rcv.got("/docs/1")[0]["body"], "the webhook got the whole row")
	require.Equal(t, "behind the large row", rcv.got("/docs/2")[0]["body"])
}

// startLargeRowConnector registers a connector of the test's own, like the
// shared schemaless one but capturing tables (schema.table, which must
// exist: its publication lists them) under topic.prefix prefix, with a
// producer that takes 16 MiB records. It is deleted, with its slot and publication, when
// the test ends.
func startLargeRowConnector(t *testing.T, h *cdctest.Harness, prefix, tables string) {
	t.Helper()
	base := strings.TrimRight(testenv.ConnectURL(t), "/")
	name, slot := "triggerd-e2e-"+prefix, strings.ReplaceAll(prefix, "-", "_")
	cfg := map[string]string{}
	for k, v := range h.Connector().Config {
		cfg[k] = v
	}
	for _, k := range []string{"schema.include.list", "signal.data.collection"} {
		delete(cfg, k)
	}
	for k, v := range map[string]string{
		"name": name, "topic.prefix": prefix, "slot.name": slot, "publication.name": slot,
		"publication.autocreate.mode": "filtered", "table.include.list": tables, "snapshot.mode": "no_data",
		"producer.override.max.request.size": "16777216",
	} {
		cfg[k] = v
	}
	body, err := json.Marshal(cfg)
	require.NoError(t, err)
	ctx := context.Background()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPut, base+"/connectors/"+name+"/config", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Contains(t, []int{200, 201}, resp.StatusCode, "register %s", name)
	t.Cleanup(func() {
		req, _ := http.NewRequest(http.MethodDelete, base+"/connectors/"+name, nil)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
		}
		cctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		for cctx.Err() == nil {
			var active bool
			err := h.Pool().QueryRow(cctx, "SELECT active FROM pg_replication_slots WHERE slot_name = $1", slot).Scan(&active)
			if err != nil || !active {
				break
			}
			time.Sleep(200 * time.Millisecond)
		}
		_, _ = h.Pool().Exec(cctx, "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = $1", slot)
		_, _ = h.Pool().Exec(cctx, "DROP PUBLICATION IF EXISTS "+slot)
	})
	eventually(t, "the large-row connector streams", 2*time.Minute, func() bool {
		resp, err := http.Get(base + "/connectors/" + name + "/status")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		var st struct {
			Connector struct{ State string } `json:"connector"`
			Tasks     []struct{ State, Trace string }
		}
		if json.NewDecoder(resp.Body).Decode(&st) != nil || len(st.Tasks) == 0 {
			return false
		}
		require.NotEqual(t, "FAILED", st.Tasks[0].State, st.Tasks[0].Trace)
		var active bool
		err = h.Pool().QueryRow(ctx, "SELECT active FROM pg_replication_slots WHERE slot_name = $1", slot).Scan(&active)
		return st.Connector.State == "RUNNING" && st.Tasks[0].State == "RUNNING" && err == nil && active
	})
}

// A table created after ingest started (Debezium creates its topic at its
// first change) is found by kafka.topicPattern's rediscovery and its first
// change runs its trigger.
func TestDebeziumTableCreatedAfterStartUp(t *testing.T) {
	h := cdctest.New(t, cdctest.WithConnector(cdctest.Schemaless))
	e := newEnv(t)
	rcv := newReceiver()
	srv := httptest.NewServer(rcv)
	t.Cleanup(srv.Close)
	dlq := "dbz-late-dlq-" + e.suffix
	e.createTopics(t, dlq)
	e.startWorker(t)
	set := webhookSetFor(t, srv.URL, "late-"+e.suffix, h.Table("late"))

	var mu sync.Mutex
	var seen [][]string
	startIngest(t, e, ingest.Config{TopicPattern: h.TopicPattern(), TopicRefresh: time.Second,
		GroupID: "dbz-late-" + e.suffix, DLQTopic: dlq}, set, ingest.NewTemporalStarter(e.temporal, e.taskQueue),
		ingest.Hooks{TopicsChanged: func(ts []string) {
			mu.Lock()
			seen = append(seen, ts)
			mu.Unlock()
		}})

	h.Exec(`CREATE TABLE late (id int PRIMARY KEY, body text)`)
	h.Exec(`INSERT INTO late VALUES (7, 'first change')`)
	eventually(t, "the new table's first change ran", 2*time.Minute, func() bool { return len(rcv.got("/late/7")) == 1 })
	mu.Lock()
	defer mu.Unlock()
	require.NotEmpty(t, seen)
	require.Equal(t, []string{h.Topic("late")}, seen[len(seen)-1])
}

// webhookSetFor is one trigger, tag, posting each insert into table to
// <url>/<first part of tag>/<id>.
func webhookSetFor(t *testing.T, url, tag, table string) *trigger.Set {
	t.Helper()
	path, _, _ := strings.Cut(tag, "-")
	return parseSet(t, fmt.Sprintf(`
tag: %s
tables: [%s]
events: [afterInsert]
actions:
  - type: http
    config: {url: "%s/%s/{{record.id}}", body: {body: "{{record.body}}"}}
`, tag, table, url, path))
}
