package e2e

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/triggerd/triggerd/activities"
	"github.com/triggerd/triggerd/fallbacks"
	"github.com/triggerd/triggerd/internal/testenv"
	"github.com/triggerd/triggerd/quotas"
	"github.com/triggerd/triggerd/run"
)

// BenchmarkGuardOverhead measures what the decorators add to one action
// call when they do not limit: a quota far above the load and a closed
// breaker, both in Redis (loopback in CI), or in memory. The action itself
// does nothing. It reports the 50th and 99th percentile per call.
func BenchmarkGuardOverhead(b *testing.B) {
	rc := redis.NewClient(&redis.Options{Addr: testenv.RedisAddr(b)})
	defer rc.Close()
	prefix := fmt.Sprintf("bench:%d:", time.Now().UnixNano())
	target := "http:bench.example"
	qcfg := quotas.Config{Targets: map[string]run.Limit{target: {Rate: 1_000_000, Period: time.Second}}}
	bcfg := fallbacks.Config{Targets: map[string]run.BreakerSettings{target: {ConsecutiveFailures: 5, OpenTimeout: time.Minute}}}
	noop := func(context.Context, run.ActionRequest) (any, error) { return nil, nil }
	req := run.ActionRequest{TriggerTag: "bench", ActionName: "notify", Type: run.TypeHTTP,
		Config: map[string]any{"url": "https://bench.example/hook"}}

	for _, c := range []struct {
		name string
		mws  []run.Middleware
	}{
		{"none", nil},
		{"redis/quota", []run.Middleware{
			quotas.New(qcfg, quotas.NewRedisLimiter(rc, prefix+"q:"), quotas.NewMemoryOverrides(), activities.Target).Middleware}},
		{"redis/breaker", []run.Middleware{
			fallbacks.New(bcfg, fallbacks.NewRedisStore(rc, prefix+"b:"), activities.Target).Middleware}},
		{"redis/breaker+quota", []run.Middleware{
			fallbacks.New(bcfg, fallbacks.NewRedisStore(rc, prefix+"bq:"), activities.Target).Middleware,
			quotas.New(qcfg, quotas.NewRedisLimiter(rc, prefix+"qb:"), quotas.NewMemoryOverrides(), activities.Target).Middleware}},
		{"memory/breaker+quota", []run.Middleware{
			fallbacks.New(bcfg, fallbacks.NewMemoryStore(), activities.Target).Middleware,
			quotas.New(qcfg, quotas.NewMemoryLimiter(), quotas.NewMemoryOverrides(), activities.Target).Middleware}},
	} {
		b.Run(c.name, func(b *testing.B) {
			f := run.Chain(noop, c.mws...)
			ctx := context.Background()
			took := make([]time.Duration, 0, b.N)
			for b.Loop() {
				start := time.Now()
				if _, err := f(ctx, req); err != nil {
					b.Fatal(err)
				}
				took = append(took, time.Since(start))
			}
			slices.Sort(took)
			b.ReportMetric(float64(took[len(took)/2].Microseconds()), "p50-µs")
			b.ReportMetric(float64(took[len(took)*99/100].Microseconds()), "p99-µs")
		})
	}
}
