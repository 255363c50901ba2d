package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/spf13/cobra"
	"go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/worker"

	"github.com/triggerd/triggerd/config"
	"github.com/triggerd/triggerd/ingest"
	"github.com/triggerd/triggerd/run"
	"github.com/triggerd/triggerd/trigger"
	"github.com/triggerd/triggerd/workflows"
)

// dialTemporal connects to Temporal, waiting (with capped backoff) while
// it is unreachable: a process restarted during a Temporal outage must
// wait for it, not exit, or a supervisor without restarts loses it.
func dialTemporal(ctx context.Context, opts client.Options, address string, log *slog.Logger) (client.Client, error) {
	backoff := 200 * time.Millisecond
	for attempt := 1; ; attempt++ {
		c, err := client.DialContext(ctx, opts)
		if err == nil {
			return c, nil
		}
		if ctx.Err() != nil || !dialRetryable(err) {
			return nil, fmt.Errorf("connect to Temporal at %s: %w", address, err)
		}
		log.Warn("Temporal unreachable, waiting", "address", address, "attempt", attempt, "backoff", backoff, "error", err)
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("connect to Temporal at %s: %w", address, err)
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, 10*time.Second)
	}
}

// dialRetryable tells an unreachable server (worth waiting for) from a
// refusal that waiting does not change: a denied key, an unknown namespace.
func dialRetryable(err error) bool {
	var denied *serviceerror.PermissionDenied
	var nsNotFound *serviceerror.NamespaceNotFound
	var invalid *serviceerror.InvalidArgument
	return !errors.As(err, &denied) && !errors.As(err, &nsNotFound) && !errors.As(err, &invalid)
}

// newStarter is ingest's starter, with the batches of `for: all` triggers
// configured.
func newStarter(c client.Client, cfg *config.Config) *ingest.TemporalStarter {
	s := ingest.NewTemporalStarter(c, cfg.Temporal.TaskQueue)
	s.Batch = ingest.BatchOptions{Size: cfg.Delivery.BatchSize, Window: cfg.Delivery.BatchWindow, Linger: cfg.Delivery.BatchLinger}
	return s
}

// localActivities is the trigger option of delivery.localActivities and
// delivery.localActivityMaxTimeout: which actions run as local
// activities when their definition does not say.
func localActivities(d config.Delivery) trigger.Option {
	return trigger.WithLocalActivities(trigger.LocalActivities{
		Off: d.LocalActivities == config.LocalActivitiesOff, MaxTimeout: d.LocalActivityMaxTimeout,
	})
}

// registerQueues registers the activity that feeds the queues of queued
// actions.
func registerQueues(w worker.Worker, c client.Client, dc converter.DataConverter, cfg *config.Config) {
	qs := make(map[string]workflows.QueueConfig, len(cfg.Queues))
	for name, q := range cfg.Queues {
		qs[name] = workflows.QueueConfig{Concurrency: q.Concurrency}
	}
	(&workflows.Enqueuer{Client: c, TaskQueue: cfg.Temporal.TaskQueue, Queues: qs}).Register(w)
	(&workflows.Coverage{Client: c, DataConverter: dc}).Register(w)
}

// deliveryPlanner adds the process-wide delivery settings to each planned
// run (the global error handler, the cascade limit) and counts the runs
// that will fail their cascade check.
type deliveryPlanner struct {
	next     ingest.Planner
	env      string // config env: {{env}} of the runs
	onError  []run.Action
	maxDepth int
	hb       time.Duration
	rejected *prometheus.CounterVec
}

func newDeliveryPlanner(next ingest.Planner, d config.Delivery, reg prometheus.Registerer) (*deliveryPlanner, error) {
	raw := make([]any, len(d.OnError))
	for i, a := range d.OnError {
		raw[i] = a
	}
	onError, err := trigger.CompileOnError(raw, localActivities(d))
	if err != nil {
		return nil, fmt.Errorf("delivery.onError: %w", err)
	}
	p := &deliveryPlanner{next: next, onError: onError, maxDepth: d.MaxCascadeDepth, hb: d.HeartbeatTimeout,
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "triggerd_cascade_rejected_total",
			Help: "Runs started for a change whose cascade chain is too deep (reason=depth) or loops (reason=loop); they fail at once.",
		}, []string{"trigger", "reason"})}
	if reg != nil {
		if err := reg.Register(p.rejected); err != nil {
			return nil, err
		}
	}
	return p, nil
}

func (p *deliveryPlanner) Plan(ev run.Event) []run.Input {
	ins := p.next.Plan(ev)
	for i := range ins {
		in := &ins[i]
		if len(in.OnError) == 0 && len(p.onError) > 0 {
			in.OnError = slices.Clone(p.onError)
		}
		in.MaxCascadeDepth, in.HeartbeatTimeout, in.Env = p.maxDepth, p.hb, p.env
		switch {
		case slices.Contains(ev.Cascade, in.Trigger.Tag):
			p.rejected.WithLabelValues(in.Trigger.Tag, "loop").Inc()
		case len(ev.Cascade) > 0 && len(ev.Cascade)+1 > p.maxDepth:
			p.rejected.WithLabelValues(in.Trigger.Tag, "depth").Inc()
		}
	}
	return ins
}

