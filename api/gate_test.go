package api_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/triggerd/triggerd/api"
	"github.com/triggerd/triggerd/gate"
	"github.com/triggerd/triggerd/trigger"
	"github.com/triggerd/triggerd/triggerstore"
)

const gateTriggers = `
triggers:
  - tag: users-normalise
    tables: [users]
    events: [beforeInsert, beforeUpdate]
    priority: 10
    set:
      - {field: email, value: "{{record.email | lower}}"}
      - {field: role, value: member, ifMissing: true}
    validate:
      - {condition: {field: email, operator: MATCHES, value: "^[^@ ]+@[^@ ]+$"}, message: "{{record.email}} is not a valid email"}
`

func gateServer(t *testing.T) *httptest.Server {
	t.Helper()
	return gateServerWith(t, api.GateLimits{})
}

func gateServerWith(t *testing.T, limits api.GateLimits) *httptest.Server {
	t.Helper()
	defs, err := trigger.Parse([]byte(gateTriggers), "gate.yaml")
	require.NoError(t, err)
	reg := trigger.NewRegistry()
	require.NoError(t, reg.Replace(defs))
	g := gate.New(gate.Options{Triggers: reg.Snapshot})
	auth, err := api.NewAuth(api.AllowAnonymous())
	require.NoError(t, err)
	srv := httptest.NewServer(api.New(api.Options{Store: triggerstore.NewMemory(), Gate: g, GateLimits: limits, Auth: auth}).Handler())
	t.Cleanup(srv.Close)
	return srv
}

func postGate(t *testing.T, url, body string, header ...string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	require.NoError(t, err)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	var out map[string]any
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&out))
	return resp.StatusCode, out
}

func TestGateEndpoint(t *testing.T) {
	srv := gateServer(t)
	url := srv.URL + "/v1/gate/users/insert"

	status, out := postGate(t, url, `{"records": [{"id": 12345678901234567, "email": "Ada@Example.com"}], "user": {"id": "u1"}}`)
	require.Equal(t, http.StatusOK, status, out)
	assert.Equal(t, false, out["rejected"])
	assert.Equal(t, []any{map[string]any{"id": 12345678901234567.0, "email": "ada@example.com", "role": "member"}}, out["records"])
	trace := out["trace"].([]any)[0].([]any)[0].(map[string]any)
	assert.Equal(t, "users-normalise", trace["trigger"].(map[string]any)["tag"])
	assert.Len(t, trace["changes"], 2)

	status, out = postGate(t, url, `{"records": [{"email": "a@b.c"}, {"email": "not an email"}, {"email": "c@d.e"}]}`)
	require.Equal(t, http.StatusUnprocessableEntity, status, out)
	assert.Equal(t, true, out["rejected"])
	assert.Nil(t, out["records"], "a batch is all or nothing")
	assert.Equal(t, []any{map[string]any{"index": 1.0, "trigger": "users-normalise", "field": "email",
		"message": "not an email is not a valid email", "rule": "validate[0]"}}, out["errors"])

	status, out = postGate(t, srv.URL+"/v1/gate/orders/insert", `{"records": [{"x": 1}]}`)
	require.Equal(t, http.StatusOK, status)
	assert.Equal(t, []any{map[string]any{"x": 1.0}}, out["records"], "a table without before-triggers passes unchanged")

	for _, tc := range []struct {
		name, path, body, field string
		header                  []string
	}{
		{"missing records", "/v1/gate/users/insert", `{"user": {}}`, "records", nil},
		{"empty records", "/v1/gate/users/insert", `{"records": []}`, "records", nil},
		{"records not an array", "/v1/gate/users/insert", `{"records": {"email": "a@b.c"}}`, "records", nil},
		{"record not an object", "/v1/gate/users/insert", `{"records": [1]}`, "records", nil},
		{"unknown operation", "/v1/gate/users/upsert", `{"records": [{}]}`, "operation", nil},
		{"update without previous", "/v1/gate/users/update", `{"records": [{}]}`, "previousRecords", nil},
		{"previous count", "/v1/gate/users/update", `{"records": [{}], "previousRecords": [{}, {}]}`, "previousRecords", nil},
		{"user not an object", "/v1/gate/users/insert", `{"records": [{}], "user": "bob"}`, "user", nil},
		{"unknown field", "/v1/gate/users/insert", `{"records": [{}], "record": {}}`, "record", nil},
		{"bad depth", "/v1/gate/users/insert", `{"records": [{}]}`, gate.DepthHeader, []string{gate.DepthHeader, "x"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, out := postGate(t, srv.URL+tc.path, tc.body, tc.header...)
			require.Equal(t, http.StatusBadRequest, status, out)
			e := out["error"].(map[string]any)
			assert.Equal(t, "bad_request", e["code"])
			assert.Equal(t, tc.field, e["problems"].([]any)[0].(map[string]any)["field"], e)
		})
	}

	status, out = postGate(t, url, `{"records": [{}]}`, gate.DepthHeader, "5")
	assert.Equal(t, http.StatusLoopDetected, status, out)
}
