package gate

import (
	"context"
	"encoding/json"

	"github.com/triggerd/triggerd/run"
)

// Recorder keeps a gate decision for inspection, e.g. as a Temporal run
// (run.GateWorkflowName). It is called on the request path, after the
// decision, so it adds its latency to every request: it is off unless
// configured (gate.record).
type Recorder interface {
	Record(ctx context.Context, d run.GateDecision) error
}

// record hands the decision to the recorder. A failure is logged, not
// returned: the decision stands, and the audit log and metrics have it.
func (g *Gate) record(ctx context.Context, req Request, res *Result) {
	result, err := json.Marshal(res)
	if err == nil {
		d := run.GateDecision{Table: req.Table, Operation: req.Operation, Records: req.Records, PreviousRecords: req.PreviousRecords,
			User: req.User, Metadata: req.Metadata, Rejected: res.Rejected, Result: result, At: g.now().UTC()}
		err = g.recorder.Record(ctx, d)
	}
	if err != nil {
		g.log.Warn("gate decision not recorded", "table", req.Table, "operation", req.Operation, "error", err)
	}
}
