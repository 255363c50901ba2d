package activities

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
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
	// rabbitmq:<queue> (the default exchange, routed to that queue), or
	// just rabbitmq with Exchange and RoutingKey.
	Target string `json:"target"`
	// Exchange and RoutingKey (RabbitMQ) replace those of the target.
	Exchange   *string `json:"exchange,omitempty"`
	RoutingKey *string `json:"routingKey,omitempty"`
	// Key is the Kafka message key (partitioning); ignored by RabbitMQ.
	Key any `json:"key,omitempty"`
	// Headers become Kafka record headers or AMQP headers.
	Headers map[string]any `json:"headers,omitempty"`
	// Message is the body, encoded as Format says.
	Message any `json:"message"`
	// Format is json (default: the message JSON-encoded), raw (a string
	// sent as its bytes) or base64 (a string decoded to the bytes sent,
	// for binary payloads).
	Format string `json:"format,omitempty"`
	// ContentType defaults to application/json for json,
	// text/plain; charset=utf-8 for raw and application/octet-stream for
	// base64. It is the AMQP content type, and a content-type header on
	// Kafka records.
	ContentType string `json:"contentType,omitempty"`
	// Persistent (RabbitMQ, default true) survives a broker restart in a
	// durable queue.
	Persistent *bool `json:"persistent,omitempty"`
	// Confirm (RabbitMQ, default true) waits for the publisher confirm;
	// without it a broker that drops the message goes unnoticed.
	Confirm *bool `json:"confirm,omitempty"`
	// Mandatory (RabbitMQ, default true) fails a message no queue is bound
	// to receive, instead of the broker dropping it.
	Mandatory *bool `json:"mandatory,omitempty"`
}

// Payload formats of broker.publish.
const (
	FormatJSON   = "json"
	FormatRaw    = "raw"
	FormatBase64 = "base64"
)

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
	Dest        string
	Key         string
	Headers     map[string]string
	Body        []byte
	ContentType string
	// ID is the idempotency key: Kafka header triggerd-idempotency-key,
	// AMQP message id.
	ID string
	// AMQP delivery options; Kafka always waits for all in-sync replicas.
	Transient    bool // !persistent
	NoConfirm    bool // !confirm
	NotMandatory bool // !mandatory
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
// broker has it: all in-sync replicas for Kafka, a publisher confirm for
// RabbitMQ (unless confirm is false).
func (a *Activities) Publish(ctx context.Context, req run.ActionRequest) (any, error) {
	var cfg PublishConfig
	if err := decodeConfig(req.Config, &cfg); err != nil {
		return nil, err
	}
	scheme, dest, err := publishDest(cfg)
	if err != nil {
		return nil, err
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
	body, contentType, err := encodeMessage(cfg)
	if err != nil {
		return nil, err
	}
	m := message{
		Dest: dest, Key: key, Headers: headers, Body: body, ContentType: contentType, ID: req.IdempotencyKey,
		Transient: isFalse(cfg.Persistent), NoConfirm: isFalse(cfg.Confirm), NotMandatory: isFalse(cfg.Mandatory),
	}
	res, err := p.Publish(ctx, m)
	if err != nil {
		return nil, err
	}
	return PublishOutput{Target: scheme + ":" + dest, Partition: res.Partition, Offset: res.Offset, MessageID: req.IdempotencyKey}, nil
}

func isFalse(b *bool) bool { return b != nil && !*b }

// publishDest returns the broker and the destination within it, from the
// target and, for RabbitMQ, exchange and routingKey.
func publishDest(cfg PublishConfig) (scheme, dest string, err error) {
	scheme, dest, hasDest := strings.Cut(cfg.Target, ":")
	if scheme != schemeKafka && scheme != schemeRabbitMQ {
		return "", "", invalidConfig("target %q: unknown broker %q (want kafka:<topic>, rabbitmq:<exchange>/<routing-key> or rabbitmq:<queue>)", cfg.Target, scheme)
	}
	if cfg.Exchange != nil || cfg.RoutingKey != nil {
		if scheme != schemeRabbitMQ {
			return "", "", invalidConfig("exchange and routingKey are for rabbitmq targets")
		}
		ex, key := route(dest)
		if cfg.Exchange != nil {
			ex = *cfg.Exchange
		}
		if cfg.RoutingKey != nil {
			key = *cfg.RoutingKey
		}
		if ex == "" {
			// The default exchange routes by queue name: the bare form.
			return scheme, key, nil
		}
		return scheme, ex + "/" + key, nil
	}
	if !hasDest || dest == "" {
		return "", "", invalidConfig("target %q: want kafka:<topic>, rabbitmq:<exchange>/<routing-key> or rabbitmq:<queue>", cfg.Target)
	}
	return scheme, dest, nil
}

// encodeMessage returns the body and its content type.
func encodeMessage(cfg PublishConfig) ([]byte, string, error) {
	var body []byte
	var ct string
	switch cfg.Format {
	case "", FormatJSON:
		b, err := json.Marshal(cfg.Message)
		if err != nil {
			return nil, "", invalidConfig("message: %v", err)
		}
		body, ct = b, "application/json"
	case FormatRaw:
		s, ok := cfg.Message.(string)
		if !ok {
			return nil, "", invalidConfig("message: format raw needs a string, got %T (use format json)", cfg.Message)
		}
		body, ct = []byte(s), "text/plain; charset=utf-8"
	case FormatBase64:
		s, ok := cfg.Message.(string)
		if !ok {
			return nil, "", invalidConfig("message: format base64 needs a string, got %T", cfg.Message)
		}
		b, err := decodeBase64(s)
		if err != nil {
			return nil, "", invalidConfig("message: %v", err)
		}
		body, ct = b, "application/octet-stream"
	default:
		return nil, "", invalidConfig("format %q: want json, raw or base64", cfg.Format)
	}
	if len(body) == 0 {
		// kafka-go reports offsets by the body's first byte; an empty
		// message is also almost always a template that rendered empty.
		return nil, "", invalidConfig("message is empty")
	}
	if cfg.ContentType != "" {
		ct = cfg.ContentType
	}
	return body, ct, nil
}

// decodeBase64 accepts the standard and URL alphabets, padded or not.
func decodeBase64(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding, base64.RawStdEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil {
			return b, nil
		}
	}
	return nil, errors.New("not base64")
}
