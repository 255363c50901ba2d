package gate_test

import (
	"context"
	"fmt"

	"github.com/triggerd/triggerd/gate"
	"github.com/triggerd/triggerd/run"
	"github.com/triggerd/triggerd/trigger"
)

// A before-trigger normalises and validates users; the gate answers with
// the records to write, or with every violation of the batch.
func Example() {
	defs, err := trigger.Parse([]byte(`
tag: users
tables: [users]
events: [beforeInsert]
set:
  - {field: email, value: "{{record.email | lower}}"}
  - {field: role, value: member, ifMissing: true}
validate:
  - {expr: "record.email.contains('@')", field: email, message: "{{record.email}} is not an email"}
`), "users.yaml")
	if err != nil {
		panic(err)
	}
	reg := trigger.NewRegistry()
	if err := reg.Replace(defs); err != nil {
		panic(err)
	}
	g := gate.New(gate.Options{Triggers: reg.Snapshot})

	res, _ := g.Evaluate(context.Background(), gate.Request{Table: "users", Operation: run.OperationInsert,
		Records: []map[string]any{{"email": "Ada@Example.COM"}}})
	fmt.Println(res.Rejected, res.Records)

	res, _ = g.Evaluate(context.Background(), gate.Request{Table: "users", Operation: run.OperationInsert,
		Records: []map[string]any{{"email": "a@b.c"}, {"email": "nope"}}})
	fmt.Println(res.Rejected, res.Records, res.Errors[0].Index, res.Errors[0].Message)
	// Output:
	// false [map[email:ada@example.com role:member]]
	// true [] 1 nope is not an email
}
