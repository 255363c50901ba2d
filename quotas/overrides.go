package quotas

import (
	"sort"

	"github.com/redis/go-redis/v9"

	"github.com/triggerd/triggerd/internal/overrides"
	"github.com/triggerd/triggerd/run"
)

// Override is a limit set at runtime on a quota key (action:<tag>/<name>,
// target:<target> or shared:<name>), or its removal, recorded with its
// actor. It wins over config and trigger definitions until removed.
type Override = overrides.Entry[run.Limit]

// OverrideStore keeps runtime overrides where every process reads them.
type OverrideStore = overrides.Store[run.Limit]

// NewRedisOverrides keeps overrides in Redis under prefix, shared by every
// process using it.
func NewRedisOverrides(rdb redis.UniversalClient, prefix string) OverrideStore {
	return overrides.NewRedis[run.Limit](rdb, prefix)
}

// NewMemoryOverrides keeps overrides in the process.
func NewMemoryOverrides() OverrideStore { return overrides.NewMemory[run.Limit]() }

// sortedKeys lists m's keys in order.
func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}
