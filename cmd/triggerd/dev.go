package main

import (
	amqp "github.com/rabbitmq/amqp091-go"

	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/spf13/cobra"
	"github.com/temporalio/cli/temporalcli/devserver"
	"github.com/twmb/franz-go/pkg/kfake"
	"go.temporal.io/api/enums/v1"

	"github.com/triggerd/triggerd/config"
	"github.com/triggerd/triggerd/run"
	"github.com/triggerd/triggerd/trigger"
)

// devTopics are the topics dev consumes when the configuration names none
// (kafka.topics, kafka.topicPattern): those of the sample triggers.
var devTopics = []string{"dbserver1.public.users", "dbserver1.public.orders", "triggerd.events"}

// devOptions are the flags of `triggerd dev`.
type devOptions struct {
	dataDir      string
	kafkaBrokers []string // external brokers; none starts the embedded one
	temporalPort int
	uiPort       int // 0 disables the UI
	// temporalOnly runs the Temporal dev server alone (devtemporal.go);
	// temporalHTTPPort and temporalMetricsPort (0: none) are its extra
	// listeners, which the test services use.
	temporalOnly        bool
	temporalHTTPPort    int
	temporalMetricsPort int
	kafkaPort           int
	webhookPort         int
	// apiPort is the trigger API's port; 0 picks a free one.
	apiPort      int
	triggers     string
	redisAddress string
	// redisPort is the embedded Redis's port (0: a free one), started
	// when neither --redis-address nor redis.address names a Redis.
	redisPort   int
	rabbitmqURL string
	// onWebhook, if set, sees every request the built-in receiver gets
	// (tests use it).
	onWebhook func(webhookRequest)
	// ready, if set, is called with the addresses once everything runs.
	ready func(devAddrs)
	// problems receives the problems of invalid trigger files.
	problems io.Writer
}

// devAddrs is where the dev environment's parts listen.
type devAddrs struct {
	Temporal string
	UI       string
	Kafka    string
	// Topics are what ingest consumes: kafka.topics, else the pattern,
	// else devTopics.
	Topics  string
	Webhook string
	// Redis is the Redis of cache.* actions, quotas and breakers, with
	// "(embedded)" when dev started it.
	Redis string
	API   string
	// Token is the API token dev generated (admin scope), also written
	// to <data-dir>/api-token for the CLI.
	Token string
	// TokenFile is where it is.
	TokenFile string
}

