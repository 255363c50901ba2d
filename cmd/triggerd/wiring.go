package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"time"

	"go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/worker"

	"github.com/triggerd/triggerd/activities"
	"github.com/triggerd/triggerd/api"
	"github.com/triggerd/triggerd/config"
	"github.com/triggerd/triggerd/ingest"
	"github.com/triggerd/triggerd/run"
	"github.com/triggerd/triggerd/trigger"
	"github.com/triggerd/triggerd/triggerstore"
	"github.com/triggerd/triggerd/triggersync"
	"github.com/triggerd/triggerd/workflows"
)

// This file is the one wiring of triggerd's components. `worker`, `ingest`,
// `serve` and `dev` all go through runComponents, so the embedded dev setup
// exercises exactly what production runs.

// components says what a process runs.
type components struct {
	worker bool
	ingest bool
	// api serves the trigger API next to /healthz and /metrics; it needs
	// apiListen.
	api bool
	// apiListen, if set, is where /healthz and /metrics are served.
	apiListen string
	// store, if set, is used instead of opening cfg.Store (tests).
	store triggerstore.Store
	// problems receives the problems of invalid trigger files, one per
	// line (the terminal); nil discards them, the error still counts them.
	problems io.Writer
	// ready, if set, is called once everything is started, with the
	// address the API listens on ("" without one).
	ready func(apiAddr string)
}

// workerStopTimeout is how long a stopping worker lets running activities
// finish before they are cancelled (Temporal retries them elsewhere).
const workerStopTimeout = 10 * time.Second

// runComponents connects to Temporal and runs the requested components
// until ctx is done or one of them fails.
func runComponents(ctx context.Context, cfg *config.Config, logger *slog.Logger, comp components) error {
	for _, d := range cfg.Deprecations() {
		logger.Warn("the configuration uses a former key name: it still works, rename it", "deprecated", d.String())
	}
	if err := resolveConfigSecrets(cfg); err != nil { // secrets.go
		return err
	}
	m := newMetrics()
	eg, err := newEgress(cfg, m.registry) // egress.go
	if err != nil {
		return err
	}
	for _, w := range configEgressWarnings(cfg, eg) {
		logger.Warn("egress policy refuses a configured endpoint", "warning", w)
	}
	// Every endpoint but /healthz needs a caller the configuration names.
	var auth *api.Auth
	if comp.apiListen != "" {
		exposed := cfg.API
		exposed.Listen = comp.apiListen
		if err := exposed.CheckExposure(); err != nil {
			return fmt.Errorf("api.listen: %w", err)
		}
		var err error
		if auth, err = newAuth(cfg.API, logger.With("component", "api")); err != nil {
			return err
		}
	}
	limits := trigger.WithLimits(triggerLimits(cfg.Triggers.Limits))
	grd, err := newGuards(cfg, m.registry, logger)
	if err != nil {
		return err
	}
	defer grd.close()
	// The triggers first: a broken store or trigger file fails the start
	// before anything connects.
	var reg *trigger.Registry
	var reloader *triggersync.Reloader
	var triggersAPI *api.Server
	var gateRecorder *temporalRecorder
	var dbz *debeziumWiring
	if comp.ingest || comp.api {
		if dbz, err = newDebezium(cfg, m.registry, logger); err != nil {
			return err
		}
		defer dbz.close()
		st := comp.store
		if st == nil {
			var err error
			if st, err = openStore(ctx, cfg.Store, logger); err != nil {
				return err
			}
			defer st.Close()
		}
		if cfg.Triggers.Path != "" {
			problems := comp.problems
			if problems == nil {
				problems = io.Discard
			}
			if err := applyFiles(ctx, st, cfg.Triggers.Path, configChecker(cfg), problems, logger.With("component", "store"), limits); err != nil {
				return err
			}
		}
		reg = trigger.NewRegistry(append([]trigger.Option{limits, localActivities(cfg.Delivery)}, dbz.regOpts...)...)
		reloader = triggersync.NewReloader(st, reg, cfg.Triggers.PollInterval, logger.With("component", "reload"))
		reloader.OnReload = m.reloaded
		reloader.Check = configChecker(cfg)
		reloader.Options = []trigger.Option{limits}
		if _, _, err := reloader.Reload(ctx); err != nil {
			return err
		}
		if comp.ingest {
			dbz.checkReplicaIdentity(ctx, reg.Snapshot(), logger.With("component", "ingest"))
		}
		if comp.api {
			gt, rec, closeGate, err := newGate(cfg, reg, m, eg.process, logger.With("component", "gate"))
			if err != nil {
				return err
			}
			defer closeGate()
			gateRecorder = rec
			triggersAPI = api.New(grd.apiOptions(api.Options{Store: st, Logger: logger.With("component", "api"), Auth: auth,
				Reload: reloader.Reload, Gate: gt, Check: configChecker(cfg), Warn: egressWarner(eg.process), Limits: triggerLimits(cfg.Triggers.Limits),
				MaxBodyBytes: int64(cfg.API.MaxBodyBytes), GateLimits: gateLimits(cfg.Gate), Decode: dbz.decode}))
		}
	}

	opts, err := temporalOptions(cfg.Temporal, logger)
	if err != nil {
		return err
	}
	dc, codec, err := dataConverter(cfg)
	if err != nil {
		return err
	}
	opts.DataConverter = dc
	c, err := dialTemporal(ctx, opts, cfg.Temporal.Address, logger)
	if err != nil {
		return err
	}
	defer c.Close()
	gateRecorder.attach(c)

	var srv *apiServer
	apiAddr := ""
	if comp.apiListen != "" {
		apiCfg := cfg.API
		apiCfg.Listen = comp.apiListen
		if srv, err = startAPI(apiCfg, m, triggersAPI, auth, codecServer(cfg, codec), logger.With("component", "api")); err != nil {
			return err
		}
		defer srv.stop()
		apiAddr = srv.ln.Addr().String()
	}

	g, gctx := newGroup(ctx)
	if reloader != nil {
		g.Go(func() error { return reloader.Run(gctx) })
	}
	g.Go(func() error { return grd.run(gctx) })
	started := make(chan struct{}, 2)
	if comp.worker {
		g.Go(func() error { return runWorker(gctx, c, dc, cfg, eg, logger, started, grd.middlewares()...) })
	}
	if comp.ingest {
		var starterOpts []ingest.StarterOption
		if comp.worker {
			// The worker polls ingest's task queue through the same client.
			starterOpts = append(starterOpts, ingest.WithColocatedWorker())
		}
		g.Go(func() error { return runIngest(gctx, c, cfg, reg, dbz.decode, m, logger, started, starterOpts...) })
	}
	g.Go(func() error {
		n := 0
		for _, on := range []bool{comp.worker, comp.ingest} {
			if on {
				n++
			}
		}
		for range n {
			select {
			case <-started:
			case <-gctx.Done():
				return nil
			}
		}
		if srv != nil {
			srv.ready.Store(true)
		}
		if comp.ready != nil {
			comp.ready(apiAddr)
		}
		return nil
	})
	return g.Wait()
}

