package ingest

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/segmentio/kafka-go"
)

// Headers added to a message written to the dead-letter topic.
const (
	HeaderError = "triggerd-error"
	// HeaderErrorKind is DeadLetterKind of the reason: "malformed" or
	// "rejected".
	HeaderErrorKind       = "triggerd-error-kind"
	HeaderSourceTopic     = "triggerd-source-topic"
	HeaderSourcePartition = "triggerd-source-partition"
	HeaderSourceOffset    = "triggerd-source-offset"
	HeaderFailedAt        = "triggerd-failed-at"
)

// deadLetter writes the original msg, with headers saying why and where it
// came from, to the DLQ topic. The write is retried until it succeeds; it
// returns an error only when ctx ended first.
func (c *Consumer) deadLetter(ctx context.Context, msg kafka.Message, reason error, dlq messageWriter, log *slog.Logger) error {
	headers := make([]kafka.Header, 0, len(msg.Headers)+6)
	headers = append(headers, msg.Headers...)
	headers = append(headers,
		kafka.Header{Key: HeaderError, Value: []byte(oneLine(reason.Error()))},
		kafka.Header{Key: HeaderErrorKind, Value: []byte(DeadLetterKind(reason))},
		kafka.Header{Key: HeaderSourceTopic, Value: []byte(msg.Topic)},
		kafka.Header{Key: HeaderSourcePartition, Value: []byte(strconv.Itoa(msg.Partition))},
		kafka.Header{Key: HeaderSourceOffset, Value: []byte(strconv.FormatInt(msg.Offset, 10))},
		kafka.Header{Key: HeaderFailedAt, Value: []byte(c.now().UTC().Format(time.RFC3339))},
	)
	out := kafka.Message{Key: msg.Key, Value: msg.Value, Headers: headers}
	backoff := c.cfg.StartBackoff
	for attempt := 1; ; attempt++ {
		err := dlq.WriteMessages(ctx, out)
		if err == nil {
			break
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		log.Warn("dead-letter write failed, retrying", "attempt", attempt, "backoff", backoff,
			"error", fmt.Errorf("write to DLQ %s: %w", c.cfg.DLQTopic, err), "offset", msg.Offset)
		if !sleep(ctx, backoff) {
			return ctx.Err()
		}
		backoff = min(backoff*2, c.cfg.MaxStartBackoff)
	}
	log.Warn("message sent to the DLQ", "kind", DeadLetterKind(reason), "reason", reason, "dlq", c.cfg.DLQTopic, "offset", msg.Offset)
	if c.hooks.DeadLettered != nil {
		c.hooks.DeadLettered(msg, reason)
	}
	return nil
}
