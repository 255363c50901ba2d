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

// TestRecordCoverageHistories records, next to the other semantics
// histories, a batch reopened after it closed (the coverage lookup and a
// supplement run) and a run with a long action (the heartbeat marker).
// It adds files; it does not re-record the others.
func TestRecordCoverageHistories(t *testing.T) {
	c, w, queue := newRecorder(t, "replay-coverage-")
	(&Coverage{Client: c}).Register(w)
	require.NoError(t, w.Start())
	defer w.Stop()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	save := func(name, id, runID string) {
		saveHistory(ctx, t, c, filepath.Join(semanticsHistoriesDir, name+".json"), id, runID)
	}
	ev := func(n int) run.Input {
		in := input(run.Action{Name: "a", Type: "echo", Config: map[string]any{"records": "{{records}}"}})
		in.Trigger.Tag = "replay-" + queue
		in.Event.ID = queue + "-" + string(rune('a'+n))
		in.ForAll = true
		return in
	}
	bid := run.BatchWorkflowID("replay", "t", queue)
	deliver := func(ns ...int) string {
		var (
			wr  client.WorkflowRun
			err error
		)
		for _, n := range ns {
			wr, err = c.SignalWithStartWorkflow(ctx, bid, run.SignalBatchAdd, ev(n), client.StartWorkflowOptions{TaskQueue: queue},
				run.BatchWorkflowName, run.BatchInput{Tag: ev(n).Trigger.Tag, Topic: "t", Key: queue, Window: time.Second, Linger: time.Millisecond})
			require.NoError(t, err)
		}
		require.NoError(t, c.GetWorkflow(ctx, bid, wr.GetRunID()).Get(ctx, nil))
		return wr.GetRunID()
	}
	deliver(0, 1)
	save("batch_reopened", bid, deliver(0, 1, 2))

	long := input(run.Action{Name: "a", Type: "echo", Timeout: 10 * time.Minute, Config: map[string]any{"x": "{{record.id}}"}})
	long.Trigger.Tag = "replay-long-" + queue
	long.HeartbeatTimeout = 2 * time.Second
	wr, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: run.WorkflowID(long.Trigger.Tag, "ev"), TaskQueue: queue},
		run.WorkflowName, long)
	require.NoError(t, err)
	require.NoError(t, wr.Get(ctx, nil))
	save("long_action", wr.GetID(), wr.GetRunID())
}
