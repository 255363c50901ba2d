package bench

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestPercentileNearestRank(t *testing.T) {
	sorted := []float64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}
	for _, c := range []struct{ p, want float64 }{
		{50, 5}, {95, 10}, {99, 10}, {10, 1}, {11, 2}, {100, 10}, {0.1, 1},
	} {
		assert.Equal(t, c.want, percentile(sorted, c.p), "p%g", c.p)
	}
	assert.Equal(t, 0.0, percentile(nil, 50))
	assert.Equal(t, 7.0, percentile([]float64{7}, 99))
}

func TestSummariseUnsortedMilliseconds(t *testing.T) {
	var lat []time.Duration
	for i := 100; i >= 1; i-- { // 100 ms … 1 ms, reversed
		lat = append(lat, time.Duration(i)*time.Millisecond)
	}
	p := summarise(lat)
	assert.Equal(t, Percentiles{P50: 50, P95: 95, P99: 99, Max: 100, N: 100}, p)
	assert.Equal(t, time.Duration(100)*time.Millisecond, lat[0], "input not reordered")
	assert.Equal(t, Percentiles{}, summarise(nil))
}

func TestSeriesBucketsByProductionTime(t *testing.T) {
	samples := []Sample{
		{At: 2500 * time.Millisecond, Latency: 30 * time.Millisecond},
		{At: 100 * time.Millisecond, Latency: 10 * time.Millisecond},
		{At: 900 * time.Millisecond, Latency: 20 * time.Millisecond},
	}
	b := series(samples, time.Second)
	require.Len(t, b, 2, "second 1 had no event and is left out")
	assert.Equal(t, 0.0, b[0].Second)
	assert.Equal(t, Percentiles{P50: 10, P95: 20, P99: 20, Max: 20, N: 2}, b[0].Percentiles)
	assert.Equal(t, 2.0, b[1].Second)
	assert.Equal(t, 30.0, b[1].P50)
	assert.Nil(t, series(nil, time.Second))
}

func TestGrowingBacklog(t *testing.T) {
	steady := make([]Sample, 40)
	growing := make([]Sample, 40)
	jitter := make([]Sample, 40)
	for i := range 40 {
		at := time.Duration(i) * 50 * time.Millisecond
		steady[i] = Sample{At: at, Latency: 40 * time.Millisecond}
		growing[i] = Sample{At: at, Latency: time.Duration(40+i*100) * time.Millisecond}
		// 10 ms → 100 ms is ten times more, but under the 250 ms margin.
		jitter[i] = Sample{At: at, Latency: time.Duration(10+i*90/39) * time.Millisecond}
	}
	assert.False(t, growingBacklog(steady, 0))
	assert.True(t, growingBacklog(growing, 0))
	assert.False(t, growingBacklog(jitter, 0))
	assert.True(t, growingBacklog(steady, 1), "an event never delivered is a backlog")
	assert.False(t, growingBacklog(growing[:4], 0), "too few samples to tell")
}

func TestRateAndRatio(t *testing.T) {
	assert.Equal(t, 50.0, rate(100, 2*time.Second))
	assert.Equal(t, 0.0, rate(100, 0))
	assert.Equal(t, 0.5, ratio(1, 2))
	assert.Equal(t, 0.0, ratio(1, 0), "no baseline: no ratio")
}

func TestMeasureThroughputFirstToLast(t *testing.T) {
	m := newMeasure(3)
	t0 := time.Unix(100, 0)
	m.done(0, t0.Add(5*time.Second)) // time before the first unit is not counted
	m.done(2, t0.Add(7*time.Second))
	m.done(1, t0.Add(6*time.Second))
	assert.Equal(t, 1.0, m.throughput(), "2 intervals in 2 s")
	select {
	case <-m.full:
	default:
		t.Fatal("3 of 3 done but not full")
	}
	done, missing := m.finished()
	assert.Equal(t, []int{0, 2, 1}, done)
	assert.Empty(t, missing)
}

func TestMeasureWarmUpIsNotCounted(t *testing.T) {
	m := newMeasure(0)
	now := time.Now()
	m.deliver(warmUpUnit, now, now)
	m.deliver(0, now, now.Add(time.Millisecond))
	m.expect(2)
	assert.Equal(t, 1, m.count())
	_, missing := m.finished()
	assert.Equal(t, []int{1}, missing)
	select {
	case <-m.warm:
	default:
		t.Fatal("warm-up not signalled")
	}
}

func TestComputeRatios(t *testing.T) {
	rows := []Scenario{{Name: "triggerd/runs", Compare: []string{"baseline/one", "baseline/direct"}},
		{Name: "triggerd/latency@5/s", Group: GroupLatency, Compare: []string{"baseline/one@5/s"}}}
	results := []Result{
		{Scenario: "baseline/one", Temporal: "sqlite", PerSecond: 20},
		{Scenario: "baseline/one", Temporal: "postgres", PerSecond: 40},
		{Scenario: "baseline/direct", PerSecond: 1000},
		{Scenario: "triggerd/runs", Temporal: "postgres", PerSecond: 10},
		{Scenario: "baseline/one@5/s", Group: GroupLatency, Temporal: "sqlite", Latency: &Percentiles{P50: 40}},
		{Scenario: "triggerd/latency@5/s", Group: GroupLatency, Temporal: "sqlite", Latency: &Percentiles{P50: 60}},
	}
	computeRatios(results, rows)
	assert.Equal(t, map[string]float64{"baseline/one": 0.25, "baseline/direct": 0.01}, results[3].Ratios,
		"same server's baseline, else the one without Temporal")
	assert.Equal(t, map[string]float64{"baseline/one@5/s": 1.5}, results[5].Ratios, "latency compares p50s")
}

func TestSampleOf(t *testing.T) {
	done := []int{5, 6, 7, 8, 9, 10}
	assert.Equal(t, []int{7, 10}, sampleOf(done, 2))
	assert.Equal(t, []int{10}, sampleOf(done, 1), "the last one is always in")
	assert.Equal(t, done, sampleOf(done, 10))
	assert.Nil(t, sampleOf(done, 0))
}

func TestGlobMatch(t *testing.T) {
	assert.True(t, globMatch("triggerd/*", "triggerd/latency@20/s"))
	assert.True(t, globMatch("*@50/s", "baseline/direct@50/s"))
	assert.True(t, globMatch("baseline/execute*", "baseline/execute-8"))
	assert.True(t, globMatch("baseline/fetch", "baseline/fetch"))
	assert.False(t, globMatch("baseline/fetch", "baseline/fetch+json"))
	assert.False(t, globMatch("triggerd/*", "baseline/execute"))
}
