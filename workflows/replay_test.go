package workflows

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/triggerd/triggerd/internal/testenv"
	"github.com/triggerd/triggerd/run"
	"github.com/triggerd/triggerd/run/errtype"
)

// Histories recorded from a real Temporal server (TestRecordHistories) are
// replayed against the current RunTrigger: a change that makes the
// workflow issue different commands for the same history (reordering
// activities, adding a timer, changing an activity type...) fails here
// before it can break runs in flight.
const historiesDir = "testdata/histories"

// recordVar asks TestRecordHistories to (re)write the saved histories.
const recordVar = "TRIGGERD_RECORD_HISTORIES"

func historyFiles(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(historiesDir, "*.json"))
	require.NoError(t, err)
	require.NotEmpty(t, files, "no saved histories in %s: run TestRecordHistories", historiesDir)
	return files
}

func TestReplayHistories(t *testing.T) {
	for _, f := range historyFiles(t) {
		t.Run(filepath.Base(f), func(t *testing.T) {
			r := worker.NewWorkflowReplayer()
			Register(r)
			require.NoError(t, r.ReplayWorkflowHistoryFromJSONFile(nil, f))
		})
	}
}

// The replay test is only worth having if it notices a non-deterministic
// change. Each mutation below is one a well-meaning edit could make; every
// saved history must fail to replay under each.
func TestReplayDetectsNonDeterminism(t *testing.T) {
	mutations := map[string]func(ctx workflow.Context, in run.Input) (run.Result, error){
		"a timer before the first action": func(ctx workflow.Context, in run.Input) (run.Result, error) {
			if err := workflow.Sleep(ctx, time.Second); err != nil {
				return run.Result{}, err
			}
			return RunTrigger(ctx, in)
		},
		"the first action dropped": func(ctx workflow.Context, in run.Input) (run.Result, error) {
			in.Actions = in.Actions[1:]
			return RunTrigger(ctx, in)
		},
	}
	for what, wf := range mutations {
		for _, f := range historyFiles(t) {
			t.Run(what+"/"+filepath.Base(f), func(t *testing.T) {
				r := worker.NewWorkflowReplayer()
				r.RegisterWorkflowWithOptions(wf, workflowRegisterOptions())
				require.Error(t, r.ReplayWorkflowHistoryFromJSONFile(nil, f))
			})
		}
	}
}

// replayScenarios are the runs whose histories are saved. Action types are
// the fake echo and fail activities, so the histories depend on nothing
// but the workflow.
func replayScenarios() map[string]run.Input {
	fast := run.RetryPolicy{MaxAttempts: 2, InitialInterval: 100 * time.Millisecond, BackoffCoefficient: 1, MaxInterval: time.Second}
	base := input()
	with := func(actions ...run.Action) run.Input {
		in := base
		in.Actions = actions
		return in
	}
	return map[string]run.Input{
		"succeeded": with(
			run.Action{Name: "webhook", Type: "echo", Config: map[string]any{"url": "http://example.invalid/{{record.id}}"}, Timeout: 10 * time.Second},
			run.Action{Name: "publish", Type: "echo", Config: map[string]any{"prev": "{{actions.webhook.output}}"}},
			run.Action{Type: "echo", Config: map[string]any{"message": "done"}},
		),
		"continue_on_error": with(
			run.Action{Name: "flaky", Type: "fail", Config: map[string]any{"type": errtype.HTTP5xx}, Retry: fast, ContinueOnError: true},
			run.Action{Name: "after", Type: "echo", Config: map[string]any{"ok": true}},
		),
		// guarded: a quota wait then an open breaker's dead-letter
		// fallback (the commands guardVersion guards).
		"guarded": with(
			run.Action{Name: "limited", Type: "limited", Config: map[string]any{"n": 1.0}},
			run.Action{Name: "open", Type: "open", Config: map[string]any{"url": "http://x"},
				Guard: &run.Guard{Fallback: []run.Fallback{{DeadLetter: "kafka:dead"}}}},
		),
		"action_failed": with(
			run.Action{Name: "first", Type: "echo"},
			run.Action{Name: "rejected", Type: "fail", Config: map[string]any{"type": errtype.HTTP4xx, "permanent": true}, Retry: fast},
			run.Action{Name: "never", Type: "echo"},
		),
		// Delivery semantics (cascade_onerror.go, queue.go): the error handlers
		// behind their GetVersion marker, and a queued action's enqueue.
		"action_failed_on_error": withOnError(with(
			run.Action{Name: "rejected", Type: "fail", Config: map[string]any{"type": errtype.HTTP4xx, "permanent": true}, Retry: fast},
		), run.Action{Name: "alert", Type: "echo", Config: map[string]any{"why": "{{actions.failed.output.error}}"}}),
		"queued": with(
			run.Action{Name: "later", Type: "echo", Timing: run.TimingQueued, Queue: "replay"},
			run.Action{Name: "now", Type: "echo"},
		),
	}
}

