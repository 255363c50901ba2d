// Package gate runs before-triggers: the synchronous path an application
// calls before it writes a batch of records, which answers with the
// records to write (possibly rewritten by set rules) or with every
// validation error of the batch.
//
// A change event on Kafka only exists after the commit, so the gate is
// the only place a before-trigger can run. It evaluates in memory from
// the loaded trigger set (a trigger.Registry snapshot, hot-reloaded like
// the rest) with no Temporal round trip on the request path; the only I/O
// is a before-trigger's lookups, each under its own time budget.
//
// Lookups are read-only by construction: SQL lookups run in a READ ONLY
// transaction and HTTP lookups may only GET, HEAD or POST a query. So a
// before-trigger never writes, and cannot start a cascade of triggers;
// the one loop left, a lookup calling the gate itself, is cut by the
// depth header (DepthHeader, MaxDepth).
package gate

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"strings"
	"time"

	"github.com/triggerd/triggerd/run"
	"github.com/triggerd/triggerd/trigger"
)

// DepthHeader carries how many gate requests led to this one: the gate
// sends depth+1 on its HTTP lookups, and refuses requests deeper than
// MaxDepth, so a lookup that calls the gate cannot loop.
const DepthHeader = "X-Triggerd-Gate-Depth"

// MaxDepth is the deepest chain of gate requests served.
const MaxDepth = 4

// Request is one batch the application is about to write.
type Request struct {
	// Table is table, schema.table or db.schema.table, matched as a
	// change event's table is.
	Table     string
	Operation run.Operation
	// Records are the new state of each row (for a delete, the rows to
	// delete); PreviousRecords, for update and delete, the rows as they are
	// now, in the same order.
	Records         []map[string]any
	PreviousRecords []map[string]any
	User            map[string]any
	Metadata        map[string]any
	// Depth is how many gate requests led to this one (see DepthHeader).
	Depth int
}

// Result is the gate's answer. Rejected is true when any record broke a
// rule: the batch is all or nothing, so Records is then nil and Errors
// lists every violation of every record.
type Result struct {
	Rejected bool             `json:"rejected"`
	Records  []map[string]any `json:"records,omitempty"`
	Errors   []RecordError    `json:"errors,omitempty"`
	// Trace holds, per record, what each before-trigger did.
	Trace [][]trigger.BeforeResult `json:"trace"`
}

// RecordError is one violation of one record.
type RecordError struct {
	// Index is the record's position in the request.
	Index   int    `json:"index"`
	Trigger string `json:"trigger"`
	Field   string `json:"field,omitempty"`
	Message string `json:"message"`
	Rule    string `json:"rule"`
}

// RequestError is a malformed request: Field names what is wrong.
type RequestError struct {
	Field  string
	Reason string
}

func (e *RequestError) Error() string { return e.Field + ": " + e.Reason }

// ErrTooDeep refuses a request beyond MaxDepth.
var ErrTooDeep = errors.New("gate: too many nested gate requests (a lookup calls the gate in a loop?)")

// Options configure a Gate.
type Options struct {
	// Triggers returns the current set (trigger.Registry.Snapshot).
	Triggers func() *trigger.Set
	// Lookups performs lookups; nil makes every lookup fail (its failure
	// policy applies).
	Lookups trigger.Lookuper
	// Logger receives the audit log: one line per rejected record and per
	// rewritten record.
	Logger *slog.Logger
	// Metrics, if set, counts requests, rejections, rewrites and lookup
	// failures.
	Metrics *Metrics
	// Now is the clock ({{timestamp}}); time.Now when nil.
	Now func() time.Time
	// Recorder, if set, also records every decision (record.go).
	Recorder Recorder
}

// Gate evaluates before-triggers. It is safe for concurrent use.
type Gate struct {
	triggers func() *trigger.Set
	lookups  trigger.Lookuper
	log      *slog.Logger
	metrics  *Metrics
	now      func() time.Time
	recorder Recorder
}

// New returns a Gate.
func New(o Options) *Gate {
	g := &Gate{triggers: o.Triggers, lookups: o.Lookups, log: o.Logger, metrics: o.Metrics, now: o.Now, recorder: o.Recorder}
	if g.log == nil {
		g.log = slog.New(slog.DiscardHandler)
	}
	if g.now == nil {
		g.now = time.Now
	}
	if g.triggers == nil {
		empty, _ := trigger.NewSet(nil)
		g.triggers = func() *trigger.Set { return empty }
	}
	return g
}

// ParseOperation reads an operation as the URL spells it: insert, update
// or delete (any case).
func ParseOperation(s string) (run.Operation, error) {
	switch op := run.Operation(strings.ToLower(s)); op {
	case run.OperationInsert, run.OperationUpdate, run.OperationDelete:
		return op, nil
	}
	return "", &RequestError{Field: "operation", Reason: fmt.Sprintf("unknown operation %q (want insert, update or delete)", s)}
}

