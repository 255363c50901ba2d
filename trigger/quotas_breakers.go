package trigger

import (
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/triggerd/triggerd/run"
	"github.com/triggerd/triggerd/trigger/template"
	"github.com/triggerd/triggerd/trigger/value"
)

// An action's quota, breaker and fallback keys (docs/quotas.md). They are
// decoded and checked here; the named policies they may refer to live in
// the process config and are checked when the action runs.

// Fallback is one step of what runs when an action's breaker is open:
// exactly one field is set.
type Fallback struct {
	Action     *Action
	DeadLetter string
	Defer      bool
	Skip       bool
}

var (
	quotaFields    = []string{"policy", "scope", "name", "rate", "period", "burst", "daily", "monthly", "onUnavailable"}
	breakerFields  = []string{"policy", "scope", "consecutiveFailures", "failureRatio", "minRequests", "interval", "openTimeout", "halfOpenRequests"}
	fallbackFields = []string{"action", "deadLetter", "defer", "skip"}
)

// decodeGuard reads the quota, breaker and fallback keys of action m.
func decodeGuard(a *Action, m map[string]any, field string, p problems) {
	if strings.HasPrefix(a.Type, "workflow.") {
		// Child workflows are started by the workflow, not by an
		// activity the decorators wrap.
		for _, k := range []string{"quota", "breaker", "fallback"} {
			if v, ok := m[k]; ok && v != nil {
				p.add(template.JoinField(field, k), "does not apply to %s actions", a.Type)
			}
		}
		return
	}
	if v, ok := m["quota"]; ok && v != nil {
		a.Quota = decodeQuota(v, template.JoinField(field, "quota"), p)
	}
	if v, ok := m["breaker"]; ok && v != nil {
		a.Breaker = decodeBreaker(v, template.JoinField(field, "breaker"), p)
	}
	if v, ok := m["fallback"]; ok && v != nil {
		ff := template.JoinField(field, "fallback")
		if a.Timing == run.TimingQueued {
			// The queue's workflow runs the action alone, after the run
			// has moved on; quota and breaker still apply there.
			p.add(ff, "does not apply to timing: queued actions")
		}
		steps, isList := v.([]any)
		if !isList {
			a.Fallback = []Fallback{decodeFallback(v, ff, p)}
			return
		}
		if len(steps) == 0 {
			p.add(ff, "must list at least one step")
		}
		for i, s := range steps {
			a.Fallback = append(a.Fallback, decodeFallback(s, fmt.Sprintf("%s[%d]", ff, i), p))
		}
	}
}

// policyOrMap accepts a policy name for a mapping {policy: name}.
func policyOrMap(v any, field string, allowed []string, p problems) (map[string]any, bool) {
	if s, ok := v.(string); ok {
		if s == "" {
			p.add(field, "must name a policy or be a mapping")
			return nil, false
		}
		return map[string]any{"policy": s}, true
	}
	m, ok := v.(map[string]any)
	if !ok {
		p.add(field, "must name a policy or be a mapping")
		return nil, false
	}
	unknownFields(m, allowed, field, p)
	return m, true
}

func nonNegInt(m map[string]any, key, field string, p problems) int {
	v, ok := m[key]
	if !ok || v == nil {
		return 0
	}
	n, ok := toInt(v)
	if !ok || n < 0 {
		p.add(template.JoinField(field, key), "must be a non-negative integer")
		return 0
	}
	return n
}

func nonNegInt64(m map[string]any, key, field string, p problems) int64 {
	v, ok := m[key]
	if !ok || v == nil {
		return 0
	}
	f, ok := value.Number(v)
	if _, isStr := v.(string); isStr || !ok || f < 0 || f != math.Trunc(f) || f > math.MaxInt64/2 {
		p.add(template.JoinField(field, key), "must be a non-negative integer")
		return 0
	}
	return int64(f)
}

func durationField(m map[string]any, key, field string, p problems) time.Duration {
	v, ok := m[key]
	if !ok || v == nil {
		return 0
	}
	d, err := value.ParseDuration(v)
	if err != nil {
		p.add(template.JoinField(field, key), "%v", err)
	}
	return d.Std()
}

