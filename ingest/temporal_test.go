package ingest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
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

// A fakeExecutor only starts runs: the tests using it start no lane or
// batch.
func (f *fakeExecutor) SignalWithStartWorkflow(context.Context, string, string, any, client.StartWorkflowOptions, any, ...any) (client.WorkflowRun, error) {
	return nil, errors.New("fakeExecutor: unexpected signal-with-start")
}

func (f *fakeExecutor) SignalWorkflow(context.Context, string, string, string, any) error {
	return errors.New("fakeExecutor: unexpected signal")
}

func (f *fakeExecutor) QueryWorkflow(context.Context, string, string, string, ...any) (converter.EncodedValue, error) {
	return nil, errors.New("fakeExecutor: unexpected query")
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
	assert.False(t, o.EnableEagerStart, "no worker said to be co-located")
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

// WithColocatedWorker asks for eager start, and changes nothing else.
func TestTemporalStarter_EagerOption(t *testing.T) {
	in := run.Input{Trigger: run.TriggerRef{Tag: "t"}, Event: run.Event{ID: "e", Table: "users"}}
	plain, eager := &fakeExecutor{}, &fakeExecutor{}
	require.NoError(t, (&TemporalStarter{client: plain, taskQueue: "q"}).Start(context.Background(), in))
	s := NewTemporalStarter(nil, "q", WithColocatedWorker())
	s.client = eager
	require.NoError(t, s.Start(context.Background(), in))
	assert.True(t, eager.opts.EnableEagerStart)
	eager.opts.EnableEagerStart = false
	assert.Equal(t, plain.opts.ID, eager.opts.ID)
	assert.Equal(t, plain.opts.WorkflowIDReusePolicy, eager.opts.WorkflowIDReusePolicy)
	assert.Equal(t, plain.opts.WorkflowIDConflictPolicy, eager.opts.WorkflowIDConflictPolicy)
	assert.Equal(t, plain.opts.TaskQueue, eager.opts.TaskQueue)
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

func TestClassifyStartError(t *testing.T) {
	for _, tt := range []struct {
		name      string
		err       error
		permanent bool
		reason    string
	}{
		{"blob size", serviceerror.NewInvalidArgument("Blob data size exceeds limit."), true, "over Temporal's payload size limit"},
		{"invalid argument", serviceerror.NewInvalidArgument("search attribute X is not defined"), true, "invalid argument"},
		{"unknown namespace", serviceerror.NewNamespaceNotFound("prod"), true, "unknown namespace"},
		{"grpc size", serviceerror.NewResourceExhausted(0, "grpc: received message larger than max (5000000 vs. 4194304)"), true, "over the gRPC message size limit"},
		{"unencodable", fmt.Errorf("args[0]: %w: json: unsupported value: NaN", converter.ErrUnableToEncode), true, "cannot be serialised"},
		{"rate limited", serviceerror.NewResourceExhausted(0, "namespace rate limit exceeded"), false, ""},
		{"unavailable", serviceerror.NewUnavailable("frontend down"), false, ""},
		{"deadline", serviceerror.NewDeadlineExceeded("slow"), false, ""},
		{"denied", serviceerror.NewPermissionDenied("no", ""), false, ""},
		{"blob store down", errors.New("large payload store payloads/sha256/ab: connection refused"), false, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := classifyStartError(fmt.Errorf("start workflow w: %w", tt.err))
			assert.Equal(t, tt.permanent, IsRejected(err), "%v", err)
			assert.ErrorIs(t, err, tt.err)
			if tt.permanent {
				assert.True(t, strings.HasPrefix(err.Error(), tt.reason), err.Error())
			}
		})
	}
}

// A start refused for good comes out of Start marked, whichever way the
// run starts (direct, lane, batch).
func TestTemporalStarter_RejectedFromEveryPath(t *testing.T) {
	blob := serviceerror.NewInvalidArgument("Blob data size exceeds limit.")
	s := &TemporalStarter{client: &fakeSignaler{err: blob}, taskQueue: "q"}
	for _, in := range []run.Input{
		{Trigger: run.TriggerRef{Tag: "t"}, Event: run.Event{ID: "e"}},
		{Trigger: run.TriggerRef{Tag: "t"}, Event: run.Event{ID: "e"}, Actions: []run.Action{{Timing: run.TimingSync}}},
		{Trigger: run.TriggerRef{Tag: "t"}, Event: run.Event{ID: "e"}, ForAll: true},
	} {
		err := s.Start(context.Background(), in)
		assert.True(t, IsRejected(err), "%v", err)
	}
}

// fakeSignaler fails every call with err.
type fakeSignaler struct {
	err     error
	signals []string
}

func (f *fakeSignaler) ExecuteWorkflow(context.Context, client.StartWorkflowOptions, any, ...any) (client.WorkflowRun, error) {
	return nil, f.err
}

func (f *fakeSignaler) SignalWithStartWorkflow(context.Context, string, string, any, client.StartWorkflowOptions, any, ...any) (client.WorkflowRun, error) {
	return nil, f.err
}

func (f *fakeSignaler) QueryWorkflow(context.Context, string, string, string, ...any) (converter.EncodedValue, error) {
	return nil, f.err
}

func (f *fakeSignaler) SignalWorkflow(_ context.Context, id, _, name string, _ any) error {
	f.signals = append(f.signals, id+" "+name)
	return f.err
}

func TestTemporalStarter_CloseBatch(t *testing.T) {
	f := &fakeSignaler{}
	s := &TemporalStarter{client: f, taskQueue: "q"}
	require.NoError(t, s.CloseBatch(context.Background(), "bulk", "dbz.public.users", "771"))
	assert.Equal(t, []string{"triggerd-batch/bulk/dbz.public.users/tx-771 close"}, f.signals)

	f.err = serviceerror.NewNotFound("workflow not found")
	assert.NoError(t, s.CloseBatch(context.Background(), "bulk", "t", "1"), "a batch that closed already")
	f.err = serviceerror.NewUnavailable("down")
	assert.Error(t, s.CloseBatch(context.Background(), "bulk", "t", "1"))
}
