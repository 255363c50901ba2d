package workflows

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/triggerd/triggerd/internal/testenv"
	"github.com/triggerd/triggerd/run"
)

// historyTypes lists the event types of a workflow's history, in order.
func historyTypes(t *testing.T, c client.Client, id string) []enumspb.EventType {
	t.Helper()
	it := c.GetWorkflowHistory(context.Background(), id, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	var out []enumspb.EventType
	for it.HasNext() {
		ev, err := it.Next()
		require.NoError(t, err)
		out = append(out, ev.GetEventType())
	}
	return out
}

func indexOf(types []enumspb.EventType, want enumspb.EventType) int {
	for i, ty := range types {
		if ty == want {
			return i
		}
	}
	return -1
}

// docs/semantics.md, "workflow.execute versus workflow.dispatch", shown in
// the parents' histories on a real server: execute's parent records the
// child's completion before its own; dispatch's parent completes with the
// child only started, and the child completes later, on its own.
func TestChildExecuteVersusDispatchHistories(t *testing.T) {
	addr := testenv.TemporalAddress(t)
	c, err := client.Dial(client.Options{HostPort: addr, Namespace: "default"})
	require.NoError(t, err)
	defer c.Close()
	queue := fmt.Sprintf("child-history-%d", time.Now().UnixNano())
	w := worker.New(c, queue, worker.Options{})
	Register(w)
	w.RegisterWorkflowWithOptions(gatedWorkflow, workflow.RegisterOptions{Name: "gated"})
	require.NoError(t, w.Start())
	defer w.Stop()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	start := func(id, typ string) {
		wr, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: queue}, run.WorkflowName,
			input(run.Action{Name: "child", Type: typ, Config: map[string]any{"workflow": "gated"}}))
		require.NoError(t, err)
		if typ == run.TypeWorkflowExecute {
			// The parent waits: release its child, then it completes.
			require.Eventually(t, func() bool {
				return c.SignalWorkflow(ctx, id+"/child", "", "release", "go") == nil
			}, 30*time.Second, 100*time.Millisecond)
		}
		require.NoError(t, wr.Get(ctx, nil))
	}

	execID := run.WorkflowID("history-execute", queue)
	start(execID, run.TypeWorkflowExecute)
	h := historyTypes(t, c, execID)
	childDone := indexOf(h, enumspb.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_COMPLETED)
	require.GreaterOrEqual(t, childDone, 0, "execute: the parent's history records the child's completion: %v", h)
	require.Less(t, childDone, indexOf(h, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED))

	dispID := run.WorkflowID("history-dispatch", queue)
	start(dispID, run.TypeWorkflowDispatch)
	h = historyTypes(t, c, dispID)
	require.GreaterOrEqual(t, indexOf(h, enumspb.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_STARTED), 0, "%v", h)
	require.Equal(t, -1, indexOf(h, enumspb.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_COMPLETED),
		"dispatch: the parent completed without waiting for its child: %v", h)
	require.NoError(t, c.SignalWorkflow(ctx, dispID+"/child", "", "release", "go"))
	require.NoError(t, c.GetWorkflow(ctx, dispID+"/child", "").Get(ctx, nil))
	require.Equal(t, -1, indexOf(historyTypes(t, c, dispID), enumspb.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_COMPLETED),
		"the abandoned child's completion is not reported to the closed parent")
}
