package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"
)

// Config configures a run of the suite.
type Config struct {
	Brokers []string
	// Temporal lists the servers the Temporal scenarios run against, each
	// in turn (e.g. the SQLite dev server and the PostgreSQL server).
	Temporal []*Target
	Params   Params
	Quick    bool
	// Only, when set, keeps the scenarios whose name matches one of these
	// patterns, where * stands for any text (e.g. "triggerd/*",
	// "baseline/execute*", "*@50/s").
	Only []string
	// Scenarios overrides the rows (default Scenarios(Params.Rates)).
	Scenarios []Scenario
	Logger    *slog.Logger
	// Progress receives one line per scenario as it finishes (may be nil).
	Progress io.Writer
}

// Report is a run of the suite: where it ran, against what, and the
// results. It is written as JSON so that runs can be compared.
type Report struct {
	Started   time.Time      `json:"started"`
	Seconds   float64        `json:"seconds"`
	Quick     bool           `json:"quick"`
	Machine   Machine        `json:"machine"`
	LoadStart float64        `json:"load_start"`
	LoadEnd   float64        `json:"load_end"`
	Temporal  []TemporalInfo `json:"temporal"`
	Params    ParamsInfo     `json:"params"`
	Results   []Result       `json:"results"`
}

// TemporalInfo describes a Temporal server of the report.
type TemporalInfo struct {
	Name    string `json:"name"`
	Address string `json:"address"`
	// ServerPID is the process whose CPU was read (0: not found, no CPU
	// figures).
	ServerPID int `json:"server_pid"`
	// Durability of the PostgreSQL under it (postgres targets only).
	Durability *Durability `json:"postgres_durability,omitempty"`
}

// ParamsInfo is Params as the JSON shows it.
type ParamsInfo struct {
	DecodeEvents int       `json:"decode_events"`
	Starts       int       `json:"starts"`
	Runs         int       `json:"runs"`
	SteadySec    float64   `json:"steady_s"`
	DrainSec     float64   `json:"drain_s"`
	Rates        []float64 `json:"rates"`
	BudgetSec    float64   `json:"budget_s"`
}

