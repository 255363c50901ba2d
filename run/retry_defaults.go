package run

import "time"

// Defaults of an action's timeout and RetryPolicy: the language fills an
// action's unset fields with them when a trigger is loaded (so that a run's
// input holds the values it runs with), and the workflow applies them to
// the unset fields of an input built in code. One set, so that both say the
// same: 3 attempts, a first delay of 1s doubling up to 30s, and 30s per
// attempt. The maximum delay is 30s rather than Temporal's default of 100
// times the first delay: an action retried after a minute or more is
// usually better off waiting on its breaker (fallbacks) than on its
// backoff, and a short maximum keeps a run's retries within a few minutes.
const (
	DefaultMaxAttempts        = 3
	DefaultInitialInterval    = time.Second
	DefaultBackoffCoefficient = 2.0
	DefaultMaxInterval        = 30 * time.Second
	DefaultActionTimeout      = 30 * time.Second
)
