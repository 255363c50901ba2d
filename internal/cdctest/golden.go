package cdctest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"

	"github.com/segmentio/kafka-go"
)

// MessageFile is how a Kafka message is saved in a golden file (the real
// Debezium output under ingest/testdata/debezium): key and value are the
// message's bytes as they were, embedded as JSON (Kafka Connect's
// JsonConverter writes JSON), a tombstone's value is null.
type MessageFile struct {
	Topic     string          `json:"topic"`
	Partition int             `json:"partition"`
	Offset    int64           `json:"offset"`
	Headers   []HeaderFile    `json:"headers,omitempty"`
	Key       json.RawMessage `json:"key"`
	Value     json.RawMessage `json:"value"`
}

// HeaderFile is a saved Kafka header.
type HeaderFile struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// SaveMessage writes m to path as a MessageFile.
func SaveMessage(path string, m kafka.Message) error {
	b, err := EncodeMessage(m)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return os.WriteFile(path, b, 0o644)
}

// EncodeMessage is the content SaveMessage writes.
func EncodeMessage(m kafka.Message) ([]byte, error) {
	f := MessageFile{Topic: m.Topic, Partition: m.Partition, Offset: m.Offset, Key: raw(m.Key), Value: raw(m.Value)}
	for _, h := range m.Headers {
		f.Headers = append(f.Headers, HeaderFile{Key: h.Key, Value: string(h.Value)})
	}
	for name, b := range map[string]json.RawMessage{"key": f.Key, "value": f.Value} {
		if !json.Valid(b) {
			return nil, fmt.Errorf("%s is not JSON: %q", name, b)
		}
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	// Values hold XML and HTML-like text: keep <, > and & as they are, so
	// the embedded bytes stay Debezium's.
	enc.SetEscapeHTML(false)
	if err := enc.Encode(f); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// LoadMessage reads a MessageFile back into the message that was saved.
func LoadMessage(path string) (kafka.Message, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return kafka.Message{}, err
	}
	var f MessageFile
	if err := json.Unmarshal(b, &f); err != nil {
		return kafka.Message{}, fmt.Errorf("%s: %w", path, err)
	}
	m := kafka.Message{Topic: f.Topic, Partition: f.Partition, Offset: f.Offset, Key: unraw(f.Key), Value: unraw(f.Value)}
	for _, h := range f.Headers {
		m.Headers = append(m.Headers, kafka.Header{Key: h.Key, Value: []byte(h.Value)})
	}
	return m, nil
}

func raw(b []byte) json.RawMessage {
	if b == nil {
		return json.RawMessage("null")
	}
	return json.RawMessage(b)
}

func unraw(b json.RawMessage) []byte {
	if string(b) == "null" {
		return nil
	}
	return []byte(b)
}
