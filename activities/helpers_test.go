package activities

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"

	"github.com/triggerd/triggerd/egress"
	"github.com/triggerd/triggerd/run"
)

// appError asserts err is an application error of type typ with the given
// retryability and returns it.
func appError(t *testing.T, err error, typ string, retryable bool) *temporal.ApplicationError {
	t.Helper()
	require.Error(t, err)
	var appErr *temporal.ApplicationError
	require.True(t, errors.As(err, &appErr), "not an application error: %v", err)
	require.Equal(t, typ, appErr.Type(), "type of %v", err)
	require.Equal(t, !retryable, appErr.NonRetryable(), "retryability of %v", err)
	return appErr
}

func request(typ string, cfg map[string]any) run.ActionRequest {
	return run.ActionRequest{
		WorkflowID: "triggerd/t/ev-1", RunID: "run-1", TriggerTag: "t", ActionName: "a", Type: typ,
		Config: cfg, IdempotencyKey: "triggerd/t/ev-1/a",
	}
}

// uniqueName is unique per test run, for topics, queues and keys on shared
// services.
func uniqueName(t *testing.T, prefix string) string {
	t.Helper()
	return prefix + "." + time.Now().UTC().Format("20060102T150405.000000000")
}

// allowLoopback is the egress policy of the tests whose targets (httptest
// servers, the test SMTP server) listen on 127.0.0.1: the default policy
// refuses loopback, so these tests allow it with an explicit rule.
var allowLoopback = WithEgress(mustEgress(egress.New([]string{"127.0.0.0/8", "::1"}, nil)))

func mustEgress(p *egress.Policy, err error) *egress.Policy {
	if err != nil {
		panic(err)
	}
	return p
}
