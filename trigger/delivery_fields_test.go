package trigger

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/triggerd/triggerd/run"
)

// docs/semantics.md, "No-op updates": onlyOnChange and ignoreColumns skip
// updates whose before and after are equal (but for ignored columns);
// without them every update runs.
func TestPlanOnlyOnChange(t *testing.T) {
	s := mustSet(t, `
triggers:
  - {tag: every, tables: [users], events: [afterUpdate], actions: [{type: log, config: {message: m}}]}
  - {tag: changed, tables: [users], events: [afterUpdate], onlyOnChange: true, actions: [{type: log, config: {message: m}}]}
  - {tag: ignoring, tables: [users], events: [afterUpdate], ignoreColumns: [updated_at], actions: [{type: log, config: {message: m}}]}
`)
	upd := func(before, after map[string]any) run.Event {
		return run.Event{Table: "users", Operation: run.OperationUpdate, PreviousRecord: before, Record: after}
	}
	assert.Equal(t, []string{"every/afterUpdate"},
		planTags(s, upd(map[string]any{"a": 1, "updated_at": "x"}, map[string]any{"a": 1, "updated_at": "x"})), "no-op update")
	assert.Equal(t, []string{"changed/afterUpdate", "every/afterUpdate"},
		planTags(s, upd(map[string]any{"a": 1, "updated_at": "x"}, map[string]any{"a": 1, "updated_at": "y"})), "only an ignored column changed")
	assert.Equal(t, []string{"changed/afterUpdate", "every/afterUpdate", "ignoring/afterUpdate"},
		planTags(s, upd(map[string]any{"a": 1}, map[string]any{"a": 2})), "a real change")
}

// docs/semantics.md, "Snapshots and imports": snapshot: ignore drops
// snapshot events that kafka.snapshotReads: insert lets through.
func TestPlanSnapshot(t *testing.T) {
	s := mustSet(t, `
triggers:
  - {tag: default, tables: [users], events: [afterInsert], actions: [{type: log, config: {message: m}}]}
  - {tag: live-only, tables: [users], events: [afterInsert], snapshot: ignore, actions: [{type: log, config: {message: m}}]}
`)
	ev := run.Event{Table: "users", Operation: run.OperationInsert, Record: map[string]any{"id": 1}}
	assert.Equal(t, []string{"default/afterInsert", "live-only/afterInsert"}, planTags(s, ev))
	ev.Snapshot = true
	assert.Equal(t, []string{"default/afterInsert"}, planTags(s, ev))
}

// The cascade chain of the event plus the trigger's tag travels with the
// run; onError actions are compiled into it.
func TestPlanCascadeAndOnError(t *testing.T) {
	s := mustSet(t, `
triggers:
  - tag: t2
    tables: [users]
    events: [afterInsert]
    actions: [{type: log, config: {message: m}, timing: queued, queue: q1}]
    onError: [{type: log, name: tell, config: {message: "{{actions.failed.output.error}}"}}]
`)
	ins := s.Plan(run.Event{Table: "users", Operation: run.OperationInsert, Cascade: []string{"t1"}})
	require.Len(t, ins, 1)
	assert.Equal(t, []string{"t1", "t2"}, ins[0].Cascade)
	assert.Equal(t, run.TimingQueued, ins[0].Actions[0].Timing)
	assert.Equal(t, "q1", ins[0].Actions[0].Queue)
	require.Len(t, ins[0].OnError, 1)
	assert.Equal(t, "tell", ins[0].OnError[0].Name)

	// The fields survive the document round trip a store makes.
	d := s.Definitions()[0]
	b, err := json.Marshal(d)
	require.NoError(t, err)
	back, err := Parse(b, "t.json")
	require.NoError(t, err)
	assert.Equal(t, d.Delivery.OnError[0].Name, back[0].OnError[0].Name)
	assert.Equal(t, d.Actions[0].ActionTiming, back[0].Actions[0].ActionTiming)
}

func TestDeliveryValidation(t *testing.T) {
	_, err := Parse([]byte(`
triggers:
  - tag: bad
    tables: [users]
    events: [afterInsert]
    snapshot: sometimes
    onlyOnChange: maybe
    actions:
      - {type: log, config: {message: m}, timing: later}
      - {type: log, config: {message: m}, timing: queued}
      - {type: log, config: {message: m}, queue: q}
      - {type: workflow.execute, config: {workflow: w}, timing: queued, queue: q}
    onError: [{type: log, config: {message: "{{actions.nothere.output}}"}, timing: sync}]
`), "bad.yaml")
	var ve *ValidationError
	require.True(t, errors.As(err, &ve), "%v", err)
	msg := err.Error()
	for _, want := range []string{
		"onlyOnChange: must be true or false",
		`snapshot: unknown value "sometimes"`,
		`actions[0].timing: unknown timing "later"`,
		"actions[1].queue: is required with timing: queued",
		"actions[2].queue: is only valid with timing: queued",
		"actions[3].timing: queued is not supported for workflow.execute",
		"onError[0].timing: sync is not allowed in onError",
		"onError[0].config.message",
	} {
		assert.Contains(t, msg, want)
	}
}

func TestCompileOnError(t *testing.T) {
	acts, err := CompileOnError([]any{map[string]any{"type": "log", "config": map[string]any{"message": "{{actions.failed.output.action}}"}}})
	require.NoError(t, err)
	require.Len(t, acts, 1)
	_, err = CompileOnError([]any{map[string]any{"type": "nope"}})
	assert.ErrorContains(t, err, `onError[0].type: unknown action type "nope"`)
}

// for: all marks the trigger's inputs for batching; it refuses sync.
func TestPlanForAll(t *testing.T) {
	s := mustSet(t, `
triggers:
  - {tag: bulk, for: all, tables: [users], events: [afterInsert], actions: [{type: log, config: {message: "{{records}}"}}]}
`)
	ins := s.Plan(run.Event{Table: "users", Operation: run.OperationInsert})
	require.Len(t, ins, 1)
	assert.True(t, ins[0].ForAll)
	assert.Equal(t, "all", s.Definitions()[0].Document()["for"])

	defs, err := Parse([]byte(`
- {tag: a, for: some, tables: [users], events: [afterInsert], actions: [{type: log, config: {message: m}}]}
- {tag: b, for: all, tables: [users], events: [afterInsert], actions: [{type: log, config: {message: m}, timing: sync}]}
`), "f.yaml")
	require.NoError(t, err)
	_, err = NewSet(defs)
	require.Error(t, err)
	assert.Contains(t, err.Error(), `for: unknown value "some"`)
	assert.Contains(t, err.Error(), "actions[0].timing: sync orders the runs of one record")
}
