package main

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/triggerd/triggerd/api"
	"github.com/triggerd/triggerd/config"
	"github.com/triggerd/triggerd/fallbacks"
	"github.com/triggerd/triggerd/trigger"
)

func (a *app) quotasCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "quotas",
		Short: "Read and override quotas at runtime in every process, through the API",
		Long: `quotas talks to a running triggerd's API (--server). A quota key is
action:<trigger tag>/<action name>, target:<target> (target:http:api.partner.com,
target:kafka:orders, target:smtp) or shared:<name>. An override set here wins
over config and trigger definitions; every process applies it within
quotas.refreshInterval (2s by default), and the change is recorded with who
made it.`,
	}
	server := a.serverFlag(cmd, true)
	cmd.AddCommand(a.quotasListCmd(server), a.quotasGetCmd(server), a.quotasSetCmd(server), a.quotasHistoryCmd(server, "history"),
		deprecatedCommand(a.quotasHistoryCmd(server, "changes"), "triggerd quotas history"))
	return cmd
}

func limitString(l api.Limit) string {
	var parts []string
	if l.Rate > 0 {
		p := l.Period
		if p == "" {
			p = "1s"
		}
		parts = append(parts, fmt.Sprintf("%d/%s", l.Rate, p))
		if l.Burst > 0 {
			parts = append(parts, fmt.Sprintf("burst %d", l.Burst))
		}
	}
	if l.Daily > 0 {
		parts = append(parts, fmt.Sprintf("%d/day", l.Daily))
	}
	if l.Monthly > 0 {
		parts = append(parts, fmt.Sprintf("%d/month", l.Monthly))
	}
	if l.OnUnavailable != "" {
		parts = append(parts, "onUnavailable "+l.OnUnavailable)
	}
	if len(parts) == 0 {
		return "unlimited"
	}
	return strings.Join(parts, ", ")
}

func (a *app) quotasListCmd(server *apiTarget) *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List the configured quotas and the overrides",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.printQuotas(cmd.Context(), server, "")
		},
	}
}

func (a *app) quotasGetCmd(server *apiTarget) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "get <key>",
		Short: "Print a quota's limit and where it comes from (config, definition or override)",
		// Without a key, get listed every quota: it still does, for the
		// scripts written then (deprecated.go prints the note).
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			key := ""
			if len(args) == 1 {
				key = args[0]
			}
			return a.printQuotas(cmd.Context(), server, key)
		},
	}
	cmd.Annotations = map[string]string{deprecatedNoArgsAnnotation: "triggerd quotas list"}
	return cmd
}

// printQuotas prints the quotas, or only the one of key.
func (a *app) printQuotas(ctx context.Context, server *apiTarget, key string) error {
	list, err := a.client(server).Quotas(ctx)
	if err != nil {
		return a.apiFailure(err)
	}
	tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "KEY\tLIMIT\tSOURCE\tBY\tAT")
	n := 0
	for _, q := range list {
		if key != "" && q.Key != key {
			continue
		}
		n++
		by, at := "-", "-"
		if q.Override != nil {
			by, at = q.Override.Actor, q.Override.At.Format(time.RFC3339)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", q.Key, limitString(q.Limit), q.Source, by, at)
	}
	if key != "" && n == 0 {
		return fmt.Errorf("no quota %q is configured or overridden", key)
	}
	return tw.Flush()
}

func (a *app) quotasSetCmd(server *apiTarget) *cobra.Command {
	var l api.Limit
	var remove bool
	cmd := &cobra.Command{
		Use:   "set <key>",
		Short: "Override a quota's limit in every running process (--remove drops the override)",
		Example: `  triggerd quotas set target:http:api.partner.com --rate 10 --period 1s --burst 10
  triggerd quotas set action:orders-to-erp/notify --daily 5000
  triggerd quotas set shared:sms --rate 1 --period 1s --on-unavailable wait
  triggerd quotas set target:http:api.partner.com --remove`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var lp *api.Limit
			if !remove {
				if l.Rate == 0 && l.Daily == 0 && l.Monthly == 0 {
					return fmt.Errorf("set at least one of --rate, --daily, --monthly (or --remove)")
				}
				lp = &l
			}
			o, err := a.client(server).SetQuota(cmd.Context(), args[0], lp)
			if err != nil {
				return a.apiFailure(err)
			}
			if o.Removed {
				fmt.Fprintf(a.stdout, "%s: override removed by %s\n", o.Key, o.Actor)
				return nil
			}
			fmt.Fprintf(a.stdout, "%s: %s (set by %s)\n", o.Key, limitString(o.Limit), o.Actor)
			return nil
		},
	}
	f := cmd.Flags()
	f.IntVar(&l.Rate, "rate", 0, "calls per period")
	f.StringVar(&l.Period, "period", "", "the rate's period (default 1s)")
	f.IntVar(&l.Burst, "burst", 0, "calls allowed at once (default: rate)")
	f.Int64Var(&l.Daily, "daily", 0, "calls per UTC day")
	f.Int64Var(&l.Monthly, "monthly", 0, "calls per UTC month")
	f.StringVar(&l.OnUnavailable, "on-unavailable", "", "open or wait when Redis is unreachable")
	f.BoolVar(&remove, "remove", false, "remove the override")
	return cmd
}

