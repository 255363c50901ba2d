package ingest

import (
	"encoding/json"
	"path/filepath"
	"testing"

	"github.com/segmentio/kafka-go"

	"github.com/triggerd/triggerd/internal/cdctest"
)

// BenchmarkDecode decodes one message of each kind a topic carries:
// triggerd's native envelope, and Debezium's change events with and
// without their Connect schema (the golden messages of testdata), beside
// the json.Unmarshal into a map any JSON consumer pays for the same
// bytes. A CPU profile shows where decoding spends its time:
//
//	go test ./ingest -run '^$' -bench Decode -cpuprofile cpu.out
func BenchmarkDecode(b *testing.B) {
	native := kafka.Message{Topic: "t", Key: []byte("5"), Value: []byte(`{"id":"e-5","table":"public.orders","operation":"insert",` +
		`"record":{"id":5,"email":"user5@example.com","name":"Ada Lovelace","status":"active","amount":0.05,"country":"GB","sent_ns":1796662000123456789},` +
		`"timestamp":1796662000123}`)}
	cases := []struct {
		name string
		msg  kafka.Message
		opts DecodeOptions
	}{{"native", native, DecodeOptions{}}}
	for _, dir := range []string{"schemas", "schemaless"} {
		msg, err := cdctest.LoadMessage(filepath.Join("testdata", "debezium", dir, "01-types-c.json"))
		if err != nil {
			b.Fatal(err)
		}
		cases = append(cases, struct {
			name string
			msg  kafka.Message
			opts DecodeOptions
		}{"debezium-" + dir, msg, goldenOptions[dir]})
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(c.msg.Value)))
			for range b.N {
				if _, err := Decode(c.msg, c.opts); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(c.name+"/json.Unmarshal", func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(c.msg.Value)))
			for range b.N {
				var v map[string]any
				if err := json.Unmarshal(c.msg.Value, &v); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
