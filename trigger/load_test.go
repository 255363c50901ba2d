package trigger

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/triggerd/triggerd/run"
	"github.com/triggerd/triggerd/trigger/value"
)

func TestLoadExamples(t *testing.T) {
	s, err := Load("../examples/triggers")
	require.NoError(t, err)
	tags := []string{}
	for _, d := range s.Definitions() {
		tags = append(tags, d.Tag)
	}
	assert.Equal(t, []string{"send-welcome-webhook", "users-normalise", "order-cancelled", "users-validate"}, tags)
	bts := s.BeforeTriggers("users", run.OperationInsert)
	require.Len(t, bts, 2)
	st := &BeforeState{Event: run.Event{Table: "users", Operation: run.OperationInsert,
		Record: map[string]any{"email": "Ada@Example.COM", "first_name": "Ada", "last_name": "Lovelace"}}}
	for _, bt := range bts {
		require.Empty(t, bt.Run(context.Background(), st, nil).Violations)
	}
	assert.Equal(t, map[string]any{"email": "ada@example.com", "role": "member", "first_name": "Ada", "last_name": "Lovelace", "full_name": "Ada Lovelace"}, st.Event.Record)
	st.Event.Record = map[string]any{"email": "ada"}
	bts[0].Run(context.Background(), st, nil)
	assert.Equal(t, []Violation{{Field: "email", Message: "ada is not a valid email address", Rule: "validate[0]"}}, bts[1].Run(context.Background(), st, nil).Violations)
	assert.Empty(t, s.Warnings())

	in := s.Plan(run.Event{ID: "1", Schema: "public", Table: "users", Operation: run.OperationInsert,
		Record: map[string]any{"id": 42, "email": "a@b.c"}})
	require.Len(t, in, 1)
	assert.Equal(t, "afterInsert", in[0].EventName)
	assert.Equal(t, []string{"http", "broker.publish", "cache.set", "log"}, actionTypesOf(in[0].Actions))

	in = s.Plan(run.Event{ID: "2", Schema: "public", Table: "orders", Operation: run.OperationUpdate,
		Record:         map[string]any{"id": 1, "status": "cancelled"},
		PreviousRecord: map[string]any{"id": 1, "status": "paid"}})
	require.Len(t, in, 1)
	assert.Equal(t, "order-cancelled", in[0].Trigger.Tag)
	assert.Equal(t, map[string]any{"message": "order {{record.id}} cancelled (was {{previousRecord.status}})", "level": "warn"}, in[0].Actions[2].Config)
	assert.Equal(t, "log", in[0].Actions[2].Type)
}

func actionTypesOf(as []run.Action) []string {
	var out []string
	for _, a := range as {
		out = append(out, a.Type)
	}
	return out
}

func writeFiles(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, body := range files {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644))
	}
	return dir
}

func TestLoadAllProblemsNothingLoaded(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"a.yaml": `
tag: dup
tables: [users]
events: [afterInsert]
actions: [{type: log, config: {message: hi}}]
`,
		"b.yml": `
- tag: dup
  tables: [users]
  events: [afterInsert]
  actions: [{type: log, config: {message: hi}}]
- tag: x
  tables: [users]
  events: [afterInsert]
  actions:
    - {type: log, config: {message: hi}}
    - {type: http, config: {method: POST}}
`,
		"c.json":     `{"tag": "Bad Tag", "tables": [], "events": ["afterInsert"], "actions": [{"type": "log", "config": {"message": "x"}}]}`,
		"ignored.md": `not a trigger`,
	})
	s, err := Load(dir)
	require.Nil(t, s)
	var ve *ValidationError
	require.ErrorAs(t, err, &ve)
	msg := err.Error()
	assert.Contains(t, msg, filepath.Join(dir, "b.yml")+`: trigger "x": actions[1].config.url: is required`)
	assert.Contains(t, msg, filepath.Join(dir, "b.yml")+`: trigger "dup": tag: duplicate tag (already defined in `+filepath.Join(dir, "a.yaml")+`)`)
	assert.Contains(t, msg, `trigger "Bad Tag": tag: "Bad Tag" must match`)
	assert.Contains(t, msg, `trigger "Bad Tag": tables: must list at least one table`)
	assert.Len(t, ve.Problems, 4)
}

