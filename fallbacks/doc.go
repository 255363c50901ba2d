// Package fallbacks protects targets with circuit breakers.
//
// A breaker is a decorator (Breakers.Middleware, a run.Middleware) around
// an action, not code inside it. It is a sony/gobreaker v2 distributed
// breaker whose state lives in a Store (Redis, or the process) shared by
// every worker, so one worker's view of a dead target protects them all.
// When it is open the action is not attempted: the decorator returns a
// non-retryable errtype.BreakerOpen error saying when the next probe is due,
// and the workflow runs the action's fallbacks (run.Fallback): another
// action, a dead-letter publish of the rendered request, a durable defer
// until a probe is let through, or a logged skip. See docs/quotas.md.
package fallbacks
