package gate_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/triggerd/triggerd/gate"
	"github.com/triggerd/triggerd/internal/testenv"
	"github.com/triggerd/triggerd/run"
	"github.com/triggerd/triggerd/trigger"
)

// newGate builds a gate over the triggers in yaml, with its audit log in
// logs and its metrics on reg.
func newGate(t testing.TB, yaml string, lk trigger.Lookuper, logs *bytes.Buffer, reg *prometheus.Registry) *gate.Gate {
	t.Helper()
	defs, err := trigger.Parse([]byte(yaml), "gate.yaml")
	require.NoError(t, err)
	r := trigger.NewRegistry()
	require.NoError(t, r.Replace(defs))
	o := gate.Options{Triggers: r.Snapshot, Lookups: lk}
	if logs != nil {
		o.Logger = slog.New(slog.NewTextHandler(logs, nil))
	}
	if reg != nil {
		o.Metrics = gate.NewMetrics(reg)
	}
	return gate.New(o)
}

const usersTriggers = `
triggers:
  # Priority 20 runs second: it sees the email the first one normalised.
  - tag: users-full-name
    tables: [users]
    events: [beforeWrite]
    priority: 20
    set:
      - {field: full_name, expr: "record.first_name + ' ' + record.last_name"}
      - {field: handle, value: "{{record.email}}"}
    validate:
      - {condition: {field: full_name, operator: IS_NOT_EMPTY}, message: a name is required}
  - tag: users-normalise
    tables: [public.users]
    events: [beforeInsert, beforeUpdate]
    priority: 10
    set:
      - {field: email, value: "{{record.email | lower}}"}
      - {field: role, value: member, ifMissing: true}
    validate:
      - {condition: {field: email, operator: MATCHES, value: "^[^@ ]+@[^@ ]+$"}, message: "{{record.email}} is not a valid email"}
  - tag: users-email-frozen
    tables: [users]
    events: [beforeUpdate]
    validate:
      - expr: "record.email == previousRecord.email || previousRecord.verified != true"
        field: email
        message: "a verified email cannot change (was {{previousRecord.email}})"
`

func TestBulkInsertAllOrNothing(t *testing.T) {
	var logs bytes.Buffer
	reg := prometheus.NewRegistry()
	g := newGate(t, usersTriggers, nil, &logs, reg)
	recs := []map[string]any{
		{"email": "A@x.io", "first_name": "Ada", "last_name": "L"},
		{"email": "bad email", "first_name": "Bob", "last_name": "B"},
		{"email": "c@x.io", "first_name": "Cy", "last_name": "C"},
	}
	res, err := g.Evaluate(context.Background(), gate.Request{Table: "public.users", Operation: run.OperationInsert, Records: recs})
	require.NoError(t, err)
	assert.True(t, res.Rejected)
	assert.Nil(t, res.Records)
	assert.Equal(t, []gate.RecordError{{Index: 1, Trigger: "users-normalise", Field: "email", Message: "bad email is not a valid email", Rule: "validate[0]"}}, res.Errors)
	assert.Equal(t, "A@x.io", recs[0]["email"], "the caller's records are not modified")
	assert.Contains(t, logs.String(), `msg="gate rejected a record" table=public.users operation=insert index=1 trigger=users-normalise rule=validate[0] field=email`)
	assert.NotContains(t, logs.String(), "rewrote", "nothing of a rejected batch is written, so nothing was rewritten")
	assert.Equal(t, 1.0, counter(t, reg, "triggerd_gate_rejections_total", map[string]string{"table": "public.users", "trigger": "users-normalise"}))
}

