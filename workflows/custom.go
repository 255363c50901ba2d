package workflows

import (
	"github.com/triggerd/triggerd/run"
	"github.com/triggerd/triggerd/trigger/template"
)

// eventContext is the run's event and earlier outputs for a custom action.
// outputs holds {"output": v} per action (the template scope's shape); the
// function gets the bare outputs.
func eventContext(in run.Input, outputs map[string]any) *run.EventContext {
	outs := make(map[string]any, len(outputs))
	for k, v := range outputs { // copying only: order does not matter
		if m, ok := v.(map[string]any); ok {
			outs[k] = m["output"]
		}
	}
	return &run.EventContext{
		Record:         in.Event.Record,
		PreviousRecord: in.Event.PreviousRecord,
		ChangedFields:  template.ChangedFields(in.Event.PreviousRecord, in.Event.Record),
		Event:          in.EventName,
		Table:          in.Event.Table,
		Operation:      string(in.Event.Operation),
		Outputs:        outs,
	}
}