// runsCmd lists failed runs and re-runs them, through Temporal.
func (a *app) runsCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "runs", Short: "List trigger runs, show one, re-run failed ones (through Temporal)"}
	var failed bool
	var limit int
	list := &cobra.Command{
		Use:   "list [--failed]",
		Short: "List trigger runs, newest first",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.withTemporal(cmd.Context(), func(ctx context.Context, c client.Client, _ *config.Config) error {
				q := fmt.Sprintf("WorkflowType = '%s'", run.WorkflowName)
				if failed {
					q += " AND ExecutionStatus = 'Failed'"
				}
				var token []byte
				n := 0
				for n < limit {
					resp, err := c.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Query: q, NextPageToken: token})
					if err != nil {
						return fmt.Errorf("list runs: %w", err)
					}
					for _, e := range resp.GetExecutions() {
						if n >= limit {
							break
						}
						n++
						fmt.Fprintf(a.stdout, "%s\t%s\t%s\n", e.GetExecution().GetWorkflowId(), e.GetStatus(), e.GetCloseTime().AsTime().Format(time.RFC3339))
					}
					if token = resp.GetNextPageToken(); len(token) == 0 {
						break
					}
				}
				return nil
			})
		},
	}
	list.Flags().BoolVar(&failed, "failed", false, "only failed runs")
	list.Flags().IntVar(&limit, "limit", 100, "at most this many runs")
	rerun := &cobra.Command{
		Use:   "rerun <workflow id>",
		Short: "Run a failed run again, with the input it had, under the same id",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.withTemporal(cmd.Context(), func(ctx context.Context, c client.Client, cfg *config.Config) error {
				dc, _, err := dataConverter(cfg)
				if err != nil {
					return err
				}
				runID, err := rerunFailed(ctx, c, dc, cfg.Temporal.TaskQueue, args[0])
				if err != nil {
					return err
				}
				fmt.Fprintf(a.stdout, "re-running %s (run %s)\n", args[0], runID)
				return nil
			})
		},
	}
	cmd.AddCommand(list, rerun, a.runsShowCmd()) // runs_show.go
	return cmd
}

func (a *app) withTemporal(ctx context.Context, f func(context.Context, client.Client, *config.Config) error) error {
	cfg, err := a.loadConfigForClient()
	if err != nil {
		return err
	}
	logger := newLogger(cfg.Log, a.stderr)
	opts, err := temporalOptions(cfg.Temporal, logger)
	if err != nil {
		return err
	}
	if opts.DataConverter, _, err = dataConverter(cfg); err != nil {
		return err
	}
	c, err := client.DialContext(ctx, opts)
	if err != nil {
		return fmt.Errorf("connect to Temporal at %s: %w", cfg.Temporal.Address, err)
	}
	defer c.Close()
	return f(ctx, c, cfg)
}

// loadConfigForClient loads the config for a client command, which needs
// only the Temporal section: kafka.brokers and kafka.topics, required of
// the processes, get placeholders when they are not configured.
func (a *app) loadConfigForClient() (*config.Config, error) {
	env := append(slices.Clone(a.environ), "TRIGGERD_KAFKA_BROKERS=unused:9092", "TRIGGERD_KAFKA_TOPICS=unused")
	if cfg, err := config.Load(a.configPath, a.environ); err == nil {
		return cfg, nil
	}
	return config.Load(a.configPath, env)
}

// rerunFailed starts the failed run id again with its original input.
// The id is kept (reuse policy: only after a failure), so the actions get
// the same idempotency keys and targets drop what already succeeded.
func rerunFailed(ctx context.Context, c client.Client, dc converter.DataConverter, taskQueue, id string) (string, error) {
	desc, err := c.DescribeWorkflowExecution(ctx, id, "")
	if err != nil {
		return "", fmt.Errorf("describe %s: %w", id, err)
	}
	st := desc.GetWorkflowExecutionInfo().GetStatus()
	switch st {
	case enums.WORKFLOW_EXECUTION_STATUS_FAILED, enums.WORKFLOW_EXECUTION_STATUS_TIMED_OUT, enums.WORKFLOW_EXECUTION_STATUS_TERMINATED:
	default:
		return "", fmt.Errorf("run %s is %s: only failed, timed out or terminated runs can be re-run", id, st)
	}
	it := c.GetWorkflowHistory(ctx, id, "", false, enums.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	if !it.HasNext() {
		return "", fmt.Errorf("run %s has no history", id)
	}
	first, err := it.Next()
	if err != nil {
		return "", fmt.Errorf("read history of %s: %w", id, err)
	}
	attrs := first.GetWorkflowExecutionStartedEventAttributes()
	if attrs == nil {
		return "", fmt.Errorf("run %s: first event is not the start", id)
	}
	var in run.Input
	if err := dc.FromPayloads(attrs.GetInput(), &in); err != nil {
		return "", fmt.Errorf("decode the input of %s: %w", id, err)
	}
	// A run of a batched delivery was recorded with its failure: the
	// re-run runs it, as a workflow of its own.
	in.Recorded = nil
	wr, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID:                    id,
		TaskQueue:             taskQueue,
		WorkflowIDReusePolicy: enums.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE_FAILED_ONLY,
		TypedSearchAttributes: workflows.RunSearchAttributes(in),
	}, run.WorkflowName, in)
	if err != nil {
		return "", fmt.Errorf("re-run %s: %w", id, err)
	}
	return wr.GetRunID(), nil
}
