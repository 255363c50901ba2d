package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
)

// dialTemporal connects to Temporal, waiting (with capped backoff) while
// it is unreachable: a process restarted during a Temporal outage must
// wait for it, not exit, or a supervisor without restarts loses it.
func dialTemporal(ctx context.Context, opts client.Options, address string, log *slog.Logger) (client.Client, error) {
	backoff := 200 * time.Millisecond
	for attempt := 1; ; attempt++ {
		c, err := client.DialContext(ctx, opts)
		if err == nil {
			return c, nil
		}
		if ctx.Err() != nil || !dialRetryable(err) {
			return nil, fmt.Errorf("connect to Temporal at %s: %w", address, err)
		}
		log.Warn("Temporal unreachable, waiting", "address", address, "attempt", attempt, "backoff", backoff, "error", err)
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("connect to Temporal at %s: %w", address, err)
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, 10*time.Second)
	}
}

// dialRetryable tells an unreachable server (worth waiting for) from a
// refusal that waiting does not change: a denied key, an unknown namespace.
func dialRetryable(err error) bool {
	var denied *serviceerror.PermissionDenied
	var nsNotFound *serviceerror.NamespaceNotFound
	var invalid *serviceerror.InvalidArgument
	return !errors.As(err, &denied) && !errors.As(err, &nsNotFound) && !errors.As(err, &invalid)
}