// runWorker runs the Temporal worker (the workflow and every action) until
// ctx is done, then stops it gracefully.
func runWorker(ctx context.Context, c client.Client, dc converter.DataConverter, cfg *config.Config, eg egressPolicies, logger *slog.Logger, started chan<- struct{}, mws ...run.Middleware) error {
	log := logger.With("component", "worker")
	if err := registerSearchAttributes(ctx, c, cfg.Temporal.Namespace, log); err != nil {
		return err
	}
	acts, closeActs, err := newActivities(cfg, eg, logger)
	if err != nil {
		return err
	}
	defer closeActs()

	w := worker.New(c, cfg.Temporal.TaskQueue, worker.Options{WorkerStopTimeout: workerStopTimeout})
	workflows.Register(w)
	registerQueues(w, c, dc, cfg)
	// Secrets innermost: the quota and breaker decorators never see a
	// secret's value (targets come from the unresolved request), and their
	// refusals keep the details the workflow reads (redaction drops them).
	acts.Register(w, append(mws, secretsMiddleware(cfg))...)
	if err := w.Start(); err != nil {
		return fmt.Errorf("start worker: %w", err)
	}
	log.Info("worker started", "taskQueue", cfg.Temporal.TaskQueue, "namespace", cfg.Temporal.Namespace)
	started <- struct{}{}
	<-ctx.Done()
	log.Info("worker stopping")
	w.Stop()
	return nil
}

// newActivities builds the actions' clients from the configuration; every
// outbound call goes through eg. Kafka, Redis and RabbitMQ are optional: without
// them the actions that need them fail at once with a non-retryable "not
// configured" error.
func newActivities(cfg *config.Config, eg egressPolicies, logger *slog.Logger) (*activities.Activities, func(), error) {
	appOpts, err := appOptions(cfg, eg) // notification.*, action.execute, agent.run (apps.go)
	if err != nil {
		return nil, nil, err
	}
	kc, err := newKafkaClients(cfg.Kafka)
	if err != nil {
		return nil, nil, err
	}
	rc, err := newRedis(cfg.Redis)
	if err != nil {
		return nil, nil, err
	}
	opts := append([]activities.Option{
		activities.WithLogger(logger.With("component", "actions")),
		activities.WithEgress(eg.process),
	}, appOpts...)
	// A worker needs no Kafka (config.RoleWorker): without brokers,
	// kafka: targets fail as not configured, as rabbitmq: ones do.
	if len(cfg.Kafka.Brokers) > 0 {
		opts = append(opts, activities.WithKafka(cfg.Kafka.Brokers, kc.transport))
	}
	if cfg.RabbitMQ.URL != "" {
		opts = append(opts, activities.WithRabbitMQ(cfg.RabbitMQ.URL))
	}
	if rc != nil {
		opts = append(opts, activities.WithRedis(rc))
	}
	pools, err := newDatabases(cfg.Databases)
	if err != nil {
		if rc != nil {
			_ = rc.Close()
		}
		return nil, nil, err
	}
	if len(pools) > 0 {
		opts = append(opts, activities.WithDatabases(pools.dbs()), activities.WithTableAllowLists(tableAllowLists(cfg.Databases)))
	}
	opts = append(opts, actionResourceOptions(cfg)...)
	acts := activities.New(opts...)
	closeAll := func() {
		if err := acts.Close(); err != nil {
			logger.Warn("close action clients", "error", err)
		}
		if rc != nil {
			_ = rc.Close()
		}
		pools.close()
	}
	return acts, closeAll, nil
}

