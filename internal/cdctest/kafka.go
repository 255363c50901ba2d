package cdctest

import (
	"context"
	"errors"
	"net"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// CreateTopics creates the topics of tables (Topic) with partitions
// partitions, so that a consumer can subscribe before the first change
// (Kafka Connect would otherwise create each at its table's first change,
// with 3 partitions), and the same max.message.bytes as the topics the
// connector creates. Existing topics are left as they are.
func (h *Harness) CreateTopics(partitions int, tables ...string) {
	h.t.Helper()
	ctx, cancel := h.wait(context.Background())
	defer cancel()
	cfgs := make([]kafka.TopicConfig, len(tables))
	for i, tbl := range tables {
		cfgs[i] = kafka.TopicConfig{Topic: h.Topic(tbl), NumPartitions: partitions, ReplicationFactor: 1}
		// As large records as the topics the connector creates itself.
		if max := h.connector.Config["topic.creation.default.max.message.bytes"]; max != "" {
			cfgs[i].ConfigEntries = []kafka.ConfigEntry{{ConfigName: "max.message.bytes", ConfigValue: max}}
		}
	}
	c := &kafka.Client{Addr: kafka.TCP(h.brokers...), Timeout: 30 * time.Second}
	resp, err := c.CreateTopics(ctx, &kafka.CreateTopicsRequest{Topics: cfgs})
	if err != nil {
		h.t.Fatalf("cdctest: create topics: %v", err)
	}
	for topic, err := range resp.Errors {
		if err != nil && !errors.Is(err, kafka.TopicAlreadyExists) {
			h.t.Fatalf("cdctest: create topic %s: %v", topic, err)
		}
	}
}

// Read returns the first n messages of table's topic (Topic).
func (h *Harness) Read(ctx context.Context, table string, n int) []kafka.Message {
	h.t.Helper()
	return h.ReadTopic(ctx, h.Topic(table), n)
}

// WaitFirstEvent waits until table's first change event has arrived in
// Kafka and returns it.
func (h *Harness) WaitFirstEvent(ctx context.Context, table string) kafka.Message {
	h.t.Helper()
	return h.Read(ctx, table, 1)[0]
}

// ReadTopic returns the first n messages of topic, waiting for them (the
// topic need not exist yet). With several partitions, "first" is in the
// order fetched: offset order within each partition.
func (h *Harness) ReadTopic(ctx context.Context, topic string, n int) []kafka.Message {
	h.t.Helper()
	msgs := h.ReadUntil(ctx, topic, func(got []kafka.Message) bool { return len(got) >= n })
	return msgs[:n]
}

// ReadUntil reads topic from its beginning until done, called with every
// message read so far (offset order within each partition), returns true,
// and returns those messages. Keys, values and headers are Debezium's
// bytes as they are; a tombstone has a nil Value.
func (h *Harness) ReadUntil(ctx context.Context, topic string, done func([]kafka.Message) bool) []kafka.Message {
	h.t.Helper()
	ctx, cancel := h.wait(ctx)
	defer cancel()
	cl, err := kgo.NewClient(
		kgo.SeedBrokers(h.brokers...),
		kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		// A topic Debezium has not created yet is looked up again soon.
		kgo.MetadataMinAge(250*time.Millisecond),
		kgo.Dialer((&net.Dialer{Timeout: 10 * time.Second}).DialContext),
	)
	if err != nil {
		h.t.Fatalf("cdctest: kafka client: %v", err)
	}
	defer cl.Close()
	var msgs []kafka.Message
	for !done(msgs) {
		fetches := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			h.t.Fatalf("cdctest: %s: %d messages read, not done: %v", topic, len(msgs), ctx.Err())
		}
		fetches.EachError(func(t string, p int32, err error) {
			// Unknown topic or partition: not created yet, retried.
			if !errors.Is(err, kerr.UnknownTopicOrPartition) {
				h.logger.Warn("cdctest: fetch", "topic", t, "partition", p, "err", err)
			}
		})
		fetches.EachRecord(func(r *kgo.Record) { msgs = append(msgs, message(r)) })
	}
	return msgs
}

// message is r as the kafka-go message that ingest decodes.
func message(r *kgo.Record) kafka.Message {
	m := kafka.Message{
		Topic:     r.Topic,
		Partition: int(r.Partition),
		Offset:    r.Offset,
		Key:       r.Key,
		Value:     r.Value,
		Time:      r.Timestamp,
	}
	for _, hd := range r.Headers {
		m.Headers = append(m.Headers, kafka.Header{Key: hd.Key, Value: hd.Value})
	}
	return m
}
