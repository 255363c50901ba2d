package ingest

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/triggerd/triggerd/run"
)

type fakeExecutor struct {
	opts     client.StartWorkflowOptions
	workflow any
	args     []any
	err      error
}

func (f *fakeExecutor) ExecuteWorkflow(_ context.Context, o client.StartWorkflowOptions, wf any, args ...any) (client.WorkflowRun, error) {
	f.opts, f.workflow, f.args = o, wf, args
	return nil, f.err
}

func TestTemporalStarter_Options(t *testing.T) {
	fe := &fakeExecutor{}
	s := &TemporalStarter{client: fe, taskQueue: "triggers"}
	in := run.Input{
		Trigger:   run.TriggerRef{Tag: "welcome"},
		EventName: "afterInsert",
		Event:     run.Event{ID: "dbz-abc", Schema: "public", Table: "users", Operation: run.OperationInsert, Key: "42"},
	}
	require.NoError(t, s.Start(context.Background(), in))

	o := fe.opts
	assert.Equal(t, "triggerd/welcome/dbz-abc", o.ID)
	assert.Equal(t, "triggers", o.TaskQueue)
	assert.Equal(t, enums.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE, o.WorkflowIDReusePolicy)
	assert.Equal(t, enums.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING, o.WorkflowIDConflictPolicy)
	assert.Equal(t, run.WorkflowName, fe.workflow)
	assert.Equal(t, []any{in}, fe.args)
	summary := "welcome on public.users insert key=42"
	assert.Equal(t, map[string]any{"summary": summary}, o.Memo)
	assert.Equal(t, summary, o.StaticSummary)

	sa := o.TypedSearchAttributes
	assert.Equal(t, 4, sa.Size())
	for name, want := range map[string]string{
		run.SearchAttrTriggerTag: "welcome",
		run.SearchAttrTable:      "public.users",
		run.SearchAttrEvent:      "afterInsert",
		run.SearchAttrRecordKey:  "42",
	} {
		got, ok := sa.GetKeyword(temporal.NewSearchAttributeKeyKeyword(name))
		assert.True(t, ok, name)
		assert.Equal(t, want, got, name)
	}
}

func TestTemporalStarter_Errors(t *testing.T) {
	in := run.Input{Trigger: run.TriggerRef{Tag: "t"}, Event: run.Event{ID: "e"}}
	for _, tt := range []struct {
		name    string
		err     error
		wantErr bool
	}{
		{"already started", serviceerror.NewWorkflowExecutionAlreadyStarted("exists", "", "run"), false},
		{"already started, wrapped", fmt.Errorf("x: %w", serviceerror.NewWorkflowExecutionAlreadyStarted("exists", "", "run")), false},
		{"unavailable", serviceerror.NewUnavailable("frontend down"), true},
		{"other", errors.New("boom"), true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := &TemporalStarter{client: &fakeExecutor{err: tt.err}, taskQueue: "q"}
			err := s.Start(context.Background(), in)
			if !tt.wantErr {
				assert.NoError(t, err)
				return
			}
			require.Error(t, err)
			assert.ErrorIs(t, err, tt.err)
			assert.Contains(t, err.Error(), "start workflow triggerd/t/e: ")
		})
	}
}
