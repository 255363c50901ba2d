package ingest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/segmentio/kafka-go"
)

// A group member consumes through kafka-go's ConsumerGroup API: each
// generation hands it a set of partitions, and each partition is read by a
// reader of its own and processed by a goroutine of its own (partition.go),
// so a message whose start is being retried holds up its partition only.
// Offsets are committed through the generation (only during it, which is
// what keeps a member that lost a partition in a rebalance from moving
// that partition's offset).
//
// kafka-go's ConsumerGroup takes a fixed list of topics. When the topics
// selected by kafka.topicPattern change, the member leaves the group
// (committing what is done) and joins again with the new list.

// runMember runs one group member until ctx is done.
func (c *Consumer) runMember(ctx context.Context, member int, topics *topicSet, dlq messageWriter) error {
	log := c.logger.With("member", member)
	for {
		ts, changed := topics.current()
		if len(ts) == 0 {
			select {
			case <-ctx.Done():
				return nil
			case <-changed:
				continue
			}
		}
		if err := c.runGroup(ctx, member, ts, changed, dlq, log); err != nil {
			return err
		}
		if ctx.Err() != nil {
			return nil
		}
		log.Info("rejoining the consumer group with the new topics")
	}
}

// runGroup is one membership of the group with a fixed list of topics. It
// returns when ctx is done or the topics changed, after the last commit
// and leaving the group.
func (c *Consumer) runGroup(ctx context.Context, member int, topics []string, changed <-chan struct{}, dlq messageWriter, log *slog.Logger) error {
	cg, err := kafka.NewConsumerGroup(c.groupConfig(member, topics))
	if err != nil {
		return fmt.Errorf("consumer group: %w", err)
	}
	defer cg.Close()
	gctx, stop := context.WithCancel(ctx)
	defer stop()
	go func() {
		select {
		case <-changed:
			stop()
		case <-gctx.Done():
		}
	}()
	for {
		gen, err := cg.Next(gctx)
		if err != nil {
			if gctx.Err() != nil || errors.Is(err, kafka.ErrGroupClosed) {
				return nil
			}
			// kafka-go backs off before it tries again.
			log.Warn("joining the consumer group failed, retrying", "group", c.cfg.GroupID, "error", err)
			continue
		}
		log.Debug("generation started", "generation", gen.ID, "assignments", assignmentSummary(gen.Assignments))
		done := make(chan struct{})
		gen.Start(func(genCtx context.Context) {
			defer close(done)
			c.runGeneration(genCtx, gen.Assignments, generationCommitter{gen}, c.openPartition, dlq, log)
		})
		select {
		case <-done:
			// A rebalance ended the generation: join the next one.
		case <-gctx.Done():
			// Close ends the generation, waits for runGeneration (which
			// makes the last commit) and leaves the group.
			_ = cg.Close()
			<-done
			return nil
		}
	}
}

func assignmentSummary(as map[string][]kafka.PartitionAssignment) map[string][]int {
	out := make(map[string][]int, len(as))
	for t, ps := range as {
		for _, p := range ps {
			out[t] = append(out[t], p.ID)
		}
	}
	return out
}

func (c *Consumer) groupConfig(member int, topics []string) kafka.ConsumerGroupConfig {
	log := c.logger.With("component", "kafka-group", "member", member)
	return kafka.ConsumerGroupConfig{
		ID:      c.cfg.GroupID,
		Brokers: c.cfg.Brokers,
		Dialer:  c.cfg.Dialer,
		Topics:  topics,
		// A group without committed offsets (a new group id, a new topic)
		// reads from the start; redelivered changes are deduplicated by
		// their workflow ids.
		StartOffset:           kafka.FirstOffset,
		WatchPartitionChanges: true,
		// A member that died without leaving (kill -9, a lost host) holds
		// its partitions until its session times out, and a rebalance waits
		// for it: kafka-go's 30s defaults stall a restarted ingest for that
		// long. 10s sessions with 1s heartbeats detect it sooner, and a
		// failed join is retried after 1s instead of 5s.
		SessionTimeout:    groupSessionTimeout,
		RebalanceTimeout:  groupSessionTimeout,
		HeartbeatInterval: time.Second,
		JoinGroupBackoff:  time.Second,
		ErrorLogger: kafka.LoggerFunc(func(format string, args ...any) {
			log.Warn(fmt.Sprintf(format, args...))
		}),
	}
}

