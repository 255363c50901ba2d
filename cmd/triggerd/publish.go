package main

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/spf13/cobra"

	"github.com/triggerd/triggerd/config"
)

// publishOptions are the flags of `triggerd publish`.
type publishOptions struct {
	brokers  []string
	topic    string
	key      string
	file     string
	table    string
	op       string
	record   string
	previous string
	envelope string
	id       string
}

func (a *app) publishCmd() *cobra.Command {
	o := &publishOptions{}
	cmd := &cobra.Command{
		Use:   "publish",
		Short: "Publish a change event to Kafka (from a file, or built from flags)",
		Example: `  triggerd publish --kafka-brokers 127.0.0.1:9092 --topic dbserver1.public.users -f examples/events/user-insert.debezium.json
  triggerd publish --topic dbserver1.public.users --table public.users --op insert --record '{"id":7,"email":"a@example.com"}'
  triggerd publish --topic triggerd.events --envelope native --table public.orders --op update \
    --record '{"id":42,"status":"cancelled"}' --previous '{"id":42,"status":"paid"}'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			value, err := o.value(cmd.InOrStdin(), time.Now())
			if err != nil {
				return err
			}
			key := o.key
			if key == "" {
				key = deriveKey(value)
			}
			k, err := a.publishKafkaConfig()
			if err != nil {
				return err
			}
			brokers := o.brokers
			if len(brokers) == 0 {
				brokers = k.Brokers
			}
			if len(brokers) == 0 {
				brokers = []string{"127.0.0.1:9092"}
			}
			kc, err := newKafkaClients(k)
			if err != nil {
				return err
			}
			w := &kafka.Writer{
				Addr:         kafka.TCP(brokers...),
				Topic:        o.topic,
				Balancer:     &kafka.Hash{},
				RequiredAcks: kafka.RequireAll,
				BatchTimeout: time.Millisecond,
				Transport:    kc.transport,
			}
			defer w.Close()
			msg := kafka.Message{Value: value}
			if key != "" {
				msg.Key = []byte(key)
			}
			if err := w.WriteMessages(cmd.Context(), msg); err != nil {
				return fmt.Errorf("publish to %s: %w", o.topic, err)
			}
			fmt.Fprintf(a.stdout, "published %d bytes to %s (key %s)\n", len(value), o.topic, orNone(key))
			return nil
		},
	}
	kafkaBrokersFlag(cmd, &o.brokers, "default: kafka.brokers, else 127.0.0.1:9092")
	deprecatedFlag(cmd, "brokers", "kafka-brokers")
	fileFlag(cmd, &o.file, "the message value, JSON, published as is; - reads stdin", false)
	f := cmd.Flags()
	f.StringVar(&o.topic, "topic", "", "topic to publish to (required)")
	f.StringVar(&o.key, "key", "", `message key (default: {"id":<record id>} when the record has an id)`)
	f.StringVar(&o.table, "table", "", "the table (of an event built from flags: schema.table)")
	f.StringVar(&o.op, "op", "insert", "operation of an event built from flags: insert, update, delete")
	f.StringVar(&o.record, "record", "", "row after the change, a JSON object (before it, for a delete)")
	f.StringVar(&o.previous, "previous", "", "row before the change, a JSON object")
	f.StringVar(&o.envelope, "envelope", "debezium", "envelope of an event built from flags: debezium or native")
	f.StringVar(&o.id, "id", "", "native envelope id (default: random)")
	_ = cmd.MarkFlagRequired("topic")
	cmd.MarkFlagsMutuallyExclusive("file", "table")
	return cmd
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

// publishKafkaConfig returns the kafka section of --config and TRIGGERD_*
// for its brokers, TLS and SASL. publish needs no topics or Temporal
// (config.RoleKafkaClient), so problems elsewhere are not its business.
func (a *app) publishKafkaConfig() (config.Kafka, error) {
	cfg, err := a.loadConfig(config.RoleKafkaClient)
	if err != nil {
		return config.Kafka{}, err
	}
	// The SASL password may be a {{secret.NAME}}, as in the worker.
	k := struct {
		Kafka config.Kafka `yaml:"kafka"`
	}{cfg.Kafka}
	if err := newSecretResolver(cfg).ResolveFields(&k); err != nil {
		return config.Kafka{}, fmt.Errorf("config secrets:\n%w", err)
	}
	return k.Kafka, nil
}

// value returns the message value: the file as is, or an event built from
// the flags in the chosen envelope.
func (o *publishOptions) value(stdin io.Reader, now time.Time) ([]byte, error) {
	if o.file != "" {
		b, err := readInput(stdin, o.file)
		if err != nil {
			return nil, err
		}
		if !json.Valid(b) {
			return nil, fmt.Errorf("%s: not valid JSON", o.file)
		}
		return bytes.TrimSpace(b), nil
	}
	if o.table == "" {
		return nil, errors.New("either --file or --table (with --op and --record) is required")
	}
	record, err := jsonObject("--record", o.record)
	if err != nil {
		return nil, err
	}
	previous, err := jsonObject("--previous", o.previous)
	if err != nil {
		return nil, err
	}
	switch o.op {
	case "insert", "update":
		if record == nil {
			return nil, fmt.Errorf("--record is required for %s", o.op)
		}
	case "delete":
		if record == nil && previous == nil {
			return nil, errors.New("--record (the deleted row) is required for delete")
		}
	default:
		return nil, fmt.Errorf("--op must be insert, update or delete, got %q", o.op)
	}
	switch o.envelope {
	case "debezium":
		return json.Marshal(debeziumEnvelope(o.table, o.op, record, previous, now))
	case "native":
		id := o.id
		if id == "" {
			var b [12]byte
			_, _ = rand.Read(b[:])
			id = "publish-" + hex.EncodeToString(b[:])
		}
		ev := map[string]any{"id": id, "table": o.table, "operation": o.op, "timestamp": now.UTC().Format(time.RFC3339Nano)}
		if record != nil {
			ev["record"] = record
		}
		if previous != nil {
			ev["previousRecord"] = previous
		}
		return json.Marshal(ev)
	}
	return nil, fmt.Errorf("--envelope must be debezium or native, got %q", o.envelope)
}

// debeziumEnvelope builds a Debezium change event without the schema
// wrapper (JsonConverter with schemas.enable=false). It carries no log
// position, so every publish is a new change to ingest.
func debeziumEnvelope(table, op string, record, previous map[string]any, now time.Time) map[string]any {
	schema, name := "public", table
	if s, t, ok := strings.Cut(table, "."); ok {
		schema, name = s, t
	}
	ms := now.UnixMilli()
	ev := map[string]any{
		"source": map[string]any{
			"version": "triggerd-publish", "connector": "postgresql", "name": "triggerd",
			"ts_ms": ms, "db": "postgres", "schema": schema, "table": name,
		},
		"ts_ms": ms,
	}
	switch op {
	case "insert":
		ev["op"], ev["before"], ev["after"] = "c", nil, record
	case "update":
		ev["op"], ev["before"], ev["after"] = "u", previous, record
	case "delete":
		if record == nil {
			record = previous
		}
		ev["op"], ev["before"], ev["after"] = "d", record, nil
	}
	return ev
}

func jsonObject(flag, s string) (map[string]any, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	d := json.NewDecoder(strings.NewReader(s))
	d.UseNumber()
	var m map[string]any
	if err := d.Decode(&m); err != nil {
		return nil, fmt.Errorf("%s: not a JSON object: %w", flag, err)
	}
	return m, nil
}

// deriveKey returns the key Debezium would give a row of a table whose
// primary key is id, {"id":<id>}, from the row in value (either envelope),
// or "" when there is none. Ingest reads such a key as the record key.
func deriveKey(value []byte) string {
	d := json.NewDecoder(bytes.NewReader(value))
	d.UseNumber()
	var doc map[string]any
	if d.Decode(&doc) != nil {
		return ""
	}
	if p, ok := doc["payload"].(map[string]any); ok {
		doc = p
	}
	for _, field := range []string{"after", "before", "record", "previousRecord"} {
		row, ok := doc[field].(map[string]any)
		if !ok {
			continue
		}
		if id, ok := row["id"]; ok && id != nil {
			b, err := json.Marshal(map[string]any{"id": id})
			if err != nil {
				return ""
			}
			return string(b)
		}
	}
	return ""
}
