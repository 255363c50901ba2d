package quotas

import (
	"context"
	"errors"
	"fmt"
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

// limiterConformance is what every Limiter must do, in memory or in Redis.
func limiterConformance(t *testing.T, l Limiter, now func() time.Time) {
	ctx := context.Background()
	t.Run("burst then refuse", func(t *testing.T) {
		key := "conf:burst:" + t.Name()
		lim := run.Limit{Rate: 5, Period: time.Hour, Burst: 3}
		for i := range 3 {
			wait, err := l.Allow(ctx, key, lim)
			require.NoError(t, err)
			require.Zero(t, wait, "call %d is within the burst", i+1)
		}
		wait, err := l.Allow(ctx, key, lim)
		require.NoError(t, err)
		assert.Greater(t, wait, 11*time.Minute, "the 4th call waits for one emission interval (12m)")
		assert.LessOrEqual(t, wait, 12*time.Minute)
	})
	t.Run("daily cap", func(t *testing.T) {
		key := "conf:daily:" + t.Name()
		lim := run.Limit{Daily: 2}
		for range 2 {
			wait, err := l.Allow(ctx, key, lim)
			require.NoError(t, err)
			require.Zero(t, wait)
		}
		for range 2 { // a refusal does not count against the cap
			wait, err := l.Allow(ctx, key, lim)
			require.NoError(t, err)
			n := now().UTC()
			end := time.Date(n.Year(), n.Month(), n.Day()+1, 0, 0, 0, 0, time.UTC)
			assert.InDelta(t, end.Sub(n).Seconds(), wait.Seconds(), 5, "refused until the end of the UTC day")
		}
	})
	t.Run("keys are independent", func(t *testing.T) {
		lim := run.Limit{Rate: 1, Period: time.Hour, Burst: 1}
		for _, k := range []string{"a", "b"} {
			wait, err := l.Allow(ctx, "conf:indep:"+t.Name()+k, lim)
			require.NoError(t, err)
			require.Zero(t, wait)
		}
	})
}

func TestMemoryLimiter(t *testing.T) {
	limiterConformance(t, NewMemoryLimiter(), time.Now)
}

func newTestRedis(t *testing.T) *redis.Client {
	rc := redis.NewClient(&redis.Options{Addr: testenv.RedisAddr(t)})
	t.Cleanup(func() { _ = rc.Close() })
	return rc
}

func TestRedisLimiter(t *testing.T) {
	rc := newTestRedis(t)
	prefix := fmt.Sprintf("test:%s:%d:", t.Name(), time.Now().UnixNano())
	limiterConformance(t, NewRedisLimiter(rc, prefix), time.Now)
}

func TestRedisUnreachable(t *testing.T) {
	rc := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1, DialTimeout: 100 * time.Millisecond})
	defer rc.Close()
	calls := 0
	next := func(context.Context, run.ActionRequest) (any, error) { calls++; return "ok", nil }
	var unavailable []string
	q := New(Config{OnUnavailable: run.OnUnavailableOpen}, NewRedisLimiter(rc, "x:"), NewMemoryOverrides(), nil,
		WithHooks(Hooks{Unavailable: func(k string, _ error) { unavailable = append(unavailable, k) }}))
	open := run.ActionRequest{TriggerTag: "t", ActionName: "a", Guard: &run.Guard{Quota: &run.QuotaSpec{Limit: run.Limit{Rate: 1}}}}
	out, err := q.Middleware(next)(context.Background(), open)
	require.NoError(t, err, "open: the call goes ahead")
	assert.Equal(t, "ok", out)

	wait := open
	wait.Guard = &run.Guard{Quota: &run.QuotaSpec{Limit: run.Limit{Rate: 1, OnUnavailable: run.OnUnavailableWait}}}
	_, err = q.Middleware(next)(context.Background(), wait)
	d := requireRefusal(t, err)
	assert.Equal(t, DefaultUnavailable, d.RetryAfter)
	assert.Equal(t, 1, calls)
	assert.Equal(t, []string{"action:t/a", "action:t/a"}, unavailable)
}

func requireRefusal(t *testing.T, err error) errtype.Deferral {
	t.Helper()
	var appErr *temporal.ApplicationError
	require.True(t, errors.As(err, &appErr), "want an application error, got %v", err)
	require.Equal(t, errtype.QuotaExceeded, appErr.Type())
	require.True(t, appErr.NonRetryable(), "a refusal must not spend retry attempts")
	var d errtype.Deferral
	require.NoError(t, appErr.Details(&d))
	return d
}

