// Package run is the contract between ingest, the workflow and the
// activities of triggerd: the change event, the input of a trigger run, the
// request an action receives and the result a run returns.
//
// It depends on nothing but the standard library so that every other
// package (and programs that start runs or read their results) can import
// it without pulling in a Kafka, Redis or AMQP client. Every type here is
// serialised into Temporal histories, so fields are only ever added, never
// renamed, and each carries an explicit JSON name.
package run

import (
	"context"
	"time"
)

// WorkflowName is the registered name of the workflow that runs one matched
// trigger for one event.
const WorkflowName = "triggerd.RunTrigger"

// Operation is the kind of change an event describes.
type Operation string

// Operations a change event can carry. OperationRead is a snapshot read
// (Debezium op "r"); ingest either drops it or turns it into an insert.
const (
	OperationInsert Operation = "insert"
	OperationUpdate Operation = "update"
	OperationDelete Operation = "delete"
	OperationRead   Operation = "read"
)

// Source says where an event was read from. It is informational and part of
// the event's identity only when the envelope carries no better one.
type Source struct {
	Topic     string `json:"topic,omitempty"`
	Partition int    `json:"partition"`
	Offset    int64  `json:"offset"`
	// Connector names the Debezium connector (source.name), if any.
	Connector string `json:"connector,omitempty"`
	// Position is the Debezium source position (LSN, binlog file:pos:row...)
	// rendered as a string, if any.
	Position string `json:"position,omitempty"`
}

// Event is one decoded row change, whatever envelope carried it.
type Event struct {
	// ID identifies the change itself, not the Kafka message carrying it:
	// the native envelope's id, else a digest of the Debezium source
	// position, else topic/partition/offset. Redelivering the same change
	// yields the same ID, which is what makes workflow ids deterministic.
	ID             string         `json:"id"`
	Source         Source         `json:"source"`
	Database       string         `json:"database,omitempty"`
	Schema         string         `json:"schema,omitempty"`
	Table          string         `json:"table"`
	Operation      Operation      `json:"operation"`
	Key            string         `json:"key,omitempty"`
	Record         map[string]any `json:"record,omitempty"`
	PreviousRecord map[string]any `json:"previousRecord,omitempty"`
	Timestamp      time.Time      `json:"timestamp"`
	User           map[string]any `json:"user,omitempty"`
	Metadata       map[string]any `json:"metadata,omitempty"`
	// Transaction identifies the source transaction, the same for every
	// event of one transaction (and for the transaction's END on
	// Debezium's transaction topic); empty when the envelope names none.
	// For Debezium it is payload.transaction.id with PostgreSQL's
	// per-event "<txid>:<lsn>" reduced to the txid, else source.txId
	// (PostgreSQL, Oracle), source.commit_lsn (SQL Server, Db2),
	// source.gtid (MySQL) or lsid:txnNumber (MongoDB); docs/debezium.md,
	// "Transactions". `for: all` batches by it (BatchKey).
	Transaction string `json:"transaction,omitempty"`
	// Snapshot is true for events produced by an initial snapshot (op "r"),
	// even after ingest has turned them into inserts.
	Snapshot bool `json:"snapshot,omitempty"`
	// Cascade is the chain of trigger tags whose actions produced this
	// change (HeaderCascade), oldest first; empty for an outside change.
	Cascade []string `json:"cascade,omitempty"`
	// SourceTxID is the id of the database transaction that made the
	// change (Debezium's source.txId, the native envelope's txId); empty
	// when unknown. Ingest checks a FieldCascade marker against it.
	SourceTxID string `json:"sourceTxId,omitempty"`
	// Unavailable lists what the change event does not carry, so that it
	// is unknown rather than null: "record.<column>" and
	// "previousRecord.<column>" for a column whose value the connector
	// replaced by its placeholder (an unchanged TOAST value), and
	// "previousRecord" for an update without a before image (a table whose
	// replica identity is not FULL). Those columns are absent from Record
	// and PreviousRecord. Conditions on them are unknown, which never
	// matches; templates follow Input.OnUnknown (see docs/debezium.md).
	Unavailable []string `json:"unavailable,omitempty"`
	// Notes say what decoding found doubtful: a value that looks like an
	// undecoded Debezium encoding, a column type hint that did not fit.
	Notes []string `json:"notes,omitempty"`
}

// UnavailablePrevious is the Event.Unavailable entry of an update that
// has no before image.
const UnavailablePrevious = "previousRecord"

// QualifiedTable returns schema.table, or the bare table without a schema.
func (e Event) QualifiedTable() string {
	if e.Schema == "" {
		return e.Table
	}
	return e.Schema + "." + e.Table
}

