package trigger

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/triggerd/triggerd/run"
)

const guarded = `
tag: partner
tables: [orders]
events: [afterInsert]
actions:
  - name: notify
    type: http
    config: {url: "https://partner.example.com/hook", method: POST, body: "{{record}}"}
    quota: {rate: 10, period: 1s, burst: 5, daily: 1000, onUnavailable: wait}
    breaker: {consecutiveFailures: 3, openTimeout: 30s, halfOpenRequests: 2}
    fallback:
      - action: {type: http, config: {url: "https://backup.example.com/hook", method: POST}}
      - deadLetter: kafka:partner.dead
      - defer
  - name: audit
    type: log
    config: {message: hi}
    quota: partner-api
    breaker: partner-api
    fallback: skip
`

func TestGuardKeysDecodeAndRoundTrip(t *testing.T) {
	defs, err := Parse([]byte(guarded), "g.yaml")
	require.NoError(t, err)
	s, err := NewSet(defs)
	require.NoError(t, err)
	d := s.Definitions()[0]
	a := d.Actions[0]
	assert.Equal(t, &run.QuotaSpec{Limit: run.Limit{Rate: 10, Period: time.Second, Burst: 5, Daily: 1000, OnUnavailable: "wait"}}, a.Quota)
	assert.Equal(t, 3, a.Breaker.ConsecutiveFailures)
	require.Len(t, a.Fallback, 3)
	assert.Equal(t, "http", a.Fallback[0].Action.Type)
	assert.Equal(t, "kafka:partner.dead", a.Fallback[1].DeadLetter)
	assert.True(t, a.Fallback[2].Defer)
	assert.Equal(t, "partner-api", d.Actions[1].Quota.Policy)
	assert.True(t, d.Actions[1].Fallback[0].Skip)

	ra := toRunAction(a)
	require.NotNil(t, ra.Guard)
	assert.Equal(t, "action http", ra.Guard.Fallback[0].Describe())
	assert.Equal(t, 30*time.Second, ra.Guard.Fallback[0].Action.Timeout, "fallback actions get the defaults")

	// The canonical document (what the store keeps) parses back the same.
	doc, err := json.Marshal(d.Document())
	require.NoError(t, err)
	back, err := ParseDocument(doc)
	require.NoError(t, err)
	require.NoError(t, ValidateDefinition(back))
	assert.Equal(t, d.Document(), back.Document())
}

func TestGuardKeysProblems(t *testing.T) {
	const head = "tag: t\ntables: [users]\nevents: [afterInsert]\nactions:\n  - type: log\n    config: {message: hi}\n"
	tests := []struct{ name, yaml, want string }{
		{"quota type", "    quota: 5\n", "actions[0].quota: must name a policy or be a mapping"},
		{"quota empty", "    quota: {scope: action}\n", "actions[0].quota: needs a policy or at least one of rate, daily, monthly"},
		{"quota rate", "    quota: {rate: -1}\n", "actions[0].quota.rate: must be a non-negative integer"},
		{"quota period", "    quota: {rate: 1, period: soon}\n", "actions[0].quota.period: must be a duration"},
		{"quota scope", "    quota: {rate: 1, scope: galaxy}\n", `actions[0].quota.scope: must be action, target or shared, got "galaxy"`},
		{"quota shared name", "    quota: {rate: 1, scope: shared}\n", "actions[0].quota.name: is required for scope shared"},
		{"quota unavailable", "    quota: {rate: 1, onUnavailable: panic}\n", `actions[0].quota.onUnavailable: must be open or wait`},
		{"quota unknown", "    quota: {rate: 1, perSecond: 3}\n", "actions[0].quota.perSecond: unknown field"},
		{"breaker ratio", "    breaker: {failureRatio: 2}\n", "actions[0].breaker.failureRatio: must be a number in (0, 1]"},
		{"breaker timeout", "    breaker: {openTimeout: later}\n", "actions[0].breaker.openTimeout: must be a duration"},
		{"fallback two", "    fallback: [{skip: true, defer: true}]\n", "actions[0].fallback[0]: must set exactly one of action, deadLetter, defer, skip"},
		{"fallback dead letter", "    fallback: {deadLetter: 'sqs:q'}\n", `actions[0].fallback.deadLetter: "sqs:q": unknown broker "sqs"`},
		{"fallback action", "    fallback: [defer, {action: {type: http, config: {method: GET}}}]\n", "actions[0].fallback[1].action.config.url: is required"},
		{"fallback word", "    fallback: later\n", "actions[0].fallback: must be defer, skip"},
		{"fallback on queued", "    timing: queued\n    queue: q\n    fallback: skip\n", "actions[0].fallback: does not apply to timing: queued actions"},
		{"fallback action timing", "    fallback: {action: {type: log, config: {message: m}, timing: queued, queue: q}}\n", "actions[0].fallback.action.timing: a fallback action runs in place of the action"},
		{"fallback child workflow", "    fallback: {action: {type: workflow.execute, config: {workflow: w}}}\n", "actions[0].fallback.action.type: workflow.execute cannot be a fallback action"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			defs, err := Parse([]byte(head+tc.yaml), "bad.yaml")
			if err == nil {
				_, err = NewSet(defs)
			}
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want, "all: %s", strings.ReplaceAll(err.Error(), "\n", " | "))
		})
	}
}

func TestGuardKeysRefusedOnChildWorkflows(t *testing.T) {
	_, err := Parse([]byte(`
tag: t
tables: [users]
events: [afterInsert]
actions:
  - type: workflow.execute
    config: {workflow: w}
    quota: {rate: 1}
    fallback: skip
`), "c.yaml")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "actions[0].quota: does not apply to workflow.execute actions")
	assert.Contains(t, err.Error(), "actions[0].fallback: does not apply to workflow.execute actions")
}
