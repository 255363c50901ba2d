package ingest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/triggerd/triggerd/internal/testenv"
	"github.com/triggerd/triggerd/run"
)

func TestConsumer_Kfake(t *testing.T) {
	cluster, err := kfake.NewCluster(kfake.NumBrokers(1))
	require.NoError(t, err)
	t.Cleanup(cluster.Close)
	runConsumerSuite(t, cluster.ListenAddrs())
}

func TestConsumer_RealKafka(t *testing.T) {
	brokers := strings.Split(testenv.KafkaBrokers(t), ",")
	runConsumerSuite(t, brokers)
}

// runConsumerSuite is the conformance suite of the Consumer, run against
// any broker: kfake in-process, or a real Kafka.
func runConsumerSuite(t *testing.T, brokers []string) {
	t.Run("StartsPlannedRunsInOrder", func(t *testing.T) { testStartsInOrder(t, brokers, DefaultPartitionConcurrency) })
	t.Run("SerialStartsInOffsetOrder", func(t *testing.T) { testStartsInOrder(t, brokers, 1) })
	t.Run("MalformedToDLQ", func(t *testing.T) { testMalformedToDLQ(t, brokers) })
	t.Run("StartRetriedWithoutCommittingPastIt", func(t *testing.T) { testStartRetry(t, brokers, DefaultPartitionConcurrency) })
	t.Run("SerialStartRetryHoldsThePartition", func(t *testing.T) { testStartRetry(t, brokers, 1) })
	t.Run("RestartResumesAfterCommit", func(t *testing.T) { testRestartResumes(t, brokers) })
	t.Run("OffsetResetRedeliversSameIDs", func(t *testing.T) { testResetRedelivers(t, brokers) })
	t.Run("SeveralMembersShareThePartitions", func(t *testing.T) { testSeveralMembers(t, brokers) })
	t.Run("PatternConsumesTopicsCreatedLater", func(t *testing.T) { testPatternNewTopics(t, brokers) })
}

// --- fixtures ---------------------------------------------------------------

var nameSeq atomic.Int64

// uniqueName returns a topic or group name unique to this test run.
func uniqueName(t *testing.T, kind string) string {
	n := strings.NewReplacer("/", "-", "_", "-").Replace(t.Name())
	return fmt.Sprintf("%s-%s-%d-%d", kind, strings.ToLower(n), time.Now().UnixNano()%1e9, nameSeq.Add(1))
}

func createTopics(t *testing.T, brokers []string, partitions int, topics ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cl := &kafka.Client{Addr: kafka.TCP(brokers...), Timeout: 10 * time.Second}
	req := &kafka.CreateTopicsRequest{}
	for _, tp := range topics {
		req.Topics = append(req.Topics, kafka.TopicConfig{Topic: tp, NumPartitions: partitions, ReplicationFactor: 1})
	}
	resp, err := cl.CreateTopics(ctx, req)
	require.NoError(t, err)
	for tp, err := range resp.Errors {
		require.NoError(t, err, "create topic %s", tp)
	}
	// Wait until every broker knows the topics, so that producers and
	// consumers do not race the metadata propagation of a real cluster.
	require.Eventually(t, func() bool {
		md, err := cl.Metadata(ctx, &kafka.MetadataRequest{Topics: topics})
		if err != nil {
			return false
		}
		for _, tp := range md.Topics {
			if tp.Error != nil || len(tp.Partitions) != partitions {
				return false
			}
		}
		return len(md.Topics) == len(topics)
	}, 10*time.Second, 50*time.Millisecond)
}

type record struct {
	key, value string
	partition  int32
	headers    []kgo.RecordHeader
	// event is the id the event decoded from the record must have
	// (dbzIDs), where the test expects a run for it.
	event string
}

// produce writes records with franz-go, a client independent of the one
// under test.
func produce(t *testing.T, brokers []string, topic string, recs ...record) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	require.NoError(t, err)
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, r := range recs {
		kr := &kgo.Record{Topic: topic, Partition: r.partition, Value: []byte(r.value), Headers: r.headers}
		if r.key != "" {
			kr.Key = []byte(r.key)
		}
		require.NoError(t, cl.ProduceSync(ctx, kr).FirstErr())
	}
}

