package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/triggerd/triggerd/config"
	"github.com/triggerd/triggerd/run"
)

// Without Redis the guards run in the process, from config, and count
// what they do in the process's metrics.
func TestGuardsFromConfigWithoutRedis(t *testing.T) {
	cfg := config.Default()
	cfg.Quotas.Targets = map[string]config.QuotaLimit{"http:api.partner.com": {Rate: 1, Period: time.Hour}}
	cfg.Breakers.Targets = map[string]config.BreakerPolicy{"http:down.example": {ConsecutiveFailures: 1, OpenTimeout: time.Hour}}
	reg := prometheus.NewRegistry()
	g, err := newGuards(cfg, reg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer g.close()
	if g.rdb != nil {
		t.Fatal("no redis.address: no Redis client")
	}
	f := run.Chain(func(_ context.Context, req run.ActionRequest) (any, error) {
		if strings.Contains(req.Config["url"].(string), "down") {
			return nil, errors.New("connection refused")
		}
		return "ok", nil
	}, g.middlewares()...)
	call := func(url string) error {
		_, err := f(context.Background(), run.ActionRequest{TriggerTag: "t", ActionName: "a", Type: "http", Config: map[string]any{"url": url}})
		return err
	}
	if err := call("https://api.partner.com/x"); err != nil {
		t.Fatal(err)
	}
	if err := call("https://api.partner.com/x"); err == nil || !strings.Contains(err.Error(), "QUOTA_EXCEEDED") && !strings.Contains(err.Error(), "quota target:http:api.partner.com") {
		t.Fatalf("second call within the hour: %v", err)
	}
	_ = call("https://down.example/x")
	if err := call("https://down.example/x"); err == nil || !strings.Contains(err.Error(), "circuit breaker target:http:down.example is open") {
		t.Fatalf("after one failure: %v", err)
	}
	got := counters(t, reg)
	for _, want := range []string{
		`triggerd_quota_refusals_total{quota="target:http:api.partner.com"} 1`,
		`triggerd_breaker_transitions_total{breaker="target:http:down.example",from="closed",to="open"} 1`,
		`triggerd_breaker_rejections_total{breaker="target:http:down.example"} 1`,
	} {
		if !got[want] {
			t.Errorf("missing %s in %v", want, got)
		}
	}
}

// counters renders every counter of reg as name{labels} value.
func counters(t *testing.T, reg *prometheus.Registry) map[string]bool {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			if m.GetCounter() == nil {
				continue
			}
			var labels []string
			for _, l := range m.GetLabel() {
				labels = append(labels, fmt.Sprintf("%s=%q", l.GetName(), l.GetValue()))
			}
			out[fmt.Sprintf("%s{%s} %g", mf.GetName(), strings.Join(labels, ","), m.GetCounter().GetValue())] = true
		}
	}
	return out
}
