package trigger

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/triggerd/triggerd/run"
)

func def(tag string, prio int, tables ...string) Definition {
	return Definition{Tag: tag, Enabled: true, Priority: prio, Tables: tables, Events: []string{EventAfterWrite},
		Actions: []Action{{Type: "log", Config: map[string]any{"message": "{{trigger.tag}} {{record.id}}"}}}}
}

func TestRegistry(t *testing.T) {
	r := NewRegistry()
	ev := run.Event{ID: "e", Table: "users", Operation: run.OperationInsert, Record: map[string]any{"id": 1}}
	assert.Empty(t, r.Plan(ev))
	assert.Equal(t, 0, r.Snapshot().Len())

	require.NoError(t, r.Replace([]Definition{def("p1", 10, "users"), def("p2", 20, "orders")}))
	require.NoError(t, r.Register(def("local", 5, "users")))
	assert.Equal(t, []string{"local", "p1"}, planTags2(r.Plan(ev)))
	assert.Equal(t, []string{"local"}, r.Registered())

	// Duplicates are refused either way, and the old set stays.
	err := r.Register(def("p1", 1, "users"))
	assert.EqualError(t, err, `trigger "p1": tag: duplicate tag (a persisted trigger has it)`)
	err = r.Register(def("local", 1, "users"))
	assert.EqualError(t, err, `trigger "local": tag: duplicate tag (already registered in this process)`)
	err = r.Replace([]Definition{def("local", 1, "users")})
	assert.ErrorContains(t, err, "duplicate tag")
	bad := def("bad", 1, "users")
	bad.Events = nil
	assert.ErrorContains(t, r.Replace([]Definition{bad}), `trigger "bad": events: must list at least one event`)
	assert.ErrorContains(t, r.Register(bad), "events: must list at least one event")
	assert.Equal(t, []string{"local", "p1"}, planTags2(r.Plan(ev)), "failed changes leave the set as it was")

	// A plan is a snapshot: later changes do not reach it.
	planned := r.Plan(ev)
	snap := r.Snapshot()
	require.NoError(t, r.Replace(nil))
	assert.True(t, r.Unregister("local"))
	assert.False(t, r.Unregister("local"))
	assert.Empty(t, r.Plan(ev))
	assert.Equal(t, []string{"local", "p1"}, planTags2(planned))
	assert.Equal(t, []string{"local", "p1"}, planTags2(snap.Plan(ev)))
	assert.Equal(t, "{{trigger.tag}} {{record.id}}", planned[0].Actions[0].Config["message"])
}

func planTags2(ins []run.Input) []string {
	var out []string
	for _, in := range ins {
		out = append(out, in.Trigger.Tag)
	}
	return out
}

func TestTriggersFor(t *testing.T) {
	s := mustSet(t, `
triggers:
  - {tag: ins, tables: [public.users], events: [afterInsert], actions: [{type: log, config: {message: m}}]}
  - {tag: any, tables: [users], events: [afterWrite], priority: 1, actions: [{type: log, config: {message: m}}]}
  - {tag: before, tables: [users], events: [beforeUpdate], validate: [{expr: "record.name != ''", message: name is required}]}
  - {tag: off, enabled: false, tables: [users], events: [afterInsert], actions: [{type: log, config: {message: m}}]}
  - {tag: other, tables: [orders], events: [afterInsert], actions: [{type: log, config: {message: m}}]}
`)
	tests := []struct {
		table, event string
		want         []string
	}{
		{"users", "afterInsert", []string{"any", "ins"}},
		{"public.users", "AFTER_INSERT", []string{"any", "ins"}},
		{"app.public.users", "afterInsert", []string{"any", "ins"}},
		{"audit.users", "afterInsert", []string{"any"}},
		{"users", "afterUpdate", []string{"any"}},
		{"users", "afterWrite", []string{"any"}},
		{"users", "beforeUpdate", []string{"before"}},
		{"orders", "afterInsert", []string{"other"}},
		{"users", "onInsert", nil},
	}
	for _, tc := range tests {
		var got []string
		for _, d := range s.TriggersFor(tc.table, tc.event) {
			got = append(got, d.Tag)
		}
		assert.Equal(t, tc.want, got, "%s %s", tc.table, tc.event)
	}
}

func TestRegistryExecute(t *testing.T) {
	r := NewRegistry()
	require.NoError(t, r.Replace([]Definition{def("a", 1, "t"), def("b", 2, "t"), def("c", 3, "t")}))
	var started []string
	ins, err := r.Execute(context.Background(), run.Event{ID: "e", Table: "t", Operation: run.OperationUpdate}, func(_ context.Context, in run.Input) error {
		started = append(started, in.Trigger.Tag)
		if in.Trigger.Tag == "b" {
			return errors.New("boom")
		}
		return nil
	})
	assert.Len(t, ins, 3)
	assert.Equal(t, []string{"a", "b", "c"}, started, "every run is attempted")
	assert.EqualError(t, err, `trigger "b": boom`)

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = r.Execute(ctx, run.Event{ID: "e", Table: "t", Operation: run.OperationUpdate}, func(context.Context, run.Input) error { return nil })
	assert.ErrorIs(t, err, context.Canceled)
}

