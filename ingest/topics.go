package ingest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/segmentio/kafka-go"
)

// topicSet is the list of topics the members consume, and a channel that
// is closed when it changes.
type topicSet struct {
	mu      sync.Mutex
	topics  []string
	changed chan struct{}
}

func newTopicSet() *topicSet { return &topicSet{changed: make(chan struct{})} }

// current returns the topics and a channel closed when they change.
func (s *topicSet) current() ([]string, <-chan struct{}) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.topics, s.changed
}

// set replaces the topics and reports whether they changed.
func (s *topicSet) set(topics []string) bool {
	topics = slices.Sorted(slices.Values(topics))
	topics = slices.Compact(topics)
	s.mu.Lock()
	defer s.mu.Unlock()
	if slices.Equal(s.topics, topics) {
		return false
	}
	s.topics = topics
	close(s.changed)
	s.changed = make(chan struct{})
	return true
}

// discoverTopics resolves TopicPattern now and every TopicRefresh until
// ctx is done. A failed listing keeps the current topics.
func (c *Consumer) discoverTopics(ctx context.Context, set *topicSet) {
	log := c.logger.With("component", "topics", "pattern", c.cfg.TopicPattern)
	warnedEmpty := false
	for {
		all, err := c.readTopics(ctx)
		switch {
		case ctx.Err() != nil:
			return
		case err != nil:
			log.Warn("listing topics failed, keeping the current ones", "error", err)
		default:
			topics := c.matchTopics(all)
			if len(topics) == 0 && !warnedEmpty {
				log.Warn("no topic matches kafka.topicPattern yet; waiting for one (Debezium creates a table's topic on its first change)")
				warnedEmpty = true
			}
			if set.set(topics) {
				c.consumesTransactionTopic(topics)
				log.Info("consumed topics changed", "topics", topics)
				if c.hooks.TopicsChanged != nil {
					c.hooks.TopicsChanged(topics)
				}
			}
		}
		if !sleep(ctx, c.cfg.TopicRefresh) {
			return
		}
	}
}

// matchTopics selects the topics the pattern consumes: never the DLQ,
// Kafka's internal topics ("__consumer_offsets") or Debezium's heartbeat
// topics.
func (c *Consumer) matchTopics(all []string) []string {
	var out []string
	for _, t := range all {
		if t == c.cfg.DLQTopic || strings.HasPrefix(t, "__") || strings.HasPrefix(t, c.cfg.HeartbeatTopicPrefix) {
			continue
		}
		if c.pattern.MatchString(t) {
			out = append(out, t)
		}
	}
	return out
}

// readTopics lists the cluster's topics through the first broker that
// answers.
func (c *Consumer) readTopics(ctx context.Context) ([]string, error) {
	dialer := c.cfg.Dialer
	if dialer == nil {
		dialer = kafka.DefaultDialer
	}
	var errs []error
	for _, b := range c.cfg.Brokers {
		conn, err := dialer.DialContext(ctx, "tcp", b)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
		parts, err := conn.ReadPartitions()
		_ = conn.Close()
		if err != nil {
			errs = append(errs, err)
			continue
		}
		var topics []string
		for _, p := range parts {
			topics = append(topics, p.Topic)
		}
		return slices.Compact(slices.Sorted(slices.Values(topics))), nil
	}
	return nil, fmt.Errorf("list Kafka topics: %w", errors.Join(errs...))
}

// createDLQTopic creates the DLQ topic unless it exists, with the broker's
// default partition count and replication factor. A failure is logged, not
// fatal: the topic may exist already and the client lack the right to
// create topics, and if it is missing, dead-letter writes are retried.
func (c *Consumer) createDLQTopic(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	cl := &kafka.Client{Addr: kafka.TCP(c.cfg.Brokers...), Transport: c.transport()}
	resp, err := cl.CreateTopics(ctx, &kafka.CreateTopicsRequest{Topics: []kafka.TopicConfig{{
		Topic: c.cfg.DLQTopic, NumPartitions: -1, ReplicationFactor: -1,
	}}})
	if err == nil {
		err = resp.Errors[c.cfg.DLQTopic]
	}
	switch {
	case err == nil:
		c.logger.Info("created the DLQ topic", "topic", c.cfg.DLQTopic)
	case errors.Is(err, kafka.TopicAlreadyExists):
	default:
		c.logger.Warn("could not create the DLQ topic; dead letters wait until it exists", "topic", c.cfg.DLQTopic, "error", err)
	}
}
