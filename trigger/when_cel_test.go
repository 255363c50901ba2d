package trigger

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/triggerd/triggerd/run"
)

func whenSet(t testing.TB, when string, cond string) *Set {
	t.Helper()
	y := "tag: w\ntables: [orders]\nevents: [afterWrite]\nactions: [{type: log, config: {message: m}}]\nwhen: " + when + "\n"
	if cond != "" {
		y += "condition: " + cond + "\n"
	}
	return mustSet(t, y)
}

func TestWhenCEL(t *testing.T) {
	upd := run.Event{Table: "orders", Operation: run.OperationUpdate,
		Record:         map[string]any{"id": 1, "status": "cancelled", "total": 12.5, "price": dec("12.50"), "tags": []any{"vip"}, "addr": map[string]any{"city": "Paris"}, "n": nil},
		PreviousRecord: map[string]any{"id": 1, "status": "paid", "total": 12.5, "price": dec("12.50"), "tags": []any{"vip"}, "addr": map[string]any{"city": "Lyon"}},
		User:           map[string]any{"id": "u1", "roles": []any{"admin"}}, Schema: "public", Database: "app"}
	ins := run.Event{Table: "orders", Operation: run.OperationInsert, Record: map[string]any{"id": 2, "status": "new", "total": 3}}
	tests := []struct {
		when   string
		ev     run.Event
		want   bool
		reason string // fragment of the trace's reason
	}{
		{`"previousRecord.status != record.status"`, upd, true, ""}, // Gel's when (__old__.x != __new__.x)
		{`"changed('status')"`, upd, true, ""},
		{`"changed('total')"`, upd, false, ""},
		{`"changed('addr.city')"`, upd, true, ""},
		{`"changedTo('status', 'cancelled')"`, upd, true, ""},
		{`"changedTo('status', 'paid')"`, upd, false, ""},
		{`"changedFrom('status', 'paid') && record.total > 10"`, upd, true, ""},
		{`"changed('status')"`, ins, false, ""}, // the CHANGED family is false off updates
		{`"'status' in changedFields && !('total' in changedFields)"`, upd, true, ""},
		{`"size(changedFields) == 2"`, upd, true, ""},
		{`"event == 'afterUpdate' && table == 'orders' && operation == 'update' && database == 'app' && schema == 'public'"`, upd, true, ""},
		{`"user.id == 'u1' && 'admin' in user.roles"`, upd, true, ""},
		{`"record.total > 12"`, upd, true, ""},    // double vs int (cross-type numeric comparisons)
		{`"record.id == 1.0"`, upd, true, ""},     // int vs double equality
		{`"record.price == 12.5"`, upd, true, ""}, // Debezium decimal as double
		{`"record.total >= 3"`, ins, true, ""},
		{`"record.n == null"`, upd, true, ""},
		{`"has(record.nickname)"`, upd, false, ""},
		{`"record.nickname == 'x'"`, upd, false, "no such key"},               // missing key: false with a reason
		{`"previousRecord.status == 'x'"`, ins, false, "no such key: status"}, // no previous record on insert
		{`"record.status"`, upd, false, "not a boolean"},                      // dyn result checked at run time
		{`"record.tags.exists(t, t == 'vip')"`, upd, true, ""},
		{`"record.status.startsWith('can') && record.status.matches('^c.*d$')"`, upd, true, ""},
	}
	for _, tc := range tests {
		t.Run(tc.when, func(t *testing.T) {
			s := whenSet(t, tc.when, "")
			tc.ev.ID = "e"
			assert.Equal(t, tc.want, len(s.Plan(tc.ev)) == 1)
			m := s.Match(tc.ev)
			require.Len(t, m, 1)
			require.NotNil(t, m[0].When)
			assert.Equal(t, tc.want, m[0].When.Result)
			assert.Contains(t, m[0].When.Reason, tc.reason)
		})
	}
}

func TestWhenAndConditionBothHold(t *testing.T) {
	s := whenSet(t, `"record.total > 10"`, "{field: status, operator: EQUALS, value: paid}")
	ev := func(status string, total float64) run.Event {
		return run.Event{Table: "orders", Operation: run.OperationInsert, Record: map[string]any{"status": status, "total": total}}
	}
	assert.Len(t, s.Plan(ev("paid", 20)), 1)
	assert.Empty(t, s.Plan(ev("paid", 5)))
	assert.Empty(t, s.Plan(ev("new", 20)))
	m := s.Match(ev("paid", 5))
	assert.Equal(t, "when is false", m[0].Reason)
	assert.True(t, m[0].Condition.Result)
	m = s.Match(ev("new", 20))
	assert.Equal(t, "condition is false", m[0].Reason)
	assert.Nil(t, m[0].When, "when is not evaluated once the condition is false")
}