func TestMiddlewareBudgetsAndOverrides(t *testing.T) {
	ctx := context.Background()
	calls := 0
	next := func(context.Context, run.ActionRequest) (any, error) { calls++; return nil, nil }
	target := func(req run.ActionRequest) string { s, _ := req.Config["host"].(string); return s }
	q := New(Config{
		Policies: map[string]run.Limit{"partner": {Rate: 1, Period: time.Hour}},
		Targets:  map[string]run.Limit{"busy.example": {Rate: 2, Period: time.Hour}},
	}, NewMemoryLimiter(), NewMemoryOverrides(), target)
	mw := q.Middleware(next)

	// A target limit applies to every action reaching it.
	for i, name := range []string{"a", "b", "c"} {
		_, err := mw(ctx, run.ActionRequest{TriggerTag: "t", ActionName: name, Config: map[string]any{"host": "busy.example"}})
		if i < 2 {
			require.NoError(t, err)
			continue
		}
		assert.Equal(t, "target:busy.example", requireRefusal(t, err).Quota)
	}

	// A shared quota named by policy is drawn on by every action naming it.
	shared := &run.Guard{Quota: &run.QuotaSpec{Policy: "partner", Scope: run.QuotaScopeShared}}
	_, err := mw(ctx, run.ActionRequest{TriggerTag: "t1", ActionName: "x", Guard: shared})
	require.NoError(t, err)
	_, err = mw(ctx, run.ActionRequest{TriggerTag: "t2", ActionName: "y", Guard: shared})
	assert.Equal(t, "shared:partner", requireRefusal(t, err).Quota)

	// An unknown policy is a configuration error, not a wait.
	_, err = mw(ctx, run.ActionRequest{TriggerTag: "t", ActionName: "z", Guard: &run.Guard{Quota: &run.QuotaSpec{Policy: "nope"}}})
	var appErr *temporal.ApplicationError
	require.ErrorAs(t, err, &appErr)
	assert.Equal(t, errtype.NotConfigured, appErr.Type())

	// An override on a key nobody configured limits it at once.
	_, err = q.Set(ctx, "action:t/free", &run.Limit{Rate: 1, Period: time.Hour}, "ops")
	require.NoError(t, err)
	_, err = mw(ctx, run.ActionRequest{TriggerTag: "t", ActionName: "free"})
	require.NoError(t, err)
	_, err = mw(ctx, run.ActionRequest{TriggerTag: "t", ActionName: "free"})
	assert.Equal(t, "action:t/free", requireRefusal(t, err).Quota)
	// ... and removing it lifts the limit.
	_, err = q.Set(ctx, "action:t/free", nil, "ops")
	require.NoError(t, err)
	_, err = mw(ctx, run.ActionRequest{TriggerTag: "t", ActionName: "free"})
	require.NoError(t, err)

	changes, err := q.Changes(ctx, 10)
	require.NoError(t, err)
	require.Len(t, changes, 2)
	assert.True(t, changes[0].Removed, "newest first")
	assert.Equal(t, "ops", changes[1].Actor)

	_, err = q.Set(ctx, "bogus", &run.Limit{Rate: 1}, "ops")
	assert.ErrorIs(t, err, ErrInvalid)
	_, err = q.Set(ctx, "target:x", &run.Limit{Rate: -1, OnUnavailable: "maybe"}, "ops")
	assert.ErrorContains(t, err, "rate: must not be negative")
	assert.ErrorContains(t, err, "onUnavailable: must be open or wait")
}

// A new day starts a new count, in memory as in Redis.
func TestMemoryCapsRollOver(t *testing.T) {
	l := NewMemoryLimiter()
	day := time.Date(2026, 3, 31, 23, 59, 0, 0, time.UTC)
	l.now = func() time.Time { return day }
	lim := run.Limit{Daily: 1, Monthly: 2}
	ctx := context.Background()
	wait, err := l.Allow(ctx, "k", lim)
	require.NoError(t, err)
	require.Zero(t, wait)
	wait, _ = l.Allow(ctx, "k", lim)
	assert.Equal(t, time.Minute, wait, "refused until midnight")
	day = day.Add(2 * time.Minute) // April 1st: new day, new month
	wait, _ = l.Allow(ctx, "k", lim)
	assert.Zero(t, wait)
	wait, _ = l.Allow(ctx, "k", lim)
	assert.Equal(t, 24*time.Hour-time.Minute, wait)
	assert.Len(t, l.caps, 2, "one count per cap kind, whatever the number of days")
}

// Refused callers are spread over the time the budget needs to serve
// them, never beyond the cap.
func TestCrowdSpread(t *testing.T) {
	var c crowd
	now := time.Now()
	lim := run.Limit{Rate: 5, Period: time.Second}
	assert.Less(t, c.jitter("k", lim, now), time.Second, "one waiter: within a period")
	for i := 2; i <= 50; i++ {
		j := c.jitter("k", lim, now)
		periods := (i + 4) / 5
		assert.Less(t, j, time.Duration(periods)*time.Second, "waiter %d", i)
	}
	// The next period starts from what the last one saw.
	assert.Less(t, c.jitter("k", lim, now.Add(1100*time.Millisecond)), 10*time.Second)
	// Past two quiet periods the crowd is forgotten.
	assert.Less(t, c.jitter("k", lim, now.Add(5*time.Second)), time.Second)
	var big crowd
	for range 10000 {
		assert.LessOrEqual(t, big.jitter("b", run.Limit{Rate: 1, Period: time.Minute}, now), maxSpreadPeriods*time.Second)
	}
}
