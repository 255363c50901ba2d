package workflows

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/testsuite"

	"github.com/triggerd/triggerd/run"
)

func TestGateDecisionCompletesWithItsInput(t *testing.T) {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	registerGate(env)
	in := run.GateDecision{Table: "users", Operation: run.OperationInsert, Records: []map[string]any{{"email": "x"}},
		Rejected: true, Result: json.RawMessage(`{"rejected":true}`)}
	env.ExecuteWorkflow(run.GateWorkflowName, in)
	require.True(t, env.IsWorkflowCompleted())
	require.NoError(t, env.GetWorkflowError())
	var out run.GateDecision
	require.NoError(t, env.GetWorkflowResult(&out))
	require.Equal(t, in, out)
}
