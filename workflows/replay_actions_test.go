package workflows

import (
	"compress/gzip"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/triggerd/triggerd/run"
	"github.com/triggerd/triggerd/run/errtype"
)

// actionsHistoriesDir holds the histories of the paths through RunTrigger
// the first recordings did not take (child workflows, a cascade refused,
// the defer and skip fallbacks) and a GateDecision, recorded on a real
// server by TestRecordActionHistories and replayed by
// TestReplayActionHistories.
const actionsHistoriesDir = "testdata/histories/actions"

func TestReplayActionHistories(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(actionsHistoriesDir, "*.json"))
	require.NoError(t, err)
	require.NotEmpty(t, files, "no saved histories: run TestRecordActionHistories")
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			r := worker.NewWorkflowReplayer()
			Register(r)
			require.NoError(t, replayFile(t, r, f))
		})
	}
}

// replayFile replays the history in file under its original workflow id:
// a child's id derives from its parent's, so a replay under the
// replayer's placeholder id would not match the recorded child.
func replayFile(t *testing.T, r worker.WorkflowReplayer, file string) error {
	t.Helper()
	f, err := os.Open(file)
	require.NoError(t, err)
	defer f.Close()
	var rd io.Reader = f
	if strings.HasSuffix(file, ".gz") {
		zr, err := gzip.NewReader(f)
		require.NoError(t, err)
		rd = zr
	}
	hist, err := client.HistoryFromJSON(rd, client.HistoryJSONOptions{})
	require.NoError(t, err)
	started := hist.GetEvents()[0].GetWorkflowExecutionStartedEventAttributes()
	require.NotNil(t, started, "%s starts with WorkflowExecutionStarted", file)
	return r.ReplayWorkflowHistoryWithOptions(nil, hist, worker.ReplayWorkflowHistoryOptions{
		OriginalExecution: workflow.Execution{ID: started.GetWorkflowId()},
	})
}

// actionScenarios are the RunTrigger runs TestRecordActionHistories saves.
func actionScenarios() map[string]run.Input {
	with := func(actions ...run.Action) run.Input { return input(actions...) }
	cascade := func(chain ...string) run.Input {
		in := with(run.Action{Name: "never", Type: "echo"})
		in.Event.Cascade = chain
		in.MaxCascadeDepth = 2
		return in
	}
	return map[string]run.Input{
		// A child workflow whose result feeds the next action, and one
		// started and left to run on its own.
		"child_execute": with(
			run.Action{Name: "child", Type: run.TypeWorkflowExecute, Config: map[string]any{
				"workflow": "double", "input": map[string]any{"n": "{{record.id}}"}}},
			run.Action{Name: "after", Type: "echo", Config: map[string]any{"got": "{{actions.child.output.result.doubled}}"}},
		),
		"child_dispatch": with(
			run.Action{Name: "child", Type: run.TypeWorkflowDispatch, Config: map[string]any{
				"workflow": "double", "input": map[string]any{"n": 2}}},
			run.Action{Name: "after", Type: "echo"},
		),
		// Runs refused by the cascade checks, before any action.
		"cascade_loop":  cascade("other", "welcome"),
		"cascade_depth": cascade("a", "b"),
		// An open breaker's defer step (wait for the probe, try again,
		// succeed) and skip step (the action is skipped, the run goes on).
		"fallback_defer": with(
			run.Action{Name: "probed", Type: "opening", Config: map[string]any{"url": "http://x"},
				Guard: &run.Guard{Fallback: []run.Fallback{{Defer: true}}}},
			run.Action{Name: "after", Type: "echo"},
		),
		"fallback_skip": with(
			run.Action{Name: "skipped", Type: "open", Config: map[string]any{"url": "http://x"},
				Guard: &run.Guard{Fallback: []run.Fallback{{Skip: true}}}},
			run.Action{Name: "after", Type: "echo"},
		),
		// An open breaker's action fallback, rendered from the event.
		"fallback_action": with(
			run.Action{Name: "primary", Type: "open", Config: map[string]any{"url": "http://x"},
				Guard: &run.Guard{Fallback: []run.Fallback{{Action: &run.Action{Type: "echo",
					Config: map[string]any{"backup": "{{record.id}}"}}}}}},
		),
	}
}

