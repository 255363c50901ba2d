package workflows

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/triggerd/triggerd/run"
	"github.com/triggerd/triggerd/run/errtype"
	"github.com/triggerd/triggerd/trigger/template"
)

// scopeRecorder is a renderer that records every scope it is given and adds
// the earlier outputs it sees to the config, so that the echo action hands
// them back and the test sees exactly what a template could reference.
type scopeRecorder struct {
	mu     sync.Mutex
	scopes []template.Scope
	fail   string // action config "name" whose render fails
}

func (r *scopeRecorder) render(cfg map[string]any, scope template.Scope) (map[string]any, []string, error) {
	r.mu.Lock()
	r.scopes = append(r.scopes, scope)
	r.mu.Unlock()
	if cfg["name"] == r.fail && r.fail != "" {
		return nil, nil, errors.New("unknown variable actions.nope")
	}
	out := map[string]any{"seen": scope.Actions}
	for k, v := range cfg {
		out[k] = v
	}
	return out, nil, nil
}

func TestRunTriggerScopeCarriesEarlierOutputs(t *testing.T) {
	env, c := newEnv(t)
	rec := &scopeRecorder{}
	env.RegisterWorkflowWithOptions(func(ctx workflow.Context, in run.Input) (run.Result, error) {
		return runTrigger(ctx, in, rec.render)
	}, workflow.RegisterOptions{Name: "recording"})

	env.ExecuteWorkflow("recording", input(
		run.Action{Name: "first", Type: "echo", Config: map[string]any{"n": 1.0}},
		run.Action{Name: "second", Type: "echo", Config: map[string]any{"n": 2.0}},
	))
	require.NoError(t, env.GetWorkflowError())
	var res run.Result
	require.NoError(t, env.GetWorkflowResult(&res))

	require.Len(t, rec.scopes, 2)
	s0, s1 := rec.scopes[0], rec.scopes[1]
	require.Empty(t, s0.Actions)
	require.Equal(t, "afterInsert", s0.Event)
	require.Equal(t, "users", s0.Table)
	require.Equal(t, "app", s0.Database)
	require.Equal(t, "insert", s0.Operation)
	require.Equal(t, "Alice", s0.Record["name"])
	require.Equal(t, time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), s0.Timestamp.UTC())
	require.Equal(t, "welcome", s0.Trigger.Tag)
	require.Equal(t, c.all()[0].WorkflowID, s0.RunID)

	// The second action saw the first one's output, as the echo returned it.
	firstOut := res.Actions[0].Output
	require.Equal(t, map[string]any{"first": map[string]any{"output": firstOut}}, s1.Actions)
	second := res.Actions[1].Output.(map[string]any)
	require.Equal(t, map[string]any{"first": map[string]any{"output": firstOut}}, second["seen"])
}

func TestRunTriggerTimestampFallsBackToWorkflowNow(t *testing.T) {
	env, _ := newEnv(t)
	rec := &scopeRecorder{}
	env.RegisterWorkflowWithOptions(func(ctx workflow.Context, in run.Input) (run.Result, error) {
		return runTrigger(ctx, in, rec.render)
	}, workflow.RegisterOptions{Name: "recording"})
	start := time.Date(2030, 5, 6, 7, 8, 9, 0, time.UTC)
	env.SetStartTime(start)
	in := input(run.Action{Name: "a", Type: "echo"})
	in.Event.Timestamp = time.Time{}
	env.ExecuteWorkflow("recording", in)
	require.NoError(t, env.GetWorkflowError())
	require.Equal(t, start, rec.scopes[0].Timestamp.UTC())
}

func TestRunTriggerRenderErrorFailsActionWithoutCallingIt(t *testing.T) {
	env, c := newEnv(t)
	rec := &scopeRecorder{fail: "broken"}
	env.RegisterWorkflowWithOptions(func(ctx workflow.Context, in run.Input) (run.Result, error) {
		return runTrigger(ctx, in, rec.render)
	}, workflow.RegisterOptions{Name: "recording"})
	env.ExecuteWorkflow("recording", input(
		run.Action{Name: "tolerated", Type: "echo", Config: map[string]any{"name": "broken"}, ContinueOnError: true},
		run.Action{Name: "fatal", Type: "echo", Config: map[string]any{"name": "broken"}},
		run.Action{Name: "never", Type: "echo"},
	))
	err := env.GetWorkflowError()
	require.Error(t, err)
	var appErr *temporal.ApplicationError
	require.True(t, errors.As(err, &appErr))
	require.Equal(t, errtype.ActionFailed, appErr.Type())
	res, ok := ResultFromError(err)
	require.True(t, ok)
	require.Equal(t, run.StatusFailed, res.Actions[0].Status)
	require.Contains(t, res.Actions[0].Error, "render config")
	require.Equal(t, run.StatusFailed, res.Actions[1].Status)
	require.Equal(t, run.StatusSkipped, res.Actions[2].Status)
	require.Empty(t, c.all(), "an action whose config cannot be rendered is never called")
}

// With the real template engine, a template that names an earlier action's
// output renders to that output, and a field the record lacks is rendered
// empty with a note in the action's result.
func TestRunTriggerRendersEarlierOutputsWithRealEngine(t *testing.T) {
	env, _ := newEnv(t)
	env.ExecuteWorkflow(run.WorkflowName, input(
		run.Action{Name: "first", Type: "echo", Config: map[string]any{"greeting": "Hello {{record.name}}"}},
		run.Action{Name: "second", Type: "echo", Config: map[string]any{
			"prev": "{{actions.first.output.greeting}}",
			"nick": "aka {{record.nickname}}",
		}},
	))
	require.NoError(t, env.GetWorkflowError())
	var res run.Result
	require.NoError(t, env.GetWorkflowResult(&res))
	require.Equal(t, "Hello Alice", res.Actions[1].Output.(map[string]any)["prev"])
	require.Equal(t, "aka ", res.Actions[1].Output.(map[string]any)["nick"])
	require.Empty(t, res.Actions[0].Notes)
	require.Len(t, res.Actions[1].Notes, 1)
	require.Contains(t, res.Actions[1].Notes[0], "record.nickname")
}
