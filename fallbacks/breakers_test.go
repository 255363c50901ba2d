package fallbacks

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"

	"github.com/triggerd/triggerd/internal/testenv"
	"github.com/triggerd/triggerd/run"
	"github.com/triggerd/triggerd/run/errtype"
)

var errDown = temporal.NewApplicationError("HTTP 500", errtype.HTTP5xx)

func target(req run.ActionRequest) string { s, _ := req.Config["host"].(string); return s }

func req(host string) run.ActionRequest {
	return run.ActionRequest{TriggerTag: "t", ActionName: "a", Config: map[string]any{"host": host}}
}

func rejection(t *testing.T, err error) errtype.Deferral {
	t.Helper()
	var appErr *temporal.ApplicationError
	require.True(t, errors.As(err, &appErr), "want an application error, got %v", err)
	require.Equal(t, errtype.BreakerOpen, appErr.Type(), "got %v", err)
	require.True(t, appErr.NonRetryable())
	var d errtype.Deferral
	require.NoError(t, appErr.Details(&d))
	return d
}

// fakeClock is a clock the test moves forward (WithClock).
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

// breakerConformance runs one breaker's life on two Breakers sharing
// store (two workers): failures through one open it for both, a probe
// through the other closes it.
func breakerConformance(t *testing.T, newStore func() Store) {
	ctx := context.Background()
	cfg := Config{Targets: map[string]run.BreakerSettings{
		"flaky": {ConsecutiveFailures: 3, OpenTimeout: time.Hour, HalfOpenRequests: 1},
	}}
	store := newStore()
	var changes []string
	hooks := WithHooks(Hooks{StateChange: func(name, from, to string) { changes = append(changes, from+">"+to) }})
	// The open timeout passes when the test says so, not when a loaded
	// machine happens to be slow between two calls.
	clock := &fakeClock{now: time.Now()}
	w1 := New(cfg, store, target, hooks, WithClock(clock.Now))
	w2 := New(cfg, store, target, hooks, WithClock(clock.Now))
	up := false
	calls := 0
	next := func(context.Context, run.ActionRequest) (any, error) {
		calls++
		if up {
			return "ok", nil
		}
		return nil, errDown
	}
	for range 3 {
		_, err := w1.Middleware(next)(ctx, req("flaky"))
		require.ErrorIs(t, err, errDown)
	}
	_, err := w2.Middleware(next)(ctx, req("flaky"))
	d := rejection(t, err)
	assert.Equal(t, "target:flaky", d.Breaker)
	assert.Positive(t, d.RetryAfter)
	assert.Equal(t, 3, calls, "an open breaker does not call the target")

	// A 4xx is the target answering: it never opens a breaker.
	_, err = w1.Middleware(func(context.Context, run.ActionRequest) (any, error) {
		return nil, temporal.NewNonRetryableApplicationError("HTTP 404", errtype.HTTP4xx, nil)
	})(ctx, req("other"))
	require.Error(t, err)

	list, err := w1.List(ctx)
	require.NoError(t, err)
	require.Len(t, list, 1)
	assert.Equal(t, "open", list[0].State)
	assert.NotNil(t, list[0].OpenUntil)

	clock.Set(*list[0].OpenUntil) // the open timeout has passed
	up = true
	out, err := w2.Middleware(next)(ctx, req("flaky"))
	require.NoError(t, err, "after the open timeout a probe goes through")
	assert.Equal(t, "ok", out)
	list, err = w1.List(ctx)
	require.NoError(t, err)
	assert.Equal(t, "closed", list[0].State, "one successful probe closes it")
	assert.Equal(t, []string{"closed>open", "open>half-open", "half-open>closed"}, changes)

	// Reset closes an open breaker for everyone.
	up = false
	for range 3 {
		_, _ = w1.Middleware(next)(ctx, req("flaky"))
	}
	_, err = w2.Middleware(next)(ctx, req("flaky"))
	rejection(t, err)
	st, err := w2.Reset(ctx, "target:flaky")
	require.NoError(t, err)
	assert.Equal(t, "closed", st.State)
	up = true
	_, err = w1.Middleware(next)(ctx, req("flaky"))
	require.NoError(t, err)
	_, err = w1.Reset(ctx, "target:never")
	assert.ErrorIs(t, err, ErrNoBreaker)
}

func TestBreakerMemory(t *testing.T) {
	breakerConformance(t, func() Store { return NewMemoryStore() })
}

