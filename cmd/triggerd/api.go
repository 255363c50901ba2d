package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/segmentio/kafka-go"

	"github.com/triggerd/triggerd/api"
	"github.com/triggerd/triggerd/config"
	"github.com/triggerd/triggerd/ingest"
	"github.com/triggerd/triggerd/run"
)

// metrics are the process's Prometheus metrics, on a registry of its own
// (not the global default one).
type metrics struct {
	registry    *prometheus.Registry
	runsStarted *prometheus.CounterVec
	startFailed *prometheus.CounterVec
	// startRejected counts permanent start errors (dead-lettered).
	startRejected *prometheus.CounterVec
	startLatency  prometheus.Histogram
	deadLetters   *prometheus.CounterVec
	committed     *prometheus.GaugeVec
	reloads       prometheus.Counter
	revision      prometheus.Gauge
	loaded        prometheus.Gauge
}

func newMetrics() *metrics {
	m := &metrics{
		registry: prometheus.NewRegistry(),
		runsStarted: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "triggerd_runs_started_total", Help: "Trigger runs started (or found already started) by ingest.",
		}, []string{"trigger"}),
		startFailed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "triggerd_run_start_failures_total", Help: "Failed attempts to start a trigger run (retried).",
		}, []string{"trigger"}),
		startLatency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "triggerd_run_start_seconds", Help: "Time to start a trigger run durably.",
			Buckets: prometheus.ExponentialBuckets(0.001, 4, 8),
		}),
		deadLetters: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "triggerd_dead_letters_total",
			Help: "Messages written to the dead-letter topic, by source topic and reason: malformed (undecodable) or rejected (Temporal refused a run for good).",
		}, []string{"topic", "reason"}),
		startRejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "triggerd_run_start_rejected_total", Help: "Trigger runs Temporal refused for good (payload too large, invalid argument...); their messages go to the dead-letter topic.",
		}, []string{"trigger"}),
		committed: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "triggerd_committed_offset", Help: "Offset of the last done message committed, by partition.",
		}, []string{"topic", "partition"}),
		reloads: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "triggerd_trigger_reloads_total", Help: "Loads of the triggers from the store (start-up, changes, POST /v1/triggers/load).",
		}),
		revision: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "triggerd_trigger_store_revision", Help: "Store revision of the triggers this process runs.",
		}),
		loaded: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "triggerd_triggers_loaded", Help: "Triggers (enabled or not) this process has loaded.",
		}),
	}
	m.registry.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.runsStarted, m.startFailed, m.startRejected, m.startLatency, m.deadLetters, m.committed,
		m.reloads, m.revision, m.loaded,
	)
	return m
}

// reloaded feeds the metrics from the reloader.
func (m *metrics) reloaded(revision int64, triggers int) {
	m.reloads.Inc()
	m.revision.Set(float64(revision))
	m.loaded.Set(float64(triggers))
}

// ingestHooks feeds the metrics from the consumer.
func (m *metrics) ingestHooks() ingest.Hooks {
	return ingest.Hooks{
		Started: func(in run.Input, took time.Duration) {
			m.runsStarted.WithLabelValues(in.Trigger.Tag).Inc()
			m.startLatency.Observe(took.Seconds())
		},
		StartFailed:   func(in run.Input, _ int, _ error) { m.startFailed.WithLabelValues(in.Trigger.Tag).Inc() },
		StartRejected: func(in run.Input, _ error) { m.startRejected.WithLabelValues(in.Trigger.Tag).Inc() },
		DeadLettered: func(msg kafka.Message, reason error) {
			m.deadLetters.WithLabelValues(msg.Topic, ingest.DeadLetterKind(reason)).Inc()
		},
		Committed: func(topic string, partition int, offset int64) {
			m.committed.WithLabelValues(topic, strconv.Itoa(partition)).Set(float64(offset))
		},
	}
}

// apiServer serves /healthz (200 once every component started, 503 before),
// /metrics and, when the process runs one, the trigger API, all but
// /healthz (and /metrics if public) behind the API's authentication.
type apiServer struct {
	srv   *http.Server
	ln    net.Listener
	ready atomic.Bool
	// scheme is http or https (api.tls).
	scheme string
}

// startAPI serves /healthz, /metrics, the trigger API when triggers is
// set and the large-payload codec server under codecServerPath when codec
// is (codecRoutes).
func startAPI(cfg config.API, m *metrics, triggers *api.Server, auth *api.Auth, codec http.Handler, log *slog.Logger) (*apiServer, error) {
	var tlsConfig *tls.Config
	if cfg.TLS.CertFile != "" {
		var err error
		tlsConfig, err = api.TLSConfig(api.TLSOptions{CertFile: cfg.TLS.CertFile, KeyFile: cfg.TLS.KeyFile,
			ClientCAFile: cfg.TLS.ClientCAFile, RequireClientCert: cfg.TLS.RequireClientCert})
		if err != nil {
			return nil, err
		}
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return nil, fmt.Errorf("api.listen: %w", err)
	}
	a := &apiServer{ln: ln, scheme: "http"}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		if !a.ready.Load() {
			http.Error(w, "starting", http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write([]byte("ok\n"))
	})
	public := []string{"/healthz"}
	var metricsHandler http.Handler = promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{})
	if cfg.MetricsPublic {
		public = append(public, "/metrics")
	} else {
		metricsHandler = auth.Require(api.ScopeMetrics, metricsHandler)
	}
	mux.Handle("GET /metrics", metricsHandler)
	if triggers != nil {
		triggers.Register(mux)
	}
	if codec != nil {
		public = append(public, codecRoutes(mux, auth, codec)...)
	}
	limits := api.ServerLimits{ReadTimeout: cfg.ReadTimeout, ReadHeaderTimeout: cfg.ReadHeaderTimeout,
		WriteTimeout: cfg.WriteTimeout, IdleTimeout: cfg.IdleTimeout, MaxHeaderBytes: cfg.MaxHeaderBytes}
	a.srv = api.NewHTTPServer(auth.Middleware(mux, public...), limits, tlsConfig, log)
	serve := func() error { return a.srv.Serve(ln) }
	if tlsConfig != nil {
		a.scheme = "https"
		serve = func() error { return a.srv.ServeTLS(ln, "", "") }
	}
	go func() {
		if err := serve(); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("api server", "error", err)
		}
	}()
	log.Info("api listening", "addr", ln.Addr().String(), "tls", tlsConfig != nil)
	return a, nil
}

func (a *apiServer) stop() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = a.srv.Shutdown(ctx)
}
