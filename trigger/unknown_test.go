package trigger

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/triggerd/triggerd/run"
	"github.com/triggerd/triggerd/trigger/template"
)

// An update without a before image (REPLICA IDENTITY DEFAULT) and an
// unchanged TOAST column, as ingest decodes them.
var (
	noBefore = run.Event{Table: "t", Operation: run.OperationUpdate, Record: map[string]any{"id": 1, "name": "Ada", "body": "x"},
		Unavailable: []string{run.UnavailablePrevious}}
	toasted = run.Event{Table: "t", Operation: run.OperationUpdate, Record: map[string]any{"id": 1, "name": "Ada"},
		PreviousRecord: map[string]any{"id": 1, "name": "Ad"}, Unavailable: []string{"record.body", "previousRecord.body"}}
)

func TestUnknownIsNotFalse(t *testing.T) {
	tests := []struct {
		name, cond string
		ev         run.Event
		result     bool
		unknown    bool
		reason     string
	}{
		{"CHANGED without before", "{field: name, operator: CHANGED}", noBefore, false, true, "previousRecord is not available"},
		{"NOT_CHANGED without before", "{field: name, operator: NOT_CHANGED}", noBefore, false, true, "replica identity is not FULL"},
		{"not CHANGED without before", "{not: {field: name, operator: CHANGED}}", noBefore, false, true, "the sub-condition is unknown"},
		{"previousRecord field without before", "{field: previousRecord.name, operator: EQUALS, value: Ada}", noBefore, false, true, "previousRecord is not available"},
		{"without before, and a known false", "{and: [{field: name, operator: CHANGED}, {field: id, operator: EQUALS, value: 2}]}", noBefore, false, false, "a sub-condition is false: id EQUALS 2"},
		{"without before, or a known true", "{or: [{field: name, operator: CHANGED}, {field: id, operator: EQUALS, value: 1}]}", noBefore, true, false, ""},
		{"without before, or all unknown or false", "{or: [{field: name, operator: CHANGED}, {field: id, operator: EQUALS, value: 2}]}", noBefore, false, true, "no sub-condition is true, and one is unknown: name CHANGED"},
		{"record fields stay known", "{field: name, operator: EQUALS, value: Ada}", noBefore, true, false, ""},
		{"TOAST column", "{field: body, operator: CONTAINS, value: x}", toasted, false, true, "record.body is unavailable"},
		{"not TOAST column", "{not: {field: body, operator: IS_NULL}}", toasted, false, true, "the sub-condition is unknown"},
		{"IS_NULL on TOAST column is unknown, not true", "{field: body, operator: IS_NULL}", toasted, false, true, "unchanged TOAST value"},
		{"CHANGED on TOAST column", "{field: body, operator: CHANGED}", toasted, false, true, "record.body is unavailable"},
		{"CHANGED on another column", "{field: name, operator: CHANGED}", toasted, true, false, ""},
		{"a nested path of a TOAST column", "{field: 'body.a', operator: EQUALS, value: 1}", toasted, false, true, "record.body is unavailable"},
		{"insert: no previous record is not unknown", "{field: previousRecord.name, operator: IS_NULL}", run.Event{Table: "t", Operation: run.OperationInsert, Record: map[string]any{"id": 1}}, true, false, ""},
		{"events built in code without Unavailable", "{field: name, operator: CHANGED}", run.Event{Table: "t", Operation: run.OperationUpdate, Record: map[string]any{"name": "a"}}, false, true, "previousRecord is not available"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tr := evalOne(t, tc.cond, tc.ev)
			assert.Equal(t, tc.result, tr.Result, "%+v", tr)
			assert.Equal(t, tc.unknown, tr.Unknown, "%+v", tr)
			assert.Contains(t, tr.Reason, tc.reason)
		})
	}
}