func TestBreakerRedis(t *testing.T) {
	rc := redis.NewClient(&redis.Options{Addr: testenv.RedisAddr(t)})
	defer rc.Close()
	prefix := fmt.Sprintf("test:%s:%d:", t.Name(), time.Now().UnixNano())
	breakerConformance(t, func() Store { return NewRedisStore(rc, prefix) })
}

func TestNoBreakerWithoutSettings(t *testing.T) {
	b := New(Config{}, NewMemoryStore(), target)
	for range 10 {
		_, err := b.Middleware(func(context.Context, run.ActionRequest) (any, error) { return nil, errDown })(context.Background(), req("x"))
		require.ErrorIs(t, err, errDown, "no breaker is configured for x: every call goes through")
	}
	_, err := b.Middleware(func(context.Context, run.ActionRequest) (any, error) { return nil, nil })(context.Background(),
		run.ActionRequest{Guard: &run.Guard{Breaker: &run.BreakerSpec{Policy: "missing"}}})
	var appErr *temporal.ApplicationError
	require.ErrorAs(t, err, &appErr)
	assert.Equal(t, errtype.NotConfigured, appErr.Type())
}

func TestFailureRatio(t *testing.T) {
	b := New(Config{Default: run.BreakerSettings{FailureRatio: 0.5, MinRequests: 4, OpenTimeout: time.Hour}},
		NewMemoryStore(), target)
	r := req("h")
	r.Guard = &run.Guard{Breaker: &run.BreakerSpec{}}
	ok := func(context.Context, run.ActionRequest) (any, error) { return nil, nil }
	bad := func(context.Context, run.ActionRequest) (any, error) { return nil, errDown }
	ctx := context.Background()
	for _, f := range []run.ActionFunc{ok, bad, ok} {
		_, _ = b.Middleware(f)(ctx, r)
	}
	_, err := b.Middleware(ok)(ctx, r)
	require.NoError(t, err, "1 failure in 3: closed")
	_, _ = b.Middleware(bad)(ctx, r)
	_, _ = b.Middleware(bad)(ctx, r) // 3 of 6 failed, minimum reached
	_, err = b.Middleware(ok)(ctx, r)
	rejection(t, err)
}

// An override changes a running breaker's settings, and on a target
// nothing configured it puts a breaker there.
func TestBreakerOverrides(t *testing.T) {
	ctx := context.Background()
	b := New(Config{}, NewMemoryStore(), target)
	bad := func(context.Context, run.ActionRequest) (any, error) { return nil, errDown }
	_, err := b.Set(ctx, "target:h", &run.BreakerSettings{ConsecutiveFailures: 2, OpenTimeout: time.Hour}, "ops")
	require.NoError(t, err)
	for range 2 {
		_, err := b.Middleware(bad)(ctx, req("h"))
		require.ErrorIs(t, err, errDown)
	}
	_, err = b.Middleware(bad)(ctx, req("h"))
	rejection(t, err)

	_, err = b.Set(ctx, "h", &run.BreakerSettings{}, "ops")
	require.ErrorIs(t, err, ErrInvalid)
	_, err = b.Set(ctx, "target:h", &run.BreakerSettings{FailureRatio: 3}, "ops")
	require.ErrorContains(t, err, "failureRatio")

	_, err = b.Set(ctx, "target:h", nil, "ops")
	require.NoError(t, err)
	ch, err := b.Changes(ctx, 10)
	require.NoError(t, err)
	require.Len(t, ch, 2)
	assert.True(t, ch[0].Removed)
	// Without the override nothing configures a breaker on h any more.
	_, err = b.Middleware(bad)(ctx, req("h"))
	require.ErrorIs(t, err, errDown)
}

// With Redis configured but down, calls go through (a breaker must not
// become the outage), without waiting on gobreaker's lock retries.
func TestBreakerStoreUnreachableCallsThrough(t *testing.T) {
	rc := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1, DialTimeout: 50 * time.Millisecond})
	defer rc.Close()
	b := New(Config{Targets: map[string]run.BreakerSettings{"h": {ConsecutiveFailures: 1}}}, NewRedisStore(rc, "x:"), target)
	calls := 0
	for range 3 {
		out, err := b.Middleware(func(context.Context, run.ActionRequest) (any, error) { calls++; return "ok", nil })(context.Background(), req("h"))
		require.NoError(t, err)
		assert.Equal(t, "ok", out)
	}
	assert.Equal(t, 3, calls)
}
