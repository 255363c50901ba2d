// Package config is triggerd's process configuration: a YAML file, then
// TRIGGERD_* environment overrides, then defaults, then one validation pass
// that reports every problem at once with its field path. Validation is
// for a Role (role.go): each command checks only the keys it reads. Keys
// renamed since are still read under their former names (deprecated.go).
//
// The package depends on nothing of ours and on no client library: turning a
// Config into Kafka, Temporal or Redis client options is the job of the
// binary (cmd/triggerd), so that this package stays cheap to import.
//
// Every key has an environment variable named after its YAML path in upper
// snake case: kafka.brokers is TRIGGERD_KAFKA_BROKERS, kafka.tls.caFile is
// TRIGGERD_KAFKA_TLS_CA_FILE, dataDir is TRIGGERD_DATA_DIR. Lists are
// comma-separated, durations use Go syntax (1s, 250ms), booleans
// strconv.ParseBool syntax (true, false, 1, 0).
package config

import (
	"path/filepath"
	"time"
)

// EnvPrefix prefixes every environment override.
const EnvPrefix = "TRIGGERD_"

// Defaults applied by Load (and Default) to keys left empty.
const (
	DefaultLogLevel       = "info"
	DefaultLogFormat      = "text"
	DefaultGroupID        = "triggerd"
	DefaultDLQTopic       = "triggerd.dlq"
	DefaultConsumers      = 1
	DefaultCommitInterval = time.Second
	DefaultCommitBatch    = 500
	DefaultSnapshotReads  = SnapshotReadsIgnore
	DefaultTemporalAddr   = "127.0.0.1:7233"
	DefaultNamespace      = "default"
	DefaultTaskQueue      = "triggerd"
	DefaultAPIListen      = "127.0.0.1:8080"
	// DefaultTriggersPath is where `triggerd validate` looks for
	// definitions when neither --triggers nor triggers.path says: the
	// running processes read them from the store, so triggers.path itself
	// has no default.
	DefaultTriggersPath = "triggers"
	DefaultDataDir      = ".triggerd"
	DefaultStoreDriver  = StoreSQLite
	// DefaultStoreFile is the SQLite file's name inside dataDir.
	DefaultStoreFile    = "triggers.db"
	DefaultPollInterval = 2 * time.Second
)

// Values of Store.Driver.
const (
	StoreSQLite   = "sqlite"
	StorePostgres = "postgres"
	StoreMemory   = "memory"
)

// Values of Kafka.SnapshotReads.
const (
	SnapshotReadsIgnore = "ignore"
	SnapshotReadsInsert = "insert"
)

// SASL mechanisms of Kafka.SASL.Mechanism ("" means no SASL).
const (
	SASLPlain       = "plain"
	SASLScramSHA256 = "scram-sha-256"
	SASLScramSHA512 = "scram-sha-512"
)

// MaxConsumers bounds kafka.consumers: more readers than that in one
// process only adds rebalancing churn, scale with processes instead.
const MaxConsumers = 64

