package workflows

import (
	"errors"
	"fmt"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/triggerd/triggerd/run"
	"github.com/triggerd/triggerd/run/searchattr"
	"github.com/triggerd/triggerd/trigger/template"
)

// A delivery workflow carries the runs of one trigger with batched
// delivery (delivery.batch) for the events of one source partition
// (run.DeliveryWorkflowID). Ingest signals it the runs' inputs, many per
// signal (signal-with-start, durable), and it runs them side by side, up
// to the batch's max at once, each action a local activity when the
// action allows it. Each event is still its own logical run: it runs
// under the workflow id its own workflow would have had, so its actions
// get the same idempotency keys, and it has its own result (the QueryRun
// query), its onError handlers and fallbacks; a run that fails is
// recorded as a failed RunTrigger of that id (recordFailure), which
// `triggerd runs list --failed` shows and `triggerd runs rerun` runs
// again.
//
// It remembers the ids of the last Remember events it took, across
// continue-as-new, so that an event ingest signals again (its offset was
// not committed when ingest stopped) runs once. Ingest asks its backlog
// (run.QueryBacklog) before it hands over more than
// run.DeliveryBacklogLimit, so that its history stays small; after
// MaxRuns runs it drains (takes what arrives but reports itself full)
// and continues as new with nothing pending. It closes after Linger
// without events, returning what it remembers; the next run of its id
// starts by reading that (Coverage.DeliverySeen).

// DeliveryState is what a delivery workflow returns when it closes.
type DeliveryState struct {
	Seen   []string `json:"seen,omitempty"`
	Done   int      `json:"done"`
	Failed int      `json:"failed"`
}

// Delivery defaults and tunables.
const (
	// DefaultDeliveryRemember covers the events ingest may signal again
	// after a crash: those past the partition's committed offset, at most
	// kafka.commitBatch (default 500) plus the partition's window.
	DefaultDeliveryRemember = 4096
	// deliveryMaxRuns is how many runs one workflow run starts before it
	// continues as new, keeping its history well under Temporal's limits
	// (about two events per run: its share of a signal and its marker).
	deliveryMaxRuns = 1000
	// deliverySeenActivity is Coverage.DeliverySeen's registered name.
	deliverySeenActivity = "triggerd.deliverySeen"
)

// Delivery is the delivery workflow (run.DeliveryWorkflowName).
func Delivery(ctx workflow.Context, in run.DeliveryInput) (DeliveryState, error) {
	return runDelivery(ctx, in, template.RenderConfigTrace)
}

// delivery is the state of one delivery workflow run.
type delivery struct {
	in       run.DeliveryInput
	ch       workflow.ReceiveChannel
	seen     *recentIDs
	pending  []run.Input
	inFlight int
	started  int  // runs started by this workflow run
	draining bool // finishing what it holds, to continue as new
	// fresh says a workflow task began since the last round of runs
	// started (a signal came, or yield fired): see runDelivery.
	fresh   bool
	yield   workflow.Future
	results map[string]run.Result
	render  renderFunc
	self    string // "<workflow id>/<run id>"
	runID   string
}

