package run

import (
	"fmt"
	"regexp"
	"strings"
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

// Kafka headers of the delivery semantics.
const (
	// HeaderCascade carries the cascade chain of the run whose action
	// produced a message: trigger tags, oldest first, comma separated.
	HeaderCascade = "triggerd-cascade"
	// HeaderSkipTriggers, when "true" (or "1"), tells ingest to run no
	// trigger for the message (bulk imports, Metrici's import rule).
	HeaderSkipTriggers = "triggerd-skip-triggers"
	// FieldSkipTriggers is the record field with the same meaning, for
	// producers that cannot set headers (Debezium): a truthy value skips.
	FieldSkipTriggers = "_triggerd_skip"
	// FieldCascade is the record field that carries the cascade chain
	// through a database: a database action writes the chain and its
	// transaction's id into this column (ParseCascadeMarker), and Debezium
	// brings it back with the change.
	FieldCascade = "_triggerd_cascade"
)

// MaxCascadeHeaderBytes bounds HeaderCascade's value (and the chain of a
// FieldCascade marker). A chain triggerd writes holds at most
// delivery.maxCascadeDepth tags; anything near this size is not one.
const MaxCascadeHeaderBytes = 4096

// TagPattern is the grammar of trigger tags (and queue names).
const TagPattern = `^[a-z0-9][a-z0-9._-]*$`

var tagRe = regexp.MustCompile(TagPattern)

// ValidTag reports whether s is a trigger tag (TagPattern).
func ValidTag(s string) bool { return tagRe.MatchString(s) }

// ValidateCascade checks a cascade chain as HeaderCascade (or a
// FieldCascade marker) carries it: trigger tags separated by commas,
// spaces around them allowed, at most MaxCascadeHeaderBytes; "" is the
// empty chain. Ingest dead-letters a message whose chain fails it rather
// than run triggers under a chain it would have to guess.
func ValidateCascade(v string) error {
	if len(v) > MaxCascadeHeaderBytes {
		return fmt.Errorf("%d bytes, more than the %d a cascade chain may have", len(v), MaxCascadeHeaderBytes)
	}
	if strings.TrimSpace(v) == "" {
		return nil
	}
	for i, s := range strings.Split(v, ",") {
		s = strings.TrimSpace(s)
		switch {
		case s == "":
			return fmt.Errorf("entry %d is empty (want trigger tags separated by commas)", i+1)
		case !ValidTag(s):
			return fmt.Errorf("entry %d %q is not a trigger tag (%s)", i+1, s, TagPattern)
		}
	}
	return nil
}

// ParseSkip reads HeaderSkipTriggers' value: true, 1, yes or t skip;
// false, 0, no or f do not (any case, spaces around ignored). Anything else
// is an error: ingest dead-letters the message rather than guess whether
// an import meant to run triggers.
func ParseSkip(v string) (bool, error) {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "true", "1", "yes", "t":
		return true, nil
	case "false", "0", "no", "f":
		return false, nil
	}
	return false, fmt.Errorf("unknown value %q (want true or false)", v)
}

// DefaultCascadeDepth is the deepest cascade allowed (Stryke's limit): a
// run whose chain already holds this many triggers fails.
const DefaultCascadeDepth = 3

// FormatCascade renders a chain as HeaderCascade's value.
func FormatCascade(chain []string) string { return strings.Join(chain, ",") }

// ParseCascade reads HeaderCascade's value.
func ParseCascade(v string) []string {
	var out []string
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

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
