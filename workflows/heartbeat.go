package workflows

import (
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/triggerd/triggerd/run"
)

// DefaultHeartbeatTimeout is the heartbeat timeout of long actions when
// the run sets none (config delivery.heartbeatTimeout).
const DefaultHeartbeatTimeout = 30 * time.Second

// heartbeatChange names the GetVersion marker of heartbeat timeouts: runs
// recorded before them replay without.
const heartbeatChange = "action-heartbeat"

// heartbeatTimeout is the HeartbeatTimeout of an action of the given
// timeout: none for a short action (its start-to-close timeout detects a
// lost worker soon enough), the run's heartbeat timeout for one longer
// than twice that. The worker's activities.Heartbeat middleware
// heartbeats while the action runs, so a worker that dies is noticed
// after the heartbeat timeout and the action retried on another worker,
// instead of after its whole timeout.
func heartbeatTimeout(ctx workflow.Context, in run.Input, timeout time.Duration) time.Duration {
	hb := in.HeartbeatTimeout
	if hb <= 0 {
		hb = DefaultHeartbeatTimeout
	}
	if timeout <= 2*hb {
		return 0
	}
	if workflow.GetVersion(ctx, heartbeatChange, workflow.DefaultVersion, 1) == workflow.DefaultVersion {
		return 0
	}
	return hb
}
