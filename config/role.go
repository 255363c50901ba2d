package config

import (
	"slices"
	"strings"
)

// Role is what a command does with the configuration. LoadFor and
// ValidateFor check the keys the role reads and require only those it
// cannot do without, so that no command needs values it never uses:
// `triggerd runs` reaches Temporal without any Kafka settings, a worker
// needs no topics.
type Role string

// Roles of triggerd's commands.
const (
	// RoleServe runs the worker and the ingest in one process; it is also
	// what `triggerd validate` checks by default. It reads every key.
	RoleServe Role = "serve"
	// RoleIngest consumes Kafka and starts runs: kafka.brokers and one of
	// kafka.topics and kafka.topicPattern are required.
	RoleIngest Role = "ingest"
	// RoleWorker runs the actions. Kafka is optional: without
	// kafka.brokers, kafka: targets of broker.publish fail as not
	// configured, as rabbitmq: ones do without rabbitmq.url.
	RoleWorker Role = "worker"
	// RoleDev is `triggerd dev`, which brings its own Temporal, Kafka
	// broker and trigger store: their keys are not read.
	RoleDev Role = "dev"
	// RoleTemporalClient reaches Temporal on behalf of a user (`triggerd
	// runs`): only log, temporal (with the large payloads' storage) and
	// secrets are read.
	RoleTemporalClient Role = "temporal client"
	// RoleKafkaClient writes to Kafka on behalf of a user (`triggerd
	// publish`): only log, the Kafka connection keys and secrets are read.
	RoleKafkaClient Role = "kafka client"
)

// ProcessRoles are the roles `triggerd validate --role` accepts.
func ProcessRoles() []Role { return []Role{RoleServe, RoleIngest, RoleWorker} }

// consumes says whether the role reads change events from Kafka, which
// needs brokers and topics.
func (r Role) consumes() bool { return r == RoleServe || r == RoleIngest }

// reads says whether the role uses the key at path (a problem's field),
// that is whether a problem there concerns it. Problems without a field
// (a file that is no YAML) concern every role.
func (r Role) reads(path string) bool {
	if path == "" || path == "(root)" {
		return true
	}
	under := func(prefixes ...string) bool {
		return slices.ContainsFunc(prefixes, func(p string) bool {
			return path == p || strings.HasPrefix(path, p+".") || strings.HasPrefix(path, p+"[")
		})
	}
	switch r {
	case RoleDev:
		return !under("temporal", "store", "api.listen", "triggers.path", "kafka.brokers", "kafka.tls", "kafka.sasl")
	case RoleTemporalClient:
		return under("log", "temporal", "storage", "secrets")
	case RoleKafkaClient:
		return under("log", "kafka.brokers", "kafka.clientId", "kafka.tls", "kafka.sasl", "secrets")
	}
	return true
}

// relevant keeps the problems that concern r.
func (r Role) relevant(probs []Problem) []Problem {
	return slices.DeleteFunc(probs, func(p Problem) bool { return !r.reads(p.Field) })
}
