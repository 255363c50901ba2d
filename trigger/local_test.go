package trigger

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/triggerd/triggerd/run"
)

const localTriggers = `
triggers:
  - tag: mixed
    tables: [users]
    events: [afterInsert]
    actions:
      - {type: http, name: hook, config: {url: "http://x.test"}}
      - {type: http, name: slow, timeout: 45s, config: {url: "http://x.test"}}
      - {type: http, name: forced-off, local: false, config: {url: "http://x.test"}}
      - {type: notification.email, name: mail, config: {notification: "welcome:hello", recipients: [a@x.test]}}
      - {type: custom, name: mine, local: true, config: {function: f}}
      - {type: log, name: later, timing: queued, queue: q, config: {message: m}}
      - {type: cache.set, name: cache, config: {key: k, value: v}}
      - type: broker.publish
        name: guarded
        config: {target: "kafka:t", message: m}
        breaker: {consecutiveFailures: 3}
        fallback: [{action: {type: http, name: fb, config: {url: "http://y.test"}}}]
    onError: [{type: log, name: tell, config: {message: m}}]
`

func localOf(in run.Input) map[string]bool {
	out := map[string]bool{}
	for _, a := range in.Actions {
		out[a.Name] = a.Local
	}
	for _, a := range in.OnError {
		out["onError/"+a.Name] = a.Local
	}
	return out
}

// Short actions of the service types are local by default; an action's
// `local:` wins; queued actions never are.
func TestLocalActivitiesByDefault(t *testing.T) {
	s := mustSet(t, localTriggers)
	in := s.Plan(run.Event{Table: "users", Operation: run.OperationInsert})[0]
	assert.Equal(t, map[string]bool{
		"hook": true, "slow": false, "forced-off": false, "mail": false, "mine": true,
		"later": false, "cache": true, "guarded": true, "onError/tell": true,
	}, localOf(in))
	fb := in.Actions[7].Guard.Fallback[0].Action
	require.NotNil(t, fb)
	assert.True(t, fb.Local, "a fallback action is decided like any action")
}

func TestLocalActivitiesConfigured(t *testing.T) {
	defs, err := Parse([]byte(localTriggers), "t.yaml")
	require.NoError(t, err)
	off, err := NewSet(defs, WithLocalActivities(LocalActivities{Off: true}))
	require.NoError(t, err)
	in := off.Plan(run.Event{Table: "users", Operation: run.OperationInsert})[0]
	assert.Equal(t, map[string]bool{
		"hook": false, "slow": false, "forced-off": false, "mail": false, "mine": true,
		"later": false, "cache": false, "guarded": false, "onError/tell": false,
	}, localOf(in), "off: only an explicit local: true")

	longer, err := NewSet(defs, WithLocalActivities(LocalActivities{MaxTimeout: time.Minute}))
	require.NoError(t, err)
	in = longer.Plan(run.Event{Table: "users", Operation: run.OperationInsert})[0]
	assert.True(t, localOf(in)["slow"], "45s is within a 1m threshold")

	global, err := CompileOnError([]any{map[string]any{"type": "log", "config": map[string]any{"message": "m"}}},
		WithLocalActivities(LocalActivities{Off: true}))
	require.NoError(t, err)
	assert.False(t, global[0].Local)
	global, err = CompileOnError([]any{map[string]any{"type": "log", "config": map[string]any{"message": "m"}}})
	require.NoError(t, err)
	assert.True(t, global[0].Local)
}

func TestLocalFieldProblems(t *testing.T) {
	_, err := Parse([]byte(`
triggers:
  - tag: bad
    tables: [users]
    events: [afterInsert]
    actions:
      - {type: http, local: "yes", config: {url: "http://x.test"}}
      - {type: log, local: true, timing: queued, queue: q, config: {message: m}}
      - {type: workflow.dispatch, local: true, config: {workflow: w}}
`), "t.yaml")
	var ve *ValidationError
	require.True(t, errors.As(err, &ve), "%v", err)
	fields := map[string]string{}
	for _, p := range ve.Problems {
		fields[p.Field] = p.Reason
	}
	assert.Equal(t, "must be true or false", fields["actions[0].local"])
	assert.Contains(t, fields["actions[1].local"], "timing: queued")
	assert.Contains(t, fields["actions[2].local"], "workflow.dispatch")
}

func TestLocalFieldDocumented(t *testing.T) {
	s := mustSet(t, localTriggers)
	doc := s.Definitions()[0].Document()
	acts := doc["actions"].([]any)
	assert.Equal(t, false, acts[2].(map[string]any)["local"])
	_, has := acts[0].(map[string]any)["local"]
	assert.False(t, has, "no local: when the definition says nothing")
}
