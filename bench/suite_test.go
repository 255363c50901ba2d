package bench_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/triggerd/triggerd/bench"
	"github.com/triggerd/triggerd/internal/testenv"
)

// TestQuickSuite is the smoke test of the suite: the quick mode against
// the real services (both Temporal servers when both are up) runs every
// scenario to the end, and the table, JSON and charts come out. It
// asserts nothing about the figures: performance is read from the
// report, never asserted.
func TestQuickSuite(t *testing.T) {
	if testing.Short() {
		t.Skip("benchmark smoke test skipped in -short mode")
	}
	brokers := testenv.KafkaBrokers(t)
	targets := []*bench.Target{{Name: "sqlite", Address: testenv.TemporalAddress(t)}}
	if pg := os.Getenv(testenv.TemporalPGAddressVar); pg != "" {
		targets = append(targets, &bench.Target{Name: "postgres", Address: pg, PostgresDSN: os.Getenv(testenv.PostgresDSNVar)})
	}
	// No budget for the whole run: on a loaded CI machine it must not
	// skip scenarios; each one is still bounded by its time limit.
	params := bench.QuickParams
	params.Budget = 0
	var progress bytes.Buffer
	rep, err := bench.Run(context.Background(), bench.Config{
		Brokers: strings.Split(brokers, ","), Temporal: targets, Quick: true, Params: params, Progress: &progress,
	})
	t.Log("\n" + progress.String())
	require.NoError(t, err)

	want := len(bench.Scenarios(bench.QuickParams.Rates))
	temporalRows := 0
	for _, s := range bench.Scenarios(bench.QuickParams.Rates) {
		if s.Temporal {
			temporalRows++
		}
	}
	require.Len(t, rep.Results, want+temporalRows*(len(targets)-1), "every scenario once, the Temporal ones per server")
	for _, r := range rep.Results {
		assert.Empty(t, r.Error, "%s on %q", r.Scenario, r.Temporal)
		// A scenario that finished nothing within its time limit (a
		// machine far too loaded) says so; it is not a failure.
		assert.True(t, r.Done > 0 || len(r.Notes) > 0, "%s on %q: nothing finished and no note why", r.Scenario, r.Temporal)
	}
	if len(targets) > 1 {
		require.NotNil(t, rep.Temporal[1].Durability)
		assert.Empty(t, rep.Temporal[1].Durability.Error, "durability of the PostgreSQL under Temporal is read")
	}

	dir := t.TempDir()
	var table bytes.Buffer
	rep.WriteTable(&table)
	assert.Contains(t, table.String(), "| **triggerd/runs** |")
	require.NoError(t, rep.WriteJSON(filepath.Join(dir, "results.json")))
	back, err := bench.ReadReport(filepath.Join(dir, "results.json"))
	require.NoError(t, err)
	assert.Len(t, back.Results, len(rep.Results))
	files, err := rep.WriteCharts(dir)
	require.NoError(t, err)
	require.Len(t, files, 2)
	for _, f := range files {
		st, err := os.Stat(f)
		require.NoError(t, err)
		assert.Less(t, st.Size(), int64(200<<10), "%s: charts are committed to the docs, keep them small", f)
	}
}
