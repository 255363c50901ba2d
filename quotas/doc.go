// Package quotas limits how often actions reach their targets.
//
// Quotas are decorators (run.Middleware) around an action: the activity that
// performs an HTTP call or a publish knows nothing of them. Limits are GCRA
// rates kept in Redis (go-redis/redis_rate) so that every worker process
// draws on the same budget, keyed per action, per target, or by a named
// shared quota. A refused call is delayed, not failed: the run waits for the
// retry-after durably and the wait does not consume the action's retry
// attempts.
//
// The decorators land with the quotas capability (issue 6); until then the
// worker registers actions without them.
package quotas