// TestRegistryConcurrent is meant for go test -race: readers plan while
// writers replace, register and unregister.
func TestRegistryConcurrent(t *testing.T) {
	r := NewRegistry()
	ev := run.Event{ID: "e", Table: "t", Operation: run.OperationInsert, Record: map[string]any{"id": 1}}
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				for _, in := range r.Plan(ev) {
					in.Actions[0].Name = "mutated" // a plan's slices are the caller's own
				}
				r.Test(ev)
				r.TriggersFor("t", "afterInsert")
			}
		}()
	}
	for i := 0; i < 200; i++ {
		tag := fmt.Sprintf("l%d", i%5)
		if !r.Unregister(tag) {
			require.NoError(t, r.Register(def(tag, i, "t")))
		}
		require.NoError(t, r.Replace([]Definition{def("p", 1, "t"), def(fmt.Sprintf("q%d", i), 2, "t")}))
	}
	close(stop)
	wg.Wait()
	for _, in := range r.Plan(ev) {
		assert.Equal(t, "{{trigger.tag}} {{record.id}}", in.Actions[0].Config["message"])
	}
}

func TestDryRunReport(t *testing.T) {
	s := mustSet(t, `
triggers:
  - tag: cancelled
    name: Cancelled
    tables: [orders]
    events: [afterUpdate]
    condition: {field: status, operator: CHANGED_TO, value: cancelled}
    actions:
      - type: http
        name: hook
        config: {url: "https://x.test/o/{{record.id}}?n={{record.nickname}}", body: {run: "{{run.id}}", at: "{{timestamp}}", prev: "{{previousRecord.status}}"}}
      - type: log
        config: {message: "{{actions.hook.output.status}}"}
  - {tag: off, enabled: false, tables: [orders], events: [afterUpdate], actions: [{type: log, config: {message: "{{record.id}}"}}]}
  - {tag: inserts, tables: [orders], events: [afterInsert], actions: [{type: log, config: {message: m}}]}
  - {tag: paid, tables: [orders], events: [afterUpdate], condition: {field: status, operator: EQUALS, value: paid}, actions: [{type: log, config: {message: m}}]}
  - {tag: elsewhere, tables: [users], events: [afterUpdate], actions: [{type: log, config: {message: m}}]}
`)
	ev := run.Event{ID: "e", Table: "orders", Operation: run.OperationUpdate, Timestamp: time.Date(2026, 1, 2, 10, 0, 0, 0, time.UTC),
		Record: map[string]any{"id": 7, "status": "cancelled"}, PreviousRecord: map[string]any{"id": 7, "status": "paid"}}
	rep := s.Test(ev)
	assert.Equal(t, []string{"cancelled"}, rep.Matched)
	byTag := map[string]TriggerReport{}
	var tags []string
	for _, tr := range rep.Triggers {
		byTag[tr.Tag] = tr
		tags = append(tags, tr.Tag)
	}
	assert.Equal(t, []string{"cancelled", "inserts", "off", "paid"}, tags, "only triggers on the table, disabled included")
	c := byTag["cancelled"]
	assert.True(t, c.Matched)
	require.Len(t, c.Actions, 2)
	assert.Equal(t, "https://x.test/o/7?n=", c.Actions[0].Config["url"])
	assert.Equal(t, map[string]any{"run": "dry-run", "at": "2026-01-02T10:00:00Z", "prev": "paid"}, c.Actions[0].Config["body"])
	assert.Equal(t, []string{"actions[0].config.url: record.nickname is missing"}, c.Actions[0].Notes)
	assert.Equal(t, []string{"actions[1].config.message: actions.hook.output.status is missing"}, c.Actions[1].Notes)
	assert.Equal(t, `changed from "paid" to "cancelled"`, c.Condition.Reason)

	off := byTag["off"]
	assert.False(t, off.Matched)
	assert.True(t, off.WouldMatch)
	assert.Equal(t, "disabled (the event would match it)", off.Reason)
	assert.Len(t, off.Actions, 1)
	assert.Equal(t, "event afterUpdate is not one of afterInsert", byTag["inserts"].Reason)
	assert.Equal(t, "condition is false", byTag["paid"].Reason)
	assert.False(t, byTag["paid"].Condition.Result)

	b, err := json.MarshalIndent(rep, "", "  ")
	require.NoError(t, err)
	assert.Contains(t, string(b), `"reason": "condition is false"`)
	assert.Contains(t, string(b), `"condition": "status EQUALS \"paid\""`)

	rep = s.Test(run.Event{Table: "orders", Operation: run.OperationRead})
	assert.Empty(t, rep.Matched)
	assert.Contains(t, rep.Triggers[0].Reason, `operation "read" raises no trigger event`)
}