func runDelivery(ctx workflow.Context, in run.DeliveryInput, render renderFunc) (DeliveryState, error) {
	if in.Linger <= 0 {
		in.Linger = DefaultBatchLinger
	}
	if in.Remember <= 0 {
		in.Remember = DefaultDeliveryRemember
	}
	if in.MaxRuns <= 0 {
		in.MaxRuns = deliveryMaxRuns
	}
	exec := workflow.GetInfo(ctx).WorkflowExecution
	d := &delivery{
		in: in, ch: workflow.GetSignalChannel(ctx, run.SignalDeliver),
		seen: newRecentIDs(in.Remember, in.Seen), pending: in.Pending,
		results: map[string]run.Result{}, render: render,
		self: exec.ID + "/" + exec.RunID, runID: exec.RunID, fresh: true,
	}
	if err := workflow.SetQueryHandler(ctx, run.QueryRun, d.result); err != nil {
		return DeliveryState{}, err
	}
	if err := workflow.SetQueryHandler(ctx, run.QueryBacklog, d.backlog); err != nil {
		return DeliveryState{}, err
	}
	if !in.Resumed {
		// A fresh run of this id: an earlier run may have closed
		// remembering events that ingest is about to signal again.
		if err := d.resume(ctx); err != nil {
			return DeliveryState{}, err
		}
	}
	for {
		d.receive()
		if d.started >= d.in.MaxRuns || workflow.GetInfo(ctx).GetContinueAsNewSuggested() {
			// Finish what is held, then continue as new: ingest sees
			// the drain (QueryBacklog) and waits, so it ends.
			d.draining = true
		}
		if d.draining && len(d.pending) == 0 && d.inFlight == 0 {
			return DeliveryState{}, workflow.NewContinueAsNewError(ctx, run.DeliveryWorkflowName, d.next())
		}
		if len(d.pending) == 0 && d.inFlight == 0 {
			ok, err := workflow.AwaitWithTimeout(ctx, d.in.Linger, func() bool { return d.ch.Len() > 0 })
			if err != nil {
				return DeliveryState{}, err
			}
			if !ok {
				// Idle: close, unless a signal slipped in (Temporal then
				// refuses the completion and replays us with it).
				if d.receive(); len(d.pending) == 0 {
					return d.state(), nil
				}
			}
			continue
		}
		limit, wait := d.batch()
		if len(d.pending) > 0 && d.inFlight < limit {
			if d.fresh {
				if wait > 0 && d.inFlight == 0 && len(d.pending) < limit && !d.draining {
					if err := d.fill(ctx, wait, limit); err != nil {
						return DeliveryState{}, err
					}
				}
				d.fresh = false
				d.start(ctx, min(len(d.pending), limit-d.inFlight))
			} else if d.yield == nil {
				// This workflow task started a round already. Let it
				// complete, recording its runs' markers and taking the
				// signals that arrived meanwhile, before the next round:
				// a workflow task holding local activities stays open
				// while they run, so rounds chained in one task would
				// record nothing, and a worker that died would take all
				// of them with it. A short timer makes the next task.
				d.yield = workflow.NewTimer(ctx, time.Millisecond)
			}
		}
		// Wait for a new event, a run to finish, or the next task.
		before := d.inFlight
		if err := workflow.Await(ctx, func() bool {
			return d.ch.Len() > 0 || d.inFlight < before || (d.yield != nil && d.yield.IsReady())
		}); err != nil {
			return DeliveryState{}, err
		}
		if d.yield != nil && d.yield.IsReady() {
			d.yield, d.fresh = nil, true
		}
	}
}

// receive takes the signalled inputs, dropping events already taken.
func (d *delivery) receive() {
	for {
		var batch []run.Input
		if !d.ch.ReceiveAsync(&batch) {
			return
		}
		// A signal reaches the workflow at the start of a task.
		d.fresh = true
		for _, in := range batch {
			if d.seen.add(in.Event.ID) {
				d.pending = append(d.pending, in)
			}
		}
	}
}

// batch is the max and wait of the first pending event's trigger (its
// definition may change between events).
func (d *delivery) batch() (int, time.Duration) {
	limit, wait := run.DefaultDeliveryMax, time.Duration(0)
	if len(d.pending) > 0 && d.pending[0].BatchedDelivery != nil {
		b := d.pending[0].BatchedDelivery
		limit, wait = max(b.Max, 1), b.Wait
	}
	return limit, wait
}

// fill waits up to wait for the pending events to reach limit.
func (d *delivery) fill(ctx workflow.Context, wait time.Duration, limit int) error {
	tctx, cancel := workflow.WithCancel(ctx)
	defer cancel()
	timer := workflow.NewTimer(tctx, wait)
	for !timer.IsReady() && len(d.pending) < limit {
		if err := workflow.Await(ctx, func() bool { return timer.IsReady() || d.ch.Len() > 0 }); err != nil {
			return err
		}
		d.receive()
	}
	return nil
}

// start starts the first n pending runs, each in a coroutine of its own.
func (d *delivery) start(ctx workflow.Context, n int) {
	for _, in := range d.pending[:n] {
		d.inFlight++
		d.started++
		workflow.Go(ctx, func(gctx workflow.Context) {
			d.results[in.Event.ID] = d.runOne(gctx, in)
			d.inFlight--
		})
	}
	d.pending = d.pending[n:]
}

// runOne runs the logical run of in under its own workflow id.
func (d *delivery) runOne(ctx workflow.Context, in run.Input) run.Result {
	wfID := run.WorkflowID(in.Trigger.Tag, in.Event.ID)
	res, err := runActions(ctx, d.render, in, newRunState(wfID, d.runID))
	res.DeliveredBy = d.self
	if err == nil {
		d.in.Done++
		return res
	}
	d.in.Failed++
	if !temporal.IsCanceledError(err) {
		recordFailure(ctx, in, res, err, d.self)
	}
	return res
}

