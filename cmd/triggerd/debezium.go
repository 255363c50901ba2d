package main

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/triggerd/triggerd/config"
	"github.com/triggerd/triggerd/ingest"
	"github.com/triggerd/triggerd/ingest/connect"
	"github.com/triggerd/triggerd/ingest/sourcedb"
	"github.com/triggerd/triggerd/trigger"
)

// debeziumWiring is what the debezium configuration builds: how ingest and
// dry runs decode events, what planning reports and refetches, and the
// connection to the captured database for the start-up check.
type debeziumWiring struct {
	decode  ingest.DecodeOptions
	regOpts []trigger.Option
	source  sourcedb.Querier // debezium.database; nil when not configured
	close   func()
}

// newDebezium wires cfg.Debezium. Its metrics (unknown evaluations,
// undecoded values, refetch latency) are registered on reg.
func newDebezium(cfg *config.Config, reg prometheus.Registerer, log *slog.Logger) (*debeziumWiring, error) {
	d := cfg.Debezium
	unknown := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "triggerd_unknown_evaluations_total",
		Help: "Conditions evaluated on a value the change event does not carry (an unchanged TOAST column, a missing before image): unknown, so the trigger did not run.",
	}, []string{"trigger", "field"})
	undecoded := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "triggerd_undecoded_values_total",
		Help: "Values that look like an undecoded Debezium encoding (reason undecodable), were read against the configured connector settings (settings mismatch), or events without a schema or column types (no column types, column empty).",
	}, []string{"table", "column", "reason"})
	refetch := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "triggerd_refetch_seconds", Help: "Reads of a row by a trigger's refetch, by database and result (ok, error).",
		Buckets: prometheus.ExponentialBuckets(0.0005, 4, 8),
	}, []string{"database", "result"})
	if reg != nil {
		for _, c := range []prometheus.Collector{unknown, undecoded, refetch} {
			if err := reg.Register(c); err != nil {
				return nil, err
			}
		}
	}
	money := d.Connector.MoneyFractionDigits
	w := &debeziumWiring{
		decode: ingest.DecodeOptions{
			SnapshotReads:     cfg.Kafka.SnapshotReads,
			Placeholder:       d.UnavailableValuePlaceholder,
			DecimalsAsNumbers: d.Decimals == config.DecimalsNumber,
			Connector: connect.ConnectorSettings{
				DecimalHandlingMode: d.Connector.DecimalHandlingMode, TimePrecisionMode: d.Connector.TimePrecisionMode,
				IntervalHandlingMode: d.Connector.IntervalHandlingMode, HstoreHandlingMode: d.Connector.HstoreHandlingMode,
				MoneyFractionDigits: &money,
			},
			Undecoded: func(table, column, reason string) { undecoded.WithLabelValues(table, column, reason).Inc() },
		},
		close: func() {},
	}
	var columnTypes *sourcedb.Catalog
	if len(cfg.Databases) > 0 {
		pools, err := newDatabases(cfg.Databases)
		if err != nil {
			return nil, err
		}
		w.close = pools.close
		dbs := make(map[string]sourcedb.Querier, len(pools))
		for name, p := range pools {
			dbs[name] = p
		}
		fetcher := sourcedb.NewFetcher(dbs, w.decode.DecimalsAsNumbers)
		fetcher.Observe = func(db string, took time.Duration, err error) {
			result := "ok"
			if err != nil {
				result = "error"
			}
			refetch.WithLabelValues(db, result).Observe(took.Seconds())
		}
		w.regOpts = append(w.regOpts, trigger.WithRowFetcher(fetcher, d.RefetchTimeout))
		if d.Database != "" {
			w.source = dbs[d.Database]
			columnTypes = sourcedb.NewCatalog(w.source, log.With("component", "catalog"))
			w.decode.ReplicaIdentities = columnTypes
		}
	}
	switch {
	case columnTypes != nil:
		w.decode.ColumnTypes = ingest.ColumnTypeHints(d.ColumnTypes).Over(columnTypes)
	case len(d.ColumnTypes) > 0:
		w.decode.ColumnTypes = ingest.ColumnTypeHints(d.ColumnTypes)
	}
	w.regOpts = append(w.regOpts, trigger.WithUnknownObserver(trigger.NewUnknownLog(log.With("component", "ingest"),
		func(tag, field string) { unknown.WithLabelValues(tag, field).Inc() })))
	return w, nil
}

// checkReplicaIdentity warns, once at start-up, about every table whose
// triggers read its previous row while its replica identity is not FULL
// (when debezium.database is configured). A failed check is a warning too:
// it never stops the process.
func (w *debeziumWiring) checkReplicaIdentity(ctx context.Context, set *trigger.Set, log *slog.Logger) {
	if w.source == nil {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	warnings, err := sourcedb.CheckReplicaIdentity(ctx, w.source, set.PreviousRecordReaders())
	if err != nil {
		log.Warn("cannot check the replica identity of the captured tables", "error", err)
		return
	}
	for _, warn := range warnings {
		log.Warn(warn)
	}
}

// refetchProblems reports triggers whose refetch names a database cfg does
// not define.
func refetchProblems(cfg *config.Config, defs []trigger.Definition) []trigger.Problem {
	var out []trigger.Problem
	for _, d := range defs {
		if d.Refetch == nil || d.Refetch.Database == "" {
			continue
		}
		if _, ok := cfg.Databases[d.Refetch.Database]; !ok {
			out = append(out, trigger.Problem{File: d.File, Tag: d.Tag, Field: "refetch.database",
				Reason: fmt.Sprintf("%q is not configured (databases in the config: %s)", d.Refetch.Database, databaseNames(cfg))})
		}
	}
	return out
}