// TriggerRef names the trigger (and the version of its definition) a run
// executes.
type TriggerRef struct {
	Tag     string `json:"tag"`
	Name    string `json:"name,omitempty"`
	Version int64  `json:"version,omitempty"`
}

// RetryPolicy is an action's retry configuration, already defaulted.
type RetryPolicy struct {
	MaxAttempts        int           `json:"maxAttempts"`
	InitialInterval    time.Duration `json:"initialInterval"`
	MaxInterval        time.Duration `json:"maxInterval"`
	BackoffCoefficient float64       `json:"backoffCoefficient"`
	// RetryOn, when not empty, restricts retries to errors whose type or
	// message contains one of these strings (ECONNREFUSED, ETIMEDOUT, HTTP_5XX...).
	RetryOn []string `json:"retryOn,omitempty"`
}

// Action is one step of a trigger as the workflow receives it: its config
// still holds unrendered templates, which the workflow renders just before
// it calls the action so that later actions can use earlier outputs.
type Action struct {
	Name            string         `json:"name"`
	Type            string         `json:"type"`
	Config          map[string]any `json:"config,omitempty"`
	Retry           RetryPolicy    `json:"retry"`
	ContinueOnError bool           `json:"continueOnError,omitempty"`
	// Timeout bounds one attempt of the action (Temporal's start-to-close).
	Timeout time.Duration `json:"timeout"`
	// Guard holds the action's quota, breaker and fallbacks (quotas_breakers.go).
	Guard *Guard `json:"guard,omitempty"`
	// Timing is TimingSync, TimingAsync (empty) or TimingQueued; Queue
	// names the queue of a queued action (see docs/semantics.md).
	Timing string `json:"timing,omitempty"`
	Queue  string `json:"queue,omitempty"`
	// Local runs the action as a Temporal local activity: in the run's
	// workflow task, its result recorded as a marker, with no activity
	// task of its own (docs/performance.md, "The fast path"). Decided when
	// the trigger is loaded (trigger.WithLocalActivities) and frozen in
	// the run's input, so that a run replays the way it started.
	Local bool `json:"local,omitempty"`
}

// Input is the input of the trigger workflow. It carries a snapshot of the
// trigger's actions, so a change to the definition never affects a run that
// has already started.
type Input struct {
	Trigger TriggerRef `json:"trigger"`
	// EventName is the trigger event that matched, e.g. "afterInsert".
	EventName string   `json:"eventName"`
	Event     Event    `json:"event"`
	Actions   []Action `json:"actions"`
	// OnError runs when the run fails (the trigger's onError, else the
	// global one); Cascade is Event.Cascade plus this trigger's tag.
	OnError []Action `json:"onError,omitempty"`
	Cascade []string `json:"cascade,omitempty"`
	// MaxCascadeDepth overrides DefaultCascadeDepth when positive.
	MaxCascadeDepth int `json:"maxCascadeDepth,omitempty"`
	// HeartbeatTimeout overrides the default heartbeat timeout of long
	// actions (docs/semantics.md, "Heartbeats") when positive.
	HeartbeatTimeout time.Duration `json:"heartbeatTimeout,omitempty"`
	// ForAll marks the input of a `for: all` trigger for one event, which
	// ingest hands to its batch; Batch is set on the batch's run.
	ForAll bool   `json:"forAll,omitempty"`
	Batch  *Batch `json:"batch,omitempty"`
	// Env is the environment slug of the process that planned the run
	// (the config's env), which templates read as {{env}}.
	Env string `json:"env,omitempty"`
	// OnUnknown is what a template does with a value listed in
	// Event.Unavailable: OnUnknownFail (the default when empty),
	// OnUnknownNull or OnUnknownOmit.
	OnUnknown string `json:"onUnknown,omitempty"`
	// Notes are what planning found worth knowing about this run: a
	// condition branch that was unknown, a row read again from the
	// database (and how long it took).
	Notes []string `json:"notes,omitempty"`
	// BatchedDelivery is set when the trigger delivers in batches
	// (delivery.batch): ingest hands the run to its trigger's delivery
	// workflow instead of starting it (batched.go).
	BatchedDelivery *BatchedDelivery `json:"batchedDelivery,omitempty"`
	// Recorded is the failure of a run a delivery workflow already ran:
	// RunTrigger started with it fails with that failure under the run's
	// own id, without running anything, so that the run is listed and
	// can be re-run like any other (batched.go).
	Recorded *RecordedFailure `json:"recorded,omitempty"`
}

// Values of Input.OnUnknown.
const (
	// OnUnknownFail fails the action whose template renders an unknown
	// value: nothing is sent that pretends to know it.
	OnUnknownFail = "fail"
	// OnUnknownNull renders the unknown value as null (noted on the run).
	OnUnknownNull = "null"
	// OnUnknownOmit leaves out the config field that holds it (a map key
	// or list element), so a receiver sees it as not sent.
	OnUnknownOmit = "omit"
)

