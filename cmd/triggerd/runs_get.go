package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"

	"github.com/triggerd/triggerd/config"
	"github.com/triggerd/triggerd/run"
	"github.com/triggerd/triggerd/workflows"
)

// runsGetCmd prints the result of one run, whether it ran as a workflow
// of its own or inside a delivery workflow (batched delivery).
func (a *app) runsGetCmd() *cobra.Command {
	var within int
	cmd := &cobra.Command{
		Use:   "get <workflow-id>",
		Short: "Print the result of a run (triggerd/<tag>/<event id>), batched or not",
		Long: `Print the result of a run as JSON. A run of its own is read from its
workflow; a run of a trigger with batched delivery that succeeded has no
workflow of its own, so its trigger's delivery workflows are asked for it
(the run query), newest first, at most --within of them.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.withTemporal(cmd.Context(), func(ctx context.Context, c client.Client, _ *config.Config) error {
				res, err := showRun(ctx, c, args[0], within)
				if err != nil {
					return err
				}
				b, err := json.MarshalIndent(res, "", "  ")
				if err != nil {
					return err
				}
				fmt.Fprintln(a.stdout, string(b))
				return nil
			})
		},
	}
	cmd.Flags().IntVar(&within, "within", 50, "delivery workflow runs to ask, newest first")
	return cmd
}

// showRun returns the result of run id.
func showRun(ctx context.Context, c client.Client, id string, within int) (run.Result, error) {
	var res run.Result
	_, err := c.DescribeWorkflowExecution(ctx, id, "")
	var nf *serviceerror.NotFound
	switch {
	case err == nil:
		err = c.GetWorkflow(ctx, id, "").Get(ctx, &res)
		if r, ok := workflows.ResultFromError(err); ok {
			return r, nil
		}
		return res, err
	case !errors.As(err, &nf):
		return res, fmt.Errorf("describe %s: %w", id, err)
	}
	parts := strings.SplitN(id, "/", 3)
	if len(parts) != 3 || parts[0] != "triggerd" {
		return res, fmt.Errorf("run %s not found (a run id is triggerd/<tag>/<event id>)", id)
	}
	tag, eventID := parts[1], parts[2]
	q := fmt.Sprintf("WorkflowType = '%s' AND %s = '%s'", run.DeliveryWorkflowName, run.SearchAttrTriggerTag, tag)
	var token []byte
	for asked := 0; asked < within; {
		resp, err := c.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Query: q, NextPageToken: token})
		if err != nil {
			return res, fmt.Errorf("list the delivery workflows of %s: %w", tag, err)
		}
		for _, e := range resp.GetExecutions() {
			if asked >= within {
				break
			}
			asked++
			v, err := c.QueryWorkflow(ctx, e.GetExecution().GetWorkflowId(), e.GetExecution().GetRunId(), run.QueryRun, eventID)
			if err == nil && v.Get(&res) == nil {
				return res, nil
			}
		}
		if token = resp.GetNextPageToken(); len(token) == 0 {
			break
		}
	}
	return res, fmt.Errorf("run %s not found: no workflow of that id, and none of the %d newest delivery workflows of %s ran it", id, within, tag)
}