// Run measures every scenario of cfg and returns the report. A scenario
// that fails is reported with its error; Run fails only when it cannot
// start (no Kafka, a Temporal server unreachable).
func Run(ctx context.Context, cfg Config) (*Report, error) {
	if len(cfg.Brokers) == 0 {
		return nil, errors.New("bench: no Kafka brokers")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Params.Timeout == 0 {
		cfg.Params = FullParams
		if cfg.Quick {
			cfg.Params = QuickParams
		}
	}
	rows := cfg.Scenarios
	if rows == nil {
		rows = Scenarios(cfg.Params.Rates)
	}
	rows = filter(rows, cfg.Only)
	rep := &Report{
		Started: time.Now(), Quick: cfg.Quick, Machine: describeMachine(), LoadStart: loadAverage(),
		Params: ParamsInfo{
			DecodeEvents: cfg.Params.DecodeEvents, Starts: cfg.Params.Starts, Runs: cfg.Params.Runs,
			SteadySec: cfg.Params.SteadyFor.Seconds(), DrainSec: cfg.Params.Drain.Seconds(), Rates: cfg.Params.Rates,
			BudgetSec: cfg.Params.Budget.Seconds(),
		},
	}
	for _, t := range cfg.Temporal {
		info, err := t.connect(ctx, cfg.Logger)
		if err != nil {
			return nil, err
		}
		defer t.client.Close()
		rep.Temporal = append(rep.Temporal, info)
	}
	recv, err := newReceiver()
	if err != nil {
		return nil, fmt.Errorf("bench: webhook receiver: %w", err)
	}
	defer recv.close()

	runID := strconv.FormatInt(time.Now().UnixNano()%1e10, 36)
	seq := 0
	measure := func(s Scenario, t *Target) {
		seq++
		if cfg.Params.Budget > 0 && time.Since(rep.Started) > cfg.Params.Budget {
			r := Result{Scenario: s.Name, Description: s.Description, Group: s.Group, Baseline: s.Baseline, Rate: s.Rate,
				Error: fmt.Sprintf("skipped: the run's time budget (%s) was used up", cfg.Params.Budget)}
			if t != nil {
				r.Temporal = t.Name
			}
			rep.Results = append(rep.Results, r)
			return
		}
		e := &Env{Brokers: cfg.Brokers, Temporal: t, Params: cfg.Params, Logger: cfg.Logger,
			receiver: recv, id: fmt.Sprintf("%s-%d", runID, seq)}
		r := s.run(ctx, e)
		rep.Results = append(rep.Results, r)
		if cfg.Progress != nil {
			fmt.Fprintln(cfg.Progress, progressLine(r))
		}
	}
	for _, s := range rows {
		if !s.Temporal && ctx.Err() == nil {
			measure(s, nil)
		}
	}
	for _, t := range cfg.Temporal {
		for _, s := range rows {
			if s.Temporal && ctx.Err() == nil {
				measure(s, t)
			}
		}
	}
	computeRatios(rep.Results, rows)
	rep.Seconds = time.Since(rep.Started).Seconds()
	rep.LoadEnd = loadAverage()
	return rep, ctx.Err()
}

// connect dials the server, finds its process and, for a PostgreSQL
// target, reads whether its database commits durably.
func (t *Target) connect(ctx context.Context, log *slog.Logger) (TemporalInfo, error) {
	if t.Namespace == "" {
		t.Namespace = "default"
	}
	c, err := client.Dial(client.Options{HostPort: t.Address, Namespace: t.Namespace, Logger: sdklog.NewStructuredLogger(log)})
	if err != nil {
		return TemporalInfo{}, fmt.Errorf("bench: temporal %s at %s: %w", t.Name, t.Address, err)
	}
	if _, err := c.CheckHealth(ctx, &client.CheckHealthRequest{}); err != nil {
		c.Close()
		return TemporalInfo{}, fmt.Errorf("bench: temporal %s at %s: %w", t.Name, t.Address, err)
	}
	t.client = c
	info := TemporalInfo{Name: t.Name, Address: t.Address}
	if pid, err := listenerPID(t.Address); err == nil {
		t.pid, info.ServerPID = pid, pid
	} else {
		log.Warn("no CPU figures for this Temporal server", "temporal", t.Name, "error", err)
	}
	if t.PostgresDSN != "" {
		d := pgDurability(ctx, t.PostgresDSN)
		info.Durability = &d
	}
	return info, nil
}

func filter(rows []Scenario, patterns []string) []Scenario {
	if len(patterns) == 0 {
		return rows
	}
	var out []Scenario
	for _, s := range rows {
		for _, p := range patterns {
			if globMatch(p, s.Name) {
				out = append(out, s)
				break
			}
		}
	}
	return out
}

// globMatch reports whether name matches pattern, where * matches any
// text, slashes included.
func globMatch(pattern, name string) bool {
	parts := strings.Split(pattern, "*")
	if !strings.HasPrefix(name, parts[0]) {
		return false
	}
	name = name[len(parts[0]):]
	for i, p := range parts[1:] {
		if i == len(parts)-2 {
			return strings.HasSuffix(name, p)
		}
		k := strings.Index(name, p)
		if k < 0 {
			return false
		}
		name = name[k+len(p):]
	}
	return name == ""
}

// computeRatios fills each compared row's Ratios: its throughput (for a
// latency row, its p50) divided by each baseline's, the baseline taken
// from the same Temporal server, else from the run without Temporal.
func computeRatios(results []Result, rows []Scenario) {
	compare := map[string][]string{}
	for _, s := range rows {
		compare[s.Name] = s.Compare
	}
	for i := range results {
		r := &results[i]
		for _, name := range compare[r.Scenario] {
			b := findResult(results, name, r.Temporal)
			if b == nil || b.Error != "" {
				continue
			}
			var v float64
			if r.Group == GroupLatency {
				if r.Latency != nil && b.Latency != nil {
					v = ratio(r.Latency.P50, b.Latency.P50)
				}
			} else {
				v = ratio(r.PerSecond, b.PerSecond)
			}
			if v != 0 {
				if r.Ratios == nil {
					r.Ratios = map[string]float64{}
				}
				r.Ratios[name] = v
			}
		}
	}
}

// findResult returns the result of scenario on the Temporal server named
// temporal, else the one measured without Temporal, else nil.
func findResult(results []Result, scenario, temporal string) *Result {
	var fallback *Result
	for i := range results {
		r := &results[i]
		if r.Scenario != scenario {
			continue
		}
		if r.Temporal == temporal {
			return r
		}
		if r.Temporal == "" {
			fallback = r
		}
	}
	return fallback
}
