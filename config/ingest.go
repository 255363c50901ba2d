package config

import (
	"slices"
	"time"
)

// Defaults of the ingest's topics and of large payloads.
const (
	// DefaultTopicRefreshInterval is how often kafka.topicPattern is
	// resolved again: Debezium creates a table's topic on its first change.
	DefaultTopicRefreshInterval = 5 * time.Second
	// DefaultHeartbeatTopicPrefix is Debezium's topic.heartbeat.prefix.
	DefaultHeartbeatTopicPrefix = "__debezium-heartbeat"
	// DefaultPartitionConcurrency is ingest.DefaultPartitionConcurrency:
	// why 16 is said there.
	DefaultPartitionConcurrency = 16
	// MaxPartitionConcurrency bounds kafka.partitionConcurrency.
	MaxPartitionConcurrency = 256
	// DefaultLargePayloadThreshold is the size (bytes) over which a
	// payload is stored in the blob store: half of Temporal's default 2 MiB
	// blob limit, so that the rest of a request fits beside it.
	DefaultLargePayloadThreshold = 1 << 20
	// MaxLargePayloadThreshold is Temporal's default blob size limit: a
	// payload at least that large is refused by the server.
	MaxLargePayloadThreshold = 2 << 20
	// MinLargePayloadThreshold keeps small payloads (memos, signals)
	// inline.
	MinLargePayloadThreshold = 1 << 10
)

// LargePayloads passes Temporal payloads over a size by reference: the
// payload is stored in a bucket of `storage:` under its SHA-256 and the
// run's history holds a small reference, which every client of the
// namespace (ingest, worker, `triggerd runs`) resolves with the same
// codec. Without Storage, an event over Temporal's limit is dead-lettered.
type LargePayloads struct {
	// Storage names the bucket (a key of `storage:`); empty: off.
	Storage string `yaml:"storage"`
	// ThresholdBytes is the size of a serialised payload over which it
	// is stored by reference. Default 1 MiB.
	ThresholdBytes int `yaml:"thresholdBytes"`
	// CodecServer serves the codec on api.listen (/codec/decode,
	// /codec/encode) for the Temporal UI and CLI.
	CodecServer bool `yaml:"codecServer"`
	// CodecServerOrigins are the origins (the Temporal UI's address) the
	// codec server allows cross-origin requests from.
	CodecServerOrigins []string `yaml:"codecServerOrigins"`
}

func (c *Config) setIngestDefaults() {
	if c.Kafka.TopicRefreshInterval == 0 {
		c.Kafka.TopicRefreshInterval = DefaultTopicRefreshInterval
	}
	if c.Kafka.HeartbeatTopicPrefix == "" {
		c.Kafka.HeartbeatTopicPrefix = DefaultHeartbeatTopicPrefix
	}
	if c.Kafka.PartitionConcurrency == 0 {
		c.Kafka.PartitionConcurrency = DefaultPartitionConcurrency
	}
	if c.Temporal.LargePayloads.ThresholdBytes == 0 {
		c.Temporal.LargePayloads.ThresholdBytes = DefaultLargePayloadThreshold
	}
}

func (c *Config) validateIngest(v *validator) {
	k := c.Kafka
	if k.TopicRefreshInterval < 0 {
		v.add("kafka.topicRefreshInterval", "must be positive, got %s", k.TopicRefreshInterval)
	}
	if k.PartitionConcurrency < 1 || k.PartitionConcurrency > MaxPartitionConcurrency {
		v.add("kafka.partitionConcurrency", "must be 1..%d, got %d", MaxPartitionConcurrency, k.PartitionConcurrency)
	}
	lp := c.Temporal.LargePayloads
	if lp.ThresholdBytes < MinLargePayloadThreshold || lp.ThresholdBytes >= MaxLargePayloadThreshold {
		v.add("temporal.largePayloads.thresholdBytes", "must be %d..%d (below Temporal's 2 MiB blob limit), got %d",
			MinLargePayloadThreshold, MaxLargePayloadThreshold-1, lp.ThresholdBytes)
	}
	if lp.Storage != "" && !slices.Contains(c.StorageNames(), lp.Storage) {
		v.add("temporal.largePayloads.storage", "names no bucket of storage: %q (configured: %v)", lp.Storage, c.StorageNames())
	}
	if lp.CodecServer && lp.Storage == "" {
		v.add("temporal.largePayloads.codecServer", "needs temporal.largePayloads.storage")
	}
	if len(lp.CodecServerOrigins) > 0 && !lp.CodecServer {
		v.add("temporal.largePayloads.codecServerOrigins", "needs temporal.largePayloads.codecServer: true")
	}
}
