package workflows

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"

	"github.com/triggerd/triggerd/run"
)

// TestRecordBatchCloseHistory records a batch closed by ingest's
// run.SignalBatchClose long before its window (semantics/batch_closed.json),
// which TestReplaySemanticsHistories replays.
func TestRecordBatchCloseHistory(t *testing.T) {
	c, w, queue := newRecorder(t, "replay-batch-close-")
	require.NoError(t, w.Start())
	defer w.Stop()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	bid := run.BatchWorkflowID("replay", "t", queue)
	opts := client.StartWorkflowOptions{TaskQueue: queue}
	for i := range 2 {
		in := input(run.Action{Name: "a", Type: "echo", Config: map[string]any{"records": "{{records}}"}})
		in.Trigger.Tag = "replay-" + queue
		in.Event.ID = queue + "-" + string(rune('a'+i))
		in.ForAll = true
		_, err := c.SignalWithStartWorkflow(ctx, bid, run.SignalBatchAdd, in, opts, run.BatchWorkflowName,
			run.BatchInput{Tag: in.Trigger.Tag, Topic: "t", Key: queue, Window: time.Hour})
		require.NoError(t, err)
	}
	require.NoError(t, c.SignalWorkflow(ctx, bid, "", run.SignalBatchClose, nil))
	runID := run.WorkflowID("replay-"+queue, "batch/t/"+queue)
	require.Eventually(t, func() bool {
		d, err := c.DescribeWorkflowExecution(ctx, runID, "")
		return err == nil && d.GetWorkflowExecutionInfo().GetCloseTime() != nil
	}, 30*time.Second, 100*time.Millisecond, "the closed batch's run, long before its hour-long window")
	saveHistory(ctx, t, c, filepath.Join(semanticsHistoriesDir, "batch_closed.json"), bid, "")
	_ = c.TerminateWorkflow(ctx, bid, "", "recorded")
}
