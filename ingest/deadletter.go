package ingest

import (
	"context"
	"errors"
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
	// HeaderValueOmitted, set to the value's size in bytes, says that the
	// message was too large for the DLQ topic and was written without its
	// value: the source headers say where to read it.
	HeaderValueOmitted = "triggerd-value-omitted"
)

// tooLarge reports whether a write failed because the message exceeds the
// writer's or the topic's size limit.
func tooLarge(err error) bool {
	var mtl kafka.MessageTooLargeError
	return errors.As(err, &mtl) || errors.Is(err, kafka.MessageSizeTooLarge)
}

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
		if tooLarge(err) && out.Value != nil {
			// Retrying cannot make it fit: keep the record of what failed
			// and where, without the value.
			log.Warn("message too large for the DLQ topic, dead-lettering it without its value",
				"bytes", len(out.Value), "dlq", c.cfg.DLQTopic, "offset", msg.Offset)
			out.Headers = append(out.Headers, kafka.Header{Key: HeaderValueOmitted, Value: []byte(strconv.Itoa(len(out.Value)))})
			out.Value = nil
			continue
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
