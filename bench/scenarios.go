package bench

import (
	"fmt"
	"slices"
	"strings"

	"go.temporal.io/sdk/client"

	"github.com/triggerd/triggerd/ingest"
	"github.com/triggerd/triggerd/trigger"
)

// Scenarios returns the rows of the suite for the steady rates in rates,
// in the order they run and are shown. triggerd's rows go through its real
// code paths (ingest.Consumer, trigger.Set, ingest.TemporalStarter, the
// worker with workflows.Register and the actions); the baselines do the
// same work with kafka-go and the Temporal SDK alone.
//
// To measure a new configuration of triggerd, append rows built from a
// Triggerd value, e.g.
//
//	fast := Triggerd{Worker: …, Starter: …}
//	TriggerdRows("triggerd/fast", fast, rates)
func Scenarios(rates []float64) []Scenario {
	rows := []Scenario{
		{Name: "baseline/fetch", Group: GroupDecode, Baseline: true, Run: fetchLoop(false),
			Description: "kafka-go FetchMessage loop"},
		{Name: "baseline/fetch+json", Group: GroupDecode, Baseline: true, Run: fetchLoop(true),
			Description: "FetchMessage + json.Unmarshal into a map"},

		{Name: "baseline/execute", Group: GroupStarts, Baseline: true, Temporal: true, Run: executeLoop(1),
			Description: "ExecuteWorkflow, sequential"},
		{Name: "baseline/execute-8", Group: GroupStarts, Baseline: true, Temporal: true, Run: executeLoop(8),
			Description: "ExecuteWorkflow, 8 goroutines"},
		{Name: "baseline/execute-32", Group: GroupStarts, Baseline: true, Temporal: true, Run: executeLoop(32),
			Description: "ExecuteWorkflow, 32 goroutines"},

		{Name: "baseline/one-activity", Group: GroupRuns, Baseline: true, Temporal: true, Run: rawRuns(rawOneActivity),
			Description: "workflow with one activity posting the webhook"},
		{Name: "baseline/local-eager", Group: GroupRuns, Baseline: true, Temporal: true, Run: rawRuns(rawLocalEager),
			Description: "local activity + eager start"},
		{Name: "baseline/direct", Group: GroupRuns, Baseline: true, Run: directConsumer(0),
			Description: "Kafka consumer posting directly, no durability"},
	}
	for _, r := range rates {
		rows = append(rows,
			Scenario{Name: rateName("baseline/one-activity", r), Group: GroupLatency, Baseline: true, Temporal: true, Rate: r,
				Run: rawLatency(rawOneActivity, r), Description: "one-activity workflow at a steady rate"},
			Scenario{Name: rateName("baseline/local-eager", r), Group: GroupLatency, Baseline: true, Temporal: true, Rate: r,
				Run: rawLatency(rawLocalEager, r), Description: "local activity + eager start at a steady rate"},
			Scenario{Name: rateName("baseline/direct", r), Group: GroupLatency, Baseline: true, Rate: r,
				Run: directConsumer(r), Description: "direct consumer at a steady rate"},
		)
	}
	rows = append(rows, TriggerdRows("triggerd", Triggerd{}, rates)...)
	if len(rates) > 0 {
		rows = append(rows, StartLatencyRow("triggerd", Triggerd{}, rates[len(rates)-1]))
	}
	// The fast path is the default: "triggerd" runs its actions as local
	// activities. Beside it, the regular path (every action a regular
	// activity, as before the fast path) and batched delivery.
	rows = append(rows, TriggerdRunRows("triggerd-regular", RegularPath(), rates)...)
	rows = append(rows, TriggerdRunRows("triggerd-batched", BatchedDelivery(), nil)...)
	for i := range rows {
		switch rows[i].Name {
		case "triggerd/runs", "triggerd-batched/runs":
			rows[i].Compare = append(rows[i].Compare, "triggerd-regular/runs")
		}
	}
	// Ingest as it was before issue 13's work on it: one message of a
	// partition in flight, normal starts. Beside the rows above it shows
	// what the in-partition concurrency and eager start bring.
	serial := Triggerd{
		Consumer: func(c *ingest.Config) { c.PartitionConcurrency = 1 },
		Starter:  func(c client.Client, taskQueue string) ingest.Starter { return ingest.NewTemporalStarter(c, taskQueue) },
	}
	serialRows := TriggerdRows("triggerd/serial", serial, rates)
	serialRows = slices.DeleteFunc(serialRows, func(s Scenario) bool { return s.Group == GroupDecode })
	if len(rates) > 0 {
		serialRows = append(serialRows, StartLatencyRow("triggerd/serial", serial, rates[len(rates)-1]))
	}
	rows = append(rows, serialRows...)
	return rows
}

