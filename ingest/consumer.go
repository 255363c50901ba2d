package ingest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"sync"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/triggerd/triggerd/run"
)

// Planner turns an event into the runs to start, in the order they must be
// started (implemented by *trigger.Set).
type Planner interface {
	Plan(ev run.Event) []run.Input
}

// Starter durably starts one run. It returns nil when the run already
// exists or already ran (a duplicate), and an error only when the start is
// not known to be durable. An error marked with Rejected is permanent:
// starting the same run again cannot succeed, and the message goes to the
// dead-letter topic; any other error is retried.
type Starter interface {
	Start(ctx context.Context, in run.Input) error
}

// Defaults applied by NewConsumer to zero Config fields.
const (
	DefaultConsumers       = 1
	DefaultCommitInterval  = time.Second
	DefaultCommitBatch     = 500
	DefaultStartBackoff    = 200 * time.Millisecond
	DefaultMaxStartBackoff = 30 * time.Second
	// DefaultPartitionConcurrency lets 16 messages of a partition start
	// at once. One at a time (fetch → start → next) caps a partition at
	// one start per round trip to Temporal: 20–50 starts/s against a
	// networked cluster. 16 in flight reach 320–800/s there, and on a
	// local server as many starts as the best concurrent ExecuteWorkflow
	// loop (docs/performance.md), while a record's sync runs and a `for:
	// all` trigger's events keep their order (window.go) and a partition
	// holds at most 16 decoded messages.
	DefaultPartitionConcurrency = 16
	DefaultTopicRefresh         = 5 * time.Second
	// DefaultHeartbeatTopicPrefix is Debezium's topic.heartbeat.prefix:
	// its heartbeat topics are never consumed through a pattern.
	DefaultHeartbeatTopicPrefix = "__debezium-heartbeat"
)

// groupSessionTimeout is the consumer-group session and rebalance timeout.
const groupSessionTimeout = 10 * time.Second

// dlqMaxMessageBytes is the largest dead letter the writer sends.
const dlqMaxMessageBytes = 64 << 20

// shutdownCommitTimeout bounds the last commit after Run's context ended.
const shutdownCommitTimeout = 10 * time.Second

// Config configures a Consumer.
type Config struct {
	Brokers []string
	// Topics are the topics to consume; TopicPattern, when set instead,
	// selects them by regular expression, re-resolved every TopicRefresh so
	// that a topic created later (Debezium creates a table's topic on its
	// first change) is consumed too, from its beginning. Topics starting
	// with "__" (Kafka's internal topics) or HeartbeatTopicPrefix never
	// match.
	Topics       []string
	TopicPattern string
	// TopicRefresh is how often TopicPattern is resolved again. Default 5s.
	TopicRefresh time.Duration
	// HeartbeatTopicPrefix names Debezium's heartbeat topics, which a
	// pattern never selects. Default "__debezium-heartbeat".
	HeartbeatTopicPrefix string
	GroupID              string
	// DLQTopic receives the messages that cannot be processed: malformed
	// ones and those whose run Temporal refuses for good. It must not be
	// one of Topics. CreateDLQTopic creates it at start-up when missing.
	DLQTopic       string
	CreateDLQTopic bool
	// Consumers is the number of group members this process runs;
	// partitions are spread across them. Default 1.
	Consumers int
	// PartitionConcurrency is how many messages of one partition are
	// being started at once; the runs of one record's sync triggers and
	// of one `for: all` trigger still start in offset order, and offsets
	// are committed only past the messages that are done. Default 16; 1
	// starts them one after the other, in offset order.
	PartitionConcurrency int
	// CommitInterval and CommitBatch bound how long and how many done
	// messages wait before their offsets are committed. Defaults 1s, 500.
	CommitInterval time.Duration
	CommitBatch    int
	Decode         DecodeOptions
	// Dialer connects the consumer group and the partition readers (TLS,
	// SASL). Nil means kafka-go's default.
	Dialer *kafka.Dialer
	// Transport is used by the DLQ writer and to create the DLQ topic.
	// When nil and Dialer is set, a Transport with the Dialer's TLS, SASL
	// and client id is used.
	Transport kafka.RoundTripper
	// StartBackoff is the first wait after a failed start or DLQ write; it
	// doubles up to MaxStartBackoff. Defaults 200ms, 30s.
	StartBackoff, MaxStartBackoff time.Duration
}

