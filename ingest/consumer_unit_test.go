package ingest

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/triggerd/triggerd/run"
)

// fakeReader hands out msgs, then blocks until ctx ends.
type fakeReader struct {
	mu      sync.Mutex
	msgs    []kafka.Message
	commits []int64 // offsets committed, partition 0
	closed  bool
}

func (r *fakeReader) FetchMessage(ctx context.Context) (kafka.Message, error) {
	r.mu.Lock()
	if len(r.msgs) > 0 {
		m := r.msgs[0]
		r.msgs = r.msgs[1:]
		r.mu.Unlock()
		return m, nil
	}
	r.mu.Unlock()
	<-ctx.Done()
	return kafka.Message{}, ctx.Err()
}

func (r *fakeReader) CommitMessages(_ context.Context, msgs ...kafka.Message) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, m := range msgs {
		r.commits = append(r.commits, m.Offset)
	}
	return nil
}

func (r *fakeReader) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.closed = true
	return nil
}

func (r *fakeReader) lastCommit() int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.commits) == 0 {
		return -1
	}
	return r.commits[len(r.commits)-1]
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

func newTestConsumer(t *testing.T, st Starter, opts ...Option) *Consumer {
	c, err := NewConsumer(Config{
		Brokers: []string{"unused:9092"}, Topics: []string{"t"}, GroupID: "g", DLQTopic: "dlq",
		CommitInterval: time.Hour, CommitBatch: 1000,
		StartBackoff: time.Millisecond, MaxStartBackoff: 4 * time.Millisecond,
	}, fakePlanner{tags: []string{"a"}}, st, slog.New(slog.DiscardHandler), opts...)
	require.NoError(t, err)
	return c
}

func kmsg(offset int64, r record) kafka.Message {
	return kafka.Message{Topic: "t", Offset: offset, Key: []byte(r.key), Value: []byte(r.value)}
}

func TestConsumer_DLQWriteRetried(t *testing.T) {
	c := newTestConsumer(t, &recordingStarter{})
	rd := &fakeReader{msgs: []kafka.Message{
		{Topic: "t", Offset: 0, Key: []byte("k"), Value: []byte("garbage"), Headers: []kafka.Header{{Key: "h", Value: []byte("v")}}},
		kmsg(1, dbzInsert("users", 1, 1)),
	}}
	w := &fakeWriter{failures: 3}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- c.consume(ctx, rd, w, 0) }()
	require.Eventually(t, func() bool {
		w.mu.Lock()
		defer w.mu.Unlock()
		return len(w.written) == 1
	}, 5*time.Second, time.Millisecond)
	cancel()
	require.NoError(t, <-done)

	out := w.written[0]
	assert.Empty(t, out.Topic, "the writer sets the topic")
	assert.Equal(t, "k", string(out.Key))
	assert.Equal(t, "garbage", string(out.Value))
	assert.Equal(t, "h", out.Headers[0].Key)
	assert.Equal(t, int64(1), rd.lastCommit(), "shutdown commits both")
	assert.True(t, rd.closed)
}

func TestConsumer_ShutdownDuringStartRetryCommitsOnlyDone(t *testing.T) {
	recs := []record{dbzInsert("users", 1, 1), dbzInsert("users", 2, 2), dbzInsert("users", 3, 3)}
	blocked := wantIDs(t, "t", []string{"a"}, recs...)[1]
	st := &recordingStarter{fail: func(id string, _ int) bool { return id == blocked }}
	attempts := make(chan int, 100)
	c := newTestConsumer(t, st, WithHooks(Hooks{StartFailed: func(_ run.Input, n int, _ error) { attempts <- n }}))
	rd := &fakeReader{msgs: []kafka.Message{kmsg(0, recs[0]), kmsg(1, recs[1]), kmsg(2, recs[2])}}

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- c.consume(ctx, rd, &fakeWriter{}, 0) }()
	for n := range attempts {
		if n == 10 {
			break
		}
	}
	cancel()
	require.NoError(t, <-done)
	assert.Len(t, st.ids(), 1)
	assert.Equal(t, int64(0), rd.lastCommit(), "only the message before the failing one is committed")
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

	for _, tt := range []struct {
		name string
		mod  func(*Config)
		want string
	}{
		{"no brokers", func(c *Config) { c.Brokers = nil }, "ingest config: Brokers: missing"},
		{"no topics", func(c *Config) { c.Topics = nil }, "ingest config: Topics: missing"},
		{"no group", func(c *Config) { c.GroupID = "" }, "ingest config: GroupID: missing"},
		{"no DLQ", func(c *Config) { c.DLQTopic = "" }, "ingest config: DLQTopic: missing"},
		{"DLQ consumed", func(c *Config) { c.DLQTopic = "t" }, `ingest config: DLQTopic: "t" is also a consumed topic`},
		{"negative", func(c *Config) { c.Consumers = -1 }, "ingest config: Consumers, CommitBatch, CommitInterval, StartBackoff, MaxStartBackoff: must not be negative"},
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
