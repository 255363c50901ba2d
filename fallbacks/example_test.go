package fallbacks_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/triggerd/triggerd/fallbacks"
	"github.com/triggerd/triggerd/run"
)

// A breaker on a target opens after the configured failures; from then on
// calls are not attempted and fail with BREAKER_OPEN, which makes the
// workflow run the action's fallbacks.
func Example() {
	target := func(run.ActionRequest) string { return "http:flaky.example" }
	b := fallbacks.New(fallbacks.Config{Targets: map[string]run.BreakerSettings{
		"http:flaky.example": {ConsecutiveFailures: 2, OpenTimeout: time.Minute},
	}}, fallbacks.NewMemoryStore(), target)
	calls := 0
	call := b.Middleware(func(context.Context, run.ActionRequest) (any, error) {
		calls++
		return nil, errors.New("connection refused")
	})
	for range 4 {
		_, err := call(context.Background(), run.ActionRequest{})
		var appErr *temporal.ApplicationError
		if errors.As(err, &appErr) {
			fmt.Println(appErr.Type(), "(not attempted)")
			continue
		}
		fmt.Println(err)
	}
	fmt.Println("calls that reached the target:", calls)
	// Output:
	// connection refused
	// connection refused
	// BREAKER_OPEN (not attempted)
	// BREAKER_OPEN (not attempted)
	// calls that reached the target: 2
}