// consumeAll reads n records of topic from the start.
func consumeAll(t *testing.T, brokers []string, topic string, n int) []*kgo.Record {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	require.NoError(t, err)
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	var out []*kgo.Record
	for len(out) < n {
		fs := cl.PollFetches(ctx)
		require.NoError(t, ctx.Err(), "got %d of %d records from %s", len(out), n, topic)
		fs.EachRecord(func(r *kgo.Record) { out = append(out, r) })
	}
	return out
}

// committed returns the committed offset (next offset to read) of each
// partition of topic for group, -1 when none.
func committed(t *testing.T, brokers []string, group, topic string, partitions int) []int64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cl := &kafka.Client{Addr: kafka.TCP(brokers...), Timeout: 10 * time.Second}
	ps := make([]int, partitions)
	for i := range ps {
		ps[i] = i
	}
	resp, err := cl.OffsetFetch(ctx, &kafka.OffsetFetchRequest{GroupID: group, Topics: map[string][]int{topic: ps}})
	require.NoError(t, err)
	require.NoError(t, resp.Error)
	out := make([]int64, partitions)
	for i := range out {
		out[i] = -1
	}
	for _, p := range resp.Topics[topic] {
		require.NoError(t, p.Error)
		out[p.Partition] = p.CommittedOffset
	}
	return out
}

// dbzInsert is a Debezium insert of row id into table, at LSN lsn.
func dbzInsert(table string, id, lsn int) record {
	return record{
		event: dbzIDs[[3]any{table, id, lsn}],
		key:   fmt.Sprintf(`{"id":%d}`, id),
		value: fmt.Sprintf(`{"before":null,"after":{"id":%d,"name":"n%d"},"source":{"name":"pg","db":"app","schema":"public","table":%q,"lsn":%d,"txId":%d,"ts_ms":1700000000000},"op":"c","ts_ms":1700000000001}`,
			id, id, table, lsn, lsn),
	}
}

// fakePlanner plans one run per tag for every event.
type fakePlanner struct{ tags []string }

func (p fakePlanner) Plan(ev run.Event) []run.Input {
	out := make([]run.Input, 0, len(p.tags))
	for _, tag := range p.tags {
		out = append(out, run.Input{Trigger: run.TriggerRef{Tag: tag}, EventName: "after" + strings.ToUpper(string(ev.Operation[:1])) + string(ev.Operation[1:]), Event: ev})
	}
	return out
}

// recordingStarter records started workflow ids; fail, when set, decides
// whether an attempt fails.
type recordingStarter struct {
	mu       sync.Mutex
	started  []string
	keys     []string
	attempts map[string]int
	fail     func(wfID string, attempt int) bool
}

func (s *recordingStarter) Start(ctx context.Context, in run.Input) error {
	id := run.WorkflowID(in.Trigger.Tag, in.Event.ID)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.attempts == nil {
		s.attempts = map[string]int{}
	}
	s.attempts[id]++
	if s.fail != nil && s.fail(id, s.attempts[id]) {
		return errors.New("temporal unavailable")
	}
	s.started = append(s.started, id)
	s.keys = append(s.keys, in.Event.Key)
	return nil
}

func (s *recordingStarter) ids() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.started...)
}

func (s *recordingStarter) startedKeys() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.keys...)
}

func (s *recordingStarter) attemptsOf(id string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.attempts[id]
}

func (s *recordingStarter) waitFor(t *testing.T, n int) []string {
	t.Helper()
	require.Eventually(t, func() bool { return len(s.ids()) >= n }, 20*time.Second, 10*time.Millisecond,
		"want %d starts", n)
	return s.ids()
}

type runningConsumer struct {
	cancel context.CancelFunc
	done   chan struct{} // closed when Run returned
	err    error
}

// stop cancels the consumer and asserts a clean shutdown.
func (r *runningConsumer) stop(t *testing.T) {
	t.Helper()
	r.cancel()
	start := time.Now()
	select {
	case <-r.done:
		require.NoError(t, r.err)
	case <-time.After(20 * time.Second):
		t.Fatal("consumer did not stop")
	}
	t.Logf("consumer stopped in %v", time.Since(start))
}

