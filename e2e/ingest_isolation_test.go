package e2e

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/stretchr/testify/require"
	"go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/worker"

	"github.com/triggerd/triggerd/activities"
	"github.com/triggerd/triggerd/ingest"
	"github.com/triggerd/triggerd/internal/testenv"
	"github.com/triggerd/triggerd/largepayload"
	"github.com/triggerd/triggerd/run"
	"github.com/triggerd/triggerd/trigger"
	"github.com/triggerd/triggerd/workflows"
)

// The tests of this file prove docs/architecture.md's "no event can stall
// ingest" against real Kafka and Temporal: a run Temporal refuses for good
// is dead-lettered, a start that keeps failing holds up its own partition
// only, disabling its trigger releases it, a row over Temporal's payload
// limit runs by reference, and the END of a transaction closes a
// `for: all` batch.

// bigMessageBytes is the max.message.bytes of the topics carrying large
// rows (Kafka's default is 1 MB): Debezium's topics need the same.
const bigMessageBytes = 16 << 20

// createBigTopics creates topics that accept messages of bigMessageBytes.
func (e *env) createBigTopics(t *testing.T, partitions int, topics ...string) {
	t.Helper()
	cl := &kafka.Client{Addr: kafka.TCP(e.brokers...), Timeout: 10 * time.Second}
	req := &kafka.CreateTopicsRequest{}
	for _, tp := range topics {
		req.Topics = append(req.Topics, kafka.TopicConfig{Topic: tp, NumPartitions: partitions, ReplicationFactor: 1,
			ConfigEntries: []kafka.ConfigEntry{{ConfigName: "max.message.bytes", ConfigValue: fmt.Sprint(bigMessageBytes)}}})
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	resp, err := cl.CreateTopics(ctx, req)
	require.NoError(t, err)
	for tp, err := range resp.Errors {
		require.NoError(t, err, "create %s", tp)
	}
}

// publishTo writes msgs to topic, each to its Partition, in order.
func (e *env) publishTo(t *testing.T, topic string, msgs ...kafka.Message) {
	t.Helper()
	w := &kafka.Writer{Addr: kafka.TCP(e.brokers...), Topic: topic, RequiredAcks: kafka.RequireAll,
		Balancer:   kafka.BalancerFunc(func(m kafka.Message, _ ...int) int { return m.Partition }),
		BatchBytes: bigMessageBytes, BatchSize: 1, AllowAutoTopicCreation: false}
	defer w.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for _, m := range msgs {
		var err error
		for attempt := 0; attempt < 50; attempt++ {
			// A fresh topic's leader may not be known yet.
			if err = w.WriteMessages(ctx, m); err == nil || !errors.Is(err, kafka.UnknownTopicOrPartition) && !errors.Is(err, kafka.LeaderNotAvailable) {
				break
			}
			time.Sleep(200 * time.Millisecond)
		}
		require.NoError(t, err)
	}
}

// userRow is a Debezium insert of public.users row id (PostgreSQL, no
// schema wrapper) on partition, in transaction txID.
func userRow(t *testing.T, partition int, id int, body string, lsn int64) kafka.Message {
	m := debeziumMessage(t, "c", lsn, nil, map[string]any{"id": id, "body": body}, false)
	m.Partition = partition
	return m
}

// startIngest runs a consumer until the test ends or the returned stop.
func startIngest(t *testing.T, e *env, cfg ingest.Config, p ingest.Planner, s ingest.Starter, hooks ingest.Hooks, opts ...ingest.Option) func() {
	t.Helper()
	cfg.Brokers = e.brokers
	if cfg.CommitInterval == 0 {
		cfg.CommitInterval = 100 * time.Millisecond
	}
	cfg.StartBackoff, cfg.MaxStartBackoff = 20*time.Millisecond, 200*time.Millisecond
	cons, err := ingest.NewConsumer(cfg, p, s, e.logger, append([]ingest.Option{ingest.WithHooks(hooks)}, opts...)...)
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- cons.Run(ctx) }()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				require.NoError(t, err)
			case <-time.After(30 * time.Second):
				t.Error("consumer did not stop")
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

// startWorkerOn runs the workflows and the http action on c's task queue.
func startWorkerOn(t *testing.T, e *env, c client.Client, dc converter.DataConverter) {
	t.Helper()
	acts := activities.New(allowLoopback(t), activities.WithLogger(e.logger))
	w := worker.New(c, e.taskQueue, worker.Options{})
	workflows.Register(w)
	(&workflows.Coverage{Client: c, DataConverter: dc}).Register(w)
	acts.Register(w)
	require.NoError(t, w.Start())
	t.Cleanup(func() {
		w.Stop()
		_ = acts.Close()
	})
}

// webhookSet has a trigger per tag (made unique with suffix: run ids are
// derived from the tag and the event) posting each users insert to
// <url>/<tag>/<id>.
func webhookSet(t *testing.T, url, suffix string, tags ...string) *trigger.Set {
	t.Helper()
	var b strings.Builder
	b.WriteString("triggers:\n")
	for _, tag := range tags {
		fmt.Fprintf(&b, `  - tag: %[1]s-%[3]s
    tables: [users]
    events: [afterInsert]
    actions:
      - type: http
        config: {url: "%[2]s/%[1]s/{{record.id}}", body: {id: "{{record.id}}", body: "{{record.body}}"}}
`, tag, url, suffix)
	}
	defs, err := trigger.Parse([]byte(b.String()), "isolation.yaml")
	require.NoError(t, err)
	set, err := trigger.NewSet(defs)
	require.NoError(t, err)
	return set
}

// committedOffset is the group's committed offset of topic's partition
// (-1 when none).
func committedOffset(t *testing.T, e *env, group, topic string, partition int) int64 {
	t.Helper()
	cl := &kafka.Client{Addr: kafka.TCP(e.brokers...), Timeout: 10 * time.Second}
	resp, err := cl.OffsetFetch(context.Background(), &kafka.OffsetFetchRequest{GroupID: group, Topics: map[string][]int{topic: {partition}}})
	if err != nil || resp.Error != nil {
		return -1
	}
	for _, p := range resp.Topics[topic] {
		if p.Partition == partition {
			return p.CommittedOffset
		}
	}
	return -1
}

// dlqHeaders reads n messages of the DLQ and returns their headers.
func dlqHeaders(t *testing.T, e *env, dlq string, n int) []map[string]string {
	t.Helper()
	r := kafka.NewReader(kafka.ReaderConfig{Brokers: e.brokers, Topic: dlq, MaxBytes: bigMessageBytes})
	defer r.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var out []map[string]string
	for len(out) < n {
		m, err := r.ReadMessage(ctx)
		require.NoError(t, err, "DLQ message %d of %d", len(out)+1, n)
		h := map[string]string{"value-bytes": fmt.Sprint(len(m.Value))}
		for _, x := range m.Headers {
			h[x.Key] = string(x.Value)
		}
		out = append(out, h)
	}
	return out
}

// A row over Temporal's 2 MB blob limit, without large payloads
// configured: Temporal refuses its run for good. The message goes to the
// DLQ with the reason, and the rows behind it on its partition and on
// another topic run.
func TestIngestRejectedStartIsDeadLettered(t *testing.T) {
	e := newEnv(t)
	rcv := newReceiver()
	srv := httptest.NewServer(rcv)
	t.Cleanup(srv.Close)
	users, others, dlq := "rejected-"+e.suffix, "rejected-other-"+e.suffix, "rejected-dlq-"+e.suffix
	e.createBigTopics(t, 1, users, others, dlq)
	e.startWorker(t)

	big := strings.Repeat("x", 3<<20)
	e.publishTo(t, users, userRow(t, 0, 1, "small", 10), userRow(t, 0, 2, big, 20), userRow(t, 0, 3, "after", 30))
	e.publishTo(t, others, userRow(t, 0, 4, "other topic", 40))

	var rejected atomic.Int32
	group := "rejected-" + e.suffix
	startIngest(t, e, ingest.Config{Topics: []string{users, others}, GroupID: group, DLQTopic: dlq},
		webhookSet(t, srv.URL, e.suffix, "big"), ingest.NewTemporalStarter(e.temporal, e.taskQueue),
		ingest.Hooks{StartRejected: func(run.Input, error) { rejected.Add(1) }})

	eventually(t, "rows 1, 3 and 4 ran", 90*time.Second, func() bool {
		return len(rcv.got("/big/1")) == 1 && len(rcv.got("/big/3")) == 1 && len(rcv.got("/big/4")) == 1
	})
	h := dlqHeaders(t, e, dlq, 1)[0]
	require.Equal(t, ingest.DeadLetterRejected, h[ingest.HeaderErrorKind])
	require.Contains(t, h[ingest.HeaderError], "over Temporal's payload size limit")
	require.Contains(t, h[ingest.HeaderError], "Blob data size exceeds limit")
	require.Equal(t, "1", h[ingest.HeaderSourceOffset])
	require.Greater(t, len(h["value-bytes"]), 6, "the original message, unchanged")
	eventually(t, "the partition committed past the rejected row", 30*time.Second, func() bool {
		return committedOffset(t, e, group, users, 0) == 3
	})
	require.EqualValues(t, 1, rejected.Load())
	require.Empty(t, rcv.got("/big/2"))
}

// failingStarter fails, as an unreachable Temporal would, the starts fail
// selects until it is released.
type failingStarter struct {
	next     ingest.Starter
	fail     func(in run.Input) bool
	released atomic.Bool
	attempts atomic.Int32
}

func (s *failingStarter) Start(ctx context.Context, in run.Input) error {
	if !s.released.Load() && s.fail(in) {
		s.attempts.Add(1)
		return errors.New("temporal unavailable")
	}
	return s.next.Start(ctx, in)
}

// A start that keeps failing on one partition holds up that partition
// only: the other partition's rows run and are committed meanwhile.
func TestIngestRetryOnOnePartitionDoesNotBlockAnother(t *testing.T) {
	e := newEnv(t)
	rcv := newReceiver()
	srv := httptest.NewServer(rcv)
	t.Cleanup(srv.Close)
	users, dlq := "retry-"+e.suffix, "retry-dlq-"+e.suffix
	e.createBigTopics(t, 2, users, dlq)
	e.startWorker(t)
	e.publishTo(t, users,
		userRow(t, 0, 1, "p0", 10), userRow(t, 0, 2, "p0", 20),
		userRow(t, 1, 3, "p1", 30), userRow(t, 1, 4, "p1", 40))

	st := &failingStarter{next: ingest.NewTemporalStarter(e.temporal, e.taskQueue),
		fail: func(in run.Input) bool { return in.Event.Source.Partition == 0 }}
	group := "retry-" + e.suffix
	startIngest(t, e, ingest.Config{Topics: []string{users}, GroupID: group, DLQTopic: dlq}, webhookSet(t, srv.URL, e.suffix, "retry"), st, ingest.Hooks{})

	eventually(t, "partition 1's rows ran and were committed", 90*time.Second, func() bool {
		return len(rcv.got("/retry/3")) == 1 && len(rcv.got("/retry/4")) == 1 && committedOffset(t, e, group, users, 1) == 2
	})
	eventually(t, "partition 0 still retrying", 30*time.Second, func() bool { return st.attempts.Load() >= 5 })
	require.Empty(t, rcv.got("/retry/1"))
	require.Less(t, committedOffset(t, e, group, users, 0), int64(1), "nothing committed on partition 0")

	st.released.Store(true)
	eventually(t, "partition 0's rows ran once released", 90*time.Second, func() bool {
		return len(rcv.got("/retry/1")) == 1 && len(rcv.got("/retry/2")) == 1 && committedOffset(t, e, group, users, 0) == 2
	})
}

// A start retried for a trigger that is then disabled is released: the
// retry plans the event again against the current triggers.
func TestIngestDisablingTheTriggerReleasesARetriedStart(t *testing.T) {
	e := newEnv(t)
	rcv := newReceiver()
	srv := httptest.NewServer(rcv)
	t.Cleanup(srv.Close)
	users, dlq := "disable-"+e.suffix, "disable-dlq-"+e.suffix
	e.createBigTopics(t, 1, users, dlq)
	e.startWorker(t)

	reg := trigger.NewRegistry()
	for _, d := range webhookSet(t, srv.URL, e.suffix, "ok", "stuck").Definitions() {
		require.NoError(t, reg.Register(d))
	}
	st := &failingStarter{next: ingest.NewTemporalStarter(e.temporal, e.taskQueue),
		fail: func(in run.Input) bool { return in.Trigger.Tag == "stuck-"+e.suffix }}
	group := "disable-" + e.suffix
	e.publishTo(t, users, userRow(t, 0, 1, "first", 10), userRow(t, 0, 2, "second", 20))
	startIngest(t, e, ingest.Config{Topics: []string{users}, GroupID: group, DLQTopic: dlq}, reg, st, ingest.Hooks{})

	eventually(t, "the ok trigger ran for row 1, the stuck one is retried", 90*time.Second, func() bool {
		return len(rcv.got("/ok/1")) == 1 && st.attempts.Load() >= 5
	})
	// Row 2 may start within the partition's window (kafka.partitionConcurrency)
	// while row 1 is retried, but no offset is committed past row 1.
	require.Less(t, committedOffset(t, e, group, users, 0), int64(1), "nothing committed past the retried row")
	require.True(t, reg.Unregister("stuck-"+e.suffix))
	eventually(t, "row 2 ran and both rows are committed", 90*time.Second, func() bool {
		return len(rcv.got("/ok/2")) == 1 && committedOffset(t, e, group, users, 0) == 2
	})
	require.Len(t, rcv.got("/ok/1"), 1, "the ok run of row 1 started once")
	require.Empty(t, rcv.got("/stuck/1"))
}

// s3Bucket opens the test S3 bucket under a prefix of its own.
func s3Bucket(t *testing.T, prefix string) activities.Bucket {
	t.Helper()
	endpoint := testenv.S3Endpoint(t)
	b, err := activities.OpenBucket(activities.BucketConfig{Driver: "s3", Endpoint: endpoint, Region: "us-east-1",
		Bucket: os.Getenv("TRIGGERD_TEST_S3_BUCKET"), AccessKey: os.Getenv("TRIGGERD_TEST_S3_ACCESS_KEY"),
		SecretKey: os.Getenv("TRIGGERD_TEST_S3_SECRET_KEY"), PathStyle: true, Prefix: prefix + "/"})
	require.NoError(t, err)
	return b
}

// A 3 MB row runs its trigger by reference (temporal.largePayloads on S3):
// the run's input and the http action's rendered body are stored in the
// bucket, the webhook receives the whole row, and the rows behind it on its
// partition and on another topic run too.
func TestIngestLargeRowRunsByReference(t *testing.T) {
	e := newEnv(t)
	rcv := newReceiver()
	srv := httptest.NewServer(rcv)
	t.Cleanup(srv.Close)
	users, others, dlq := "large-"+e.suffix, "large-other-"+e.suffix, "large-dlq-"+e.suffix
	e.createBigTopics(t, 1, users, others, dlq)

	dc := converter.NewCodecDataConverter(converter.GetDefaultDataConverter(),
		largepayload.New(s3Bucket(t, "e2e-large-"+e.suffix), largepayload.WithName("payloads")))
	c, err := client.Dial(client.Options{HostPort: testenv.TemporalAddress(t), Namespace: "default", DataConverter: dc})
	require.NoError(t, err)
	t.Cleanup(c.Close)
	startWorkerOn(t, e, c, dc)

	big := strings.Repeat("ab", 3<<19) // 3 MiB
	e.publishTo(t, users, userRow(t, 0, 1, big, 10), userRow(t, 0, 2, "after", 20))
	e.publishTo(t, others, userRow(t, 0, 3, "other topic", 30))
	startIngest(t, e, ingest.Config{Topics: []string{users, others}, GroupID: "large-" + e.suffix, DLQTopic: dlq},
		webhookSet(t, srv.URL, e.suffix, "large"), ingest.NewTemporalStarter(c, e.taskQueue), ingest.Hooks{})

	eventually(t, "all three rows ran", 120*time.Second, func() bool {
		return len(rcv.got("/large/1")) == 1 && len(rcv.got("/large/2")) == 1 && len(rcv.got("/large/3")) == 1
	})
	require.Equal(t, big, rcv.got("/large/1")[0]["body"], "the webhook got the whole row")

	// The history holds a reference, not the row.
	ev := ingestDecode(t, userRow(t, 0, 1, big, 10), users)
	it := e.temporal.GetWorkflowHistory(context.Background(), run.WorkflowID("large-"+e.suffix, ev.ID), "", false, enums.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	first, err := it.Next()
	require.NoError(t, err)
	in := first.GetWorkflowExecutionStartedEventAttributes().GetInput().GetPayloads()[0]
	require.True(t, largepayload.IsReference(in), "the run's input is a reference")
	require.Less(t, len(in.GetData()), 1024)
	var back run.Input
	require.NoError(t, dc.FromPayload(in, &back), "and the codec reads it back")
	require.Equal(t, big, back.Event.Record["body"])
}

// ingestDecode decodes m as ingest does, read from topic at offset 0.
func ingestDecode(t *testing.T, m kafka.Message, topic string) run.Event {
	t.Helper()
	m.Topic = topic
	evs, err := ingest.Decode(m, ingest.DecodeOptions{})
	require.NoError(t, err)
	require.Len(t, evs, 1)
	return evs[0]
}

// `for: all` with Debezium's transaction metadata: three rows of one
// PostgreSQL transaction (transaction.id "<txid>:<lsn>", different for
// each) make ONE run with three records, closed by the END on the
// transaction topic long before the batch's hour-long window.
func TestIngestForAllClosedByTheTransactionEnd(t *testing.T) {
	e := newEnv(t)
	rcv := newReceiver()
	srv := httptest.NewServer(rcv)
	t.Cleanup(srv.Close)
	prefix := "txend" + e.suffix
	users, txTopic, dlq := prefix+".public.users", prefix+ingest.TransactionTopicSuffix, prefix+"-dlq"
	e.createBigTopics(t, 1, users, txTopic, dlq)
	e.startWorker(t)
	defs, err := trigger.Parse([]byte(fmt.Sprintf(`
tag: bulk-%s
for: all
tables: [users]
events: [afterInsert]
actions:
  - type: http
    config: {url: "%s/bulk", body: {records: "{{records}}"}}
`, e.suffix, srv.URL)), "forall.yaml")
	require.NoError(t, err)
	set, err := trigger.NewSet(defs)
	require.NoError(t, err)

	const txid = 7781
	var rows []kafka.Message
	for i, lsn := range []int64{5000, 5010, 5020} {
		m := txMessage(t, lsn, i+1, fmt.Sprintf("%d:%d", txid, lsn))
		rows = append(rows, m)
	}
	e.publishTo(t, users, rows...)
	e.publishTo(t, txTopic,
		kafka.Message{Key: []byte(fmt.Sprintf(`{"id":"%d:4990"}`, txid)), Value: []byte(fmt.Sprintf(`{"status":"BEGIN","id":"%d:4990","ts_ms":1,"event_count":null,"data_collections":null}`, txid))},
		kafka.Message{Key: []byte(fmt.Sprintf(`{"id":"%d:5030"}`, txid)), Value: []byte(fmt.Sprintf(`{"status":"END","id":"%d:5030","ts_ms":1,"event_count":3,"data_collections":[{"data_collection":"public.users","event_count":3}]}`, txid))})

	starter := ingest.NewTemporalStarter(e.temporal, e.taskQueue)
	starter.Batch = ingest.BatchOptions{Size: 100, Window: time.Hour}
	startIngest(t, e, ingest.Config{Topics: []string{users, txTopic}, GroupID: prefix, DLQTopic: dlq}, set, starter, ingest.Hooks{},
		ingest.WithBatchCloser(starter))

	eventually(t, "the transaction's run", 90*time.Second, func() bool { return len(rcv.got("/bulk")) >= 1 })
	recs, _ := rcv.got("/bulk")[0]["records"].([]any)
	require.Len(t, recs, 3, "one run with the three rows: %v", rcv.got("/bulk"))
	require.NoError(t, e.waitRun(t, run.WorkflowID("bulk-"+e.suffix, "batch/"+users+"/tx-7781")))
}