func decodeQuota(v any, field string, p problems) *run.QuotaSpec {
	m, ok := policyOrMap(v, field, quotaFields, p)
	if !ok {
		return nil
	}
	q := &run.QuotaSpec{
		Policy: getString(m, "policy", template.JoinField(field, "policy"), p),
		Scope:  getString(m, "scope", template.JoinField(field, "scope"), p),
		Name:   getString(m, "name", template.JoinField(field, "name"), p),
		Limit: run.Limit{
			Rate:          nonNegInt(m, "rate", field, p),
			Period:        durationField(m, "period", field, p),
			Burst:         nonNegInt(m, "burst", field, p),
			Daily:         nonNegInt64(m, "daily", field, p),
			Monthly:       nonNegInt64(m, "monthly", field, p),
			OnUnavailable: getString(m, "onUnavailable", template.JoinField(field, "onUnavailable"), p),
		},
	}
	switch q.Scope {
	case "", run.QuotaScopeAction, run.QuotaScopeTarget:
		if q.Name != "" {
			p.add(template.JoinField(field, "name"), "only for scope shared")
		}
	case run.QuotaScopeShared:
		if q.Name == "" && q.Policy == "" {
			p.add(template.JoinField(field, "name"), "is required for scope shared (or name a policy)")
		}
	default:
		p.add(template.JoinField(field, "scope"), "must be action, target or shared, got %q", q.Scope)
	}
	switch q.OnUnavailable {
	case "", run.OnUnavailableOpen, run.OnUnavailableWait:
	default:
		p.add(template.JoinField(field, "onUnavailable"), "must be open or wait, got %q", q.OnUnavailable)
	}
	if q.Policy == "" && q.Limit.IsZero() {
		p.add(field, "needs a policy or at least one of rate, daily, monthly")
	}
	if q.Rate == 0 && (q.Period != 0 || q.Burst != 0) {
		p.add(template.JoinField(field, "rate"), "is required with period or burst")
	}
	if q.Rate > 0 && q.Period > 0 && q.Period/time.Duration(q.Rate) <= 0 {
		p.add(template.JoinField(field, "rate"), "more than one call per nanosecond")
	}
	return q
}

func decodeBreaker(v any, field string, p problems) *run.BreakerSpec {
	m, ok := policyOrMap(v, field, breakerFields, p)
	if !ok {
		return nil
	}
	b := &run.BreakerSpec{
		Policy: getString(m, "policy", template.JoinField(field, "policy"), p),
		Scope:  getString(m, "scope", template.JoinField(field, "scope"), p),
		BreakerSettings: run.BreakerSettings{
			ConsecutiveFailures: nonNegInt(m, "consecutiveFailures", field, p),
			MinRequests:         nonNegInt(m, "minRequests", field, p),
			Interval:            durationField(m, "interval", field, p),
			OpenTimeout:         durationField(m, "openTimeout", field, p),
			HalfOpenRequests:    nonNegInt(m, "halfOpenRequests", field, p),
		},
	}
	if x, ok := m["failureRatio"]; ok && x != nil {
		f, ok := value.Number(x)
		if _, isStr := x.(string); isStr || !ok || f <= 0 || f > 1 {
			p.add(template.JoinField(field, "failureRatio"), "must be a number in (0, 1]")
		} else {
			b.FailureRatio = f
		}
	}
	switch b.Scope {
	case "", "target", "action":
	default:
		p.add(template.JoinField(field, "scope"), "must be target or action, got %q", b.Scope)
	}
	return b
}

