package run

import "time"

// Guard is what protects an action's targets, as its trigger definition
// says: a quota, a circuit breaker and the fallbacks that run when the
// breaker is open. Every field is optional; config supplies named policies
// and defaults, and runtime overrides win over both.
type Guard struct {
	Quota    *QuotaSpec   `json:"quota,omitempty"`
	Breaker  *BreakerSpec `json:"breaker,omitempty"`
	Fallback []Fallback   `json:"fallback,omitempty"`
}

// Quota scopes: what a quota's budget is shared by.
const (
	// QuotaScopeAction is one budget per trigger action (tag + name).
	QuotaScopeAction = "action"
	// QuotaScopeTarget is one budget per target (HTTP host, topic, queue,
	// SMTP relay...), whichever actions reach it.
	QuotaScopeTarget = "target"
	// QuotaScopeShared is a named budget that several actions draw on.
	QuotaScopeShared = "shared"
)

// What a quota does when its store (Redis) is configured but unreachable.
const (
	OnUnavailableOpen = "open"
	OnUnavailableWait = "wait"
)

// Limit is a rate of Rate calls per Period with bursts of Burst, plus
// optional calendar caps (UTC days and months). A zero Rate means no rate
// limit, a zero cap no cap.
type Limit struct {
	Rate    int           `json:"rate,omitempty"`
	Period  time.Duration `json:"period,omitempty"`
	Burst   int           `json:"burst,omitempty"`
	Daily   int64         `json:"daily,omitempty"`
	Monthly int64         `json:"monthly,omitempty"`
	// OnUnavailable is open (let calls through) or wait (delay them) when
	// the shared store cannot be reached.
	OnUnavailable string `json:"onUnavailable,omitempty"`
}

// IsZero reports whether l limits nothing.
func (l Limit) IsZero() bool { return l.Rate <= 0 && l.Daily <= 0 && l.Monthly <= 0 }

// QuotaSpec is an action's quota: a named policy from config, inline
// limits, or both (inline fields override the policy's).
type QuotaSpec struct {
	Policy string `json:"policy,omitempty"`
	// Scope is action (default), target or shared; Name names a shared
	// quota.
	Scope string `json:"scope,omitempty"`
	Name  string `json:"name,omitempty"`
	Limit
}

// BreakerSpec is an action's circuit breaker: a named policy from config,
// inline settings, or both (inline fields override the policy's).
type BreakerSpec struct {
	Policy string `json:"policy,omitempty"`
	// Scope is target (default: one breaker per target, whichever actions
	// reach it) or action.
	Scope string `json:"scope,omitempty"`
	BreakerSettings
}

// BreakerSettings say when a breaker opens and how it recovers. Zero
// fields take the configured defaults.
type BreakerSettings struct {
	// ConsecutiveFailures opens the breaker after that many failures in a
	// row; FailureRatio opens it when at least MinRequests calls in the
	// current Interval failed in that proportion. Either may be set.
	ConsecutiveFailures int     `json:"consecutiveFailures,omitempty"`
	FailureRatio        float64 `json:"failureRatio,omitempty"`
	MinRequests         int     `json:"minRequests,omitempty"`
	// Interval is the closed-state window after which counts reset (0:
	// never).
	Interval time.Duration `json:"interval,omitempty"`
	// OpenTimeout is how long an open breaker refuses calls before it lets
	// probes through (half-open).
	OpenTimeout time.Duration `json:"openTimeout,omitempty"`
	// HalfOpenRequests is how many probes must succeed to close it again.
	HalfOpenRequests int `json:"halfOpenRequests,omitempty"`
}

// Fallback is one step of what runs when an action's breaker is open.
// Exactly one field is set. Steps are tried in order until one succeeds.
type Fallback struct {
	// Action is another action run instead (its config is rendered like
	// the original's).
	Action *Action `json:"action,omitempty"`
	// DeadLetter is a broker.publish target (kafka:<topic>,
	// rabbitmq:<queue>) that receives the original rendered request.
	DeadLetter string `json:"deadLetter,omitempty"`
	// Defer waits, durably, until the breaker lets a probe through and
	// tries the action again.
	Defer bool `json:"defer,omitempty"`
	// Skip gives up on the action with a log line; the run goes on.
	Skip bool `json:"skip,omitempty"`
}

// Describe names the step for results and logs.
func (f Fallback) Describe() string {
	switch {
	case f.Action != nil:
		return "action " + f.Action.Type
	case f.DeadLetter != "":
		return "deadLetter " + f.DeadLetter
	case f.Defer:
		return "defer"
	case f.Skip:
		return "skip"
	}
	return "none"
}

// QuotaWait is one durable wait a quota imposed on an action.
type QuotaWait struct {
	Quota string        `json:"quota"`
	For   time.Duration `json:"for"`
}

// GuardReport says what quotas and breakers did to an action: the waits,
// and when a breaker was open which fallback path ran and why.
type GuardReport struct {
	Waits []QuotaWait `json:"waits,omitempty"`
	// Waited is the sum of Waits.
	Waited time.Duration `json:"waited,omitempty"`
	// Breaker names the open breaker that diverted the action.
	Breaker string `json:"breaker,omitempty"`
	// Path is the fallback step that ran: "action <type>", "deadLetter
	// <target>", "skip" (or "" when the action itself ran).
	Path   string `json:"path,omitempty"`
	Reason string `json:"reason,omitempty"`
	// Deferred counts the waits of defer steps.
	Deferred int `json:"deferred,omitempty"`
}
