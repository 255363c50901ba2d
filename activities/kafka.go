package activities

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/triggerd/triggerd/run/errtype"
)

// idempotencyHeader carries the request's idempotency key on Kafka records.
const idempotencyHeader = "triggerd-idempotency-key"

// contentTypeHeader carries the content type on Kafka records, the name
// Kafka Connect and most consumers look for.
const contentTypeHeader = "content-type"

// kafkaPublisher writes through one kafka.Writer per process: it keeps
// connections and metadata per broker and batches concurrent publishes.
type kafkaPublisher struct {
	w *kafka.Writer
	// pending maps the first byte of a message's value (unique to one
	// publish, since each has its own buffer) to the channel its Completion
	// result goes to: kafka-go reports offsets only there.
	pending sync.Map // *byte → chan publishResult
}

func newKafkaPublisher(brokers []string, transport kafka.RoundTripper) *kafkaPublisher {
	p := &kafkaPublisher{}
	p.w = &kafka.Writer{
		Addr:         kafka.TCP(brokers...),
		Balancer:     &kafka.Hash{}, // same key, same partition, like Kafka's own clients
		RequiredAcks: kafka.RequireAll,
		// Synchronous writes wait for a batch to fill or time out: a short
		// timeout keeps a lone publish fast while still batching bursts.
		BatchTimeout: 5 * time.Millisecond,
		// The activity retries; retrying inside the writer too would
		// multiply attempts behind Temporal's back.
		MaxAttempts: 1,
		Transport:   transport,
		Completion:  p.complete,
	}
	return p
}

func (p *kafkaPublisher) complete(msgs []kafka.Message, err error) {
	if err != nil {
		return
	}
	for _, m := range msgs {
		if len(m.Value) == 0 {
			continue
		}
		if ch, ok := p.pending.LoadAndDelete(&m.Value[0]); ok {
			part, off := m.Partition, m.Offset
			ch.(chan publishResult) <- publishResult{Partition: &part, Offset: &off}
		}
	}
}

func (p *kafkaPublisher) Validate(topic string) error {
	if len(topic) > 249 {
		return invalidConfig("kafka topic %q is longer than 249 characters", topic)
	}
	for _, r := range topic {
		if !(r == '.' || r == '_' || r == '-' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			return invalidConfig("kafka topic %q: only letters, digits, '.', '_' and '-' are allowed", topic)
		}
	}
	return nil
}

func (p *kafkaPublisher) Publish(ctx context.Context, m message) (publishResult, error) {
	msg := kafka.Message{Topic: m.Dest, Value: m.Body}
	if m.Key != "" {
		msg.Key = []byte(m.Key)
	}
	names := make([]string, 0, len(m.Headers))
	for k := range m.Headers {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		if k == idempotencyHeader {
			continue // ours, set below: a config cannot replace it
		}
		msg.Headers = append(msg.Headers, kafka.Header{Key: k, Value: []byte(m.Headers[k])})
	}
	if _, set := m.Headers[contentTypeHeader]; !set && m.ContentType != "" {
		msg.Headers = append(msg.Headers, kafka.Header{Key: contentTypeHeader, Value: []byte(m.ContentType)})
	}
	msg.Headers = append(msg.Headers, kafka.Header{Key: idempotencyHeader, Value: []byte(m.ID)})

	done := make(chan publishResult, 1)
	p.pending.Store(&msg.Value[0], done)
	defer p.pending.Delete(&msg.Value[0])
	if err := p.w.WriteMessages(ctx, msg); err != nil {
		return publishResult{}, classifyKafka(fmt.Errorf("publish to kafka topic %s: %w", m.Dest, err))
	}
	// A synchronous write returns after Completion ran.
	select {
	case r := <-done:
		return r, nil
	default:
		return publishResult{}, nil
	}
}

func (p *kafkaPublisher) Close() error {
	if err := p.w.Close(); err != nil {
		return fmt.Errorf("close kafka writer: %w", err)
	}
	return nil
}

// rejectedKafkaErrors are broker answers that no retry will change.
var rejectedKafkaErrors = []kafka.Error{
	kafka.MessageSizeTooLarge, kafka.InvalidTopic, kafka.RecordListTooLarge,
	kafka.TopicAuthorizationFailed, kafka.ClusterAuthorizationFailed,
	kafka.SASLAuthenticationFailed, kafka.InvalidRecord, kafka.UnsupportedVersion,
}

func classifyKafka(err error) error {
	var wes kafka.WriteErrors
	if errors.As(err, &wes) {
		for _, we := range wes {
			if we != nil {
				// One message per write: its own error says what happened.
				err = fmt.Errorf("%w: %w", err, we)
				break
			}
		}
	}
	var ke kafka.Error
	if errors.As(err, &ke) {
		for _, r := range rejectedKafkaErrors {
			if ke == r {
				return permanent(errtype.BrokerRejected, err)
			}
		}
		return transient(errtype.BrokerUnavailable, err, 0)
	}
	if t := networkType(err); t == errtype.Timeout {
		return transient(t, err, 0)
	}
	return transient(errtype.BrokerUnavailable, err, 0)
}
