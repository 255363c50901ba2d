package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"gopkg.in/yaml.v3"

	"github.com/triggerd/triggerd/api"
	"github.com/triggerd/triggerd/trigger"
)

// apiFailure prints an API error's problems one per line, as `validate`
// does, and returns an error main only turns into exit status 1.
func (a *app) apiFailure(err error) error {
	var e *api.Error
	if !errors.As(err, &e) || len(e.Problems) == 0 {
		return err
	}
	fmt.Fprintln(a.stderr, e.Message)
	for _, p := range e.Problems {
		line := p.Reason
		if p.Field != "" {
			line = p.Field + ": " + line
		}
		if p.Tag != "" {
			line = fmt.Sprintf("trigger %q: %s", p.Tag, line)
		}
		fmt.Fprintln(a.stderr, "  "+line)
	}
	return reportedError{fmt.Sprintf("%s: %d problem(s)", e.Code, len(e.Problems))}
}

func (a *app) triggersCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "triggers",
		Short: "Manage the stored triggers through the API, and dry-run events against them",
		Long: `triggers talks to a running triggerd's API (--server, default
` + defaultServer + `, or ` + serverEnv + `) with a token (--token, or ` + tokenEnv + `, or for a
local server the one triggerd dev wrote). Every change makes a new version
of the trigger, recorded with who made it (the token's name) and when;
running processes pick it up within seconds.`,
	}
	server := a.serverFlag(cmd, true)
	cmd.AddCommand(
		a.triggersApplyCmd(server),
		a.triggersListCmd(server),
		a.triggersGetCmd(server),
		a.triggersDeleteCmd(server),
		a.triggersEnableCmd(server, true),
		a.triggersEnableCmd(server, false),
		a.triggersHistoryCmd(server),
		a.triggersTestCmd(server),
	)
	return cmd
}

