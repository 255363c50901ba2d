// Command triggerd-bench runs the benchmark suite (package bench) against
// the services scripts/services/up.sh starts and prints a Markdown table
// of triggerd's figures next to their raw baselines; it also writes the
// results as JSON and SVG charts. See docs/performance.md.
//
//	make bench          # services up, then this with the defaults
//	go run ./cmd/triggerd-bench -quick
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/pprof"
	"strings"
	"syscall"
	"time"

	"github.com/triggerd/triggerd/bench"
)

func main() {
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "triggerd-bench:", err)
		os.Exit(1)
	}
}

func run(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("triggerd-bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	quick := fs.Bool("quick", false, "a smoke run of about a minute (tiny sizes, one steady rate)")
	out := fs.String("out", "bench-out", "directory for results.json, results.md and the SVG charts")
	only := fs.String("only", "", "comma-separated name patterns of the scenarios to run (e.g. 'triggerd/*,baseline/execute*')")
	brokers := fs.String("brokers", os.Getenv("TRIGGERD_TEST_KAFKA_BROKERS"), "Kafka brokers (comma-separated)")
	temporal := fs.String("temporal", defaultTemporal(),
		"Temporal servers to measure, name=host:port, comma-separated; a server named postgres gets its durability read from -postgres-dsn")
	dsn := fs.String("postgres-dsn", os.Getenv("TRIGGERD_TEST_POSTGRES_DSN"), "the PostgreSQL the postgres Temporal server persists in")
	waitLoad := fs.Float64("wait-load", 0, "before starting, wait until the 1-minute load average is below this (0: do not wait)")
	waitMax := fs.Duration("wait-max", 20*time.Minute, "the longest -wait-load waits before starting anyway")
	verbose := fs.Bool("v", false, "log warnings of triggerd and the SDK to stderr")
	compare := fs.String("compare", "", "a results.json of an earlier run: also print each figure beside the earlier one")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of this process (triggerd's code and the harness) to this file")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *cpuProfile != "" {
		stopProfile, err := startCPUProfile(*cpuProfile)
		if err != nil {
			return err
		}
		defer stopProfile()
	}
	if *brokers == "" {
		return errors.New("no Kafka brokers: run `bash scripts/services/up.sh && . scripts/services/env.sh`, or pass -brokers")
	}
	targets, err := parseTargets(*temporal, *dsn)
	if err != nil {
		return err
	}
	var before *bench.Report
	if *compare != "" {
		if before, err = bench.ReadReport(*compare); err != nil {
			return fmt.Errorf("-compare: %w", err)
		}
	}
	level := slog.LevelError
	if *verbose {
		level = slog.LevelWarn
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if *waitLoad > 0 {
		bench.WaitForLoad(ctx, *waitLoad, *waitMax, stderr)
	}
	cfg := bench.Config{
		Brokers: strings.Split(*brokers, ","), Temporal: targets, Quick: *quick,
		Logger: logger, Progress: stderr,
	}
	if *only != "" {
		cfg.Only = strings.Split(*only, ",")
	}
	rep, err := bench.Run(ctx, cfg)
	if rep == nil {
		return err
	}
	if werr := writeOutputs(rep, *out, stdout); werr != nil {
		return errors.Join(err, werr)
	}
	if before != nil {
		rep.WriteComparison(stdout, before)
	}
	return err
}

// defaultTemporal is the two servers scripts/services/env.sh exports.
func defaultTemporal() string {
	var s []string
	if a := os.Getenv("TRIGGERD_TEST_TEMPORAL_ADDRESS"); a != "" {
		s = append(s, "sqlite="+a)
	}
	if a := os.Getenv("TRIGGERD_TEST_TEMPORAL_PG_ADDRESS"); a != "" {
		s = append(s, "postgres="+a)
	}
	return strings.Join(s, ",")
}

func parseTargets(spec, dsn string) ([]*bench.Target, error) {
	var out []*bench.Target
	for _, part := range strings.Split(spec, ",") {
		if part = strings.TrimSpace(part); part == "" {
			continue
		}
		name, addr, ok := strings.Cut(part, "=")
		if !ok || name == "" || addr == "" {
			return nil, fmt.Errorf("-temporal: %q is not name=host:port", part)
		}
		t := &bench.Target{Name: name, Address: addr}
		if name == "postgres" {
			t.PostgresDSN = dsn
		}
		out = append(out, t)
	}
	return out, nil
}

// startCPUProfile profiles the whole run into path: with -only, the
// profile of one scenario (go tool pprof -top path).
func startCPUProfile(path string) (stop func(), err error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("-cpuprofile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("-cpuprofile: %w", err)
	}
	return func() { pprof.StopCPUProfile(); _ = f.Close() }, nil
}

func writeOutputs(rep *bench.Report, dir string, stdout io.Writer) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	rep.WriteTable(stdout)
	f, err := os.Create(filepath.Join(dir, "results.md"))
	if err != nil {
		return err
	}
	rep.WriteTable(f)
	if err := f.Close(); err != nil {
		return err
	}
	if err := rep.WriteJSON(filepath.Join(dir, "results.json")); err != nil {
		return err
	}
	files, err := rep.WriteCharts(dir)
	if err != nil {
		return fmt.Errorf("charts: %w", err)
	}
	fmt.Fprintf(stdout, "Results: %s, %s and %s\n", filepath.Join(dir, "results.md"), filepath.Join(dir, "results.json"), strings.Join(files, ", "))
	return nil
}