func TestUnknownInCEL(t *testing.T) {
	tests := []struct {
		when    string
		ev      run.Event
		result  bool
		unknown bool
		reason  string
	}{
		{`"changed('name')"`, noBefore, false, true, "depends on unavailable values: previousRecord"},
		{`"!changed('name')"`, noBefore, false, true, "previousRecord"},
		{`"previousRecord.name != record.name"`, noBefore, false, true, "previousRecord"},
		{`"'name' in changedFields"`, noBefore, false, true, "changedFields"},
		{`"record.id == 1 || changed('name')"`, noBefore, true, false, ""},
		{`"record.id == 2 && changed('name')"`, noBefore, false, false, ""},
		{`"record.body.contains('x')"`, toasted, false, true, "depends on unavailable values: record.body"},
		{`"!record.body.contains('x')"`, toasted, false, true, "record.body"},
		{`"has(record.body)"`, toasted, false, true, "record.body"},
		{`"record.name == 'Ada'"`, toasted, true, false, ""},
		{`"changed('name')"`, toasted, true, false, ""},
		{`"changed('body')"`, toasted, false, true, "record.body"},
	}
	for _, tc := range tests {
		t.Run(tc.when, func(t *testing.T) {
			s := whenSet(t, tc.when, "")
			ev := tc.ev
			ev.Table = "orders"
			res := s.Match(ev)
			require.Len(t, res, 1)
			require.NotNil(t, res[0].When)
			tr := res[0].When
			assert.Equal(t, tc.result, tr.Result, "%+v", tr)
			assert.Equal(t, tc.unknown, tr.Unknown, "%+v", tr)
			assert.Contains(t, tr.Reason, tc.reason)
		})
	}
}

func TestPlanReportsUnknowns(t *testing.T) {
	var seen []Unknown
	var logs bytes.Buffer
	logObs := NewUnknownLog(slog.New(slog.NewTextHandler(&logs, nil)), nil)
	reg := NewRegistry(WithUnknownObserver(func(u Unknown) { seen = append(seen, u); logObs(u) }))
	require.NoError(t, reg.Replace(mustDefs(t, `
- tag: renamed
  tables: [t]
  events: [afterUpdate]
  condition: {field: name, operator: CHANGED}
  actions: [{type: log, config: {message: m}}]
- tag: either
  tables: [t]
  events: [afterUpdate]
  onUnknown: null
  condition: {or: [{field: name, operator: CHANGED}, {field: id, operator: EQUALS, value: 1}]}
  actions: [{type: log, config: {message: m}}]
`)))
	for range 3 {
		ins := reg.Plan(noBefore)
		require.Len(t, ins, 1)
		assert.Equal(t, "either", ins[0].Trigger.Tag)
		assert.Equal(t, run.OnUnknownNull, ins[0].OnUnknown)
		assert.Equal(t, []string{"condition name CHANGED was unknown (" + template.ReasonNoPrevious + "); the trigger matched on another branch"}, ins[0].Notes)
	}
	require.Len(t, seen, 6, "every evaluation is reported")
	assert.Equal(t, Unknown{Trigger: run.TriggerRef{Tag: "either"}, Table: "t", Field: "previousRecord", Condition: "name CHANGED", Reason: template.ReasonNoPrevious}, seen[0])
	assert.Equal(t, 2, strings.Count(logs.String(), "condition on an unavailable value is unknown"), "logged once per trigger and table: %s", logs.String())
}

func mustDefs(t *testing.T, y string) []Definition {
	t.Helper()
	defs, err := Parse([]byte(y), "t.yaml")
	require.NoError(t, err)
	return defs
}

