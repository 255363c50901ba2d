package main

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"

	"github.com/triggerd/triggerd/internal/testenv"
	"github.com/triggerd/triggerd/run"
	"github.com/triggerd/triggerd/run/searchattr"
	"github.com/triggerd/triggerd/workflows"
)

// docs/semantics.md, "Listing and re-running failed runs", on a real
// server: a run that failed is listed by `runs list --failed` and
// `runs rerun` runs it again under the same id with the same input.
func TestRunsListAndRerun(t *testing.T) {
	addr := testenv.TemporalAddress(t)
	c, err := client.Dial(client.Options{HostPort: addr, Namespace: "default"})
	require.NoError(t, err)
	defer c.Close()
	queue := fmt.Sprintf("rerun-%d", time.Now().UnixNano())
	var calls atomic.Int32
	w := worker.New(c, queue, worker.Options{})
	workflows.Register(w)
	w.RegisterActivityWithOptions(func(ctx context.Context, req run.ActionRequest) (any, error) {
		if calls.Add(1) == 1 {
			return nil, temporal.NewNonRetryableApplicationError("down for maintenance", "HTTP_4XX", nil)
		}
		return "ok", nil
	}, activity.RegisterOptions{Name: "flaky"})
	require.NoError(t, w.Start())
	defer w.Stop()

	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	in := run.Input{Trigger: run.TriggerRef{Tag: "rerun"}, EventName: "afterInsert",
		Event:   run.Event{ID: queue, Table: "users", Operation: run.OperationInsert, Key: "1"},
		Actions: []run.Action{{Name: "call", Type: "flaky", Retry: run.RetryPolicy{MaxAttempts: 1}}}}
	id := run.WorkflowID("rerun", queue)
	wr, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: queue,
		TypedSearchAttributes: searchattr.ForRun(in)}, run.WorkflowName, in)
	require.NoError(t, err)
	require.Error(t, wr.Get(ctx, nil))

	// runs reads only what a Temporal client needs: no Kafka settings,
	// and a broken Kafka section is not its business.
	env := []string{"TRIGGERD_TEMPORAL_ADDRESS=" + addr, "TRIGGERD_TEMPORAL_TASK_QUEUE=" + queue, "TRIGGERD_KAFKA_CONSUMERS=many"}
	// Visibility is eventually consistent and the server is shared with
	// the other tests: a generous wait for the listed state, not a timing.
	var listed string
	if !assert.Eventually(t, func() bool {
		_, listed, _ = runCLI(t, env, "runs", "list", "--failed", "-n", "1000")
		return strings.Contains(listed, id+"\tFailed")
	}, 2*time.Minute, 500*time.Millisecond) {
		t.Fatalf("runs list --failed does not show %s; last listed:\n%s", id, listed)
	}

	code, out, errOut := runCLI(t, env, "runs", "rerun", id)
	require.Equal(t, 0, code, errOut)
	require.Contains(t, out, "re-running "+id)
	var res run.Result
	require.NoError(t, c.GetWorkflow(ctx, id, "").Get(ctx, &res))
	require.Equal(t, run.StatusSucceeded, res.Status)

	// A run that did not fail is refused.
	code, _, errOut = runCLI(t, env, "runs", "rerun", id)
	require.NotEqual(t, 0, code)
	require.Contains(t, errOut, "only failed, timed out or terminated runs can be re-run")
}
