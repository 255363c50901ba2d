package trigger_test

import (
	"context"
	"fmt"

	"github.com/triggerd/triggerd/run"
	"github.com/triggerd/triggerd/trigger"
)

// A process embedding triggerd keeps its triggers in a Registry: the
// persisted set is replaced on every reload, and triggers can be
// registered for this process alone.
func ExampleRegistry() {
	reg := trigger.NewRegistry()
	persisted, err := trigger.ParseDocument([]byte(`{
	  "tag": "order-cancelled", "tables": ["orders"], "events": ["afterUpdate"],
	  "condition": {"field": "status", "operator": "CHANGED_TO", "value": "cancelled"},
	  "actions": [{"type": "log", "config": {"message": "order {{record.id}} cancelled"}}]
	}`))
	if err != nil {
		panic(err)
	}
	persisted.Version = 3
	if err := reg.Replace([]trigger.Definition{persisted}); err != nil {
		panic(err)
	}
	err = reg.Register(trigger.Definition{
		Tag: "audit", Enabled: true, Priority: 1, Tables: []string{"orders"}, Events: []string{"afterWrite"},
		Actions: []trigger.Action{{Type: "log", Config: map[string]any{"message": "{{operation}} on {{table}}"}}},
	})
	fmt.Println("register:", err)
	fmt.Println("duplicate:", reg.Register(trigger.Definition{Tag: "audit"}))

	for _, d := range reg.TriggersFor("orders", "afterUpdate") {
		fmt.Println("on orders/afterUpdate:", d.Tag)
	}

	ev := run.Event{ID: "evt-1", Table: "orders", Operation: run.OperationUpdate,
		Record: map[string]any{"id": 7, "status": "cancelled"}, PreviousRecord: map[string]any{"id": 7, "status": "paid"}}
	_, err = reg.Execute(context.Background(), ev, func(_ context.Context, in run.Input) error {
		fmt.Printf("start %s v%d (%s)\n", run.WorkflowID(in.Trigger.Tag, ev.ID), in.Trigger.Version, in.EventName)
		return nil
	})
	fmt.Println("execute:", err)

	reg.Unregister("audit")
	fmt.Println("after unregister:", len(reg.Plan(ev)), "run(s)")
	// Output:
	// register: <nil>
	// duplicate: trigger "audit": tag: duplicate tag (already registered in this process)
	// on orders/afterUpdate: audit
	// on orders/afterUpdate: order-cancelled
	// start triggerd/audit/evt-1 v0 (afterUpdate)
	// start triggerd/order-cancelled/evt-1 v3 (afterUpdate)
	// execute: <nil>
	// after unregister: 1 run(s)
}
