package gate_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/triggerd/triggerd/gate"
	"github.com/triggerd/triggerd/internal/testenv"
	"github.com/triggerd/triggerd/run"
	"github.com/triggerd/triggerd/secrets"
)

// A lookup authenticates with a bearer token from a secret: the gate
// resolves it in process, and neither its answer (records, 422 messages,
// trace) nor its log holds the value, even when the API echoes it or a
// transport error quotes a URL carrying it.
func TestLookupSecretsResolvedAndRedacted(t *testing.T) {
	const token = "tok-s3cr3t/42"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer "+token || r.URL.Query().Get("key") != token {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		// An API that echoes the credentials it was sent.
		_ = json.NewEncoder(w).Encode(map[string]any{"plan": "gold", "auth": r.Header.Get("Authorization"), "url": r.URL.String()})
	}))
	t.Cleanup(srv.Close)
	res := secrets.NewResolver([]secrets.Source{secrets.Env{LookupEnv: func(k string) (string, bool) {
		if k == "TRIGGERD_SECRET_CRM_TOKEN" {
			return token, true
		}
		return "", false
	}}})
	var logs bytes.Buffer
	g := newGate(t, fmt.Sprintf(`
triggers:
  - tag: plan
    tables: [users]
    events: [beforeInsert]
    lookups:
      - {name: crm, http: {url: "%s/customers/{{record.id}}?key={{secret.CRM_TOKEN}}", headers: {Authorization: "Bearer {{secret.CRM_TOKEN}}"}}}
    set:
      - {field: plan, value: "{{lookups.crm.body.plan}}"}
      - {field: seen, value: "{{lookups.crm.body.auth}}"}
    validate:
      - {expr: "lookups.crm.status == 200", message: "crm said {{lookups.crm.status}}"}
  - tag: down
    tables: [orders]
    events: [beforeInsert]
    lookups:
      - {name: down, http: {url: "http://127.0.0.1:1/x?key={{secret.CRM_TOKEN}}"}}
  - tag: unset
    tables: [carts]
    events: [beforeInsert]
    lookups:
      - {name: nokey, http: {url: "%s/x", headers: {Authorization: "Bearer {{secret.MISSING_KEY}}"}}}
`, srv.URL, srv.URL), gate.WithSecrets(&gate.Lookups{HTTP: srv.Client()}, res), &logs, nil)

	out, err := g.Evaluate(context.Background(), gate.Request{Table: "users", Operation: run.OperationInsert, Records: []map[string]any{{"id": 7}}})
	require.NoError(t, err)
	require.False(t, out.Rejected, "%+v", out.Errors)
	assert.Equal(t, "gold", out.Records[0]["plan"], "the lookup authenticated with the secret")
	assert.Equal(t, "Bearer "+secrets.Redacted, out.Records[0]["seen"], "an echoed secret is masked before rules read it")

	down, err := g.Evaluate(context.Background(), gate.Request{Table: "orders", Operation: run.OperationInsert, Records: []map[string]any{{"id": 1}}})
	require.NoError(t, err)
	require.True(t, down.Rejected)
	assert.Contains(t, down.Errors[0].Message, "lookup down failed:")
	assert.Contains(t, down.Errors[0].Message, "key="+secrets.Redacted, "the transport error quotes the URL, masked")

	unset, err := g.Evaluate(context.Background(), gate.Request{Table: "carts", Operation: run.OperationInsert, Records: []map[string]any{{"id": 1}}})
	require.NoError(t, err)
	require.True(t, unset.Rejected)
	assert.Contains(t, unset.Errors[0].Message, "lookup nokey failed: unknown secret: secret MISSING_KEY is not set (set TRIGGERD_SECRET_MISSING_KEY or add it to secrets.file)")

	for name, v := range map[string]any{"answer": out, "422": down, "unset": unset} {
		b, err := json.Marshal(v)
		require.NoError(t, err)
		assert.NotContains(t, string(b), "s3cr3t", "%s: %s", name, b)
	}
	assert.NotContains(t, logs.String(), "s3cr3t")
	assert.Contains(t, logs.String(), secrets.Redacted, "the audit log shows the masked error")
}

// A SQL lookup takes a secret as an argument (a tenant key) and as the
// name of the configured database it runs on, against real PostgreSQL;
// a row that returns the key gives the rules the masked form, and a
// failing query's error does not quote it.
func TestSQLLookupSecrets(t *testing.T) {
	pool, err := pgxpool.New(context.Background(), testenv.PostgresDSN(t))
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	res := secrets.NewResolver([]secrets.Source{secrets.Env{LookupEnv: func(k string) (string, bool) {
		v, ok := map[string]string{"TRIGGERD_SECRET_TENANT_KEY": "tenant-s3cr3t", "TRIGGERD_SECRET_LOOKUP_DB": "reports"}[k]
		return v, ok
	}}})
	lk := gate.WithSecrets(&gate.Lookups{DBs: map[string]gate.DB{"reports": pool}}, res)
	var logs bytes.Buffer
	g := newGate(t, `
triggers:
  - tag: tenant
    tables: [orders]
    events: [beforeInsert]
    lookups:
      - {name: t, sql: {database: "{{secret.LOOKUP_DB}}", query: "select $1::text = 'tenant-s3cr3t' as ok, $1::text as echoed", args: ["{{secret.TENANT_KEY}}"]}}
    set:
      - {field: echoed, value: "{{lookups.t.row.echoed}}"}
    validate:
      - {expr: "lookups.t.row.ok == true", message: "tenant key refused"}
  - tag: broken
    tables: [carts]
    events: [beforeInsert]
    lookups:
      - {name: b, sql: {database: "{{secret.LOOKUP_DB}}", query: "select cast($1::text as int)", args: ["{{secret.TENANT_KEY}}"]}}
`, lk, &logs, nil)
	out, err := g.Evaluate(context.Background(), gate.Request{Table: "orders", Operation: run.OperationInsert, Records: []map[string]any{{"id": 1}}})
	require.NoError(t, err)
	require.False(t, out.Rejected, "%+v", out.Errors)
	assert.Equal(t, secrets.Redacted, out.Records[0]["echoed"])

	bad, err := g.Evaluate(context.Background(), gate.Request{Table: "carts", Operation: run.OperationInsert, Records: []map[string]any{{"id": 1}}})
	require.NoError(t, err)
	require.True(t, bad.Rejected)
	assert.Contains(t, bad.Errors[0].Message, "lookup b failed:")
	assert.Contains(t, bad.Errors[0].Message, `invalid input syntax for type integer: "`+secrets.Redacted+`"`, "the driver quotes the value, masked")
	for _, v := range []any{out, bad} {
		b, err := json.Marshal(v)
		require.NoError(t, err)
		assert.NotContains(t, string(b), "s3cr3t")
	}
	assert.NotContains(t, logs.String(), "s3cr3t")
}
