package bench

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/triggerd/triggerd/ingest"
)

// The CPU profile of triggerd's decode + match (docs/performance.md):
//
//	go test ./bench -run '^$' -bench DecodeMatch -cpuprofile cpu.out
//	go tool pprof -top -cum cpu.out
//
// on the same events and trigger as the suite's decode scenarios, without
// Kafka, beside the json.Unmarshal every JSON consumer pays.

func benchEvents(n int) []kafka.Message {
	e := &Env{id: "prof"}
	msgs := make([]kafka.Message, n)
	for i := range msgs {
		msgs[i] = e.eventMessage(i, time.Now())
		msgs[i].Topic, msgs[i].Offset = "prof", int64(i)
	}
	return msgs
}

func BenchmarkDecodeMatch(b *testing.B) {
	set, err := Triggerd{}.triggerSet("prof", "http://127.0.0.1:9/unused")
	if err != nil {
		b.Fatal(err)
	}
	msgs := benchEvents(1024)
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		evs, err := ingest.Decode(msgs[i%len(msgs)], ingest.DecodeOptions{})
		if err != nil {
			b.Fatal(err)
		}
		for _, ev := range evs {
			if len(set.Plan(ev)) != 1 {
				b.Fatal("the event does not match its trigger")
			}
		}
	}
}

func BenchmarkJSONUnmarshal(b *testing.B) {
	msgs := benchEvents(1024)
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		var v map[string]any
		if err := json.Unmarshal(msgs[i%len(msgs)].Value, &v); err != nil {
			b.Fatal(err)
		}
	}
}