func withOnError(in run.Input, handlers ...run.Action) run.Input {
	in.OnError = handlers
	return in
}

// TestRecordHistories runs every replay scenario on a real Temporal server
// and saves its history. It only runs when asked (TRIGGERD_RECORD_HISTORIES=1),
// since it rewrites testdata: record again after a deliberate, versioned
// change to the workflow, never to silence TestReplayHistories.
func TestRecordHistories(t *testing.T) {
	c, w, queue := newRecorder(t, "replay-record-")
	w.RegisterActivityWithOptions(func(ctx context.Context, req run.ActionRequest) (any, error) {
		typ, _ := req.Config["type"].(string)
		perm, _ := req.Config["permanent"].(bool)
		return nil, temporal.NewApplicationErrorWithOptions("fake failure", typ, temporal.ApplicationErrorOptions{
			NonRetryable: perm, Details: []any{errtype.Details{Attempt: activity.GetInfo(ctx).Attempt}},
		})
	}, activity.RegisterOptions{Name: "fail"})
	registerGuardedFakes(w)
	w.RegisterActivityWithOptions(func(ctx context.Context, queue string, it run.QueueItem) error {
		return nil
	}, activity.RegisterOptions{Name: enqueueActivity})
	require.NoError(t, w.Start())
	defer w.Stop()
	require.NoError(t, os.MkdirAll(historiesDir, 0o755))

	for name, in := range replayScenarios() {
		t.Run(name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			id := run.WorkflowID("replay-"+name, queue)
			wr, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: queue}, run.WorkflowName, in)
			require.NoError(t, err)
			var res run.Result
			err = wr.Get(ctx, &res)
			if strings.HasPrefix(name, "action_failed") {
				_, ok := ResultFromError(err)
				require.True(t, ok, "failure carries the result: %v", err)
			} else {
				require.NoError(t, err)
			}

			saveHistory(ctx, t, c, filepath.Join(historiesDir, name+".json"), id, wr.GetRunID())
		})
	}
}

// newRecorder dials the real Temporal server for a Record test and
// returns a worker on a fresh task queue (name prefix plus the time) with
// the workflows and an "echo" activity registered; the caller registers
// what else it needs, then starts it. It skips unless recordVar is set,
// since recording rewrites testdata.
func newRecorder(t *testing.T, prefix string) (client.Client, worker.Worker, string) {
	t.Helper()
	if os.Getenv(recordVar) == "" {
		t.Skip(recordVar + " is not set")
	}
	c, err := client.Dial(client.Options{HostPort: testenv.TemporalAddress(t), Namespace: "default"})
	require.NoError(t, err)
	t.Cleanup(c.Close)
	queue := prefix + time.Now().UTC().Format("20060102T150405.000000000")
	w := worker.New(c, queue, worker.Options{})
	Register(w)
	w.RegisterActivityWithOptions(func(ctx context.Context, req run.ActionRequest) (any, error) {
		return req.Config, nil
	}, activity.RegisterOptions{Name: "echo"})
	return c, w, queue
}

// saveHistory writes the history of workflow id (runID, or the latest run
// when empty) to path as the JSON the replayer reads.
func saveHistory(ctx context.Context, t *testing.T, c client.Client, path, id, runID string) {
	t.Helper()
	hist := &historypb.History{}
	it := c.GetWorkflowHistory(ctx, id, runID, false, 0)
	for it.HasNext() {
		e, err := it.Next()
		require.NoError(t, err)
		hist.Events = append(hist.Events, e)
	}
	b, err := protojson.MarshalOptions{Multiline: true, Indent: "  "}.Marshal(hist)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(path, append(b, '\n'), 0o644))
}
