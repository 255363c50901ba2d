package workflows

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/triggerd/triggerd/run"
)

// A value the event does not carry (an unchanged TOAST column) renders
// as the trigger's onUnknown says, and the run carries the event's and
// the planner's notes.
func TestRunTriggerUnknownValues(t *testing.T) {
	in := func(policy string) run.Input {
		in := input(run.Action{Name: "hook", Type: "echo", Config: map[string]any{"body": "{{record.body}}", "name": "{{record.name}}"}, Retry: fastRetry(1)})
		in.Event.Operation = run.OperationUpdate
		in.Event.Unavailable = []string{"record.body", run.UnavailablePrevious}
		in.Event.Notes = []string{"record.total: decoded by its form"}
		in.Notes = []string{"refetched x from database main in 1ms"}
		in.OnUnknown = policy
		return in
	}
	for _, tc := range []struct {
		policy string
		config map[string]any
	}{
		{run.OnUnknownNull, map[string]any{"body": nil, "name": "Alice"}},
		{run.OnUnknownOmit, map[string]any{"name": "Alice"}},
	} {
		env, c := newEnv(t)
		env.ExecuteWorkflow(run.WorkflowName, in(tc.policy))
		require.NoError(t, env.GetWorkflowError())
		var res run.Result
		require.NoError(t, env.GetWorkflowResult(&res))
		assert.Equal(t, []string{"record.total: decoded by its form", "refetched x from database main in 1ms"}, res.Notes)
		require.Len(t, c.all(), 1)
		assert.Equal(t, tc.config, c.all()[0].Config, tc.policy)
		assert.NotEmpty(t, res.Actions[0].Notes)
	}

	env, c := newEnv(t)
	env.ExecuteWorkflow(run.WorkflowName, in(""))
	err := env.GetWorkflowError()
	require.Error(t, err, "fail is the default")
	assert.Contains(t, err.Error(), "RENDER_FAILED: render config: body: {{record.body}}: record.body is unavailable")
	assert.Empty(t, c.all(), "nothing is sent that pretends to know the value")
}

// {{env}} renders the environment of the process that planned the run.
func TestRunTriggerEnv(t *testing.T) {
	env, c := newEnv(t)
	in := input(run.Action{Name: "hook", Type: "echo", Config: map[string]any{"env": "{{env}}", "url": "https://{{env}}.example.test"}})
	in.Env = "staging"
	env.ExecuteWorkflow(run.WorkflowName, in)
	require.NoError(t, env.GetWorkflowError())
	assert.Equal(t, map[string]any{"env": "staging", "url": "https://staging.example.test"}, c.all()[0].Config)
}