// Config is the whole configuration of a triggerd process.
type Config struct {
	// deprecations are the former key names this configuration used
	// (Deprecations).
	deprecations []Deprecation

	Log      Log      `yaml:"log"`
	Kafka    Kafka    `yaml:"kafka"`
	Temporal Temporal `yaml:"temporal"`
	Redis    Redis    `yaml:"redis"`
	RabbitMQ RabbitMQ `yaml:"rabbitmq"`
	API      API      `yaml:"api"`
	Triggers Triggers `yaml:"triggers"`
	Store    Store    `yaml:"store"`
	// DataDir holds local state, such as the dev server's database.
	DataDir string `yaml:"dataDir"`
	// Env names the deployment ("staging", "prod"): runs carry it and
	// templates render it as {{env}}.
	Env string `yaml:"env"`
	// Databases are the named connections of the database.* actions
	// (config/databases.go); an action names one, "default" if it does not.
	Databases map[string]Database `yaml:"databases"`
	// Quotas and Breakers protect action targets (config/quotas.go).
	Quotas   Quotas   `yaml:"quotas"`
	Breakers Breakers `yaml:"breakers"`
	// Caches, Secrets and Storage configure the cache.*, {{secret.…}} and
	// storage.* parts of actions (config/actions.go).
	Caches  map[string]Cache  `yaml:"caches"`
	Secrets Secrets           `yaml:"secrets"`
	Storage map[string]Bucket `yaml:"storage"`
	// Notifications, Integrations and Agents configure the notification.*,
	// action.execute and agent.run actions (config/notifications.go,
	// config/integrations.go).
	Notifications Notifications          `yaml:"notifications"`
	Integrations  map[string]Integration `yaml:"integrations"`
	Agents        map[string]Agent       `yaml:"agents"`
	// Gate configures the before-trigger gate (config/gate.go).
	Gate Gate `yaml:"gate"`
	// Egress restricts where actions and lookups may connect
	// (config/egress.go).
	Egress Egress `yaml:"egress"`
	// Delivery and Queues configure the delivery semantics: cascades,
	// error handlers, batches, heartbeats, queues (delivery.go).
	Delivery Delivery         `yaml:"delivery"`
	Queues   map[string]Queue `yaml:"queues"`
	// Debezium configures how Debezium's change events are read
	// (debezium.go).
	Debezium Debezium `yaml:"debezium"`
}

// Log configures the process logger.
type Log struct {
	Level  string `yaml:"level"`  // debug|info|warn|error
	Format string `yaml:"format"` // text|json
}

// TLS configures a client's TLS. File paths are checked to exist.
type TLS struct {
	Enabled            bool   `yaml:"enabled"`
	CAFile             string `yaml:"caFile"`
	CertFile           string `yaml:"certFile"`
	KeyFile            string `yaml:"keyFile"`
	ServerName         string `yaml:"serverName"`
	InsecureSkipVerify bool   `yaml:"insecureSkipVerify"`
}

// SASL configures Kafka SASL authentication.
type SASL struct {
	Mechanism string `yaml:"mechanism"` // ""|plain|scram-sha-256|scram-sha-512
	Username  string `yaml:"username"`
	Password  string `yaml:"password"`
}

// Kafka configures the ingest consumers and the Kafka publisher.
type Kafka struct {
	Brokers []string `yaml:"brokers"`
	// Exactly one of Topics and TopicPattern is set.
	Topics         []string      `yaml:"topics"`
	TopicPattern   string        `yaml:"topicPattern"`
	GroupID        string        `yaml:"groupId"`
	DLQTopic       string        `yaml:"dlqTopic"`
	Consumers      int           `yaml:"consumers"`
	CommitInterval time.Duration `yaml:"commitInterval"`
	CommitBatch    int           `yaml:"commitBatch"`
	SnapshotReads  string        `yaml:"snapshotReads"`
	// TopicRefreshInterval is how often TopicPattern is resolved again, so
	// that topics Debezium creates later are consumed (config/ingest.go).
	TopicRefreshInterval time.Duration `yaml:"topicRefreshInterval"`
	// HeartbeatTopicPrefix names Debezium's heartbeat topics, which
	// TopicPattern never selects.
	HeartbeatTopicPrefix string `yaml:"heartbeatTopicPrefix"`
	// CreateDLQTopic creates DLQTopic at start-up when it is missing.
	CreateDLQTopic bool `yaml:"createDlqTopic"`
	// PartitionConcurrency is how many messages of one partition are
	// being started at once.
	PartitionConcurrency int    `yaml:"partitionConcurrency"`
	ClientID             string `yaml:"clientId"`
	TLS                  TLS    `yaml:"tls"`
	SASL                 SASL   `yaml:"sasl"`
}

