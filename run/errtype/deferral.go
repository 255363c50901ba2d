package errtype

import "time"

// Types of the errors with which the quota and breaker decorators turn a
// call away before it reaches its target. They are in neither Retryable
// nor Permanent: the decorators return them as non-retryable so that
// Temporal does not spend the action's attempts on them, and the workflow
// handles them itself (a durable wait, or the action's fallbacks).
const (
	QuotaExceeded = "QUOTA_EXCEEDED"
	BreakerOpen   = "BREAKER_OPEN"
)

// Deferral is the detail of a QuotaExceeded or BreakerOpen error: which
// quota or breaker refused, and when to ask again.
type Deferral struct {
	Quota      string        `json:"quota,omitempty"`
	Breaker    string        `json:"breaker,omitempty"`
	RetryAfter time.Duration `json:"retryAfter"`
	Reason     string        `json:"reason,omitempty"`
}
