package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"runtime"
	"runtime/metrics"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/triggerd/triggerd/api"
	"github.com/triggerd/triggerd/trigger"
	"github.com/triggerd/triggerd/triggerstore"
)

// emptyRecords is a gate body of n empty records: the 100,000
// records weigh 300 KB and, unbounded, made a 34 MB answer.
func emptyRecords(n int) string {
	return `{"records": [` + strings.TrimSuffix(strings.Repeat("{},", n), ",") + `]}`
}

// liveHeap is the heap in use after a full collection.
func liveHeap() uint64 {
	runtime.GC()
	s := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// TestGateLimits: too many records, too large a body and too large an
// answer are each refused with 413 naming the limit's key, and a refused
// call leaves no memory behind.
func TestGateLimits(t *testing.T) {
	srv := gateServer(t)
	url := srv.URL + "/v1/gate/users/insert"

	status, out := postGate(t, srv.URL+"/v1/gate/orders/insert", emptyRecords(api.DefaultGateMaxRecords))
	require.Equal(t, http.StatusOK, status, "at the limit")
	assert.Len(t, out["records"], api.DefaultGateMaxRecords)

	status, out = postGate(t, url, emptyRecords(100_000))
	require.Equal(t, http.StatusRequestEntityTooLarge, status)
	e := out["error"].(map[string]any)
	assert.Equal(t, "too_large", e["code"])
	assert.Equal(t, "gate.maxRecords", e["limit"])
	assert.Contains(t, e["message"], "records: more than 1000 records in one call")

	status, out = postGate(t, srv.URL+"/v1/gate/users/update",
		`{"records": [{}], "previousRecords": [`+strings.TrimSuffix(strings.Repeat("{},", 1001), ",")+`]}`)
	require.Equal(t, http.StatusRequestEntityTooLarge, status)
	assert.Contains(t, out["error"].(map[string]any)["message"], "previousRecords: more than 1000")

	small := gateServerWith(t, api.GateLimits{MaxBodyBytes: 1 << 10, MaxResponseBytes: 600})
	status, out = postGate(t, small.URL+"/v1/gate/users/insert", `{"records": [{"email": "`+strings.Repeat("a", 2<<10)+`@x.y"}]}`)
	require.Equal(t, http.StatusRequestEntityTooLarge, status)
	assert.Equal(t, "gate.maxBodyBytes", out["error"].(map[string]any)["limit"])

	// Each record grows (a role is set): 20 of them answer over 600 bytes.
	rows := strings.TrimSuffix(strings.Repeat(`{"email": "a@b.cd"},`, 20), ",")
	status, out = postGate(t, small.URL+"/v1/gate/users/insert", `{"records": [`+rows+`]}`)
	require.Equal(t, http.StatusRequestEntityTooLarge, status, out)
	e = out["error"].(map[string]any)
	assert.Equal(t, "gate.maxResponseBytes", e["limit"])
	assert.Contains(t, e["message"], "the answer would be larger than 600 bytes")
	status, _ = postGate(t, small.URL+"/v1/gate/users/insert", `{"records": [{"email": "a@b.cd"}]}`)
	assert.Equal(t, http.StatusOK, status, "a small answer passes")
}

// TestRefusedGateCallsLeaveNoMemory: the live heap after many refused
// 100,000-record calls is back near where it was before them (measured
// after a collection, with a generous bound: what is checked is that
// nothing of the calls is kept, not how fast they are).
func TestRefusedGateCallsLeaveNoMemory(t *testing.T) {
	srv := gateServer(t)
	url := srv.URL + "/v1/gate/users/insert"
	body := emptyRecords(100_000)
	post := func() {
		resp, err := http.Post(url, "application/json", strings.NewReader(body))
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, http.StatusRequestEntityTooLarge, resp.StatusCode)
	}
	post() // warm up the connection and the server's buffers
	base := liveHeap()
	for range 30 {
		post()
	}
	after := liveHeap()
	t.Logf("live heap: %d KiB before, %d KiB after 30 refused calls", base>>10, after>>10)
	assert.Less(t, after, base+16<<20, "refused calls kept memory")
}

