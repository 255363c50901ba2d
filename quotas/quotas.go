package quotas

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/triggerd/triggerd/internal/overrides"
	"github.com/triggerd/triggerd/run"
	"github.com/triggerd/triggerd/run/errtype"
)

// Defaults of Options.
const (
	DefaultRefresh     = 2 * time.Second
	DefaultUnavailable = 5 * time.Second
)

// TargetFunc names what a request reaches (an HTTP host, a topic, a queue,
// an SMTP relay...), "" when nothing worth limiting. It is passed in so that
// this package knows nothing of HTTP or brokers.
type TargetFunc func(req run.ActionRequest) string

// Hooks observe the decorator (metrics). Every field is optional.
type Hooks struct {
	// Refused is called when a quota turns a call away for wait.
	Refused func(key string, wait time.Duration)
	// Unavailable is called when the store could not be asked.
	Unavailable func(key string, err error)
}

// Config is the static part of the quotas: named policies that actions
// refer to, limits per target, and the default unavailability choice.
type Config struct {
	Policies      map[string]run.Limit
	Targets       map[string]run.Limit
	OnUnavailable string
}

// Quotas enforces quotas on actions. Build it with New; run Run to keep
// its view of the runtime overrides fresh.
type Quotas struct {
	cfg     Config
	limiter Limiter
	live    *overrides.Live[run.Limit]
	target  TargetFunc
	log     *slog.Logger
	hooks   Hooks
	refresh time.Duration
	unavail time.Duration
	spread  crowd
}

// Option configures Quotas.
type Option func(*Quotas)

// WithLogger sets the logger.
func WithLogger(l *slog.Logger) Option { return func(q *Quotas) { q.log = l } }

// WithHooks sets the hooks.
func WithHooks(h Hooks) Option { return func(q *Quotas) { q.hooks = h } }

// WithRefresh sets how often Run rereads the overrides (DefaultRefresh).
func WithRefresh(d time.Duration) Option { return func(q *Quotas) { q.refresh = d } }

// WithUnavailableWait sets how long a call waits when its quota's store
// is unreachable and the quota says wait (DefaultUnavailable).
func WithUnavailableWait(d time.Duration) Option { return func(q *Quotas) { q.unavail = d } }

// New returns Quotas drawing on limiter, with overrides from store. target
// may be nil (no per-target quotas).
func New(cfg Config, limiter Limiter, store OverrideStore, target TargetFunc, opts ...Option) *Quotas {
	q := &Quotas{cfg: cfg, limiter: limiter, live: overrides.NewLive(store, "quota"), target: target,
		refresh: DefaultRefresh, unavail: DefaultUnavailable}
	for _, o := range opts {
		o(q)
	}
	if q.log == nil {
		q.log = slog.New(slog.DiscardHandler)
	}
	if q.target == nil {
		q.target = func(run.ActionRequest) string { return "" }
	}
	return q
}

// Keys of the three kinds of budget.
func actionKey(tag, name string) string { return "action:" + tag + "/" + name }
func targetKey(t string) string         { return "target:" + t }
func sharedKey(n string) string         { return "shared:" + n }

// budget is one limit a call draws on.
type budget struct {
	key   string
	limit run.Limit
}

// budgets lists the limits req draws on, in key order: the action's quota
// (from its definition and the named policy), its target's configured
// limit, and any runtime override on those keys, which wins.
func (q *Quotas) budgets(req run.ActionRequest) ([]budget, error) {
	limits := map[string]run.Limit{}
	target := q.target(req)
	if target != "" {
		if l, ok := q.cfg.Targets[target]; ok {
			limits[targetKey(target)] = l
		}
	}
	akey := actionKey(req.TriggerTag, req.ActionName)
	keys := []string{akey}
	if target != "" {
		keys = append(keys, targetKey(target))
	}
	if req.Guard != nil && req.Guard.Quota != nil {
		spec := req.Guard.Quota
		l := spec.Limit
		if spec.Policy != "" {
			p, ok := q.cfg.Policies[spec.Policy]
			if !ok {
				return nil, temporal.NewNonRetryableApplicationError(
					fmt.Sprintf("quota policy %q is not configured (quotas.policies)", spec.Policy), errtype.NotConfigured, nil)
			}
			l = merge(p, l)
		}
		key := akey
		switch spec.Scope {
		case run.QuotaScopeTarget:
			if target == "" {
				return nil, temporal.NewNonRetryableApplicationError(
					"quota.scope target: the action has no target to limit", errtype.InvalidConfig, nil)
			}
			key = targetKey(target)
		case run.QuotaScopeShared:
			name := spec.Name
			if name == "" {
				name = spec.Policy
			}
			key = sharedKey(name)
			keys = append(keys, key)
		}
		limits[key] = l
	}
	for _, k := range keys {
		if o, ok := q.live.Get(k); ok {
			limits[k] = o.Value
		}
	}
	out := make([]budget, 0, len(limits))
	for _, k := range sortedKeys(limits) {
		if l := limits[k]; !l.IsZero() {
			out = append(out, budget{k, l})
		}
	}
	return out, nil
}

