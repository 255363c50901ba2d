package gate

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics count what the gate does. A nil *Metrics counts nothing.
type Metrics struct {
	requests       *prometheus.CounterVec
	latency        prometheus.Histogram
	rejections     *prometheus.CounterVec
	rewrites       *prometheus.CounterVec
	lookupFailures *prometheus.CounterVec
}

// NewMetrics creates the gate's metrics and registers them on reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "triggerd_gate_requests_total", Help: "Gate requests by table (\"(none)\" for tables without before-triggers), operation and outcome (allowed, rejected).",
		}, []string{"table", "operation", "outcome"}),
		latency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "triggerd_gate_request_seconds", Help: "Time to evaluate a gate request, lookups included.",
			Buckets: prometheus.ExponentialBuckets(0.00005, 4, 9),
		}),
		rejections: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "triggerd_gate_rejections_total", Help: "Record violations reported by the gate, by table and trigger.",
		}, []string{"table", "trigger"}),
		rewrites: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "triggerd_gate_rewrites_total", Help: "Records rewritten by a before-trigger's set rules, by table and trigger.",
		}, []string{"table", "trigger"}),
		lookupFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "triggerd_gate_lookup_failures_total", Help: "Failed or timed-out lookups, by trigger, lookup and the policy applied.",
		}, []string{"trigger", "lookup", "policy"}),
	}
	reg.MustRegister(m.requests, m.latency, m.rejections, m.rewrites, m.lookupFailures)
	return m
}

func (m *Metrics) request(table, op, outcome string, took time.Duration) {
	if m == nil {
		return
	}
	m.requests.WithLabelValues(table, op, outcome).Inc()
	m.latency.Observe(took.Seconds())
}

func (m *Metrics) rejection(table, trigger string) {
	if m != nil {
		m.rejections.WithLabelValues(table, trigger).Inc()
	}
}

func (m *Metrics) rewrite(table, trigger string) {
	if m != nil {
		m.rewrites.WithLabelValues(table, trigger).Inc()
	}
}

func (m *Metrics) lookupFailure(trigger, lookup, policy string) {
	if m != nil {
		m.lookupFailures.WithLabelValues(trigger, lookup, policy).Inc()
	}
}
