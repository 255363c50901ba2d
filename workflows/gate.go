package workflows

import (
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/triggerd/triggerd/run"
)

// GateDecision records a gate decision as a run: its input (the request and
// the answer) is the record, inspected in the Temporal UI like any run. It
// issues no command, so it completes on its first task and has nothing to
// replay differently.
func GateDecision(_ workflow.Context, d run.GateDecision) (run.GateDecision, error) {
	return d, nil
}

func registerGate(r worker.WorkflowRegistry) {
	r.RegisterWorkflowWithOptions(GateDecision, workflow.RegisterOptions{Name: run.GateWorkflowName})
}