func (r *Request) check() error {
	if strings.TrimSpace(r.Table) == "" {
		return &RequestError{Field: "table", Reason: "is required"}
	}
	if _, err := ParseOperation(string(r.Operation)); err != nil {
		return err
	}
	if len(r.Records) == 0 {
		return &RequestError{Field: "records", Reason: "must list at least one record"}
	}
	for i, rec := range r.Records {
		if rec == nil {
			return &RequestError{Field: fmt.Sprintf("records[%d]", i), Reason: "must be an object"}
		}
	}
	switch {
	case r.Operation == run.OperationInsert && len(r.PreviousRecords) > 0:
		return &RequestError{Field: "previousRecords", Reason: "an insert has no previous records"}
	case r.Operation == run.OperationUpdate && len(r.PreviousRecords) == 0:
		return &RequestError{Field: "previousRecords", Reason: "is required for an update (one per record, in the same order)"}
	case len(r.PreviousRecords) > 0 && len(r.PreviousRecords) != len(r.Records):
		return &RequestError{Field: "previousRecords", Reason: fmt.Sprintf("has %d entries for %d records: want one per record", len(r.PreviousRecords), len(r.Records))}
	}
	if r.Depth > MaxDepth {
		return ErrTooDeep
	}
	return nil
}

type depthKey struct{}

// WithDepth returns ctx carrying the gate depth of the request being
// served; Lookups send depth+1 in DepthHeader.
func WithDepth(ctx context.Context, depth int) context.Context {
	return context.WithValue(ctx, depthKey{}, depth)
}

func depthOf(ctx context.Context) int {
	d, _ := ctx.Value(depthKey{}).(int)
	return d
}

// Evaluate runs every enabled before-trigger for the request's table and
// operation on each record, in priority order, each trigger seeing the
// changes of the previous ones. It returns a *RequestError for a
// malformed request and ErrTooDeep past MaxDepth; a rejection is a Result
// with Rejected set, not an error. The request's maps are not modified.
func (g *Gate) Evaluate(ctx context.Context, req Request) (*Result, error) {
	start := time.Now()
	if err := req.check(); err != nil {
		return nil, err
	}
	ctx = WithDepth(ctx, req.Depth)
	bts := g.triggers().BeforeTriggers(req.Table, req.Operation)
	now := g.now()
	res := &Result{Records: make([]map[string]any, len(req.Records)), Trace: make([][]trigger.BeforeResult, len(req.Records))}
	for i, rec := range req.Records {
		// set rules assign top-level columns only, so a shallow copy keeps
		// the caller's maps untouched.
		st := &trigger.BeforeState{Now: now, Event: run.Event{Table: req.Table, Operation: req.Operation,
			Record: maps.Clone(rec), User: req.User, Metadata: req.Metadata, Timestamp: now}}
		if parts := strings.Split(req.Table, "."); len(parts) > 1 {
			st.Event.Table = parts[len(parts)-1]
			st.Event.Schema = parts[len(parts)-2]
			if len(parts) == 3 {
				st.Event.Database = parts[0]
			}
		}
		if len(req.PreviousRecords) > 0 {
			st.Event.PreviousRecord = req.PreviousRecords[i]
		} else if req.Operation == run.OperationDelete {
			// As a change event has it: a delete's record is the row deleted.
			st.Event.PreviousRecord = rec
		}
		trace := make([]trigger.BeforeResult, 0, len(bts))
		for _, bt := range bts {
			r := bt.Run(ctx, st, g.lookups)
			trace = append(trace, r)
			for _, v := range r.Violations {
				res.Errors = append(res.Errors, RecordError{Index: i, Trigger: r.Trigger.Tag, Field: v.Field, Message: v.Message, Rule: v.Rule})
			}
			if len(r.Violations) > 0 {
				// Later triggers would see a record that is not going to
				// be written; the application fixes this error first.
				break
			}
		}
		res.Trace[i] = trace
		res.Records[i] = st.Event.Record
	}
	res.Rejected = len(res.Errors) > 0
	if res.Rejected {
		res.Records = nil
	}
	g.audit(req, len(bts) > 0, res, time.Since(start))
	if g.recorder != nil {
		g.record(ctx, req, res)
	}
	return res, nil
}

// noTriggers is the table label of requests on tables without
// before-triggers: table names come from the request, and labelling them
// all would let any caller grow the metrics without bound.
const noTriggers = "(none)"

// audit logs and counts what the gate rejected and rewrote.
func (g *Gate) audit(req Request, hasTriggers bool, res *Result, took time.Duration) {
	outcome := "allowed"
	if res.Rejected {
		outcome = "rejected"
	}
	table := req.Table
	if !hasTriggers {
		table = noTriggers
	}
	g.metrics.request(table, string(req.Operation), outcome, took)
	for _, e := range res.Errors {
		g.log.Info("gate rejected a record", "table", req.Table, "operation", req.Operation, "index", e.Index,
			"trigger", e.Trigger, "rule", e.Rule, "field", e.Field, "message", e.Message)
		g.metrics.rejection(req.Table, e.Trigger)
	}
	for i, trace := range res.Trace {
		for _, r := range trace {
			for _, l := range r.Lookups {
				if l.Error != "" {
					g.metrics.lookupFailure(r.Trigger.Tag, l.Name, l.Policy)
				}
			}
			if len(r.Changes) == 0 || res.Rejected {
				continue
			}
			fields := make([]string, len(r.Changes))
			for j, c := range r.Changes {
				fields[j] = c.Field
			}
			g.log.Info("gate rewrote a record", "table", req.Table, "operation", req.Operation, "index", i,
				"trigger", r.Trigger.Tag, "fields", fields)
			g.metrics.rewrite(req.Table, r.Trigger.Tag)
		}
	}
}
