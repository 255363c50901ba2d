package bench

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
)

// WriteJSON writes the report to file, indented.
func (r *Report) WriteJSON(file string) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(file, append(b, '\n'), 0o644)
}

// ReadReport reads a report written by WriteJSON.
func ReadReport(file string) (*Report, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	var r Report
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	return &r, nil
}

// WriteTable prints the report as Markdown: a header saying where and
// against what it ran, one table per group, then the ratios.
func (r *Report) WriteTable(w io.Writer) {
	p := func(format string, a ...any) { fmt.Fprintf(w, format, a...) }
	m := r.Machine
	p("# triggerd benchmark, %s (%s)\n\n", r.Started.Format("2006-01-02 15:04 MST"), map[bool]string{true: "quick", false: "full"}[r.Quick])
	p("- machine: %d cores, %s, %d GiB, Linux %s, %s\n", m.Cores, m.CPU, m.MemoryGiB, m.Kernel, m.GoVersion)
	p("- load average (1 min): %.2f at the start, %.2f at the end; per row in the tables\n", r.LoadStart, r.LoadEnd)
	for _, t := range r.Temporal {
		p("- Temporal %q at %s", t.Name, t.Address)
		if t.ServerPID == 0 {
			p(" (server process not found: no server CPU)")
		}
		if t.Durability != nil {
			p("; PostgreSQL %s", t.Durability)
		}
		p("\n")
	}
	p("- sizes: %d events per decode row, %d starts, %d runs; steady rates %v events/s for %gs (+%gs to drain)\n\n",
		r.Params.DecodeEvents, r.Params.Starts, r.Params.Runs, r.Params.Rates, r.Params.SteadySec, r.Params.DrainSec)

	for _, g := range Groups {
		rows := r.group(g)
		if len(rows) == 0 {
			continue
		}
		p("## %s\n\n", g.title())
		if g == GroupLatency {
			p("| scenario | temporal | events | delivered | p50 ms | p95 ms | p99 ms | backlog | server CPU ms/run | db CPU ms/run | own CPU ms/run | history events | load | vs baselines (p50 ÷) |\n")
			p("|---|---|--:|--:|--:|--:|--:|---|--:|--:|--:|--:|--:|---|\n")
		} else {
			p("| scenario | temporal | events | done | per s | server CPU ms/unit | db CPU ms/unit | own CPU ms/unit | history events | load | vs baselines (÷) |\n")
			p("|---|---|--:|--:|--:|--:|--:|--:|--:|--:|---|\n")
		}
		for _, x := range rows {
			name := x.Scenario
			if !x.Baseline {
				name = "**" + name + "**"
			}
			temporal := x.Temporal
			if temporal == "" {
				temporal = "–"
			}
			if g == GroupLatency {
				var p50, p95, p99 string
				if x.Latency != nil {
					p50, p95, p99 = num(x.Latency.P50), num(x.Latency.P95), num(x.Latency.P99)
				}
				p("| %s | %s | %d | %d | %s | %s | %s | %s | %s | %s | %s | %s | %.2f | %s |\n",
					name, temporal, x.Events, x.Done, p50, p95, p99, yesNo(x.Backlog),
					opt(x.ServerCPUms), opt(x.DBCPUms), num(x.ClientCPUms), opt(x.HistoryEvents), x.LoadAfter, ratios(x))
			} else {
				p("| %s | %s | %d | %d | %s | %s | %s | %s | %s | %.2f | %s |\n",
					name, temporal, x.Events, x.Done, num(x.PerSecond),
					opt(x.ServerCPUms), opt(x.DBCPUms), num(x.ClientCPUms), opt(x.HistoryEvents), x.LoadAfter, ratios(x))
			}
		}
		p("\n")
		for _, x := range rows {
			for _, n := range x.Notes {
				p("- %s (%s): %s\n", x.Scenario, x.Temporal, n)
			}
			if x.Error != "" {
				p("- %s (%s): ERROR %s\n", x.Scenario, x.Temporal, x.Error)
			}
		}
		p("\n")
	}
}

// group returns the results of g: the ones without Temporal first, then
// per Temporal server in the report's order, baselines before triggerd.
func (r *Report) group(g Group) []Result {
	order := map[string]int{"": 0}
	for i, t := range r.Temporal {
		order[t.Name] = i + 1
	}
	var out []Result
	for _, x := range r.Results {
		if x.Group == g {
			out = append(out, x)
		}
	}
	slices.SortStableFunc(out, func(a, b Result) int {
		if a.Rate != b.Rate {
			return cmpFloat(a.Rate, b.Rate)
		}
		return order[a.Temporal] - order[b.Temporal]
	})
	return out
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func ratios(x Result) string {
	names := make([]string, 0, len(x.Ratios))
	for n := range x.Ratios {
		names = append(names, n)
	}
	slices.Sort(names)
	parts := make([]string, 0, len(names))
	for _, n := range names {
		parts = append(parts, fmt.Sprintf("%s %.3g×", strings.TrimPrefix(n, "baseline/"), x.Ratios[n]))
	}
	return strings.Join(parts, ", ")
}

// num formats a figure with about three significant digits.
func num(v float64) string {
	switch {
	case v >= 100:
		return fmt.Sprintf("%.0f", v)
	case v >= 10:
		return fmt.Sprintf("%.1f", v)
	default:
		return fmt.Sprintf("%.2f", v)
	}
}

// opt is num, or "–" for a figure that was not measured.
func opt(v float64) string {
	if v == 0 {
		return "–"
	}
	return num(v)
}

func yesNo(b bool) string {
	if b {
		return "**growing**"
	}
	return "no"
}

// progressLine is a one-line summary of r for progress output.
func progressLine(r Result) string {
	where := r.Temporal
	if where == "" {
		where = "-"
	}
	s := fmt.Sprintf("%-34s %-8s %5d/%-5d %8.1f/s  %5.1fs  load %.2f", r.Scenario, where, r.Done, r.Events, r.PerSecond, r.Seconds, r.LoadAfter)
	if r.Latency != nil && r.Group == GroupLatency {
		s += fmt.Sprintf("  p50 %s p99 %s ms", num(r.Latency.P50), num(r.Latency.P99))
	}
	if r.Error != "" {
		s += "  ERROR " + r.Error
	}
	return s
}

// WriteComparison prints, for every row measured in both r and old, the
// figure of each (throughput, or p50 for a latency row) and new ÷ old.
func (r *Report) WriteComparison(w io.Writer, old *Report) {
	fmt.Fprintf(w, "## Compared with the run of %s\n\n", old.Started.Format("2006-01-02 15:04 MST"))
	fmt.Fprintf(w, "| scenario | temporal | before | now | now ÷ before |\n|---|---|--:|--:|--:|\n")
	figure := func(x *Result) float64 {
		if x.Group == GroupLatency {
			if x.Latency == nil {
				return 0
			}
			return x.Latency.P50
		}
		return x.PerSecond
	}
	for _, x := range r.Results {
		o := findResult(old.Results, x.Scenario, x.Temporal)
		if o == nil || o.Temporal != x.Temporal {
			continue
		}
		a, b := figure(o), figure(&x)
		unit := "/s"
		if x.Group == GroupLatency {
			unit = " ms p50"
		}
		fmt.Fprintf(w, "| %s | %s | %s%s | %s%s | %s |\n", x.Scenario, x.Temporal, num(a), unit, num(b), unit, opt(ratio(b, a)))
	}
	fmt.Fprintln(w)
}
