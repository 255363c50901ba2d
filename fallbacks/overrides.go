package fallbacks

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/triggerd/triggerd/internal/overrides"
	"github.com/triggerd/triggerd/run"
)

// Override is a breaker's settings set at runtime (or their removal),
// recorded with its actor. Its fields win over config and definitions;
// zero fields keep theirs.
type Override = overrides.Entry[run.BreakerSettings]

// OverrideStore keeps breaker overrides where every process reads them.
type OverrideStore = overrides.Store[run.BreakerSettings]

// NewRedisOverrides keeps overrides in Redis under prefix.
func NewRedisOverrides(rdb redis.UniversalClient, prefix string) OverrideStore {
	return overrides.NewRedis[run.BreakerSettings](rdb, prefix)
}

// NewMemoryOverrides keeps overrides in the process.
func NewMemoryOverrides() OverrideStore { return overrides.NewMemory[run.BreakerSettings]() }

// ErrInvalid marks an invalid breaker name or settings given to Set.
var ErrInvalid = errors.New("invalid breaker settings")

// ValidSettings checks s's fields, naming each bad one.
func ValidSettings(s run.BreakerSettings) error {
	var probs []error
	for _, f := range []struct {
		name string
		n    int
	}{{"consecutiveFailures", s.ConsecutiveFailures}, {"minRequests", s.MinRequests}, {"halfOpenRequests", s.HalfOpenRequests}} {
		if f.n < 0 {
			probs = append(probs, fmt.Errorf("%s: must not be negative", f.name))
		}
	}
	if s.FailureRatio < 0 || s.FailureRatio > 1 {
		probs = append(probs, errors.New("failureRatio: must be in [0, 1]"))
	}
	if s.Interval < 0 {
		probs = append(probs, errors.New("interval: must not be negative"))
	}
	if s.OpenTimeout < 0 {
		probs = append(probs, errors.New("openTimeout: must not be negative"))
	}
	if len(probs) > 0 {
		return fmt.Errorf("%w: %w", ErrInvalid, errors.Join(probs...))
	}
	return nil
}

// Set overrides the settings of breaker name (target:<target> or
// action:<tag>/<name>) for every process; nil removes the override. An
// override on a target nothing configured puts a breaker on it.
func (b *Breakers) Set(ctx context.Context, name string, s *run.BreakerSettings, actor string) (Override, error) {
	if !strings.HasPrefix(name, "target:") && !strings.HasPrefix(name, "action:") || len(name) <= len("target:") {
		return Override{}, fmt.Errorf("%w: name %q: want target:<target> or action:<tag>/<name>", ErrInvalid, name)
	}
	o := Override{Key: name, Actor: actor, At: time.Now().UTC(), Removed: s == nil}
	if s != nil {
		if err := ValidSettings(*s); err != nil {
			return Override{}, err
		}
		o.Value = *s
	}
	return o, b.live.Set(ctx, o)
}

// Overrides returns the settings overrides in force, by breaker name.
func (b *Breakers) Overrides(ctx context.Context) (map[string]Override, error) {
	return b.live.Store().Current(ctx)
}

// Changes returns the latest settings changes, newest first.
func (b *Breakers) Changes(ctx context.Context, n int) ([]Override, error) {
	return b.live.Store().Changes(ctx, n)
}

// Applied returns the overrides this process applies now, by name.
func (b *Breakers) Applied() map[string]Override { return b.live.Applied() }

// Run rereads the overrides every refresh interval until ctx is done.
func (b *Breakers) Run(ctx context.Context) error { return b.live.Run(ctx, b.refresh, b.log) }
