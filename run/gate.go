package run

import (
	"encoding/json"
	"time"
)

// GateWorkflowName is the registered name of the workflow that records one
// gate decision for inspection (optional, off by default: see docs/gate.md).
const GateWorkflowName = "triggerd.GateDecision"

// GateDecision is what the gate decided about one request: the request as
// received and the gate's answer (records to write or errors, and the
// per-trigger trace) as JSON, so that this package needs no trigger types.
type GateDecision struct {
	Table           string           `json:"table"`
	Operation       Operation        `json:"operation"`
	Records         []map[string]any `json:"records"`
	PreviousRecords []map[string]any `json:"previousRecords,omitempty"`
	User            map[string]any   `json:"user,omitempty"`
	Metadata        map[string]any   `json:"metadata,omitempty"`
	Rejected        bool             `json:"rejected"`
	Result          json.RawMessage  `json:"result"`
	At              time.Time        `json:"at"`
}
