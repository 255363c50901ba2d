package ingest

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/segmentio/kafka-go"

	"github.com/triggerd/triggerd/run"
)

// FuzzDecode feeds arbitrary messages to the Debezium and native decoders
// and the delivery headers, as the consumer does: either the message is
// malformed (an error, which the consumer dead-letters) or every event it
// yields has an id, a table and an operation, and encodes as JSON (it
// becomes a run's input in Temporal). Seeds: the example events and the
// shapes below; testdata/fuzz/FuzzDecode holds more.
func FuzzDecode(f *testing.F) {
	examples, _ := filepath.Glob(filepath.Join("..", "examples", "events", "*.json"))
	for _, p := range examples {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b, []byte(`{"id":42}`), "", "", false)
		}
	}
	f.Add([]byte(dbzInsert("users", 1, 100).value), []byte(`{"id":1}`), "true", "a,b", false)
	f.Add([]byte(`{"op":"r","after":{"id":1},"source":{"table":"t","schema":"s","snapshot":"true"}}`), []byte(nil), "no", "", true)
	f.Add([]byte(`{"op":"u","before":{"id":1,"_triggerd_cascade":"t1@7"},"after":{"id":1,"_triggerd_cascade":"t1,t2@8","_triggerd_skip":0},"source":{"table":"t","txId":8}}`), []byte("1"), "", "", false)
	f.Add([]byte(`{"id":"e1","table":"public.t","operation":"delete","record":{"id":1},"txId":"9"}`), []byte(nil), "1", "t1", false)
	f.Add([]byte(`{"status":"BEGIN","id":"571:53195829","event_count":null}`), []byte(nil), "", "", false)
	f.Add([]byte(`{"payload":null}`), []byte(nil), "maybe", ",,", false)
	f.Fuzz(func(t *testing.T, value, key []byte, skip, cascade string, snapshotInsert bool) {
		msg := kafka.Message{Topic: "t", Partition: 1, Offset: 42, Key: key, Value: value}
		if skip != "" {
			msg.Headers = append(msg.Headers, kafka.Header{Key: run.HeaderSkipTriggers, Value: []byte(skip)})
		}
		if cascade != "" {
			msg.Headers = append(msg.Headers, kafka.Header{Key: run.HeaderCascade, Value: []byte(cascade)})
		}
		opts := DecodeOptions{SnapshotReads: SnapshotReadsIgnore}
		if snapshotInsert {
			opts.SnapshotReads = SnapshotReadsInsert
		}
		events, err := Decode(msg, opts)
		if err == nil {
			events, err = applyHeaders(msg, events)
		}
		if err != nil {
			if err.Error() == "" {
				t.Fatal("an error without a reason would reach the DLQ unexplained")
			}
			return
		}
		for _, ev := range events {
			if ev.ID == "" || ev.Table == "" || ev.Operation == "" {
				t.Fatalf("event without id, table or operation: %+v", ev)
			}
			if _, err := json.Marshal(ev); err != nil {
				t.Fatalf("event does not encode: %v", err)
			}
		}
	})
}
