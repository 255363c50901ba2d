package bench

import (
	"context"
	"fmt"
	"time"

	"go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
)

// Group is a family of scenarios measured in the same unit and compared
// with one another.
type Group string

const (
	// GroupDecode: events decoded (and matched) per second, no Temporal.
	GroupDecode Group = "decode"
	// GroupStarts: workflow runs started per second (no worker).
	GroupStarts Group = "starts"
	// GroupRuns: one-action runs completed per second, from a backlog.
	GroupRuns Group = "runs"
	// GroupLatency: event produced → webhook received at a steady rate.
	GroupLatency Group = "latency"
)

// Groups in the order the report shows them.
var Groups = []Group{GroupDecode, GroupStarts, GroupRuns, GroupLatency}

func (g Group) title() string {
	switch g {
	case GroupDecode:
		return "decode + match, no Temporal (events/s)"
	case GroupStarts:
		return "workflow starts (runs/s)"
	case GroupRuns:
		return "completed one-action runs (runs/s)"
	case GroupLatency:
		return "event → webhook latency at a steady rate"
	}
	return string(g)
}

// Scenario is one row of the report. A new configuration of triggerd (the
// fast path, batched delivery) is a new Scenario in Scenarios, usually
// built by one of the triggerd* constructors with another Triggerd setup.
type Scenario struct {
	// Name is unique; baselines start with "baseline/", triggerd's rows
	// with "triggerd/".
	Name string
	// Description says in a few words what is measured.
	Description string
	Group       Group
	// Baseline marks a raw measurement without triggerd.
	Baseline bool
	// Temporal scenarios are measured once per Temporal server; the others
	// once per run of the suite.
	Temporal bool
	// Rate is the events/s of a steady-rate scenario (GroupLatency).
	Rate float64
	// Compare names the baselines a triggerd row is divided by; for a
	// latency row, the p50s are compared. The baseline of the same
	// Temporal server is used, else the one measured without Temporal.
	Compare []string
	// Run does the work and records it in m. It must stop by itself
	// within ctx (the suite bounds it by Params.Timeout).
	Run func(ctx context.Context, e *Env, m *Measure) error
}

// Result is the measurement of one scenario on one Temporal server.
type Result struct {
	Scenario    string  `json:"scenario"`
	Description string  `json:"description"`
	Group       Group   `json:"group"`
	Baseline    bool    `json:"baseline"`
	Temporal    string  `json:"temporal,omitempty"` // target name; empty: none used
	Rate        float64 `json:"rate,omitempty"`

	Events    int     `json:"events"`     // units expected
	Done      int     `json:"done"`       // units finished
	PerSecond float64 `json:"per_second"` // units/s, first to last
	Seconds   float64 `json:"seconds"`    // wall time of the scenario

	Latency *Percentiles `json:"latency,omitempty"`
	Series  []Bucket     `json:"series,omitempty"`
	Backlog bool         `json:"growing_backlog,omitempty"`

	// CPU per finished unit, in milliseconds: the Temporal server process,
	// the PostgreSQL processes (postgres targets only; every database of
	// the server counts) and this process (triggerd's code or the raw
	// harness, plus the suite's receiver and producer).
	ServerCPUms float64 `json:"server_cpu_ms_per_unit,omitempty"`
	DBCPUms     float64 `json:"db_cpu_ms_per_unit,omitempty"`
	ClientCPUms float64 `json:"client_cpu_ms_per_unit"`
	// HistoryEvents is the mean history length of sampled runs.
	HistoryEvents float64 `json:"history_events_per_run,omitempty"`

	LoadBefore float64 `json:"load_before"`
	LoadAfter  float64 `json:"load_after"`

	// Ratios holds this row's figure divided by each baseline's.
	Ratios map[string]float64 `json:"ratios,omitempty"`
	Notes  []string           `json:"notes,omitempty"`
	Error  string             `json:"error,omitempty"`
}

