package ingest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/triggerd/triggerd/run"
)

// fakePartitions hands out each partition's messages, then blocks until
// ctx ends.
type fakePartitions struct {
	mu     sync.Mutex
	msgs   map[topicPartition][]kafka.Message
	opened map[topicPartition]int64 // offset each reader was opened at
	closed int
}

func newFakePartitions(msgs ...kafka.Message) *fakePartitions {
	f := &fakePartitions{msgs: map[topicPartition][]kafka.Message{}, opened: map[topicPartition]int64{}}
	for _, m := range msgs {
		tp := topicPartition{m.Topic, m.Partition}
		f.msgs[tp] = append(f.msgs[tp], m)
	}
	return f
}

// assignments are the partitions of the messages, from FirstOffset.
func (f *fakePartitions) assignments() map[string][]kafka.PartitionAssignment {
	out := map[string][]kafka.PartitionAssignment{}
	for tp := range f.msgs {
		out[tp.topic] = append(out[tp.topic], kafka.PartitionAssignment{ID: tp.partition, Offset: kafka.FirstOffset})
	}
	return out
}

func (f *fakePartitions) open(topic string, partition int, offset int64) partitionReader {
	f.mu.Lock()
	defer f.mu.Unlock()
	tp := topicPartition{topic, partition}
	f.opened[tp] = offset
	return &fakePartitionReader{f: f, tp: tp}
}

type fakePartitionReader struct {
	f  *fakePartitions
	tp topicPartition
}

func (r *fakePartitionReader) FetchMessage(ctx context.Context) (kafka.Message, error) {
	r.f.mu.Lock()
	if q := r.f.msgs[r.tp]; len(q) > 0 {
		r.f.msgs[r.tp] = q[1:]
		r.f.mu.Unlock()
		return q[0], nil
	}
	r.f.mu.Unlock()
	<-ctx.Done()
	return kafka.Message{}, ctx.Err()
}

func (r *fakePartitionReader) Close() error {
	r.f.mu.Lock()
	defer r.f.mu.Unlock()
	r.f.closed++
	return nil
}

// offsetLog records commits: the last committed message offset per partition.
type offsetLog struct {
	mu   sync.Mutex
	last map[topicPartition]int64
}

func (l *offsetLog) CommitMessages(_ context.Context, msgs ...kafka.Message) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.last == nil {
		l.last = map[topicPartition]int64{}
	}
	for _, m := range msgs {
		l.last[topicPartition{m.Topic, m.Partition}] = m.Offset
	}
	return nil
}

func (l *offsetLog) get(topic string, partition int) int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	if off, ok := l.last[topicPartition{topic, partition}]; ok {
		return off
	}
	return -1
}

type fakeWriter struct {
	mu       sync.Mutex
	failures int // fail this many writes first
	written  []kafka.Message
}

func (w *fakeWriter) WriteMessages(_ context.Context, msgs ...kafka.Message) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.failures > 0 {
		w.failures--
		return errors.New("not enough replicas")
	}
	w.written = append(w.written, msgs...)
	return nil
}

func (w *fakeWriter) Close() error { return nil }

func (w *fakeWriter) messages() []kafka.Message {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]kafka.Message(nil), w.written...)
}

func newTestConsumer(t *testing.T, p Planner, st Starter, mod func(*Config), opts ...Option) *Consumer {
	cfg := Config{
		Brokers: []string{"unused:9092"}, Topics: []string{"t"}, GroupID: "g", DLQTopic: "dlq",
		CommitInterval: time.Hour, CommitBatch: 1000,
		StartBackoff: time.Millisecond, MaxStartBackoff: 4 * time.Millisecond,
	}
	if mod != nil {
		mod(&cfg)
	}
	if p == nil {
		p = fakePlanner{tags: []string{"a"}}
	}
	c, err := NewConsumer(cfg, p, st, slog.New(slog.DiscardHandler), opts...)
	require.NoError(t, err)
	return c
}

func kmsg(offset int64, r record) kafka.Message {
	return kafka.Message{Topic: "t", Offset: offset, Key: []byte(r.key), Value: []byte(r.value)}
}

// onPartition is kmsg on another topic and partition.
func onPartition(topic string, partition int, offset int64, r record) kafka.Message {
	m := kmsg(offset, r)
	m.Topic, m.Partition = topic, partition
	return m
}

