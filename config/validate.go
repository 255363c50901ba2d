package config

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// Problem is one invalid key: its YAML path and what is wrong with it.
type Problem struct {
	Field  string
	Reason string
}

func (p Problem) String() string {
	if p.Field == "" {
		return p.Reason
	}
	return p.Field + ": " + p.Reason
}

// Error lists every problem of a configuration, so that a broken deployment
// is fixed in one round trip rather than one error at a time.
type Error struct {
	Problems []Problem
}

func (e *Error) Error() string {
	lines := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		lines[i] = p.String()
	}
	return "invalid config: " + strings.Join(lines, "; ")
}

// validator accumulates problems.
type validator struct{ probs []Problem }

func (v *validator) add(field, format string, args ...any) {
	v.probs = append(v.probs, Problem{Field: field, Reason: fmt.Sprintf(format, args...)})
}

func (v *validator) oneOf(field, value string, allowed ...string) {
	if !slices.Contains(allowed, value) {
		v.add(field, "must be one of %s, got %q", strings.Join(allowed, ", "), value)
	}
}

func (v *validator) required(field, value string) {
	if strings.TrimSpace(value) == "" {
		v.add(field, "must not be empty")
	}
}

// hostPort checks a host:port address; the host may be empty (all
// interfaces) only when allowEmptyHost.
func (v *validator) hostPort(field, addr string, allowEmptyHost bool) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		v.add(field, "must be host:port, got %q", addr)
		return
	}
	if host == "" && !allowEmptyHost {
		v.add(field, "host must not be empty in %q", addr)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		v.add(field, "port must be 1..65535, got %q", port)
	}
}

func (v *validator) file(field, path string) {
	if path == "" {
		return
	}
	st, err := os.Stat(path)
	switch {
	case err != nil:
		v.add(field, "cannot read %q: %v", path, errors.Unwrap(err))
	case st.IsDir():
		v.add(field, "%q is a directory, want a file", path)
	}
}

func (v *validator) tls(prefix string, t TLS) {
	v.file(prefix+".caFile", t.CAFile)
	v.file(prefix+".certFile", t.CertFile)
	v.file(prefix+".keyFile", t.KeyFile)
	if (t.CertFile == "") != (t.KeyFile == "") {
		v.add(prefix+".certFile", "certFile and keyFile must be set together")
	}
	// Files without enabled would be silently ignored, which is how a
	// deployment ends up talking plaintext to a TLS-only broker.
	if !t.Enabled && (t.CAFile != "" || t.CertFile != "" || t.KeyFile != "" || t.ServerName != "" || t.InsecureSkipVerify) {
		v.add(prefix+".enabled", "must be true when other %s keys are set", prefix)
	}
}

// Validate checks every key for RoleServe and returns a *Error listing all
// problems, or nil. It expects defaults to be applied (Load does that).
func (c *Config) Validate() error { return c.ValidateFor(RoleServe) }