// Hooks observe the consumer, e.g. for metrics. Any of them may be nil; they
// are called synchronously from the consuming goroutines.
type Hooks struct {
	// Started is called after a run was started (or found to exist).
	Started func(in run.Input, took time.Duration)
	// StartFailed is called after each failed attempt to start a run
	// that will be retried.
	StartFailed func(in run.Input, attempt int, err error)
	// StartRejected is called when Temporal refused a run for good (its
	// message then goes to the DLQ).
	StartRejected func(in run.Input, err error)
	// DeadLettered is called after a message was written to the DLQ;
	// DeadLetterKind(reason) says why.
	DeadLettered func(msg kafka.Message, reason error)
	// Committed is called after offsets were committed; offset is that of
	// the last done message of the partition.
	Committed func(topic string, partition int, offset int64)
	// TopicsChanged is called when the set of consumed topics changed.
	TopicsChanged func(topics []string)
}

// Option customises a Consumer.
type Option func(*Consumer)

// WithHooks sets hooks that observe the consumer.
func WithHooks(h Hooks) Option { return func(c *Consumer) { c.hooks = h } }

// Consumer reads change events from Kafka and starts the runs they cause.
type Consumer struct {
	cfg     Config
	pattern *regexp.Regexp
	planner Planner
	starter Starter
	logger  *slog.Logger
	hooks   Hooks
	now     func() time.Time
	txs     *txTracker
	// batchCloser closes `for: all` batches early (WithBatchCloser); nil
	// leaves them to their timers.
	batchCloser BatchCloser
}

