package run

import (
	"fmt"
)

// Action timings (run.Action.Timing). The empty string means TimingAsync.
const (
	// TimingSync: the run's events for one (trigger, record key) run one
	// after another, in commit order (a lane workflow serialises them).
	TimingSync = "sync"
	// TimingAsync: ingest only waits for the run's start to be durable.
	TimingAsync = "async"
	// TimingQueued: the action is appended to a named durable queue and the
	// run does not wait for it.
	TimingQueued = "queued"
)

// HasSync reports whether any action of in is TimingSync: such a run goes
// through its record's lane.
func (in Input) HasSync() bool {
	for _, a := range in.Actions {
		if a.Timing == TimingSync {
			return true
		}
	}
	return false
}

// LaneWorkflowName is the workflow that runs a (trigger, record key)'s
// sync runs one after another; QueueWorkflowName works through a queue.
const (
	LaneWorkflowName  = "triggerd.Lane"
	QueueWorkflowName = "triggerd.Queue"
	// SignalLaneRun and SignalEnqueue are the signals that feed them.
	SignalLaneRun = "run"
	SignalEnqueue = "enqueue"
)

// LaneWorkflowID names the lane of a trigger and record key.
func LaneWorkflowID(tag, table, key string) string {
	return "triggerd-lane/" + tag + "/" + table + "/" + key
}

// QueueWorkflowID names a queue's workflow.
func QueueWorkflowID(name string) string { return "triggerd-queue/" + name }

// QueueItem is one queued action: the action with its config rendered,
// ready to execute, and the request it receives.
type QueueItem struct {
	Request ActionRequest `json:"request"`
	Retry   RetryPolicy   `json:"retry"`
	Timeout int64         `json:"timeoutMs"`
	// Heartbeat is the action's heartbeat timeout, decided by the run
	// (long actions only; 0 for none).
	Heartbeat int64 `json:"heartbeatMs,omitempty"`
}

// Batch is what a `for: all` run covers: the records of its events in
// commit order, as the templates' records and previousRecords.
type Batch struct {
	// Key names the batch: "tx-<transaction id>" or "<partition>-<offset
	// bucket>".
	Key             string           `json:"key"`
	EventIDs        []string         `json:"eventIds"`
	Records         []map[string]any `json:"records"`
	PreviousRecords []map[string]any `json:"previousRecords"`
}

// BatchWorkflowName gathers the events of a `for: all` batch; SignalBatchAdd
// feeds it, and SignalBatchClose (no argument) tells it that ingest has
// handed it every event of its transaction, so it runs them now instead
// of waiting for its window.
const (
	BatchWorkflowName = "triggerd.Batch"
	SignalBatchAdd    = "add"
	SignalBatchClose  = "close"
)

// BatchKey is the batch an event of a `for: all` trigger belongs to: its
// source transaction when the envelope has one, else the bucket of size
// consecutive offsets of its partition. Both are the same when the event is
// delivered again, so a redelivery joins the batch it was part of.
func BatchKey(ev Event, size int) string {
	if ev.Transaction != "" {
		return "tx-" + ev.Transaction
	}
	if size <= 0 {
		size = 1
	}
	return fmt.Sprintf("p%d-o%d", ev.Source.Partition, ev.Source.Offset/int64(size))
}

// BatchWorkflowID names the workflow gathering a trigger's batch.
func BatchWorkflowID(tag, topic, key string) string {
	return "triggerd-batch/" + tag + "/" + topic + "/" + key
}
