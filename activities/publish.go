package activities

import (
	"context"
	"encoding/json"
	"strings"

	"github.com/triggerd/triggerd/run"
)

// Target schemes of broker.publish.
const (
	schemeKafka    = "kafka"
	schemeRabbitMQ = "rabbitmq"
)

// PublishConfig is the config of broker.publish.
type PublishConfig struct {
	// Target is kafka:<topic>, rabbitmq:<exchange>/<routing-key> or
	// rabbitmq:<queue> (the default exchange, routed to that queue).
	Target string `json:"target"`
	// Key is the Kafka message key (partitioning); ignored by RabbitMQ.
	Key any `json:"key,omitempty"`
	// Headers become Kafka record headers or AMQP headers.
	Headers map[string]any `json:"headers,omitempty"`
	// Message is JSON-encoded as the message body.
	Message any `json:"message"`
}

// PublishOutput is the output of broker.publish.
type PublishOutput struct {
	Target    string `json:"target"`
	Partition *int   `json:"partition,omitempty"`
	Offset    *int64 `json:"offset,omitempty"`
	MessageID string `json:"messageId"`
}

// message is what a publisher sends: the destination within its broker and
// the encoded message.
type message struct {
	// Dest is the part of the target after the scheme.
	Dest    string
	Key     string
	Headers map[string]string
	Body    []byte
	// ID is the idempotency key: Kafka header triggerd-idempotency-key,
	// AMQP message id.
	ID string
}

// publishResult is what a broker told about a published message.
type publishResult struct {
	Partition *int
	Offset    *int64
}

// publisher sends messages to one kind of broker. Implementations return
// errors already classified (errtype), and are safe for concurrent use.
type publisher interface {
	// Validate rejects a destination the publisher can never send to.
	Validate(dest string) error
	Publish(ctx context.Context, m message) (publishResult, error)
	Close() error
}

// Publish sends the message to the target's broker and waits until the
// broker has it (all in-sync replicas for Kafka, a publisher confirm for
// RabbitMQ).
func (a *Activities) Publish(ctx context.Context, req run.ActionRequest) (any, error) {
	var cfg PublishConfig
	if err := decodeConfig(req.Config, &cfg); err != nil {
		return nil, err
	}
	scheme, dest, ok := strings.Cut(cfg.Target, ":")
	if !ok || dest == "" {
		return nil, invalidConfig("target %q: want kafka:<topic>, rabbitmq:<exchange>/<routing-key> or rabbitmq:<queue>", cfg.Target)
	}
	if scheme != schemeKafka && scheme != schemeRabbitMQ {
		return nil, invalidConfig("target %q: unknown broker %q (want kafka or rabbitmq)", cfg.Target, scheme)
	}
	p, ok := a.publishers[scheme]
	if !ok {
		return nil, notConfigured(scheme + " (broker.publish " + cfg.Target + ")")
	}
	if err := p.Validate(dest); err != nil {
		return nil, err
	}
	key, err := stringish(cfg.Key)
	if err != nil {
		return nil, invalidConfig("key: %v", err)
	}
	headers := make(map[string]string, len(cfg.Headers))
	for k, v := range cfg.Headers {
		s, err := stringish(v)
		if err != nil {
			return nil, invalidConfig("header %q: %v", k, err)
		}
		headers[k] = s
	}
	if len(req.Cascade) > 0 {
		// The change this message causes carries the chain, so that
		// ingest can stop too deep a cascade or a loop (docs/semantics.md).
		headers[run.HeaderCascade] = run.FormatCascade(req.Cascade)
	}
	body, err := json.Marshal(cfg.Message)
	if err != nil {
		return nil, invalidConfig("message: %v", err)
	}
	res, err := p.Publish(ctx, message{Dest: dest, Key: key, Headers: headers, Body: body, ID: req.IdempotencyKey})
	if err != nil {
		return nil, err
	}
	return PublishOutput{Target: cfg.Target, Partition: res.Partition, Offset: res.Offset, MessageID: req.IdempotencyKey}, nil
}
