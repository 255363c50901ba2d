package fallbacks

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/sony/gobreaker/v2"
	"go.temporal.io/sdk/temporal"

	"github.com/triggerd/triggerd/internal/overrides"
	"github.com/triggerd/triggerd/run"
	"github.com/triggerd/triggerd/run/errtype"
)

// Defaults of a breaker's settings, used where config says nothing.
const (
	DefaultConsecutiveFailures = 5
	DefaultMinRequests         = 10
	DefaultInterval            = time.Minute
	DefaultOpenTimeout         = 30 * time.Second
	DefaultHalfOpenRequests    = 1
)

// TargetFunc names what a request reaches (see quotas.TargetFunc).
type TargetFunc func(req run.ActionRequest) string

// Hooks observe the breakers (metrics). Every field is optional.
type Hooks struct {
	// StateChange is called when this process moves a breaker.
	StateChange func(name, from, to string)
	// Rejected is called when an open breaker turns a call away.
	Rejected func(name string)
}

// Config is the static part of the breakers: defaults, named policies
// actions refer to, and settings per target (which put a breaker on every
// action reaching it).
type Config struct {
	Default  run.BreakerSettings
	Policies map[string]run.BreakerSettings
	Targets  map[string]run.BreakerSettings
}

// Breakers guards targets with circuit breakers whose state lives in a
// Store shared by every worker (gobreaker's distributed breaker).
type Breakers struct {
	cfg     Config
	store   Store
	live    *overrides.Live[run.BreakerSettings]
	refresh time.Duration
	target  TargetFunc
	log     *slog.Logger
	hooks   Hooks
	now     func() time.Time

	mu  sync.Mutex
	cbs map[string]*gobreaker.DistributedCircuitBreaker[any]
}

// Option configures Breakers.
type Option func(*Breakers)

// WithLogger sets the logger.
func WithLogger(l *slog.Logger) Option { return func(b *Breakers) { b.log = l } }

// WithHooks sets the hooks.
func WithHooks(h Hooks) Option { return func(b *Breakers) { b.hooks = h } }

// WithOverrides keeps runtime settings overrides in store (default: in
// the process), reread every refresh by Run.
func WithOverrides(store OverrideStore, refresh time.Duration) Option {
	return func(b *Breakers) { b.live, b.refresh = overrides.NewLive(store, "breaker"), refresh }
}

// WithClock sets the clock that decides when an open breaker's timeout
// has passed (default time.Now). Tests hold it still, so that a breaker
// stays open however slow the machine is, then set it to the breaker's
// OpenUntil to let a probe through, instead of sleeping out the timeout.
// OpenUntil itself is stamped by the wall clock when the breaker opens.
func WithClock(now func() time.Time) Option { return func(b *Breakers) { b.now = now } }

// New returns Breakers keeping state in store.
func New(cfg Config, store Store, target TargetFunc, opts ...Option) *Breakers {
	b := &Breakers{cfg: cfg, store: store, target: target, now: time.Now,
		cbs: map[string]*gobreaker.DistributedCircuitBreaker[any]{}}
	for _, o := range opts {
		o(b)
	}
	if b.log == nil {
		b.log = slog.New(slog.DiscardHandler)
	}
	if b.live == nil {
		b.live = overrides.NewLive(NewMemoryOverrides(), "breaker")
	}
	if b.refresh <= 0 {
		b.refresh = 2 * time.Second
	}
	if b.target == nil {
		b.target = func(run.ActionRequest) string { return "" }
	}
	return b
}

// IsFailure says whether err shows the target failing: a transient error
// (refused, reset, timed out, 5xx, broker unavailable...) or one without a
// type. A permanent error (a 4xx, an invalid config) means the target
// answered, so it counts as a success for the breaker.
func IsFailure(err error) bool {
	if err == nil {
		return false
	}
	var appErr *temporal.ApplicationError
	if !errors.As(err, &appErr) {
		return true
	}
	return slices.Contains(errtype.Retryable(), appErr.Type())
}

// excluded errors say nothing of the target: the call never reached it.
func excluded(err error) bool {
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) && (appErr.Type() == errtype.QuotaExceeded || appErr.Type() == errtype.BreakerOpen) {
		return true
	}
	return errors.Is(err, context.Canceled)
}