// Temporal configures the Temporal client of the worker and the ingest.
type Temporal struct {
	Address   string `yaml:"address"`
	Namespace string `yaml:"namespace"`
	TaskQueue string `yaml:"taskQueue"`
	TLS       TLS    `yaml:"tls"`
	// APIKey authenticates against Temporal Cloud; it implies TLS.
	APIKey string `yaml:"apiKey"`
	// LargePayloads passes payloads over a size by reference through a
	// blob store (config/ingest.go).
	LargePayloads LargePayloads `yaml:"largePayloads"`
}

// Redis configures the client of the cache.* actions, quotas and
// breakers. An empty Address means Redis is not configured: those actions
// fail without retrying, quotas and breakers stay in the process.
type Redis struct {
	Address  string `yaml:"address"`
	Username string `yaml:"username"`
	Password string `yaml:"password"`
	DB       int    `yaml:"db"`
	TLS      TLS    `yaml:"tls"`
}

// RabbitMQ configures rabbitmq: publish targets. An empty URL means
// RabbitMQ is not configured.
type RabbitMQ struct {
	URL string `yaml:"url"`
}

// Triggers says how a process gets its trigger definitions: they live in
// the store; Path optionally names files applied to the store at start-up
// (the GitOps path), and PollInterval is how often a running process checks
// the store for changes.
type Triggers struct {
	// Path is a file or a directory; empty applies nothing.
	Path         string        `yaml:"path"`
	PollInterval time.Duration `yaml:"pollInterval"`
	// Limits bound every definition, whether from a file or the API
	// (limits.go).
	Limits TriggerLimits `yaml:"limits"`
}

// Store configures where trigger definitions and their versions persist.
type Store struct {
	// Driver is sqlite (a file under dataDir), postgres or memory (lost
	// at exit: tests and throwaway setups only).
	Driver string `yaml:"driver"`
	// DSN is the PostgreSQL connection string (postgres only).
	DSN string `yaml:"dsn"`
	// Path is the SQLite file (sqlite only), default <dataDir>/triggers.db.
	Path string `yaml:"path"`
}

// Default returns the configuration with every default applied and nothing
// else set. It does not validate: kafka.brokers has no default.
func Default() *Config {
	c := &Config{}
	c.setDefaults()
	return c
}

// setDefaults fills the keys left empty. It runs after the file and the
// environment, so an explicit zero (consumers: 0) also means the default.
func (c *Config) setDefaults() {
	def := func(s *string, v string) {
		if *s == "" {
			*s = v
		}
	}
	def(&c.Log.Level, DefaultLogLevel)
	def(&c.Log.Format, DefaultLogFormat)
	def(&c.Kafka.GroupID, DefaultGroupID)
	def(&c.Kafka.DLQTopic, DefaultDLQTopic)
	def(&c.Kafka.SnapshotReads, DefaultSnapshotReads)
	if c.Kafka.Consumers == 0 {
		c.Kafka.Consumers = DefaultConsumers
	}
	if c.Kafka.CommitInterval == 0 {
		c.Kafka.CommitInterval = DefaultCommitInterval
	}
	if c.Kafka.CommitBatch == 0 {
		c.Kafka.CommitBatch = DefaultCommitBatch
	}
	c.setIngestDefaults()
	def(&c.Temporal.Address, DefaultTemporalAddr)
	def(&c.Temporal.Namespace, DefaultNamespace)
	def(&c.Temporal.TaskQueue, DefaultTaskQueue)
	c.API.setDefaults()
	if c.Triggers.PollInterval == 0 {
		c.Triggers.PollInterval = DefaultPollInterval
	}
	def(&c.DataDir, DefaultDataDir)
	c.setGuardDefaults()
	def(&c.Store.Driver, DefaultStoreDriver)
	if c.Store.Driver == StoreSQLite {
		def(&c.Store.Path, filepath.Join(c.DataDir, DefaultStoreFile))
	}
	c.Notifications.setDefaults()
	c.setDeliveryDefaults()
	c.Debezium.setDefaults()
}