func TestMutationChainInPriorityOrder(t *testing.T) {
	var logs bytes.Buffer
	reg := prometheus.NewRegistry()
	g := newGate(t, usersTriggers, nil, &logs, reg)
	res, err := g.Evaluate(context.Background(), gate.Request{Table: "users", Operation: run.OperationInsert,
		Records: []map[string]any{{"email": "Ada@Example.COM", "first_name": "Ada", "last_name": "Lovelace", "role": "admin"}}})
	require.NoError(t, err)
	require.False(t, res.Rejected, res.Errors)
	assert.Equal(t, []map[string]any{{"email": "ada@example.com", "first_name": "Ada", "last_name": "Lovelace", "role": "admin",
		"full_name": "Ada Lovelace", "handle": "ada@example.com"}}, res.Records, "the second trigger sees the first one's email")
	var order []string
	for _, r := range res.Trace[0] {
		order = append(order, r.Trigger.Tag)
	}
	assert.Equal(t, []string{"users-normalise", "users-full-name"}, order)
	assert.Contains(t, logs.String(), `msg="gate rewrote a record" table=users operation=insert index=0 trigger=users-normalise fields=[email]`)
	assert.Equal(t, 1.0, counter(t, reg, "triggerd_gate_requests_total", map[string]string{"table": "users", "operation": "insert", "outcome": "allowed"}))
}

func TestUpdateRuleOnPreviousRecord(t *testing.T) {
	g := newGate(t, usersTriggers, nil, nil, nil)
	eval := func(prev map[string]any) *gate.Result {
		res, err := g.Evaluate(context.Background(), gate.Request{Table: "users", Operation: run.OperationUpdate,
			Records:         []map[string]any{{"email": "new@x.io", "first_name": "A", "last_name": "B"}},
			PreviousRecords: []map[string]any{prev}})
		require.NoError(t, err)
		return res
	}
	res := eval(map[string]any{"email": "old@x.io", "verified": true})
	assert.Equal(t, []gate.RecordError{{Index: 0, Trigger: "users-email-frozen", Field: "email", Message: "a verified email cannot change (was old@x.io)", Rule: "validate[0]"}}, res.Errors)
	res = eval(map[string]any{"email": "old@x.io", "verified": false})
	assert.False(t, res.Rejected, res.Errors)
	res = eval(map[string]any{"email": "new@x.io", "verified": true})
	assert.False(t, res.Rejected, res.Errors)
}

// TestLookupTimeoutPolicies runs SQL lookups on real PostgreSQL: one that
// takes longer than its budget (pg_sleep) under each failure policy, and
// one that answers.
// heldDB is a database whose transactions never begin: BeginTx blocks
// until the caller's context ends (the lookup's timeout) or the test
// releases it. A lookup on it times out whatever the machine's speed,
// where a query sleeping longer than the timeout is a race.
type heldDB struct{ release chan struct{} }

func (h heldDB) BeginTx(ctx context.Context, _ pgx.TxOptions) (pgx.Tx, error) {
	select {
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-h.release:
		return nil, errors.New("released by the test")
	}
}

