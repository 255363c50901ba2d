package bench

import (
	"math"
	"slices"
	"time"
)

// Percentiles summarises a set of latencies, in milliseconds.
type Percentiles struct {
	P50 float64 `json:"p50_ms"`
	P95 float64 `json:"p95_ms"`
	P99 float64 `json:"p99_ms"`
	Max float64 `json:"max_ms"`
	N   int     `json:"n"`
}

// percentile returns the p-th percentile (0 < p ≤ 100) of sorted by the
// nearest-rank method: the smallest value with at least p% of the values
// at or below it. It returns 0 for an empty slice.
func percentile(sorted []float64, p float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(math.Ceil(p / 100 * float64(len(sorted))))
	return sorted[min(max(rank, 1), len(sorted))-1]
}

// summarise returns the percentiles of latencies (unsorted; not modified).
func summarise(latencies []time.Duration) Percentiles {
	if len(latencies) == 0 {
		return Percentiles{}
	}
	ms := make([]float64, len(latencies))
	for i, d := range latencies {
		ms[i] = float64(d) / float64(time.Millisecond)
	}
	slices.Sort(ms)
	return Percentiles{
		P50: percentile(ms, 50),
		P95: percentile(ms, 95),
		P99: percentile(ms, 99),
		Max: ms[len(ms)-1],
		N:   len(ms),
	}
}

// Sample is one event seen at the receiving end: when it was produced
// (relative to the start of the measurement) and how long it took.
type Sample struct {
	At      time.Duration
	Latency time.Duration
}

// Bucket is the latency of the events produced in one interval of a
// steady-rate run.
type Bucket struct {
	// Second is the start of the interval, in seconds since the first event.
	Second float64 `json:"t_s"`
	Percentiles
}

// series groups samples by the interval (width) in which they were
// produced and summarises each interval, in time order. Empty intervals are
// left out.
func series(samples []Sample, width time.Duration) []Bucket {
	if width <= 0 || len(samples) == 0 {
		return nil
	}
	groups := map[int][]time.Duration{}
	for _, s := range samples {
		i := int(s.At / width)
		groups[i] = append(groups[i], s.Latency)
	}
	keys := make([]int, 0, len(groups))
	for k := range groups {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	out := make([]Bucket, 0, len(keys))
	for _, k := range keys {
		out = append(out, Bucket{Second: (time.Duration(k) * width).Seconds(), Percentiles: summarise(groups[k])})
	}
	return out
}

// Backlog thresholds: a steady-rate run has a growing backlog when the
// median latency of the last quarter of its events is more than
// backlogFactor times that of the first quarter AND more than backlogMargin
// above it (so that 2 ms → 5 ms jitter does not count), or when events were
// still undelivered when the run's drain time was up.
const (
	backlogFactor = 2.0
	backlogMargin = 250 * time.Millisecond
)

// growingBacklog applies the rule above to samples (in any order) and the
// number of events produced but never received.
func growingBacklog(samples []Sample, undelivered int) bool {
	if undelivered > 0 {
		return true
	}
	if len(samples) < 8 {
		return false
	}
	sorted := slices.Clone(samples)
	slices.SortFunc(sorted, func(a, b Sample) int { return int(a.At - b.At) })
	q := len(sorted) / 4
	first := make([]time.Duration, 0, q)
	last := make([]time.Duration, 0, q)
	for _, s := range sorted[:q] {
		first = append(first, s.Latency)
	}
	for _, s := range sorted[len(sorted)-q:] {
		last = append(last, s.Latency)
	}
	a, b := summarise(first).P50, summarise(last).P50
	margin := float64(backlogMargin) / float64(time.Millisecond)
	return b > backlogFactor*a && b-a > margin
}

// rate returns how many events per second n events spread over d are, or 0
// when d is not positive.
func rate(n int, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return float64(n) / d.Seconds()
}

// ratio returns a / b, or 0 when b is 0 (no baseline measured).
func ratio(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b
}