// TestDefinitionLimitsThroughTheAPI: a definition over a limit is a 422
// naming the field and the limit; Options.Limits changes it.
func TestDefinitionLimitsThroughTheAPI(t *testing.T) {
	conds := make([]string, 10_000)
	for i := range conds {
		conds[i] = fmt.Sprintf(`{"field": "record.id", "operator": "NOT_EQUALS", "value": %d}`, i)
	}
	big := doc("huge", `"when": "record.id > 0"`)
	big = json.RawMessage(strings.Replace(string(big), `"condition": {"field": "record.status", "operator": "CHANGED_TO", "value": "cancelled"}`,
		`"condition": {"and": [`+strings.Join(conds, ",")+`]}`, 1))
	for _, lim := range []trigger.Limits{{}, {MaxConditions: 20_000}} {
		auth, tok := adminAuth(t, "tester")
		srv := fullServerWith(t, api.Options{Store: triggerstore.NewMemory(), Auth: auth, Limits: lim})
		c := api.NewClient(srv.URL, api.WithToken(tok))
		_, err := c.Create(context.Background(), big)
		if lim.MaxConditions == 0 {
			e := wantStatus(t, err, http.StatusUnprocessableEntity, api.CodeInvalid)
			require.Len(t, e.Problems, 1)
			assert.Equal(t, "condition", e.Problems[0].Field)
			assert.Contains(t, e.Problems[0].Reason, "10001 conditions exceed the limit of 256 (triggers.limits.maxConditions)")
			_, err = c.Apply(context.Background(), []json.RawMessage{big}, false)
			e = wantStatus(t, err, http.StatusUnprocessableEntity, api.CodeInvalid)
			assert.Equal(t, "triggers[0].condition", e.Problems[0].Field)
			continue
		}
		require.NoError(t, err, "raised limit")
		_, err = c.Test(context.Background(), []byte(`{"id": "e1", "operation": "update", "table": "public.orders", "record": {"id": 1}, "previousRecord": {"id": 1}}`))
		require.NoError(t, err, "the stored trigger loads for a dry run with the same limits")
	}
}

// TestNonUTF8Bodies: a definition holding bytes that are not UTF-8 is a
// 422 naming the field, whatever the write (create, put, patch, apply);
// other bodies are a 400 naming it. Nothing is stored.
func TestNonUTF8Bodies(t *testing.T) {
	auth, tok := adminAuth(t, "tester")
	srv := fullServerWith(t, api.Options{Store: triggerstore.NewMemory(), Auth: auth})
	c := api.NewClient(srv.URL, api.WithToken(tok))
	ctx := context.Background()
	bad := json.RawMessage(strings.Replace(string(doc("latin1")), `"order {{record.id}} cancelled"`, "\"annul\xe9e\"", 1))

	_, err := c.Create(ctx, bad)
	e := wantStatus(t, err, http.StatusUnprocessableEntity, api.CodeInvalid)
	require.Len(t, e.Problems, 1)
	assert.Equal(t, "actions[0].config.message", e.Problems[0].Field)
	assert.Contains(t, e.Problems[0].Reason, "is not valid UTF-8 (byte 0xe9")
	_, err = c.Put(ctx, "latin1", bad)
	wantStatus(t, err, http.StatusUnprocessableEntity, api.CodeInvalid)
	_, err = c.Apply(ctx, []json.RawMessage{doc("fine"), bad}, false)
	e = wantStatus(t, err, http.StatusUnprocessableEntity, api.CodeInvalid)
	assert.Equal(t, "triggers[1].actions[0].config.message", e.Problems[0].Field)
	_, err = c.Create(ctx, doc("fine"))
	require.NoError(t, err)
	_, err = c.Patch(ctx, "fine", json.RawMessage("{\"name\": \"caf\xe9\"}"), 0)
	e = wantStatus(t, err, http.StatusUnprocessableEntity, api.CodeInvalid)
	assert.Equal(t, "name", e.Problems[0].Field)
	list, err := c.List(ctx, api.ListOptions{})
	require.NoError(t, err)
	require.Len(t, list, 1, "only the valid trigger is stored")
	assert.NotContains(t, string(list[0].Definition), "\uFFFD")

	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/v1/gate/users/insert", bytes.NewReader([]byte("{\"records\": [{\"name\": \"caf\xe9\"}]}")))
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, ae := send(t, req)
	require.Equal(t, http.StatusBadRequest, resp.StatusCode)
	assert.Equal(t, "records[0].name", ae.Problems[0].Field)
}
