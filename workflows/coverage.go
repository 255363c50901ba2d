package workflows

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.temporal.io/api/serviceerror"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/triggerd/triggerd/run"
)

// batchCoverageActivity is the registered name of Coverage.BatchCoverage.
const batchCoverageActivity = "triggerd.batchCoverage"

// batchCoverageChange names the GetVersion marker of the coverage lookup
// of a reopened batch: batches recorded before it replay without.
const batchCoverageChange = "batch-coverage"

// BatchCovered is what the runs of one batch key already covered: how many
// runs exist (…/<key>, …/<key>/2, …) and the ids of their events.
type BatchCovered struct {
	Runs     int      `json:"runs"`
	EventIDs []string `json:"eventIds,omitempty"`
}

// Coverage is the activity that reads, from Temporal, which events the
// runs of a batch covered. A batch that closed (its linger elapsed) and is
// reopened by a redelivery has forgotten them; without this it could only
// drop the redelivered events (losing those the closed run never got) or
// run them all again (duplicating the rest).
type Coverage struct {
	Client client.Client
	// DataConverter decodes the runs' inputs: the client's, with its
	// codecs (large payloads). Nil means the default converter.
	DataConverter converter.DataConverter
}

// BatchCoverage reads the start input of each run of the batch in turn
// until one does not exist. The ids are deterministic, so the runs are
// found without a visibility query (which lags behind the server).
func (c *Coverage) BatchCoverage(ctx context.Context, tag, topic, key string) (BatchCovered, error) {
	var out BatchCovered
	for n := 1; ; n++ {
		id := run.WorkflowID(tag, batchEventID(topic, key, n))
		in, err := c.startInput(ctx, id)
		var nf *serviceerror.NotFound
		if errors.As(err, &nf) {
			return out, nil
		}
		if err != nil {
			return out, fmt.Errorf("read batch run %s: %w", id, err)
		}
		out.Runs = n
		if in.Batch != nil {
			out.EventIDs = append(out.EventIDs, in.Batch.EventIDs...)
		}
		activity.RecordHeartbeat(ctx, n)
	}
}

// startInput is the run.Input a workflow was started with (the first
// event of its latest run's history).
func (c *Coverage) startInput(ctx context.Context, id string) (run.Input, error) {
	var in run.Input
	it := c.Client.GetWorkflowHistory(ctx, id, "", false, 0)
	if !it.HasNext() {
		return in, serviceerror.NewNotFound("no history")
	}
	ev, err := it.Next()
	if err != nil {
		return in, err
	}
	attrs := ev.GetWorkflowExecutionStartedEventAttributes()
	if attrs == nil {
		return in, fmt.Errorf("first event of %s is %s", id, ev.GetEventType())
	}
	dc := c.DataConverter
	if dc == nil {
		dc = converter.GetDefaultDataConverter()
	}
	if err := dc.FromPayloads(attrs.GetInput(), &in); err != nil {
		return in, fmt.Errorf("decode input of %s: %w", id, err)
	}
	return in, nil
}

// DeliverySeen returns the event ids the latest completed run of the
// delivery workflow id remembered when it closed (DeliveryState.Seen), or
// none when no run of it completed. A delivery workflow that opens calls
// it first: events signalled to a run that closed since must not run
// again. The run is found through visibility, which has recorded a run
// that closed after lingering long before its id is started again.
func (c *Coverage) DeliverySeen(ctx context.Context, id string) ([]string, error) {
	resp, err := c.Client.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{
		Query:    fmt.Sprintf("WorkflowId = '%s' AND ExecutionStatus = 'Completed'", id),
		PageSize: 20,
	})
	if err != nil {
		return nil, fmt.Errorf("list closed runs of %s: %w", id, err)
	}
	var latest *workflowpb.WorkflowExecutionInfo
	for _, e := range resp.GetExecutions() {
		if latest == nil || e.GetCloseTime().AsTime().After(latest.GetCloseTime().AsTime()) {
			latest = e
		}
	}
	if latest == nil {
		return nil, nil
	}
	var st DeliveryState
	if err := c.Client.GetWorkflow(ctx, id, latest.GetExecution().GetRunId()).Get(ctx, &st); err != nil {
		return nil, fmt.Errorf("read the result of %s run %s: %w", id, latest.GetExecution().GetRunId(), err)
	}
	return st.Seen, nil
}

// Register registers the coverage activities.
func (c *Coverage) Register(r worker.ActivityRegistry) {
	r.RegisterActivityWithOptions(c.BatchCoverage, activity.RegisterOptions{Name: batchCoverageActivity})
	r.RegisterActivityWithOptions(c.DeliverySeen, activity.RegisterOptions{Name: deliverySeenActivity})
}

// batchEventID is the event id of the n-th run of a batch (1-based).
func batchEventID(topic, key string, n int) string {
	id := "batch/" + topic + "/" + key
	if n > 1 {
		id += fmt.Sprintf("/%d", n)
	}
	return id
}

// coveredByClosedRuns asks which events the existing runs of in's batch
// covered, after starting the next run failed because it exists: this
// batch was reopened after it closed. It returns nil when the batch was
// recorded before the lookup existed.
func coveredByClosedRuns(ctx workflow.Context, in *run.BatchInput) (*BatchCovered, error) {
	if workflow.GetVersion(ctx, batchCoverageChange, workflow.DefaultVersion, 1) == workflow.DefaultVersion {
		return nil, nil
	}
	actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: time.Minute,
		RetryPolicy:         &temporal.RetryPolicy{MaximumInterval: 30 * time.Second},
	})
	var cov BatchCovered
	if err := workflow.ExecuteActivity(actx, batchCoverageActivity, in.Tag, in.Topic, in.Key).Get(ctx, &cov); err != nil {
		return nil, err
	}
	return &cov, nil
}