// withDefaults fills s's zero fields from d.
func withDefaults(s, d run.BreakerSettings) run.BreakerSettings {
	if s.ConsecutiveFailures == 0 && s.FailureRatio == 0 {
		s.ConsecutiveFailures, s.FailureRatio = d.ConsecutiveFailures, d.FailureRatio
	}
	if s.MinRequests == 0 {
		s.MinRequests = d.MinRequests
	}
	if s.Interval == 0 {
		s.Interval = d.Interval
	}
	if s.OpenTimeout == 0 {
		s.OpenTimeout = d.OpenTimeout
	}
	if s.HalfOpenRequests == 0 {
		s.HalfOpenRequests = d.HalfOpenRequests
	}
	return s
}

// BuiltinDefaults are the settings config defaults start from.
func BuiltinDefaults() run.BreakerSettings {
	return run.BreakerSettings{
		ConsecutiveFailures: DefaultConsecutiveFailures, MinRequests: DefaultMinRequests,
		Interval: DefaultInterval, OpenTimeout: DefaultOpenTimeout, HalfOpenRequests: DefaultHalfOpenRequests,
	}
}

// resolve returns the breaker guarding req and its settings: the action's
// breaker over its policy over its target's over the defaults. ok is false
// when no breaker guards req.
func (b *Breakers) resolve(req run.ActionRequest) (string, run.BreakerSettings, bool, error) {
	target := b.target(req)
	ts, hasTarget := b.cfg.Targets[target]
	var spec *run.BreakerSpec
	if req.Guard != nil {
		spec = req.Guard.Breaker
	}
	name := "target:" + target
	override, hasOverride := b.live.Get(name)
	if spec == nil && (!hasTarget || target == "") && (!hasOverride || target == "") {
		return "", run.BreakerSettings{}, false, nil
	}
	s := run.BreakerSettings{}
	if spec != nil {
		s = spec.BreakerSettings
		if spec.Policy != "" {
			p, ok := b.cfg.Policies[spec.Policy]
			if !ok {
				return "", s, false, temporal.NewNonRetryableApplicationError(
					fmt.Sprintf("breaker policy %q is not configured (breakers.policies)", spec.Policy), errtype.NotConfigured, nil)
			}
			s = withDefaults(s, p)
		}
		if spec.Scope == "action" || target == "" {
			name = "action:" + req.TriggerTag + "/" + req.ActionName
			override, hasOverride = b.live.Get(name)
		}
	}
	if hasOverride {
		// A runtime override wins over everything it sets.
		s = withDefaults(override.Value, s)
	}
	if hasTarget {
		s = withDefaults(s, ts)
	}
	s = withDefaults(withDefaults(s, b.cfg.Default), BuiltinDefaults())
	return name, s, true, nil
}

func (b *Breakers) breaker(name string, s run.BreakerSettings) (*gobreaker.DistributedCircuitBreaker[any], error) {
	id := fmt.Sprintf("%s|%+v", name, s)
	b.mu.Lock()
	defer b.mu.Unlock()
	if cb, ok := b.cbs[id]; ok {
		return cb, nil
	}
	cb, err := gobreaker.NewDistributedCircuitBreaker[any](b.store, gobreaker.Settings{
		Name:        name,
		MaxRequests: uint32(s.HalfOpenRequests),
		Interval:    s.Interval,
		Timeout:     s.OpenTimeout,
		ReadyToTrip: func(c gobreaker.Counts) bool {
			if s.ConsecutiveFailures > 0 && c.ConsecutiveFailures >= uint32(s.ConsecutiveFailures) {
				return true
			}
			return s.FailureRatio > 0 && c.Requests >= uint32(max(1, s.MinRequests)) &&
				float64(c.TotalFailures)/float64(c.Requests) >= s.FailureRatio
		},
		OnStateChange: func(name string, from, to gobreaker.State) {
			b.log.Warn("circuit breaker changed state", "breaker", name, "from", from.String(), "to", to.String())
			if b.hooks.StateChange != nil {
				b.hooks.StateChange(name, from.String(), to.String())
			}
		},
		IsSuccessful: func(err error) bool { return !IsFailure(err) },
		IsExcluded:   excluded,
	})
	if err != nil {
		return nil, fmt.Errorf("breaker %s: %w", name, err)
	}
	b.cbs[id] = cb
	return cb, nil
}