// ValidateFor checks the keys role reads, requiring those it cannot do
// without, and returns a *Error listing all problems, or nil.
func (c *Config) ValidateFor(role Role) error {
	v := &validator{}

	v.oneOf("log.level", c.Log.Level, "debug", "info", "warn", "error")
	v.oneOf("log.format", c.Log.Format, "text", "json")

	k := c.Kafka
	if len(k.Brokers) == 0 && role.consumes() {
		v.add("kafka.brokers", "must not be empty")
	}
	for i, b := range k.Brokers {
		v.hostPort(fmt.Sprintf("kafka.brokers[%d]", i), b, false)
	}
	switch {
	case len(k.Topics) == 0 && k.TopicPattern == "" && role.consumes():
		v.add("kafka.topics", "one of kafka.topics and kafka.topicPattern must be set")
	case len(k.Topics) > 0 && k.TopicPattern != "":
		v.add("kafka.topics", "only one of kafka.topics and kafka.topicPattern may be set")
	}
	for i, t := range k.Topics {
		switch {
		case strings.TrimSpace(t) == "":
			v.add(fmt.Sprintf("kafka.topics[%d]", i), "must not be empty")
		case t == k.DLQTopic:
			v.add(fmt.Sprintf("kafka.topics[%d]", i), "%q is also kafka.dlqTopic: dead letters would be consumed again", t)
		}
	}
	if k.TopicPattern != "" {
		re, err := regexp.Compile(k.TopicPattern)
		switch {
		case err != nil:
			v.add("kafka.topicPattern", "invalid regular expression: %v", err)
		case k.DLQTopic != "" && re.MatchString(k.DLQTopic):
			v.add("kafka.topicPattern", "matches kafka.dlqTopic %q: dead letters would be consumed again", k.DLQTopic)
		}
	}
	v.required("kafka.groupId", k.GroupID)
	v.required("kafka.dlqTopic", k.DLQTopic)
	if k.Consumers < 1 || k.Consumers > MaxConsumers {
		v.add("kafka.consumers", "must be 1..%d, got %d", MaxConsumers, k.Consumers)
	}
	if k.CommitInterval <= 0 {
		v.add("kafka.commitInterval", "must be positive, got %s", k.CommitInterval)
	}
	if k.CommitBatch < 1 {
		v.add("kafka.commitBatch", "must be at least 1, got %d", k.CommitBatch)
	}
	v.oneOf("kafka.snapshotReads", k.SnapshotReads, SnapshotReadsIgnore, SnapshotReadsInsert)
	v.tls("kafka.tls", k.TLS)
	switch k.SASL.Mechanism {
	case "":
		if k.SASL.Username != "" || k.SASL.Password != "" {
			v.add("kafka.sasl.mechanism", "must be set when kafka.sasl.username or password is")
		}
	case SASLPlain, SASLScramSHA256, SASLScramSHA512:
		v.required("kafka.sasl.username", k.SASL.Username)
		v.required("kafka.sasl.password", k.SASL.Password)
	default:
		v.add("kafka.sasl.mechanism", "must be one of plain, scram-sha-256, scram-sha-512, got %q", k.SASL.Mechanism)
	}

	t := c.Temporal
	v.hostPort("temporal.address", t.Address, false)
	v.required("temporal.namespace", t.Namespace)
	v.required("temporal.taskQueue", t.TaskQueue)
	v.tls("temporal.tls", t.TLS)

	r := c.Redis
	if r.Address != "" {
		v.hostPort("redis.address", r.Address, false)
	} else if r.Username != "" || r.Password != "" || r.DB != 0 || r.TLS.Enabled {
		v.add("redis.address", "must be set when other redis keys are")
	}
	if r.DB < 0 {
		v.add("redis.db", "must not be negative, got %d", r.DB)
	}
	v.tls("redis.tls", r.TLS)

	if c.RabbitMQ.URL != "" {
		u, err := url.Parse(c.RabbitMQ.URL)
		switch {
		case err != nil:
			// url's error repeats the URL, which may hold a password.
			v.add("rabbitmq.url", "not a valid URL")
		case u.Scheme != "amqp" && u.Scheme != "amqps":
			v.add("rabbitmq.url", "scheme must be amqp or amqps, got %q", u.Scheme)
		case u.Host == "":
			v.add("rabbitmq.url", "must name a host")
		}
	}

	c.validateAPI(v)
	c.validateLimits(v)
	if c.Triggers.PollInterval <= 0 {
		v.add("triggers.pollInterval", "must be positive, got %s", c.Triggers.PollInterval)
	}
	st := c.Store
	v.oneOf("store.driver", st.Driver, StoreSQLite, StorePostgres, StoreMemory)
	switch st.Driver {
	case StorePostgres:
		v.required("store.dsn", st.DSN)
		if st.Path != "" {
			v.add("store.path", "only for the sqlite driver")
		}
	case StoreSQLite:
		v.required("store.path", st.Path)
		if st.DSN != "" {
			v.add("store.dsn", "only for the postgres driver")
		}
	case StoreMemory:
		if st.DSN != "" || st.Path != "" {
			v.add("store.driver", "memory takes neither store.dsn nor store.path")
		}
	}
	v.required("dataDir", c.DataDir)
	c.validateDatabases(v)
	c.validateGuards(v)
	c.validateActions(v)
	c.validateApps(v)
	c.validateDelivery(v)
	c.validateIngest(v)
	c.validateDebezium(v)

	if probs := role.relevant(v.probs); len(probs) > 0 {
		return &Error{Problems: probs}
	}
	return nil
}
