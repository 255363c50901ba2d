package ingest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type fakeCommitter struct {
	calls [][]kafka.Message
	err   error
}

func (f *fakeCommitter) CommitMessages(_ context.Context, msgs ...kafka.Message) error {
	f.calls = append(f.calls, msgs)
	return f.err
}

type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time          { return c.t }
func (c *fakeClock) advance(d time.Duration) { c.t = c.t.Add(d) }

func msgAt(partition int, offset int64) kafka.Message {
	return kafka.Message{Topic: "t", Partition: partition, Offset: offset}
}

func offsetsOf(msgs []kafka.Message) map[int]int64 {
	out := map[int]int64{}
	for _, m := range msgs {
		out[m.Partition] = m.Offset
	}
	return out
}

func TestCommitTracker_BatchAndInterval(t *testing.T) {
	clk := &fakeClock{t: time.Unix(0, 0)}
	tr := newCommitTracker(3, time.Second, clk.now)
	fc := &fakeCommitter{}

	assert.False(t, tr.due(), "nothing done")
	clk.advance(time.Hour)
	assert.False(t, tr.due(), "nothing done, however long")

	tr.done(msgAt(0, 10))
	assert.True(t, tr.due(), "interval since the last commit elapsed")
	_, err := tr.flush(context.Background(), fc)
	require.NoError(t, err)
	assert.False(t, tr.due())

	tr.done(msgAt(0, 11))
	tr.done(msgAt(1, 5))
	assert.False(t, tr.due(), "2 of 3, within the interval")
	tr.done(msgAt(0, 12))
	assert.True(t, tr.due(), "batch full")
	_, err = tr.flush(context.Background(), fc)
	require.NoError(t, err)
	require.Len(t, fc.calls, 2)
	assert.Equal(t, map[int]int64{0: 12, 1: 5}, offsetsOf(fc.calls[1]), "one message per partition: the last done")
	assert.Empty(t, tr.pendingOffsets())

	_, err = tr.flush(context.Background(), fc)
	require.NoError(t, err)
	assert.Len(t, fc.calls, 2, "no empty commit")

	tr.done(msgAt(1, 6))
	assert.False(t, tr.due())
	clk.advance(999 * time.Millisecond)
	assert.False(t, tr.due())
	clk.advance(time.Millisecond)
	assert.True(t, tr.due())
}

func TestCommitTracker_FailureKeepsPending(t *testing.T) {
	clk := &fakeClock{t: time.Unix(0, 0)}
	tr := newCommitTracker(2, time.Second, clk.now)
	fc := &fakeCommitter{err: errors.New("rebalance in progress")}

	tr.done(msgAt(0, 1))
	tr.done(msgAt(0, 2))
	require.True(t, tr.due())
	_, err := tr.flush(context.Background(), fc)
	require.Error(t, err)
	assert.Equal(t, map[topicPartition]int64{{"t", 0}: 2}, tr.pendingOffsets())

	tr.done(msgAt(0, 3))
	assert.False(t, tr.due(), "after a failure only the interval triggers a retry")
	clk.advance(time.Second)
	assert.True(t, tr.due())

	fc.err = nil
	_, err = tr.flush(context.Background(), fc)
	require.NoError(t, err)
	assert.Equal(t, map[int]int64{0: 3}, offsetsOf(fc.calls[1]))
	assert.Empty(t, tr.pendingOffsets())

	tr.done(msgAt(0, 4))
	tr.done(msgAt(0, 5))
	assert.True(t, tr.due(), "batch triggers again after a success")
}

func TestCommitTracker_NeverGoesBack(t *testing.T) {
	tr := newCommitTracker(10, time.Second, time.Now)
	tr.done(msgAt(0, 5))
	tr.done(msgAt(0, 4)) // stale, e.g. redelivered after a rebalance
	assert.Equal(t, map[topicPartition]int64{{"t", 0}: 5}, tr.pendingOffsets())
}

// A message done while a commit is in flight stays pending.
func TestCommitTracker_DoneDuringFlush(t *testing.T) {
	tr := newCommitTracker(10, time.Second, time.Now)
	tr.done(msgAt(0, 1))
	c := committerFunc(func(context.Context, ...kafka.Message) error {
		tr.done(msgAt(0, 2))
		return nil
	})
	_, err := tr.flush(context.Background(), c)
	require.NoError(t, err)
	assert.Equal(t, map[topicPartition]int64{{"t", 0}: 2}, tr.pendingOffsets())
	assert.Equal(t, 1, tr.count)
}

type committerFunc func(ctx context.Context, msgs ...kafka.Message) error

func (f committerFunc) CommitMessages(ctx context.Context, msgs ...kafka.Message) error {
	return f(ctx, msgs...)
}
