package workflows

import (
	"context"
	"fmt"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/triggerd/triggerd/fallbacks"
	"github.com/triggerd/triggerd/run"
)

// A queue is one long-lived workflow per name (run.QueueWorkflowID) that
// receives queued actions by signal-with-start and executes them as
// activities, at most Concurrency at a time. Its state is its history, so
// it survives the loss of every triggerd process; it continues as new every
// MaxItems items so that history stays small, carrying what is pending.

// QueueStats is the answer of the queue's "stats" query.
type QueueStats struct {
	Pending  int `json:"pending"`
	InFlight int `json:"inFlight"`
	Done     int `json:"done"`
	Failed   int `json:"failed"`
}

// Queue tunables.
const (
	DefaultQueueConcurrency = 4
	queueMaxItems           = 500 // per run, before continue-as-new
	queueSeenKeys           = 2000
	queueIdle               = 5 * time.Minute
	enqueueActivity         = "triggerd.enqueue"
	// QueryQueueStats is the name of the queue's stats query.
	QueryQueueStats = "stats"
)

// Queue is the queue workflow (run.QueueWorkflowName).
func Queue(ctx workflow.Context, in run.QueueInput) (QueueStats, error) {
	conc := in.Concurrency
	if conc <= 0 {
		conc = DefaultQueueConcurrency
	}
	ch := workflow.GetSignalChannel(ctx, run.SignalEnqueue)
	seen := make(map[string]bool, len(in.Seen))
	for _, k := range in.Seen {
		seen[k] = true
	}
	seenOrder := append([]string(nil), in.Seen...)
	pending := in.Pending
	inFlight, ran := 0, 0
	st := in
	if err := workflow.SetQueryHandler(ctx, QueryQueueStats, func() (QueueStats, error) {
		return QueueStats{Pending: len(pending), InFlight: inFlight, Done: st.Done, Failed: st.Failed}, nil
	}); err != nil {
		return QueueStats{}, err
	}
	receive := func() {
		for {
			var it run.QueueItem
			if !ch.ReceiveAsync(&it) {
				return
			}
			k := it.Request.IdempotencyKey
			if k != "" && seen[k] {
				continue
			}
			if k != "" {
				seen[k] = true
				seenOrder = append(seenOrder, k)
				if len(seenOrder) > queueSeenKeys {
					delete(seen, seenOrder[0])
					seenOrder = seenOrder[1:]
				}
			}
			pending = append(pending, it)
		}
	}
	for {
		receive()
		for inFlight < conc && len(pending) > 0 && ran < queueMaxItems {
			it := pending[0]
			pending = pending[1:]
			inFlight++
			ran++
			workflow.Go(ctx, func(gctx workflow.Context) {
				if err := executeQueued(gctx, it); err != nil {
					st.Failed++
					workflow.GetLogger(gctx).Warn("queued action failed", "queue", in.Name,
						"idempotencyKey", it.Request.IdempotencyKey, "error", err)
				} else {
					st.Done++
				}
				inFlight--
			})
		}
		if ran >= queueMaxItems || workflow.GetInfo(ctx).GetContinueAsNewSuggested() {
			if err := workflow.Await(ctx, func() bool { return inFlight == 0 }); err != nil {
				return QueueStats{}, err
			}
			receive()
			next := run.QueueInput{Name: in.Name, Concurrency: in.Concurrency, Pending: pending, Seen: seenOrder, Done: st.Done, Failed: st.Failed}
			return QueueStats{}, workflow.NewContinueAsNewError(ctx, run.QueueWorkflowName, next)
		}
		if inFlight == 0 && len(pending) == 0 {
			ok, err := workflow.AwaitWithTimeout(ctx, queueIdle, func() bool { return ch.Len() > 0 })
			if err != nil {
				return QueueStats{}, err
			}
			if !ok && ch.Len() == 0 {
				return QueueStats{Done: st.Done, Failed: st.Failed}, nil
			}
			continue
		}
		// Something is in flight: wait for it to finish or for a new item.
		before := inFlight
		if err := workflow.Await(ctx, func() bool { return ch.Len() > 0 || inFlight < before }); err != nil {
			return QueueStats{}, err
		}
	}
}

func executeQueued(ctx workflow.Context, it run.QueueItem) error {
	timeout := time.Duration(it.Timeout) * time.Millisecond
	if timeout <= 0 {
		timeout = run.DefaultActionTimeout
	}
	call := actionCall{timeout: timeout, heartbeat: time.Duration(it.Heartbeat) * time.Millisecond, retry: it.Retry}
	// A quota refusal is waited out here too (fallbacks.CallWithQuota),
	// durably.
	var waits *run.GuardReport
	_, err := fallbacks.CallWithQuota(ctx, call.execute, it.Request.Type, it.Request, &waits)
	return err
}

// enqueue appends the rendered action to its queue from inside a run.
func enqueue(ctx workflow.Context, act run.Action, req run.ActionRequest, hb time.Duration) (any, error) {
	actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 30 * time.Second,
		RetryPolicy:         RetryPolicy(run.RetryPolicy{MaxAttempts: 100, MaxInterval: 30 * time.Second}),
	})
	item := run.QueueItem{Request: req, Retry: act.Retry, Timeout: act.Timeout.Milliseconds(), Heartbeat: hb.Milliseconds()}
	if err := workflow.ExecuteActivity(actx, enqueueActivity, act.Queue, item).Get(actx, nil); err != nil {
		return nil, err
	}
	return map[string]any{"queued": act.Queue, "idempotencyKey": req.IdempotencyKey}, nil
}

// QueueConfig is one configured queue.
type QueueConfig struct {
	Concurrency int
}

// Enqueuer is the activity that appends items to queues by signal-with-
// start, which opens the queue's workflow when it is not running.
type Enqueuer struct {
	Client    client.Client
	TaskQueue string
	Queues    map[string]QueueConfig
}

// Enqueue signals item to queue name, starting the queue if needed.
func (e *Enqueuer) Enqueue(ctx context.Context, name string, item run.QueueItem) error {
	cfg := e.Queues[name]
	_, err := e.Client.SignalWithStartWorkflow(ctx, run.QueueWorkflowID(name), run.SignalEnqueue, item,
		client.StartWorkflowOptions{TaskQueue: e.TaskQueue}, run.QueueWorkflowName,
		run.QueueInput{Name: name, Concurrency: cfg.Concurrency})
	if err != nil {
		return fmt.Errorf("enqueue to %s: %w", name, err)
	}
	activity.GetLogger(ctx).Debug("enqueued", "queue", name, "idempotencyKey", item.Request.IdempotencyKey)
	return nil
}

// Register registers the enqueue activity.
func (e *Enqueuer) Register(r worker.ActivityRegistry) {
	r.RegisterActivityWithOptions(e.Enqueue, activity.RegisterOptions{Name: enqueueActivity})
}

// registerDeliveryWorkflows registers the lane, queue, batch and delivery
// workflows.
func registerDeliveryWorkflows(r worker.WorkflowRegistry) {
	r.RegisterWorkflowWithOptions(Delivery, workflow.RegisterOptions{Name: run.DeliveryWorkflowName})
	r.RegisterWorkflowWithOptions(Lane, workflow.RegisterOptions{Name: run.LaneWorkflowName})
	r.RegisterWorkflowWithOptions(Queue, workflow.RegisterOptions{Name: run.QueueWorkflowName})
	r.RegisterWorkflowWithOptions(Batch, workflow.RegisterOptions{Name: run.BatchWorkflowName})
}
