package ingest

import (
	"context"
	"fmt"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/triggerd/triggerd/run"
)

// countStarter counts starts and closes done at the n-th.
type countStarter struct {
	n    int64
	seen atomic.Int64
	done chan struct{}
}

func (s *countStarter) Start(context.Context, run.Input) error {
	if s.seen.Add(1) == s.n {
		close(s.done)
	}
	return nil
}

// BenchmarkConsumer measures ingest's own work per message, without Kafka
// or Temporal: a partition of native events read from memory, decoded,
// planned (one run each), admitted to the window, started by a starter
// that only counts, and committed.
func BenchmarkConsumer(b *testing.B) {
	for _, conc := range []int{1, DefaultPartitionConcurrency} {
		b.Run(fmt.Sprintf("partitionConcurrency=%d", conc), func(b *testing.B) {
			msgs := make([]kafka.Message, b.N)
			for i := range msgs {
				msgs[i] = kafka.Message{Topic: "t", Offset: int64(i), Key: []byte(fmt.Sprint(i)), Value: fmt.Appendf(nil,
					`{"id":"e-%d","table":"public.orders","operation":"insert","record":{"id":%d,"email":"user%d@example.com","name":"Ada Lovelace","status":"active","amount":0.05,"country":"GB","sent_ns":1796662000123456789},"timestamp":1796662000123}`,
					i, i, i)}
			}
			st := &countStarter{n: int64(b.N), done: make(chan struct{})}
			c, err := NewConsumer(Config{Brokers: []string{"unused:9092"}, Topics: []string{"t"}, GroupID: "g", DLQTopic: "dlq",
				PartitionConcurrency: conc, CommitInterval: time.Hour}, fakePlanner{tags: []string{"a"}}, st, slog.New(slog.DiscardHandler))
			if err != nil {
				b.Fatal(err)
			}
			fp := newFakePartitions(msgs...)
			b.ReportAllocs()
			b.ResetTimer()
			ctx, cancel := context.WithCancel(context.Background())
			go c.runGeneration(ctx, fp.assignments(), &offsetLog{}, fp.open, &fakeWriter{}, c.logger)
			<-st.done
			b.StopTimer()
			cancel()
		})
	}
}
