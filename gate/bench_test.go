package gate_test

import (
	"context"
	"net/http/httptest"
	"sort"
	"testing"
	"time"

	"github.com/triggerd/triggerd/api"
	"github.com/triggerd/triggerd/gate"
	"github.com/triggerd/triggerd/gate/gateclient"
	"github.com/triggerd/triggerd/run"
	"github.com/triggerd/triggerd/triggerstore"
)

// reportPercentiles reports the p50 and p99 of the per-request times.
func reportPercentiles(b *testing.B, took []time.Duration) {
	if len(took) == 0 {
		return
	}
	sort.Slice(took, func(i, j int) bool { return took[i] < took[j] })
	pct := func(p float64) float64 { return float64(took[int(p*float64(len(took)-1))].Microseconds()) }
	b.ReportMetric(pct(0.50), "p50-µs")
	b.ReportMetric(pct(0.99), "p99-µs")
}

func benchRecord() map[string]any {
	return map[string]any{"id": 42, "email": "Ada@Example.COM", "first_name": "Ada", "last_name": "Lovelace", "age": 36, "verified": true}
}

// benchPrevious is the stored row: its email is already normalised.
func benchPrevious() map[string]any {
	r := benchRecord()
	r["email"] = "ada@example.com"
	return r
}

// BenchmarkGateInProcess evaluates one insert of one record against the
// typical users trigger set (three before-triggers with set and validate
// rules, structured conditions and CEL, no lookups).
func BenchmarkGateInProcess(b *testing.B) {
	g := newGate(b, usersTriggers, nil, nil, nil)
	ctx := context.Background()
	took := make([]time.Duration, 0, b.N)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		start := time.Now()
		res, err := g.Evaluate(ctx, gate.Request{Table: "users", Operation: run.OperationUpdate,
			Records: []map[string]any{benchRecord()}, PreviousRecords: []map[string]any{benchPrevious()}})
		took = append(took, time.Since(start))
		if err != nil || res.Rejected {
			b.Fatal(err, res.Errors)
		}
	}
	b.StopTimer()
	reportPercentiles(b, took)
}

// BenchmarkGateHTTP is the same request through triggerd's API and the Go
// client, over loopback HTTP.
func BenchmarkGateHTTP(b *testing.B) {
	g := newGate(b, usersTriggers, nil, nil, nil)
	const token = "bench-token-0123456789abcdef01"
	auth, err := api.NewAuth(api.AcceptToken("bench", token, api.ScopeGate))
	if err != nil {
		b.Fatal(err)
	}
	srv := httptest.NewServer(api.New(api.Options{Store: triggerstore.NewMemory(), Gate: g, Auth: auth}).Handler())
	defer srv.Close()
	gc := gateclient.New(srv.URL, gateclient.WithToken(token))
	ctx := context.Background()
	took := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		start := time.Now()
		_, err := gc.Update(ctx, "users", []map[string]any{benchRecord()}, []map[string]any{benchPrevious()})
		took = append(took, time.Since(start))
		if err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	reportPercentiles(b, took)
}
