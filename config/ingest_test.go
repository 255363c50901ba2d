package config

import (
	"testing"
	"time"
)

func TestIngestValidation(t *testing.T) {
	withBucket := func(c *Config) {
		c.Storage = map[string]Bucket{"payloads": {Driver: StorageLocal, Dir: t.TempDir()}}
	}
	for _, tc := range []struct {
		name   string
		mutate func(c *Config)
		field  string
		reason string
	}{
		{"refresh", func(c *Config) { c.Kafka.TopicRefreshInterval = -time.Second }, "kafka.topicRefreshInterval", "positive"},
		{"concurrency low", func(c *Config) { c.Kafka.PartitionConcurrency = -1 }, "kafka.partitionConcurrency", "1..256"},
		{"concurrency high", func(c *Config) { c.Kafka.PartitionConcurrency = 257 }, "kafka.partitionConcurrency", "1..256"},
		{"threshold low", func(c *Config) { c.Temporal.LargePayloads.ThresholdBytes = 10 }, "temporal.largePayloads.thresholdBytes", "1024..2097151"},
		{"threshold at the limit", func(c *Config) { c.Temporal.LargePayloads.ThresholdBytes = 2 << 20 }, "temporal.largePayloads.thresholdBytes", "below Temporal's 2 MiB"},
		{"unknown bucket", func(c *Config) { withBucket(c); c.Temporal.LargePayloads.Storage = "blobs" }, "temporal.largePayloads.storage", `names no bucket of storage: "blobs" (configured: [payloads])`},
		{"codec server without storage", func(c *Config) { c.Temporal.LargePayloads.CodecServer = true }, "temporal.largePayloads.codecServer", "needs temporal.largePayloads.storage"},
		{"origins without codec server", func(c *Config) {
			c.Temporal.LargePayloads.CodecServerOrigins = []string{"http://localhost:8233"}
		}, "temporal.largePayloads.codecServerOrigins", "needs temporal.largePayloads.codecServer"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := valid()
			tc.mutate(c)
			probs := problemsOf(t, c.Validate())
			if !hasProblem(probs, tc.field, tc.reason) {
				t.Fatalf("want %s: ...%s..., got %v", tc.field, tc.reason, probs)
			}
		})
	}

	c := valid()
	withBucket(c)
	c.Kafka.PartitionConcurrency = 8
	c.Kafka.CreateDLQTopic = true
	c.Temporal.LargePayloads = LargePayloads{Storage: "payloads", ThresholdBytes: 512 << 10, CodecServer: true,
		CodecServerOrigins: []string{"http://localhost:8233"}}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestIngestEnvOverrides(t *testing.T) {
	c, err := Load("", []string{
		"TRIGGERD_KAFKA_BROKERS=k:9092", "TRIGGERD_KAFKA_TOPIC_PATTERN=^dbserver1\\.",
		"TRIGGERD_KAFKA_TOPIC_REFRESH_INTERVAL=2s", "TRIGGERD_KAFKA_CREATE_DLQ_TOPIC=true",
		"TRIGGERD_KAFKA_PARTITION_CONCURRENCY=4", "TRIGGERD_TEMPORAL_LARGE_PAYLOADS_THRESHOLD_BYTES=500000",
	})
	if err != nil {
		t.Fatal(err)
	}
	if c.Kafka.TopicRefreshInterval != 2*time.Second || !c.Kafka.CreateDLQTopic || c.Kafka.PartitionConcurrency != 4 ||
		c.Temporal.LargePayloads.ThresholdBytes != 500000 {
		t.Fatalf("got %+v %+v", c.Kafka, c.Temporal.LargePayloads)
	}
}
