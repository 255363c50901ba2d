package trigger

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/triggerd/triggerd/run"
)

type fakeLookuper func(ctx context.Context, kind string, cfg map[string]any) (any, error)

func (f fakeLookuper) Lookup(ctx context.Context, kind string, cfg map[string]any) (any, error) {
	return f(ctx, kind, cfg)
}

func TestBeforeRulesRefusedWhereTheyCannotRun(t *testing.T) {
	_, err := Parse([]byte(`
triggers:
  - tag: with-actions
    tables: [users]
    events: [beforeInsert]
    actions: [{type: log, config: {message: m}}]
  - tag: mixed
    tables: [users]
    events: [beforeInsert, afterInsert]
    set: [{field: a, value: 1}]
  - tag: after-with-set
    tables: [users]
    events: [afterInsert]
    set: [{field: a, value: 1}]
    actions: [{type: log, config: {message: m}}]
  - tag: empty
    tables: [users]
    events: [beforeUpdate]
  - tag: after-reads-lookups
    tables: [users]
    events: [afterInsert]
    when: "lookups.x == 1 && record.note != 'lookups'"
    actions: [{type: log, config: {message: m}}]
  - tag: after-condition-lookups
    tables: [users]
    events: [afterInsert]
    condition: {field: lookups.x, operator: IS_NULL}
    actions: [{type: log, config: {message: m}}]
  - tag: before-with-durable-settings
    tables: [users]
    events: [beforeInsert]
    for: all
    onError: [{type: log, config: {message: m}}]
    snapshot: ignore
    set: [{field: a, value: 1}]
  - tag: after-string-lookups
    tables: [users]
    events: [afterInsert]
    when: "record.note != 'lookups'"
    actions: [{type: log, config: {message: m}}]
  - tag: bad-rules
    tables: [users]
    events: [beforeWrite]
    lookups:
      - {name: slow, http: {url: "http://x"}, timeout: 10s}
      - {name: both, http: {url: "http://x"}, sql: {query: "select 1"}}
      - {name: q, sql: {query: "select * from t where id = {{record.id}}"}, onError: maybe}
      - {name: put, http: {url: "http://x", method: PUT}}
      - {name: Bad-Name, http: {url: "http://x"}}
      - {name: put, http: {url: "http://x"}}
      - {name: keyed, http: {url: "http://x", headers: {Authorization: "Bearer {{secret.API_KEY}}"}}}
      - {name: dbkeyed, sql: {database: "{{secret.DB_NAME}}", query: "select 1 where $1 <> ''", args: ["{{secret.TENANT}}"]}}
    set:
      - {field: token, value: "{{secret.API_KEY}}"}
      - {field: a.b, value: 1}
      - {field: c}
      - {field: d, expr: "record.x +"}
    validate:
      - {expr: "record.a > 1"}
      - {message: m}
      - {expr: "1", condition: {field: a, operator: IS_NULL}, message: m}
`), "b.yaml")
	var ve *ValidationError
	require.ErrorAs(t, err, &ve)
	msg := ve.Error()
	for _, want := range []string{
		`trigger "with-actions": actions: a before-trigger cannot run actions`,
		`trigger "mixed": events: mixes before* and after* events`,
		`trigger "after-with-set": set: only before-triggers`,
		`trigger "empty": validate: a before-trigger needs at least one of lookups, set and validate`,
		`trigger "after-reads-lookups": when: reads lookups, which only before-triggers have`,
		`trigger "after-condition-lookups": condition: reads lookups, which only before-triggers have`,
		`trigger "before-with-durable-settings": for: not supported on a before-trigger`,
		`trigger "before-with-durable-settings": onError: not supported on a before-trigger`,
		`trigger "before-with-durable-settings": snapshot: not supported on a before-trigger`,
		`trigger "bad-rules": lookups[0].timeout: must be at most 5s`,
		`trigger "bad-rules": lookups[1]: must hold one of http and sql, not both`,
		`trigger "bad-rules": lookups[2].onError: unknown policy "maybe"`,
		`trigger "bad-rules": lookups[2].sql.query: must not contain templates`,
		`trigger "bad-rules": lookups[3].http.method: PUT`,
		`trigger "bad-rules": lookups[4].name: "Bad-Name" must be a lower-case identifier`,
		`trigger "bad-rules": lookups[5].name: duplicate lookup name "put"`,
		`trigger "bad-rules": set[0].value: {{secret.API_KEY}}: a set value or message would hand the secret to the application`,
		`trigger "bad-rules": set[1].field: "a.b": set assigns a top-level column`,
		`trigger "bad-rules": set[2].value: is required (or expr)`,
		`trigger "bad-rules": set[3].expr: ERROR`,
		`trigger "bad-rules": validate[0].message: is required`,
		`trigger "bad-rules": validate[1]: must hold a condition or an expr`,
		`trigger "bad-rules": validate[2]: must hold one of condition and expr, not both`,
	} {
		assert.Contains(t, msg, want)
	}
	assert.NotContains(t, msg, "after-string-lookups", "a string is not a reference")
	assert.NotContains(t, msg, "lookups[6]", "a lookup may name secrets: the gate resolves them")
	assert.NotContains(t, msg, "lookups[7]", "a lookup may name secrets: the gate resolves them")
}