func TestLoadSingleFileAndWarnings(t *testing.T) {
	dir := writeFiles(t, map[string]string{"t.yaml": `
tag: before
tables: [users]
events: [BEFORE_INSERT]
set: [{field: role, value: member, ifMissing: true}]
`})
	s, err := Load(filepath.Join(dir, "t.yaml"))
	require.NoError(t, err)
	assert.Empty(t, s.Warnings())
	assert.Equal(t, []string{"beforeInsert"}, s.Definitions()[0].BeforeEvents())
	empty := writeFiles(t, map[string]string{"x.txt": "not a trigger file"})
	s, err = Load(empty)
	require.NoError(t, err)
	require.Len(t, s.Warnings(), 1)
	assert.Contains(t, s.Warnings()[0], "no .yaml, .yml or .json trigger files")

	_, err = Load(filepath.Join(dir, "missing.yaml"))
	require.Error(t, err)
}

func TestParseShapes(t *testing.T) {
	one := `{tag: a, tables: [users], events: [afterInsert], actions: [{type: log, config: {message: hi}}]}`
	tests := []struct {
		name, file, data string
		tags             []string
	}{
		{"yaml single", "x.yaml", one, []string{"a"}},
		{"yaml list", "x.yaml", "[" + one + ", " + `{tag: b, tables: [users], events: [afterInsert], actions: [{type: log, config: {message: hi}}]}` + "]", []string{"a", "b"}},
		{"yaml wrapped", "x.yaml", "triggers:\n  - " + one, []string{"a"}},
		{"json single", "x.json", `{"tag":"a","tables":["users"],"events":["afterInsert"],"actions":[{"type":"log","config":{"message":"hi"}}]}`, []string{"a"}},
		{"json wrapped", "x.json", "{\n\t\"triggers\": [{\"tag\":\"a\",\"tables\":[\"users\"],\"events\":[\"afterInsert\"],\"actions\":[{\"type\":\"log\",\"config\":{\"message\":\"hi\",\"fields\":{\"n\":1.5}}}]}]}", []string{"a"}},
		{"json list", "x.json", `[{"tag":"a","tables":["users"],"events":["afterInsert"],"actions":[{"type":"log","config":{"message":"hi"}}]}]`, []string{"a"}},
		{"empty", "x.yaml", "", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			defs, err := Parse([]byte(tc.data), tc.file)
			require.NoError(t, err)
			var tags []string
			for _, d := range defs {
				tags = append(tags, d.Tag)
				assert.Equal(t, tc.file, d.File)
			}
			assert.Equal(t, tc.tags, tags)
			_, err = NewSet(defs)
			require.NoError(t, err)
		})
	}
}