// Action statuses reported in a run's result.
const (
	StatusSucceeded = "succeeded"
	StatusFailed    = "failed"
	StatusSkipped   = "skipped"
)

// ActionResult is the outcome of one action.
type ActionResult struct {
	Name     string `json:"name"`
	Type     string `json:"type"`
	Status   string `json:"status"`
	Output   any    `json:"output,omitempty"`
	Error    string `json:"error,omitempty"`
	Attempts int32  `json:"attempts,omitempty"`
	// Notes say what the action's templates could not resolve (a missing
	// field rendered as null or empty), so a surprising request can be
	// traced to its template.
	Notes []string `json:"notes,omitempty"`
	// Guard says what quotas and breakers did (waits, fallback path).
	Guard *GuardReport `json:"guard,omitempty"`
	// OutputBytes is the size of the action's output when Output holds
	// only a summary of it (SummarizeOutput): the run's query
	// QueryOutput returns the whole output.
	OutputBytes int `json:"outputBytes,omitempty"`
}

// Result is what a trigger run returns (and what the Temporal UI shows as
// the workflow's result).
type Result struct {
	Trigger   TriggerRef     `json:"trigger"`
	EventID   string         `json:"eventId"`
	EventName string         `json:"eventName"`
	Status    string         `json:"status"`
	Actions   []ActionResult `json:"actions"`
	// OnError holds what the error handlers did when the run failed.
	OnError []ActionResult `json:"onError,omitempty"`
	// Notes are the event's and the input's notes (Event.Notes,
	// Input.Notes): what decoding and planning found doubtful.
	Notes []string `json:"notes,omitempty"`
	// DeliveredBy names the delivery workflow run that ran a batched
	// run ("<workflow id>/<run id>"); empty for a run of its own.
	DeliveredBy string `json:"deliveredBy,omitempty"`
}

// ActionRequest is what an action activity receives: the action's rendered
// config plus the identity of the run it belongs to.
type ActionRequest struct {
	WorkflowID string `json:"workflowId"`
	RunID      string `json:"runId"`
	TriggerTag string `json:"triggerTag"`
	ActionName string `json:"actionName"`
	Type       string `json:"type"`
	// Config is the action's config with every template rendered.
	Config map[string]any `json:"config,omitempty"`
	// IdempotencyKey is stable across retries of this action in this run
	// (workflow id + action name), so targets that honour one can drop
	// duplicates.
	IdempotencyKey string `json:"idempotencyKey"`
	// Context is set for custom actions only (see EventContext).
	Context *EventContext `json:"context,omitempty"`
	// Guard is the action's quota and breaker (without fallbacks), for the
	// decorators that enforce them.
	Guard *Guard `json:"guard,omitempty"`
	// Cascade is the run's cascade chain; publishers put it in
	// HeaderCascade so the changes they cause carry it.
	Cascade []string `json:"cascade,omitempty"`
}

// ActionFunc executes one action. Activities expose their actions as
// ActionFuncs so that quotas, circuit breakers and fallbacks can wrap them
// without knowing what they do.
type ActionFunc func(ctx context.Context, req ActionRequest) (any, error)

// Middleware decorates an ActionFunc.
type Middleware func(next ActionFunc) ActionFunc

// Chain applies middlewares so that the first one is the outermost.
func Chain(f ActionFunc, mws ...Middleware) ActionFunc {
	for i := len(mws) - 1; i >= 0; i-- {
		f = mws[i](f)
	}
	return f
}

// WorkflowID is the deterministic id of the run of trigger tag for the change
// identified by eventID. Starting a workflow under an id that already ran is
// rejected by Temporal, which is how a redelivered event never runs a
// trigger twice.
func WorkflowID(tag, eventID string) string {
	return "triggerd/" + tag + "/" + eventID
}

// Custom search attributes set on every run, so that the Temporal UI can
// list every run of a trigger, of a table, of an event or of one record
// (for example: TriggerTag = "send-welcome-email" AND RecordKey = "42").
// They are Keyword attributes, registered on start-up.
const (
	SearchAttrTriggerTag = "TriggerTag"
	SearchAttrTable      = "TriggerTable"
	SearchAttrEvent      = "TriggerEvent"
	SearchAttrRecordKey  = "RecordKey"
)

// SearchAttributes lists the custom search attributes, in a stable order.
func SearchAttributes() []string {
	return []string{SearchAttrTriggerTag, SearchAttrTable, SearchAttrEvent, SearchAttrRecordKey}
}
