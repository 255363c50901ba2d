package main

import (
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/triggerd/triggerd/run"
)

func TestAPIHealthAndMetrics(t *testing.T) {
	m := newMetrics()
	a, err := startAPI("127.0.0.1:0", m, nil, nil, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer a.stop()
	base := "http://" + a.ln.Addr().String()
	get := func(path string) (int, string) {
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, _ := get("/healthz"); code != http.StatusServiceUnavailable {
		t.Fatalf("healthz before ready: %d", code)
	}
	a.ready.Store(true)
	if code, _ := get("/healthz"); code != http.StatusOK {
		t.Fatalf("healthz when ready: %d", code)
	}
	m.ingestHooks().Started(run.Input{Trigger: run.TriggerRef{Tag: "t1"}}, 3*time.Millisecond)
	code, body := get("/metrics")
	if code != http.StatusOK || !strings.Contains(body, `triggerd_runs_started_total{trigger="t1"} 1`) || !strings.Contains(body, "go_goroutines") {
		t.Fatalf("metrics %d:\n%s", code, body)
	}
}
