package workflows

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"

	"github.com/triggerd/triggerd/run"
)

// The lane, queue and batch workflows' histories, recorded on a real server
// while they were still open (they only close after idling), replay against
// the current code like RunTrigger's.
const semanticsHistoriesDir = "testdata/histories/semantics"

func TestReplaySemanticsHistories(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(semanticsHistoriesDir, "*.json"))
	require.NoError(t, err)
	require.NotEmpty(t, files, "no saved histories: run TestRecordSemanticsHistories")
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			r := worker.NewWorkflowReplayer()
			Register(r)
			require.NoError(t, r.ReplayWorkflowHistoryFromJSONFile(nil, f))
		})
	}
}

func TestRecordSemanticsHistories(t *testing.T) {
	c, w, queue := newRecorder(t, "replay-semantics-")
	require.NoError(t, w.Start())
	defer w.Stop()
	require.NoError(t, os.MkdirAll(semanticsHistoriesDir, 0o755))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	ev := func(n int) run.Input {
		in := input(run.Action{Name: "a", Type: "echo", Config: map[string]any{"records": "{{records}}"}})
		in.Trigger.Tag = "replay-" + queue
		in.Event.ID = queue + "-" + string(rune('a'+n))
		return in
	}
	opts := client.StartWorkflowOptions{TaskQueue: queue}
	save := func(name, id string, done func() bool) {
		require.Eventually(t, done, 30*time.Second, 100*time.Millisecond, name)
		saveHistory(ctx, t, c, filepath.Join(semanticsHistoriesDir, name+".json"), id, "")
		_ = c.TerminateWorkflow(ctx, id, "", "recorded")
	}
	completed := func(id string) func() bool {
		return func() bool {
			d, err := c.DescribeWorkflowExecution(ctx, id, "")
			return err == nil && d.GetWorkflowExecutionInfo().GetCloseTime() != nil
		}
	}

	// A lane that ran two sync runs in order.
	lane := run.LaneWorkflowID("replay", "users", queue)
	for i := range 2 {
		sync := ev(i)
		sync.Actions[0].Timing = run.TimingSync
		_, err := c.SignalWithStartWorkflow(ctx, lane, run.SignalLaneRun, sync, opts, run.LaneWorkflowName, run.LaneInput{})
		require.NoError(t, err)
	}
	save("lane", lane, completed(run.WorkflowID(ev(1).Trigger.Tag, ev(1).Event.ID)))

	// A queue that worked through three items, one of them enqueued twice.
	qid := run.QueueWorkflowID("replay-" + queue)
	for _, k := range []string{"x", "y", "x", "z"} {
		it := run.QueueItem{Request: run.ActionRequest{Type: "echo", IdempotencyKey: k}, Retry: run.RetryPolicy{MaxAttempts: 1}}
		_, err := c.SignalWithStartWorkflow(ctx, qid, run.SignalEnqueue, it, opts, run.QueueWorkflowName, run.QueueInput{Name: "replay", Concurrency: 2})
		require.NoError(t, err)
	}
	save("queue", qid, func() bool {
		v, err := c.QueryWorkflow(ctx, qid, "", QueryQueueStats)
		var st QueueStats
		return err == nil && v.Get(&st) == nil && st.Done == 3
	})

	// A batch of two events that started its run.
	bid := run.BatchWorkflowID("replay", "t", queue)
	for i := range 2 {
		all := ev(i)
		all.ForAll = true
		_, err := c.SignalWithStartWorkflow(ctx, bid, run.SignalBatchAdd, all, opts, run.BatchWorkflowName,
			run.BatchInput{Tag: all.Trigger.Tag, Topic: "t", Key: queue, Window: 300 * time.Millisecond})
		require.NoError(t, err)
	}
	save("batch", bid, completed(run.WorkflowID(ev(0).Trigger.Tag, "batch/t/"+queue)))
}
