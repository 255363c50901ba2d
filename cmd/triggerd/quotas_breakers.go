package main

import (
	"context"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/triggerd/triggerd/activities"
	"github.com/triggerd/triggerd/api"
	"github.com/triggerd/triggerd/config"
	"github.com/triggerd/triggerd/fallbacks"
	"github.com/triggerd/triggerd/quotas"
	"github.com/triggerd/triggerd/run"
)

// guards are the quota and circuit-breaker decorators of the process's
// actions, and what the API exposes of them. With Redis configured every
// process shares their state there; without, it lives in the process.
type guards struct {
	quotas   *quotas.Quotas
	breakers *fallbacks.Breakers
	rdb      *redis.Client
}

func newGuards(cfg *config.Config, reg prometheus.Registerer, logger *slog.Logger) (*guards, error) {
	rc, err := newRedis(cfg.Redis)
	if err != nil {
		return nil, err
	}
	qm := newGuardMetrics(reg)
	prefix := cfg.Quotas.KeyPrefix
	var (
		limiter   quotas.Limiter
		overrides quotas.OverrideStore
		store     fallbacks.Store
		bover     fallbacks.OverrideStore
	)
	if rc != nil {
		limiter = quotas.NewRedisLimiter(rc, prefix+"quota:")
		overrides = quotas.NewRedisOverrides(rc, prefix+"quotas:")
		store = fallbacks.NewRedisStore(rc, prefix+"breaker:")
		bover = fallbacks.NewRedisOverrides(rc, prefix+"breakers:")
	} else {
		limiter, overrides, store = quotas.NewMemoryLimiter(), quotas.NewMemoryOverrides(), fallbacks.NewMemoryStore()
		bover = fallbacks.NewMemoryOverrides()
	}
	q := quotas.New(quotaConfig(cfg.Quotas), limiter, overrides, activities.Target,
		quotas.WithLogger(logger.With("component", "quotas")),
		quotas.WithRefresh(cfg.Quotas.RefreshInterval),
		quotas.WithUnavailableWait(cfg.Quotas.UnavailableWait),
		quotas.WithHooks(quotas.Hooks{
			Refused:     func(key string, wait time.Duration) { qm.refused.WithLabelValues(key).Inc() },
			Unavailable: func(key string, _ error) { qm.unavailable.WithLabelValues(key).Inc() },
		}))
	b := fallbacks.New(breakerConfig(cfg.Breakers), store, activities.Target,
		fallbacks.WithLogger(logger.With("component", "breakers")),
		fallbacks.WithOverrides(bover, cfg.Quotas.RefreshInterval),
		fallbacks.WithHooks(fallbacks.Hooks{
			StateChange: func(name, from, to string) { qm.transitions.WithLabelValues(name, from, to).Inc() },
			Rejected:    func(name string) { qm.rejected.WithLabelValues(name).Inc() },
		}))
	return &guards{quotas: q, breakers: b, rdb: rc}, nil
}

// middlewares decorate every action: the breaker outermost, so that an open
// breaker turns a call away before it draws on a quota.
func (g *guards) middlewares() []run.Middleware {
	return []run.Middleware{g.breakers.Middleware, g.quotas.Middleware}
}

// run keeps the quotas' and breakers' runtime overrides fresh until ctx
// is done.
func (g *guards) run(ctx context.Context) error {
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = g.breakers.Run(ctx)
	}()
	err := g.quotas.Run(ctx)
	<-done
	return err
}

// apiOptions adds the quota and breaker endpoints to o.
func (g *guards) apiOptions(o api.Options) api.Options {
	o.Quotas, o.Breakers = g.quotas, g.breakers
	return o
}

func (g *guards) close() {
	if g.rdb != nil {
		_ = g.rdb.Close()
	}
}

type guardMetrics struct {
	refused, unavailable, rejected *prometheus.CounterVec
	transitions                    *prometheus.CounterVec
}

func newGuardMetrics(reg prometheus.Registerer) *guardMetrics {
	m := &guardMetrics{
		refused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "triggerd_quota_refusals_total", Help: "Calls a quota delayed (each a durable wait of the run).",
		}, []string{"quota"}),
		unavailable: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "triggerd_quota_store_unavailable_total", Help: "Quota checks that could not reach Redis (then open or wait, per quota).",
		}, []string{"quota"}),
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "triggerd_breaker_rejections_total", Help: "Calls an open circuit breaker turned away (their fallbacks ran).",
		}, []string{"breaker"}),
		transitions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "triggerd_breaker_transitions_total", Help: "Circuit breaker state changes made by this process.",
		}, []string{"breaker", "from", "to"}),
	}
	reg.MustRegister(m.refused, m.unavailable, m.rejected, m.transitions)
	return m
}

func limitOf(l config.QuotaLimit) run.Limit {
	return run.Limit{Rate: l.Rate, Period: l.Period, Burst: l.Burst, Daily: int64(l.Daily),
		Monthly: int64(l.Monthly), OnUnavailable: l.OnUnavailable}
}

func quotaConfig(c config.Quotas) quotas.Config {
	out := quotas.Config{Policies: map[string]run.Limit{}, Targets: map[string]run.Limit{}, OnUnavailable: c.OnUnavailable}
	for k, l := range c.Policies { // copying only
		out.Policies[k] = limitOf(l)
	}
	for k, l := range c.Targets { // copying only
		out.Targets[k] = limitOf(l)
	}
	return out
}

func settingsOf(p config.BreakerPolicy) run.BreakerSettings {
	return run.BreakerSettings{ConsecutiveFailures: p.ConsecutiveFailures, FailureRatio: p.FailureRatio,
		MinRequests: p.MinRequests, Interval: p.Interval, OpenTimeout: p.OpenTimeout, HalfOpenRequests: p.HalfOpenRequests}
}

func breakerConfig(c config.Breakers) fallbacks.Config {
	out := fallbacks.Config{Default: settingsOf(c.Default), Policies: map[string]run.BreakerSettings{}, Targets: map[string]run.BreakerSettings{}}
	for k, p := range c.Policies { // copying only
		out.Policies[k] = settingsOf(p)
	}
	for k, p := range c.Targets { // copying only
		out.Targets[k] = settingsOf(p)
	}
	return out
}
