package api

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/triggerd/triggerd/gate"
	"github.com/triggerd/triggerd/trigger"
)

// gateFuzzTriggers are before-triggers with set and validate rules (CEL and
// conditions, templates) for the decoded requests to run through.
const gateFuzzTriggers = `
triggers:
  - tag: users-normalise
    tables: [public.users]
    events: [beforeInsert, beforeUpdate]
    set:
      - {field: email, value: "{{record.email | lower}}"}
      - {field: full_name, expr: "string(record.first_name) + ' ' + string(record.last_name)"}
      - {field: role, value: member, ifMissing: true}
    validate:
      - {condition: {field: email, operator: MATCHES, value: "^[^@ ]+@[^@ ]+$"}, message: "{{record.email}} is not a valid email"}
      - expr: "!has(previousRecord.email) || record.email == previousRecord.email || previousRecord.verified != true"
        field: email
        message: "a verified email cannot change (was {{previousRecord.email}})"
`

// FuzzGateRequest decodes arbitrary gate requests (path, depth header,
// body) as POST /v1/gate/{table}/{operation} does, with a record limit of
// 50, and evaluates the valid ones: a malformed request is a 400 *Error
// naming the field, one over the limit a 413, a valid one evaluates without
// panicking, and the result encodes as JSON.
func FuzzGateRequest(f *testing.F) {
	defs, err := trigger.Parse([]byte(gateFuzzTriggers), "gate.yaml")
	if err != nil {
		f.Fatal(err)
	}
	set, err := trigger.NewSet(defs)
	if err != nil {
		f.Fatal(err)
	}
	g := gate.New(gate.Options{Triggers: func() *trigger.Set { return set }})
	f.Add("users", "insert", "", []byte(`{"records": [{"email": "Ada@Example.com", "first_name": "Ada", "last_name": "L"}]}`))
	f.Add("public.users", "update", "1", []byte(`{"records": [{"email": "b@x"}], "previousRecords": [{"email": "a@x", "verified": true}], "user": {"id": 1}, "metadata": {}}`))
	f.Add("users", "delete", "-1", []byte(`{"records": []}`))
	f.Add("users", "upsert", "x", []byte(`{"records": null, "bogus": 1}`))
	f.Add("users", "insert", "", []byte(`{"records": [1, "a", null]}`))
	f.Add("users", "insert", "99999999999999999999", []byte(`[]`))
	f.Fuzz(func(t *testing.T, table, operation, depth string, body []byte) {
		r := httptest.NewRequest(http.MethodPost, "/v1/gate/x/y", strings.NewReader(string(body)))
		r.SetPathValue("table", table)
		r.SetPathValue("operation", operation)
		if depth != "" && !strings.ContainsAny(depth, "\r\n\x00") {
			r.Header.Set(gate.DepthHeader, depth)
		}
		req, err := decodeGateRequest(r, body, 50)
		if err != nil {
			var e *Error
			switch {
			case !errors.As(err, &e):
				t.Fatalf("want an *Error, got %T %v", err, err)
			case e.Status == http.StatusRequestEntityTooLarge:
				if len(req.Records) > 50 || len(req.PreviousRecords) > 50 {
					t.Fatalf("413 after decoding %d records", len(req.Records))
				}
			case e.Status != http.StatusBadRequest || len(e.Problems) != 1:
				t.Fatalf("malformed request: want a 400 naming the field, got %v", err)
			}
			return
		}
		res, err := g.Evaluate(context.Background(), req)
		if err != nil {
			return // a *gate.RequestError (400) or ErrTooDeep (508)
		}
		if _, err := json.Marshal(res); err != nil {
			t.Fatalf("result does not encode: %v", err)
		}
	})
}
