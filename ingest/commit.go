package ingest

import (
	"context"
	"sync"
	"time"

	"github.com/segmentio/kafka-go"
)

// committer commits the offsets of messages (kafka-go's *Reader commits
// msg.Offset+1 for each).
type committer interface {
	CommitMessages(ctx context.Context, msgs ...kafka.Message) error
}

type topicPartition struct {
	topic     string
	partition int
}

// commitTracker remembers, per partition, the last message that is done and
// commits them in batches: once `batch` messages are done, or `interval`
// after the last commit. Messages of a partition are marked done in order,
// so the last done message stands for all those before it.
type commitTracker struct {
	batch    int
	interval time.Duration
	now      func() time.Time

	// flushMu serialises commits so that an older snapshot can never be
	// committed after a newer one and move an offset back.
	flushMu sync.Mutex

	mu          sync.Mutex
	pending     map[topicPartition]kafka.Message
	count       int       // messages done since the last successful commit
	lastAttempt time.Time // of the last commit, successful or not
	failed      bool      // the last commit failed
}

func newCommitTracker(batch int, interval time.Duration, now func() time.Time) *commitTracker {
	return &commitTracker{
		batch:       batch,
		interval:    interval,
		now:         now,
		pending:     make(map[topicPartition]kafka.Message),
		lastAttempt: now(),
	}
}

// done records that msg and every earlier message of its partition are done.
func (t *commitTracker) done(msg kafka.Message) {
	t.mu.Lock()
	defer t.mu.Unlock()
	tp := topicPartition{msg.Topic, msg.Partition}
	if prev, ok := t.pending[tp]; ok && prev.Offset > msg.Offset {
		return
	}
	t.pending[tp] = msg
	t.count++
}

// due reports whether a commit should happen now. After a failed commit the
// batch size alone does not trigger one, so that a broken coordinator is
// not hammered once per message; the interval does.
func (t *commitTracker) due() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.pending) == 0 {
		return false
	}
	return (t.count >= t.batch && !t.failed) || t.now().Sub(t.lastAttempt) >= t.interval
}

// flush commits what is pending through c and returns the messages whose
// offsets it committed. On failure they stay pending for the next flush.
func (t *commitTracker) flush(ctx context.Context, c committer) ([]kafka.Message, error) {
	t.flushMu.Lock()
	defer t.flushMu.Unlock()

	t.mu.Lock()
	if len(t.pending) == 0 {
		t.mu.Unlock()
		return nil, nil
	}
	msgs := make([]kafka.Message, 0, len(t.pending))
	for _, m := range t.pending {
		msgs = append(msgs, m)
	}
	count := t.count
	t.mu.Unlock()

	err := c.CommitMessages(ctx, msgs...)

	t.mu.Lock()
	defer t.mu.Unlock()
	t.lastAttempt = t.now()
	t.failed = err != nil
	if err != nil {
		return nil, err
	}
	for _, m := range msgs {
		tp := topicPartition{m.Topic, m.Partition}
		// Only forget a partition if nothing newer was done meanwhile.
		if cur, ok := t.pending[tp]; ok && cur.Offset == m.Offset {
			delete(t.pending, tp)
		}
	}
	t.count -= count
	return msgs, nil
}

// pendingOffsets returns the last done offset per partition not yet
// committed (for tests and logs).
func (t *commitTracker) pendingOffsets() map[topicPartition]int64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make(map[topicPartition]int64, len(t.pending))
	for tp, m := range t.pending {
		out[tp] = m.Offset
	}
	return out
}
