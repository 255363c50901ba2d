package trigger_test

import (
	"fmt"
	"time"

	"github.com/triggerd/triggerd/run"
	"github.com/triggerd/triggerd/trigger"
	"github.com/triggerd/triggerd/trigger/template"
)

func Example() {
	defs, err := trigger.Parse([]byte(`
tag: order-cancelled
tables: [public.orders]
events: [afterUpdate]
condition:
  field: status
  operator: changedTo
  value: cancelled
actions:
  - type: http
    config:
      url: https://hooks.example.com/orders/{{record.id}}
      body: {order: "{{record}}", total: "{{record.total}}"}
`), "orders.yaml")
	if err != nil {
		panic(err)
	}
	set, err := trigger.NewSet(defs)
	if err != nil {
		panic(err)
	}
	ev := run.Event{
		ID: "e1", Schema: "public", Table: "orders", Operation: run.OperationUpdate,
		Record:         map[string]any{"id": 7, "status": "cancelled", "total": 12.5},
		PreviousRecord: map[string]any{"id": 7, "status": "paid", "total": 12.5},
	}
	for _, in := range set.Plan(ev) {
		act := in.Actions[0]
		cfg, err := template.RenderConfig(act.Config, template.Scope{
			Record: ev.Record, Event: in.EventName, Timestamp: time.Unix(0, 0),
		})
		if err != nil {
			panic(err)
		}
		fmt.Println(in.Trigger.Tag, in.EventName, act.Name, act.Retry.MaxAttempts, act.Timeout)
		fmt.Println(cfg["url"], cfg["body"].(map[string]any)["total"])
	}
	// Output:
	// order-cancelled afterUpdate http-0 3 30s
	// https://hooks.example.com/orders/7 12.5
}
