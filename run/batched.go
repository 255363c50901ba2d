package run

import (
	"strconv"
	"time"
)

// BatchedDelivery is a trigger's delivery.batch: its runs are carried, many
// at a time, by one long-lived delivery workflow per trigger and source
// partition instead of a workflow each. Every event is still its own
// logical run, with the workflow id its run would have had
// (WorkflowID), hence the same idempotency keys, its own result and its
// own failure handling (docs/semantics.md, "Batched delivery").
type BatchedDelivery struct {
	// Max is the most runs the delivery workflow starts at once.
	Max int `json:"max"`
	// Wait is how long it waits, after the first event of a batch, for
	// more before it starts them (0: at once, with whatever arrived).
	Wait time.Duration `json:"wait,omitempty"`
}

// Defaults and bounds of delivery.batch.
const (
	DefaultDeliveryMax = 100
	// MaxDeliveryMax bounds delivery.batch.max: the runs of a batch run
	// side by side in one workflow task, each action a local activity.
	MaxDeliveryMax = 1000
	// MaxDeliveryWait bounds delivery.batch.wait: every event of a batch
	// waits that long at most before its run starts.
	MaxDeliveryWait = 10 * time.Second
)

// DeliveryWorkflowName is the workflow that runs the batched runs of one
// trigger and source partition; SignalDeliver carries it a []Input.
const (
	DeliveryWorkflowName = "triggerd.Delivery"
	SignalDeliver        = "deliver"
)

// Queries of the runs and of the delivery workflows (any run, open or
// closed, within the namespace's retention).
const (
	// QueryOutput returns an action's whole output, which the run's
	// result may only summarise (ActionResult.OutputBytes). On RunTrigger
	// its argument is the action's name; on a delivery workflow the event
	// id, then the action's name.
	QueryOutput = "output"
	// QueryRun, on a delivery workflow, returns the result of the run of
	// one event (its id) that this workflow run carried.
	QueryRun = "run"
	// QueryBacklog, on a delivery workflow, returns its DeliveryBacklog:
	// ingest asks it before it hands over more (flow control).
	QueryBacklog = "backlog"
)

// DeliveryBacklog is what a delivery workflow holds and has not finished.
type DeliveryBacklog struct {
	Pending  int `json:"pending"`
	InFlight int `json:"inFlight"`
	// Draining says it is finishing what it holds before it continues as
	// new, and takes nothing more meanwhile (what arrives waits for that).
	Draining bool `json:"draining,omitempty"`
}

// DeliveryBacklogLimit is how many runs ingest lets a delivery workflow
// of batch size max hold before it waits for it to work some off: enough
// to keep it busy, few enough that its history and the state it carries
// when it continues as new stay small.
func DeliveryBacklogLimit(batchMax int) int { return min(max(4*batchMax, 400), 2000) }

// DeliveryWorkflowID names the delivery workflow of trigger tag for the
// events of one partition of topic. One workflow per partition keeps a
// partition's redelivered events in the workflow that remembers them.
func DeliveryWorkflowID(tag, topic string, partition int) string {
	return "triggerd-delivery/" + tag + "/" + topic + "/" + strconv.Itoa(partition)
}

// RecordedFailure is how a run a delivery workflow carried failed: the
// error's type and message and the run's result (Input.Recorded).
type RecordedFailure struct {
	Type    string `json:"type"`
	Message string `json:"message"`
	Result  Result `json:"result"`
}
