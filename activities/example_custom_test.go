package activities_test

import (
	"context"
	"fmt"
	"log/slog"

	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/testsuite"

	"github.com/triggerd/triggerd/activities"
	"github.com/triggerd/triggerd/run"
	"github.com/triggerd/triggerd/workflows"
)

// A program that embeds the worker registers its own Go functions as custom
// actions, next to the built-in ones. A real program passes a worker.Worker
// where this example passes Temporal's test environment.
func Example_customAction() {
	acts := activities.New(activities.WithCustom("score", func(ctx context.Context, ac activities.ActionContext) (any, error) {
		return map[string]any{"user": ac.Record["name"], "changed": ac.ChangedFields}, nil
	}))
	var s testsuite.WorkflowTestSuite
	s.SetLogger(log.NewStructuredLogger(slog.New(slog.DiscardHandler)))
	env := s.NewTestWorkflowEnvironment()
	workflows.Register(env)
	acts.Register(env)

	env.ExecuteWorkflow(run.WorkflowName, run.Input{
		Trigger:   run.TriggerRef{Tag: "score-user"},
		EventName: "afterUpdate",
		Event: run.Event{ID: "ev-1", Table: "users", Operation: run.OperationUpdate,
			Record: map[string]any{"name": "Ada", "plan": "pro"}, PreviousRecord: map[string]any{"name": "Ada", "plan": "free"}},
		Actions: []run.Action{{Name: "score", Type: run.TypeCustom, Config: map[string]any{"function": "score"}}},
	})
	var res run.Result
	if err := env.GetWorkflowResult(&res); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(res.Actions[0].Status, res.Actions[0].Output)
	// Output: succeeded map[changed:[plan] user:Ada]
}