// quotasHistoryCmd is `quotas history`, or under its former name
// `changes`.
func (a *app) quotasHistoryCmd(server *apiTarget, use string) *cobra.Command {
	var n int
	cmd := &cobra.Command{
		Use:   use,
		Short: "List the latest quota overrides set or removed, newest first, with who made them",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			list, err := a.client(server).QuotaChanges(cmd.Context(), n)
			if err != nil {
				return a.apiFailure(err)
			}
			tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "AT\tBY\tKEY\tCHANGE")
			for _, o := range list {
				change := limitString(o.Limit)
				if o.Removed {
					change = "removed"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", o.At.Format(time.RFC3339), o.Actor, o.Key, change)
			}
			return tw.Flush()
		},
	}
	limitFlag(cmd, &n, 20)
	return cmd
}

func (a *app) breakersCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "breakers",
		Short: "Inspect, tune and reset circuit breakers in every process, through the API",
		Long: `breakers talks to a running triggerd's API (--server). A breaker is named
target:<target> (target:http:api.partner.com) or action:<tag>/<action name>.
Settings set here win over config and trigger definitions in every process
within quotas.refreshInterval, and are recorded with who set them.`,
	}
	server := a.serverFlag(cmd, true)
	cmd.AddCommand(a.breakersListCmd(server), a.breakersGetCmd(server), a.breakersSetCmd(server), a.breakersResetCmd(server),
		a.breakersHistoryCmd(server, "history"),
		deprecatedCommand(a.breakersHistoryCmd(server, "changes"), "triggerd breakers history"))
	return cmd
}

func (a *app) breakersListCmd(server *apiTarget) *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List every breaker's shared state and the settings overrides",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.printBreakers(cmd.Context(), server, "")
		},
	}
}

func (a *app) breakersGetCmd(server *apiTarget) *cobra.Command {
	return &cobra.Command{
		Use:   "get <name>",
		Short: "Print a breaker's shared state and its settings override",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.printBreakers(cmd.Context(), server, args[0])
		},
	}
}

// printBreakers prints the breakers and the overrides, or only those of
// name.
func (a *app) printBreakers(ctx context.Context, server *apiTarget, name string) error {
	list, ovs, err := a.client(server).Breakers(ctx)
	if err != nil {
		return a.apiFailure(err)
	}
	if name != "" {
		list = slices.DeleteFunc(list, func(b fallbacks.State) bool { return b.Name != name })
		ovs = slices.DeleteFunc(ovs, func(o api.BreakerOverride) bool { return o.Name != name })
		if len(list) == 0 && len(ovs) == 0 {
			return fmt.Errorf("no breaker %q has state or an override", name)
		}
	}
	defer a.printBreakerOverrides(ovs)
	tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "BREAKER\tSTATE\tOPEN UNTIL\tREQUESTS\tFAILURES\tCONSECUTIVE")
	for _, b := range list {
		until := "-"
		if b.OpenUntil != nil {
			until = b.OpenUntil.Format(time.RFC3339)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%d\n", b.Name, b.State, until, b.Requests, b.TotalFailures, b.ConsecutiveFailures)
	}
	return tw.Flush()
}

func (a *app) breakersResetCmd(server *apiTarget) *cobra.Command {
	return &cobra.Command{
		Use:   "reset <name>",
		Short: "Close a breaker (fresh counts) for every process",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			st, err := a.client(server).ResetBreaker(cmd.Context(), args[0])
			if err != nil {
				return a.apiFailure(err)
			}
			fmt.Fprintf(a.stdout, "%s: %s\n", st.Name, st.State)
			return nil
		},
	}
}