func TestRenderUnknown(t *testing.T) {
	sc := template.Scope{Operation: "update", Record: map[string]any{"id": 1, "name": "Ada"}, PreviousRecord: nil,
		Unavailable: []string{"record.body", run.UnavailablePrevious}}
	cfg := map[string]any{"body": "{{record.body}}", "text": "b={{record.body}}", "list": []any{"{{record.body}}", "{{record.id}}"},
		"row": "{{record}}", "old": "{{previousRecord.name}}", "changed": "{{changedFields}}", "name": "{{record.name}}",
		"fallback": `{{record.body | default "n/a"}}`}

	_, _, err := template.RenderConfigTrace(cfg, sc)
	require.Error(t, err, "fail is the default")
	assert.Contains(t, err.Error(), "record.body is unavailable")
	assert.Contains(t, err.Error(), "onUnknown is fail")

	sc.OnUnknown = run.OnUnknownNull
	out, notes, err := template.RenderConfigTrace(cfg, sc)
	require.NoError(t, err)
	assert.Equal(t, map[string]any{"body": nil, "text": "b=", "list": []any{nil, 1}, "row": map[string]any{"id": 1, "name": "Ada", "body": nil},
		"old": nil, "changed": nil, "name": "Ada", "fallback": "n/a"}, out)
	assert.Contains(t, notes, "body: record.body is unavailable, rendered null")
	assert.Contains(t, notes, "old: previousRecord is unavailable, rendered null")

	sc.OnUnknown = run.OnUnknownOmit
	out, notes, err = template.RenderConfigTrace(cfg, sc)
	require.NoError(t, err)
	assert.Equal(t, map[string]any{"list": []any{1}, "row": map[string]any{"id": 1, "name": "Ada"}, "name": "Ada"}, out)
	assert.Contains(t, notes, "text: record.body is unavailable, left out")

	// Without Unavailable (runs recorded before it existed), a missing
	// previous record renders null as it always did.
	out, _, err = template.RenderConfigTrace(map[string]any{"old": "{{previousRecord.name}}"}, template.Scope{Operation: "update", Record: map[string]any{"id": 1}})
	require.NoError(t, err)
	assert.Equal(t, map[string]any{"old": nil}, out)
}

func TestRenderDecimalAndTime(t *testing.T) {
	sc := template.Scope{Record: map[string]any{"total": dec("1234.50"), "at": mustTime(t, "2024-01-15T10:15:30.123456Z")}}
	out, err := template.RenderConfig(map[string]any{"t": "{{record.total}}", "s": "total {{record.total}} at {{record.at}}", "j": "{{record | json}}"}, sc)
	require.NoError(t, err)
	assert.Equal(t, dec("1234.50"), out["t"])
	assert.Equal(t, "total 1234.50 at 2024-01-15T10:15:30.123456Z", out["s"])
	assert.Equal(t, `{"at":"2024-01-15T10:15:30.123456Z","total":"1234.50"}`, out["j"])
}

type fakeFetcher struct {
	calls int
	row   map[string]any
	err   error
}

func (f *fakeFetcher) FetchRow(_ context.Context, database string, ev *run.Event, cols []string) (map[string]any, error) {
	f.calls++
	if database != "main" {
		return nil, errors.New("no database " + database)
	}
	return f.row, f.err
}

