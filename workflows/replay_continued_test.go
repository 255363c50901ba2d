package workflows

import (
	"compress/gzip"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"

	"github.com/triggerd/triggerd/run"
)

// continuedHistoriesDir holds lane and queue runs that continued as new
// (after laneMaxRuns runs, queueMaxItems items) and a batch run that
// received what a continued batch carries (its pending events and the ids
// it has seen). They are gzipped: hundreds of runs make for a megabyte or
// two of JSON that compresses twentyfold.
const continuedHistoriesDir = "testdata/histories/continued"

func continuedFiles(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(continuedHistoriesDir, "*.json.gz"))
	require.NoError(t, err)
	require.NotEmpty(t, files, "no saved histories: run TestRecordContinuedHistories")
	return files
}

func TestReplayContinuedHistories(t *testing.T) {
	for _, f := range continuedFiles(t) {
		t.Run(filepath.Base(f), func(t *testing.T) {
			r := worker.NewWorkflowReplayer()
			Register(r)
			require.NoError(t, replayFile(t, r, f))
		})
	}
}

// TestRecordContinuedHistories records continuedHistoriesDir's histories on
// a real Temporal server (TRIGGERD_RECORD_HISTORIES=1; see
// TestRecordActionHistories).
func TestRecordContinuedHistories(t *testing.T) {
	c, w, queue := newRecorder(t, "replay-continued-")
	require.NoError(t, w.Start())
	defer w.Stop()
	require.NoError(t, os.MkdirAll(continuedHistoriesDir, 0o755))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	opts := client.StartWorkflowOptions{TaskQueue: queue}
	ev := func(n int) run.Input {
		in := input(run.Action{Name: "a", Type: "echo", Config: map[string]any{"id": "{{record.id}}"}})
		in.Trigger.Tag = "replay-" + queue
		in.Event.ID = fmt.Sprintf("%s-%d", queue, n)
		return in
	}
	// continued waits for the first run of id to continue as new and
	// saves its history, then ends the workflow.
	continued := func(name, id, runID string) {
		require.Eventually(t, func() bool {
			d, err := c.DescribeWorkflowExecution(ctx, id, runID)
			return err == nil && d.GetWorkflowExecutionInfo().GetStatus() == enumspb.WORKFLOW_EXECUTION_STATUS_CONTINUED_AS_NEW
		}, 5*time.Minute, 200*time.Millisecond, name)
		saveGzipHistory(ctx, t, c, filepath.Join(continuedHistoriesDir, name+".json.gz"), id, runID)
		_ = c.TerminateWorkflow(ctx, id, "", "recorded")
	}

	// A lane past laneMaxRuns sync runs, one more waiting.
	lane := run.LaneWorkflowID("replay", "users", queue)
	var laneRun string
	for i := range laneMaxRuns + 1 {
		sync := ev(i)
		sync.Actions[0].Timing = run.TimingSync
		wr, err := c.SignalWithStartWorkflow(ctx, lane, run.SignalLaneRun, sync, opts, run.LaneWorkflowName, run.LaneInput{})
		require.NoError(t, err)
		if i == 0 {
			laneRun = wr.GetRunID()
		}
	}
	continued("lane", lane, laneRun)

	// A queue past queueMaxItems items, a few more carried over.
	qid := run.QueueWorkflowID("replay-" + queue)
	var queueRun string
	for i := range queueMaxItems + 3 {
		it := run.QueueItem{Request: run.ActionRequest{Type: "echo", IdempotencyKey: fmt.Sprint(i)}, Retry: run.RetryPolicy{MaxAttempts: 1}}
		wr, err := c.SignalWithStartWorkflow(ctx, qid, run.SignalEnqueue, it, opts, run.QueueWorkflowName, run.QueueInput{Name: "replay", Concurrency: 20})
		require.NoError(t, err)
		if i == 0 {
			queueRun = wr.GetRunID()
		}
	}
	continued("queue", qid, queueRun)

	// A batch continues as new only when the server suggests it (a
	// history thousands of events long): record instead the run that
	// continuing starts, with the pending events and the seen ids.
	bid := run.BatchWorkflowID("replay", "t", queue)
	carried := ev(1)
	carried.ForAll = true
	wr, err := c.SignalWithStartWorkflow(ctx, bid, run.SignalBatchAdd, func() run.Input { in := ev(2); in.ForAll = true; return in }(), opts,
		run.BatchWorkflowName, run.BatchInput{Tag: carried.Trigger.Tag, Topic: "t", Key: queue, Window: 300 * time.Millisecond,
			Pending: []run.Input{carried}, Seen: []string{ev(0).Event.ID}})
	require.NoError(t, err)
	batchRun := run.WorkflowID(carried.Trigger.Tag, "batch/t/"+queue)
	require.Eventually(t, func() bool {
		d, err := c.DescribeWorkflowExecution(ctx, batchRun, "")
		return err == nil && d.GetWorkflowExecutionInfo().GetCloseTime() != nil
	}, time.Minute, 100*time.Millisecond, "the continued batch's run")
	saveGzipHistory(ctx, t, c, filepath.Join(continuedHistoriesDir, "batch_continued.json.gz"), bid, wr.GetRunID())
	_ = c.TerminateWorkflow(ctx, bid, "", "recorded")
}

// saveGzipHistory is saveHistory, gzipped.
func saveGzipHistory(ctx context.Context, t *testing.T, c client.Client, path, id, runID string) {
	t.Helper()
	tmp := filepath.Join(t.TempDir(), "history.json")
	saveHistory(ctx, t, c, tmp, id, runID)
	data, err := os.ReadFile(tmp)
	require.NoError(t, err)
	f, err := os.Create(path)
	require.NoError(t, err)
	zw := gzip.NewWriter(f)
	_, err = zw.Write(data)
	require.NoError(t, err)
	require.NoError(t, zw.Close())
	require.NoError(t, f.Close())
}