// run measures s once (on e.Temporal, if s needs one).
func (s Scenario) run(ctx context.Context, e *Env) Result {
	m := newMeasure(0) // the scenario says how many units it expects
	res := Result{Scenario: s.Name, Description: s.Description, Group: s.Group, Baseline: s.Baseline, Rate: s.Rate}
	var srv cpuProbe
	if s.Temporal {
		res.Temporal = e.Temporal.Name
		srv = e.Temporal.cpuProbe()
	}
	ctx, cancel := context.WithTimeout(ctx, e.Params.Timeout)
	defer cancel()

	res.LoadBefore = loadAverage()
	begin := time.Now()
	self0, srv0 := selfCPU(), srv.sample()
	err := s.Run(ctx, e, m)
	// Work after the measurement gets a context of its own: ctx may have
	// run out.
	post, cancelPost := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Minute)
	defer cancelPost()
	self1, srv1 := selfCPU(), srv.sample()
	res.Seconds = time.Since(begin).Seconds()
	res.LoadAfter = loadAverage()

	done, missing := m.finished()
	res.Events, res.Done, res.PerSecond = m.want, len(done), m.throughput()
	if n := float64(len(done)); n > 0 {
		res.ClientCPUms = ms(self1-self0) / n
		if srv.pid != 0 {
			res.ServerCPUms = ms(srv1.server-srv0.server) / n
		}
		if srv.db {
			res.DBCPUms = ms(srv1.db-srv0.db) / n
		}
	}
	if len(m.samples) > 0 {
		p := summarise(sampleLatencies(m.samples))
		res.Latency = &p
	}
	if s.Group == GroupLatency {
		res.Series = series(m.samples, time.Second)
		res.Backlog = growingBacklog(m.samples, len(missing))
	}
	if completes := s.Temporal && m.workflowID != nil && !m.leftOpen; completes && len(done) > 0 {
		res.HistoryEvents = historyLength(post, e.Temporal.client, m.workflowID, sampleOf(done, e.Params.HistorySamples))
	}
	if s.Temporal && len(m.carriers) > 0 {
		if len(done) > 0 {
			res.HistoryEvents = float64(carriedHistory(post, e.Temporal.client, m.carriers)) / float64(len(done))
		}
		for _, id := range m.carriers {
			_ = e.Temporal.client.TerminateWorkflow(post, id, "", "benchmark scenario over")
		}
	}
	switch {
	case s.Temporal && m.workflowID != nil && m.leftOpen:
		terminate(post, e.Temporal.client, m.workflowID, append(done, missing...))
	case s.Temporal && m.workflowID != nil && len(missing) > 0:
		terminate(post, e.Temporal.client, m.workflowID, missing)
	}
	if len(missing) > 0 {
		m.note(fmt.Sprintf("%d of %d not finished within the time allowed", len(missing), m.want))
	}
	res.Notes = m.notes
	switch {
	case err != nil && ctx.Err() != nil:
		// The scenario ran out of time (Params.Timeout): what finished is
		// reported, the rest is in the notes, and it is not a failure of
		// the suite.
		res.Notes = append(res.Notes, fmt.Sprintf("stopped at the scenario's time limit (%s): %v", e.Params.Timeout, err))
	case err != nil:
		res.Error = err.Error()
	}
	return res
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func sampleLatencies(s []Sample) []time.Duration {
	out := make([]time.Duration, len(s))
	for i, x := range s {
		out[i] = x.Latency
	}
	return out
}

// sampleOf picks up to n units spread over done, the last one included.
func sampleOf(done []int, n int) []int {
	if n <= 0 || len(done) == 0 {
		return nil
	}
	if n >= len(done) {
		return done
	}
	out := make([]int, 0, n)
	for k := 1; k <= n; k++ {
		out = append(out, done[k*len(done)/n-1])
	}
	return out
}

// cpuProbe reads the CPU time of a Temporal server and of its database.
type cpuProbe struct {
	pid int
	db  bool
}

type cpuSample struct{ server, db time.Duration }

func (t *Target) cpuProbe() cpuProbe { return cpuProbe{pid: t.pid, db: t.PostgresDSN != ""} }

func (p cpuProbe) sample() cpuSample {
	var s cpuSample
	if p.pid != 0 {
		s.server, _ = processCPU(p.pid)
	}
	if p.db {
		s.db = commandCPU("postgres")
	}
	return s
}

// waitClosed waits, up to limit, for the last runs whose webhooks
// arrived to close: after the webhook the worker still completes the
// activity and the workflow. Scenarios call it before they stop their
// worker, so that the server's CPU read next includes that work.
func (e *Env) waitClosed(ctx context.Context, m *Measure) {
	if m.workflowID == nil {
		// Batched delivery: the runs have no workflows of their own, and
		// their delivery workflows stay open (Linger) after the last.
		return
	}
	done, _ := m.finished()
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	for _, i := range done[max(0, len(done)-3):] {
		_ = e.Temporal.client.GetWorkflow(ctx, m.workflowID(i), "").Get(ctx, nil)
	}
}

// historyLength returns the mean number of history events of the runs of
// units, read after they closed.
func historyLength(ctx context.Context, c client.Client, id func(int) string, units []int) float64 {
	total, n := 0, 0
	for _, i := range units {
		it := c.GetWorkflowHistory(ctx, id(i), "", false, enums.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
		count := 0
		for it.HasNext() {
			if _, err := it.Next(); err != nil {
				count = -1
				break
			}
			count++
		}
		if count > 0 {
			total += count
			n++
		}
	}
	if n == 0 {
		return 0
	}
	return float64(total) / float64(n)
}

// carriedHistory counts the history events of the workflows ids, every
// run of each (a delivery workflow that continued as new has several).
func carriedHistory(ctx context.Context, c client.Client, ids []string) int {
	total := 0
	for _, id := range ids {
		for runID := ""; ; {
			it := c.GetWorkflowHistory(ctx, id, runID, false, enums.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
			prev := ""
			for it.HasNext() {
				ev, err := it.Next()
				if err != nil {
					break
				}
				if a := ev.GetWorkflowExecutionStartedEventAttributes(); a != nil {
					prev = a.GetContinuedExecutionRunId()
				}
				total++
			}
			if prev == "" {
				break
			}
			runID = prev
		}
	}
	return total
}

// terminate ends the runs of units that are still open (a start-only
// scenario's, or a scenario's that ran out of time), so that they do not
// load the server during the next scenarios. Already closed or unknown
// runs are ignored.
func terminate(ctx context.Context, c client.Client, id func(int) string, units []int) {
	_ = parallel(ctx, len(units), 8, func(ctx context.Context, k int) error {
		// An error means the run is closed already or unknown: either
		// way there is nothing left to end.
		_ = c.TerminateWorkflow(ctx, id(units[k]), "", "benchmark cleanup")
		return nil
	})
}
