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

Configuration: --config FILE (YAML) plus TRIGGERD_<PATH> environment
variables, e.g. TRIGGERD_KAFKA_BROKERS=k1:9092,k2:9092.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.PersistentFlags().StringVarP(&a.configPath, "config", "c", "", "YAML config file (TRIGGERD_* variables override it)")
	root.AddCommand(
		a.validateCmd(),
		a.publishCmd(),
		a.workerCmd(),
		a.ingestCmd(),
		a.runCmd(),
		a.devCmd(),
		a.triggersCmd(),
		a.testCmd(),
		a.quotasCmd(),
		a.breakersCmd(),
		a.gateCmd(), // gatecmd.go
		a.runsCmd(),
		a.tokenCmd(), // token.go
		&cobra.Command{
			Use:   "version",
			Short: "Print the version",
			Args:  cobra.NoArgs,
			Run:   func(cmd *cobra.Command, _ []string) { fmt.Fprintln(a.stdout, "triggerd", version) },
		},
	)
	return root
}

// loadConfig loads and validates the configuration, printing every problem
// on its own line when there are any.
func (a *app) loadConfig() (*config.Config, error) {
	cfg, err := config.Load(a.configPath, a.environ)
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
	src := a.configPath
	if src == "" {
		src = "config"
	}
	for _, p := range ce.Problems {
		fmt.Fprintf(a.stderr, "%s: %s\n", src, p)
	}
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
