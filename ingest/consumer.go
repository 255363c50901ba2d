package ingest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strconv"
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
// not known to be durable.
type Starter interface {
	Start(ctx context.Context, in run.Input) error
}

// Headers added to a message written to the dead-letter topic.
const (
	HeaderError           = "triggerd-error"
	HeaderSourceTopic     = "triggerd-source-topic"
	HeaderSourcePartition = "triggerd-source-partition"
	HeaderSourceOffset    = "triggerd-source-offset"
	HeaderFailedAt        = "triggerd-failed-at"
)

// Defaults applied by NewConsumer to zero Config fields.
const (
	DefaultConsumers       = 1
	DefaultCommitInterval  = time.Second
	DefaultCommitBatch     = 500
	DefaultStartBackoff    = 200 * time.Millisecond
	DefaultMaxStartBackoff = 30 * time.Second
)

// groupSessionTimeout is the consumer-group session and rebalance timeout.
const groupSessionTimeout = 10 * time.Second

// shutdownCommitTimeout bounds the last commit after Run's context ended.
const shutdownCommitTimeout = 10 * time.Second

// Config configures a Consumer.
type Config struct {
	Brokers []string
	Topics  []string
	GroupID string
	// DLQTopic receives malformed messages. It must exist and must not be
	// one of Topics.
	DLQTopic string
	// Consumers is the number of group members (kafka-go Readers) this
	// process runs; partitions are spread across them. Default 1.
	Consumers int
	// CommitInterval and CommitBatch bound how long and how many done
	// messages wait before their offsets are committed. Defaults 1s, 500.
	CommitInterval time.Duration
	CommitBatch    int
	Decode         DecodeOptions
	// Dialer connects the Readers (TLS, SASL). Nil means kafka-go's default.
	Dialer *kafka.Dialer
	// Transport is used by the DLQ writer. When nil and Dialer is set, a
	// Transport with the Dialer's TLS, SASL and client id is used.
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
	// StartFailed is called after each failed attempt to start a run.
	StartFailed func(in run.Input, attempt int, err error)
	// DeadLettered is called after a malformed message was written to the DLQ.
	DeadLettered func(msg kafka.Message, reason error)
	// Committed is called after offsets were committed; offset is that of
	// the last done message of the partition.
	Committed func(topic string, partition int, offset int64)
}

// Option customises a Consumer.
type Option func(*Consumer)

// WithHooks sets hooks that observe the consumer.
func WithHooks(h Hooks) Option { return func(c *Consumer) { c.hooks = h } }

// Consumer reads change events from Kafka and starts the runs they cause.
type Consumer struct {
	cfg     Config
	planner Planner
	starter Starter
	logger  *slog.Logger
	hooks   Hooks
	now     func() time.Time
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
	for _, o := range opts {
		o(c)
	}
	return c, nil
}

func (cfg *Config) withDefaults() error {
	switch {
	case len(cfg.Brokers) == 0:
		return errors.New("Brokers: missing")
	case len(cfg.Topics) == 0:
		return errors.New("Topics: missing")
	case cfg.GroupID == "":
		return errors.New("GroupID: missing")
	case cfg.DLQTopic == "":
		return errors.New("DLQTopic: missing")
	case cfg.Consumers < 0, cfg.CommitBatch < 0, cfg.CommitInterval < 0, cfg.StartBackoff < 0, cfg.MaxStartBackoff < 0:
		return errors.New("Consumers, CommitBatch, CommitInterval, StartBackoff, MaxStartBackoff: must not be negative")
	}
	for _, t := range cfg.Topics {
		if t == cfg.DLQTopic {
			return fmt.Errorf("DLQTopic: %q is also a consumed topic", t)
		}
	}
	if err := cfg.Decode.validate(); err != nil {
		return fmt.Errorf("Decode.%w", err)
	}
	if cfg.Consumers == 0 {
		cfg.Consumers = DefaultConsumers
	}
	if cfg.CommitInterval == 0 {
		cfg.CommitInterval = DefaultCommitInterval
	}
	if cfg.CommitBatch == 0 {
		cfg.CommitBatch = DefaultCommitBatch
	}
	if cfg.StartBackoff == 0 {
		cfg.StartBackoff = DefaultStartBackoff
	}
	if cfg.MaxStartBackoff == 0 {
		cfg.MaxStartBackoff = DefaultMaxStartBackoff
	}
	if cfg.MaxStartBackoff < cfg.StartBackoff {
		cfg.MaxStartBackoff = cfg.StartBackoff
	}
	return nil
}

// messageReader is the part of *kafka.Reader the consumer uses.
type messageReader interface {
	committer
	FetchMessage(ctx context.Context) (kafka.Message, error)
	Close() error
}

