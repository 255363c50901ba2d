// Package fallbacks protects targets with circuit breakers and says what
// runs instead when a breaker is open.
//
// A breaker (sony/gobreaker, its state shared across workers through Redis)
// is a decorator (run.Middleware) around an action, not code inside it. When
// it is open the action is not attempted and its fallback runs: another
// action, a dead-letter publish of the rendered request, a durable defer
// until a probe is let through, or a logged skip.
//
// The decorators land with the fallbacks capability (issue 6); until then the
// worker registers actions without them.
package fallbacks