// generation runs runGeneration over fp's partitions until stop is called.
type generation struct {
	cancel context.CancelFunc
	done   chan struct{}
	log    *offsetLog
}

func runTestGeneration(c *Consumer, fp *fakePartitions, dlq messageWriter) *generation {
	ctx, cancel := context.WithCancel(context.Background())
	g := &generation{cancel: cancel, done: make(chan struct{}), log: &offsetLog{}}
	go func() {
		defer close(g.done)
		c.runGeneration(ctx, fp.assignments(), g.log, fp.open, dlq, c.logger)
	}()
	return g
}

// stop ends the generation, which makes its last commit.
func (g *generation) stop(t *testing.T) {
	t.Helper()
	g.cancel()
	select {
	case <-g.done:
	case <-time.After(10 * time.Second):
		t.Fatal("generation did not end")
	}
}

func TestConsumer_DLQWriteRetried(t *testing.T) {
	c := newTestConsumer(t, nil, &recordingStarter{}, nil)
	fp := newFakePartitions(
		kafka.Message{Topic: "t", Offset: 0, Key: []byte("k"), Value: []byte("garbage"), Headers: []kafka.Header{{Key: "h", Value: []byte("v")}}},
		kmsg(1, dbzInsert("users", 1, 1)),
	)
	w := &fakeWriter{failures: 3}
	g := runTestGeneration(c, fp, w)
	require.Eventually(t, func() bool { return len(w.messages()) == 1 }, 5*time.Second, time.Millisecond)
	g.stop(t)

	out := w.written[0]
	assert.Empty(t, out.Topic, "the writer sets the topic")
	assert.Equal(t, "k", string(out.Key))
	assert.Equal(t, "garbage", string(out.Value))
	assert.Equal(t, "h", out.Headers[0].Key)
	assert.Equal(t, DeadLetterMalformed, header(out, HeaderErrorKind))
	assert.Equal(t, int64(1), g.log.get("t", 0), "shutdown commits both")
	assert.Equal(t, 1, fp.closed, "the reader is closed")
}

func header(m kafka.Message, key string) string {
	for _, h := range m.Headers {
		if h.Key == key {
			return string(h.Value)
		}
	}
	return ""
}

func TestConsumer_ShutdownDuringStartRetryCommitsOnlyDone(t *testing.T) {
	recs := []record{dbzInsert("users", 1, 1), dbzInsert("users", 2, 2), dbzInsert("users", 3, 3)}
	blocked := wantIDs(t, []string{"a"}, recs...)[1]
	st := &recordingStarter{fail: func(id string, _ int) bool { return id == blocked }}
	attempts := make(chan int, 100)
	c := newTestConsumer(t, nil, st, nil, WithHooks(Hooks{StartFailed: func(_ run.Input, n int, _ error) { attempts <- n }}))
	g := runTestGeneration(c, newFakePartitions(kmsg(0, recs[0]), kmsg(1, recs[1]), kmsg(2, recs[2])), &fakeWriter{})
	for n := range attempts {
		if n == 10 {
			break
		}
	}
	g.stop(t)
	assert.NotContains(t, st.ids(), blocked)
	assert.Contains(t, st.ids(), wantIDs(t, []string{"a"}, recs...)[0])
	assert.Equal(t, int64(0), g.log.get("t", 0), "only the message before the failing one is committed")
}

