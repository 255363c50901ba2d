package main

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"
	"go.temporal.io/api/enums/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"

	"github.com/triggerd/triggerd/config"
	"github.com/triggerd/triggerd/run"
	"github.com/triggerd/triggerd/run/searchattr"
)

// runsCmd lists failed runs and re-runs them, through Temporal.
func (a *app) runsCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "runs", Short: "List trigger runs, show one, re-run failed ones (through Temporal)"}
	var failed bool
	var limit int
	list := &cobra.Command{
		Use:   "list",
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
	limitFlag(list, &limit, 100)
	rerun := &cobra.Command{
		Use:   "rerun <workflow-id>",
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
	cmd.AddCommand(list, rerun, a.runsGetCmd()) // runs_get.go
	return cmd
}

// withTemporal calls f with a client of the configured Temporal. Only
// what a client uses is read from the configuration: log, temporal, the
// large payloads' storage, and the secrets they name.
func (a *app) withTemporal(ctx context.Context, f func(context.Context, client.Client, *config.Config) error) error {
	cfg, err := a.loadConfig(config.RoleTemporalClient)
	if err != nil {
		return err
	}
	section := struct {
		Temporal config.Temporal          `yaml:"temporal"`
		Storage  map[string]config.Bucket `yaml:"storage"`
	}{cfg.Temporal, cfg.Storage}
	if err := newSecretResolver(cfg).ResolveFields(&section); err != nil {
		return fmt.Errorf("config secrets:\n%w", err)
	}
	cfg.Temporal, cfg.Storage = section.Temporal, section.Storage
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
		TypedSearchAttributes: searchattr.ForRun(in),
	}, run.WorkflowName, in)
	if err != nil {
		return "", fmt.Errorf("re-run %s: %w", id, err)
	}
	return wr.GetRunID(), nil
}