func TestLookupTimeoutPolicies(t *testing.T) {
	pool, err := pgxpool.New(context.Background(), testenv.PostgresDSN(t))
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	held := heldDB{release: make(chan struct{})}
	t.Cleanup(func() { close(held.release) })
	lk := &gate.Lookups{DBs: map[string]gate.DB{"default": pool, "held": held}}
	// The timeout is generous, so that the real database answers within
	// it on a loaded machine; the held one never does.
	yaml := func(policy string) string {
		return fmt.Sprintf(`
tag: orders-credit
tables: [orders]
events: [beforeInsert]
lookups:
  - name: credit
    sql:
      database: "{{record.db}}"
      query: "select 500 as limit_cents"
    timeout: 2s
    onError: %s
    default: {row: {limit_cents: 1000}}
validate:
  - expr: "record.total_cents <= lookups.credit.row.limit_cents"
    field: total_cents
    message: "over the credit limit of {{lookups.credit.row.limit_cents}}"
`, policy)
	}
	eval := func(g *gate.Gate, db string, total int) *gate.Result {
		res, err := g.Evaluate(context.Background(), gate.Request{Table: "orders", Operation: run.OperationInsert,
			Records: []map[string]any{{"db": db, "total_cents": total}}})
		require.NoError(t, err)
		return res
	}
	reg := prometheus.NewRegistry()
	reject := newGate(t, yaml("reject"), lk, nil, reg)
	res := eval(reject, "default", 400)
	assert.False(t, res.Rejected, res.Errors)
	res = eval(reject, "default", 700)
	assert.Equal(t, "over the credit limit of 500", res.Errors[0].Message)
	res = eval(reject, "held", 400)
	require.True(t, res.Rejected)
	assert.Equal(t, gate.RecordError{Index: 0, Trigger: "orders-credit", Message: "lookup credit failed: timed out after 2s", Rule: "lookups[0]"}, res.Errors[0])
	assert.Equal(t, 1.0, counter(t, reg, "triggerd_gate_lookup_failures_total", map[string]string{"trigger": "orders-credit", "lookup": "credit", "policy": "reject"}))

	cont := newGate(t, yaml("continue"), lk, nil, nil)
	res = eval(cont, "held", 700)
	assert.False(t, res.Rejected, "the default limit (1000) applies when the lookup times out")
	assert.Equal(t, "timed out after 2s", res.Trace[0][0].Lookups[0].Error)
	assert.Equal(t, "continue", res.Trace[0][0].Lookups[0].Policy)
	res = eval(cont, "held", 1200)
	assert.Equal(t, "over the credit limit of 1000", res.Errors[0].Message)

	// Lookups are read-only: a write is refused by the READ ONLY transaction.
	ro := newGate(t, `
tag: sneaky
tables: [t]
events: [beforeInsert]
lookups: [{name: w, sql: {query: "create table gate_sneaky (x int)"}}]
validate: [{expr: "true", message: m}]
`, lk, nil, nil)
	res, err = ro.Evaluate(context.Background(), gate.Request{Table: "t", Operation: run.OperationInsert, Records: []map[string]any{{}}})
	require.NoError(t, err)
	require.True(t, res.Rejected)
	assert.Contains(t, res.Errors[0].Message, "read-only transaction")

	many := newGate(t, `
tag: many
tables: [t]
events: [beforeInsert]
lookups: [{name: rows, sql: {query: "select generate_series(1, 1000) as n"}}]
validate: [{expr: "true", message: m}]
`, lk, nil, nil)
	res, err = many.Evaluate(context.Background(), gate.Request{Table: "t", Operation: run.OperationInsert, Records: []map[string]any{{}}})
	require.NoError(t, err)
	assert.Equal(t, "lookup rows failed: more than 100 rows: a lookup returns at most 100 (add LIMIT)", res.Errors[0].Message)
}

func TestHTTPLookupAndDepth(t *testing.T) {
	var depth string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		depth = r.Header.Get(gate.DepthHeader)
		if strings.HasSuffix(r.URL.Path, "/blocked.io") {
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(`{"blocked": true}`))
			return
		}
		http.NotFound(w, r)
	}))
	t.Cleanup(srv.Close)
	g := newGate(t, fmt.Sprintf(`
tag: domains
tables: [users]
events: [beforeInsert]
lookups:
  - {name: domain, http: {url: "%s/domains/{{record.domain}}"}}
validate:
  - {expr: "lookups.domain.status == 404 || lookups.domain.body.blocked != true", field: email, message: "{{record.domain}} is blocked"}
`, srv.URL), &gate.Lookups{HTTP: srv.Client()}, nil, nil)
	res, err := g.Evaluate(context.Background(), gate.Request{Table: "users", Operation: run.OperationInsert, Depth: 2,
		Records: []map[string]any{{"domain": "fine.io"}, {"domain": "blocked.io"}}})
	require.NoError(t, err)
	assert.Equal(t, []gate.RecordError{{Index: 1, Trigger: "domains", Field: "email", Message: "blocked.io is blocked", Rule: "validate[0]"}}, res.Errors)
	assert.Equal(t, "3", depth, "lookups carry the depth, so a lookup calling the gate cannot loop")

	_, err = g.Evaluate(context.Background(), gate.Request{Table: "users", Operation: run.OperationInsert, Depth: gate.MaxDepth + 1, Records: []map[string]any{{}}})
	assert.ErrorIs(t, err, gate.ErrTooDeep)
}

// counter reads the counter of reg with this name and labels.
func counter(t *testing.T, reg *prometheus.Registry, name string, labels map[string]string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	require.NoError(t, err)
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	metrics:
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if labels[l.GetName()] != l.GetValue() {
					continue metrics
				}
			}
			return m.GetCounter().GetValue()
		}
	}
	return 0
}