func (b *Breakers) shared(name string) (gobreaker.SharedState, error) {
	var st gobreaker.SharedState
	data, err := b.store.GetData(stateKeyPrefix + name)
	if err != nil || len(data) == 0 {
		return st, err
	}
	return st, json.Unmarshal(data, &st)
}

// Middleware is the breaker decorator. A closed breaker lets the call run
// and records its outcome in the shared state; an open one turns it away
// with a non-retryable errtype.BreakerOpen error saying when a probe will
// be let through (the workflow then runs the action's fallbacks); once the
// open timeout has passed, probes run one at a time under the breaker's
// lock until HalfOpenRequests of them succeed (closed) or one fails (open
// again). When the store cannot be reached the call goes ahead: a breaker
// protects targets, it must not become the outage.
func (b *Breakers) Middleware(next run.ActionFunc) run.ActionFunc {
	return func(ctx context.Context, req run.ActionRequest) (any, error) {
		name, s, ok, err := b.resolve(req)
		if err != nil {
			return nil, err
		}
		if !ok {
			return next(ctx, req)
		}
		// Read the state first: it fails fast when the store is down,
		// where gobreaker's locking would retry for seconds.
		st, err := b.shared(name)
		if err != nil {
			b.log.Warn("circuit breaker store unreachable; calling through", "breaker", name, "error", err)
			return next(ctx, req)
		}
		cb, err := b.breaker(name, s)
		if err != nil {
			b.log.Warn("circuit breaker store unreachable; calling through", "breaker", name, "error", err)
			return next(ctx, req)
		}
		now := b.now()
		if st.State == gobreaker.StateOpen {
			if now.Before(st.Expiry) {
				return nil, b.reject(name, st.Expiry.Sub(now), "open")
			}
			// The open timeout has passed by this clock: move the breaker
			// to half-open here, since gobreaker would decide by the wall
			// clock and an injected clock must be the one that counts.
			if err := b.halfOpen(name, now); err != nil {
				b.log.Warn("circuit breaker store unreachable; calling through", "breaker", name, "error", err)
				return next(ctx, req)
			}
		}
		if st.State == gobreaker.StateClosed {
			out, err := next(ctx, req)
			if s.FailureRatio == 0 && st.Counts.ConsecutiveFailures == 0 && !IsFailure(err) {
				// A success after successes changes nothing a
				// consecutive-failures breaker looks at: skip the locked
				// write, which keeps a healthy target's overhead at one
				// read.
				return out, err
			}
			// Record the outcome. A refusal here only means another worker
			// opened the breaker meanwhile; this call's result stands.
			_, _ = cb.Execute(func() (any, error) { return nil, err })
			return out, err
		}
		var out any
		called := false
		_, err = cb.Execute(func() (any, error) {
			called = true
			o, err := next(ctx, req)
			out = o
			return o, err
		})
		if !called {
			// Open again, or enough probes in flight, or the lock is busy
			// with a probe: come back shortly.
			return nil, b.reject(name, min(s.OpenTimeout, time.Second), "probing")
		}
		return out, err
	}
}

func (b *Breakers) reject(name string, wait time.Duration, why string) error {
	if b.hooks.Rejected != nil {
		b.hooks.Rejected(name)
	}
	return Rejection(name, wait, why)
}

// Rejection is the error of a call that breaker name turned away; a probe
// may go through after wait.
func Rejection(name string, wait time.Duration, why string) error {
	return temporal.NewApplicationErrorWithOptions(
		fmt.Sprintf("circuit breaker %s is %s: next probe in %s", name, why, wait.Round(time.Millisecond)),
		errtype.BreakerOpen, temporal.ApplicationErrorOptions{
			NonRetryable: true,
			// Benign: an expected refusal, logged by the SDK at debug level
			// rather than as an activity error.
			Category: temporal.ApplicationErrorCategoryBenign,
			Details:  []any{errtype.Deferral{Breaker: name, RetryAfter: wait, Reason: "breaker " + why}},
		})
}

