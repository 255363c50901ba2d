package config

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// valid returns a minimal valid configuration.
func valid() *Config {
	c := Default()
	c.Kafka.Brokers = []string{"127.0.0.1:9092"}
	c.Kafka.Topics = []string{"dbserver1.public.users"}
	return c
}

func problemsOf(t *testing.T, err error) []Problem {
	t.Helper()
	var ce *Error
	if !errors.As(err, &ce) {
		t.Fatalf("want *config.Error, got %T: %v", err, err)
	}
	return ce.Problems
}

func hasProblem(probs []Problem, field, reasonPart string) bool {
	for _, p := range probs {
		if p.Field == field && strings.Contains(p.Reason, reasonPart) {
			return true
		}
	}
	return false
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestDefaults(t *testing.T) {
	c := Default()
	want := &Config{
		Log: Log{Level: "info", Format: "text"},
		Kafka: Kafka{GroupID: "triggerd", DLQTopic: "triggerd.dlq", Consumers: 1,
			CommitInterval: time.Second, CommitBatch: 500, SnapshotReads: "ignore",
			TopicRefreshInterval: 5 * time.Second, HeartbeatTopicPrefix: "__debezium-heartbeat", PartitionConcurrency: 16},
		Temporal: Temporal{Address: "127.0.0.1:7233", Namespace: "default", TaskQueue: "triggerd",
			LargePayloads: LargePayloads{ThresholdBytes: 1 << 20}},
		API:      API{Listen: "127.0.0.1:8080"},
		Triggers: Triggers{PollInterval: 2 * time.Second},
		Store:    Store{Driver: "sqlite", Path: filepath.Join(".triggerd", "triggers.db")},
		DataDir:  ".triggerd",
		Quotas:   Quotas{RefreshInterval: 2 * time.Second, OnUnavailable: "open", UnavailableWait: 5 * time.Second, KeyPrefix: "triggerd:"},
		Breakers: Breakers{Default: BreakerPolicy{ConsecutiveFailures: 5, MinRequests: 10, Interval: time.Minute,
			OpenTimeout: 30 * time.Second, HalfOpenRequests: 1}},
		Delivery: Delivery{MaxCascadeDepth: 3, BatchSize: 100, BatchWindow: time.Second, BatchLinger: 10 * time.Minute, HeartbeatTimeout: 30 * time.Second,
			LocalActivities: "on", LocalActivityMaxTimeout: 30 * time.Second},
		Debezium: Debezium{UnavailableValuePlaceholder: "__debezium_unavailable_value", Decimals: "string", RefetchTimeout: 5 * time.Second,
			Connector: DebeziumConnector{MoneyFractionDigits: 2}},
	}
	if !reflect.DeepEqual(c, want) {
		t.Fatalf("Default() = %+v\nwant %+v", c, want)
	}
	if err := valid().Validate(); err != nil {
		t.Fatalf("minimal config: %v", err)
	}
}

func TestLoadWithoutFileNeedsBrokersAndTopics(t *testing.T) {
	c, err := Load("", nil)
	probs := problemsOf(t, err)
	if c == nil {
		t.Fatal("Load must return the config read so far with a *Error")
	}
	if !hasProblem(probs, "kafka.brokers", "must not be empty") || !hasProblem(probs, "kafka.topics", "one of") {
		t.Fatalf("problems = %v", probs)
	}
}

func TestLoadFile(t *testing.T) {
	p := writeFile(t, "c.yaml", `
log: {level: debug, format: json}
kafka:
  brokers: [k1:9092, k2:9092]
  topicPattern: '^dbserver1\..*'
  consumers: 4
  commitInterval: 250ms
  snapshotReads: insert
temporal:
  address: temporal:7233
  taskQueue: tq
rabbitmq:
  url: amqp://guest:guest@rabbit:5672/
dataDir: /var/lib/triggerd
`)
	c, err := Load(p, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.Log.Level != "debug" || c.Log.Format != "json" || !reflect.DeepEqual(c.Kafka.Brokers, []string{"k1:9092", "k2:9092"}) ||
		c.Kafka.TopicPattern != `^dbserver1\..*` || c.Kafka.Consumers != 4 || c.Kafka.CommitInterval != 250*time.Millisecond ||
		c.Kafka.SnapshotReads != "insert" || c.Temporal.Address != "temporal:7233" || c.Temporal.TaskQueue != "tq" ||
		c.Temporal.Namespace != "default" || c.RabbitMQ.URL == "" || c.DataDir != "/var/lib/triggerd" || c.Kafka.CommitBatch != 500 {
		t.Fatalf("loaded %+v", c)
	}
}

func TestLoadScalarAsList(t *testing.T) {
	p := writeFile(t, "c.yaml", "kafka: {brokers: k1:9092, topics: t1}\n")
	c, err := Load(p, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(c.Kafka.Brokers, []string{"k1:9092"}) || !reflect.DeepEqual(c.Kafka.Topics, []string{"t1"}) {
		t.Fatalf("got %+v", c.Kafka)
	}
}

func TestEnvOverrides(t *testing.T) {
	p := writeFile(t, "c.yaml", "kafka: {brokers: [file:9092], topics: [a]}\ntemporal: {address: file:7233}\n")
	ca := writeFile(t, "ca.pem", "x")
	env := []string{
		"TRIGGERD_KAFKA_BROKERS=a:9092, b:9092",
		"TRIGGERD_KAFKA_TOPICS=t1,t2",
		"TRIGGERD_TEMPORAL_ADDRESS=env:7233",
		"TRIGGERD_KAFKA_TLS_ENABLED=true",
		"TRIGGERD_KAFKA_TLS_CA_FILE=" + ca,
		"TRIGGERD_KAFKA_COMMIT_INTERVAL=2s",
		"TRIGGERD_KAFKA_CONSUMERS=3",
		"TRIGGERD_KAFKA_GROUP_ID=g",
		"TRIGGERD_REDIS_ADDRESS=redis:6379",
		"TRIGGERD_REDIS_DB=2",
		"TRIGGERD_DATA_DIR=/data",
		"TRIGGERD_TEST_KAFKA_BROKERS=ignored:1", // another tool's variable
		"PATH=/bin",
	}
	c, err := Load(p, env)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(c.Kafka.Brokers, []string{"a:9092", "b:9092"}) || !reflect.DeepEqual(c.Kafka.Topics, []string{"t1", "t2"}) ||
		c.Temporal.Address != "env:7233" || !c.Kafka.TLS.Enabled || c.Kafka.TLS.CAFile != ca ||
		c.Kafka.CommitInterval != 2*time.Second || c.Kafka.Consumers != 3 || c.Kafka.GroupID != "g" ||
		c.Redis.Address != "redis:6379" || c.Redis.DB != 2 || c.DataDir != "/data" {
		t.Fatalf("got %+v", c)
	}
}

func TestEnvName(t *testing.T) {
	for path, want := range map[string]string{
		"kafka.brokers":                "TRIGGERD_KAFKA_BROKERS",
		"kafka.tls.caFile":             "TRIGGERD_KAFKA_TLS_CA_FILE",
		"kafka.tls.insecureSkipVerify": "TRIGGERD_KAFKA_TLS_INSECURE_SKIP_VERIFY",
		"kafka.groupId":                "TRIGGERD_KAFKA_GROUP_ID",
		"temporal.apiKey":              "TRIGGERD_TEMPORAL_API_KEY",
		"rabbitmq.url":                 "TRIGGERD_RABBITMQ_URL",
		"dataDir":                      "TRIGGERD_DATA_DIR",
	} {
		if got := EnvName(path); got != want {
			t.Errorf("EnvName(%q) = %q, want %q", path, got, want)
		}
	}
	names := EnvNames()
	if len(names) < 30 || names[0] != "TRIGGERD_LOG_LEVEL" {
		t.Fatalf("EnvNames() = %v", names)
	}
}

func TestEnvBadValues(t *testing.T) {
	_, err := Load("", []string{
		"TRIGGERD_KAFKA_BROKERS=a:1", "TRIGGERD_KAFKA_TOPICS=t",
		"TRIGGERD_KAFKA_CONSUMERS=many",
		"TRIGGERD_KAFKA_COMMIT_INTERVAL=soon",
		"TRIGGERD_KAFKA_TLS_ENABLED=yes please",
	})
	probs := problemsOf(t, err)
	for _, f := range []string{"kafka.consumers", "kafka.commitInterval", "kafka.tls.enabled"} {
		if !hasProblem(probs, f, "TRIGGERD_") {
			t.Errorf("no problem for %s in %v", f, probs)
		}
	}
}

func TestYAMLProblemsHaveFieldPaths(t *testing.T) {
	p := writeFile(t, "c.yaml", `
kafka:
  brokers: [a:1]
  topics: [t]
  consumers: lots
  commitInterval: 5
  bogus: 1
temporal: [not, a, mapping]
unknownSection: {}
`)
	_, err := Load(p, nil)
	probs := problemsOf(t, err)
	for _, want := range [][2]string{
		{"kafka.consumers", "integer"},
		{"kafka.commitInterval", "duration"},
		{"kafka.bogus", "unknown key"},
		{"temporal", "mapping"},
		{"unknownSection", "unknown key"},
	} {
		if !hasProblem(probs, want[0], want[1]) {
			t.Errorf("no problem %v in %v", want, probs)
		}
	}
}

func TestInvalidYAML(t *testing.T) {
	p := writeFile(t, "c.yaml", "kafka: [\n")
	_, err := Load(p, nil)
	if probs := problemsOf(t, err); !hasProblem(probs, "", "invalid YAML") {
		t.Fatalf("problems = %v", probs)
	}
}

func TestLoadMissingFile(t *testing.T) {
	c, err := Load(filepath.Join(t.TempDir(), "nope.yaml"), nil)
	if c != nil || err == nil || errors.As(err, new(*Error)) {
		t.Fatalf("got %v, %v", c, err)
	}
}

func TestValidationRules(t *testing.T) {
	ca := writeFile(t, "ca.pem", "x")
	dir := t.TempDir()
	missing := filepath.Join(dir, "missing.pem")
	cases := []struct {
		name   string
		mutate func(c *Config)
		field  string
		reason string
	}{
		{"log level", func(c *Config) { c.Log.Level = "loud" }, "log.level", "must be one of"},
		{"log format", func(c *Config) { c.Log.Format = "xml" }, "log.format", "must be one of"},
		{"no brokers", func(c *Config) { c.Kafka.Brokers = nil }, "kafka.brokers", "must not be empty"},
		{"bad broker", func(c *Config) { c.Kafka.Brokers = []string{"nohost"} }, "kafka.brokers[0]", "host:port"},
		{"broker port", func(c *Config) { c.Kafka.Brokers = []string{"h:99999"} }, "kafka.brokers[0]", "port"},
		{"no topics", func(c *Config) { c.Kafka.Topics = nil }, "kafka.topics", "one of"},
		{"both topics", func(c *Config) { c.Kafka.TopicPattern = "x" }, "kafka.topics", "only one"},
		{"empty topic", func(c *Config) { c.Kafka.Topics = []string{" "} }, "kafka.topics[0]", "must not be empty"},
		{"dlq consumed", func(c *Config) { c.Kafka.Topics = []string{"triggerd.dlq"} }, "kafka.topics[0]", "dlqTopic"},
		{"bad pattern", func(c *Config) { c.Kafka.Topics = nil; c.Kafka.TopicPattern = "(" }, "kafka.topicPattern", "regular expression"},
		{"pattern eats dlq", func(c *Config) { c.Kafka.Topics = nil; c.Kafka.TopicPattern = "^triggerd" }, "kafka.topicPattern", "dlqTopic"},
		{"consumers low", func(c *Config) { c.Kafka.Consumers = -1 }, "kafka.consumers", "1..64"},
		{"consumers high", func(c *Config) { c.Kafka.Consumers = 65 }, "kafka.consumers", "1..64"},
		{"commit interval", func(c *Config) { c.Kafka.CommitInterval = -time.Second }, "kafka.commitInterval", "positive"},
		{"commit batch", func(c *Config) { c.Kafka.CommitBatch = -1 }, "kafka.commitBatch", "at least 1"},
		{"snapshot reads", func(c *Config) { c.Kafka.SnapshotReads = "upsert" }, "kafka.snapshotReads", "must be one of"},
		{"group id", func(c *Config) { c.Kafka.GroupID = " " }, "kafka.groupId", "must not be empty"},
		{"tls missing file", func(c *Config) { c.Kafka.TLS = TLS{Enabled: true, CAFile: missing} }, "kafka.tls.caFile", "cannot read"},
		{"tls dir", func(c *Config) { c.Kafka.TLS = TLS{Enabled: true, CAFile: dir} }, "kafka.tls.caFile", "directory"},
		{"tls cert without key", func(c *Config) { c.Kafka.TLS = TLS{Enabled: true, CertFile: ca} }, "kafka.tls.certFile", "together"},
		{"tls not enabled", func(c *Config) { c.Kafka.TLS = TLS{CAFile: ca} }, "kafka.tls.enabled", "must be true"},
		{"sasl mechanism", func(c *Config) { c.Kafka.SASL = SASL{Mechanism: "gssapi"} }, "kafka.sasl.mechanism", "must be one of"},
		{"sasl password", func(c *Config) { c.Kafka.SASL = SASL{Mechanism: "plain", Username: "u"} }, "kafka.sasl.password", "must not be empty"},
		{"sasl username", func(c *Config) { c.Kafka.SASL = SASL{Mechanism: "scram-sha-512", Password: "p"} }, "kafka.sasl.username", "must not be empty"},
		{"sasl without mechanism", func(c *Config) { c.Kafka.SASL = SASL{Username: "u"} }, "kafka.sasl.mechanism", "must be set"},
		{"temporal address", func(c *Config) { c.Temporal.Address = "temporal" }, "temporal.address", "host:port"},
		{"temporal namespace", func(c *Config) { c.Temporal.Namespace = "" }, "temporal.namespace", "must not be empty"},
		{"temporal task queue", func(c *Config) { c.Temporal.TaskQueue = "" }, "temporal.taskQueue", "must not be empty"},
		{"temporal tls", func(c *Config) { c.Temporal.TLS = TLS{Enabled: true, KeyFile: missing, CertFile: ca} }, "temporal.tls.keyFile", "cannot read"},
		{"redis address", func(c *Config) { c.Redis.Address = "redis" }, "redis.address", "host:port"},
		{"redis without address", func(c *Config) { c.Redis.Password = "p" }, "redis.address", "must be set"},
		{"redis db", func(c *Config) { c.Redis.Address = "r:6379"; c.Redis.DB = -1 }, "redis.db", "negative"},
		{"rabbit scheme", func(c *Config) { c.RabbitMQ.URL = "http://rabbit:5672" }, "rabbitmq.url", "amqp or amqps"},
		{"rabbit host", func(c *Config) { c.RabbitMQ.URL = "amqp://" }, "rabbitmq.url", "host"},
		{"rabbit invalid", func(c *Config) { c.RabbitMQ.URL = "amqp://u:p@[::1" }, "rabbitmq.url", "not a valid URL"},
		{"api listen", func(c *Config) { c.API.Listen = "8080" }, "api.listen", "host:port"},
		{"poll interval", func(c *Config) { c.Triggers.PollInterval = -time.Second }, "triggers.pollInterval", "positive"},
		{"store driver", func(c *Config) { c.Store.Driver = "bbolt" }, "store.driver", "must be one of"},
		{"postgres dsn", func(c *Config) { c.Store = Store{Driver: "postgres"} }, "store.dsn", "must not be empty"},
		{"postgres path", func(c *Config) { c.Store.Driver = "postgres"; c.Store.DSN = "postgres://x" }, "store.path", "only for the sqlite"},
		{"sqlite path", func(c *Config) { c.Store.Path = "" }, "store.path", "must not be empty"},
		{"sqlite dsn", func(c *Config) { c.Store.DSN = "postgres://x" }, "store.dsn", "only for the postgres"},
		{"memory extras", func(c *Config) { c.Store = Store{Driver: "memory", Path: "x"} }, "store.driver", "neither"},
		{"data dir", func(c *Config) { c.DataDir = "" }, "dataDir", "must not be empty"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := valid()
			tc.mutate(c)
			probs := problemsOf(t, c.Validate())
			if !hasProblem(probs, tc.field, tc.reason) {
				t.Fatalf("want %s: ...%s..., got %v", tc.field, tc.reason, probs)
			}
		})
	}
}

func TestValidAlternatives(t *testing.T) {
	ca := writeFile(t, "ca.pem", "x")
	c := valid()
	c.API.Listen = ":8080"
	c.API.Insecure = true
	c.Kafka.Topics = nil
	c.Kafka.TopicPattern = `^dbserver1\.`
	c.Kafka.TLS = TLS{Enabled: true, CAFile: ca, CertFile: ca, KeyFile: ca, ServerName: "kafka"}
	c.Kafka.SASL = SASL{Mechanism: SASLScramSHA256, Username: "u", Password: "p"}
	c.Temporal.APIKey = "key"
	c.Redis = Redis{Address: "redis:6379", DB: 3, Password: "p", TLS: TLS{Enabled: true}}
	c.RabbitMQ.URL = "amqps://u:p@rabbit:5671/vhost"
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestAllProblemsReportedAtOnce(t *testing.T) {
	p := writeFile(t, "c.yaml", `
log: {level: loud}
kafka: {consumers: 100, snapshotReads: maybe}
rabbitmq: {url: "http://x"}
`)
	_, err := Load(p, []string{"TRIGGERD_TEMPORAL_ADDRESS=nope"})
	probs := problemsOf(t, err)
	for _, f := range []string{"log.level", "kafka.brokers", "kafka.topics", "kafka.consumers", "kafka.snapshotReads", "rabbitmq.url", "temporal.address"} {
		if !hasProblem(probs, f, "") {
			t.Errorf("missing problem for %s", f)
		}
	}
	msg := err.Error()
	if !strings.HasPrefix(msg, "invalid config: ") || !strings.Contains(msg, "kafka.brokers: must not be empty") {
		t.Fatalf("Error() = %q", msg)
	}
}

func TestSecretsNotInErrors(t *testing.T) {
	c := valid()
	c.RabbitMQ.URL = "amqp://user:s3cret@[::1"
	c.Kafka.SASL = SASL{Mechanism: "nope", Password: "s3cret"}
	if err := c.Validate(); err == nil || strings.Contains(err.Error(), "s3cret") {
		t.Fatalf("error leaks secret or is nil: %v", err)
	}
}

func TestStoreConfig(t *testing.T) {
	base := []string{"TRIGGERD_KAFKA_BROKERS=k:9092", "TRIGGERD_KAFKA_TOPICS=t"}
	c, err := Load("", append(base, "TRIGGERD_DATA_DIR=/data"))
	if err != nil {
		t.Fatal(err)
	}
	if c.Store.Driver != StoreSQLite || c.Store.Path != filepath.Join("/data", "triggers.db") || c.Triggers.Path != "" {
		t.Fatalf("defaults %+v %+v", c.Store, c.Triggers)
	}
	c, err = Load("", append(base, "TRIGGERD_STORE_DRIVER=postgres", "TRIGGERD_STORE_DSN=postgres://u@db/triggerd",
		"TRIGGERD_TRIGGERS_POLL_INTERVAL=500ms", "TRIGGERD_TRIGGERS_PATH=deploy/triggers"))
	if err != nil {
		t.Fatal(err)
	}
	if c.Store.Driver != StorePostgres || c.Store.DSN != "postgres://u@db/triggerd" || c.Store.Path != "" ||
		c.Triggers.PollInterval != 500*time.Millisecond || c.Triggers.Path != "deploy/triggers" {
		t.Fatalf("env %+v %+v", c.Store, c.Triggers)
	}
	_, err = Load("", append(base, "TRIGGERD_STORE_DRIVER=postgres"))
	if !hasProblem(problemsOf(t, err), "store.dsn", "must not be empty") {
		t.Fatalf("postgres without dsn: %v", err)
	}
}

func TestExampleFileLoads(t *testing.T) {
	c, err := Load(filepath.Join("..", "config.example.yaml"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.Store.Driver != StoreSQLite || c.Triggers.PollInterval != 2*time.Second || c.Triggers.Path != "" {
		t.Fatalf("example: %+v %+v", c.Store, c.Triggers)
	}
}