// TestRecordActionHistories runs every action scenario and a GateDecision
// on a real Temporal server and saves their histories. Like
// TestRecordHistories it only runs with TRIGGERD_RECORD_HISTORIES=1:
//
//	TRIGGERD_RECORD_HISTORIES=1 go test ./workflows/ -run 'TestRecord' -count=1
//
// It adds or rewrites the files of actionsHistoriesDir only.
func TestRecordActionHistories(t *testing.T) {
	c, w, queue := newRecorder(t, "replay-actions-")
	w.RegisterWorkflowWithOptions(doubleWorkflow, workflow.RegisterOptions{Name: "double"})
	registerGuardedFakes(w)
	// "opening" is a breaker that is open for the first call of each run
	// and lets the deferred retry through.
	var seen sync.Map
	w.RegisterActivityWithOptions(func(ctx context.Context, req run.ActionRequest) (any, error) {
		if _, again := seen.LoadOrStore(req.WorkflowID, true); !again {
			return nil, refusal(errtype.BreakerOpen, "target:http:x", 200*time.Millisecond)
		}
		return req.Config, nil
	}, activity.RegisterOptions{Name: "opening"})
	require.NoError(t, w.Start())
	defer w.Stop()
	require.NoError(t, os.MkdirAll(actionsHistoriesDir, 0o755))
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	for name, in := range actionScenarios() {
		t.Run(name, func(t *testing.T) {
			id := run.WorkflowID("replay-"+name, queue)
			wr, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: queue}, run.WorkflowName, in)
			require.NoError(t, err)
			var res run.Result
			if err := wr.Get(ctx, &res); err != nil {
				// Only the cascade scenarios fail, and for that reason.
				var appErr *temporal.ApplicationError
				require.ErrorAs(t, err, &appErr)
				require.Contains(t, []string{errtype.CascadeLoop, errtype.CascadeDepth}, appErr.Type(), "%v", err)
			}
			saveHistory(ctx, t, c, filepath.Join(actionsHistoriesDir, name+".json"), id, wr.GetRunID())
		})
	}

	id := "replay-gate-" + queue
	d := run.GateDecision{Table: "orders", Operation: run.OperationInsert, Records: []map[string]any{{"id": 1.0}},
		Rejected: true, Result: []byte(`{"rejected":true}`), At: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	wr, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: queue}, run.GateWorkflowName, d)
	require.NoError(t, err)
	require.NoError(t, wr.Get(ctx, nil))
	saveHistory(ctx, t, c, filepath.Join(actionsHistoriesDir, "gate_decision.json"), id, wr.GetRunID())
}

// before returns wf altered the way a careless edit would: one more
// command (a timer, or a side effect's marker) ahead of everything the
// recorded run did, registered under the same name.
func before[In, Out any](extra func(workflow.Context) error, wf func(workflow.Context, In) (Out, error)) func(workflow.Context, In) (Out, error) {
	return func(ctx workflow.Context, in In) (Out, error) {
		if err := extra(ctx); err != nil {
			var zero Out
			return zero, err
		}
		return wf(ctx, in)
	}
}

// noResult adapts a workflow that returns only an error.
func noResult[In any](wf func(workflow.Context, In) error) func(workflow.Context, In) (struct{}, error) {
	return func(ctx workflow.Context, in In) (struct{}, error) { return struct{}{}, wf(ctx, in) }
}

