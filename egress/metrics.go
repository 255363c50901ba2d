package egress

import "github.com/prometheus/client_golang/prometheus"

// Metrics counts the connections policies refused.
type Metrics struct {
	refused *prometheus.CounterVec
}

// NewMetrics registers triggerd_egress_denied_total on reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{refused: prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "triggerd_egress_denied_total",
		Help: "Outbound connections the egress policy refused, by policy (egress, or a named integration's) and rule.",
	}, []string{"policy", "rule"})}
	reg.MustRegister(m.refused)
	return m
}

func (m *Metrics) denied(policy, rule string) { m.refused.WithLabelValues(policy, rule).Inc() }
