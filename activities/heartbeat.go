package activities

import (
	"context"
	"time"

	"go.temporal.io/sdk/activity"

	"github.com/triggerd/triggerd/run"
)

// Heartbeat is the middleware that heartbeats while an action runs, when
// the workflow gave the action a heartbeat timeout (long actions, see
// workflows.heartbeatTimeout). The action itself knows nothing of it:
// the heartbeat says "this worker is alive", which is what lets Temporal
// retry the action elsewhere soon after the worker dies. Register applies
// it to every action.
func Heartbeat(next run.ActionFunc) run.ActionFunc {
	return func(ctx context.Context, req run.ActionRequest) (any, error) {
		if !activity.IsActivity(ctx) {
			return next(ctx, req)
		}
		hb := activity.GetInfo(ctx).HeartbeatTimeout
		if hb <= 0 {
			return next(ctx, req)
		}
		done := make(chan struct{})
		defer close(done)
		go func() {
			// Three beats per timeout: one lost or late beat is no death
			// sentence. The SDK throttles and batches them anyway.
			t := time.NewTicker(hb / 3)
			defer t.Stop()
			for {
				select {
				case <-done:
					return
				case <-ctx.Done():
					return
				case <-t.C:
					activity.RecordHeartbeat(ctx)
				}
			}
		}()
		return next(ctx, req)
	}
}