func TestRefetch(t *testing.T) {
	defs := mustDefs(t, `
- tag: a
  tables: [t]
  events: [afterUpdate]
  refetch: {database: main}
  condition: {field: body, operator: CONTAINS, value: x}
  actions: [{type: log, config: {message: "{{record.body}}"}}]
- tag: b
  tables: [t]
  events: [afterUpdate]
  refetch: {database: main}
  condition: {field: body, operator: IS_NOT_NULL}
  actions: [{type: log, config: {message: m}}]
- tag: c
  tables: [t]
  events: [afterUpdate]
  condition: {field: body, operator: IS_NOT_NULL}
  actions: [{type: log, config: {message: m}}]
`)
	f := &fakeFetcher{row: map[string]any{"body": "xyz"}}
	reg := NewRegistry(WithRowFetcher(f, 0))
	require.NoError(t, reg.Replace(defs))
	ins := reg.Plan(toasted)
	require.Len(t, ins, 2, "c has no refetch: its condition stays unknown")
	assert.Equal(t, 1, f.calls, "one read per event and database")
	for _, in := range ins {
		assert.Equal(t, "xyz", in.Event.Record["body"])
		assert.Equal(t, []string{"previousRecord.body"}, in.Event.Unavailable)
		require.Len(t, in.Notes, 1)
		assert.Regexp(t, `^refetched body from database main in \S+$`, in.Notes[0])
	}
	assert.NotContains(t, toasted.Record, "body", "the event itself is not changed")

	f.err = errors.New("connection refused")
	assert.Empty(t, reg.Plan(toasted))
	f.err, f.row = nil, nil
	assert.Empty(t, reg.Plan(toasted), "the row is gone")

	rep := reg.Test(toasted)
	assert.Contains(t, rep.Triggers[0].Notes, "a run would first refetch body from database main (a dry run reads nothing)")
	assert.Contains(t, rep.Warnings, template.ReasonUnavailable("record.body"))
}

func TestUnknownHandlingFields(t *testing.T) {
	_, err := NewSet(mustDefs(t, `
tag: x
tables: [t]
events: [afterUpdate]
onUnknown: skip
refetch: {}
actions: [{type: log, config: {message: m}}]
`))
	require.Error(t, err)
	assert.Contains(t, err.Error(), `onUnknown: unknown value "skip" (want "fail", "null" or "omit")`)
	assert.Contains(t, err.Error(), "refetch.database: is required")

	defs := mustDefs(t, "tag: x\ntables: [t]\nevents: [afterUpdate]\nonUnknown: omit\nrefetch: {database: main}\nactions: [{type: log, config: {message: m}}]\n")
	doc, err := defs[0].MarshalJSON()
	require.NoError(t, err)
	assert.Contains(t, string(doc), `"onUnknown":"omit"`)
	assert.Contains(t, string(doc), `"refetch":{"database":"main"}`)
	back, err := ParseDocument(doc)
	require.NoError(t, err)
	assert.Equal(t, defs[0].UnknownHandling, back.UnknownHandling)

	// YAML's null is the null policy, not "unset".
	defs = mustDefs(t, "tag: x\ntables: [t]\nevents: [afterUpdate]\nonUnknown: null\nactions: [{type: log, config: {message: m}}]\n")
	assert.Equal(t, run.OnUnknownNull, defs[0].OnUnknown)
}

func mustTime(t *testing.T, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339Nano, s)
	require.NoError(t, err)
	return v
}

func TestPreviousRecordReaders(t *testing.T) {
	s := mustSet(t, `
- {tag: cond, tables: [public.orders], events: [afterUpdate], condition: {field: status, operator: CHANGED}, actions: [{type: log, config: {message: m}}]}
- {tag: prev, tables: [orders], events: [afterUpdate], condition: {field: previousRecord.status, operator: EQUALS, value: a}, actions: [{type: log, config: {message: m}}]}
- {tag: cel, tables: [orders], events: [afterUpdate], when: "changedTo('status', 'x')", actions: [{type: log, config: {message: m}}]}
- {tag: tpl, tables: [users], events: [afterUpdate], actions: [{type: log, config: {message: "{{changedFields}}"}}]}
- {tag: only, tables: [users], events: [afterUpdate], onlyOnChange: true, actions: [{type: log, config: {message: m}}]}
- {tag: none, tables: [users], events: [afterUpdate], condition: {field: status, operator: EQUALS, value: a}, actions: [{type: log, config: {message: "{{record.id}}"}}]}
- {tag: off, enabled: false, tables: [users], events: [afterUpdate], condition: {field: status, operator: CHANGED}, actions: [{type: log, config: {message: m}}]}
`)
	assert.Equal(t, map[string][]string{"public.orders": {"cond"}, "orders": {"cel", "prev"}, "users": {"only", "tpl"}}, s.PreviousRecordReaders())
}
