package config

import (
	"fmt"
	"maps"
	"slices"
	"time"
)

// Defaults of the quotas and breakers keys (docs/quotas.md).
const (
	DefaultQuotaRefreshInterval = 2 * time.Second
	DefaultQuotaOnUnavailable   = "open"
	DefaultQuotaUnavailableWait = 5 * time.Second
	DefaultGuardKeyPrefix       = "triggerd:"
	DefaultBreakerFailures      = 5
	DefaultBreakerMinRequests   = 10
	DefaultBreakerInterval      = time.Minute
	DefaultBreakerOpenTimeout   = 30 * time.Second
	DefaultBreakerHalfOpen      = 1
)

// Quotas configures the quota decorator: named policies that trigger
// actions refer to (quota: <name>), limits per target that apply to every
// action reaching it, and what to do when Redis is unreachable. Runtime
// overrides (triggerd quotas set) win over both.
type Quotas struct {
	// RefreshInterval is how often a process rereads the runtime
	// overrides (of quotas and breakers).
	RefreshInterval time.Duration `yaml:"refreshInterval"`
	// OnUnavailable is open (call through) or wait (delay the call by
	// UnavailableWait) when Redis cannot be reached; a quota may say
	// otherwise.
	OnUnavailable   string        `yaml:"onUnavailable"`
	UnavailableWait time.Duration `yaml:"unavailableWait"`
	// KeyPrefix prefixes every Redis key of quotas and breakers.
	KeyPrefix string                `yaml:"keyPrefix"`
	Policies  map[string]QuotaLimit `yaml:"policies"`
	// Targets are keyed like http:api.partner.com, kafka:orders, smtp.
	Targets map[string]QuotaLimit `yaml:"targets"`
}

// QuotaLimit is Rate calls per Period with bursts of Burst (default Rate),
// and calendar caps per UTC day and month.
type QuotaLimit struct {
	Rate          int           `yaml:"rate"`
	Period        time.Duration `yaml:"period"`
	Burst         int           `yaml:"burst"`
	Daily         int           `yaml:"daily"`
	Monthly       int           `yaml:"monthly"`
	OnUnavailable string        `yaml:"onUnavailable"`
}

// Breakers configures the circuit breakers: defaults for every breaker,
// named policies that trigger actions refer to (breaker: <name>), and
// settings per target, which put a breaker on every action reaching it.
type Breakers struct {
	Default  BreakerPolicy            `yaml:"default"`
	Policies map[string]BreakerPolicy `yaml:"policies"`
	Targets  map[string]BreakerPolicy `yaml:"targets"`
}

// BreakerPolicy says when a breaker opens (ConsecutiveFailures in a row,
// or FailureRatio of at least MinRequests calls in an Interval) and how it
// recovers (after OpenTimeout, HalfOpenRequests probes must succeed).
type BreakerPolicy struct {
	ConsecutiveFailures int           `yaml:"consecutiveFailures"`
	FailureRatio        float64       `yaml:"failureRatio"`
	MinRequests         int           `yaml:"minRequests"`
	Interval            time.Duration `yaml:"interval"`
	OpenTimeout         time.Duration `yaml:"openTimeout"`
	HalfOpenRequests    int           `yaml:"halfOpenRequests"`
}

func (c *Config) setGuardDefaults() {
	q := &c.Quotas
	if q.RefreshInterval == 0 {
		q.RefreshInterval = DefaultQuotaRefreshInterval
	}
	if q.OnUnavailable == "" {
		q.OnUnavailable = DefaultQuotaOnUnavailable
	}
	if q.UnavailableWait == 0 {
		q.UnavailableWait = DefaultQuotaUnavailableWait
	}
	if q.KeyPrefix == "" {
		q.KeyPrefix = DefaultGuardKeyPrefix
	}
	d := &c.Breakers.Default
	if d.ConsecutiveFailures == 0 && d.FailureRatio == 0 {
		d.ConsecutiveFailures = DefaultBreakerFailures
	}
	if d.MinRequests == 0 {
		d.MinRequests = DefaultBreakerMinRequests
	}
	if d.Interval == 0 {
		d.Interval = DefaultBreakerInterval
	}
	if d.OpenTimeout == 0 {
		d.OpenTimeout = DefaultBreakerOpenTimeout
	}
	if d.HalfOpenRequests == 0 {
		d.HalfOpenRequests = DefaultBreakerHalfOpen
	}
}

func (c *Config) validateGuards(v *validator) {
	q := c.Quotas
	if q.RefreshInterval <= 0 {
		v.add("quotas.refreshInterval", "must be positive, got %s", q.RefreshInterval)
	}
	v.oneOf("quotas.onUnavailable", q.OnUnavailable, "open", "wait")
	if q.UnavailableWait <= 0 {
		v.add("quotas.unavailableWait", "must be positive, got %s", q.UnavailableWait)
	}
	for _, group := range []struct {
		name string
		m    map[string]QuotaLimit
	}{{"quotas.policies", q.Policies}, {"quotas.targets", q.Targets}} {
		for _, k := range sortedNames(group.m) {
			validateQuotaLimit(v, group.name+"."+k, group.m[k])
		}
	}
	validateBreakerPolicy(v, "breakers.default", c.Breakers.Default)
	for _, group := range []struct {
		name string
		m    map[string]BreakerPolicy
	}{{"breakers.policies", c.Breakers.Policies}, {"breakers.targets", c.Breakers.Targets}} {
		for _, k := range sortedNames(group.m) {
			validateBreakerPolicy(v, group.name+"."+k, group.m[k])
		}
	}
}

func validateQuotaLimit(v *validator, f string, l QuotaLimit) {
	nonNeg := func(k string, n int) {
		if n < 0 {
			v.add(f+"."+k, "must not be negative, got %d", n)
		}
	}
	nonNeg("rate", l.Rate)
	nonNeg("burst", l.Burst)
	nonNeg("daily", l.Daily)
	nonNeg("monthly", l.Monthly)
	if l.Period < 0 {
		v.add(f+".period", "must not be negative, got %s", l.Period)
	}
	if l.Rate == 0 && l.Daily == 0 && l.Monthly == 0 {
		v.add(f, "must set at least one of rate, daily, monthly")
	}
	if l.Rate > 0 && l.Period > 0 && l.Period/time.Duration(l.Rate) <= 0 {
		v.add(f+".rate", "more than one call per nanosecond")
	}
	if l.OnUnavailable != "" {
		v.oneOf(f+".onUnavailable", l.OnUnavailable, "open", "wait")
	}
}

func validateBreakerPolicy(v *validator, f string, b BreakerPolicy) {
	for _, e := range []struct {
		k string
		n int
	}{{"consecutiveFailures", b.ConsecutiveFailures}, {"minRequests", b.MinRequests}, {"halfOpenRequests", b.HalfOpenRequests}} {
		if e.n < 0 {
			v.add(fmt.Sprintf("%s.%s", f, e.k), "must not be negative, got %d", e.n)
		}
	}
	if b.FailureRatio < 0 || b.FailureRatio > 1 {
		v.add(f+".failureRatio", "must be in [0, 1], got %g", b.FailureRatio)
	}
	if b.Interval < 0 {
		v.add(f+".interval", "must not be negative, got %s", b.Interval)
	}
	if b.OpenTimeout < 0 {
		v.add(f+".openTimeout", "must not be negative, got %s", b.OpenTimeout)
	}
}

// sortedNames lists a named map's names in order, so that problems are
// reported in a stable order.
func sortedNames[V any](m map[string]V) []string { return slices.Sorted(maps.Keys(m)) }
