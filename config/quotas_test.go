package config

import (
	"testing"
	"time"
)

func TestQuotasAndBreakersDecodeAndValidate(t *testing.T) {
	p := writeFile(t, "c.yaml", `
kafka: {brokers: [k:9092], topics: [t]}
quotas:
  onUnavailable: wait
  policies:
    partner-api: {rate: 10, period: 1s, burst: 5, daily: 10000}
  targets:
    "http:api.partner.com": {rate: 5}
breakers:
  default: {failureRatio: 0.5, minRequests: 20}
  targets:
    "kafka:orders": {consecutiveFailures: 3, openTimeout: 10s}
`)
	c, err := Load(p, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Quotas.Policies["partner-api"]; got != (QuotaLimit{Rate: 10, Period: time.Second, Burst: 5, Daily: 10000}) {
		t.Errorf("policy = %+v", got)
	}
	if c.Quotas.Targets["http:api.partner.com"].Rate != 5 || c.Quotas.OnUnavailable != "wait" {
		t.Errorf("quotas = %+v", c.Quotas)
	}
	d := c.Breakers.Default
	if d.FailureRatio != 0.5 || d.ConsecutiveFailures != 0 || d.MinRequests != 20 || d.OpenTimeout != 30*time.Second {
		t.Errorf("breakers.default = %+v (a ratio must not get the consecutive-failures default)", d)
	}

	bad := writeFile(t, "bad.yaml", `
kafka: {brokers: [k:9092], topics: [t]}
quotas:
  onUnavailable: maybe
  policies:
    empty: {period: 1s}
    neg: {rate: -1, onUnavailable: later}
breakers:
  default: {failureRatio: 1.5}
  policies:
    p: {halfOpenRequests: -1, colour: red}
`)
	_, err = Load(bad, []string{"TRIGGERD_BREAKERS_DEFAULT_FAILURE_RATIO=x"})
	probs := problemsOf(t, err)
	for _, want := range []struct{ field, reason string }{
		{"quotas.onUnavailable", "must be one of open, wait"},
		{"quotas.policies.empty", "must set at least one of rate, daily, monthly"},
		{"quotas.policies.neg.rate", "must not be negative"},
		{"quotas.policies.neg.onUnavailable", "must be one of open, wait"},
		{"breakers.policies.p.halfOpenRequests", "must not be negative"},
		{"breakers.policies.p.colour", "unknown key"},
		{"breakers.default.failureRatio", "invalid number"},
	} {
		if !hasProblem(probs, want.field, want.reason) {
			t.Errorf("missing problem %s: %s in %v", want.field, want.reason, probs)
		}
	}
}