func TestDefaults(t *testing.T) {
	defs, err := Parse([]byte(`
tag: d
tables: users
events: [after_insert, AFTER_WRITE]
actions:
  - type: http
    config: {url: "https://x.test/{{record.id}}"}
  - type: log
    name: custom
    retry: {maxAttempts: 5, initialDelay: 1500, maxDelay: "1m", backoffMultiplier: 3, retryOn: [ETIMEDOUT]}
    timeout: 2500
    continueOnError: true
    config: {message: hi}
`), "d.yaml")
	require.NoError(t, err)
	d := defs[0]
	assert.True(t, d.Enabled)
	assert.Equal(t, 100, d.Priority)
	assert.Equal(t, []string{"users"}, d.Tables)
	assert.Equal(t, []string{"afterInsert", "afterWrite"}, d.Events)
	s, err := NewSet(defs)
	require.NoError(t, err)
	in := s.Plan(run.Event{Table: "users", Operation: run.OperationInsert})
	require.Len(t, in, 1)
	a0, a1 := in[0].Actions[0], in[0].Actions[1]
	assert.Equal(t, "http-0", a0.Name)
	assert.Equal(t, run.RetryPolicy{MaxAttempts: 3, InitialInterval: time.Second, MaxInterval: 30 * time.Second, BackoffCoefficient: 2}, a0.Retry)
	assert.Equal(t, 30*time.Second, a0.Timeout)
	assert.False(t, a0.ContinueOnError)
	assert.Equal(t, "custom", a1.Name)
	assert.Equal(t, run.RetryPolicy{MaxAttempts: 5, InitialInterval: 1500 * time.Millisecond, MaxInterval: time.Minute, BackoffCoefficient: 3, RetryOn: []string{"ETIMEDOUT"}}, a1.Retry)
	assert.Equal(t, 2500*time.Millisecond, a1.Timeout)
	assert.True(t, a1.ContinueOnError)
	assert.Equal(t, run.TriggerRef{Tag: "d"}, in[0].Trigger)
}

func TestParseDuration(t *testing.T) {
	for in, want := range map[any]time.Duration{"1500ms": 1500 * time.Millisecond, "2s": 2 * time.Second, 250: 250 * time.Millisecond, 1.5: 1500 * time.Microsecond, "300": 300 * time.Millisecond} {
		d, err := value.ParseDuration(in)
		require.NoError(t, err, in)
		assert.Equal(t, want, d.Std(), in)
	}
	for _, in := range []any{"soon", -1, "-1s", true, nil} {
		_, err := value.ParseDuration(in)
		assert.Error(t, err, in)
	}
}

// A run's Actions and OnError slices are its own; their configurations
// are the Set's, shared read-only by every run (not copied per run).
func TestPlanMutationIsolated(t *testing.T) {
	s := mustSet(t, `
tag: a
tables: [users]
events: [afterInsert]
actions: [{type: log, config: {message: hi, fields: {a: 1}}}]
onError: [{type: log, config: {message: failed}}]
`)
	ev := run.Event{Table: "users", Operation: run.OperationInsert}
	first := s.Plan(ev)
	first[0].Actions[0].Name = "renamed"
	first[0].Actions = append(first[0].Actions, run.Action{Name: "extra"})
	first[0].OnError[0].Name = "renamed"
	second := s.Plan(ev)
	require.Len(t, second[0].Actions, 1)
	assert.Equal(t, "log-0", second[0].Actions[0].Name)
	assert.Equal(t, "log-0", second[0].OnError[0].Name)
	assert.Equal(t, reflect.ValueOf(first[0].Actions[0].Config).Pointer(), reflect.ValueOf(second[0].Actions[0].Config).Pointer(),
		"the configuration is shared, not copied per run")
}

func mustSet(t testing.TB, yaml string) *Set {
	t.Helper()
	defs, err := Parse([]byte(yaml), "test.yaml")
	require.NoError(t, err)
	s, err := NewSet(defs)
	require.NoError(t, err)
	return s
}

func TestParseYAMLValuesAreJSONLike(t *testing.T) {
	defs, err := Parse([]byte(`
tag: y
tables: [t]
events: [afterInsert]
condition: {field: created, operator: LESS_THAN, value: 2026-01-01T00:00:00Z}
actions: [{type: http, config: {url: "http://x.test", headers: {200: ok}, body: {at: 2026-01-01T00:00:00Z}}}]
`), "y.yaml")
	require.NoError(t, err)
	cfg := defs[0].Actions[0].Config
	assert.Equal(t, map[string]any{"200": "ok"}, cfg["headers"])
	assert.Equal(t, "2026-01-01T00:00:00Z", cfg["body"].(map[string]any)["at"])
	assert.Equal(t, "2026-01-01T00:00:00Z", defs[0].Condition.Value)
}
