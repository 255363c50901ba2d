package activities

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"

	"github.com/triggerd/triggerd/internal/testenv"
	"github.com/triggerd/triggerd/run"
	"github.com/triggerd/triggerd/workflows"
)

// helperQueueVar makes TestHeartbeatHelperWorker, in a child process, the
// worker that gets killed.
const helperQueueVar = "TRIGGERD_HEARTBEAT_HELPER_QUEUE"

// slowAction reports which worker ran which attempt; on the doomed worker
// it never finishes.
func slowAction(worker string, block bool) func(ctx context.Context, req run.ActionRequest) (any, error) {
	return withAttempt(Heartbeat(func(ctx context.Context, req run.ActionRequest) (any, error) {
		attempt := activity.GetInfo(ctx).Attempt
		if block {
			fmt.Printf("\nstarted attempt %d\n", attempt)
			<-ctx.Done()
			return nil, ctx.Err()
		}
		return map[string]any{"worker": worker, "attempt": attempt}, nil
	}))
}

// TestHeartbeatHelperWorker is the worker that TestKilledWorkerActionIsRetried
// kills: an activity worker whose action blocks.
func TestHeartbeatHelperWorker(t *testing.T) {
	queue := os.Getenv(helperQueueVar)
	if queue == "" {
		t.Skip("runs as the child process of TestKilledWorkerActionIsRetried")
	}
	c, err := client.Dial(client.Options{HostPort: testenv.TemporalAddress(t), Namespace: "default"})
	require.NoError(t, err)
	w := worker.New(c, queue, worker.Options{DisableWorkflowWorker: true})
	w.RegisterActivityWithOptions(slowAction("A", true), activity.RegisterOptions{Name: "slow"})
	require.NoError(t, w.Run(worker.InterruptCh()))
}

// docs/semantics.md, "Heartbeats": a long action (10 minute timeout) whose
// worker is killed mid-action is retried on another worker once its
// heartbeats stop (heartbeat timeout 2s), not after its 10 minutes. The
// killed worker is a real process (SIGKILL); real Temporal server.
func TestKilledWorkerActionIsRetried(t *testing.T) {
	c, err := client.Dial(client.Options{HostPort: testenv.TemporalAddress(t), Namespace: "default"})
	require.NoError(t, err)
	defer c.Close()
	queue := fmt.Sprintf("heartbeat-%d", time.Now().UnixNano())
	// The workflows run here; the action first on the child process.
	wf := worker.New(c, queue, worker.Options{LocalActivityWorkerOnly: true})
	workflows.Register(wf)
	require.NoError(t, wf.Start())
	defer wf.Stop()

	exe, err := os.Executable()
	require.NoError(t, err)
	child := exec.Command(exe, "-test.run=^TestHeartbeatHelperWorker$", "-test.v")
	child.Env = append(os.Environ(), helperQueueVar+"="+queue)
	out, err := child.StdoutPipe()
	require.NoError(t, err)
	child.Stderr = os.Stderr
	require.NoError(t, child.Start())
	defer func() { _ = child.Process.Kill(); _ = child.Wait() }()

	// Well under the action's 10 minute timeout: without heartbeats the
	// retry would only come after it, and this context would end first.
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	in := run.Input{
		Trigger:          run.TriggerRef{Tag: "hb-" + queue, Name: "hb", Version: 1},
		EventName:        "afterInsert",
		Event:            run.Event{ID: "ev-1", Table: "t", Operation: run.OperationInsert},
		Actions:          []run.Action{{Name: "long", Type: "slow", Timeout: 10 * time.Minute}},
		HeartbeatTimeout: 2 * time.Second,
	}
	wr, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: run.WorkflowID(in.Trigger.Tag, "ev-1"), TaskQueue: queue},
		run.WorkflowName, in)
	require.NoError(t, err)

	lines := bufio.NewScanner(out)
	for lines.Scan() && !strings.HasPrefix(lines.Text(), "started attempt 1") {
	}
	require.True(t, strings.HasPrefix(lines.Text(), "started attempt 1"), "the child worker never started the action")
	require.NoError(t, child.Process.Kill(), "kill the worker mid-action")
	_ = child.Wait()

	b := worker.New(c, queue, worker.Options{DisableWorkflowWorker: true})
	b.RegisterActivityWithOptions(slowAction("B", false), activity.RegisterOptions{Name: "slow"})
	require.NoError(t, b.Start())
	defer b.Stop()

	var res run.Result
	require.NoError(t, wr.Get(ctx, &res))
	require.Len(t, res.Actions, 1)
	require.Equal(t, run.StatusSucceeded, res.Actions[0].Status)
	require.Equal(t, map[string]any{"worker": "B", "attempt": 2.0}, res.Actions[0].Output,
		"the second attempt, on the surviving worker")
}

// docs/semantics.md, "Heartbeats": a worker stopping gracefully lets its
// running action finish (within WorkerStopTimeout) instead of abandoning
// it to a retry.
func TestStoppingWorkerFinishesItsAction(t *testing.T) {
	c, err := client.Dial(client.Options{HostPort: testenv.TemporalAddress(t), Namespace: "default"})
	require.NoError(t, err)
	defer c.Close()
	queue := fmt.Sprintf("graceful-%d", time.Now().UnixNano())
	started := make(chan struct{})
	w := worker.New(c, queue, worker.Options{WorkerStopTimeout: time.Minute})
	workflows.Register(w)
	w.RegisterActivityWithOptions(withAttempt(Heartbeat(func(ctx context.Context, req run.ActionRequest) (any, error) {
		close(started)
		// Finish only once the worker is stopping.
		<-activity.GetWorkerStopChannel(ctx)
		return map[string]any{"worker": "A", "attempt": activity.GetInfo(ctx).Attempt}, nil
	})), activity.RegisterOptions{Name: "slow"})
	require.NoError(t, w.Start())

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	in := run.Input{
		Trigger:          run.TriggerRef{Tag: "graceful-" + queue, Name: "g", Version: 1},
		EventName:        "afterInsert",
		Event:            run.Event{ID: "ev-1", Table: "t", Operation: run.OperationInsert},
		Actions:          []run.Action{{Name: "long", Type: "slow", Timeout: 10 * time.Minute}},
		HeartbeatTimeout: 2 * time.Second,
	}
	wr, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: run.WorkflowID(in.Trigger.Tag, "ev-1"), TaskQueue: queue},
		run.WorkflowName, in)
	require.NoError(t, err)
	<-started
	w.Stop() // returns once the action has finished and reported

	// A fresh worker finishes the workflow: the action is not run again.
	w2 := worker.New(c, queue, worker.Options{})
	workflows.Register(w2)
	w2.RegisterActivityWithOptions(slowAction("B", false), activity.RegisterOptions{Name: "slow"})
	require.NoError(t, w2.Start())
	defer w2.Stop()
	var res run.Result
	require.NoError(t, wr.Get(ctx, &res))
	require.Equal(t, map[string]any{"worker": "A", "attempt": 1.0}, res.Actions[0].Output)
}