// generationCommitter commits through a generation: kafka-go's Reader
// commits msg.Offset+1 for a message, and so does this.
type generationCommitter struct{ gen *kafka.Generation }

func (g generationCommitter) CommitMessages(_ context.Context, msgs ...kafka.Message) error {
	offsets := map[string]map[int]int64{}
	for _, m := range msgs {
		if offsets[m.Topic] == nil {
			offsets[m.Topic] = map[int]int64{}
		}
		offsets[m.Topic][m.Partition] = m.Offset + 1
	}
	return g.gen.CommitOffsets(offsets)
}

// openReaderFunc opens the reader of one partition at offset (an absolute
// offset, or kafka.FirstOffset).
type openReaderFunc func(topic string, partition int, offset int64) partitionReader

// partitionReader is the part of a partition's *kafka.Reader the consumer
// uses.
type partitionReader interface {
	FetchMessage(ctx context.Context) (kafka.Message, error)
	Close() error
}

func (c *Consumer) openPartition(topic string, partition int, offset int64) partitionReader {
	log := c.logger.With("component", "kafka-reader", "topic", topic, "partition", partition)
	r := kafka.NewReader(kafka.ReaderConfig{
		Brokers:   c.cfg.Brokers,
		Topic:     topic,
		Partition: partition,
		Dialer:    c.cfg.Dialer,
		// The broker answers a fetch as soon as one message is there:
		// MaxWait only bounds the long poll of an idle partition and adds
		// no latency to a change (the start side of the latency is
		// measured by the benchmark's triggerd/start-latency rows).
		MinBytes: 1,
		// Large enough for the largest change event (a big row is passed
		// to Temporal by reference, but it is read whole from Kafka).
		MaxBytes: 10 << 20,
		MaxWait:  500 * time.Millisecond,
		ErrorLogger: kafka.LoggerFunc(func(format string, args ...any) {
			log.Warn(fmt.Sprintf(format, args...))
		}),
	})
	if err := r.SetOffset(offset); err != nil {
		// Only a closed reader refuses; this one was just made.
		log.Error("set offset", "offset", offset, "error", err)
	}
	return r
}

// runGeneration consumes the partitions assigned in one generation until
// ctx (the generation's) ends, then makes the last commit of what is done.
func (c *Consumer) runGeneration(ctx context.Context, assigned map[string][]kafka.PartitionAssignment, cm committer, open openReaderFunc, dlq messageWriter, log *slog.Logger) {
	tr := newCommitTracker(c.cfg.CommitBatch, c.cfg.CommitInterval, c.now)
	kick := make(chan struct{}, 1)
	var wg sync.WaitGroup
	for topic, parts := range assigned {
		for _, p := range parts {
			wg.Go(func() {
				c.consumePartition(ctx, partitionRun{topic: topic, partition: p.ID, offset: p.Offset, open: open, tracker: tr, kick: kick, dlq: dlq, log: log})
			})
		}
	}
	// Commits are made on a timer, so that the last messages before an
	// idle period do not wait for the next message, and as soon as a
	// batch is full.
	var cwg sync.WaitGroup
	cwg.Go(func() {
		t := time.NewTicker(max(c.cfg.CommitInterval/4, 10*time.Millisecond))
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			case <-kick:
			}
			if tr.due() {
				c.commit(ctx, cm, tr, log)
			}
		}
	})
	wg.Wait()
	cwg.Wait()

	// ctx is done: commit with a fresh context what was done before.
	cctx, cancel := context.WithTimeout(context.Background(), shutdownCommitTimeout)
	c.commit(cctx, cm, tr, log)
	cancel()
}

// commit flushes the tracker. A failed commit is not fatal: the messages
// stay pending and are committed later, or delivered again after a restart.
func (c *Consumer) commit(ctx context.Context, cm committer, tr *commitTracker, log *slog.Logger) {
	msgs, err := tr.flush(ctx, cm)
	if err != nil {
		log.Warn("commit offsets failed, will retry", "error", err, "partitions", len(tr.pendingOffsets()))
		return
	}
	for _, m := range msgs {
		log.Debug("committed", "topic", m.Topic, "partition", m.Partition, "offset", m.Offset)
		if c.hooks.Committed != nil {
			c.hooks.Committed(m.Topic, m.Partition, m.Offset)
		}
	}
}