func decodeFallback(v any, field string, p problems) Fallback {
	switch v {
	case "defer":
		return Fallback{Defer: true}
	case "skip":
		return Fallback{Skip: true}
	}
	m, ok := v.(map[string]any)
	if !ok {
		p.add(field, "must be defer, skip, {deadLetter: <target>}, {action: {...}}, {defer: true} or {skip: true}")
		return Fallback{}
	}
	unknownFields(m, fallbackFields, field, p)
	var f Fallback
	set := 0
	if x, ok := m["action"]; ok && x != nil {
		set++
		af := template.JoinField(field, "action")
		a := decodeAction(x, 0, af, p)
		if a.Name == "" || a.Name == a.Type+"-0" {
			a.Name = "fallback"
		}
		a = normalizeAction(defaultAction(a, 0), af, p)
		validateActionConfig(a, af, p)
		validateRetry(a, af, p)
		if len(a.Fallback) > 0 {
			p.add(template.JoinField(af, "fallback"), "a fallback action has no fallback of its own: list the steps in order instead")
		}
		if strings.HasPrefix(a.Type, "workflow.") {
			// Child workflows are started by the workflow itself, not
			// as activities; a fallback runs as an activity.
			p.add(template.JoinField(af, "type"), "%s cannot be a fallback action", a.Type)
		}
		if a.Timing != "" || a.Queue != "" {
			p.add(template.JoinField(af, "timing"), "a fallback action runs in place of the action: it takes no timing or queue")
		}
		f.Action = &a
	}
	if x, ok := m["deadLetter"]; ok && x != nil {
		set++
		f.DeadLetter = getString(m, "deadLetter", template.JoinField(field, "deadLetter"), p)
		if err := checkTarget(f.DeadLetter); err != nil {
			p.add(template.JoinField(field, "deadLetter"), "%v", err)
		}
	}
	for _, k := range []string{"defer", "skip"} {
		if x, ok := m[k]; ok && x != nil {
			b, isBool := x.(bool)
			if !isBool || !b {
				p.add(template.JoinField(field, k), "must be true")
				continue
			}
			set++
			if k == "defer" {
				f.Defer = true
			} else {
				f.Skip = true
			}
		}
	}
	if set != 1 {
		p.add(field, "must set exactly one of action, deadLetter, defer, skip")
	}
	return f
}

// guardOf is the run form of a's quota, breaker and fallbacks.
func guardOf(a Action) *run.Guard {
	if a.Quota == nil && a.Breaker == nil && len(a.Fallback) == 0 {
		return nil
	}
	g := &run.Guard{Quota: a.Quota, Breaker: a.Breaker}
	for _, f := range a.Fallback {
		rf := run.Fallback{DeadLetter: f.DeadLetter, Defer: f.Defer, Skip: f.Skip}
		if f.Action != nil {
			ra := toRunAction(*f.Action)
			rf.Action = &ra
		}
		g.Fallback = append(g.Fallback, rf)
	}
	return g
}

// guardDocument adds a's quota, breaker and fallback keys to its document.
func guardDocument(a Action, doc map[string]any) {
	if q := a.Quota; q != nil {
		m := map[string]any{}
		putString(m, "policy", q.Policy)
		putString(m, "scope", q.Scope)
		putString(m, "name", q.Name)
		putInt(m, "rate", int64(q.Rate))
		if q.Period > 0 {
			m["period"] = q.Period.String()
		}
		putInt(m, "burst", int64(q.Burst))
		putInt(m, "daily", q.Daily)
		putInt(m, "monthly", q.Monthly)
		putString(m, "onUnavailable", q.OnUnavailable)
		doc["quota"] = m
	}
	if b := a.Breaker; b != nil {
		m := map[string]any{}
		putString(m, "policy", b.Policy)
		putString(m, "scope", b.Scope)
		putInt(m, "consecutiveFailures", int64(b.ConsecutiveFailures))
		if b.FailureRatio > 0 {
			m["failureRatio"] = b.FailureRatio
		}
		putInt(m, "minRequests", int64(b.MinRequests))
		for k, d := range map[string]time.Duration{"interval": b.Interval, "openTimeout": b.OpenTimeout} {
			if d > 0 {
				m[k] = d.String()
			}
		}
		putInt(m, "halfOpenRequests", int64(b.HalfOpenRequests))
		doc["breaker"] = m
	}
	if len(a.Fallback) > 0 {
		steps := make([]any, len(a.Fallback))
		for i, f := range a.Fallback {
			switch {
			case f.Action != nil:
				steps[i] = map[string]any{"action": f.Action.Document()}
			case f.DeadLetter != "":
				steps[i] = map[string]any{"deadLetter": f.DeadLetter}
			case f.Defer:
				steps[i] = map[string]any{"defer": true}
			default:
				steps[i] = map[string]any{"skip": true}
			}
		}
		doc["fallback"] = steps
	}
}

func putString(m map[string]any, k, v string) {
	if v != "" {
		m[k] = v
	}
}

func putInt(m map[string]any, k string, v int64) {
	if v != 0 {
		m[k] = v
	}
}
