package activities

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/testsuite"

	"github.com/triggerd/triggerd/run"
	"github.com/triggerd/triggerd/run/errtype"
)

// activityEnv lets a test activity environment stand in for a worker's
// registry (it lacks only dynamic activities, which Register does not use).
type activityEnv struct {
	*testsuite.TestActivityEnvironment
}

func (activityEnv) RegisterDynamicActivity(any, activity.DynamicRegisterOptions) {}

func TestRegisterWrapsEveryActionInMiddlewares(t *testing.T) {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestActivityEnvironment()
	var logs strings.Builder
	a := New(WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))

	var order []string
	mw := func(name string) run.Middleware {
		return func(next run.ActionFunc) run.ActionFunc {
			return func(ctx context.Context, req run.ActionRequest) (any, error) {
				order = append(order, name+":"+req.Type)
				return next(ctx, req)
			}
		}
	}
	a.Register(activityEnv{env}, mw("outer"), mw("inner"))

	v, err := env.ExecuteActivity(run.TypeLog, request(run.TypeLog, map[string]any{
		"level": "warn", "message": "user 1 welcomed", "fields": map[string]any{"id": 1.0},
	}))
	require.NoError(t, err)
	var out LogOutput
	require.NoError(t, v.Get(&out))
	require.Equal(t, LogOutput{Level: "warn", Message: "user 1 welcomed"}, out)
	require.Equal(t, []string{"outer:log", "inner:log"}, order)
	require.Contains(t, logs.String(), `level=WARN msg="user 1 welcomed"`)
	require.Contains(t, logs.String(), "id=1")
	require.Contains(t, logs.String(), "workflowId=triggerd/t/ev-1")

	for typ := range a.Actions() {
		require.NotPanics(t, func() { _, _ = env.ExecuteActivity(typ, request(typ, nil)) }, typ)
	}
}

func TestRegisteredActionsReportTheirAttempt(t *testing.T) {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestActivityEnvironment()
	a := New()
	failing := func(run.ActionFunc) run.ActionFunc {
		return func(context.Context, run.ActionRequest) (any, error) { return nil, errors.New("breaker open") }
	}
	a.Register(activityEnv{env}, failing)
	_, err := env.ExecuteActivity(run.TypeHTTP, request(run.TypeHTTP, map[string]any{"url": "http://x"}))
	appErr := appError(t, err, errtype.Unclassified, true)
	var d errtype.Details
	require.NoError(t, appErr.Details(&d))
	require.EqualValues(t, 1, d.Attempt)
}
