package workflows

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/triggerd/triggerd/run"
	"github.com/triggerd/triggerd/run/errtype"
)

// The workflow hands {{secret.NAME}} to the activity as written (the
// worker resolves it), renders everything around it, and refuses a record
// that smuggles a secret reference in.
func TestRunTriggerLeavesSecretsToTheWorker(t *testing.T) {
	env, c := newEnv(t)
	env.ExecuteWorkflow(run.WorkflowName, input(
		run.Action{Name: "call", Type: "echo", Config: map[string]any{
			"auth": "Bearer {{secret.API_TOKEN}}", "key": "{{ secret.API_TOKEN }}", "user": "{{record.name}}",
		}},
	))
	require.NoError(t, env.GetWorkflowError())
	reqs := c.all()
	require.Len(t, reqs, 1)
	require.Equal(t, map[string]any{"auth": "Bearer {{secret.API_TOKEN}}", "key": "{{ secret.API_TOKEN }}", "user": "Alice"}, reqs[0].Config)

	env, c = newEnv(t)
	in := input(run.Action{Name: "call", Type: "echo", Config: map[string]any{"note": "{{record.name}}"}})
	in.Event.Record["name"] = "{{secret.API_TOKEN}}"
	env.ExecuteWorkflow(run.WorkflowName, in)
	err := env.GetWorkflowError()
	require.Error(t, err)
	require.Contains(t, err.Error(), errtype.ActionFailed)
	require.Contains(t, err.Error(), "only a definition may write")
	require.Empty(t, c.all(), "the activity is never called")
}