// merge returns base with the fields set in over replacing its own.
func merge(base, over run.Limit) run.Limit {
	if over.Rate > 0 {
		base.Rate = over.Rate
	}
	if over.Period > 0 {
		base.Period = over.Period
	}
	if over.Burst > 0 {
		base.Burst = over.Burst
	}
	if over.Daily > 0 {
		base.Daily = over.Daily
	}
	if over.Monthly > 0 {
		base.Monthly = over.Monthly
	}
	if over.OnUnavailable != "" {
		base.OnUnavailable = over.OnUnavailable
	}
	return base
}

// Middleware is the quota decorator: a call that a budget refuses fails
// with a non-retryable errtype.QuotaExceeded error whose errtype.Deferral
// says when to come back, which the workflow turns into a durable wait
// that spends none of the action's attempts.
func (q *Quotas) Middleware(next run.ActionFunc) run.ActionFunc {
	return func(ctx context.Context, req run.ActionRequest) (any, error) {
		bs, err := q.budgets(req)
		if err != nil {
			return nil, err
		}
		for _, b := range bs {
			wait, err := q.limiter.Allow(ctx, b.key, b.limit)
			if err != nil {
				if ctx.Err() != nil {
					return nil, err
				}
				if q.hooks.Unavailable != nil {
					q.hooks.Unavailable(b.key, err)
				}
				mode := b.limit.OnUnavailable
				if mode == "" {
					mode = q.cfg.OnUnavailable
				}
				q.log.Warn("quota store unreachable", "quota", b.key, "onUnavailable", mode, "error", err)
				if mode == run.OnUnavailableWait {
					return nil, Refusal(b.key, q.unavail, "quota store unreachable")
				}
				continue
			}
			if wait > 0 {
				// Every refused caller would otherwise come back at the
				// same instant and mostly be refused again: spread them.
				wait += q.spread.jitter(b.key, b.limit, time.Now())
				if q.hooks.Refused != nil {
					q.hooks.Refused(b.key, wait)
				}
				return nil, Refusal(b.key, wait, "")
			}
		}
		return next(ctx, req)
	}
}

// crowd estimates, per budget, how many callers this process turned away
// in the last period, to spread their returns over the time the budget
// needs to serve them: N waiters on a budget of R per period come back
// spread over about N/R periods, so each is refused about once instead of
// every waiter coming back every period. (On 50 runs at 5/s a plain
// one-period jitter meant about 2 refused calls per run.)
type crowd struct {
	mu   sync.Mutex
	seen map[string]*crowdCount
}

type crowdCount struct {
	start     time.Time
	cur, prev int
}

// maxSpreadPeriods caps the spread, so that a refused caller never waits
// more than this many periods beyond its retry-after.
const maxSpreadPeriods = 60

func (c *crowd) jitter(key string, l run.Limit, now time.Time) time.Duration {
	if l.Rate <= 0 {
		return 0
	}
	rl := rateOf(l)
	c.mu.Lock()
	if c.seen == nil {
		c.seen = map[string]*crowdCount{}
	}
	n, ok := c.seen[key]
	if !ok {
		n = &crowdCount{start: now}
		c.seen[key] = n
	}
	if el := now.Sub(n.start); el >= rl.Period {
		n.prev, n.cur, n.start = n.cur, 0, now
		if el >= 2*rl.Period {
			n.prev = 0
		}
	}
	n.cur++
	waiting := max(n.cur, n.prev)
	c.mu.Unlock()
	periods := min(max(1, (waiting+rl.Rate-1)/rl.Rate), maxSpreadPeriods)
	span := min(rl.Period*time.Duration(periods), maxSpreadPeriods*time.Second)
	return rand.N(span) //nolint:gosec // spreading retries needs no crypto
}

// Refusal is the error of a call that quota key turned away for wait.
func Refusal(key string, wait time.Duration, reason string) error {
	msg := fmt.Sprintf("quota %s exceeded: retry in %s", key, wait.Round(time.Millisecond))
	if reason != "" {
		msg = fmt.Sprintf("quota %s: %s: retry in %s", key, reason, wait.Round(time.Millisecond))
	}
	return temporal.NewApplicationErrorWithOptions(msg, errtype.QuotaExceeded, temporal.ApplicationErrorOptions{
		NonRetryable: true,
		// Benign: an expected refusal, logged by the SDK at debug level
		// rather than as an activity error.
		Category: temporal.ApplicationErrorCategoryBenign,
		Details:  []any{errtype.Deferral{Quota: key, RetryAfter: wait, Reason: reason}},
	})
}

