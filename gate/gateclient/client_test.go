package gateclient_test

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/triggerd/triggerd/api"
	"github.com/triggerd/triggerd/gate"
	"github.com/triggerd/triggerd/gate/gateclient"
	"github.com/triggerd/triggerd/trigger"
	"github.com/triggerd/triggerd/triggerstore"
)

const triggers = `
tag: users-normalise
tables: [users]
events: [beforeWrite]
set:
  - {field: email, value: "{{record.email | lower}}"}
  - {field: role, value: member, ifMissing: true}
validate:
  - {condition: {field: email, operator: MATCHES, value: "^[^@ ]+@[^@ ]+$"}, message: "{{record.email}} is not a valid email"}
  - {expr: "operation != 'update' || record.role == previousRecord.role || user.admin == true", message: only an admin changes roles, field: role}
`

// Tokens of the test API: an application's (gate) and a dashboard's.
const (
	appToken    = "app-token-0123456789abcdef0123"
	readerToken = "dashboard-token-0123456789abcd"
)

// newServer runs triggerd's API with a gate over the sample trigger.
func newServer() *httptest.Server {
	defs, err := trigger.Parse([]byte(triggers), "users.yaml")
	if err != nil {
		panic(err)
	}
	reg := trigger.NewRegistry()
	if err := reg.Replace(defs); err != nil {
		panic(err)
	}
	auth, err := api.NewAuth(api.AcceptToken("orders-app", appToken, api.ScopeGate), api.AcceptToken("dashboard", readerToken, api.ScopeTriggersRead))
	if err != nil {
		panic(err)
	}
	return httptest.NewServer(api.New(api.Options{Store: triggerstore.NewMemory(), Auth: auth, Gate: gate.New(gate.Options{Triggers: reg.Snapshot})}).Handler())
}

func serve(t testing.TB) string {
	srv := newServer()
	t.Cleanup(srv.Close)
	return srv.URL
}

func TestClient(t *testing.T) {
	ctx := context.Background()
	gc := gateclient.New(serve(t), gateclient.WithToken(appToken))

	rows, err := gc.Insert(ctx, "users", []map[string]any{{"id": 7, "email": "Ada@Example.com"}})
	require.NoError(t, err)
	assert.Equal(t, []map[string]any{{"id": int64(7), "email": "ada@example.com", "role": "member"}}, rows)

	_, err = gc.Insert(ctx, "users", []map[string]any{{"email": "a@b.c"}, {"email": "nope"}})
	var ve *gateclient.ValidationError
	require.ErrorAs(t, err, &ve)
	assert.Equal(t, []gateclient.FieldError{{Index: 1, Trigger: "users-normalise", Field: "email", Message: "nope is not a valid email", Rule: "validate[0]"}}, ve.Errors)

	prev := []map[string]any{{"id": 7, "email": "ada@example.com", "role": "member"}}
	_, err = gc.Update(ctx, "users", []map[string]any{{"id": 7, "email": "ada@example.com", "role": "admin"}}, prev)
	require.ErrorAs(t, err, &ve)
	assert.Equal(t, "only an admin changes roles", ve.Errors[0].Message)
	rows, err = gc.Update(ctx, "users", []map[string]any{{"id": 7, "email": "ada@example.com", "role": "admin"}}, prev,
		gateclient.User(map[string]any{"admin": true}))
	require.NoError(t, err)
	assert.Equal(t, "admin", rows[0]["role"])

	_, err = gc.Update(ctx, "users", []map[string]any{{"id": 7}}, nil)
	var re *gateclient.RequestError
	require.ErrorAs(t, err, &re)
	assert.Contains(t, re.Message, "previousRecords")
}

// TestClientRefusals: the gate's 401, 403 and 413 are RequestErrors with
// the API's code, the scope or the limit, and never fail open.
func TestClientRefusals(t *testing.T) {
	ctx := context.Background()
	url := serve(t)
	rows := []map[string]any{{"email": "a@b.c"}}
	fallback := gateclient.WithFailOpen(nil, "users")

	var re *gateclient.RequestError
	_, err := gateclient.New(url, fallback).Insert(ctx, "users", rows)
	require.ErrorAs(t, err, &re)
	assert.Equal(t, 401, re.Status)
	assert.Equal(t, "unauthenticated", re.Code)

	_, err = gateclient.New(url, fallback, gateclient.WithToken(readerToken)).Insert(ctx, "users", rows)
	require.ErrorAs(t, err, &re)
	assert.Equal(t, 403, re.Status)
	assert.Equal(t, "missing_scope", re.Code)
	assert.Equal(t, "gate", re.Scope)

	many := make([]map[string]any, api.DefaultGateMaxRecords+1)
	for i := range many {
		many[i] = map[string]any{"email": "a@b.c"}
	}
	_, err = gateclient.New(url, fallback, gateclient.WithToken(appToken)).Insert(ctx, "users", many)
	require.ErrorAs(t, err, &re)
	assert.Equal(t, 413, re.Status)
	assert.Equal(t, "gate.maxRecords", re.Limit)
}

func TestClientUnavailable(t *testing.T) {
	srv := httptest.NewServer(nil)
	down := srv.URL
	srv.Close()
	ctx := context.Background()
	rows := []map[string]any{{"email": "X@Y.Z"}}

	_, err := gateclient.New(down).Insert(ctx, "users", rows)
	assert.ErrorIs(t, err, gateclient.ErrUnavailable, "fail closed by default")

	var opened []string
	gc := gateclient.New(down, gateclient.WithFailOpen(func(table, op string, err error) { opened = append(opened, table+"/"+op) }, "audit_log"))
	out, err := gc.Insert(ctx, "audit_log", rows)
	require.NoError(t, err)
	assert.Equal(t, rows, out, "a fail-open table writes its records unchanged")
	assert.Equal(t, []string{"audit_log/insert"}, opened)
	_, err = gc.Insert(ctx, "users", rows)
	assert.ErrorIs(t, err, gateclient.ErrUnavailable, "other tables still fail closed")
}

func Example() {
	srv := newServer() // triggerd's API
	defer srv.Close()
	gc := gateclient.New(srv.URL, gateclient.WithToken(appToken))
	ctx := context.Background()

	rows, err := gc.Insert(ctx, "users", []map[string]any{{"email": "Grace@Example.com"}})
	fmt.Println(rows, err)

	_, err = gc.Insert(ctx, "users", []map[string]any{{"email": "grace"}})
	var ve *gateclient.ValidationError
	if errors.As(err, &ve) {
		for _, e := range ve.Errors {
			fmt.Printf("record %d: %s: %s\n", e.Index, e.Field, e.Message)
		}
	}
	// Output:
	// [map[email:grace@example.com role:member]] <nil>
	// record 0: email: grace is not a valid email
}

func TestValues(t *testing.T) {
	rows := []map[string]any{{"id": int64(1), "email": "a@x.io"}, {"id": int64(2)}}
	assert.Equal(t, [][]any{{"a@x.io", int64(1)}, {nil, int64(2)}}, gateclient.Values(rows, "email", "id"))
}