// A message whose start keeps failing holds up its own partition only:
// the other partition of its topic and another topic are processed and
// committed meanwhile. With one message in flight nothing after it in its
// partition starts; with more, the messages after it start, but the
// partition's offset stays before it.
func TestConsumer_RetryHoldsUpOnlyItsPartition(t *testing.T) {
	for _, concurrency := range []int{DefaultPartitionConcurrency, 1} {
		t.Run(fmt.Sprintf("partitionConcurrency=%d", concurrency), func(t *testing.T) {
			stuck := dbzInsert("users", 2, 2)
			stuckID := wantIDs(t, []string{"a"}, stuck)[0]
			var release atomic.Bool
			st := &recordingStarter{fail: func(id string, _ int) bool { return id == stuckID && !release.Load() }}
			var failures atomic.Int32
			c := newTestConsumer(t, nil, st, func(cfg *Config) {
				cfg.CommitInterval = 5 * time.Millisecond
				cfg.PartitionConcurrency = concurrency
			}, WithHooks(Hooks{StartFailed: func(run.Input, int, error) { failures.Add(1) }}))
			fp := newFakePartitions(
				kmsg(0, dbzInsert("users", 1, 1)), kmsg(1, stuck), kmsg(2, dbzInsert("users", 3, 3)),
				onPartition("t", 1, 0, dbzInsert("users", 10, 10)), onPartition("t", 1, 1, dbzInsert("users", 11, 11)),
				onPartition("other", 0, 0, dbzInsert("orders", 20, 20)), onPartition("other", 0, 1, dbzInsert("orders", 21, 21)),
			)
			g := runTestGeneration(c, fp, &fakeWriter{})
			defer g.stop(t)

			require.Eventually(t, func() bool {
				return g.log.get("t", 1) == 1 && g.log.get("other", 0) == 1 && g.log.get("t", 0) == 0
			}, 10*time.Second, time.Millisecond, "the other partitions are committed to their end")
			require.Eventually(t, func() bool { return failures.Load() >= 3 }, 10*time.Second, time.Millisecond)
			assert.Equal(t, int64(0), g.log.get("t", 0), "the stuck partition is committed up to the message before")
			if concurrency == 1 {
				assert.NotContains(t, st.ids(), wantIDs(t, []string{"a"}, dbzInsert("users", 3, 3))[0], "nothing after the stuck message of its partition")
			}

			release.Store(true)
			require.Eventually(t, func() bool { return g.log.get("t", 0) == 2 }, 10*time.Second, time.Millisecond)
			assert.Len(t, st.ids(), 7)
		})
	}
}

// A start Temporal refuses for good sends the message to the DLQ, with the
// reason, and the partition carries on.
func TestConsumer_RejectedStartDeadLettered(t *testing.T) {
	bad := dbzInsert("users", 2, 2)
	badID := wantIDs(t, []string{"a"}, bad)[0]
	st := starterFunc(func(_ context.Context, in run.Input) error {
		if run.WorkflowID(in.Trigger.Tag, in.Event.ID) == badID {
			return &RejectedError{Reason: "over Temporal's payload size limit", Err: errors.New("Blob data size exceeds limit.")}
		}
		return nil
	})
	var rejected, dead atomic.Int32
	c := newTestConsumer(t, nil, st, nil, WithHooks(Hooks{
		StartRejected: func(run.Input, error) { rejected.Add(1) },
		DeadLettered: func(_ kafka.Message, reason error) {
			if DeadLetterKind(reason) == DeadLetterRejected {
				dead.Add(1)
			}
		},
	}))
	w := &fakeWriter{}
	g := runTestGeneration(c, newFakePartitions(kmsg(0, dbzInsert("users", 1, 1)), kmsg(1, bad), kmsg(2, dbzInsert("users", 3, 3))), w)
	require.Eventually(t, func() bool { return len(w.messages()) == 1 }, 5*time.Second, time.Millisecond)
	g.stop(t)

	out := w.messages()[0]
	assert.Equal(t, bad.value, string(out.Value))
	assert.Equal(t, DeadLetterRejected, header(out, HeaderErrorKind))
	assert.Equal(t, "run "+badID+": over Temporal's payload size limit: Blob data size exceeds limit.", header(out, HeaderError))
	assert.Equal(t, "1", header(out, HeaderSourceOffset))
	assert.Equal(t, int64(2), g.log.get("t", 0), "the message behind it is done too")
	assert.EqualValues(t, 1, rejected.Load())
	assert.EqualValues(t, 1, dead.Load())
}

// A retried start plans the event again: disabling the trigger whose run
// cannot start releases the message; the other trigger's run, started
// before, is not started again.
func TestConsumer_RetryReplansAgainstCurrentTriggers(t *testing.T) {
	p := &switchPlanner{tags: []string{"a", "b"}}
	var bAttempts atomic.Int32
	st := &recordingStarter{fail: func(id string, _ int) bool {
		if strings.HasPrefix(id, "triggerd/b/") {
			bAttempts.Add(1)
			return true
		}
		return false
	}}
	c := newTestConsumer(t, p, st, nil)
	g := runTestGeneration(c, newFakePartitions(kmsg(0, dbzInsert("users", 1, 1)), kmsg(1, dbzInsert("users", 2, 2))), &fakeWriter{})
	defer g.stop(t)
	require.Eventually(t, func() bool { return bAttempts.Load() >= 3 }, 5*time.Second, time.Millisecond)
	p.set("a") // trigger b disabled
	require.Eventually(t, func() bool { return len(st.ids()) == 2 }, 5*time.Second, time.Millisecond)
	want := wantIDs(t, []string{"a"}, dbzInsert("users", 1, 1), dbzInsert("users", 2, 2))
	assert.ElementsMatch(t, want, st.ids(), "each message's run of a started once")
}