// Refresh rereads the overrides now.
func (q *Quotas) Refresh(ctx context.Context) error { return q.live.Refresh(ctx) }

// Applied returns the overrides this process applies now (the last ones
// read), by key.
func (q *Quotas) Applied() map[string]Override { return q.live.Applied() }

// Run rereads the overrides every refresh interval until ctx is done, so
// that a change made through any process reaches this one within that
// interval. A failed read keeps the last overrides and is logged.
func (q *Quotas) Run(ctx context.Context) error { return q.live.Run(ctx, q.refresh, q.log) }

// Set records an override of key by actor (nil limit removes it) and
// applies it to this process at once; the others follow within their
// refresh interval.
func (q *Quotas) Set(ctx context.Context, key string, l *run.Limit, actor string) (Override, error) {
	if err := ValidKey(key); err != nil {
		return Override{}, err
	}
	o := Override{Key: key, Actor: actor, At: time.Now().UTC(), Removed: l == nil}
	if l != nil {
		if err := ValidLimit(*l); err != nil {
			return Override{}, err
		}
		o.Value = *l
	}
	return o, q.live.Set(ctx, o)
}

// Changes returns the latest override changes, newest first.
func (q *Quotas) Changes(ctx context.Context, n int) ([]Override, error) {
	return q.live.Store().Changes(ctx, n)
}

// Configured describes one quota as config and overrides define it.
type Configured struct {
	Key      string    `json:"key"`
	Limit    run.Limit `json:"limit"`
	Source   string    `json:"source"` // config or override
	Override *Override `json:"override,omitempty"`
}

// List returns the configured quotas (targets and named policies) and the
// overrides, by key.
func (q *Quotas) List(ctx context.Context) ([]Configured, error) {
	ov, err := q.live.Store().Current(ctx)
	if err != nil {
		return nil, err
	}
	all := map[string]Configured{}
	for k, l := range q.cfg.Targets { // collected, then sorted
		all[targetKey(k)] = Configured{Key: targetKey(k), Limit: l, Source: "config"}
	}
	for k, l := range q.cfg.Policies { // collected, then sorted
		all["policy:"+k] = Configured{Key: "policy:" + k, Limit: l, Source: "config"}
	}
	for k, o := range ov { // collected, then sorted
		o := o
		all[k] = Configured{Key: k, Limit: o.Value, Source: "override", Override: &o}
	}
	out := make([]Configured, 0, len(all))
	for _, k := range sortedKeys(all) {
		out = append(out, all[k])
	}
	return out, nil
}

// ErrInvalid marks an invalid key or limit given to Set.
var ErrInvalid = errors.New("invalid quota")

// ValidKey checks that key names a budget: action:<tag>/<name>,
// target:<target> or shared:<name>.
func ValidKey(key string) error {
	for _, p := range []string{"action:", "target:", "shared:"} {
		if len(key) > len(p) && key[:len(p)] == p {
			return nil
		}
	}
	return fmt.Errorf("%w: key %q: want action:<tag>/<name>, target:<target> or shared:<name>", ErrInvalid, key)
}

// ValidLimit checks l's fields, naming each bad one.
func ValidLimit(l run.Limit) error {
	var probs []error
	if l.Rate < 0 {
		probs = append(probs, errors.New("rate: must not be negative"))
	}
	if l.Period < 0 {
		probs = append(probs, errors.New("period: must not be negative"))
	}
	if l.Burst < 0 {
		probs = append(probs, errors.New("burst: must not be negative"))
	}
	if l.Rate > 0 && l.Period > 0 && l.Period/time.Duration(l.Rate) <= 0 {
		probs = append(probs, errors.New("rate: more than one call per nanosecond"))
	}
	if l.Daily < 0 {
		probs = append(probs, errors.New("daily: must not be negative"))
	}
	if l.Monthly < 0 {
		probs = append(probs, errors.New("monthly: must not be negative"))
	}
	switch l.OnUnavailable {
	case "", run.OnUnavailableOpen, run.OnUnavailableWait:
	default:
		probs = append(probs, fmt.Errorf("onUnavailable: must be open or wait, got %q", l.OnUnavailable))
	}
	if len(probs) > 0 {
		return fmt.Errorf("%w: %w", ErrInvalid, errors.Join(probs...))
	}
	return nil
}