// recordFailure starts the failed run's RunTrigger under its own id with
// the failure recorded in its input: it fails at once with that failure
// (runTrigger), so that the run is listed among the failed runs and can
// be re-run, with its original input and idempotency keys, like any run.
func recordFailure(ctx workflow.Context, in run.Input, res run.Result, err error, by string) {
	rec := run.RecordedFailure{Type: "", Message: err.Error(), Result: res}
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) {
		rec.Type, rec.Message = appErr.Type(), appErr.Message()
	}
	in.Recorded = &rec
	id := run.WorkflowID(in.Trigger.Tag, in.Event.ID)
	cctx := workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{
		WorkflowID:            id,
		WorkflowIDReusePolicy: enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		ParentClosePolicy:     enumspb.PARENT_CLOSE_POLICY_ABANDON,
		TypedSearchAttributes: searchattr.ForRun(in),
		StaticSummary:         fmt.Sprintf("%s failed in batched delivery %s", in.Trigger.Tag, by),
	})
	err = workflow.ExecuteChildWorkflow(cctx, run.WorkflowName, in).GetChildWorkflowExecution().Get(ctx, nil)
	if err != nil && !childAlreadyStarted(err) {
		workflow.GetLogger(ctx).Error("cannot record a failed batched run", "workflowId", id, "error", err)
	}
}

// recordedFailure is how RunTrigger ends when started by recordFailure.
func recordedFailure(in run.Input) (run.Result, error) {
	rec := in.Recorded
	return rec.Result, temporal.NewNonRetryableApplicationError(rec.Message, rec.Type, nil, rec.Result)
}

// resume reads what the previous closed run of this workflow id
// remembered.
func (d *delivery) resume(ctx workflow.Context) error {
	lctx := workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{
		StartToCloseTimeout:    30 * time.Second,
		ScheduleToCloseTimeout: 24 * time.Hour,
		RetryPolicy:            &temporal.RetryPolicy{InitialInterval: time.Second, MaximumInterval: 30 * time.Second},
	})
	var seen []string
	id := workflow.GetInfo(ctx).WorkflowExecution.ID
	if err := workflow.ExecuteLocalActivity(lctx, deliverySeenActivity, id).Get(ctx, &seen); err != nil {
		return fmt.Errorf("read what the previous run of %s remembered: %w", id, err)
	}
	d.seen.addAll(seen)
	d.in.Resumed = true
	// Events carried in were already checked against the ids then.
	return nil
}

// result answers run.QueryRun.
func (d *delivery) result(eventID string) (run.Result, error) {
	if r, ok := d.results[eventID]; ok {
		return r, nil
	}
	for _, p := range d.pending {
		if p.Event.ID == eventID {
			return run.Result{Trigger: p.Trigger, EventID: eventID, EventName: p.EventName, Status: "pending", DeliveredBy: d.self}, nil
		}
	}
	return run.Result{}, fmt.Errorf("event %q: no run in this run of the delivery workflow (it may be in an earlier or later one)", eventID)
}

// backlog answers run.QueryBacklog.
func (d *delivery) backlog() (run.DeliveryBacklog, error) {
	return run.DeliveryBacklog{Pending: len(d.pending), InFlight: d.inFlight, Draining: d.draining}, nil
}

// next is the input of the workflow run this one continues as.
func (d *delivery) next() run.DeliveryInput {
	n := d.in
	n.Seen, n.Pending, n.Resumed = d.seen.list(), d.pending, true
	return n
}

func (d *delivery) state() DeliveryState {
	return DeliveryState{Seen: d.seen.list(), Done: d.in.Done, Failed: d.in.Failed}
}

// recentIDs is a set of the last n ids added, in the order added.
type recentIDs struct {
	n     int
	order []string
	set   map[string]bool
}

func newRecentIDs(n int, ids []string) *recentIDs {
	r := &recentIDs{n: n, set: make(map[string]bool, len(ids))}
	r.addAll(ids)
	return r
}

// add adds id and reports whether it was new.
func (r *recentIDs) add(id string) bool {
	if r.set[id] {
		return false
	}
	r.set[id] = true
	r.order = append(r.order, id)
	if len(r.order) > r.n {
		delete(r.set, r.order[0])
		r.order = r.order[1:]
	}
	return true
}

func (r *recentIDs) addAll(ids []string) {
	for _, id := range ids {
		r.add(id)
	}
}

func (r *recentIDs) list() []string { return append([]string(nil), r.order...) }
