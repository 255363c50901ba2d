package main

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/spf13/cobra"

	"github.com/triggerd/triggerd/config"
)

// version is set at build time: -ldflags "-X main.version=v1.2.3".
var version = "dev"

// app holds what every subcommand shares: output streams, the environment
// (injected so tests need not touch the process's) and the --config flag.
type app struct {
	stdout, stderr io.Writer
	environ        []string
	configPath     string
}

func newRootCmd(stdout, stderr io.Writer, environ []string) *cobra.Command {
	a := &app{stdout: stdout, stderr: stderr, environ: environ}
	root := &cobra.Command{
		Use:   "triggerd",
		Short: "Durable database triggers: Kafka change events in, Temporal workflows out",
		Long: `triggerd reads database change events (Debezium or its native envelope) from
Kafka, matches them against trigger definitions and runs each match as a
Temporal workflow whose actions are retrying activities.

Configuration: --config <file> (YAML) plus TRIGGERD_<PATH> environment
variables, e.g. TRIGGERD_KAFKA_BROKERS=k1:9092,k2:9092.`,
		SilenceUsage:  true,
		SilenceErrors: true,
		// Commands renamed for consistency keep their former spelling;
		// using it prints a note on stderr (deprecated.go).
		PersistentPreRun: a.warnDeprecated,
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.PersistentFlags().StringVarP(&a.configPath, "config", "c", "", "YAML config file (TRIGGERD_* variables override it)")
	root.AddCommand(
		a.validateCmd(),
		a.publishCmd(),
		a.workerCmd(),
		a.ingestCmd(),
		a.serveCmd(),
		a.devCmd(),
		a.triggersCmd(),
		a.quotasCmd(),
		a.breakersCmd(),
		a.gateCmd(),  // gatecmd.go
		a.runsCmd(),  // runs.go
		a.tokenCmd(), // token.go
		&cobra.Command{
			Use:   "version",
			Short: "Print the version",
			Args:  cobra.NoArgs,
			Run:   func(cmd *cobra.Command, _ []string) { fmt.Fprintln(a.stdout, "triggerd", version) },
		},
	)
	// Former spellings (deprecated.go): `run` is `serve` (beside `runs`, it
	// read as one of its verbs), `test` is `triggers test`.
	root.AddCommand(
		deprecatedCommand(a.componentsCmd("run", "Run the worker and the ingest in one process", components{worker: true, ingest: true}, config.RoleServe), "triggerd serve"),
		deprecatedCommand(a.triggersTestCmd(nil), "triggerd triggers test"),
	)
	return root
}

// loadConfig loads and validates the configuration for what the command
// does (role), printing every problem on its own line when there are any.
func (a *app) loadConfig(role config.Role) (*config.Config, error) {
	cfg, err := config.LoadFor(role, a.configPath, a.environ)
	if err == nil {
		return cfg, nil
	}
	var ce *config.Error
	if !errors.As(err, &ce) {
		return nil, err
	}
	a.printConfigProblems(ce)
	return nil, reportedError{fmt.Sprintf("invalid config: %d problem(s)", len(ce.Problems))}
}

func (a *app) printConfigProblems(ce *config.Error) {
	for _, p := range ce.Problems {
		fmt.Fprintf(a.stderr, "%s: %s\n", a.configSource(), p)
	}
}

// printDeprecations prints the former key names cfg uses (they work, but
// should be renamed) and returns how many there are.
func (a *app) printDeprecations(cfg *config.Config) int {
	if cfg == nil {
		return 0
	}
	for _, d := range cfg.Deprecations() {
		fmt.Fprintf(a.stderr, "%s: warning: %s\n", a.configSource(), d)
	}
	return len(cfg.Deprecations())
}

// configSource names the configuration in messages: the file, or "config"
// when only variables make it.
func (a *app) configSource() string {
	if a.configPath == "" {
		return "config"
	}
	return a.configPath
}

// newLogger builds the process logger from log.level and log.format.
func newLogger(cfg config.Log, w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(strings.ToUpper(cfg.Level))) // validated by config
	opts := &slog.HandlerOptions{Level: level}
	if cfg.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}