// With PartitionConcurrency > 1 the messages after a stuck one are started,
// but the committed offset stays before it; a record's sync runs still
// wait for the record's earlier change.
func TestConsumer_PartitionConcurrencyCommitsOnlyThePrefix(t *testing.T) {
	first := dbzInsert("users", 1, 1)
	firstID := wantIDs(t, []string{"a"}, first)[0]
	var release atomic.Bool
	st := &recordingStarter{fail: func(id string, _ int) bool { return id == firstID && !release.Load() }}
	c := newTestConsumer(t, nil, st, func(cfg *Config) {
		cfg.PartitionConcurrency = 4
		cfg.CommitInterval = 5 * time.Millisecond
	})
	g := runTestGeneration(c, newFakePartitions(kmsg(0, first), kmsg(1, dbzInsert("users", 2, 2)), kmsg(2, dbzInsert("users", 3, 3))), &fakeWriter{})
	defer g.stop(t)
	require.Eventually(t, func() bool { return len(st.ids()) == 2 }, 5*time.Second, time.Millisecond, "the two later messages start")
	require.Eventually(t, func() bool { return st.attemptsOf(firstID) >= 3 }, 5*time.Second, time.Millisecond)
	assert.Equal(t, int64(-1), g.log.get("t", 0), "nothing committed past the stuck first message")
	release.Store(true)
	require.Eventually(t, func() bool { return g.log.get("t", 0) == 2 }, 5*time.Second, time.Millisecond)
}

func TestConsumer_PartitionConcurrencyKeepsSyncOrder(t *testing.T) {
	// Two changes of record 1 (same key) and one of record 2: the second
	// change of record 1 waits for the first, record 2 does not.
	r1a, r2, r1b := dbzInsert("users", 1, 1), dbzInsert("users", 2, 2), dbzInsert("users", 1, 3)
	ids := wantIDs(t, []string{"s"}, r1a, r2, r1b)
	var release atomic.Bool
	st := &recordingStarter{fail: func(id string, _ int) bool { return id == ids[0] && !release.Load() }}
	c := newTestConsumer(t, syncPlanner{}, st, func(cfg *Config) { cfg.PartitionConcurrency = 4 })
	g := runTestGeneration(c, newFakePartitions(kmsg(0, r1a), kmsg(1, r2), kmsg(2, r1b)), &fakeWriter{})
	defer g.stop(t)
	require.Eventually(t, func() bool { return len(st.ids()) == 1 && st.attemptsOf(ids[0]) >= 3 }, 5*time.Second, time.Millisecond)
	assert.Equal(t, []string{ids[1]}, st.ids(), "record 2 started, record 1's second change waits")
	release.Store(true)
	require.Eventually(t, func() bool { return len(st.ids()) == 3 }, 5*time.Second, time.Millisecond)
	assert.Equal(t, []string{ids[1], ids[0], ids[2]}, st.ids())
}