// TestReloadAppliesAtOnce: the gate reads the registry's current set on
// every request, so a reload (Replace) changes the very next answer.
func TestReloadAppliesAtOnce(t *testing.T) {
	reg := trigger.NewRegistry()
	g := gate.New(gate.Options{Triggers: reg.Snapshot})
	req := gate.Request{Table: "users", Operation: run.OperationInsert, Records: []map[string]any{{"email": "x"}}}
	res, err := g.Evaluate(context.Background(), req)
	require.NoError(t, err)
	assert.False(t, res.Rejected, "no before-trigger: records pass unchanged")
	assert.Equal(t, req.Records, res.Records)

	defs, err := trigger.Parse([]byte(usersTriggers), "users.yaml")
	require.NoError(t, err)
	require.NoError(t, reg.Replace(defs))
	res, err = g.Evaluate(context.Background(), req)
	require.NoError(t, err)
	assert.True(t, res.Rejected)

	require.NoError(t, reg.Replace(nil))
	res, err = g.Evaluate(context.Background(), req)
	require.NoError(t, err)
	assert.False(t, res.Rejected)
}

// TestConcurrentRequests shares one gate between goroutines (run with
// -race): compiled rules are immutable and every request has its own state.
func TestConcurrentRequests(t *testing.T) {
	g := newGate(t, usersTriggers, nil, nil, prometheus.NewRegistry())
	errs := make(chan error, 8)
	for w := 0; w < 8; w++ {
		go func() {
			for i := 0; i < 50; i++ {
				res, err := g.Evaluate(context.Background(), gate.Request{Table: "users", Operation: run.OperationInsert,
					Records: []map[string]any{{"email": fmt.Sprintf("U%d@X.io", i), "first_name": "A", "last_name": "B"}}})
				if err == nil && (res.Rejected || res.Records[0]["email"] != fmt.Sprintf("u%d@x.io", i)) {
					err = fmt.Errorf("request %d: %+v", i, res)
				}
				if err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}()
	}
	for w := 0; w < 8; w++ {
		require.NoError(t, <-errs)
	}
}

func TestTablesWithoutTriggersShareALabel(t *testing.T) {
	reg := prometheus.NewRegistry()
	g := newGate(t, usersTriggers, nil, nil, reg)
	for _, table := range []string{"a", "b", "c"} {
		_, err := g.Evaluate(context.Background(), gate.Request{Table: table, Operation: run.OperationInsert, Records: []map[string]any{{}}})
		require.NoError(t, err)
	}
	assert.Equal(t, 3.0, counter(t, reg, "triggerd_gate_requests_total", map[string]string{"table": "(none)", "operation": "insert", "outcome": "allowed"}))
	res, err := gate.New(gate.Options{}).Evaluate(context.Background(), gate.Request{Table: "x", Operation: run.OperationDelete, Records: []map[string]any{{"id": 1}}})
	require.NoError(t, err, "a gate without triggers is usable")
	assert.False(t, res.Rejected)
}

func TestDeleteRule(t *testing.T) {
	g := newGate(t, `
tag: keep-admins
tables: [users]
events: [beforeDelete]
validate:
  - {condition: {field: previousRecord.role, operator: NOT_EQUALS, value: admin}, message: "{{record.email}} is an admin: demote before deleting"}
`, nil, nil, nil)
	res, err := g.Evaluate(context.Background(), gate.Request{Table: "users", Operation: run.OperationDelete,
		Records: []map[string]any{{"id": 1, "email": "a@x.io", "role": "member"}, {"id": 2, "email": "b@x.io", "role": "admin"}}})
	require.NoError(t, err)
	assert.Equal(t, []gate.RecordError{{Index: 1, Trigger: "keep-admins", Message: "b@x.io is an admin: demote before deleting", Rule: "validate[0]"}}, res.Errors,
		"a delete's previousRecord is the row deleted, as in change events")
	_, err = g.Evaluate(context.Background(), gate.Request{Table: "users", Operation: run.OperationInsert,
		Records: []map[string]any{{}}, PreviousRecords: []map[string]any{{}}})
	var re *gate.RequestError
	require.ErrorAs(t, err, &re)
	assert.Equal(t, "previousRecords", re.Field)
}
