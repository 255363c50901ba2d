// Package quotas limits how often actions reach their targets.
//
// Quotas are a decorator (Quotas.Middleware, a run.Middleware) around an
// action: the activity that performs an HTTP call or a publish knows
// nothing of them, and this package knows nothing of HTTP or brokers (a
// TargetFunc passed in names what a request reaches).
//
// A limit (run.Limit) is Rate calls per Period with bursts of Burst, a GCRA
// rate kept in Redis by go-redis/redis_rate so that every worker process
// draws on the same budget, plus optional daily and monthly caps
// (fixed-window counters). Budgets are keyed per action
// (action:<tag>/<name>), per target (target:<target>) or by a shared name
// (shared:<name>). MemoryLimiter has the same semantics in one process, for
// setups without Redis.
//
// A refused call is delayed, not failed: the decorator returns a
// non-retryable errtype.QuotaExceeded error whose errtype.Deferral says when
// to come back, and the workflow waits that long with a durable timer
// before calling again, so the wait spends none of the action's retry
// attempts. Runtime overrides (Quotas.Set, kept in an OverrideStore) win
// over config and definitions and reach every process within its refresh
// interval (Quotas.Run). See docs/quotas.md.
package quotas
