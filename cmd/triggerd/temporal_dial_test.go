package main

import (
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"
	"go.temporal.io/api/serviceerror"
)

func TestDialRetryable(t *testing.T) {
	require.True(t, dialRetryable(errors.New("failed reaching server: connection refused")))
	require.False(t, dialRetryable(fmt.Errorf("dial: %w", serviceerror.NewPermissionDenied("bad key", ""))))
	require.False(t, dialRetryable(serviceerror.NewNamespaceNotFound("nope")))
}
