package ingest

import (
	"context"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestWindow_PrefixAndOrder(t *testing.T) {
	ctx := context.Background()
	w := newWindow(3)
	m := func(off int64) kafka.Message { return kafka.Message{Offset: off} }
	s0 := w.admit(ctx, m(0), []string{"k"})
	s1 := w.admit(ctx, m(1), nil)
	s2 := w.admit(ctx, m(2), []string{"k"})
	require.NotNil(t, s2)
	assert.Equal(t, []*slot{s0}, s2.after, "same key: waits for the earlier message")

	// Full: a fourth message waits for room.
	short, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()
	assert.Nil(t, w.admit(short, m(3), nil))

	_, advanced := w.finish(s1, true)
	assert.False(t, advanced, "offset 0 is not done: nothing to commit")
	last, advanced := w.finish(s0, true)
	assert.True(t, advanced)
	assert.Equal(t, int64(1), last.Offset, "0 and 1 are done")
	assert.True(t, w.waitTurn(ctx, s2))
	last, advanced = w.finish(s2, true)
	assert.True(t, advanced)
	assert.Equal(t, int64(2), last.Offset)
	w.wait()
	assert.Empty(t, w.last)
}

func TestWindow_NotDoneBlocksThePrefix(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	w := newWindow(2)
	s0 := w.admit(ctx, kafka.Message{Offset: 0}, []string{"k"})
	s1 := w.admit(ctx, kafka.Message{Offset: 1}, []string{"k"})
	cancel()
	assert.False(t, w.waitTurn(ctx, s1), "ctx ended while waiting")
	_, advanced := w.finish(s0, false)
	assert.False(t, advanced)
	_, advanced = w.finish(s1, true)
	assert.False(t, advanced, "never past a message that is not done")
}

func TestMatchTopics(t *testing.T) {
	c, err := NewConsumer(Config{Brokers: []string{"b:9092"}, TopicPattern: `^dbz\.`, GroupID: "g", DLQTopic: "dbz.dlq"}, fakePlanner{}, &recordingStarter{}, nil)
	require.NoError(t, err)
	got := c.matchTopics([]string{"dbz.public.users", "dbz.transaction", "dbz.dlq", "__consumer_offsets", "__debezium-heartbeat.dbz", "other.x"})
	assert.Equal(t, []string{"dbz.public.users", "dbz.transaction"}, got)
}

func TestTopicSet(t *testing.T) {
	s := newTopicSet()
	_, ch := s.current()
	assert.True(t, s.set([]string{"b", "a", "a"}))
	select {
	case <-ch:
	default:
		t.Fatal("change not signalled")
	}
	ts, ch := s.current()
	assert.Equal(t, []string{"a", "b"}, ts)
	assert.False(t, s.set([]string{"a", "b"}), "same set")
	select {
	case <-ch:
		t.Fatal("no change signalled for the same set")
	default:
	}
}
