package main

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"github.com/triggerd/triggerd/config"
	"github.com/triggerd/triggerd/trigger"
)

func (a *app) workerCmd() *cobra.Command {
	return a.componentsCmd("worker", "Run the Temporal worker: the trigger workflow and every action",
		components{worker: true}, config.RoleWorker)
}

func (a *app) ingestCmd() *cobra.Command {
	return a.componentsCmd("ingest", "Consume change events from Kafka and start the runs of matching triggers, with the trigger API and the gate",
		components{ingest: true}, config.RoleIngest)
}

func (a *app) serveCmd() *cobra.Command {
	return a.componentsCmd("serve", "Run the worker and the ingest (with the trigger API and the gate) in one process",
		components{worker: true, ingest: true}, config.RoleServe)
}

// componentsCmd is a long-running command that runs the given components
// from the config file, checked for role. Ingest loads the triggers from
// the store (after applying triggers.path, if set) and keeps them in step
// with it; the worker needs none, since it executes whatever snapshot a
// run carries. A process that matches triggers also serves the trigger API.
func (a *app) componentsCmd(use, short string, c components, role config.Role) *cobra.Command {
	return &cobra.Command{
		Use:   use,
		Short: short,
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := a.loadConfig(role)
			if err != nil {
				return err
			}
			c.apiListen = cfg.API.Listen
			c.api = c.ingest
			c.problems = a.stderr
			return runComponents(cmd.Context(), cfg, newLogger(cfg.Log, a.stderr), c)
		},
	}
}

func (a *app) validateCmd() *cobra.Command {
	var triggersPath, role string
	cmd := &cobra.Command{
		Use:   "validate",
		Short: "Check the configuration and the trigger definitions, reporting every problem",
		Long: `validate loads the configuration (--config and TRIGGERD_* variables) and the
trigger definitions (--triggers, else triggers.path, else ./triggers) and
prints every problem, each with its file, trigger and field path. It exits 1
if there is any. The configuration is checked for the process --role names:
serve (the default) and ingest need Kafka brokers and topics, a worker does
not. Keys written under a former name work, and are printed as warnings.

Environment variables: ` + strings.Join(config.EnvNames(), ", "),
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !slices.Contains(config.ProcessRoles(), config.Role(role)) {
				return fmt.Errorf("--role: want %s, got %q", joinOr(roleNames()), role)
			}
			problems := 0
			cfg, err := config.LoadFor(config.Role(role), a.configPath, a.environ)
			a.printDeprecations(cfg)
			var ce *config.Error
			switch {
			case errors.As(err, &ce):
				a.printConfigProblems(ce)
				problems += len(ce.Problems)
			case err != nil:
				return err
			}
			if triggersPath == "" && cfg != nil {
				triggersPath = cfg.Triggers.Path
			}
			if triggersPath == "" {
				// triggers.path is optional (the store holds the triggers);
				// validate still checks the conventional directory.
				triggersPath = config.DefaultTriggersPath
			}
			var limits trigger.Limits
			if cfg != nil {
				limits = triggerLimits(cfg.Triggers.Limits)
			}
			set, err := trigger.Load(triggersPath, trigger.WithLimits(limits))
			var ve *trigger.ValidationError
			switch {
			case errors.As(err, &ve):
				for _, p := range ve.Problems {
					fmt.Fprintln(a.stderr, p.String())
				}
				problems += len(ve.Problems)
			case err != nil:
				fmt.Fprintf(a.stderr, "%s: %v\n", triggersPath, err)
				problems++
			}
			problems += a.printReferenceProblems(cfg, set) // references.go
			problems += a.printEgress(cfg, set)            // egress.go
			// secrets.go: config values still written "${NAME}".
			problems += a.printConfigSecretProblems(cfg)
			if problems > 0 {
				return reportedError{fmt.Sprintf("%d problem(s)", problems)}
			}
			a.printSummary(set, triggersPath)
			return nil
		},
	}
	triggersFlag(cmd, &triggersPath, "", "default: triggers.path, else ./"+config.DefaultTriggersPath)
	cmd.Flags().StringVar(&role, "role", string(config.RoleServe), "the process the configuration is for ("+joinOr(roleNames())+")")
	return cmd
}

func roleNames() []string {
	var out []string
	for _, r := range config.ProcessRoles() {
		out = append(out, string(r))
	}
	return out
}

func (a *app) printSummary(set *trigger.Set, path string) {
	defs := set.Definitions()
	tables := map[string]bool{}
	enabled := 0
	for _, d := range defs {
		if d.Enabled {
			enabled++
		}
		for _, t := range d.Tables {
			tables[t] = true
		}
	}
	names := make([]string, 0, len(tables))
	for t := range tables {
		names = append(names, t)
	}
	sort.Strings(names)
	fmt.Fprintf(a.stdout, "config OK\n%s: %d trigger(s), %d enabled, on %d table(s): %s\n",
		path, len(defs), enabled, len(names), strings.Join(names, ", "))
	for _, d := range defs {
		state := ""
		if !d.Enabled {
			state = " (disabled)"
		}
		does := fmt.Sprintf("%d action(s)", len(d.Actions))
		if d.IsBefore() {
			does = fmt.Sprintf("gate: %d lookup(s), %d set, %d validate", len(d.Before.Lookups), len(d.Before.Set), len(d.Before.Validate))
		}
		fmt.Fprintf(a.stdout, "  %-32s priority %-4d %s on %s, %s%s\n",
			d.Tag, d.Priority, strings.Join(d.Events, "|"), strings.Join(d.Tables, ","), does, state)
	}
	for _, w := range set.Warnings() {
		fmt.Fprintln(a.stdout, "warning:", w)
	}
}
