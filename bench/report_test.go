package bench

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestWriteComparison(t *testing.T) {
	old := &Report{Results: []Result{
		{Scenario: "triggerd/runs", Temporal: "sqlite", PerSecond: 20},
		{Scenario: "triggerd/latency@5/s", Group: GroupLatency, Temporal: "sqlite", Latency: &Percentiles{P50: 40}},
	}}
	now := &Report{Results: []Result{
		{Scenario: "triggerd/runs", Temporal: "sqlite", PerSecond: 60},
		{Scenario: "triggerd/runs", Temporal: "postgres", PerSecond: 80},
		{Scenario: "triggerd/latency@5/s", Group: GroupLatency, Temporal: "sqlite", Latency: &Percentiles{P50: 20}},
	}}
	var b bytes.Buffer
	now.WriteComparison(&b, old)
	assert.Contains(t, b.String(), "| triggerd/runs | sqlite | 20.0/s | 60.0/s | 3.00 |")
	assert.Contains(t, b.String(), "| triggerd/latency@5/s | sqlite | 40.0 ms p50 | 20.0 ms p50 | 0.50 |")
	assert.NotContains(t, b.String(), "postgres", "a row the earlier run did not measure is left out")
}