func TestWhenLoadErrors(t *testing.T) {
	tests := []struct{ when, want string }{
		{`"record.status == "`, "when: ERROR: <input>:1:18: Syntax error: mismatched input '<EOF>'"},
		{`"record.total + 1"`, `when: must be a boolean expression, "record.total + 1" is of type int`},
		{`"record.total"`, ""}, // dyn: allowed, checked at run time
		{`"1 + 1"`, `when: must be a boolean expression, "1 + 1" is of type int`},
		{`"event + 1 == 2"`, "when: ERROR: <input>:1:7: found no matching overload for '_+_' applied to '(string, int)'"},
		{`"nosuch == 1"`, "when: ERROR: <input>:1:1: undeclared reference to 'nosuch'"},
		{`"changed(1)"`, "when: ERROR: <input>:1:8: found no matching overload for '__changed'"},
		{`"table.size() == 'x'"`, "ERROR: <input>:1:"},
		{`"  "`, "when: must not be empty"},
		{`"record.x == 1\n  && event.foo"`, "when: ERROR: <input>:2:"},
	}
	for _, tc := range tests {
		t.Run(tc.when, func(t *testing.T) {
			y := "tag: w\ntables: [orders]\nevents: [afterWrite]\nactions: [{type: log, config: {message: m}}]\nwhen: " + tc.when + "\n"
			defs, err := Parse([]byte(y), "w.yaml")
			require.NoError(t, err)
			_, err = NewSet(defs)
			if tc.want == "" {
				require.NoError(t, err)
				return
			}
			var ve *ValidationError
			require.ErrorAs(t, err, &ve)
			require.Len(t, ve.Problems, 1, err.Error())
			assert.Equal(t, "when", ve.Problems[0].Field)
			assert.Contains(t, ve.Problems[0].String(), tc.want)
			assert.NotContains(t, ve.Problems[0].Reason, "\n")
		})
	}
}

func TestWhenCostLimit(t *testing.T) {
	s := whenSet(t, `"[1,2,3,4,5,6,7,8,9,10].all(a, [1,2,3,4,5,6,7,8,9,10].all(b, [1,2,3,4,5,6,7,8,9,10].all(c, [1,2,3,4,5,6,7,8,9,10].all(d, [1,2,3,4,5,6,7,8,9,10].all(e, a+b+c+d+e > 0)))))"`, "")
	m := s.Match(run.Event{Table: "orders", Operation: run.OperationInsert})
	require.NotNil(t, m[0].When)
	assert.False(t, m[0].When.Result)
	assert.Contains(t, m[0].When.Reason, "cost limit")
}

func TestWhenConcurrent(t *testing.T) {
	s := whenSet(t, `"changedTo('status', 'cancelled') && record.total > 10"`, "")
	done := make(chan bool)
	for g := 0; g < 8; g++ {
		go func(g int) {
			ok := true
			for i := 0; i < 200; i++ {
				st := []string{"cancelled", "paid"}[i%2]
				ev := run.Event{Table: "orders", Operation: run.OperationUpdate, Record: map[string]any{"status": st, "total": float64(g + 9)}, PreviousRecord: map[string]any{"status": "new"}}
				want := st == "cancelled" && g+9 > 10
				ok = ok && (len(s.Plan(ev)) == 1) == want
			}
			done <- ok
		}(g)
	}
	for g := 0; g < 8; g++ {
		assert.True(t, <-done)
	}
}

func BenchmarkPlanCEL(b *testing.B) {
	var sb strings.Builder
	sb.WriteString("triggers:\n")
	for i := 0; i < 20; i++ {
		fmt.Fprintf(&sb, "  - {tag: t%d, tables: [orders], events: [afterUpdate], when: \"changedTo('status', 'cancelled') && record.total > %d\", actions: [{type: log, config: {message: m}}]}\n", i, i)
	}
	s := mustSet(b, sb.String())
	ev := run.Event{ID: "e", Table: "orders", Operation: run.OperationUpdate,
		Record:         map[string]any{"id": 1, "status": "cancelled", "total": 12.5, "email": "a@b.c"},
		PreviousRecord: map[string]any{"id": 1, "status": "paid", "total": 12.5, "email": "a@b.c"}}
	if n := len(s.Plan(ev)); n != 13 {
		b.Fatalf("planned %d, want 13", n)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		s.Plan(ev)
	}
}
