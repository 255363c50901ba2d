package quotas

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/go-redis/redis_rate/v10"
	"github.com/redis/go-redis/v9"

	"github.com/triggerd/triggerd/run"
)

// Limiter draws one call from the budget key limited by l. It returns 0
// when the call may go ahead, else how long to wait before asking again.
// An error means the budget's store could not be asked.
type Limiter interface {
	Allow(ctx context.Context, key string, l run.Limit) (time.Duration, error)
}

// rateOf is l's rate as redis_rate wants it: a burst of at least one, and
// by default as large as the rate (redis_rate.PerSecond's choice).
func rateOf(l run.Limit) redis_rate.Limit {
	period := l.Period
	if period <= 0 {
		period = time.Second
	}
	burst := l.Burst
	if burst <= 0 {
		burst = l.Rate
	}
	return redis_rate.Limit{Rate: l.Rate, Period: period, Burst: burst}
}

// window is the calendar window a cap counts in: its id (part of the
// counter's key) and when it ends.
func window(now time.Time, monthly bool) (string, time.Time) {
	now = now.UTC()
	if monthly {
		start := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, time.UTC)
		return start.Format("2006-01"), start.AddDate(0, 1, 0)
	}
	start := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)
	return start.Format("2006-01-02"), start.AddDate(0, 0, 1)
}

type capWindow struct {
	max     int64
	monthly bool
}

func capsOf(l run.Limit) []capWindow {
	var cs []capWindow
	if l.Daily > 0 {
		cs = append(cs, capWindow{l.Daily, false})
	}
	if l.Monthly > 0 {
		cs = append(cs, capWindow{l.Monthly, true})
	}
	return cs
}

// RedisLimiter keeps budgets in Redis, so that every process connected to
// it draws on the same ones: rates with redis_rate's GCRA (one script call),
// calendar caps with fixed-window counters (one pipelined round trip).
type RedisLimiter struct {
	rdb    redis.UniversalClient
	rate   *redis_rate.Limiter
	prefix string
	now    func() time.Time
}

// NewRedisLimiter returns a limiter over rdb whose keys start with prefix.
func NewRedisLimiter(rdb redis.UniversalClient, prefix string) *RedisLimiter {
	return &RedisLimiter{rdb: rdb, rate: redis_rate.NewLimiter(rdb), prefix: prefix, now: time.Now}
}

// Allow implements Limiter.
func (r *RedisLimiter) Allow(ctx context.Context, key string, l run.Limit) (time.Duration, error) {
	if l.Rate > 0 {
		res, err := r.rate.Allow(ctx, r.prefix+key, rateOf(l))
		if err != nil {
			return 0, fmt.Errorf("quota %s: %w", key, err)
		}
		if res.Allowed == 0 {
			return res.RetryAfter, nil
		}
	}
	caps := capsOf(l)
	if len(caps) == 0 {
		return 0, nil
	}
	now := r.now()
	pipe := r.rdb.Pipeline()
	incrs := make([]*redis.IntCmd, len(caps))
	ends := make([]time.Time, len(caps))
	keys := make([]string, len(caps))
	for i, c := range caps {
		id, end := window(now, c.monthly)
		keys[i] = r.prefix + "cap:" + key + ":" + id
		ends[i] = end
		incrs[i] = pipe.Incr(ctx, keys[i])
		// A day longer than the window, so that clock skew between
		// processes never drops a live counter.
		pipe.ExpireAt(ctx, keys[i], end.Add(24*time.Hour))
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return 0, fmt.Errorf("quota %s: %w", key, err)
	}
	var wait time.Duration
	for i, c := range caps {
		if incrs[i].Val() > c.max {
			wait = max(wait, ends[i].Sub(now))
		}
	}
	if wait > 0 {
		// A refused call must not count: give back what this one took.
		pipe := r.rdb.Pipeline()
		for _, k := range keys {
			pipe.Decr(ctx, k)
		}
		if _, err := pipe.Exec(ctx); err != nil {
			return 0, fmt.Errorf("quota %s: %w", key, err)
		}
	}
	return wait, nil
}

// MemoryLimiter keeps budgets in the process, with the same semantics as
// RedisLimiter (GCRA rates, calendar caps). It serves `triggerd dev` and
// configurations without Redis, where one process is all there is.
type MemoryLimiter struct {
	mu  sync.Mutex
	tat map[string]time.Time
	// caps counts calls per key and cap kind in the current window only:
	// a new window replaces the old count, so the map never grows with
	// time.
	caps map[string]windowCount
	now  func() time.Time
}

type windowCount struct {
	window string
	n      int64
}

// NewMemoryLimiter returns an empty in-process limiter.
func NewMemoryLimiter() *MemoryLimiter {
	return &MemoryLimiter{tat: map[string]time.Time{}, caps: map[string]windowCount{}, now: time.Now}
}

// Allow implements Limiter.
func (m *MemoryLimiter) Allow(_ context.Context, key string, l run.Limit) (time.Duration, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	newTat := time.Time{}
	if l.Rate > 0 {
		// GCRA, as redis_rate computes it: each call pushes the
		// theoretical arrival time by one emission interval; a call is
		// allowed while that time is at most burst intervals ahead.
		rl := rateOf(l)
		emission := rl.Period / time.Duration(rl.Rate)
		tat := m.tat[key]
		if tat.Before(now) {
			tat = now
		}
		newTat = tat.Add(emission)
		allowAt := newTat.Add(-emission * time.Duration(rl.Burst))
		if now.Before(allowAt) {
			return allowAt.Sub(now), nil
		}
	}
	var wait time.Duration
	caps := capsOf(l)
	counts := make([]windowCount, len(caps))
	keys := make([]string, len(caps))
	for i, c := range caps {
		id, end := window(now, c.monthly)
		keys[i] = fmt.Sprintf("%s:%t", key, c.monthly)
		counts[i] = m.caps[keys[i]]
		if counts[i].window != id {
			counts[i] = windowCount{window: id}
		}
		if counts[i].n >= c.max {
			wait = max(wait, end.Sub(now))
		}
	}
	if wait > 0 {
		return wait, nil
	}
	for i, k := range keys {
		counts[i].n++
		m.caps[k] = counts[i]
	}
	if l.Rate > 0 {
		m.tat[key] = newTat
	}
	return 0, nil
}