func startConsumer(t *testing.T, cfg Config, p Planner, s Starter, opts ...Option) *runningConsumer {
	t.Helper()
	if cfg.CommitInterval == 0 {
		cfg.CommitInterval = 50 * time.Millisecond
	}
	if cfg.StartBackoff == 0 {
		cfg.StartBackoff, cfg.MaxStartBackoff = 10*time.Millisecond, 50*time.Millisecond
	}
	c, err := NewConsumer(cfg, p, s, testLogger(t), opts...)
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	rc := &runningConsumer{cancel: cancel, done: make(chan struct{})}
	go func() {
		rc.err = c.Run(ctx)
		close(rc.done)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-rc.done:
		case <-time.After(20 * time.Second):
		}
	})
	return rc
}

func testLogger(t *testing.T) *slog.Logger {
	if testing.Verbose() && os.Getenv("INGEST_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

func baseConfig(t *testing.T, brokers []string, partitions int) (Config, string) {
	topic, dlq := uniqueName(t, "events"), uniqueName(t, "dlq")
	createTopics(t, brokers, partitions, topic)
	createTopics(t, brokers, 1, dlq)
	return Config{Brokers: brokers, Topics: []string{topic}, GroupID: uniqueName(t, "group"), DLQTopic: dlq}, topic
}

// dbzIDs are the event ids of the dbzInsert records the tests expect runs
// for, written out rather than computed with Decode (the code under test):
// a change to how ids are derived must show here, since every id already
// issued names a run in Temporal (decode.go: a digest of the connector,
// database, schema, table, operation, source position and Kafka key).
var dbzIDs = map[[3]any]string{
	{"users", 1, 100}:  "dbz-797fa79d9b938f46d0075d9246164816",
	{"users", 2, 101}:  "dbz-4bf5423dd1a1e6acac2264e85b95be08",
	{"orders", 3, 102}: "dbz-3c90158ce6584611c3da7a7fa750e194",
	{"users", 4, 103}:  "dbz-7de1e68065457e8c712d328f4e3d6543",
	{"users", 1, 200}:  "dbz-cf8b449d44e17de47470ec26d7d5d9fa",
	{"users", 2, 201}:  "dbz-d6d88b568ff923e3681e84e16200a19c",
	{"users", 1, 300}:  "dbz-5920b2d60f4a135b9aae90d5fbac2b8f",
	{"users", 2, 301}:  "dbz-08dcf1b04459a4ac037547998c9d0ad0",
	{"users", 3, 302}:  "dbz-5f7e339653ec8ae95ba8d8a0f93b593e",
	{"users", 4, 403}:  "dbz-6e1ef366940ffdb441fbf27dfe8109bc",
	{"users", 5, 404}:  "dbz-42ec1b7d58174479a0c00082c09fe5a7",
	{"users", 1, 10}:   "dbz-e381a3adaff9f28d9ea52af1cabe1e5a",
	{"orders", 2, 20}:  "dbz-4536c19e3cc54844a0f5357b3ff761e3",
	{"users", 1, 500}:  "dbz-e4959291b5d00b1a79a1b715bdb6ba23",
	{"users", 2, 501}:  "dbz-2fae005b75702ae2597c1e5090068691",
	{"users", 1, 1}:    "dbz-d2919214f647ef3451d92607cbc193fa",
	{"users", 2, 2}:    "dbz-81fa9f588d05904e32130b7edd228187",
	{"users", 3, 3}:    "dbz-cbc29701251d3162bbb297c0eae68a23",
	{"users", 1, 3}:    "dbz-325d5baf76ab3ba7677dba0d45a2f173",
}

// wantIDs returns the workflow ids of the runs recs cause, one per tag in
// order, from the records' literal event ids (a record without one, such
// as a tombstone, causes none).
func wantIDs(t *testing.T, tags []string, recs ...record) []string {
	t.Helper()
	var out []string
	for _, r := range recs {
		if r.value == "" {
			continue
		}
		require.NotEmpty(t, r.event, "record %s has no literal event id in dbzIDs", r.key)
		for _, tag := range tags {
			out = append(out, run.WorkflowID(tag, r.event))
		}
	}
	return out
}

// --- tests ------------------------------------------------------------------

// testStartsInOrder: every planned run of every message is started, a
// message's runs in plan (priority) order; with one message in flight
// (concurrency 1) the messages' runs also start in offset order.
func testStartsInOrder(t *testing.T, brokers []string, concurrency int) {
	cfg, topic := baseConfig(t, brokers, 1)
	cfg.PartitionConcurrency = concurrency
	recs := []record{dbzInsert("users", 1, 100), dbzInsert("users", 2, 101), dbzInsert("orders", 3, 102),
		{value: ""}, // tombstone: nothing to start, but done
		dbzInsert("users", 4, 103)}
	produce(t, brokers, topic, recs...)

	tags := []string{"high", "low"}
	st := &recordingStarter{}
	rc := startConsumer(t, cfg, fakePlanner{tags: tags}, st)

	want := wantIDs(t, tags, recs...)
	require.Len(t, want, 8)
	got := st.waitFor(t, len(want))
	if concurrency == 1 {
		assert.Equal(t, want, got, "runs started in message then priority order")
		assert.Equal(t, []string{"1", "1", "2", "2", "3", "3", "4", "4"}, st.keys)
	} else {
		assert.ElementsMatch(t, want, got)
		for i := 0; i < len(want); i += 2 {
			assert.Less(t, slices.Index(got, want[i]), slices.Index(got, want[i+1]), "a message's runs in priority order: %s", want[i])
		}
	}

	// Everything done is committed, the tombstone included.
	require.Eventually(t, func() bool { return committed(t, brokers, cfg.GroupID, topic, 1)[0] == 5 },
		10*time.Second, 20*time.Millisecond)
	rc.stop(t)
	assert.ElementsMatch(t, want, st.ids(), "no start after the last message")
}

func testMalformedToDLQ(t *testing.T, brokers []string) {
	cfg, topic := baseConfig(t, brokers, 1)
	good1, good2 := dbzInsert("users", 1, 200), dbzInsert("users", 2, 201)
	bad := record{key: "k-bad", value: `{"payload":{"op":"x","source":{"table":"users"}}}`,
		headers: []kgo.RecordHeader{{Key: "traceparent", Value: []byte("00-abc-def-01")}}}
	notJSON := record{key: "k-raw", value: "not json"}
	produce(t, brokers, topic, good1, bad, notJSON, good2)

	st := &recordingStarter{}
	var dead atomic.Int32
	rc := startConsumer(t, cfg, fakePlanner{tags: []string{"t"}}, st,
		WithHooks(Hooks{DeadLettered: func(kafka.Message, error) { dead.Add(1) }}))

	want := wantIDs(t, []string{"t"}, good1, good2)
	assert.ElementsMatch(t, want, st.waitFor(t, 2), "the message after the malformed ones is still processed")

	dlq := consumeAll(t, brokers, cfg.DLQTopic, 2)
	headers := func(r *kgo.Record) map[string]string {
		m := map[string]string{}
		for _, h := range r.Headers {
			m[h.Key] = string(h.Value)
		}
		return m
	}
	// Written as each was processed, in any order: by source offset.
	slices.SortFunc(dlq, func(a, b *kgo.Record) int {
		return strings.Compare(headers(a)[HeaderSourceOffset], headers(b)[HeaderSourceOffset])
	})
	h := headers(dlq[0])
	assert.Equal(t, "k-bad", string(dlq[0].Key))
	assert.Equal(t, bad.value, string(dlq[0].Value))
	assert.Equal(t, "00-abc-def-01", h["traceparent"], "original headers kept")
	assert.Equal(t, `debezium: payload.op: unknown value "x"`, h[HeaderError])
	assert.Equal(t, topic, h[HeaderSourceTopic])
	assert.Equal(t, "0", h[HeaderSourcePartition])
	assert.Equal(t, "1", h[HeaderSourceOffset])
	failedAt, err := time.Parse(time.RFC3339, h[HeaderFailedAt])
	require.NoError(t, err)
	assert.WithinDuration(t, time.Now(), failedAt, time.Minute)

	h = headers(dlq[1])
	assert.Equal(t, "not json", string(dlq[1].Value))
	assert.Equal(t, "2", h[HeaderSourceOffset])
	assert.True(t, strings.HasPrefix(h[HeaderError], "value: not JSON"), h[HeaderError])

	require.Eventually(t, func() bool { return committed(t, brokers, cfg.GroupID, topic, 1)[0] == 4 },
		10*time.Second, 20*time.Millisecond)
	rc.stop(t)
	assert.EqualValues(t, 2, dead.Load())
}

// testStartRetry: a run whose start fails is retried until it succeeds,
// and the offset is never committed past its message. With one message
// in flight nothing after it starts meanwhile; with more, the messages
// after it start but wait behind it for their commit.
func testStartRetry(t *testing.T, brokers []string, concurrency int) {
	// Two partitions: the second carries a later message whose commit
	// proves that commits went on while the first was stuck.
	cfg, topic := baseConfig(t, brokers, 2)
	cfg.PartitionConcurrency = concurrency
	recs := []record{dbzInsert("users", 1, 300), dbzInsert("users", 2, 301), dbzInsert("users", 3, 302)}
	produce(t, brokers, topic, recs...)
	want := wantIDs(t, []string{"t"}, recs...)

	// The second run fails until released: Temporal is down.
	var release atomic.Bool
	st := &recordingStarter{fail: func(id string, attempt int) bool { return id == want[1] && !release.Load() }}
	var failures atomic.Int32
	rc := startConsumer(t, cfg, fakePlanner{tags: []string{"t"}}, st,
		WithHooks(Hooks{StartFailed: func(in run.Input, attempt int, err error) { failures.Store(int32(attempt)) }}))

	others := []string{want[0]} // started while the second is retried
	if concurrency > 1 {
		others = append(others, want[2])
	}
	assert.ElementsMatch(t, others, st.waitFor(t, len(others)))
	// The first message gets committed, never the failing one.
	require.Eventually(t, func() bool { return committed(t, brokers, cfg.GroupID, topic, 2)[0] == 1 },
		10*time.Second, 20*time.Millisecond)
	require.Eventually(t, func() bool { return failures.Load() >= 5 }, 10*time.Second, 10*time.Millisecond)
	// A later message on the other partition is started and committed:
	// a commit made while the run was failing, which would have carried
	// the stuck partition past its message if anything did.
	later := dbzInsert("users", 4, 403)
	later.partition = 1
	produce(t, brokers, topic, later)
	require.Eventually(t, func() bool { return committed(t, brokers, cfg.GroupID, topic, 2)[1] == 1 },
		10*time.Second, 20*time.Millisecond, "the other partition's later message is committed")
	assert.Equal(t, int64(1), committed(t, brokers, cfg.GroupID, topic, 2)[0], "no commit past a message whose run is not started")
	laterID := wantIDs(t, []string{"t"}, later)[0]
	assert.ElementsMatch(t, append(others, laterID), st.ids(), "the failing run is not started")

	release.Store(true)
	got := slices.DeleteFunc(st.waitFor(t, 4), func(id string) bool { return id == laterID })
	assert.ElementsMatch(t, want, got, "no loss")
	if concurrency == 1 {
		assert.Equal(t, want, got, "order kept")
	}
	require.Eventually(t, func() bool { return committed(t, brokers, cfg.GroupID, topic, 2)[0] == 3 },
		10*time.Second, 20*time.Millisecond)
	rc.stop(t)
}

func testRestartResumes(t *testing.T, brokers []string) {
	cfg, topic := baseConfig(t, brokers, 1)
	// A long interval and a big batch: only the shutdown commit commits.
	cfg.CommitInterval, cfg.CommitBatch = time.Hour, 1000
	first := []record{dbzInsert("users", 1, 400), dbzInsert("users", 2, 401), dbzInsert("users", 3, 402)}
	produce(t, brokers, topic, first...)

	st1 := &recordingStarter{}
	rc := startConsumer(t, cfg, fakePlanner{tags: []string{"t"}}, st1)
	st1.waitFor(t, 3)
	assert.Equal(t, int64(-1), committed(t, brokers, cfg.GroupID, topic, 1)[0], "nothing committed before the interval")
	rc.stop(t)
	assert.Equal(t, int64(3), committed(t, brokers, cfg.GroupID, topic, 1)[0], "clean stop commits what is done")

	second := []record{dbzInsert("users", 4, 403), dbzInsert("users", 5, 404)}
	produce(t, brokers, topic, second...)
	st2 := &recordingStarter{}
	rc = startConsumer(t, cfg, fakePlanner{tags: []string{"t"}}, st2)
	want := wantIDs(t, []string{"t"}, second...)
	assert.ElementsMatch(t, want, st2.waitFor(t, 2), "resumes after the committed offset")
	// A later message, then a clean stop that commits past it: every
	// message before it is done then, so anything redelivered would have
	// been started.
	later := dbzInsert("users", 1, 10)
	produce(t, brokers, topic, later)
	want = append(want, wantIDs(t, []string{"t"}, later)...)
	st2.waitFor(t, 3)
	rc.stop(t)
	assert.Equal(t, int64(6), committed(t, brokers, cfg.GroupID, topic, 1)[0], "done up to the later message")
	assert.ElementsMatch(t, want, st2.ids(), "nothing redelivered")
}

func testResetRedelivers(t *testing.T, brokers []string) {
	cfg, topic := baseConfig(t, brokers, 1)
	// Snapshot-style rows share an LSN: their ids differ through the key.
	recs := []record{dbzInsert("users", 1, 500), dbzInsert("users", 2, 500), dbzInsert("users", 3, 501)}
	produce(t, brokers, topic, recs...)

	st1 := &recordingStarter{}
	rc := startConsumer(t, cfg, fakePlanner{tags: []string{"t"}}, st1)
	first := st1.waitFor(t, 3)
	rc.stop(t)
	assert.Len(t, uniq(first), 3)

	// A new group id has no committed offsets: everything is delivered
	// again, under the same ids, so Temporal rejects the duplicates.
	cfg.GroupID = uniqueName(t, "group-reset")
	st2 := &recordingStarter{}
	rc = startConsumer(t, cfg, fakePlanner{tags: []string{"t"}}, st2)
	assert.ElementsMatch(t, first, st2.waitFor(t, 3))
	rc.stop(t)
}

func testSeveralMembers(t *testing.T, brokers []string) {
	cfg, topic := baseConfig(t, brokers, 4)
	cfg.Consumers = 2
	batch := func(from int) []record {
		var recs []record
		for i := from; i < from+20; i++ {
			r := dbzInsert("users", i, 600+i)
			r.partition = int32(i % 4)
			recs = append(recs, r)
		}
		return recs
	}
	recs := batch(0)
	produce(t, brokers, topic, recs...)
	st := &recordingStarter{}
	rc := startConsumer(t, cfg, fakePlanner{tags: []string{"t"}}, st)
	st.waitFor(t, 20)

	// Both members end up with partitions (the second one's join makes
	// the first rejoin on its next heartbeat).
	cl := &kafka.Client{Addr: kafka.TCP(brokers...), Timeout: 5 * time.Second}
	require.Eventually(t, func() bool {
		resp, err := cl.DescribeGroups(context.Background(), &kafka.DescribeGroupsRequest{GroupIDs: []string{cfg.GroupID}})
		if err != nil || len(resp.Groups) != 1 || resp.Groups[0].GroupState != "Stable" || len(resp.Groups[0].Members) != 2 {
			return false
		}
		for _, m := range resp.Groups[0].Members {
			if len(m.MemberAssignments.Topics) != 1 || len(m.MemberAssignments.Topics[0].Partitions) != 2 {
				return false
			}
		}
		return true
	}, 20*time.Second, 100*time.Millisecond, "two members with two partitions each")

	more := batch(20)
	produce(t, brokers, topic, more...)
	got := st.waitFor(t, 40)
	// Forty changes, each started under its own id, each key once at
	// least (a rebalance may start some twice: Temporal dedupes).
	assert.Len(t, uniq(got), 40, "every change started under its own id")
	wantKeys := make([]string, 0, 40)
	for i := range 40 {
		wantKeys = append(wantKeys, strconv.Itoa(i))
	}
	assert.ElementsMatch(t, wantKeys, uniq(st.startedKeys()), "every change started")
	require.Eventually(t, func() bool {
		for _, off := range committed(t, brokers, cfg.GroupID, topic, 4) {
			if off != 10 {
				return false
			}
		}
		return true
	}, 15*time.Second, 50*time.Millisecond)
	rc.stop(t)
}

func uniq(ids []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, id := range ids {
		if !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}

// kafka.topicPattern is resolved again while ingest runs: a topic created
// after start-up (Debezium creates a table's topic on its first change) is
// consumed from its beginning. Debezium's heartbeat topic is never
// selected, and the connector's transaction topic is consumed without
// dead letters, as are heartbeat messages in a consumed topic.
func testPatternNewTopics(t *testing.T, brokers []string) {
	prefix := uniqueName(t, "cdc")
	users, orders, txTopic := prefix+".public.users", prefix+".public.orders", prefix+TransactionTopicSuffix
	heartbeat := DefaultHeartbeatTopicPrefix + "." + prefix
	dlq := uniqueName(t, "dlq")
	createTopics(t, brokers, 1, users, heartbeat, dlq)
	produce(t, brokers, users, dbzInsert("users", 1, 10), record{value: `{"ts_ms":1700000000000}`})
	produce(t, brokers, heartbeat, record{key: `{"serverName":"x"}`, value: `{"ts_ms":1700000000000}`})

	var topicsSeen sync.Map
	var changes atomic.Int32
	var dead atomic.Int32
	st := &recordingStarter{}
	cfg := Config{Brokers: brokers, TopicPattern: regexp.QuoteMeta(prefix), TopicRefresh: 100 * time.Millisecond,
		GroupID: uniqueName(t, "group"), DLQTopic: dlq}
	rc := startConsumer(t, cfg, fakePlanner{tags: []string{"t"}}, st, WithHooks(Hooks{
		TopicsChanged: func(ts []string) {
			changes.Add(1)
			for _, tp := range ts {
				topicsSeen.Store(tp, true)
			}
		},
		DeadLettered: func(kafka.Message, error) { dead.Add(1) },
	}))
	want := wantIDs(t, []string{"t"}, dbzInsert("users", 1, 10))
	assert.Equal(t, want, st.waitFor(t, 1))

	// Created after start-up, with a change already in it, and the
	// connector's transaction topic with a BEGIN and an END.
	createTopics(t, brokers, 1, orders, txTopic)
	produce(t, brokers, orders, dbzInsert("orders", 2, 20))
	produce(t, brokers, txTopic,
		record{key: `{"id":"20"}`, value: `{"status":"BEGIN","id":"20:100","ts_ms":1,"event_count":null,"data_collections":null}`},
		record{key: `{"id":"20"}`, value: `{"status":"END","id":"20:120","ts_ms":1,"event_count":1,"data_collections":[{"data_collection":"public.orders","event_count":1}]}`})
	got := st.waitFor(t, 2)
	assert.Equal(t, wantIDs(t, []string{"t"}, dbzInsert("orders", 2, 20))[0], got[1], "the new topic is read from its beginning")
	require.Eventually(t, func() bool {
		return committed(t, brokers, cfg.GroupID, txTopic, 1)[0] == 2 && committed(t, brokers, cfg.GroupID, users, 1)[0] == 2
	}, 20*time.Second, 50*time.Millisecond, "the transaction topic and the heartbeat message are done")
	rc.stop(t)

	assert.Zero(t, dead.Load(), "no dead letters for heartbeats and transaction metadata")
	_, hb := topicsSeen.Load(heartbeat)
	assert.False(t, hb, "the heartbeat topic is never consumed")
	assert.GreaterOrEqual(t, changes.Load(), int32(2))
}