// messageWriter is the part of *kafka.Writer the consumer uses.
type messageWriter interface {
	WriteMessages(ctx context.Context, msgs ...kafka.Message) error
	Close() error
}

// Run consumes until ctx is done, then commits what is done and closes its
// connections. It returns nil on a clean shutdown. Run must be called once.
func (c *Consumer) Run(ctx context.Context) error {
	dlq := c.newDLQWriter()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	errs := make([]error, c.cfg.Consumers)
	var wg sync.WaitGroup
	for i := range c.cfg.Consumers {
		r := kafka.NewReader(c.readerConfig(i))
		wg.Go(func() {
			errs[i] = c.consume(ctx, r, dlq, i)
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

func (c *Consumer) readerConfig(member int) kafka.ReaderConfig {
	log := c.logger.With("component", "kafka-reader", "member", member)
	return kafka.ReaderConfig{
		Brokers:     c.cfg.Brokers,
		GroupID:     c.cfg.GroupID,
		GroupTopics: c.cfg.Topics,
		Dialer:      c.cfg.Dialer,
		// Offsets are committed explicitly, only for messages whose runs
		// are durable.
		CommitInterval: 0,
		// A group without committed offsets (a new group id) reads the
		// topics from the start; redelivered changes are deduplicated by
		// their workflow ids.
		StartOffset:           kafka.FirstOffset,
		MinBytes:              1,
		MaxBytes:              10 << 20,
		MaxWait:               500 * time.Millisecond,
		WatchPartitionChanges: true,
		// A member that died without leaving (kill -9, a lost host) holds
		// its partitions until its session times out, and a rebalance waits
		// for it: kafka-go's 30s defaults stall a restarted ingest for that
		// long. 10s sessions with 1s heartbeats detect it sooner, and a
		// failed join is retried after 1s instead of 5s.
		SessionTimeout:    groupSessionTimeout,
		RebalanceTimeout:  groupSessionTimeout,
		HeartbeatInterval: time.Second,
		JoinGroupBackoff:  time.Second,
		ErrorLogger: kafka.LoggerFunc(func(format string, args ...any) {
			log.Warn(fmt.Sprintf(format, args...))
		}),
	}
}

func (c *Consumer) newDLQWriter() *kafka.Writer {
	transport := c.cfg.Transport
	if transport == nil && c.cfg.Dialer != nil {
		transport = &kafka.Transport{
			TLS:      c.cfg.Dialer.TLS,
			SASL:     c.cfg.Dialer.SASLMechanism,
			ClientID: c.cfg.Dialer.ClientID,
		}
	}
	return &kafka.Writer{
		Addr:         kafka.TCP(c.cfg.Brokers...),
		Topic:        c.cfg.DLQTopic,
		Balancer:     &kafka.Hash{},
		RequiredAcks: kafka.RequireAll,
		// One synchronous write per malformed message: do not wait for a
		// batch to fill.
		BatchSize:    1,
		BatchTimeout: time.Millisecond,
		Transport:    transport,
	}
}

// consume runs one group member until ctx is done, then makes its last
// commit and closes the reader.
func (c *Consumer) consume(ctx context.Context, r messageReader, dlq messageWriter, member int) error {
	log := c.logger.With("member", member)
	tr := newCommitTracker(c.cfg.CommitBatch, c.cfg.CommitInterval, c.now)

	// Commits are also made on a timer, so that the last messages before an
	// idle period do not wait for the next message.
	tickCtx, stopTicks := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(max(c.cfg.CommitInterval/4, 10*time.Millisecond))
		defer t.Stop()
		for {
			select {
			case <-tickCtx.Done():
				return
			case <-t.C:
				if tr.due() {
					c.commit(tickCtx, r, tr, log)
				}
			}
		}
	})

	err := c.fetchLoop(ctx, r, dlq, tr, log)
	stopTicks()
	wg.Wait()

	// ctx is done: commit with a fresh context what was done before.
	cctx, cancel := context.WithTimeout(context.Background(), shutdownCommitTimeout)
	c.commit(cctx, r, tr, log)
	cancel()
	if cerr := r.Close(); cerr != nil && err == nil {
		err = fmt.Errorf("close reader: %w", cerr)
	}
	return err
}

// commit flushes the tracker. A failed commit is not fatal: the messages
// stay pending and are committed later, or delivered again after a restart.
func (c *Consumer) commit(ctx context.Context, r committer, tr *commitTracker, log *slog.Logger) {
	msgs, err := tr.flush(ctx, r)
	if err != nil {
		log.Warn("commit offsets failed, will retry", "error", err, "partitions", len(tr.pendingOffsets()))
		return
	}
	for _, m := range msgs {
		log.Debug("committed", "topic", m.Topic, "partition", m.Partition, "offset", m.Offset)
		if c.hooks.Committed != nil {
			c.hooks.Committed(m.Topic, m.Partition, m.Offset)
		}
	}
}

func (c *Consumer) fetchLoop(ctx context.Context, r messageReader, dlq messageWriter, tr *commitTracker, log *slog.Logger) error {
	backoff := c.cfg.StartBackoff
	for {
		msg, err := r.FetchMessage(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrClosedPipe) {
				return fmt.Errorf("fetch: %w", err)
			}
			log.Warn("fetch failed, retrying", "error", err, "backoff", backoff)
			if !sleep(ctx, backoff) {
				return nil
			}
			backoff = min(backoff*2, c.cfg.MaxStartBackoff)
			continue
		}
		backoff = c.cfg.StartBackoff
		if err := c.handle(ctx, msg, dlq, log); err != nil {
			// Only a done ctx stops handle: the message is not done and will
			// be delivered again.
			return nil
		}
		tr.done(msg)
		if tr.due() {
			c.commit(ctx, r, tr, log)
		}
	}
}

// handle makes msg done: it starts every run it causes, or writes it to the
// DLQ when it is malformed. It retries until it succeeds, and returns an
// error only when ctx is done first.
func (c *Consumer) handle(ctx context.Context, msg kafka.Message, dlq messageWriter, log *slog.Logger) error {
	events, err := Decode(msg, c.cfg.Decode)
	if err == nil {
		events, err = applyHeaders(msg, events) // semantics.go, headers.go
	}
	if err != nil {
		return c.deadLetter(ctx, msg, err, dlq, log)
	}
	for _, ev := range events {
		for _, in := range c.planner.Plan(ev) {
			begin := c.now()
			wfID := run.WorkflowID(in.Trigger.Tag, in.Event.ID)
			err := c.retry(ctx, log, func() error { return c.starter.Start(ctx, in) },
				func(attempt int, err error) {
					if c.hooks.StartFailed != nil {
						c.hooks.StartFailed(in, attempt, err)
					}
				},
				"start run failed, retrying", "workflow_id", wfID, "topic", msg.Topic, "partition", msg.Partition, "offset", msg.Offset)
			if err != nil {
				return err
			}
			log.Debug("run started", "workflow_id", wfID)
			if c.hooks.Started != nil {
				c.hooks.Started(in, c.now().Sub(begin))
			}
		}
	}
	return nil
}

// deadLetter writes the original msg, with headers saying why and where it
// came from, to the DLQ topic.
func (c *Consumer) deadLetter(ctx context.Context, msg kafka.Message, reason error, dlq messageWriter, log *slog.Logger) error {
	headers := make([]kafka.Header, 0, len(msg.Headers)+5)
	headers = append(headers, msg.Headers...)
	headers = append(headers,
		kafka.Header{Key: HeaderError, Value: []byte(reason.Error())},
		kafka.Header{Key: HeaderSourceTopic, Value: []byte(msg.Topic)},
		kafka.Header{Key: HeaderSourcePartition, Value: []byte(strconv.Itoa(msg.Partition))},
		kafka.Header{Key: HeaderSourceOffset, Value: []byte(strconv.FormatInt(msg.Offset, 10))},
		kafka.Header{Key: HeaderFailedAt, Value: []byte(c.now().UTC().Format(time.RFC3339))},
	)
	out := kafka.Message{Key: msg.Key, Value: msg.Value, Headers: headers}
	err := c.retry(ctx, log, func() error {
		if err := dlq.WriteMessages(ctx, out); err != nil {
			return fmt.Errorf("write to DLQ %s: %w", c.cfg.DLQTopic, err)
		}
		return nil
	}, nil, "dead-letter write failed, retrying", "topic", msg.Topic, "partition", msg.Partition, "offset", msg.Offset)
	if err != nil {
		return err
	}
	log.Warn("malformed message sent to the DLQ", "reason", reason, "dlq", c.cfg.DLQTopic,
		"topic", msg.Topic, "partition", msg.Partition, "offset", msg.Offset)
	if c.hooks.DeadLettered != nil {
		c.hooks.DeadLettered(msg, reason)
	}
	return nil
}

// retry calls fn until it succeeds, waiting StartBackoff, doubling up to
// MaxStartBackoff, between attempts. It returns ctx's error if ctx ends
// first: nothing is ever skipped.
func (c *Consumer) retry(ctx context.Context, log *slog.Logger, fn func() error, failed func(attempt int, err error), msg string, attrs ...any) error {
	backoff := c.cfg.StartBackoff
	for attempt := 1; ; attempt++ {
		err := fn()
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if failed != nil {
			failed(attempt, err)
		}
		log.Warn(msg, append([]any{"attempt", attempt, "backoff", backoff, "error", err}, attrs...)...)
		if !sleep(ctx, backoff) {
			return ctx.Err()
		}
		backoff = min(backoff*2, c.cfg.MaxStartBackoff)
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