// guardPolicyProblems reports the quota and breaker policies that trigger
// actions (and their fallbacks) name but cfg does not define: the worker
// would fail those actions with NOT_CONFIGURED when they run.
func guardPolicyProblems(cfg *config.Config, defs []trigger.Definition) []trigger.Problem {
	var out []trigger.Problem
	var check func(d trigger.Definition, field string, act trigger.Action)
	check = func(d trigger.Definition, field string, act trigger.Action) {
		report := func(key, name, section string) {
			out = append(out, trigger.Problem{File: d.File, Tag: d.Tag, Field: field + "." + key + ".policy",
				Reason: fmt.Sprintf("%q is not defined in %s of the config", name, section)})
		}
		if q := act.Quota; q != nil && q.Policy != "" {
			if _, ok := cfg.Quotas.Policies[q.Policy]; !ok {
				report("quota", q.Policy, "quotas.policies")
			}
		}
		if b := act.Breaker; b != nil && b.Policy != "" {
			if _, ok := cfg.Breakers.Policies[b.Policy]; !ok {
				report("breaker", b.Policy, "breakers.policies")
			}
		}
		for i, f := range act.Fallback {
			if f.Action != nil {
				check(d, fmt.Sprintf("%s.fallback[%d].action", field, i), *f.Action)
			}
		}
	}
	for _, d := range defs {
		for i, act := range d.Actions {
			check(d, fmt.Sprintf("actions[%d]", i), act)
		}
	}
	return out
}

func settingsString(s api.BreakerSettings) string {
	var parts []string
	add := func(cond bool, format string, v any) {
		if cond {
			parts = append(parts, fmt.Sprintf(format, v))
		}
	}
	add(s.ConsecutiveFailures > 0, "consecutiveFailures %d", s.ConsecutiveFailures)
	add(s.FailureRatio > 0, "failureRatio %g", s.FailureRatio)
	add(s.MinRequests > 0, "minRequests %d", s.MinRequests)
	add(s.Interval != "", "interval %s", s.Interval)
	add(s.OpenTimeout != "", "openTimeout %s", s.OpenTimeout)
	add(s.HalfOpenRequests > 0, "halfOpenRequests %d", s.HalfOpenRequests)
	if len(parts) == 0 {
		return "defaults"
	}
	return strings.Join(parts, ", ")
}

func (a *app) printBreakerOverrides(ovs []api.BreakerOverride) {
	if len(ovs) == 0 {
		return
	}
	fmt.Fprintln(a.stdout, "\nsettings overrides:")
	tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "BREAKER\tSETTINGS\tBY\tAT")
	for _, o := range ovs {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", o.Name, settingsString(o.Settings), o.Actor, o.At.Format(time.RFC3339))
	}
	_ = tw.Flush()
}

func (a *app) breakersSetCmd(server *apiTarget) *cobra.Command {
	var st api.BreakerSettings
	var remove bool
	cmd := &cobra.Command{
		Use:   "set <name>",
		Short: "Override a breaker's settings in every running process (--remove drops the override)",
		Example: `  triggerd breakers set target:http:api.partner.com --consecutive-failures 3 --open-timeout 1m
  triggerd breakers set target:kafka:orders --failure-ratio 0.5 --min-requests 20
  triggerd breakers set target:http:api.partner.com --remove`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var sp *api.BreakerSettings
			if !remove {
				if st == (api.BreakerSettings{}) {
					return fmt.Errorf("set at least one setting (or --remove)")
				}
				sp = &st
			}
			o, err := a.client(server).SetBreaker(cmd.Context(), args[0], sp)
			if err != nil {
				return a.apiFailure(err)
			}
			if o.Removed {
				fmt.Fprintf(a.stdout, "%s: override removed by %s\n", o.Name, o.Actor)
				return nil
			}
			fmt.Fprintf(a.stdout, "%s: %s (set by %s)\n", o.Name, settingsString(o.Settings), o.Actor)
			return nil
		},
	}
	f := cmd.Flags()
	f.IntVar(&st.ConsecutiveFailures, "consecutive-failures", 0, "open after this many failures in a row")
	f.Float64Var(&st.FailureRatio, "failure-ratio", 0, "open when this share of calls failed (0..1) ...")
	f.IntVar(&st.MinRequests, "min-requests", 0, "... out of at least this many in the interval")
	f.StringVar(&st.Interval, "interval", "", "closed-state window after which counts reset")
	f.StringVar(&st.OpenTimeout, "open-timeout", "", "how long an open breaker waits before probing")
	f.IntVar(&st.HalfOpenRequests, "half-open-requests", 0, "probes that must succeed to close it")
	f.BoolVar(&remove, "remove", false, "remove the override")
	return cmd
}

// breakersHistoryCmd is `breakers history`, or under its former name
// `changes`.
func (a *app) breakersHistoryCmd(server *apiTarget, use string) *cobra.Command {
	var n int
	cmd := &cobra.Command{
		Use:   use,
		Short: "List the latest breaker settings set or removed, newest first, with who made them",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			list, err := a.client(server).BreakerChanges(cmd.Context(), n)
			if err != nil {
				return a.apiFailure(err)
			}
			tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "AT\tBY\tBREAKER\tCHANGE")
			for _, o := range list {
				change := settingsString(o.Settings)
				if o.Removed {
					change = "removed"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", o.At.Format(time.RFC3339), o.Actor, o.Name, change)
			}
			return tw.Flush()
		},
	}
	limitFlag(cmd, &n, 20)
	return cmd
}
