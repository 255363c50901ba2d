package workflows

import (
	"fmt"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/triggerd/triggerd/run"
	"github.com/triggerd/triggerd/run/errtype"
	"github.com/triggerd/triggerd/trigger/value"
)

// isChildAction reports whether the workflow runs an action of typ itself,
// as a child workflow rather than an activity (run.WorkflowActionTypes):
// starting a workflow is a workflow command, and doing it here makes the
// child's id and the parent's wait part of the parent's history.
func isChildAction(typ string) bool {
	return typ == run.TypeWorkflowExecute || typ == run.TypeWorkflowDispatch
}

// runChild starts the child workflow described by the rendered cfg. execute
// waits for the child's result; dispatch waits only until the child has
// started and leaves it running (parent-close policy abandon).
//
// The child's id defaults to <parent workflow id>/<action name>, and
// Temporal never runs two workflows with one id at once: a parent that is
// retried or re-run for the same event finds its child already there
// instead of starting a second one.
func runChild(ctx workflow.Context, act run.Action, cfg map[string]any, name, wfID string) (any, error) {
	wfType, _ := cfg["workflow"].(string)
	if wfType == "" {
		return nil, temporal.NewNonRetryableApplicationError(
			"config.workflow must name a registered workflow type", errtype.InvalidConfig, nil)
	}
	opts := workflow.ChildWorkflowOptions{
		WorkflowID:            wfID + "/" + name,
		WorkflowIDReusePolicy: enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		RetryPolicy:           RetryPolicy(act.Retry),
	}
	if id, ok := cfg["id"].(string); ok && id != "" {
		opts.WorkflowID = id
	}
	if q, ok := cfg["taskQueue"].(string); ok && q != "" {
		opts.TaskQueue = q
	}
	if v, ok := cfg["timeout"]; ok && v != nil && v != "" {
		d, err := value.ParseDuration(v)
		if err != nil || time.Duration(d) <= 0 {
			return nil, temporal.NewNonRetryableApplicationError(
				fmt.Sprintf("config.timeout %v is not a positive duration", v), errtype.InvalidConfig, err)
		}
		opts.WorkflowExecutionTimeout = time.Duration(d)
	}
	dispatch := act.Type == run.TypeWorkflowDispatch
	if dispatch {
		opts.ParentClosePolicy = enumspb.PARENT_CLOSE_POLICY_ABANDON
	}
	cctx := workflow.WithChildOptions(ctx, opts)
	var args []any
	if in, ok := cfg["input"]; ok {
		args = append(args, in)
	}
	fut := workflow.ExecuteChildWorkflow(cctx, wfType, args...)
	var we workflow.Execution
	if err := fut.GetChildWorkflowExecution().Get(ctx, &we); err != nil {
		return nil, err
	}
	out := map[string]any{"workflowId": we.ID, "runId": we.RunID}
	if dispatch {
		return out, nil
	}
	var result any
	if err := fut.Get(ctx, &result); err != nil {
		return nil, err
	}
	out["result"] = result
	return out, nil
}