func (a *app) devCmd() *cobra.Command {
	o := devOptions{}
	cmd := &cobra.Command{
		Use:   "dev",
		Short: "Run everything in one process: Temporal (with its UI), a Kafka-compatible broker, a webhook receiver, the worker and the ingest",
		Long: `dev starts, in this process, the Temporal dev server with its web UI (state in
<data-dir>/temporal.db), an in-memory Kafka-compatible broker (unless
--kafka-brokers names real ones) with the topics it consumes (kafka.topics of
--config, else the sample topics) and the dead-letter topic, a webhook receiver on
127.0.0.1:8099 that logs every request, and triggerd's worker and ingest
reading the sample triggers, and the trigger API on 127.0.0.1:8080. At
every start dev generates an API token (admin scope), prints it and writes
it to <data-dir>/api-token, where the CLI finds it (or pass it with
--token / TRIGGERD_TOKEN). The triggers live in a SQLite store in the data dir (<data-dir>/triggers.db);
--triggers files are applied to it at start, and changes made through the
API or ` + "`triggerd triggers`" + ` take effect within seconds. Unless --redis-address
(or redis.address in --config) names a Redis, dev embeds an in-memory
Redis-compatible server (on --redis-port, default a free port) for the cache.*
actions, quotas and breakers; its data is gone when dev stops. RabbitMQ
targets work only with --rabbitmq-url (or rabbitmq.url in --config); without
it they fail at once with a "not configured" error.
Of --config, dev uses everything but the Temporal, store and API address
settings and the Kafka connection, which it brings itself.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := a.loadConfig(config.RoleDev)
			if err != nil {
				return err
			}
			logger := newLogger(cfg.Log, a.stderr)
			if o.temporalOnly {
				return runDevTemporal(cmd.Context(), o, logger)
			}
			o.ready = func(d devAddrs) { printDevBanner(a.stdout, d) }
			o.problems = a.stderr
			return runDev(cmd.Context(), cfg, o, logger)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.dataDir, "data-dir", config.DefaultDataDir, "directory of the dev state (Temporal database, cluster id)")
	kafkaBrokersFlag(cmd, &o.kafkaBrokers, "default: an embedded broker")
	f.IntVar(&o.temporalPort, "temporal-port", 7233, "Temporal frontend port")
	f.IntVar(&o.uiPort, "ui-port", 8233, "Temporal web UI port (0 disables the UI)")
	f.BoolVar(&o.temporalOnly, "temporal-only", false, "run only the Temporal dev server (what the test services use)")
	f.IntVar(&o.temporalHTTPPort, "temporal-http-port", 0, "Temporal frontend HTTP API port (0: none)")
	f.IntVar(&o.temporalMetricsPort, "temporal-metrics-port", 0, "Temporal Prometheus metrics port (0: none)")
	f.IntVar(&o.kafkaPort, "kafka-port", 9092, "port of the embedded Kafka-compatible broker")
	f.IntVar(&o.webhookPort, "webhook-port", 8099, "port of the built-in webhook receiver (the sample triggers post to 8099)")
	f.IntVar(&o.apiPort, "api-port", 8080, "port of the trigger API, /healthz and /metrics")
	triggersFlag(cmd, &o.triggers, "examples/triggers", "applied to the store at start")
	f.StringVar(&o.redisAddress, "redis-address", "", "Redis of cache.* actions, quotas and breakers, host:port (default: redis.address, else an embedded one)")
	f.IntVar(&o.redisPort, "redis-port", 0, "port of the embedded Redis-compatible server, when no Redis is named (0: a free port)")
	f.StringVar(&o.rabbitmqURL, "rabbitmq-url", "", "RabbitMQ of rabbitmq: targets, an amqp:// URL (default: rabbitmq.url)")
	// Flags that stand for a config key are named after it.
	deprecatedFlag(cmd, "kafka", "kafka-brokers")
	deprecatedFlag(cmd, "redis", "redis-address")
	deprecatedFlag(cmd, "rabbitmq", "rabbitmq-url")
	return cmd
}

// runDev starts the embedded services, then runs the worker and the ingest
// through the same runComponents as `triggerd serve`, until ctx is done.
func runDev(ctx context.Context, cfg *config.Config, o devOptions, logger *slog.Logger) error {
	if err := os.MkdirAll(o.dataDir, 0o755); err != nil {
		return fmt.Errorf("data dir: %w", err)
	}
	// Triggers first: a broken definition should fail before anything
	// starts, and the embedded broker needs the topics they publish to.
	set, err := trigger.Load(o.triggers, trigger.WithLimits(triggerLimits(cfg.Triggers.Limits)))
	if err != nil {
		return fmt.Errorf("load triggers from %s: %w", o.triggers, err)
	}
	addrs := devAddrs{Temporal: net.JoinHostPort("127.0.0.1", strconv.Itoa(o.temporalPort))}

	// The webhook receiver next: the cheapest part to fail (port taken).
	hook, err := startWebhookReceiver(o.webhookPort, logger.With("component", "webhook-receiver"), o.onWebhook)
	if err != nil {
		return err
	}
	defer hook.stop()
	addrs.Webhook = hook.addr

	// The configuration's topics, else the samples'.
	if len(cfg.Kafka.Topics) == 0 && cfg.Kafka.TopicPattern == "" {
		cfg.Kafka.Topics = devTopics
	}
	addrs.Topics = strings.Join(cfg.Kafka.Topics, ", ")
	if cfg.Kafka.TopicPattern != "" {
		addrs.Topics = "pattern " + cfg.Kafka.TopicPattern
	}
	brokers := o.kafkaBrokers
	if len(brokers) == 0 {
		cluster, err := kfake.NewCluster(
			kfake.Ports(o.kafkaPort),
			kfake.SeedTopics(1, seedTopics(cfg.Kafka, set)...),
			kfake.AllowAutoTopicCreation(),
		)
		if err != nil {
			return fmt.Errorf("start embedded Kafka on port %d: %w", o.kafkaPort, err)
		}
		defer cluster.Close()
		brokers = cluster.ListenAddrs()
	} else if err := createTopics(ctx, brokers, seedTopics(cfg.Kafka, set)); err != nil {
		return err
	}
	addrs.Kafka = strings.Join(brokers, ",")

	srv, err := startTemporalDevServer(o, logger)
	if err != nil {
		return err
	}
	defer srv.Stop()
	if o.uiPort != 0 {
		addrs.UI = fmt.Sprintf("http://127.0.0.1:%d", o.uiPort)
	}

	cfg.DataDir = o.dataDir
	cfg.Kafka.Brokers = brokers
	cfg.Kafka.TLS, cfg.Kafka.SASL = config.TLS{}, config.SASL{}
	cfg.Temporal = config.Temporal{Address: addrs.Temporal, Namespace: "default", TaskQueue: cfg.Temporal.TaskQueue,
		LargePayloads: cfg.Temporal.LargePayloads}
	cfg.Triggers.Path = o.triggers
	if cfg.Triggers.PollInterval <= 0 {
		cfg.Triggers.PollInterval = config.DefaultPollInterval
	}
	// dev keeps its triggers next to its Temporal database, whatever the
	// config's store says.
	cfg.Store = config.Store{Driver: config.StoreSQLite, Path: filepath.Join(o.dataDir, config.DefaultStoreFile)}
	if o.redisAddress != "" {
		cfg.Redis = config.Redis{Address: o.redisAddress}
	}
	addrs.Redis = cfg.Redis.Address
	if cfg.Redis.Address == "" {
		mr, err := startDevRedis(o.redisPort)
		if err != nil {
			return err
		}
		defer mr.Close()
		cfg.Redis = config.Redis{Address: mr.Addr()}
		addrs.Redis = mr.Addr() + " (embedded, in memory)"
	}
	// The API is authenticated in dev too, with a token made for this
	// start: the walkthrough works the way production does.
	if addrs.Token, addrs.TokenFile, err = devToken(o.dataDir); err != nil {
		return err
	}
	sum := sha256.Sum256([]byte(addrs.Token))
	tokens := maps.Clone(cfg.API.Tokens)
	if tokens == nil {
		tokens = map[string]config.APIToken{}
	}
	tokens[devTokenName] = config.APIToken{SHA256: hex.EncodeToString(sum[:]), Scopes: []string{config.ScopeAdmin}}
	cfg.API.Tokens = tokens
	if o.rabbitmqURL != "" {
		cfg.RabbitMQ.URL = o.rabbitmqURL
	}
	// dev's webhooks and services run on this machine: actions may reach
	// loopback (the other refused ranges stay refused, as in production).
	cfg.Egress.Allow = append(slices.Clone(cfg.Egress.Allow), devEgressAllow...)
	if err := cfg.Validate(); err != nil {
		return err
	}
	// Set after validation: port 0 (a free port, for tests) is not a valid
	// api.listen in a config file.
	cfg.API.Listen = net.JoinHostPort("127.0.0.1", strconv.Itoa(o.apiPort))
	if cfg.RabbitMQ.URL != "" {
		if err := declareDevQueues(cfg.RabbitMQ.URL, set); err != nil {
			return err
		}
	}
	if cfg.RabbitMQ.URL == "" {
		logger.Info("rabbitmq: targets need --rabbitmq-url; without it they fail with a not-configured error")
	}
	return runComponents(ctx, cfg, logger, components{
		worker: true, ingest: true, api: true, apiListen: cfg.API.Listen, problems: o.problems,
		ready: func(apiAddr string) {
			addrs.API = apiAddr
			if o.ready != nil {
				o.ready(addrs)
			}
		},
	})
}

// devEgressAllow is what `triggerd dev` adds to egress.allow.
var devEgressAllow = []string{"127.0.0.0/8", "::1"}

// seedTopics lists the topics the embedded broker starts with: the
// consumed ones (the samples' with a topic pattern, which may match
// them), the dead-letter topic and every kafka:<topic> target of the
// triggers' broker.publish actions. kafka-go's writer does not ask the broker
// to create topics, so a target topic must exist before the first publish.
func seedTopics(k config.Kafka, set *trigger.Set) []string {
	consumed := k.Topics
	if len(consumed) == 0 {
		consumed = devTopics
	}
	topics := append(slices.Clone(consumed), k.DLQTopic)
	for _, topic := range staticTargets(set, "kafka:") {
		if !slices.Contains(topics, topic) {
			topics = append(topics, topic)
		}
	}
	return topics
}

// staticTargets lists the broker.publish targets with the given scheme
// prefix that are fixed strings (no template), without the prefix.
func staticTargets(set *trigger.Set, prefix string) []string {
	var out []string
	for _, d := range set.Definitions() {
		for _, a := range d.Actions {
			target, _ := a.Config["target"].(string)
			name, ok := strings.CutPrefix(target, prefix)
			if a.Type == run.TypePublish && ok && name != "" && !strings.Contains(name, "{{") && !slices.Contains(out, name) {
				out = append(out, name)
			}
		}
	}
	return out
}

// declareDevQueues declares a durable queue for every rabbitmq:<queue>
// target of the sample triggers, so that dev works against an empty
// RabbitMQ. Production declares its own topology: the publish action
// declares nothing and refuses unroutable messages.
func declareDevQueues(url string, set *trigger.Set) error {
	var queues []string
	for _, q := range staticTargets(set, "rabbitmq:") {
		if !strings.Contains(q, "/") {
			queues = append(queues, q)
		}
	}
	if len(queues) == 0 {
		return nil
	}
	conn, err := amqp.Dial(url)
	if err != nil {
		return fmt.Errorf("dial rabbitmq for dev queues: %w", err)
	}
	defer conn.Close()
	ch, err := conn.Channel()
	if err != nil {
		return fmt.Errorf("open rabbitmq channel: %w", err)
	}
	defer ch.Close()
	for _, q := range queues {
		if _, err := ch.QueueDeclare(q, true, false, false, false, nil); err != nil {
			return fmt.Errorf("declare queue %s: %w", q, err)
		}
	}
	return nil
}

// createTopics makes sure topics exist on external brokers (one
// partition; existing topics are left alone).
func createTopics(ctx context.Context, brokers []string, topics []string) error {
	req := &kafka.CreateTopicsRequest{}
	for _, t := range topics {
		req.Topics = append(req.Topics, kafka.TopicConfig{Topic: t, NumPartitions: 1, ReplicationFactor: 1})
	}
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	resp, err := (&kafka.Client{Addr: kafka.TCP(brokers...)}).CreateTopics(ctx, req)
	if err != nil {
		return fmt.Errorf("create dev topics on %s: %w", strings.Join(brokers, ","), err)
	}
	for t, err := range resp.Errors {
		if err != nil && !errors.Is(err, kafka.TopicAlreadyExists) {
			return fmt.Errorf("create topic %s: %w", t, err)
		}
	}
	return nil
}

// startTemporalDevServer starts the Temporal dev server (SQLite in the data
// dir) with the search attributes runs carry already registered, the way
// `temporal server start-dev` does.
func startTemporalDevServer(o devOptions, logger *slog.Logger) (*devserver.Server, error) {
	clusterID, err := persistentClusterID(o.dataDir)
	if err != nil {
		return nil, err
	}
	sas := map[string]enums.IndexedValueType{}
	for _, name := range run.SearchAttributes() {
		sas[name] = enums.INDEXED_VALUE_TYPE_KEYWORD
	}
	opts := devserver.StartOptions{
		FrontendIP:             "127.0.0.1",
		FrontendPort:           o.temporalPort,
		Namespaces:             []string{"default"},
		ClusterID:              clusterID,
		MasterClusterName:      "active",
		CurrentClusterName:     "active",
		InitialFailoverVersion: 1,
		Logger:                 logger.With("component", "temporal-server"),
		LogLevel:               slog.LevelWarn,
		DatabaseFile:           filepath.Join(o.dataDir, "temporal.db"),
		FrontendHTTPPort:       o.temporalHTTPPort,
		MetricsPort:            o.temporalMetricsPort,
		SearchAttributes:       sas,
		// The values `temporal server start-dev` sets: search attributes
		// visible at once, and persistence QPS raised to match.
		DynamicConfigValues: map[string]any{
			"system.forceSearchAttributesCacheRefreshOnRead": true,
			"frontend.persistenceMaxQPS":                     10000,
			"history.persistenceMaxQPS":                      45000,
		},
	}
	if o.uiPort != 0 {
		opts.UIIP, opts.UIPort = "127.0.0.1", o.uiPort
		if err := devserver.CheckPortFree(opts.UIIP, opts.UIPort); err != nil {
			return nil, fmt.Errorf("temporal UI port %d: %w", o.uiPort, err)
		}
	}
	if err := devserver.CheckPortFree(opts.FrontendIP, opts.FrontendPort); err != nil {
		return nil, fmt.Errorf("temporal port %d: %w", o.temporalPort, err)
	}
	srv, err := devserver.Start(opts)
	if err != nil {
		return nil, fmt.Errorf("start Temporal dev server: %w", err)
	}
	return srv, nil
}

// persistentClusterID returns the cluster id stored in the data dir,
// creating it on first use: the SQLite database is bound to the id it was
// created with, so it must not change between runs.
func persistentClusterID(dir string) (string, error) {
	p := filepath.Join(dir, "cluster-id")
	if b, err := os.ReadFile(p); err == nil {
		if id := strings.TrimSpace(string(b)); id != "" {
			return id, nil
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return "", fmt.Errorf("read cluster id: %w", err)
	}
	id, err := newUUID()
	if err != nil {
		return "", err
	}
	if err := os.WriteFile(p, []byte(id+"\n"), 0o644); err != nil {
		return "", fmt.Errorf("write cluster id: %w", err)
	}
	return id, nil
}

// devTokenName names the dev token: changes made with it are by "dev".
const devTokenName = "dev"

// devToken generates the API token of this dev start and writes it, for
// the CLI, to <dir>/api-token (readable by the user only).
func devToken(dir string) (token, file string, err error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", "", fmt.Errorf("dev API token: %w", err)
	}
	token = hex.EncodeToString(b)
	file = filepath.Join(dir, devTokenFile)
	if err := os.WriteFile(file, []byte(token+"\n"), 0o600); err != nil {
		return "", "", fmt.Errorf("write the dev API token: %w", err)
	}
	return token, file, nil
}

func printDevBanner(w io.Writer, d devAddrs) {
	fmt.Fprintln(w, "")
	fmt.Fprintln(w, "triggerd dev is running")
	if d.UI != "" {
		fmt.Fprintf(w, "  Temporal UI:      %s\n", d.UI)
	}
	fmt.Fprintf(w, "  Temporal:         %s (namespace default)\n", d.Temporal)
	fmt.Fprintf(w, "  Kafka:            %s (topics %s)\n", d.Kafka, d.Topics)
	fmt.Fprintf(w, "  Webhook receiver: http://%s\n", d.Webhook)
	fmt.Fprintf(w, "  Redis:            %s\n", d.Redis)
	fmt.Fprintf(w, "  Trigger API:      http://%s (OpenAPI at /openapi.yaml)\n", d.API)
	fmt.Fprintf(w, "  API token:        %s\n", d.Token)
	fmt.Fprintf(w, "                    (admin; in %s, which the CLI reads; or set TRIGGERD_TOKEN)\n", d.TokenFile)
	fmt.Fprintln(w, "")
	fmt.Fprintln(w, "List, change and dry-run the triggers (store: SQLite in the data dir):")
	fmt.Fprintf(w, "  go run ./cmd/triggerd triggers list --server http://%s\n", d.API)
	fmt.Fprintf(w, "  go run ./cmd/triggerd triggers test --server http://%s -f examples/events/user-insert.debezium.json\n", d.API)
	fmt.Fprintln(w, "")
	fmt.Fprintln(w, "Ask the gate before writing (before-triggers, docs/gate.md):")
	fmt.Fprintf(w, "  curl -s -H \"Authorization: Bearer $(cat %s)\" http://%s/v1/gate/users/insert -d '{\"records\": [{\"email\": \"Ada@Example.COM\"}]}'\n", d.TokenFile, d.API)
	fmt.Fprintln(w, "")
	fmt.Fprintln(w, "Send the sample event:")
	fmt.Fprintf(w, "  go run ./cmd/triggerd publish --kafka-brokers %s --topic dbserver1.public.users -f examples/events/user-insert.debezium.json\n", strings.Split(d.Kafka, ",")[0])
	fmt.Fprintln(w, "")
}

// newUUID returns a random (version 4) UUID.
func newUUID() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("cluster id: %w", err)
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16]), nil
}