func TestNewConsumer_Validation(t *testing.T) {
	ok := Config{Brokers: []string{"b:9092"}, Topics: []string{"t"}, GroupID: "g", DLQTopic: "dlq"}
	p, s := fakePlanner{}, &recordingStarter{}

	c, err := NewConsumer(ok, p, s, nil)
	require.NoError(t, err)
	assert.Equal(t, DefaultConsumers, c.cfg.Consumers)
	assert.Equal(t, DefaultCommitInterval, c.cfg.CommitInterval)
	assert.Equal(t, DefaultCommitBatch, c.cfg.CommitBatch)
	assert.Equal(t, DefaultStartBackoff, c.cfg.StartBackoff)
	assert.Equal(t, DefaultMaxStartBackoff, c.cfg.MaxStartBackoff)
	assert.Equal(t, DefaultPartitionConcurrency, c.cfg.PartitionConcurrency)
	assert.Equal(t, DefaultTopicRefresh, c.cfg.TopicRefresh)
	assert.Equal(t, DefaultHeartbeatTopicPrefix, c.cfg.HeartbeatTopicPrefix)

	for _, tt := range []struct {
		name string
		mod  func(*Config)
		want string
	}{
		{"no brokers", func(c *Config) { c.Brokers = nil }, "ingest config: Brokers: missing"},
		{"no topics", func(c *Config) { c.Topics = nil }, "ingest config: Topics: missing (or TopicPattern)"},
		{"both", func(c *Config) { c.TopicPattern = "^t" }, "ingest config: Topics, TopicPattern: only one may be set"},
		{"bad pattern", func(c *Config) { c.Topics, c.TopicPattern = nil, "(" }, "ingest config: TopicPattern: error parsing regexp: missing closing ): `(`"},
		{"no group", func(c *Config) { c.GroupID = "" }, "ingest config: GroupID: missing"},
		{"no DLQ", func(c *Config) { c.DLQTopic = "" }, "ingest config: DLQTopic: missing"},
		{"DLQ consumed", func(c *Config) { c.DLQTopic = "t" }, `ingest config: DLQTopic: "t" is also a consumed topic`},
		{"negative", func(c *Config) { c.Consumers = -1 }, "ingest config: Consumers, CommitBatch, CommitInterval, StartBackoff, MaxStartBackoff, PartitionConcurrency, TopicRefresh: must not be negative"},
		{"snapshot option", func(c *Config) { c.Decode.SnapshotReads = "x" }, `ingest config: Decode.SnapshotReads: unknown value "x" (want "ignore" or "insert")`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cfg := ok
			tt.mod(&cfg)
			_, err := NewConsumer(cfg, p, s, nil)
			assert.EqualError(t, err, tt.want)
		})
	}
	_, err = NewConsumer(ok, nil, s, nil)
	assert.Error(t, err)
}

type starterFunc func(ctx context.Context, in run.Input) error

func (f starterFunc) Start(ctx context.Context, in run.Input) error { return f(ctx, in) }

// switchPlanner plans one run per tag of its current set.
type switchPlanner struct {
	mu   sync.Mutex
	tags []string
}

func (p *switchPlanner) set(tags ...string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.tags = tags
}

func (p *switchPlanner) Plan(ev run.Event) []run.Input {
	p.mu.Lock()
	defer p.mu.Unlock()
	return fakePlanner{tags: p.tags}.Plan(ev)
}

// syncPlanner plans one run of trigger "s", whose action is sync.
type syncPlanner struct{}

func (syncPlanner) Plan(ev run.Event) []run.Input {
	in := fakePlanner{tags: []string{"s"}}.Plan(ev)
	in[0].Actions = []run.Action{{Name: "a", Type: "http", Timing: run.TimingSync}}
	return in
}

// tooLargeWriter refuses messages with a value over max, as a DLQ topic
// with a smaller max.message.bytes does.
type tooLargeWriter struct {
	fakeWriter
	max int
}

func (w *tooLargeWriter) WriteMessages(ctx context.Context, msgs ...kafka.Message) error {
	for _, m := range msgs {
		if len(m.Value) > w.max {
			return kafka.MessageSizeTooLarge
		}
	}
	return w.fakeWriter.WriteMessages(ctx, msgs...)
}

// A dead letter larger than the DLQ topic accepts is written without its
// value rather than retried forever: the partition moves on.
func TestConsumer_DeadLetterTooLargeForTheDLQ(t *testing.T) {
	c := newTestConsumer(t, nil, &recordingStarter{}, nil)
	big := kafka.Message{Topic: "t", Offset: 0, Key: []byte("k"), Value: []byte(strings.Repeat("x", 100))}
	w := &tooLargeWriter{max: 10}
	g := runTestGeneration(c, newFakePartitions(big, kmsg(1, dbzInsert("users", 1, 1))), w)
	require.Eventually(t, func() bool { return len(w.messages()) == 1 }, 5*time.Second, time.Millisecond)
	g.stop(t)
	out := w.messages()[0]
	assert.Nil(t, out.Value)
	assert.Equal(t, "100", header(out, HeaderValueOmitted))
	assert.Equal(t, "0", header(out, HeaderSourceOffset))
	assert.Equal(t, int64(1), g.log.get("t", 0))
}