func (a *app) triggersApplyCmd(server *apiTarget) *cobra.Command {
	var path string
	var prune bool
	cmd := &cobra.Command{
		Use:   "apply -f <file|dir>",
		Short: "Create or update the triggers of files (idempotent), all or nothing",
		Long: `apply reads trigger definitions (a file, or the .yaml/.yml/.json files of a
directory), checks them, and sends them in one request: either every trigger
is stored or none is. Unchanged triggers get no new version, so applying the
same files again changes nothing. With --prune, stored triggers that the
files do not list are deleted: the files are then the whole truth (GitOps).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			// The server checks the names against its configuration, and
			// the definitions against its limits.
			docs, err := fileDocuments(path, a.stderr, nil, serverLimits())
			if err != nil {
				return err
			}
			res, err := a.client(server).Apply(cmd.Context(), docs, prune)
			if err != nil {
				return a.apiFailure(err)
			}
			w := a.stdout
			for _, t := range res.Created {
				fmt.Fprintf(w, "+ created   %s (v%d)\n", t.Tag, t.Version)
			}
			for _, t := range res.Updated {
				fmt.Fprintf(w, "~ updated   %s (v%d → v%d)\n", t.Tag, t.PreviousVersion, t.Version)
			}
			for _, t := range res.Unchanged {
				fmt.Fprintf(w, "= unchanged %s (v%d)\n", t.Tag, t.Version)
			}
			for _, t := range res.Deleted {
				fmt.Fprintf(w, "- deleted   %s (was v%d)\n", t.Tag, t.PreviousVersion)
			}
			fmt.Fprintf(w, "%d created, %d updated, %d unchanged, %d deleted\n",
				len(res.Created), len(res.Updated), len(res.Unchanged), len(res.Deleted))
			return nil
		},
	}
	fileFlag(cmd, &path, "trigger definitions: a file, or a directory of .yaml, .yml and .json files", true)
	cmd.Flags().BoolVar(&prune, "prune", false, "delete stored triggers the files do not list")
	return cmd
}

// summary is what list shows of a document.
type summary struct {
	Enabled  *bool    `json:"enabled"`
	Priority int      `json:"priority"`
	Tables   []string `json:"tables"`
	Events   []string `json:"events"`
}

func summarize(def json.RawMessage) summary {
	var s summary
	_ = json.Unmarshal(def, &s)
	if s.Enabled == nil {
		t := true
		s.Enabled = &t
	}
	return s
}

func (a *app) triggersListCmd(server *apiTarget) *cobra.Command {
	var o api.ListOptions
	var enabled string
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the stored triggers",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if enabled != "" {
				b, err := strconv.ParseBool(enabled)
				if err != nil {
					return fmt.Errorf("--enabled: want true or false, got %q", enabled)
				}
				o.Enabled = &b
			}
			list, err := a.client(server).List(cmd.Context(), o)
			if err != nil {
				return a.apiFailure(err)
			}
			if len(list) == 0 {
				fmt.Fprintln(a.stdout, "no triggers")
				return nil
			}
			tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "TAG\tVERSION\tENABLED\tPRIORITY\tEVENTS\tTABLES\tUPDATED BY\tUPDATED AT")
			for _, t := range list {
				s := summarize(t.Definition)
				fmt.Fprintf(tw, "%s\t%d\t%t\t%d\t%s\t%s\t%s\t%s\n", t.Tag, t.Version, *s.Enabled, s.Priority,
					strings.Join(s.Events, ","), strings.Join(s.Tables, ","), t.UpdatedBy, t.UpdatedAt.Format(time.RFC3339))
			}
			return tw.Flush()
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.Table, "table", "", "the table (list only the triggers on it)")
	f.StringVar(&o.Event, "event", "", "only triggers fired by this event (afterWrite ones included for after* events)")
	f.StringVar(&enabled, "enabled", "", "only enabled (true) or disabled (false) triggers")
	return cmd
}

func (a *app) triggersGetCmd(server *apiTarget) *cobra.Command {
	var version int64
	var output string
	cmd := &cobra.Command{
		Use:   "get <tag>",
		Short: "Print a trigger (its current version, or --version N) as YAML (the file format) or JSON",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(output, "yaml", "json"); err != nil {
				return err
			}
			c := a.client(server)
			var t api.Trigger
			var err error
			if version > 0 {
				t, err = c.GetVersion(cmd.Context(), args[0], version)
			} else {
				t, err = c.Get(cmd.Context(), args[0])
			}
			if err != nil {
				return a.apiFailure(err)
			}
			if output == "json" {
				return printJSON(a.stdout, t)
			}
			return printYAML(a.stdout, t)
		},
	}
	cmd.Flags().Int64Var(&version, "version", 0, "print this version rather than the current one")
	outputFlag(cmd, &output, "yaml", "json") // yaml: the definition, as in a file; json: the API resource
	return cmd
}

func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// printYAML prints the definition as a trigger file would hold it, so it
// can be saved and applied back, under a comment naming the version.
func printYAML(w io.Writer, t api.Trigger) error {
	state := ""
	if t.Deleted {
		state = " (deletion)"
	}
	fmt.Fprintf(w, "# %s version %d%s, by %s at %s\n", t.Tag, t.Version, state, t.UpdatedBy, t.UpdatedAt.Format(time.RFC3339))
	if len(t.Definition) == 0 {
		return nil
	}
	var doc any
	if err := json.Unmarshal(t.Definition, &doc); err != nil {
		return fmt.Errorf("definition: %w", err)
	}
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(doc); err != nil {
		return fmt.Errorf("definition: %w", err)
	}
	_, err := w.Write(buf.Bytes())
	return err
}

func (a *app) triggersDeleteCmd(server *apiTarget) *cobra.Command {
	return &cobra.Command{
		Use:   "delete <tag>",
		Short: "Delete a trigger (its versions stay readable with history)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := a.client(server).Delete(cmd.Context(), args[0]); err != nil {
				return a.apiFailure(err)
			}
			fmt.Fprintf(a.stdout, "- deleted %s\n", args[0])
			return nil
		},
	}
}

func (a *app) triggersEnableCmd(server *apiTarget, enable bool) *cobra.Command {
	use, verb := "disable", "disabled"
	if enable {
		use, verb = "enable", "enabled"
	}
	return &cobra.Command{
		Use:   use + " <tag>",
		Short: strings.ToUpper(use[:1]) + use[1:] + " a trigger (a new version with enabled: " + strconv.FormatBool(enable) + ")",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			t, err := a.client(server).Patch(cmd.Context(), args[0], map[string]any{"enabled": enable}, 0)
			if err != nil {
				return a.apiFailure(err)
			}
			fmt.Fprintf(a.stdout, "%s %s (v%d)\n", verb, t.Tag, t.Version)
			return nil
		},
	}
}

func (a *app) triggersHistoryCmd(server *apiTarget) *cobra.Command {
	return &cobra.Command{
		Use:   "history <tag>",
		Short: "List every version of a trigger: who changed it, when, and how",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			vs, err := a.client(server).History(cmd.Context(), args[0])
			if err != nil {
				return a.apiFailure(err)
			}
			tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "VERSION\tCHANGE\tENABLED\tUPDATED BY\tUPDATED AT")
			var prev *api.Trigger
			for i := range vs {
				t := vs[i]
				change, enabled := "updated", "-"
				switch {
				case t.Deleted:
					change = "deleted"
				case prev == nil || prev.Deleted:
					change = "created"
				}
				if !t.Deleted {
					enabled = strconv.FormatBool(*summarize(t.Definition).Enabled)
				}
				fmt.Fprintf(tw, "v%d\t%s\t%s\t%s\t%s\n", t.Version, change, enabled, t.UpdatedBy, t.UpdatedAt.Format(time.RFC3339))
				prev = &vs[i]
			}
			return tw.Flush()
		},
	}
}

// triggersTestCmd dry-runs an event through the API of server; with a nil
// server the command has --server and --token of its own (the former
// top-level `triggerd test`).
func (a *app) triggersTestCmd(server *apiTarget) *cobra.Command {
	var path, output string
	cmd := &cobra.Command{
		Use:   "test -f <event.json>",
		Short: "Dry-run a change event against the stored triggers: what would match, why not, and the rendered actions",
		Long: `test sends a change event (Debezium or native envelope, as on Kafka) to the
API's dry run and prints, for every trigger on the event's table, whether it
would run and why not, with the trace of its condition, and the actions of
those that match with their templates rendered. Warnings say what looks
doubtful in the event (a value left in Debezium's encoding, a column it does
not carry); notes say what a run would do that a dry run does not (refetch a
row) and which placeholders rendered empty. Nothing is executed.`,
		Args: cobra.NoArgs,
	}
	if server == nil {
		server = a.serverFlag(cmd, false)
	}
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		if err := checkOutput(output, "text", "json"); err != nil {
			return err
		}
		var ev []byte
		var err error
		if path == "-" {
			ev, err = io.ReadAll(cmd.InOrStdin())
		} else {
			ev, err = os.ReadFile(path)
		}
		if err != nil {
			return fmt.Errorf("read event: %w", err)
		}
		raw, err := a.client(server).Test(cmd.Context(), ev)
		if err != nil {
			return a.apiFailure(err)
		}
		if output == "json" {
			var buf bytes.Buffer
			if err := json.Indent(&buf, raw, "", "  "); err != nil {
				return fmt.Errorf("report: %w", err)
			}
			_, err = fmt.Fprintln(a.stdout, strings.TrimSpace(buf.String()))
			return err
		}
		var rep trigger.Report
		if err := json.Unmarshal(raw, &rep); err != nil {
			return fmt.Errorf("report: %w", err)
		}
		printReport(a.stdout, rep)
		return nil
	}
	fileFlag(cmd, &path, "the change event, JSON; - reads stdin", true)
	outputFlag(cmd, &output, "text", "json") // json: the report as the API returns it
	return cmd
}

// printReport prints a dry run for a terminal.
func printReport(w io.Writer, rep trigger.Report) {
	ev := rep.EventName
	if ev == "" {
		ev = "no trigger event"
	}
	fmt.Fprintf(w, "event: %s on %s (%s)\n", ev, rep.Table, rep.Operation)
	for _, warn := range rep.Warnings {
		fmt.Fprintf(w, "warning: %s\n", warn)
	}
	if len(rep.Triggers) == 0 {
		fmt.Fprintln(w, "no trigger on this table")
	}
	for _, t := range rep.Triggers {
		mark, state := "✗", "not matched: "+t.Reason
		if t.Matched {
			mark, state = "✓", "matched"
		}
		fmt.Fprintf(w, "\n%s %s (v%d): %s\n", mark, t.Tag, t.Version, state)
		if t.Condition != nil {
			fmt.Fprintln(w, "  condition:")
			printTrace(w, *t.Condition, "    ")
		}
		if t.When != nil {
			fmt.Fprintln(w, "  when:")
			printTrace(w, *t.When, "    ")
		}
		for _, n := range t.Notes {
			fmt.Fprintf(w, "  note: %s\n", n)
		}
		if len(t.Actions) > 0 {
			fmt.Fprintln(w, "  actions (rendered, not executed):")
		}
		for _, act := range t.Actions {
			cfg, _ := json.Marshal(act.Config)
			fmt.Fprintf(w, "    %s (%s): %s\n", act.Name, act.Type, cfg)
			for _, n := range act.Notes {
				fmt.Fprintf(w, "      note: %s\n", n)
			}
			if act.Error != "" {
				fmt.Fprintf(w, "      error: %s\n", act.Error)
			}
		}
	}
	fmt.Fprintln(w)
	if len(rep.Matched) == 0 {
		fmt.Fprintln(w, "no trigger would run")
		return
	}
	fmt.Fprintf(w, "would run: %s\n", strings.Join(rep.Matched, ", "))
}

func printTrace(w io.Writer, t trigger.Trace, indent string) {
	res := "false"
	switch {
	case t.Result:
		res = "true"
	case t.Unknown:
		res = "unknown"
	}
	line := fmt.Sprintf("%s%s → %s", indent, t.Condition, res)
	if t.Actual != nil {
		b, _ := json.Marshal(t.Actual)
		line += fmt.Sprintf(" (actual %s)", b)
	}
	if t.Reason != "" {
		line += " — " + t.Reason
	}
	fmt.Fprintln(w, line)
	for _, c := range t.Children {
		printTrace(w, c, indent+"  ")
	}
}