// RegularPath is triggerd with every action a regular activity: the path
// every run took before the fast path (delivery.localActivities: off).
func RegularPath() Triggerd {
	return Triggerd{TriggerOptions: []trigger.Option{trigger.WithLocalActivities(trigger.LocalActivities{Off: true})}}
}

// BatchedDelivery is triggerd with batched delivery (delivery.batch, max
// 100) and 64 messages in flight per partition, so that ingest's signals
// to a delivery workflow carry many runs each.
func BatchedDelivery() Triggerd {
	return Triggerd{
		Triggers: func(tag, url string) string {
			return strings.Replace(DefaultTriggers(tag, url), "    actions:", "    delivery: {batch: {max: 100}}\n    actions:", 1)
		},
		Consumer:  func(c *ingest.Config) { c.PartitionConcurrency = 64 },
		Batched:   true,
		RunsScale: 10,
	}
}

// TriggerdRunRows returns the rows of one configuration of triggerd that
// change nothing before the start (decode + match and starts are
// TriggerdRows'): completed runs, and latency at each steady rate.
func TriggerdRunRows(prefix string, t Triggerd, rates []float64) []Scenario {
	var rows []Scenario
	for _, s := range TriggerdRows(prefix, t, rates) {
		if s.Group == GroupRuns || s.Group == GroupLatency {
			rows = append(rows, s)
		}
	}
	return rows
}

// StartLatencyRow measures the start side of triggerd/latency at rate:
// event produced → its run's start durable, with no worker. Compared with
// prefix/latency at the same rate, its ratio is ingest's share of the
// latency.
func StartLatencyRow(prefix string, t Triggerd, rate float64) Scenario {
	return Scenario{
		Name: rateName(prefix+"/start-latency", rate), Group: GroupLatency, Temporal: true, Rate: rate,
		Run: triggerdStartLatency(t, rate), Description: "event → start durable at a steady rate, no worker",
		Compare: []string{rateName(prefix+"/latency", rate)},
	}
}

// TriggerdRows returns the rows measuring one configuration of triggerd
// (named prefix/…) against the baselines: decode + match, workflow
// starts, completed runs, and latency at each steady rate.
func TriggerdRows(prefix string, t Triggerd, rates []float64) []Scenario {
	rows := []Scenario{
		{Name: prefix + "/decode+match", Group: GroupDecode, Run: triggerdDecode(t),
			Description: "ingest.Consumer + trigger.Set, starter that only counts",
			Compare:     []string{"baseline/fetch", "baseline/fetch+json"}},
		{Name: prefix + "/starts", Group: GroupStarts, Temporal: true, Run: triggerdStarts(t),
			Description: "ingest with ingest.TemporalStarter, no worker",
			Compare:     []string{"baseline/execute", "baseline/execute-8", "baseline/execute-32"}},
		{Name: prefix + "/runs", Group: GroupRuns, Temporal: true, Run: triggerdRuns(t),
			Description: "ingest + worker, one http action per run",
			Compare:     []string{"baseline/one-activity", "baseline/local-eager", "baseline/direct"}},
	}
	for _, r := range rates {
		rows = append(rows, Scenario{
			Name: rateName(prefix+"/latency", r), Group: GroupLatency, Temporal: true, Rate: r, Run: triggerdLatency(t, r),
			Description: "ingest + worker at a steady rate",
			Compare: []string{rateName("baseline/one-activity", r), rateName("baseline/local-eager", r),
				rateName("baseline/direct", r)},
		})
	}
	return rows
}

func rateName(name string, perSecond float64) string { return fmt.Sprintf("%s@%g/s", name, perSecond) }