// TestReplayDetectsChangesInEveryWorkflowType: for every workflow type
// triggerd registers, its saved histories fail to replay against an
// incompatible change to it (TestReplayDetectsNonDeterminism covers the
// first RunTrigger histories). A replay test that passed here would not
// protect runs in flight.
func TestReplayDetectsChangesInEveryWorkflowType(t *testing.T) {
	extras := map[string]func(workflow.Context) error{
		"a timer first": func(ctx workflow.Context) error { return workflow.Sleep(ctx, time.Second) },
		"a side effect first": func(ctx workflow.Context) error {
			return workflow.SideEffect(ctx, func(workflow.Context) any { return 1 }).Get(new(int))
		},
	}
	glob := func(pattern string) []string {
		files, err := filepath.Glob(pattern)
		require.NoError(t, err)
		require.NotEmpty(t, files, pattern)
		return files
	}
	runTriggerFiles := glob(filepath.Join(actionsHistoriesDir, "[a-fh-z]*.json")) // all but gate_decision
	types := []struct {
		name  string
		files []string
		alter func(extra func(workflow.Context) error) any
	}{
		{run.WorkflowName, runTriggerFiles, func(x func(workflow.Context) error) any { return before(x, RunTrigger) }},
		{run.GateWorkflowName, glob(filepath.Join(actionsHistoriesDir, "gate_decision.json")),
			func(x func(workflow.Context) error) any { return before(x, GateDecision) }},
		{run.LaneWorkflowName, append(glob(filepath.Join(semanticsHistoriesDir, "lane*.json")), glob(filepath.Join(continuedHistoriesDir, "lane*.gz"))...),
			func(x func(workflow.Context) error) any { return before(x, noResult(Lane)) }},
		{run.QueueWorkflowName, append(glob(filepath.Join(semanticsHistoriesDir, "queue*.json")), glob(filepath.Join(continuedHistoriesDir, "queue*.gz"))...),
			func(x func(workflow.Context) error) any { return before(x, Queue) }},
		{run.DeliveryWorkflowName, glob(filepath.Join(semanticsHistoriesDir, "delivery*.json")),
			func(x func(workflow.Context) error) any { return before(x, Delivery) }},
		{run.BatchWorkflowName, append(glob(filepath.Join(semanticsHistoriesDir, "batch*.json")), glob(filepath.Join(continuedHistoriesDir, "batch*.gz"))...),
			func(x func(workflow.Context) error) any { return before(x, noResult(Batch)) }},
	}
	for _, ty := range types {
		// The control: the same wrapping with nothing added replays, so
		// a failure below is the change's doing, not the harness's.
		for _, f := range ty.files {
			t.Run(ty.name+"/unchanged/"+filepath.Base(f), func(t *testing.T) {
				r := worker.NewWorkflowReplayer()
				registerAllBut(r, ty.name)
				r.RegisterWorkflowWithOptions(ty.alter(func(workflow.Context) error { return nil }), workflow.RegisterOptions{Name: ty.name})
				require.NoError(t, replayFile(t, r, f))
			})
		}
		for what, extra := range extras {
			for _, f := range ty.files {
				t.Run(ty.name+"/"+what+"/"+filepath.Base(f), func(t *testing.T) {
					// The altered function replaces the real one under its
					// name, beside the others unchanged.
					r := worker.NewWorkflowReplayer()
					registerAllBut(r, ty.name)
					r.RegisterWorkflowWithOptions(ty.alter(extra), workflow.RegisterOptions{Name: ty.name})
					require.Error(t, replayFile(t, r, f), "the altered %s still replays %s", ty.name, f)
				})
			}
		}
	}
}

// registerAllBut registers every workflow of Register except name.
func registerAllBut(r worker.WorkflowRegistry, name string) {
	for n, wf := range map[string]any{
		run.WorkflowName: RunTrigger, run.GateWorkflowName: GateDecision,
		run.LaneWorkflowName: Lane, run.QueueWorkflowName: Queue, run.BatchWorkflowName: Batch,
		run.DeliveryWorkflowName: Delivery,
	} {
		if n != name {
			r.RegisterWorkflowWithOptions(wf, workflow.RegisterOptions{Name: n})
		}
	}
}