// NewConsumer validates cfg, applies defaults and returns a Consumer. A nil
// logger discards logs.
func NewConsumer(cfg Config, planner Planner, starter Starter, logger *slog.Logger, opts ...Option) (*Consumer, error) {
	if err := cfg.withDefaults(); err != nil {
		return nil, fmt.Errorf("ingest config: %w", err)
	}
	if planner == nil || starter == nil {
		return nil, errors.New("ingest: planner and starter are required")
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	c := &Consumer{cfg: cfg, planner: planner, starter: starter, logger: logger, now: time.Now}
	if cfg.TopicPattern != "" {
		c.pattern = regexp.MustCompile(cfg.TopicPattern) // checked by withDefaults
	}
	for _, o := range opts {
		o(c)
	}
	c.txs = newTxTracker(c.now)
	return c, nil
}

func (cfg *Config) withDefaults() error {
	switch {
	case len(cfg.Brokers) == 0:
		return errors.New("Brokers: missing")
	case len(cfg.Topics) == 0 && cfg.TopicPattern == "":
		return errors.New("Topics: missing (or TopicPattern)")
	case len(cfg.Topics) > 0 && cfg.TopicPattern != "":
		return errors.New("Topics, TopicPattern: only one may be set")
	case cfg.GroupID == "":
		return errors.New("GroupID: missing")
	case cfg.DLQTopic == "":
		return errors.New("DLQTopic: missing")
	case cfg.Consumers < 0, cfg.CommitBatch < 0, cfg.CommitInterval < 0, cfg.StartBackoff < 0, cfg.MaxStartBackoff < 0,
		cfg.PartitionConcurrency < 0, cfg.TopicRefresh < 0:
		return errors.New("Consumers, CommitBatch, CommitInterval, StartBackoff, MaxStartBackoff, PartitionConcurrency, TopicRefresh: must not be negative")
	}
	for _, t := range cfg.Topics {
		if t == cfg.DLQTopic {
			return fmt.Errorf("DLQTopic: %q is also a consumed topic", t)
		}
	}
	if cfg.TopicPattern != "" {
		if _, err := regexp.Compile(cfg.TopicPattern); err != nil {
			return fmt.Errorf("TopicPattern: %w", err)
		}
	}
	if err := cfg.Decode.validate(); err != nil {
		return fmt.Errorf("Decode.%w", err)
	}
	setDefault(&cfg.Consumers, DefaultConsumers)
	setDefault(&cfg.CommitInterval, DefaultCommitInterval)
	setDefault(&cfg.CommitBatch, DefaultCommitBatch)
	setDefault(&cfg.StartBackoff, DefaultStartBackoff)
	setDefault(&cfg.MaxStartBackoff, DefaultMaxStartBackoff)
	setDefault(&cfg.PartitionConcurrency, DefaultPartitionConcurrency)
	setDefault(&cfg.TopicRefresh, DefaultTopicRefresh)
	setDefault(&cfg.HeartbeatTopicPrefix, DefaultHeartbeatTopicPrefix)
	if cfg.MaxStartBackoff < cfg.StartBackoff {
		cfg.MaxStartBackoff = cfg.StartBackoff
	}
	return nil
}

func setDefault[T comparable](v *T, def T) {
	var zero T
	if *v == zero {
		*v = def
	}
}

// messageWriter is the part of *kafka.Writer the consumer uses.
type messageWriter interface {
	WriteMessages(ctx context.Context, msgs ...kafka.Message) error
	Close() error
}

// Run consumes until ctx is done, then commits what is done and closes its
// connections. It returns nil on a clean shutdown. Run must be called once.
func (c *Consumer) Run(ctx context.Context) error {
	if c.cfg.CreateDLQTopic {
		c.createDLQTopic(ctx)
	}
	dlq := c.newDLQWriter()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	topics := newTopicSet()
	var wg sync.WaitGroup
	if c.pattern == nil {
		topics.set(c.cfg.Topics)
		c.consumesTransactionTopic(c.cfg.Topics)
	} else {
		wg.Go(func() { c.discoverTopics(ctx, topics) })
	}
	errs := make([]error, c.cfg.Consumers)
	for i := range c.cfg.Consumers {
		wg.Go(func() {
			errs[i] = c.runMember(ctx, i, topics, dlq)
			if errs[i] != nil {
				cancel() // one member failing stops the others
			}
		})
	}
	wg.Wait()
	if err := dlq.Close(); err != nil {
		errs = append(errs, fmt.Errorf("close DLQ writer: %w", err))
	}
	return errors.Join(errs...)
}

func (c *Consumer) transport() kafka.RoundTripper {
	if c.cfg.Transport == nil && c.cfg.Dialer != nil {
		return &kafka.Transport{
			TLS:      c.cfg.Dialer.TLS,
			SASL:     c.cfg.Dialer.SASLMechanism,
			ClientID: c.cfg.Dialer.ClientID,
		}
	}
	return c.cfg.Transport
}

func (c *Consumer) newDLQWriter() *kafka.Writer {
	return &kafka.Writer{
		Addr:         kafka.TCP(c.cfg.Brokers...),
		Topic:        c.cfg.DLQTopic,
		Balancer:     &kafka.Hash{},
		RequiredAcks: kafka.RequireAll,
		// One synchronous write per dead letter: do not wait for a batch
		// to fill.
		BatchSize:    1,
		BatchTimeout: time.Millisecond,
		// Let the DLQ topic's max.message.bytes decide what fits, not
		// kafka-go's 1 MB default: a large row is dead-lettered whole when
		// the topic takes it (deadLetter drops the value otherwise).
		BatchBytes: dlqMaxMessageBytes,
		Transport:  c.transport(),
	}
}

// sleep waits d or until ctx is done, and reports whether it waited d.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
