package workflows

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/triggerd/triggerd/internal/testenv"
	"github.com/triggerd/triggerd/run"
)

// doubleWorkflow is a child: it returns its input's n doubled.
func doubleWorkflow(ctx workflow.Context, in map[string]any) (map[string]any, error) {
	n, _ := in["n"].(float64)
	return map[string]any{"doubled": n * 2}, nil
}

// gatedWorkflow is a child that blocks until it is signalled "release".
func gatedWorkflow(ctx workflow.Context, in map[string]any) (string, error) {
	var msg string
	workflow.GetSignalChannel(ctx, "release").Receive(ctx, &msg)
	return msg, nil
}

func TestWorkflowExecuteFeedsLaterAction(t *testing.T) {
	env, c := newEnv(t)
	env.RegisterWorkflowWithOptions(doubleWorkflow, workflow.RegisterOptions{Name: "double"})
	env.ExecuteWorkflow(run.WorkflowName, input(
		run.Action{Name: "child", Type: run.TypeWorkflowExecute, Config: map[string]any{
			"workflow": "double", "input": map[string]any{"n": "{{record.id}}"}}},
		run.Action{Name: "after", Type: "echo", Config: map[string]any{"got": "{{actions.child.output.result.doubled}}"}},
	))
	require.True(t, env.IsWorkflowCompleted())
	require.NoError(t, env.GetWorkflowError())
	var res run.Result
	require.NoError(t, env.GetWorkflowResult(&res))
	out := res.Actions[0].Output.(map[string]any)
	require.Equal(t, map[string]any{"doubled": 2.0}, out["result"])
	require.Contains(t, out["workflowId"], "/child")
	require.Equal(t, 2.0, c.all()[0].Config["got"])
}

func TestWorkflowExecuteMissingWorkflowIsInvalidConfig(t *testing.T) {
	env, _ := newEnv(t)
	env.ExecuteWorkflow(run.WorkflowName, input(
		run.Action{Name: "child", Type: run.TypeWorkflowExecute, Config: map[string]any{}},
	))
	err := env.GetWorkflowError()
	require.Error(t, err)
	require.Contains(t, err.Error(), "INVALID_CONFIG")
}

// TestWorkflowDispatchOutlivesParent runs against a real Temporal server:
// the parent completes while its dispatched child waits for a signal, and
// the child completes once signalled.
func TestWorkflowDispatchOutlivesParent(t *testing.T) {
	addr := testenv.TemporalAddress(t)
	c, err := client.Dial(client.Options{HostPort: addr, Namespace: "default"})
	require.NoError(t, err)
	defer c.Close()

	queue := fmt.Sprintf("dispatch-test-%d", time.Now().UnixNano())
	w := worker.New(c, queue, worker.Options{})
	Register(w)
	w.RegisterWorkflowWithOptions(gatedWorkflow, workflow.RegisterOptions{Name: "gated"})
	w.RegisterWorkflowWithOptions(doubleWorkflow, workflow.RegisterOptions{Name: "double"})
	w.RegisterActivityWithOptions(func(ctx context.Context, req run.ActionRequest) (any, error) {
		return req.Config, nil
	}, activity.RegisterOptions{Name: "echo"})
	require.NoError(t, w.Start())
	defer w.Stop()

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	id := run.WorkflowID("dispatch", queue)
	in := input(
		run.Action{Name: "compute", Type: run.TypeWorkflowExecute, Config: map[string]any{
			"workflow": "double", "input": map[string]any{"n": 21.0}}},
		run.Action{Name: "fire", Type: run.TypeWorkflowDispatch, Config: map[string]any{
			"workflow": "gated", "input": map[string]any{"x": "{{actions.compute.output.result.doubled}}"}}},
		run.Action{Name: "after", Type: "echo", Config: map[string]any{"child": "{{actions.fire.output.workflowId}}"}},
	)
	wr, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: queue}, run.WorkflowName, in)
	require.NoError(t, err)
	var res run.Result
	require.NoError(t, wr.Get(ctx, &res))
	require.Equal(t, run.StatusSucceeded, res.Status)
	childID := id + "/fire"
	require.Equal(t, map[string]any{"child": childID}, res.Actions[2].Output)

	parent, err := c.DescribeWorkflowExecution(ctx, id, "")
	require.NoError(t, err)
	require.Equal(t, enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED, parent.WorkflowExecutionInfo.Status)
	child, err := c.DescribeWorkflowExecution(ctx, childID, "")
	require.NoError(t, err)
	require.Equal(t, enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING, child.WorkflowExecutionInfo.Status)

	require.NoError(t, c.SignalWorkflow(ctx, childID, "", "release", "go"))
	var msg string
	require.NoError(t, c.GetWorkflow(ctx, childID, "").Get(ctx, &msg))
	require.Equal(t, "go", msg)
	child, err = c.DescribeWorkflowExecution(ctx, childID, "")
	require.NoError(t, err)
	require.Equal(t, enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED, child.WorkflowExecutionInfo.Status)
}