// registerSearchAttributes makes sure the custom search attributes every
// run carries exist as Keyword attributes. It is idempotent and tolerates
// servers (Temporal Cloud) where they are managed elsewhere.
func registerSearchAttributes(ctx context.Context, c client.Client, namespace string, log *slog.Logger) error {
	want := map[string]enums.IndexedValueType{}
	for _, name := range run.SearchAttributes() {
		want[name] = enums.INDEXED_VALUE_TYPE_KEYWORD
	}
	ops := c.OperatorService()
	if list, err := ops.ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: namespace}); err == nil {
		for name, typ := range list.GetCustomAttributes() {
			if _, ok := want[name]; !ok {
				continue
			}
			if typ != enums.INDEXED_VALUE_TYPE_KEYWORD {
				return fmt.Errorf("search attribute %s exists with type %s, triggerd needs Keyword", name, typ)
			}
			delete(want, name)
		}
	}
	if len(want) == 0 {
		return nil
	}
	_, err := ops.AddSearchAttributes(ctx, &operatorservice.AddSearchAttributesRequest{Namespace: namespace, SearchAttributes: want})
	var exists *serviceerror.AlreadyExists
	var denied *serviceerror.PermissionDenied
	var unimpl *serviceerror.Unimplemented
	switch {
	case err == nil:
		log.Info("registered search attributes", "names", slices.Sorted(maps.Keys(want)))
		return nil
	case errors.As(err, &exists):
		return nil
	case errors.As(err, &denied), errors.As(err, &unimpl):
		// Temporal Cloud registers them through its own API; runs fail to
		// start if they are missing, which ingest reports loudly.
		log.Warn("cannot register search attributes; register them as Keyword by hand", "names", run.SearchAttributes(), "error", err)
		return nil
	}
	return fmt.Errorf("register search attributes: %w", err)
}

// runIngest consumes the configured topics and starts the runs of the
// matching triggers until ctx is done. It matches against reg, which the
// reloader keeps in step with the store: each event is planned against
// the set current when it is read.
func runIngest(ctx context.Context, c client.Client, cfg *config.Config, reg *trigger.Registry, decode ingest.DecodeOptions, m *metrics, logger *slog.Logger, started chan<- struct{}, starterOpts ...ingest.StarterOption) error {
	log := logger.With("component", "ingest")
	kc, err := newKafkaClients(cfg.Kafka)
	if err != nil {
		return err
	}
	planner, err := newPlanner(reg, cfg, m.registry)
	if err != nil {
		return err
	}
	starter := newStarter(c, cfg, starterOpts...)
	consumer, err := ingest.NewConsumer(ingest.Config{
		Brokers:              cfg.Kafka.Brokers,
		Topics:               cfg.Kafka.Topics,
		TopicPattern:         cfg.Kafka.TopicPattern,
		TopicRefresh:         cfg.Kafka.TopicRefreshInterval,
		HeartbeatTopicPrefix: cfg.Kafka.HeartbeatTopicPrefix,
		GroupID:              cfg.Kafka.GroupID,
		DLQTopic:             cfg.Kafka.DLQTopic,
		CreateDLQTopic:       cfg.Kafka.CreateDLQTopic,
		Consumers:            cfg.Kafka.Consumers,
		PartitionConcurrency: cfg.Kafka.PartitionConcurrency,
		CommitInterval:       cfg.Kafka.CommitInterval,
		CommitBatch:          cfg.Kafka.CommitBatch,
		Decode:               decode,
		Dialer:               kc.dialer,
		Transport:            kc.transport,
	}, planner, starter, log, ingest.WithHooks(m.ingestHooks()), ingest.WithBatchCloser(starter))
	if err != nil {
		return err
	}
	topics := any(cfg.Kafka.Topics)
	if cfg.Kafka.TopicPattern != "" {
		topics = "pattern " + cfg.Kafka.TopicPattern
	}
	log.Info("ingest started", "topics", topics, "group", cfg.Kafka.GroupID, "triggers", reg.Snapshot().Len())
	started <- struct{}{}
	return consumer.Run(ctx)
}

// group runs functions until the first fails, which cancels the others
// (errgroup's semantics, without the dependency).
type group struct {
	wg     sync.WaitGroup
	cancel context.CancelFunc
	once   sync.Once
	err    error
}

func newGroup(ctx context.Context) (*group, context.Context) {
	ctx, cancel := context.WithCancel(ctx)
	return &group{cancel: cancel}, ctx
}

func (g *group) Go(f func() error) {
	g.wg.Go(func() {
		if err := f(); err != nil {
			g.once.Do(func() { g.err = err })
			g.cancel()
		}
	})
}

func (g *group) Wait() error {
	g.wg.Wait()
	g.cancel()
	return g.err
}