func TestBeforeRunMutationChainAndValidation(t *testing.T) {
	s := mustSet(t, `
triggers:
  - tag: b-full-name
    tables: [users]
    events: [beforeWrite]
    priority: 20
    set:
      - {field: full_name, expr: "record.first_name + ' ' + record.last_name"}
    validate:
      - {condition: {field: email, operator: MATCHES, value: "^[a-z0-9.]+@[a-z0-9.]+$"}, message: "{{record.email}} is not a valid email"}
  - tag: a-normalise
    tables: [public.users]
    events: [beforeInsert]
    priority: 10
    set:
      - {field: email, value: "{{record.email | lower}}"}
      - {field: role, value: member, ifMissing: true}
      - {field: first_name, value: "{{record.first_name | default \"Anonymous\"}}"}
  - tag: off
    enabled: false
    tables: [users]
    events: [beforeInsert]
    set: [{field: role, value: never}]
  - tag: other-table
    tables: [orders]
    events: [beforeInsert]
    set: [{field: role, value: never}]
`)
	bts := s.BeforeTriggers("users", run.OperationInsert)
	require.Len(t, bts, 2)
	assert.Equal(t, "a-normalise", bts[0].Ref().Tag)
	assert.Len(t, s.BeforeTriggers("other.users", run.OperationInsert), 1, "only the unqualified trigger matches another schema")
	assert.Len(t, s.BeforeTriggers("users", run.OperationUpdate), 1)
	assert.Empty(t, s.BeforeTriggers("users", run.OperationRead))
	assert.Empty(t, s.Plan(run.Event{Table: "users", Operation: run.OperationInsert}), "before-triggers never plan runs")

	st := &BeforeState{Event: run.Event{Table: "users", Operation: run.OperationInsert,
		Record: map[string]any{"email": "Ada@Example.COM", "last_name": "Lovelace", "role": ""}}}
	var changes []FieldChange
	for _, bt := range bts {
		r := bt.Run(context.Background(), st, nil)
		require.True(t, r.Matched)
		require.Empty(t, r.Violations)
		changes = append(changes, r.Changes...)
	}
	assert.Equal(t, map[string]any{"email": "ada@example.com", "role": "member", "first_name": "Anonymous",
		"last_name": "Lovelace", "full_name": "Anonymous Lovelace"}, st.Event.Record)
	assert.Equal(t, []FieldChange{
		{Field: "email", From: "Ada@Example.COM", To: "ada@example.com", Rule: "set[0]"},
		{Field: "role", From: "", To: "member", Rule: "set[1]"},
		{Field: "first_name", From: nil, To: "Anonymous", Rule: "set[2]"},
		{Field: "full_name", From: nil, To: "Anonymous Lovelace", Rule: "set[0]"},
	}, changes)

	bad := &BeforeState{Event: run.Event{Table: "users", Operation: run.OperationUpdate,
		Record: map[string]any{"email": "not an email", "first_name": "A", "last_name": "B"}}}
	r := s.BeforeTriggers("users", run.OperationUpdate)[0].Run(context.Background(), bad, nil)
	assert.Equal(t, []Violation{{Field: "email", Message: "not an email is not a valid email", Rule: "validate[0]"}}, r.Violations)
}

func TestBeforeRunPreviousRecordAndLookups(t *testing.T) {
	s := mustSet(t, `
tag: price-guard
tables: [products]
events: [beforeUpdate]
condition: {field: price, operator: CHANGED}
lookups:
  - {name: limits, http: {url: "http://limits.test/{{record.category}}"}, timeout: 50ms}
  - {name: slow, sql: {query: "select pg_sleep(1)"}, timeout: 10ms, onError: continue, default: {rows: []}}
validate:
  - expr: "record.price <= previousRecord.price * lookups.limits.maxIncrease"
    message: "price may rise by at most {{lookups.limits.maxIncrease}}x (was {{previousRecord.price}})"
    field: price
`)
	lk := fakeLookuper(func(ctx context.Context, kind string, cfg map[string]any) (any, error) {
		if kind == "sql" {
			<-ctx.Done()
			return nil, ctx.Err()
		}
		assert.Equal(t, "http://limits.test/toys", cfg["url"])
		return map[string]any{"maxIncrease": 1.5}, nil
	})
	bt := s.BeforeTriggers("products", run.OperationUpdate)[0]
	st := func(old, cur float64) *BeforeState {
		return &BeforeState{Event: run.Event{Table: "products", Operation: run.OperationUpdate,
			Record: map[string]any{"category": "toys", "price": cur}, PreviousRecord: map[string]any{"category": "toys", "price": old}}}
	}
	r := bt.Run(context.Background(), st(10, 14), lk)
	assert.Empty(t, r.Violations)
	require.Len(t, r.Lookups, 2)
	assert.Equal(t, "timed out after 10ms", r.Lookups[1].Error)
	assert.Equal(t, LookupContinue, r.Lookups[1].Policy)

	r = bt.Run(context.Background(), st(10, 20), lk)
	assert.Equal(t, []Violation{{Field: "price", Message: "price may rise by at most 1.5x (was 10)", Rule: "validate[0]"}}, r.Violations)

	r = bt.Run(context.Background(), st(10, 10), lk)
	assert.False(t, r.Matched)
	assert.Equal(t, "condition is false", r.Reason)

	failing := fakeLookuper(func(context.Context, string, map[string]any) (any, error) {
		return nil, errors.New("connection refused")
	})
	r = bt.Run(context.Background(), st(10, 11), failing)
	assert.Equal(t, []Violation{{Message: "lookup limits failed: connection refused", Rule: "lookups[0]"}}, r.Violations,
		"reject is the default policy: fail closed")
	_ = time.Millisecond
}