// State is a breaker as the API shows it.
type State struct {
	Name  string `json:"name"`
	State string `json:"state"`
	// OpenUntil is when an open breaker lets the next probe through.
	OpenUntil           *time.Time `json:"openUntil,omitempty"`
	Generation          uint64     `json:"generation"`
	Requests            uint32     `json:"requests"`
	TotalFailures       uint32     `json:"totalFailures"`
	ConsecutiveFailures uint32     `json:"consecutiveFailures"`
}

// List returns every breaker's shared state, by name.
func (b *Breakers) List(ctx context.Context) ([]State, error) {
	raw, err := b.store.States(ctx)
	if err != nil {
		return nil, fmt.Errorf("list breakers: %w", err)
	}
	names := make([]string, 0, len(raw))
	for n := range raw {
		names = append(names, n)
	}
	sort.Strings(names)
	out := make([]State, 0, len(names))
	for _, n := range names {
		var st gobreaker.SharedState
		if err := json.Unmarshal(raw[n], &st); err != nil {
			return nil, fmt.Errorf("breaker %s: %w", n, err)
		}
		s := State{Name: n, State: st.State.String(), Generation: st.Generation, Requests: st.Counts.Requests,
			TotalFailures: st.Counts.TotalFailures, ConsecutiveFailures: st.Counts.ConsecutiveFailures}
		if st.State == gobreaker.StateOpen {
			t := st.Expiry.UTC()
			s.OpenUntil = &t
		}
		out = append(out, s)
	}
	return out, nil
}

// halfOpen moves breaker name from open to half-open once now is past its
// open timeout, for every process; another process may have moved it
// already, which the locked read sees.
func (b *Breakers) halfOpen(name string, now time.Time) error {
	return b.transition(name, func(st gobreaker.SharedState) bool {
		return st.State == gobreaker.StateOpen && !now.Before(st.Expiry)
	}, gobreaker.StateHalfOpen)
}

// transition moves breaker name to state to with fresh counts, under the
// breakers' lock, when the shared state satisfies when; a new generation
// makes every process drop the counts it held.
func (b *Breakers) transition(name string, when func(gobreaker.SharedState) bool, to gobreaker.State) error {
	mk := mutexKeyPrefix + name
	if err := b.store.Lock(mk); err != nil {
		return err
	}
	defer func() { _ = b.store.Unlock(mk) }()
	st, err := b.shared(name)
	if err != nil {
		return err
	}
	if !when(st) {
		return nil
	}
	from := st.State
	// One bucket: the breakers set no BucketPeriod, so gobreaker keeps a
	// single one and indexes it on every request.
	st = gobreaker.SharedState{State: to, Generation: st.Generation + 1, Start: b.now(),
		Buckets: make([]gobreaker.Counts, 1)}
	data, err := json.Marshal(st)
	if err != nil {
		return err
	}
	if err := b.store.SetData(stateKeyPrefix+name, data); err != nil {
		return err
	}
	b.log.Warn("circuit breaker changed state", "breaker", name, "from", from.String(), "to", to.String())
	if b.hooks.StateChange != nil && from != to {
		b.hooks.StateChange(name, from.String(), to.String())
	}
	return nil
}

// ErrNoBreaker is returned by Reset for a breaker that never ran.
var ErrNoBreaker = errors.New("no such breaker")

// Reset closes breaker name with fresh counts, for every process.
func (b *Breakers) Reset(_ context.Context, name string) (State, error) {
	var gen uint64
	missing := false
	err := b.transition(name, func(st gobreaker.SharedState) bool {
		missing = st.Generation == 0 && st.State == gobreaker.StateClosed && st.Start.IsZero()
		gen = st.Generation + 1
		return !missing
	}, gobreaker.StateClosed)
	if err != nil {
		return State{}, err
	}
	if missing {
		return State{}, fmt.Errorf("%w: %q", ErrNoBreaker, name)
	}
	return State{Name: name, State: gobreaker.StateClosed.String(), Generation: gen}, nil
}
